//! The Google Cloud and Workspace objects the connector reads, in the REST APIs' own field
//! names (which `gcloud ... --format=json` prints too). Live and offline both fill an
//! [`Inventory`]; [`crate::observe`] turns it into observations, so both modes are one code
//! path past the fetch.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An IAM service account (IAM v1 `projects.serviceAccounts`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccount {
    /// `projects/PROJECT/serviceAccounts/EMAIL`.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub unique_id: Option<String>,
    pub email: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub disabled: bool,
}

impl ServiceAccount {
    /// The project it lives in: `projectId`, else the one its name or email names.
    pub fn project(&self) -> String {
        self.project_id
            .clone()
            .or_else(|| {
                self.name
                    .strip_prefix("projects/")
                    .and_then(|r| r.split('/').next())
                    .filter(|p| *p != "-")
                    .map(str::to_string)
            })
            .or_else(|| project_of_email(&self.email).map(str::to_string))
            .unwrap_or_default()
    }
}

/// `x@PROJECT.iam.gserviceaccount.com` → `PROJECT` (user-created accounts only).
pub fn project_of_email(email: &str) -> Option<&str> {
    email
        .rsplit_once('@')
        .and_then(|(_, d)| d.strip_suffix(".iam.gserviceaccount.com"))
}

/// A service account key (IAM v1 `projects.serviceAccounts.keys`; the private key is never
/// listed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccountKey {
    /// `projects/PROJECT/serviceAccounts/EMAIL/keys/KEY_ID`.
    pub name: String,
    #[serde(default)]
    pub valid_after_time: Option<String>,
    #[serde(default)]
    pub valid_before_time: Option<String>,
    #[serde(default)]
    pub key_algorithm: Option<String>,
    /// `USER_PROVIDED` (uploaded) or `GOOGLE_PROVIDED`.
    #[serde(default)]
    pub key_origin: Option<String>,
    /// `USER_MANAGED` or `SYSTEM_MANAGED` (Google's own, rotated by Google: not a finding).
    #[serde(default)]
    pub key_type: Option<String>,
    #[serde(default)]
    pub disabled: bool,
}

impl ServiceAccountKey {
    /// The account's email and the key id, from the name.
    pub fn parts(&self) -> Option<(&str, &str)> {
        let rest = self.name.split_once("/serviceAccounts/")?.1;
        let (email, key) = rest.split_once("/keys/")?;
        Some((email, key))
    }

    pub fn user_managed(&self) -> bool {
        !self
            .key_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("SYSTEM_MANAGED"))
    }
}

/// An IAM condition on a binding (kept verbatim).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(default)]
    pub expression: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    pub role: String,
    #[serde(default)]
    pub members: Vec<String>,
    #[serde(default)]
    pub condition: Option<Condition>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    #[serde(default)]
    pub bindings: Vec<Binding>,
    #[serde(default)]
    pub etag: Option<String>,
    #[serde(default)]
    pub version: Option<i64>,
}

/// One resource's IAM policy, as Cloud Asset's `searchAllIamPolicies` returns it (live
/// `getIamPolicy` answers are wrapped into the same shape).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRecord {
    /// `//cloudresourcemanager.googleapis.com/projects/acme-prod`,
    /// `//iam.googleapis.com/projects/p/serviceAccounts/EMAIL`, `//storage.googleapis.com/b`.
    pub resource: String,
    #[serde(default)]
    pub asset_type: Option<String>,
    /// `projects/NUMBER`.
    #[serde(default)]
    pub project: Option<String>,
    #[serde(default)]
    pub folders: Vec<String>,
    #[serde(default)]
    pub organization: Option<String>,
    #[serde(default)]
    pub policy: Policy,
}

/// A workload identity pool provider (IAM v1 `workloadIdentityPools.providers`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provider {
    /// `projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER`.
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub disabled: bool,
    #[serde(default)]
    pub attribute_mapping: BTreeMap<String, String>,
    #[serde(default)]
    pub attribute_condition: Option<String>,
    #[serde(default)]
    pub oidc: Option<Oidc>,
    #[serde(default)]
    pub aws: Option<Aws>,
    #[serde(default)]
    pub saml: Option<serde_json::Value>,
}

impl Provider {
    /// The pool's resource name (`projects/N/locations/global/workloadIdentityPools/POOL`).
    pub fn pool(&self) -> &str {
        self.name
            .split_once("/providers/")
            .map_or(self.name.as_str(), |(p, _)| p)
    }

    pub fn active(&self) -> bool {
        !self.disabled
            && !self
                .state
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("DELETED"))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Oidc {
    #[serde(default)]
    pub issuer_uri: String,
    #[serde(default)]
    pub allowed_audiences: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Aws {
    #[serde(default)]
    pub account_id: String,
}

/// A Workspace user's grant to an OAuth app (Admin SDK Directory v1 `tokens`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Token {
    pub client_id: String,
    #[serde(default)]
    pub display_text: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The user's id or email (present in `tokens.list` items).
    #[serde(default)]
    pub user_key: Option<String>,
    #[serde(default)]
    pub anonymous: bool,
    #[serde(default)]
    pub native_app: bool,
}

/// A Resource Manager v3 project (`projects.search`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    /// `projects/NUMBER`.
    #[serde(default)]
    pub name: String,
    pub project_id: String,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
}

impl Project {
    pub fn number(&self) -> Option<&str> {
        self.name
            .strip_prefix("projects/")
            .filter(|n| !n.is_empty())
    }
}

/// Everything one sweep of the organisation or projects read.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub organization: Option<String>,
    /// The estate's projects (ids; numbers where known).
    pub projects: Vec<Project>,
    pub policies: Vec<PolicyRecord>,
    pub service_accounts: Vec<ServiceAccount>,
    pub keys: Vec<ServiceAccountKey>,
    pub providers: Vec<Provider>,
    pub tokens: Vec<Token>,
    /// Whether the workload identity providers were read (offline the file is optional).
    pub providers_read: bool,
    /// The Workspace's primary domain: its users and groups are staff, not outsiders.
    pub workspace_domain: Option<String>,
    pub gaps: Vec<String>,
}
