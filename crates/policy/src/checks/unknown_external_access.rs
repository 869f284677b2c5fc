//! Trust to an external principal nobody registered, and federated trust open to anyone.
use serde_json::Map;
use trustmap_graph::NodeKind;
use trustmap_model::{EdgeKind, Finding, FindingKind, Severity};

use crate::util::{finding, Draft};
use crate::{Check, CheckContext};

pub struct UnknownExternalAccess;

/// Google's `allUsers` and `allAuthenticatedUsers`: anyone at all.
fn is_public(principal: &str) -> bool {
    principal == "gcp:allUsers" || principal == "gcp:allAuthenticatedUsers"
}

/// An OIDC trust without a `sub` condition, or with a wildcard one, lets any repository or
/// workload of the issuer in.
fn open_federation(
    principal: &str,
    conditions: &std::collections::BTreeMap<String, String>,
) -> bool {
    if is_public(principal) {
        return true;
    }
    if !principal.starts_with("oidc:") {
        return false;
    }
    // A workload identity provider's attribute condition, or a pool principal narrowed to an
    // attribute, restricts who comes in as a `sub` condition does.
    if conditions
        .keys()
        .any(|k| k == "attribute_condition" || k.starts_with("attribute."))
    {
        return false;
    }
    let sub = conditions
        .iter()
        .find(|(k, _)| k.ends_with(":sub") || k.as_str() == "sub");
    match sub {
        None => true,
        Some((_, v)) => {
            v.trim() == "*"
                || v.ends_with(":*") && v.matches(':').count() <= 1
                || v.starts_with("repo:*")
        }
    }
}

/// An active identity's trust in (or installation by) an external principal. A workload
/// identity names a cloud identity, not an outsider; one no connector sees is a coverage note
/// (`Graph::unseen_workload_targets`), not unknown access.
fn reaches_outside(g: &trustmap_graph::Graph, e: &trustmap_graph::Edge) -> bool {
    matches!(
        e.kind,
        EdgeKind::Trusts | EdgeKind::CanAssume | EdgeKind::InstalledBy
    ) && g.nodes[e.to].kind == NodeKind::ExternalPrincipal
        && g.nodes[e.from].active
        && !e
            .conditions
            .contains_key(trustmap_model::WORKLOAD_IDENTITY_CONDITION)
}

impl Check for UnknownExternalAccess {
    fn id(&self) -> &'static str {
        "unknown_external_access"
    }
    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let g = ctx.graph;
        let mut out = Vec::new();
        for e in g.edges.iter().filter(|e| reaches_outside(g, e)) {
            let (from, to) = (&g.nodes[e.from], &g.nodes[e.to]);
            let open = open_federation(&to.id, &e.conditions);
            // A federated trust scoped by `sub` names who may come in; only open ones are flagged.
            if !open && (to.attribution.is_some() || to.id.starts_with("oidc:")) {
                continue;
            }
            let mut evidence = Map::new();
            evidence.insert("trusted_principal".into(), to.id.clone().into());
            if !e.conditions.is_empty() {
                evidence.insert(
                    "conditions".into(),
                    serde_json::to_value(&e.conditions).unwrap_or_default(),
                );
            }
            // A principal's name may carry a hint (a known vendor) worth showing beside its id.
            let shown = match to.id.split_once(':') {
                Some((_, bare)) if to.name != bare && !to.name.is_empty() => {
                    format!("{} ({})", to.id, to.name)
                }
                _ => to.id.clone(),
            };
            let public = is_public(&to.id);
            let (severity, title) = if public {
                let who = if to.id == "gcp:allUsers" {
                    "anyone on the internet"
                } else {
                    "anyone with a Google account"
                };
                (
                    Severity::Critical,
                    format!("{} granted to {}: {who}", from.scopes.join(", "), to.name),
                )
            } else if open {
                (
                    Severity::Critical,
                    format!(
                        "{} trusts {} with no restriction on who may assume it",
                        from.name, to.id
                    ),
                )
            } else {
                (
                    Severity::High,
                    format!(
                        "{} trusts {}, which no partner or owner accounts for",
                        from.name, shown
                    ),
                )
            };
            out.push(finding(
                ctx,
                Draft {
                    kind: FindingKind::UnknownExternalAccess,
                    severity,
                    node: from,
                    title,
                    remediation: if public {
                        format!("Remove the bindings of {} unless the resources are meant to be public.", to.name)
                    } else if open {
                        "Add a `sub` condition naming the exact repositories and branches (or workloads) allowed to assume it.".into()
                    } else {
                        "Find who this principal belongs to: register it under its partner in partners.toml, or remove the trust.".into()
                    },
                    reference: "OWASP-NHI3",
                    evidence,
                    key: vec![to.id.clone()],
                },
            ));
        }
        out
    }
}
