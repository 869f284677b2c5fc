//! Credentials older than `max_credential_age_days` and never rotated.
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
