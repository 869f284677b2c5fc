use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    /// One level up (critical stays critical).
    pub fn raised(self) -> Severity {
        match self {
            Severity::Info => Severity::Low,
            Severity::Low => Severity::Medium,
            Severity::Medium => Severity::High,
            Severity::High | Severity::Critical => Severity::Critical,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown severity {0:?} (expected critical, high, medium, low or info)")]
pub struct SeverityParseError(pub String);

impl FromStr for Severity {
    type Err = SeverityParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Ok(Severity::Info),
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            _ => Err(SeverityParseError(s.to_string())),
        }
    }
}

/// The finding kinds (docs/architecture.md, "Contracts").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    LeakedSecret,
    UnownedIdentity,
    UnknownExternalAccess,
    LingeringAccess,
    NestedAccess,
    DormantAccess,
    StaleCredential,
    OverScoped,
    SharedCredential,
    MissingExternalId,
    MissingGovernance,
    /// A partner's renewal checkpoint (expiry within `renew_before_days`) or review cadence
    /// run out, while it holds access.
    ReviewDue,
    /// An identity holds permissions it did not have when the state store first saw it.
    ScopeDrift,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::LeakedSecret => "leaked_secret",
            FindingKind::UnownedIdentity => "unowned_identity",
            FindingKind::UnknownExternalAccess => "unknown_external_access",
            FindingKind::LingeringAccess => "lingering_access",
            FindingKind::NestedAccess => "nested_access",
            FindingKind::DormantAccess => "dormant_access",
            FindingKind::StaleCredential => "stale_credential",
            FindingKind::OverScoped => "over_scoped",
            FindingKind::SharedCredential => "shared_credential",
            FindingKind::MissingExternalId => "missing_external_id",
            FindingKind::MissingGovernance => "missing_governance",
            FindingKind::ReviewDue => "review_due",
            FindingKind::ScopeDrift => "scope_drift",
        }
    }
}

/// A finding kind, status or severity text that is not one trustmap defines.
#[derive(Debug, thiserror::Error)]
#[error("unknown {what} {text:?}")]
pub struct UnknownName {
    pub what: &'static str,
    pub text: String,
}

impl FindingKind {
    pub const ALL: [FindingKind; 13] = [
        FindingKind::LeakedSecret,
        FindingKind::UnownedIdentity,
        FindingKind::UnknownExternalAccess,
        FindingKind::LingeringAccess,
        FindingKind::NestedAccess,
        FindingKind::DormantAccess,
        FindingKind::StaleCredential,
        FindingKind::OverScoped,
        FindingKind::SharedCredential,
        FindingKind::MissingExternalId,
        FindingKind::MissingGovernance,
        FindingKind::ReviewDue,
        FindingKind::ScopeDrift,
    ];
}

impl FromStr for FindingKind {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FindingKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownName {
                what: "finding kind",
                text: s.to_string(),
            })
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lifecycle of a finding across runs (the state store sets anything but `New`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum FindingStatus {
    #[default]
    New,
    Open,
    Resolved,
    Suppressed,
}

impl FindingStatus {
    pub const ALL: [FindingStatus; 4] = [
        FindingStatus::New,
        FindingStatus::Open,
        FindingStatus::Resolved,
        FindingStatus::Suppressed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FindingStatus::New => "new",
            FindingStatus::Open => "open",
            FindingStatus::Resolved => "resolved",
            FindingStatus::Suppressed => "suppressed",
        }
    }
}

impl FromStr for FindingStatus {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FindingStatus::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownName {
                what: "finding status",
                text: s.to_string(),
            })
    }
}

impl fmt::Display for FindingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
}

/// Where a finding sits in content. `commit` and `commit_date` are set for git history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub path: String,
    pub line: u64,
    pub column: u64,
    pub commit: Option<String>,
    /// Extension of the contract's location: the committer date (RFC 3339) of `commit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_date: Option<String>,
}

/// One finding, exactly the finding JSON object of the contract (docs/architecture.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub id: String,
    pub kind: FindingKind,
    pub severity: Severity,
    pub title: String,
    pub subject: Subject,
    pub partner: Option<String>,
    pub chain: Vec<String>,
    pub rule: Option<String>,
    pub location: Option<Location>,
    pub evidence: serde_json::Map<String, serde_json::Value>,
    pub remediation: String,
    pub references: Vec<String>,
    pub status: FindingStatus,
    pub first_seen: String,
    pub last_seen: String,
    /// The connectors whose observations produced it (empty: the registry alone). The state
    /// store resolves a finding only when all of them ran fine.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
}

/// A finding id: `tm-` and 16 hex digits of SHA-256 over the parts that define the problem.
///
/// Callers pass only what identifies the problem (kind, rule, path, secret digest, subject id),
/// never line numbers or dates, so the id survives unrelated edits and reruns.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    let digest = h.finalize();
    let mut out = String::with_capacity(19);
    out.push_str("tm-");
    for b in &digest[..8] {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_stable_and_separates_parts() {
        let a = fingerprint(&["leaked_secret", "rule", "a/b.txt"]);
        assert_eq!(a, fingerprint(&["leaked_secret", "rule", "a/b.txt"]));
        assert!(a.starts_with("tm-") && a.len() == 19);
        // Length-prefixing keeps ("ab","c") and ("a","bc") apart.
        assert_ne!(fingerprint(&["ab", "c"]), fingerprint(&["a", "bc"]));
    }

    #[test]
    fn severity_orders_and_parses() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Info < Severity::Low);
        assert_eq!("HIGH".parse::<Severity>().unwrap(), Severity::High);
        assert!("severe".parse::<Severity>().is_err());
    }

    #[test]
    fn finding_kind_serialises_as_design_says() {
        let s = serde_json::to_string(&FindingKind::MissingExternalId).unwrap();
        assert_eq!(s, "\"missing_external_id\"");
        assert_eq!(FindingKind::LeakedSecret.as_str(), "leaked_secret");
    }
}
