//! Privilege drift: an identity holding permissions it did not have when the state store
//! first saw it. The first sighting is the baseline (what was approved at onboarding, or
//! what was there when trustmap started watching); every scope gained after it stays a
//! finding until it is removed or the drift is accepted (suppressed). A further scope is a
//! new finding: accepting one change never hides the next.
use serde_json::{json, Map};
use trustmap_graph::Node;
use trustmap_model::{Finding, FindingKind, RememberedNode, Severity};

use crate::checks::over_scoped::is_wildcard;
use crate::util::{allowed_by, finding, is_access, parse_day, partner_of, Draft};
use crate::{Check, CheckContext};

pub struct ScopeDrift;

/// How many added scopes a title names before "and N more".
const TITLE_SCOPES: usize = 3;

impl Check for ScopeDrift {
    fn id(&self) -> &'static str {
        "scope_drift"
    }
    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        for n in ctx
            .graph
            .nodes
            .iter()
            .filter(|n| is_access(n) && n.active && !n.scopes.is_empty())
        {
            let Some(known) = ctx.memory.nodes.get(&n.id) else {
                continue; // first sighting: this run is its baseline
            };
            let gained = gained(ctx, n, known);
            if gained.is_empty() {
                continue;
            }
            let partner = partner_of(ctx, n);
            let beyond: Vec<&str> = match partner {
                Some(p) if !p.allowed_scopes.is_empty() => gained
                    .iter()
                    .map(|(s, _)| *s)
                    .filter(|s| !allowed_by(s, &p.allowed_scopes))
                    .collect(),
                _ => Vec::new(),
            };
            let serious = !beyond.is_empty() || gained.iter().any(|(s, _)| is_wildcard(s));
            let severity = match (serious, partner.is_some()) {
                (true, _) => Severity::High,
                (false, true) => Severity::Medium,
                (false, false) => Severity::Low,
            };
            let mut evidence = Map::new();
            evidence.insert(
                "added_scopes".into(),
                gained
                    .iter()
                    .map(|(s, since)| json!({"scope": s, "since": since}))
                    .collect::<Vec<_>>()
                    .into(),
            );
            evidence.insert("baseline_since".into(), known.first_seen.clone().into());
            if let Some(p) = partner {
                evidence.insert("allowed_scopes".into(), p.allowed_scopes.clone().into());
                evidence.insert("beyond_approved".into(), beyond.clone().into());
            }
            out.push(finding(
                ctx,
                Draft {
                    kind: FindingKind::ScopeDrift,
                    severity,
                    node: n,
                    title: title(n, known, &gained),
                    remediation: match partner {
                        Some(p) => format!(
                            "Ask the sponsor ({}) whether {} needs the added permissions; remove them if not, or record them in allowed_scopes and accept this finding.",
                            p.sponsor.as_deref().unwrap_or("none recorded"),
                            p.name
                        ),
                        None => "Confirm the change was intended (least privilege); remove the added permissions if not, or accept this finding.".into(),
                    },
                    reference: "OWASP-NHI5",
                    evidence,
                    key: gained.iter().map(|(s, _)| (*s).to_string()).collect(),
                },
            ));
        }
        out
    }
}

/// Scopes held now that the baseline lacked, with the run they first showed in (this one,
/// for a scope the store has not seen yet), sorted.
fn gained<'a>(
    ctx: &'a CheckContext<'_>,
    n: &'a Node,
    known: &'a RememberedNode,
) -> Vec<(&'a str, &'a str)> {
    let mut gained: Vec<(&str, &str)> = n
        .scopes
        .iter()
        .filter_map(|s| match known.scopes.get(s) {
            None => Some((s.as_str(), ctx.settings.now.as_str())),
            Some(since) if *since > known.first_seen => Some((s.as_str(), since.as_str())),
            Some(_) => None,
        })
        .collect();
    gained.sort_unstable();
    gained.dedup();
    gained
}

/// The day of a run stamp.
fn day(stamp: &str) -> String {
    parse_day(stamp).map_or_else(|| stamp.to_string(), |d| d.to_string())
}

/// "aws iam user x gained permissions since first seen on D: a (D1), b (D2), and N more".
fn title(n: &Node, known: &RememberedNode, gained: &[(&str, &str)]) -> String {
    let mut named: Vec<String> = gained
        .iter()
        .take(TITLE_SCOPES)
        .map(|(s, since)| format!("{s} ({})", day(since)))
        .collect();
    if gained.len() > TITLE_SCOPES {
        named.push(format!("and {} more", gained.len() - TITLE_SCOPES));
    }
    format!(
        "{} {} gained permissions since first seen on {}: {}",
        n.subtype.replace('_', " "),
        n.name,
        day(&known.first_seen),
        named.join(", ")
    )
}
