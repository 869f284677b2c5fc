use std::collections::BTreeMap;
use std::fmt;

use crate::Severity;

/// A secret value. `Debug` and `Display` never show it; only [`Secret::expose`] does.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself: call only where the user asked for it (`--show-secrets`).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A redacted form safe for any output: a short prefix, then asterisks.
    pub fn redacted(&self) -> String {
        redact(&self.0)
    }

    /// A digest that lets reports correlate the same secret across places without revealing
    /// it: an HMAC under the estate's key ([`crate::digest_key`]), so it cannot be tested
    /// against guesses by anyone who holds only a report.
    pub fn digest(&self) -> String {
        crate::digest_key().digest(&self.0)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.redacted())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Keep at most 4 leading characters (fewer for short values, none under 8), mask the rest.
///
/// Prefixes like `ghp_` or `AKIA` tell the reader what leaked without giving any of the
/// random part away; short values (passwords) show nothing.
pub fn redact(value: &str) -> String {
    let n = value.chars().count();
    let keep = if n < 8 { 0 } else { (n / 5).min(4) };
    let prefix: String = value.chars().take(keep).collect();
    format!("{prefix}{}", "*".repeat(8))
}

/// One secret found in content by a rule: what a file or git connector observes.
#[derive(Debug, Clone)]
pub struct SecretMatch {
    pub rule_id: String,
    pub rule_name: String,
    pub severity: Severity,
    pub secret: Secret,
    /// Path as the user gave it, or relative to the connector's root.
    pub path: String,
    pub line: u64,
    pub column: u64,
    pub commit: Option<String>,
    pub commit_date: Option<String>,
    /// Further places the same content appeared (other paths or commits), `path@commit`.
    pub also_seen_in: Vec<String>,
    /// How the secret was hidden when found (`base64`, `escaped`, ...), if it was.
    pub encoding: Option<String>,
    /// What the secret reveals about its owner: provider, token kind, AWS account id, ...
    pub hints: BTreeMap<String, String>,
    /// Shannon entropy of the secret, in bits per character.
    pub entropy: f64,
    /// The rule's own remediation text, if it has one.
    pub remediation: Option<String>,
    /// What the issuer said when asked (`--verify`); `None` when nobody asked.
    pub verification: Option<crate::Verification>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints_itself() {
        let s = Secret::new("ghp_abcdefghijklmnopqrstuvwxyz0123456789");
        assert!(!format!("{s}").contains("abcdefgh"));
        assert!(!format!("{s:?}").contains("abcdefgh"));
        assert_eq!(s.redacted(), "ghp_********");
        assert_eq!(redact("hunter2"), "********");
        assert_eq!(s.digest(), Secret::new(s.expose()).digest());
    }
}
