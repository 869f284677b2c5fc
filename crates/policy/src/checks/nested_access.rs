//! Access that reaches in through a partner: a subcontractor, or a delegation chain.
use serde_json::Map;
use trustmap_model::{Finding, FindingKind, Severity};

use crate::util::{finding, is_access, partner_of, Draft};
use crate::{Check, CheckContext};

pub struct NestedAccess;

impl Check for NestedAccess {
    fn id(&self) -> &'static str {
        "nested_access"
    }
    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        for n in ctx.graph.nodes.iter().filter(|n| is_access(n) && n.active) {
            let Some(p) = partner_of(ctx, n) else {
                continue;
            };
            let Some(parent) = p.via.as_deref().and_then(|v| ctx.registry.partner(v)) else {
                continue;
            };
            let forbidden = !parent.allow_subcontractors;
            let mut evidence = Map::new();
            evidence.insert("subcontractor".into(), p.id.clone().into());
            evidence.insert("via".into(), parent.id.clone().into());
            evidence.insert(
                "allow_subcontractors".into(),
                parent.allow_subcontractors.into(),
            );
            out.push(finding(
                ctx,
                Draft {
                    kind: FindingKind::NestedAccess,
                    severity: if forbidden { Severity::High } else { Severity::Medium },
                    node: n,
                    title: format!("{} of subcontractor {} reaches in through {}", n.name, p.name, parent.name),
                    remediation: if forbidden {
                        format!("{} does not allow subcontractors: revoke this access or get the exception approved and recorded.", parent.name)
                    } else {
                        format!("Confirm with {}'s sponsor that {} still needs this access.", parent.name, p.name)
                    },
                    reference: "OWASP-NHI3",
                    evidence,
                    key: vec![],
                },
            ));
        }
        out
    }
}
