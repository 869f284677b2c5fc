//! The same secret in several places (repositories, files), or one credential reaching several
//! partners.
use serde_json::Map;
use std::collections::BTreeMap;
use trustmap_graph::NodeKind;
use trustmap_model::{Finding, FindingKind, Severity};

use crate::util::{finding, Draft};
use crate::{Check, CheckContext};

pub struct SharedCredential;

impl Check for SharedCredential {
    fn id(&self) -> &'static str {
        "shared_credential"
    }
    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let g = ctx.graph;
        let mut by_digest: BTreeMap<&str, Vec<&trustmap_graph::Node>> = BTreeMap::new();
        for n in g
            .nodes
            .iter()
            .filter(|n| n.kind == NodeKind::SecretLocation)
        {
            if let Some(secret) = &n.secret {
                by_digest.entry(&secret.digest).or_default().push(n);
            }
        }
        let mut out = Vec::new();
        for (digest, places) in by_digest.into_iter().filter(|(_, p)| p.len() > 1) {
            let paths: Vec<String> = places
                .iter()
                .filter_map(|n| n.secret.as_ref().map(|s| s.path.clone()))
                .collect();
            let owners: Vec<String> = places
                .iter()
                .filter_map(|n| n.attribution.as_ref())
                // The estate is no owner of its own: only partners and teams count here.
                .filter(|a| a.owner != trustmap_model::Attributee::Internal)
                .map(|a| a.owner.to_string())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            let mut evidence = Map::new();
            evidence.insert("places".into(), paths.clone().into());
            evidence.insert("secret_digest".into(), digest.to_string().into());
            if !owners.is_empty() {
                evidence.insert("owners".into(), owners.clone().into());
            }
            out.push(finding(
                ctx,
                Draft {
                    kind: FindingKind::SharedCredential,
                    severity: if owners.len() > 1 { Severity::High } else { Severity::Medium },
                    node: places[0],
                    title: format!("The same {} appears in {} places", places[0].name, places.len()),
                    remediation: "Give each consumer its own credential so one can be revoked without breaking the others, then rotate this one.".into(),
                    reference: "OWASP-NHI9",
                    evidence,
                    key: vec![digest.to_string()],
                },
            ));
        }
        out
    }
}
