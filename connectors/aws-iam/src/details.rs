//! What one AWS account holds, in the shape of `aws iam get-account-authorization-details`
//! (the offline export), plus access keys and the credential report. Live enumeration fills
//! the same types, so both modes share one path to observations.
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthorizationDetails {
    #[serde(default)]
    pub user_detail_list: Vec<UserDetail>,
    #[serde(default)]
    pub group_detail_list: Vec<GroupDetail>,
    #[serde(default)]
    pub role_detail_list: Vec<RoleDetail>,
    #[serde(default)]
    pub policies: Vec<ManagedPolicy>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InlinePolicy {
    #[serde(default)]
    pub policy_name: String,
    /// URL-encoded JSON, plain JSON, or an object (see `policy::decode_document`).
    #[serde(default)]
    pub policy_document: Value,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttachedPolicy {
    #[serde(default)]
    pub policy_name: String,
    pub policy_arn: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserDetail {
    #[serde(default)]
    pub path: String,
    pub user_name: String,
    #[serde(default)]
    pub user_id: String,
    pub arn: String,
    #[serde(default)]
    pub create_date: Option<String>,
    #[serde(default)]
    pub user_policy_list: Vec<InlinePolicy>,
    #[serde(default)]
    pub group_list: Vec<String>,
    #[serde(default)]
    pub attached_managed_policies: Vec<AttachedPolicy>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupDetail {
    pub group_name: String,
    #[serde(default)]
    pub arn: String,
    #[serde(default)]
    pub group_policy_list: Vec<InlinePolicy>,
    #[serde(default)]
    pub attached_managed_policies: Vec<AttachedPolicy>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoleLastUsed {
    #[serde(default)]
    pub last_used_date: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoleDetail {
    #[serde(default)]
    pub path: String,
    pub role_name: String,
    #[serde(default)]
    pub role_id: String,
    pub arn: String,
    #[serde(default)]
    pub create_date: Option<String>,
    #[serde(default)]
    pub assume_role_policy_document: Value,
    #[serde(default)]
    pub role_policy_list: Vec<InlinePolicy>,
    #[serde(default)]
    pub attached_managed_policies: Vec<AttachedPolicy>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub role_last_used: Option<RoleLastUsed>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyVersion {
    #[serde(default)]
    pub document: Value,
    #[serde(default)]
    pub version_id: String,
    #[serde(default)]
    pub is_default_version: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManagedPolicy {
    #[serde(default)]
    pub policy_name: String,
    pub arn: String,
    #[serde(default)]
    pub default_version_id: String,
    #[serde(default)]
    pub policy_version_list: Vec<PolicyVersion>,
}

/// An access key as ListAccessKeys and GetAccessKeyLastUsed describe it (live mode only: the
/// exports do not carry key ids).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccessKey {
    pub user_name: String,
    pub access_key_id: String,
    pub active: bool,
    pub created: Option<String>,
    pub last_used: Option<String>,
    pub last_used_service: Option<String>,
}

/// One user's row of the IAM credential report (the CSV of `aws iam get-credential-report`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ReportRow {
    pub user: String,
    #[serde(default)]
    pub arn: String,
    #[serde(default)]
    pub password_enabled: String,
    #[serde(default)]
    pub password_last_used: String,
    #[serde(default)]
    pub access_key_1_active: String,
    #[serde(default)]
    pub access_key_1_last_rotated: String,
    #[serde(default)]
    pub access_key_1_last_used_date: String,
    #[serde(default)]
    pub access_key_2_active: String,
    #[serde(default)]
    pub access_key_2_last_rotated: String,
    #[serde(default)]
    pub access_key_2_last_used_date: String,
}

/// A report date, or `None` for `N/A`, `no_information`, `not_supported`, empty.
pub fn report_date(v: &str) -> Option<String> {
    (v.len() >= 10 && v.as_bytes()[4] == b'-').then(|| v.to_string())
}

/// Everything enumerated in one account.
#[derive(Debug, Clone, Default)]
pub struct AccountInventory {
    pub account: String,
    pub details: AuthorizationDetails,
    /// True when the keys were listed live; exports only have the report's key slots.
    pub keys_listed: bool,
    pub access_keys: Vec<AccessKey>,
    pub report: Vec<ReportRow>,
    /// ARNs of the account's OIDC and SAML identity providers (live mode).
    pub providers: Vec<String>,
}

/// An export file that is not what its command prints; each names the file and line.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{}:{}:{}: not an authorization details export: {source}", file.display(), source.line(), source.column())]
    Details {
        file: std::path::PathBuf,
        source: serde_json::Error,
    },
    #[error("{}:1: cannot read the CSV header: {source}", file.display())]
    ReportHeader {
        file: std::path::PathBuf,
        source: csv::Error,
    },
    #[error("{}:1: not a credential report: no `user` column (got {got:?})", file.display())]
    NotAReport {
        file: std::path::PathBuf,
        got: Vec<String>,
    },
    #[error("{}:{line}: {source}", file.display())]
    ReportRow {
        file: std::path::PathBuf,
        line: u64,
        source: csv::Error,
    },
}

/// Parse the JSON an export file holds, naming the file, line and column on error.
pub fn parse_details(file: &Path, text: &str) -> Result<AuthorizationDetails, ExportError> {
    serde_json::from_str(text).map_err(|source| ExportError::Details {
        file: file.to_path_buf(),
        source,
    })
}

/// Parse a credential report CSV, naming the file and line on error.
pub fn parse_report(file: &Path, text: &str) -> Result<Vec<ReportRow>, ExportError> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|source| ExportError::ReportHeader {
            file: file.to_path_buf(),
            source,
        })?;
    if !headers.iter().any(|h| h == "user") {
        return Err(ExportError::NotAReport {
            file: file.to_path_buf(),
            got: headers.iter().take(4).map(str::to_string).collect(),
        });
    }
    let mut rows = Vec::new();
    for (i, row) in reader.deserialize::<ReportRow>().enumerate() {
        let row = row.map_err(|source| ExportError::ReportRow {
            file: file.to_path_buf(),
            line: source.position().map_or(i as u64 + 2, |p| p.line()),
            source,
        })?;
        if row.user != "<root_account>" {
            rows.push(row);
        }
    }
    Ok(rows)
}
