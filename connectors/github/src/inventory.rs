//! What the connector sees of one organisation, in serde types that use GitHub's documented
//! field names: the same types read the API's response bodies and the snapshot file that
//! `trustmap github export` writes. Secret values are never part of them: Actions secrets and
//! variables keep names and dates only, webhook configs their URL only.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub login: String,
    #[serde(default, rename = "type")]
    pub kind: String,
}

/// `GET /apps/{app_slug}`: who made the app, and where it sends people.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct App {
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub owner: Option<Account>,
    #[serde(default)]
    pub external_url: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
}

/// `GET /orgs/{org}/installations` → `installations[]`, with the app added.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Installation {
    pub id: u64,
    #[serde(default)]
    pub app_id: u64,
    pub app_slug: String,
    #[serde(default)]
    pub account: Option<Account>,
    #[serde(default)]
    pub permissions: BTreeMap<String, String>,
    #[serde(default)]
    pub repository_selection: String,
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub suspended_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<App>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct InstallationList {
    #[serde(default)]
    pub installations: Vec<Installation>,
}

/// `GET /orgs/{org}/credential-authorizations` (SAML SSO, GitHub Enterprise Cloud).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CredentialAuthorization {
    pub login: String,
    pub credential_id: u64,
    pub credential_type: String,
    #[serde(default)]
    pub token_last_eight: Option<String>,
    #[serde(default)]
    pub credential_authorized_at: Option<String>,
    #[serde(default)]
    pub credential_accessed_at: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub fingerprint: Option<String>,
    #[serde(default)]
    pub authorized_credential_title: Option<String>,
    #[serde(default)]
    pub authorized_credential_note: Option<String>,
    #[serde(default)]
    pub authorized_credential_expires_at: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PatPermissions {
    #[serde(default)]
    pub organization: BTreeMap<String, String>,
    #[serde(default)]
    pub repository: BTreeMap<String, String>,
    #[serde(default)]
    pub other: BTreeMap<String, String>,
}

/// `GET /orgs/{org}/personal-access-tokens` (grants) and `.../personal-access-token-requests`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PatGrant {
    pub id: u64,
    pub owner: Account,
    #[serde(default)]
    pub repository_selection: String,
    #[serde(default)]
    pub permissions: PatPermissions,
    #[serde(default)]
    pub access_granted_at: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub token_id: u64,
    #[serde(default)]
    pub token_name: Option<String>,
    #[serde(default)]
    pub token_expired: bool,
    #[serde(default)]
    pub token_expires_at: Option<String>,
    #[serde(default)]
    pub token_last_used_at: Option<String>,
}

/// `GET /repos/{owner}/{repo}/keys`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeployKey {
    pub id: u64,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub read_only: bool,
    #[serde(default)]
    pub verified: Option<bool>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub last_used: Option<String>,
    #[serde(default)]
    pub added_by: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HookConfig {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub content_type: Option<String>,
}

/// `GET /orgs/{org}/hooks`, `GET /repos/{owner}/{repo}/hooks`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Hook {
    pub id: u64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub active: bool,
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub config: HookConfig,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RepoPermissions {
    #[serde(default)]
    pub admin: bool,
    #[serde(default)]
    pub maintain: bool,
    #[serde(default)]
    pub push: bool,
    #[serde(default)]
    pub triage: bool,
    #[serde(default)]
    pub pull: bool,
}

/// `GET /repos/{owner}/{repo}/collaborators?affiliation=outside`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Collaborator {
    pub login: String,
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub permissions: Option<RepoPermissions>,
    #[serde(default)]
    pub role_name: Option<String>,
}

/// An Actions secret or variable: name and dates, never the value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NamedItem {
    pub name: String,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub visibility: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SecretList {
    #[serde(default)]
    pub secrets: Vec<NamedItem>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct VariableList {
    #[serde(default)]
    pub variables: Vec<NamedItem>,
}

/// `GET /orgs/{org}/actions/oidc/customization/sub`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OidcSubject {
    #[serde(default)]
    pub include_claim_keys: Vec<String>,
}

/// A repository (`GET /orgs/{org}/repos`) and what hangs off it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Repository {
    pub name: String,
    #[serde(default)]
    pub full_name: String,
    #[serde(default)]
    pub private: bool,
    #[serde(default)]
    pub archived: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clone_url: Option<String>,
    #[serde(default)]
    pub deploy_keys: Vec<DeployKey>,
    #[serde(default)]
    pub hooks: Vec<Hook>,
    #[serde(default)]
    pub outside_collaborators: Vec<Collaborator>,
    #[serde(default)]
    pub actions_secrets: Vec<NamedItem>,
    #[serde(default)]
    pub actions_variables: Vec<NamedItem>,
}

/// One organisation: the snapshot file's format (`trustmap github export`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    pub org: String,
    #[serde(default)]
    pub exported_at: Option<String>,
    #[serde(default)]
    pub installations: Vec<Installation>,
    #[serde(default)]
    pub credential_authorizations: Vec<CredentialAuthorization>,
    #[serde(default)]
    pub personal_access_tokens: Vec<PatGrant>,
    #[serde(default)]
    pub personal_access_token_requests: Vec<PatGrant>,
    #[serde(default)]
    pub hooks: Vec<Hook>,
    /// Members the configuration calls machine users (`machine_users` patterns).
    #[serde(default)]
    pub machine_users: Vec<Account>,
    #[serde(default)]
    pub actions_secrets: Vec<NamedItem>,
    #[serde(default)]
    pub actions_variables: Vec<NamedItem>,
    #[serde(default)]
    pub oidc_subject: Option<OidcSubject>,
    #[serde(default)]
    pub repositories: Vec<Repository>,
    /// What the export could not see (a repository the token may not read, ...).
    #[serde(default)]
    pub gaps: Vec<String>,
}
