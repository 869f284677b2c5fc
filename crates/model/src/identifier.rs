//! Typed identifiers: what may attribute a node to a partner, an owner or the estate itself.
//!
//! Connectors build them once, at the edge; the middle of the pipeline matches on the enum and
//! never splits a `kind:value` string again. The text form (`aws_account:111122223333`) is the
//! one of the `exec` wire format and of every output.
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One identifier. Values are kept as given; matching lowercases where the source is
/// case-insensitive (see [`Identifier::match_key`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Identifier {
    /// A 12-digit AWS account id.
    AwsAccount(String),
    /// An access key id (`AKIA...`): public half of a key pair, links leaks to keys.
    AwsAccessKeyId(String),
    GithubOrg(String),
    /// A GitHub App's slug.
    GithubApp(String),
    GithubUser(String),
    /// `ORG/REPO` (a repository an OIDC trust names).
    GithubRepo(String),
    EntraTenant(String),
    /// An Entra application's `appId`.
    EntraApp(String),
    GcpProject(String),
    GcpKey(String),
    /// An OAuth client id (a Google OAuth app users granted access, in Workspace).
    OauthClient(String),
    K8sCluster(String),
    Email(String),
    /// A host or domain (webhook target, app URL); matches `email_domains` at any level.
    Domain(String),
    /// A token's last eight characters, as GitHub shows them on SSO authorizations.
    Last8(String),
    /// A login or user name found beside a secret.
    Name(String),
    /// A vendor the known-accounts list names (a hint, never an attribution).
    KnownVendor(String),
}

/// Builds an identifier of one kind from its value.
type Make = fn(String) -> Identifier;

/// The text prefixes, in one place: `(prefix, constructor)`.
const KINDS: &[(&str, Make)] = &[
    ("aws_account", Identifier::AwsAccount),
    ("aws_access_key_id", Identifier::AwsAccessKeyId),
    ("github_org", Identifier::GithubOrg),
    ("github_app", Identifier::GithubApp),
    ("github_user", Identifier::GithubUser),
    ("github_repo", Identifier::GithubRepo),
    ("entra_tenant", Identifier::EntraTenant),
    ("entra_app", Identifier::EntraApp),
    ("gcp_project", Identifier::GcpProject),
    ("gcp_key", Identifier::GcpKey),
    ("oauth_client", Identifier::OauthClient),
    ("k8s_cluster", Identifier::K8sCluster),
    ("email", Identifier::Email),
    ("domain", Identifier::Domain),
    ("last8", Identifier::Last8),
    ("name", Identifier::Name),
    ("known_vendor", Identifier::KnownVendor),
];

impl Identifier {
    /// The text prefix (`aws_account`).
    pub fn kind(&self) -> &'static str {
        match self {
            Identifier::AwsAccount(_) => "aws_account",
            Identifier::AwsAccessKeyId(_) => "aws_access_key_id",
            Identifier::GithubOrg(_) => "github_org",
            Identifier::GithubApp(_) => "github_app",
            Identifier::GithubUser(_) => "github_user",
            Identifier::GithubRepo(_) => "github_repo",
            Identifier::EntraTenant(_) => "entra_tenant",
            Identifier::EntraApp(_) => "entra_app",
            Identifier::GcpProject(_) => "gcp_project",
            Identifier::GcpKey(_) => "gcp_key",
            Identifier::OauthClient(_) => "oauth_client",
            Identifier::K8sCluster(_) => "k8s_cluster",
            Identifier::Email(_) => "email",
            Identifier::Domain(_) => "domain",
            Identifier::Last8(_) => "last8",
            Identifier::Name(_) => "name",
            Identifier::KnownVendor(_) => "known_vendor",
        }
    }

    /// The value after the prefix.
    pub fn value(&self) -> &str {
        match self {
            Identifier::AwsAccount(v)
            | Identifier::AwsAccessKeyId(v)
            | Identifier::GithubOrg(v)
            | Identifier::GithubApp(v)
            | Identifier::GithubUser(v)
            | Identifier::GithubRepo(v)
            | Identifier::EntraTenant(v)
            | Identifier::EntraApp(v)
            | Identifier::GcpProject(v)
            | Identifier::GcpKey(v)
            | Identifier::OauthClient(v)
            | Identifier::K8sCluster(v)
            | Identifier::Email(v)
            | Identifier::Domain(v)
            | Identifier::Last8(v)
            | Identifier::Name(v)
            | Identifier::KnownVendor(v) => v,
        }
    }

    /// The same identifier with its value lowercased: the form matching compares, since
    /// account ids, org names, domains and emails are all case-insensitive.
    pub fn match_key(&self) -> Identifier {
        let lower = self.value().to_ascii_lowercase();
        KINDS
            .iter()
            .find(|(k, _)| *k == self.kind())
            .map_or_else(|| self.clone(), |(_, make)| make(lower))
    }

    /// The GitHub organisation a repository identifier lives in.
    pub fn github_repo_org(&self) -> Option<&str> {
        match self {
            Identifier::GithubRepo(r) => r.split('/').next(),
            _ => None,
        }
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind(), self.value())
    }
}

