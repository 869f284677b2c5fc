//! How a run's findings compare with what a store remembers, the same for every backend: the
//! backends only read the remembered rows and write the rows this decides.
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use trustmap_model::{Finding, FindingStatus};

use crate::{Diff, RunInput};

/// What the store remembers of each finding.
pub(crate) struct KnownFinding {
    pub status: String,
    pub first_seen: String,
    /// A hash of the stored body: an unchanged body is not rewritten.
    pub body_hash: String,
}

pub(crate) type Known = HashMap<String, KnownFinding>;

/// One finding as a backend writes it.
pub(crate) struct FindingRow {
    pub id: String,
    pub kind: &'static str,
    pub severity: &'static str,
    pub title: String,
    /// `open` or `suppressed` (new and reopened findings are stored open).
    pub status: &'static str,
    pub first_seen: String,
    pub last_seen: String,
    /// The connectors it depends on, as a JSON array.
    pub sources: String,
    pub body_hash: String,
    /// The finding's JSON, only when it differs from the stored one.
    pub body: Option<String>,
    pub partner: Option<String>,
    pub subject: String,
}

/// Classify this run's findings (new, still open, reopened, suppressed) into `diff`, stamp
/// their status and dates, and return the rows to write and the ids seen.
pub(crate) fn stamp(
    run: &RunInput<'_>,
    findings: &mut [Finding],
    known: &Known,
    diff: &mut Diff,
) -> (Vec<FindingRow>, HashSet<String>) {
    let mut seen = HashSet::new();
    let mut rows = Vec::with_capacity(findings.len());
    for f in findings.iter_mut() {
        seen.insert(f.id.clone());
        let remembered = known.get(&f.id);
        let (status, first_seen) = match remembered {
            None => {
                diff.new.push(f.id.clone());
                (FindingStatus::New, run.started.to_string())
            }
            Some(k) if k.status == "suppressed" => {
                diff.suppressed.push(f.id.clone());
                (FindingStatus::Suppressed, k.first_seen.clone())
            }
            Some(k) if k.status == "resolved" => {
                diff.reopened.push(f.id.clone());
                (FindingStatus::New, k.first_seen.clone())
            }
            Some(k) => {
                diff.still_open.push(f.id.clone());
                (FindingStatus::Open, k.first_seen.clone())
            }
        };
        f.status = status;
        f.first_seen = first_seen;
        f.last_seen = run.started.to_string();
        // The body (for resolved events) is only rewritten when it changed: an unchanged
        // run updates small rows, not every finding's JSON.
        let body = serde_json::to_string(&*f).unwrap_or_default();
        let body_hash: String = Sha256::digest(body.as_bytes())[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let changed = remembered.is_none_or(|k| k.body_hash != body_hash);
        rows.push(FindingRow {
            id: f.id.clone(),
            kind: f.kind.as_str(),
            severity: f.severity.as_str(),
            title: f.title.clone(),
            status: if status == FindingStatus::Suppressed {
                "suppressed"
            } else {
                "open"
            },
            first_seen: f.first_seen.clone(),
            last_seen: f.last_seen.clone(),
            sources: serde_json::to_string(&sources_of(f)).unwrap_or_default(),
            body_hash,
            body: changed.then_some(body),
            partner: f.partner.clone(),
            subject: f.subject.id.clone(),
        });
    }
    (rows, seen)
}

/// The connectors a finding depends on (empty: the registry itself). Findings recorded
/// before `sources` was a field of its own carried them in `evidence.sources`.
fn sources_of(f: &Finding) -> Vec<String> {
    if !f.sources.is_empty() {
        return f.sources.clone();
    }
    f.evidence
        .get("sources")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The connectors that did not see everything this run (failed, or with coverage gaps).
pub(crate) fn incomplete<'a>(run: &RunInput<'a>) -> HashSet<&'a str> {
    run.connectors
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(n, _)| n.as_str())
        .collect()
}

/// Whether an open finding not seen this run is resolved: only when none of the connectors it
/// came from (`sources`, a JSON array) was incomplete.
pub(crate) fn resolves(sources: &str, incomplete: &HashSet<&str>) -> bool {
    let sources: Vec<String> = serde_json::from_str(sources).unwrap_or_default();
    !sources.iter().any(|s| incomplete.contains(s.as_str()))
}

/// The run's connectors as the `runs` table keeps them.
pub(crate) fn connectors_json(run: &RunInput<'_>) -> String {
    serde_json::to_string(
        &run.connectors
            .iter()
            .map(|(n, ok)| serde_json::json!({"name": n, "ok": ok}))
            .collect::<Vec<_>>(),
    )
    .unwrap_or_default()
}
