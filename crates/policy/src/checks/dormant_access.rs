//! Active access unused for `dormant_after_days`, or never used and older than that.
use serde_json::Map;
use trustmap_model::{Finding, FindingKind, Severity};

use crate::util::{finding, is_access, parse_day, partner_of, Draft};
use crate::{Check, CheckContext};

pub struct DormantAccess;

impl Check for DormantAccess {
    fn id(&self) -> &'static str {
        "dormant_access"
    }
    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let today = ctx.settings.today;
        let limit = ctx.settings.dormant_after_days;
        let mut out = Vec::new();
        // `usage = "untracked"`: the source records no use at all (GitHub apps, webhooks, Entra
        // through Graph v1.0), so silence is not dormancy, for the identity or the credentials
        // it holds.
        let g = ctx.graph;
        let untracked =
            |i: usize| g.nodes[i].tags.get("usage").map(String::as_str) == Some("untracked");
        let watched = g.nodes.iter().enumerate().filter(|&(i, n)| {
            is_access(n)
                && n.active
                && !untracked(i)
                && !g
                    .incoming(i)
                    .any(|e| e.kind == trustmap_model::EdgeKind::Holds && untracked(e.from))
        });
        for (_, n) in watched {
            let (idle_since, never) = match (
                n.last_used.as_deref().and_then(parse_day),
                n.created.as_deref().and_then(parse_day),
            ) {
                (Some(u), _) => (u, false),
                (None, Some(c)) => (c, true),
                (None, None) => continue,
            };
            let days = (today - idle_since).num_days();
            if days <= limit {
                continue;
            }
            let partner = partner_of(ctx, n);
            let severity = match partner {
                Some(p) if p.status.forbids_access() => Severity::High,
                Some(_) => Severity::Medium,
                None => Severity::Low,
            };
            let mut evidence = Map::new();
            evidence.insert("idle_days".into(), days.into());
            evidence.insert(
                if never { "created" } else { "last_used" }.into(),
                idle_since.to_string().into(),
            );
            out.push(finding(
                ctx,
                Draft {
                    kind: FindingKind::DormantAccess,
                    severity,
                    node: n,
                    title: if never {
                        format!("{} was never used in the {days} days since it was created", n.name)
                    } else {
                        format!("{} has not been used for {days} days", n.name)
                    },
                    remediation: "Disable it now and delete it after a grace period if nobody objects; unused access is pure risk.".into(),
                    reference: "OWASP-NHI1",
                    evidence,
                    key: vec![],
                },
            ));
        }
        out
    }
}
