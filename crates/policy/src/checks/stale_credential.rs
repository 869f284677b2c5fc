//! Credentials older than `max_credential_age_days` and never rotated, and credentials valid
//! for longer than that (an end date years away means nothing forces a rotation). An expired
//! credential grants nothing and is not flagged.
use serde_json::Map;
use trustmap_model::{Finding, FindingKind, Severity};

use crate::util::{finding, is_credential_like, parse_day, Draft};
use crate::{Check, CheckContext};

pub struct StaleCredential;

impl Check for StaleCredential {
    fn id(&self) -> &'static str {
        "stale_credential"
    }
    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        for n in ctx
            .graph
            .nodes
            .iter()
            .filter(|n| is_credential_like(n) && n.active)
        {
            let expires = n.expires.as_deref().and_then(parse_day);
            if expires.is_some_and(|e| e < ctx.settings.today) {
                continue;
            }
            if let Some(f) = far_expiry(ctx, n, expires) {
                out.push(f);
                continue;
            }
            let Some(since) = n
                .last_rotated
                .as_deref()
                .or(n.created.as_deref())
                .and_then(parse_day)
            else {
                continue;
            };
            let age = (ctx.settings.today - since).num_days();
            if age <= ctx.settings.max_credential_age_days {
                continue;
            }
            let mut evidence = Map::new();
            evidence.insert("age_days".into(), age.into());
            evidence.insert("since".into(), since.to_string().into());
            out.push(finding(
                ctx,
                Draft {
                    kind: FindingKind::StaleCredential,
                    severity: if age > 2 * ctx.settings.max_credential_age_days { Severity::High } else { Severity::Medium },
                    node: n,
                    title: format!("{} is {age} days old and was never rotated", n.name),
                    remediation: "Rotate it (create a new one, switch consumers, delete the old), and prefer short-lived credentials.".into(),
                    reference: "OWASP-NHI7",
                    evidence,
                    key: vec![],
                },
            ));
        }
        out
    }
}

/// A credential that stays valid beyond the rotation window from today.
fn far_expiry(
    ctx: &CheckContext<'_>,
    n: &trustmap_graph::Node,
    expires: Option<chrono::NaiveDate>,
) -> Option<Finding> {
    let e = expires?;
    let left = (e - ctx.settings.today).num_days();
    if left <= ctx.settings.max_credential_age_days {
        return None;
    }
    let mut evidence = Map::new();
    evidence.insert("expires".into(), e.to_string().into());
    evidence.insert("valid_for_days".into(), left.into());
    let years = left / 365;
    Some(finding(
        ctx,
        Draft {
            kind: FindingKind::StaleCredential,
            severity: if left > 2 * ctx.settings.max_credential_age_days { Severity::High } else { Severity::Medium },
            node: n,
            title: if years >= 2 {
                format!("{} stays valid for {years} more years (until {e})", n.name)
            } else {
                format!("{} stays valid for {left} more days (until {e})", n.name)
            },
            remediation: format!(
                "Replace it with one that expires within {} days (or a certificate or federated credential), then delete it.",
                ctx.settings.max_credential_age_days
            ),
            reference: "OWASP-NHI7",
            evidence,
            key: vec![],
        },
    ))
}
