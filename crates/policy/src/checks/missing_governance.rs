//! Partners without sponsor, purpose, expiry or a current review.
use serde_json::Map;
use trustmap_model::{Finding, FindingKind, Severity};

use trustmap_partners::GapKind;

use crate::util::{finding, Draft};
use crate::{Check, CheckContext};

pub struct MissingGovernance;

impl Check for MissingGovernance {
    fn id(&self) -> &'static str {
        "missing_governance"
    }
    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        // An overdue review is a `review_due` checkpoint, not a hole in the registry.
        for gap in ctx
            .registry
            .gaps(ctx.settings.today)
            .into_iter()
            .filter(|g| g.kind != GapKind::ReviewOverdue)
        {
            let Some(node) = ctx.graph.node(&format!("partner:{}", gap.partner)) else {
                continue;
            };
            let mut evidence = Map::new();
            evidence.insert("registry_line".into(), gap.line.into());
            let severity = if gap.kind == GapKind::Expired {
                Severity::High
            } else {
                Severity::Low
            };
            let mut f = finding(
                ctx,
                Draft {
                    kind: FindingKind::MissingGovernance,
                    severity,
                    node,
                    title: format!("Partner {}: {}", node.name, gap.problem),
                    remediation: "Complete the partner's entry in partners.toml: sponsor, purpose, expiry and a review.".into(),
                    reference: "OWASP-NHI1",
                    evidence,
                    key: vec![gap.problem.split(':').next().unwrap_or_default().to_string()],
                },
            );
            f.partner = Some(gap.partner.clone());
            f.chain = vec![format!("partner:{}", gap.partner)];
            out.push(f);
        }
        out
    }
}
