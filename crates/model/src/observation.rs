use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::Identifier;

/// Where an observation came from: the connector instance (`name` in sweep.toml) and the
/// source object (an API call, a file, a commit).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    #[serde(default)]
    pub connector: String,
    #[serde(default)]
    pub source: String,
}

/// How to remove an identity or credential at its source, as its connector knows it:
/// commands as argument vectors (quoted only when rendered, never run by trustmap) and, where
/// no API exists, the settings page to use.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
}

impl Revocation {
    /// Commands given as argument vectors of `&str`.
    pub fn commands(commands: &[&[&str]]) -> Self {
        Revocation {
            commands: commands
                .iter()
                .map(|c| c.iter().map(|a| (*a).to_string()).collect())
                .collect(),
            page: None,
        }
    }

    pub fn page(url: impl Into<String>) -> Self {
        Revocation {
            commands: Vec::new(),
            page: Some(url.into()),
        }
    }
}

/// A non-human identity: an IAM user or role, a service account, a GitHub App installation,
/// a machine user, an OAuth app, a deploy key's holder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityObs {
    /// Stable, human-readable id: `aws:123456789012:role/acme-reader`.
    pub id: String,
    /// `aws_iam_user`, `aws_iam_role`, `github_app_installation`, `github_user`, ...
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub provider: String,
    /// The account, organisation or tenant it lives in.
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub last_used: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
    /// Permissions in the approved-scope vocabulary (`aws:s3:GetObject`, `github:contents:read`).
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Identifiers that may attribute it: emails, logins, org names, app slugs, account ids.
    #[serde(default)]
    pub identifiers: Vec<Identifier>,
    /// How to remove it (exit plans print this).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke: Option<Revocation>,
    #[serde(default)]
    pub provenance: Provenance,
}

/// A credential held by an identity: an access key, a token, a deploy key, a client secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialObs {
    pub id: String,
    pub kind: String,
    /// The identity that holds it.
    pub holder: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub last_used: Option<String>,
    #[serde(default)]
    pub last_rotated: Option<String>,
    #[serde(default)]
    pub expires: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
    /// Public identifiers of the secret: an access key id, a token's last eight characters,
    /// `Secret::digest` of a value known to the inventory. Used to link leaks to credentials.
    #[serde(default)]
    pub identifiers: Vec<Identifier>,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// How to remove it (exit plans print this).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke: Option<Revocation>,
    #[serde(default)]
    pub provenance: Provenance,
}

/// Something outside the organisation that is trusted: an AWS account, a GitHub organisation,
/// an OIDC issuer, an email domain, a webhook host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalPrincipalObs {
    /// `aws-account:111122223333`, `github-org:acme-analytics`, `oidc:token.actions.githubusercontent.com`.
    pub id: String,
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub identifiers: Vec<Identifier>,
    #[serde(default)]
    pub provenance: Provenance,
}

/// Typed edges of the identity graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    Owns,
    Holds,
    Trusts,
    CanAssume,
    InstalledBy,
    FoundIn,
    SameSecretAs,
    Grants,
}

impl EdgeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::Owns => "owns",
            EdgeKind::Holds => "holds",
            EdgeKind::Trusts => "trusts",
            EdgeKind::CanAssume => "can_assume",
            EdgeKind::InstalledBy => "installed_by",
            EdgeKind::FoundIn => "found_in",
            EdgeKind::SameSecretAs => "same_secret_as",
            EdgeKind::Grants => "grants",
        }
    }
}

/// A relation between two nodes, e.g. a role that `trusts` an external account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdgeObs {
    pub from: String,
    pub to: String,
    pub kind: EdgeKind,
    /// Conditions on a trust (`sts:ExternalId`, `aws:PrincipalOrgID`, OIDC `sub`), verbatim.
    #[serde(default)]
    pub conditions: BTreeMap<String, String>,
    #[serde(default)]
    pub provenance: Provenance,
}

/// A leaked secret as an observation (the serialisable form of [`crate::SecretMatch`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretObs {
    pub rule: String,
    pub rule_name: String,
    pub severity: crate::Severity,
    /// `Secret::digest` of the value; the value itself never travels in observations.
    pub digest: String,
    pub redacted: String,
    pub path: String,
    pub line: u64,
    #[serde(default)]
    pub column: u64,
    #[serde(default)]
    pub commit: Option<String>,
    #[serde(default)]
    pub commit_date: Option<String>,
    #[serde(default)]
    pub hints: BTreeMap<String, String>,
    /// The rule's own remediation text, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<String>,
    /// What the issuer said when asked (`verify = true`): taken where the value was in hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<crate::Verification>,
    #[serde(default)]
    pub provenance: Provenance,
}

/// What a connector emits. The JSON form (one object per line, tagged by `type`) is the
/// `exec` connector's input schema, documented in docs/observations.md.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Observation {
    Identity(IdentityObs),
    Credential(CredentialObs),
    ExternalPrincipal(ExternalPrincipalObs),
    Edge(EdgeObs),
    Secret(SecretObs),
}

fn yes() -> bool {
    true
}

impl From<&crate::SecretMatch> for SecretObs {
    fn from(m: &crate::SecretMatch) -> Self {
        SecretObs {
            rule: m.rule_id.clone(),
            rule_name: m.rule_name.clone(),
            severity: m.severity,
            digest: m.secret.digest(),
            redacted: m.secret.redacted(),
            path: m.path.clone(),
            line: m.line,
            column: m.column,
            commit: m.commit.clone(),
            commit_date: m.commit_date.clone(),
            hints: m.hints.clone(),
            remediation: m.remediation.clone(),
            verification: m.verification.clone(),
            provenance: Provenance::default(),
        }
    }
}

/// Identity kinds that are keys in themselves: a connector may model a deploy key, an SSH key
/// or a fine-grained token's grant as an identity (it has no other holder we can see), yet
/// the age and use checks must treat it as the credential it is.
pub const KEY_LIKE_KINDS: &[&str] = &[
    "github_deploy_key",
    "github_ssh_key",
    "github_fine_grained_pat",
    "ssh_key",
    "entra_client_secret",
    "entra_certificate",
    "gcp_service_account_key",
    "k8s_service_account_token",
];

/// An edge condition naming the annotation through which a workload may act as a cloud
/// identity (a Kubernetes service account's `eks.amazonaws.com/role-arn`): the graph lends the
/// workload what that identity holds.
pub const WORKLOAD_IDENTITY_CONDITION: &str = "workload_identity";

/// The tag listing the identities a node may act as (impersonation, workload identity), whose
/// permissions its scopes include.
pub const ACTS_AS_TAG: &str = "acts_as";

/// The tag giving another name `name_patterns` match (a Kubernetes service account's name
/// without its namespace).
pub const BARE_NAME_TAG: &str = "bare_name";

/// Identity kinds that are people (or groups and domains of them) holding access directly:
/// IAM bindings of users, RBAC bindings of an identity provider's users. Of the estate's own domain they are staff, which no check is about.
pub const PERSON_KINDS: &[&str] = &[
    "gcp_user",
    "gcp_group",
    "gcp_domain",
    "k8s_user",
    "k8s_group",
];

/// Whether an identity of this kind is a person (see [`PERSON_KINDS`]).
pub fn is_person_kind(kind: &str) -> bool {
    PERSON_KINDS.contains(&kind)
}

/// Whether an identity of this kind is a key (see [`KEY_LIKE_KINDS`]).
pub fn is_key_like_kind(kind: &str) -> bool {
    KEY_LIKE_KINDS.contains(&kind)
}
