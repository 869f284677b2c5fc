//! Permissions beyond the partner's approved scopes, wildcards and admin.
use serde_json::Map;
use trustmap_model::{Finding, FindingKind, Severity};

use crate::util::{allowed_by, finding, is_access, partner_of, Draft};
use crate::{Check, CheckContext};

pub struct OverScoped;

/// Wildcards and admin: what makes any grant of it serious.
pub fn is_wildcard(scope: &str) -> bool {
    crate::util::is_entra_admin(scope)
        || crate::util::is_google_admin(scope)
        || crate::util::is_k8s_admin(scope)
        || scope == "*"
        || scope.ends_with(":*")
        || scope.contains(":*:")
        || scope.to_ascii_lowercase().contains("admin")
}

impl Check for OverScoped {
    fn id(&self) -> &'static str {
        "over_scoped"
    }
    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        for n in ctx
            .graph
            .nodes
            .iter()
            .filter(|n| is_access(n) && n.active && !n.scopes.is_empty())
        {
            let partner = partner_of(ctx, n);
            let wild: Vec<&String> = n.scopes.iter().filter(|s| is_wildcard(s)).collect();
            let beyond: Vec<&String> = match partner {
                Some(p) if !p.allowed_scopes.is_empty() => n
                    .scopes
                    .iter()
                    .filter(|s| !allowed_by(s, &p.allowed_scopes))
                    .collect(),
                _ => Vec::new(),
            };
            if wild.is_empty() && beyond.is_empty() {
                continue;
            }
            let mut evidence = Map::new();
            evidence.insert("scopes".into(), n.scopes.clone().into());
            if let Some(p) = partner {
                evidence.insert("allowed_scopes".into(), p.allowed_scopes.clone().into());
            }
            // Permissions held through a workload identity: the finding names both ends.
            let acts_as = n.tags.get(trustmap_model::ACTS_AS_TAG);
            if let Some(a) = acts_as {
                evidence.insert("acts_as".into(), a.clone().into());
            }
            let through = acts_as
                .map(|a| format!(" (acting as {a})"))
                .unwrap_or_default();
            evidence.insert(
                "beyond_approved".into(),
                beyond
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .into(),
            );
            evidence.insert(
                "wildcards".into(),
                wild.iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .into(),
            );
            let severity = if !wild.is_empty() && partner.is_some() {
                Severity::Critical
            } else {
                Severity::High
            };
            out.push(finding(
                ctx,
                Draft {
                    kind: FindingKind::OverScoped,
                    severity,
                    node: n,
                    title: match partner {
                        Some(p) => format!("{} of {} has permissions beyond what was approved{through}", n.name, p.name),
                        None => format!("{} has wildcard or admin permissions{through}", n.name),
                    },
                    remediation: "Reduce the permissions to the approved scopes (least privilege); replace wildcards with the actions actually used.".into(),
                    reference: "OWASP-NHI5",
                    evidence,
                    key: vec![],
                },
            ));
        }
        out
    }
}
