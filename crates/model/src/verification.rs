//! What a secret's issuer said when asked whether the secret is live (`--verify`).
use serde::{Deserialize, Serialize};

use crate::Severity;

/// The issuer's answer. Only an answer that names the secret as invalid is `Revoked`: a network
/// error, a timeout or a 5xx is `Unknown`, so a flaky issuer never clears a leak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerificationStatus {
    Live,
    Revoked,
    Unknown,
}

impl VerificationStatus {
    pub const ALL: [VerificationStatus; 3] = [
        VerificationStatus::Live,
        VerificationStatus::Revoked,
        VerificationStatus::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VerificationStatus::Live => "live",
            VerificationStatus::Revoked => "revoked",
            VerificationStatus::Unknown => "unknown",
        }
    }
}

/// `evidence.verification` of a leak finding. It never holds the secret: errors are reworded
/// by the verifier before they get here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verification {
    pub status: VerificationStatus,
    /// RFC 3339.
    pub checked_at: String,
    /// The issuer asked (`aws`, `github`, `slack`, ...).
    pub provider: String,
    /// Whom the issuer said the secret belongs to: an ARN, a login, an account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// What the secret may do, where the issuer says (GitHub's `X-OAuth-Scopes`, SendGrid's
    /// scopes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// Why the answer is `unknown`, or what else the issuer said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The `secret_digest` of the secret verified together with this one (an AWS key id and
    /// the secret access key beside it): the two findings are one credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paired_with: Option<String>,
}

impl Verification {
    /// The leak's severity once its issuer has answered: a live secret one level up (critical
    /// when it belongs to a partner whose access must be gone), a revoked one down to low.
    pub fn adjust(&self, severity: Severity, partner_forbids_access: bool) -> Severity {
        match self.status {
            VerificationStatus::Live if partner_forbids_access => Severity::Critical,
            VerificationStatus::Live => severity.raised(),
            VerificationStatus::Revoked => severity.min(Severity::Low),
            VerificationStatus::Unknown => severity,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: VerificationStatus) -> Verification {
        Verification {
            status,
            checked_at: "2026-12-03T10:00:00Z".into(),
            provider: "github".into(),
            identity: None,
            scopes: Vec::new(),
            detail: None,
            paired_with: None,
        }
    }

    #[test]
    fn severity_follows_the_issuers_answer() {
        let live = answer(VerificationStatus::Live);
        assert_eq!(live.adjust(Severity::High, false), Severity::Critical);
        assert_eq!(live.adjust(Severity::Medium, false), Severity::High);
        assert_eq!(live.adjust(Severity::Critical, false), Severity::Critical);
        assert_eq!(live.adjust(Severity::Low, true), Severity::Critical);
        let revoked = answer(VerificationStatus::Revoked);
        assert_eq!(revoked.adjust(Severity::Critical, true), Severity::Low);
        assert_eq!(revoked.adjust(Severity::Info, false), Severity::Info);
        let unknown = answer(VerificationStatus::Unknown);
        assert_eq!(unknown.adjust(Severity::High, true), Severity::High);
    }

    #[test]
    fn evidence_form_is_stable() {
        let mut v = answer(VerificationStatus::Live);
        v.identity = Some("octocat".into());
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"status": "live", "checked_at": "2026-12-03T10:00:00Z",
                "provider": "github", "identity": "octocat"})
        );
        let back: Verification = serde_json::from_value(json).unwrap();
        assert_eq!(back, v);
    }
}
