//! Access that reaches in through a partner: a subcontractor, a delegation chain, or an app
//! that a partner installed but another organisation owns.
use serde_json::Map;
use trustmap_graph::{Graph, Node};
use trustmap_model::{EdgeKind, Finding, FindingKind, Severity};

use crate::util::{finding, is_access, partner_of, Draft};
use crate::{Check, CheckContext};

pub struct NestedAccess;

impl Check for NestedAccess {
    fn id(&self) -> &'static str {
        "nested_access"
    }
    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        for (i, n) in ctx
            .graph
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| is_access(n) && n.active)
        {
            let Some(p) = partner_of(ctx, n) else {
                continue;
            };
            if let Some(owner) = foreign_owner(ctx.graph, i, &p.id) {
                let mut evidence = Map::new();
                evidence.insert("installed_by".into(), p.id.clone().into());
                evidence.insert("owned_by".into(), owner.id.clone().into());
                evidence.insert(
                    "owner_attribution".into(),
                    owner
                        .attribution
                        .as_ref()
                        .map_or("nobody".to_string(), |a| a.owner.to_string())
                        .into(),
                );
                out.push(finding(
                    ctx,
                    Draft {
                        kind: FindingKind::NestedAccess,
                        severity: Severity::High,
                        node: n,
                        title: format!("{} was brought in by {} but is owned by {}", n.name, p.name, owner.name),
                        remediation: format!(
                            "Confirm with {}'s sponsor who controls {}; its owner can change what it does with the access granted here.",
                            p.name, owner.name
                        ),
                        reference: "OWASP-NHI3",
                        evidence,
                        key: vec![owner.id.clone()],
                    },
                ));
            }
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

/// The owner of an app-like identity (an `owns` edge into it, or its own `installed_by` edge
/// to an organisation) when that owner is not the partner it is attributed to.
fn foreign_owner<'a>(g: &'a Graph, i: usize, partner: &str) -> Option<&'a Node> {
    let owners = g
        .incoming(i)
        .filter(|e| e.kind == EdgeKind::Owns)
        .map(|e| e.from)
        .chain(
            g.outgoing(i)
                .filter(|e| e.kind == EdgeKind::InstalledBy)
                .map(|e| e.to),
        );
    owners.map(|o| &g.nodes[o]).find(|o| {
        o.attribution
            .as_ref()
            .is_none_or(|a| a.partner() != Some(partner))
    })
}
