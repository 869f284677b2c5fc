//! Renewal checkpoints: a partner whose `expires` falls within `renew_before_days` while it
//! still holds access (medium; high within a week), and a partner whose review cadence
//! (`review_every_days` since `last_reviewed`) ran out (medium with access, low without). One
//! finding per partner and checkpoint, listing what the renewal covers; the fingerprint names
//! the date, so the next cycle is a new finding.
use serde_json::{Map, Value};
use std::collections::HashMap;
use trustmap_graph::Node;
use trustmap_model::{Finding, FindingKind, Severity};
use trustmap_partners::Partner;

use crate::util::{finding, is_access, Draft};
use crate::{Check, CheckContext};

pub struct ReviewDue;

/// Within a week, a renewal is urgent.
const URGENT_DAYS: i64 = 7;

/// Each partner's active identities and credentials (what a renewal decides on), in one pass
/// over the graph.
fn covered<'a>(ctx: &'a CheckContext<'_>) -> HashMap<&'a str, Vec<&'a Node>> {
    let mut by_partner: HashMap<&str, Vec<&Node>> = HashMap::new();
    for n in ctx.graph.nodes.iter().filter(|n| is_access(n) && n.active) {
        if let Some(id) = n.attribution.as_ref().and_then(|a| a.partner()) {
            by_partner.entry(id).or_default().push(n);
        }
    }
    by_partner
}

fn checkpoint(
    ctx: &CheckContext<'_>,
    p: &Partner,
    node: &Node,
    covers: &[&Node],
    (severity, title, key): (Severity, String, String),
    mut evidence: Map<String, Value>,
) -> Finding {
    let ids: Vec<Value> = covers.iter().map(|n| n.id.clone().into()).collect();
    evidence.insert("covers".into(), ids.into());
    evidence.insert("partner_status".into(), p.status.as_str().into());
    if let Some(s) = &p.sponsor {
        evidence.insert("sponsor".into(), s.clone().into());
    }
    let mut f = finding(
        ctx,
        Draft {
            kind: FindingKind::ReviewDue,
            severity,
            node,
            title,
            remediation: format!(
                "Ask the sponsor ({}) to confirm the purpose and the access still needed, then record the renewal (expires, last_reviewed) in partners.toml or revoke what is listed.",
                p.sponsor.as_deref().unwrap_or("none recorded")
            ),
            reference: "OWASP-NHI1",
            evidence,
            key: vec![key],
        },
    );
    f.partner = Some(p.id.clone());
    f.chain = vec![format!("partner:{}", p.id)];
    f
}

impl Check for ReviewDue {
    fn id(&self) -> &'static str {
        "review_due"
    }
    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let today = ctx.settings.today;
        let mut out = Vec::new();
        let by_partner = covered(ctx);
        // Revoked, suspended or only requested: what remains is lingering access, not a renewal.
        for p in ctx
            .registry
            .partners
            .iter()
            .filter(|p| !p.status.forbids_access())
        {
            let Some(node) = ctx.graph.node(&format!("partner:{}", p.id)) else {
                continue;
            };
            let covers = by_partner.get(p.id.as_str()).cloned().unwrap_or_default();
            if let Some(e) = p.expires {
                let left = (e - today).num_days();
                if !covers.is_empty() && (0..=ctx.settings.renew_before_days).contains(&left) {
                    let mut evidence = Map::new();
                    evidence.insert("expires".into(), e.to_string().into());
                    evidence.insert("days_left".into(), left.into());
                    let severity = if left <= URGENT_DAYS {
                        Severity::High
                    } else {
                        Severity::Medium
                    };
                    let title = format!(
                        "{} expires in {left} days ({e}): renew or revoke the {} identities and credentials it holds",
                        p.name,
                        covers.len()
                    );
                    out.push(checkpoint(
                        ctx,
                        p,
                        node,
                        &covers,
                        (severity, title, format!("expires {e}")),
                        evidence,
                    ));
                }
            }
            if let (Some(every), Some(last), Some(due)) =
                (p.review_every_days, p.last_reviewed, p.review_due())
            {
                if due < today {
                    let mut evidence = Map::new();
                    evidence.insert("last_reviewed".into(), last.to_string().into());
                    evidence.insert("review_every_days".into(), every.into());
                    evidence.insert("review_due".into(), due.to_string().into());
                    let severity = if covers.is_empty() {
                        Severity::Low
                    } else {
                        Severity::Medium
                    };
                    let title = format!(
                        "{}'s review is overdue since {due} (last reviewed {last}, every {every} days)",
                        p.name
                    );
                    out.push(checkpoint(
                        ctx,
                        p,
                        node,
                        &covers,
                        (severity, title, format!("review {due}")),
                        evidence,
                    ));
                }
            }
        }
        out
    }
}
