//! Cross-account trust to a third party's AWS account without an sts:ExternalId condition.
use serde_json::Map;
use trustmap_model::{EdgeKind, Finding, FindingKind, Severity};

use crate::util::{finding, Draft};
use crate::{Check, CheckContext};

pub struct MissingExternalId;

impl Check for MissingExternalId {
    fn id(&self) -> &'static str {
        "missing_external_id"
    }
    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let g = ctx.graph;
        let mut out = Vec::new();
        for e in g.edges.iter().filter(|e| e.kind == EdgeKind::Trusts) {
            let (from, to) = (&g.nodes[e.from], &g.nodes[e.to]);
            let third_party = to
                .attribution
                .as_ref()
                .is_some_and(|a| a.partner().is_some());
            // ExternalId is an AWS trust-policy condition: other clouds trusting an AWS account
            // (a Google workload identity provider) have no such thing.
            if !to.id.starts_with("aws-account:")
                || !from.id.starts_with("aws:")
                || !third_party
                || !from.active
            {
                continue;
            }
            if e.conditions
                .keys()
                .any(|k| k.eq_ignore_ascii_case("sts:ExternalId"))
            {
                continue;
            }
            let mut evidence = Map::new();
            evidence.insert("trusted_principal".into(), to.id.clone().into());
            out.push(finding(
                ctx,
                Draft {
                    kind: FindingKind::MissingExternalId,
                    severity: Severity::High,
                    node: from,
                    title: format!("{} trusts third-party account {} without an sts:ExternalId condition", from.name, to.name),
                    remediation: "Add a Condition with sts:ExternalId agreed with the partner, so their account cannot be used as a confused deputy.".into(),
                    reference: "OWASP-NHI4",
                    evidence,
                    key: vec![to.id.clone()],
                },
            ));
        }
        out
    }
}
