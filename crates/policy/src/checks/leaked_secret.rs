//! A secret found in content, linked to the credential and partner it belongs to.
use serde_json::Map;
use trustmap_graph::NodeKind;
use trustmap_model::{EdgeKind, Finding, FindingKind, Location, Severity};

use crate::util::{finding, partner_of, Draft};
use crate::{Check, CheckContext};

pub struct LeakedSecret;

impl Check for LeakedSecret {
    fn id(&self) -> &'static str {
        "leaked_secret"
    }
    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let g = ctx.graph;
        let mut out = Vec::new();
        for (i, n) in g.nodes.iter().enumerate() {
            if n.kind != NodeKind::SecretLocation {
                continue;
            }
            let d = |k: &str| n.details.get(k).cloned().unwrap_or_default();
            let mut severity: Severity = d("severity").parse().unwrap_or(Severity::High);
            let linked: Vec<&trustmap_graph::Node> = g
                .outgoing(i)
                .filter(|e| {
                    e.kind == EdgeKind::SameSecretAs && g.nodes[e.to].kind == NodeKind::Credential
                })
                .map(|e| &g.nodes[e.to])
                .collect();
            let live = linked.iter().any(|c| c.active);
            let partner = partner_of(ctx, n);
            if live && partner.is_some_and(|p| p.status.forbids_access()) {
                severity = Severity::Critical;
            }
            let mut evidence = Map::new();
            evidence.insert("secret".into(), d("redacted").into());
            evidence.insert("secret_digest".into(), d("digest").into());
            evidence.insert("rule_name".into(), n.name.clone().into());
            let hints: Map<String, serde_json::Value> = n
                .details
                .iter()
                .filter_map(|(k, v)| {
                    k.strip_prefix("hint.")
                        .map(|h| (h.to_string(), v.clone().into()))
                })
                .collect();
            evidence.insert("reveals".into(), hints.into());
            if !linked.is_empty() {
                evidence.insert(
                    "credential".into(),
                    linked
                        .iter()
                        .map(|c| c.id.clone())
                        .collect::<Vec<_>>()
                        .into(),
                );
                evidence.insert("credential_active".into(), live.into());
            }
            let mut f = finding(
                ctx,
                Draft {
                    kind: FindingKind::LeakedSecret,
                    severity,
                    node: n,
                    title: match partner {
                        Some(p) => format!("{} of {} in {}", n.name, p.name, d("path")),
                        None => format!("{} in {}", n.name, d("path")),
                    },
                    remediation: "Revoke or rotate the secret at its issuer, then remove it from the file and from git history.".into(),
                    reference: "OWASP-NHI2",
                    evidence,
                    key: vec![d("rule"), d("path"), d("digest")],
                },
            );
            // The same id `trustmap scan` gives this leak: rule, path and digest.
            f.id = trustmap_model::fingerprint(&[
                FindingKind::LeakedSecret.as_str(),
                &d("rule"),
                &d("path"),
                &d("digest"),
            ]);
            f.rule = Some(d("rule"));
            f.location = Some(Location {
                path: d("path"),
                line: d("line").parse().unwrap_or(0),
                column: d("column").parse().unwrap_or(0),
                commit: n.details.get("commit").cloned(),
                commit_date: n.details.get("commit_date").cloned(),
            });
            out.push(f);
        }
        out
    }
}
