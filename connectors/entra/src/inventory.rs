//! The Entra ID objects the connector reads, in Microsoft Graph v1.0's own field names (which
//! `az ad sp list` and `az ad app list` print too). Live and offline both fill an
//! [`Inventory`]; [`crate::observe`] turns it into observations, so both modes are one code
//! path past the fetch.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A secret of an application or service principal (the value itself is never returned).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordCredential {
    #[serde(default)]
    pub key_id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub start_date_time: Option<String>,
    #[serde(default)]
    pub end_date_time: Option<String>,
    /// The secret's first three characters, as the portal shows them.
    #[serde(default)]
    pub hint: Option<String>,
}

/// A certificate (or other key) of an application or service principal.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyCredential {
    #[serde(default)]
    pub key_id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub start_date_time: Option<String>,
    #[serde(default)]
    pub end_date_time: Option<String>,
    #[serde(default, rename = "type")]
    pub key_type: Option<String>,
    #[serde(default)]
    pub usage: Option<String>,
}

/// An app role a resource offers (`Mail.ReadWrite` of Microsoft Graph).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRole {
    /// What assignments name (a role without one cannot be assigned and is ignored).
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
}

/// An owner (a user or another service principal), as `$expand=owners` returns it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Owner {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub user_principal_name: Option<String>,
    #[serde(default)]
    pub mail: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    /// The object id (what grants and assignments refer to). Inherited from directoryObject,
    /// which Graph's documented examples leave out: read as empty when absent.
    #[serde(default)]
    pub id: String,
    pub app_id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    /// The tenant that registered the application; another tenant's id = a third-party app.
    #[serde(default)]
    pub app_owner_organization_id: Option<String>,
    /// Graph's default is enabled; `null` says nothing otherwise. Graph's own documented
    /// examples write it as a string (`"true"`), so that is read too.
    #[serde(default = "enabled", deserialize_with = "enabled_flag")]
    pub account_enabled: bool,
    #[serde(default)]
    pub service_principal_type: Option<String>,
    /// The publisher Microsoft verified (v1.0 has no plain `publisherName`).
    #[serde(default)]
    pub verified_publisher: Option<VerifiedPublisher>,
    #[serde(default)]
    pub app_roles: Vec<AppRole>,
    #[serde(default)]
    pub password_credentials: Vec<PasswordCredential>,
    #[serde(default)]
    pub key_credentials: Vec<KeyCredential>,
    /// Present when the source expanded them; `None` = not known (a coverage gap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owners: Option<Vec<Owner>>,
}

fn enabled() -> bool {
    true
}

fn enabled_flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Text(String),
    }
    match Option::<Flag>::deserialize(d)? {
        None => Ok(true),
        Some(Flag::Bool(b)) => Ok(b),
        Some(Flag::Text(t)) if t.eq_ignore_ascii_case("true") => Ok(true),
        Some(Flag::Text(t)) if t.eq_ignore_ascii_case("false") => Ok(false),
        Some(Flag::Text(t)) => Err(serde::de::Error::custom(format!(
            "accountEnabled {t:?} is neither true nor false"
        ))),
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedPublisher {
    #[serde(default)]
    pub display_name: Option<String>,
}

/// An application registration of the tenant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    /// The object id (federated credentials are listed under it); see ServicePrincipal's.
    #[serde(default)]
    pub id: String,
    pub app_id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub created_date_time: Option<String>,
    #[serde(default)]
    pub sign_in_audience: Option<String>,
    #[serde(default)]
    pub password_credentials: Vec<PasswordCredential>,
    #[serde(default)]
    pub key_credentials: Vec<KeyCredential>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owners: Option<Vec<Owner>>,
}

/// A delegated permission grant: `AllPrincipals` is admin consent for everyone, `Principal`
/// one user's consent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionGrant {
    #[serde(default)]
    pub id: Option<String>,
    /// The client service principal's object id.
    pub client_id: String,
    #[serde(default)]
    pub consent_type: Option<String>,
    #[serde(default)]
    pub principal_id: Option<String>,
    /// The resource service principal's object id.
    pub resource_id: String,
    /// Space-separated delegated scopes.
    #[serde(default)]
    pub scope: Option<String>,
}

/// An application permission: an app role of a resource assigned to a service principal.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRoleAssignment {
    #[serde(default)]
    pub id: Option<String>,
    pub app_role_id: String,
    pub principal_id: String,
    #[serde(default)]
    pub principal_type: Option<String>,
    pub resource_id: String,
    #[serde(default)]
    pub resource_display_name: Option<String>,
    #[serde(default)]
    pub created_date_time: Option<String>,
}

/// A federated identity credential: tokens of `issuer` for `subject` sign in as the app.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FederatedCredential {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    pub issuer: String,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub audiences: Vec<String>,
}

/// Everything read from one tenant, and what could not be read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inventory {
    pub tenant_id: String,
    pub service_principals: Vec<ServicePrincipal>,
    pub applications: Vec<Application>,
    pub grants: Vec<PermissionGrant>,
    pub assignments: Vec<AppRoleAssignment>,
    /// By application object id; an application absent here was not read.
    pub federated: BTreeMap<String, Vec<FederatedCredential>>,
    pub gaps: Vec<String>,
}

/// A Graph collection page: `{"value": [...], "@odata.nextLink": "..."}`.
#[derive(Debug, Deserialize)]
pub struct Page<T> {
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    #[serde(default, rename = "@odata.nextLink")]
    pub next_link: Option<String>,
}
