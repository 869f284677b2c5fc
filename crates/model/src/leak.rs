//! The one recipe for a `leaked_secret` finding, shared by `trustmap scan` and the sweep's
//! check, so both give the same id, remediation and references for the same leak.
use std::collections::BTreeMap;

use crate::{fingerprint, Finding, FindingKind, FindingStatus, Location, Severity, Subject};

/// Said when the rule has no remediation of its own.
pub const DEFAULT_LEAK_REMEDIATION: &str = "Revoke or rotate the secret at its issuer, move it into a secret manager, and remove it from the file and from git history.";

/// What every leak finding is built from.
pub struct Leak<'a> {
    pub rule: &'a str,
    pub rule_name: &'a str,
    pub severity: Severity,
    /// `Secret::digest` of the value.
    pub digest: &'a str,
    /// The value as it may be shown: redacted, or in full under `--show-secrets`.
    pub shown: String,
    pub path: &'a str,
    pub line: u64,
    pub column: u64,
    pub commit: Option<&'a str>,
    pub commit_date: Option<&'a str>,
    pub hints: &'a BTreeMap<String, String>,
    /// The rule's own remediation, if it has one.
    pub remediation: Option<&'a str>,
    /// What the issuer said (`--verify`). The caller has already adjusted `severity` by it.
    pub verification: Option<&'a crate::Verification>,
    pub subject: Subject,
}

/// The finding id of a leak: kind, rule, path and secret digest (no line, no commit), so it
/// survives unrelated edits and reruns.
pub fn leak_id(rule: &str, path: &str, digest: &str) -> String {
    fingerprint(&[FindingKind::LeakedSecret.as_str(), rule, path, digest])
}

/// Build the finding; callers add what only they know (attribution, linked credentials).
pub fn leaked_secret_finding(leak: Leak<'_>, now: &str) -> Finding {
    let mut evidence = serde_json::Map::new();
    evidence.insert("secret".into(), leak.shown.into());
    evidence.insert("secret_digest".into(), leak.digest.into());
    evidence.insert("rule_name".into(), leak.rule_name.into());
    let reveals: serde_json::Map<String, serde_json::Value> = leak
        .hints
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    evidence.insert("reveals".into(), reveals.into());
    if let Some(v) = leak.verification {
        evidence.insert(
            "verification".into(),
            serde_json::to_value(v).unwrap_or_default(),
        );
    }
    Finding {
        id: leak_id(leak.rule, leak.path, leak.digest),
        kind: FindingKind::LeakedSecret,
        severity: leak.severity,
        title: format!("{} in {}", leak.rule_name, leak.path),
        subject: leak.subject,
        partner: None,
        chain: Vec::new(),
        rule: Some(leak.rule.to_string()),
        location: Some(Location {
            path: leak.path.to_string(),
            line: leak.line,
            column: leak.column,
            commit: leak.commit.map(str::to_string),
            commit_date: leak.commit_date.map(str::to_string),
        }),
        evidence,
        remediation: leak
            .remediation
            .unwrap_or(DEFAULT_LEAK_REMEDIATION)
            .to_string(),
        references: vec!["OWASP-NHI2".into(), "CWE-798".into()],
        status: FindingStatus::New,
        first_seen: now.to_string(),
        last_seen: now.to_string(),
        sources: Vec::new(),
    }
}
