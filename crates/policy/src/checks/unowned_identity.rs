//! Identities that match no partner and no internal owner.
use serde_json::Map;
use trustmap_graph::NodeKind;
use trustmap_model::{Finding, FindingKind, Severity};

use crate::util::{finding, Draft};
use crate::{Check, CheckContext};

pub struct UnownedIdentity;

impl Check for UnownedIdentity {
    fn id(&self) -> &'static str {
        "unowned_identity"
    }
    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        ctx.graph
            .nodes
            .iter()
            // Belonging to the estate is not being owned: an identity of our own account that
            // no team claims is still unowned.
            .filter(|n| {
                n.kind == NodeKind::Identity
                    && n.active
                    && !crate::util::is_staff(n)
                    && n.attribution
                        .as_ref()
                        .is_none_or(|a| a.owner == trustmap_model::Attributee::Internal)
            })
            .map(|n| {
                let mut evidence = Map::new();
                let identifiers: Vec<String> = n.identifiers.iter().map(ToString::to_string).collect();
                evidence.insert("identifiers".into(), identifiers.into());
                finding(
                    ctx,
                    Draft {
                        kind: FindingKind::UnownedIdentity,
                        severity: if n.scopes.is_empty() { Severity::Low } else { Severity::Medium },
                        node: n,
                        title: format!("Nobody owns {} {}", n.subtype.replace('_', " "), n.name),
                        remediation: "Find its owner and record it in partners.toml ([[owners]] or a partner's match), or disable it.".into(),
                        reference: "OWASP-NHI1",
                        evidence,
                        key: vec![],
                    },
                )
            })
            .collect()
    }
}
