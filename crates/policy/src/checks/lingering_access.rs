//! Access still active after the partner was revoked, suspended, or passed its expiry.
use chrono::NaiveDate;
use serde_json::Map;
use trustmap_model::{Finding, FindingKind, Severity};
use trustmap_partners::{Partner, Status};

use crate::util::{finding, is_access, parse_day, partner_of, Draft};
use crate::{Check, CheckContext};

pub struct LingeringAccess;

impl Check for LingeringAccess {
    fn id(&self) -> &'static str {
        "lingering_access"
    }
    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        for n in ctx.graph.nodes.iter().filter(|n| is_access(n) && n.active) {
            let Some(p) = partner_of(ctx, n) else {
                continue;
            };
            let today = ctx.settings.today;
            let Some((severity, why, since)) = ended(ctx, p) else {
                continue;
            };
            let days = since.map(|d| (today - d).num_days().max(0));
            // Writing, or reading mail and files, after the relationship ended is the worst case.
            let sensitive: Vec<&String> = n
                .scopes
                .iter()
                .filter(|s| crate::util::is_entra_sensitive(s))
                .collect();
            let severity = if sensitive.is_empty() {
                severity
            } else {
                Severity::Critical
            };
            let mut evidence = Map::new();
            evidence.insert("partner_status".into(), p.status.as_str().into());
            if let Some(e) = p.expires {
                evidence.insert("partner_expires".into(), e.to_string().into());
            }
            if !sensitive.is_empty() {
                evidence.insert(
                    "sensitive_scopes".into(),
                    sensitive
                        .iter()
                        .map(|s| s.to_string())
                        .collect::<Vec<_>>()
                        .into(),
                );
            }
            if let Some(u) = &n.last_used {
                evidence.insert("last_used".into(), u.clone().into());
            }
            if let (Some(since), Some(days)) = (since, days) {
                evidence.insert("ended_on".into(), since.to_string().into());
                evidence.insert("days_since_end".into(), days.into());
            }
            let after = match days {
                Some(d) => format!("{d} days after {why}"),
                None => format!("after {why}"),
            };
            out.push(finding(
                ctx,
                Draft {
                    kind: FindingKind::LingeringAccess,
                    severity,
                    node: n,
                    title: format!("{} {} still active {after}", n.subtype.replace('_', " "), n.name),
                    remediation: format!(
                        "Revoke it now (delete the key, remove the trust or uninstall the app), then confirm with the sponsor ({}) that nothing else of {} remains.",
                        p.sponsor.clone().unwrap_or_else(|| "none recorded".into()),
                        p.name
                    ),
                    reference: "OWASP-NHI1",
                    evidence,
                    key: vec![],
                },
            ));
        }
        out
    }
}

/// How the relationship ended (severity, why, and since when if known), or `None` while it
/// lasts. The day is the run in which the state store first saw the new status, or the
/// registry's expiry.
fn ended(ctx: &CheckContext<'_>, p: &Partner) -> Option<(Severity, String, Option<NaiveDate>)> {
    let expired = p.expires.is_some_and(|e| e < ctx.settings.today);
    let status_since = ctx
        .memory
        .status_since(&p.id, p.status.as_str(), &ctx.settings.now)
        .and_then(|s| parse_day(&s));
    Some(match p.status {
        Status::Revoked => (
            Severity::Critical,
            format!("{} was revoked", p.name),
            status_since,
        ),
        Status::Suspended => (
            Severity::High,
            format!("{} was suspended", p.name),
            status_since,
        ),
        _ if expired => (
            Severity::High,
            format!(
                "{}'s relationship expired on {}",
                p.name,
                p.expires.map(|e| e.to_string()).unwrap_or_default()
            ),
            p.expires,
        ),
        _ => return None,
    })
}