/// Compares with the text form, so a test reads `id == "aws_account:1111"`.
impl PartialEq<str> for Identifier {
    fn eq(&self, other: &str) -> bool {
        other.split_once(':') == Some((self.kind(), self.value()))
    }
}

impl PartialEq<String> for Identifier {
    fn eq(&self, other: &String) -> bool {
        self == other.as_str()
    }
}

/// An identifier text that is not `kind:value` with a known kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("identifier {text:?}: {problem}")]
pub struct IdentifierParseError {
    pub text: String,
    pub problem: String,
}

impl FromStr for Identifier {
    type Err = IdentifierParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |problem: String| IdentifierParseError {
            text: s.to_string(),
            problem,
        };
        let (kind, value) = s
            .split_once(':')
            .ok_or_else(|| err("expected KIND:VALUE, e.g. aws_account:111122223333".into()))?;
        if value.is_empty() {
            return Err(err("the value after the colon is empty".into()));
        }
        KINDS
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, make)| make(value.to_string()))
            .ok_or_else(|| {
                let known: Vec<&str> = KINDS.iter().map(|(k, _)| *k).collect();
                err(format!(
                    "unknown kind {kind:?} (known: {})",
                    known.join(", ")
                ))
            })
    }
}

impl Serialize for Identifier {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Identifier {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips_for_every_kind() {
        for (kind, make) in KINDS {
            let id = make("Value-1".into());
            assert_eq!(id.kind(), *kind);
            let text = id.to_string();
            assert_eq!(text, format!("{kind}:Value-1"));
            assert_eq!(text.parse::<Identifier>().unwrap(), id);
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(serde_json::from_str::<Identifier>(&json).unwrap(), id);
        }
    }

    #[test]
    fn bad_text_is_a_clear_error() {
        let e = "aws:123".parse::<Identifier>().unwrap_err().to_string();
        assert!(e.contains("unknown kind \"aws\""), "{e}");
        assert!("plain".parse::<Identifier>().is_err());
        assert!("email:".parse::<Identifier>().is_err());
        // A value may itself hold colons (an ARN, a URL).
        let arn = "name:arn:aws:iam::1:user/x".parse::<Identifier>().unwrap();
        assert_eq!(arn.value(), "arn:aws:iam::1:user/x");
    }

    #[test]
    fn match_key_lowercases_the_value_only() {
        let id = Identifier::GithubOrg("Acme-Analytics".into());
        assert_eq!(
            id.match_key(),
            Identifier::GithubOrg("acme-analytics".into())
        );
        assert_eq!(
            Identifier::GithubRepo("Corp/app".into()).github_repo_org(),
            Some("Corp")
        );
    }
}
