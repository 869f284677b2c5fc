//! Live enumeration through the official SDK: GetAccountAuthorizationDetails (paginated; it
//! carries trust policies, RoleLastUsed and tags that ListRoles lacks), ListAccessKeys and
//! GetAccessKeyLastUsed per user (bounded concurrency), the credential report; accounts of an
//! Organization entered with AssumeRole. Throttling is the SDK's retry and backoff.
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_types::date_time::Format;
use futures::StreamExt;
use std::fmt::Debug;
use trustmap_connector::{ConnectorError, ErrorKind};

use crate::details::{
    AccessKey, AccountInventory, AttachedPolicy, AuthorizationDetails, GroupDetail, InlinePolicy,
    ManagedPolicy, PolicyVersion, RoleDetail, RoleLastUsed, Tag, UserDetail,
};
use crate::AwsIamConfig;

/// Classify an SDK error by its AWS error code, naming the call that failed.
pub fn classify<E, R>(call: &str, e: SdkError<E, R>) -> ConnectorError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    let code = e.code().unwrap_or_default().to_string();
    let message = e.message().unwrap_or_default().to_string();
    let kind = match (&e, code.as_str()) {
        (SdkError::DispatchFailure(_) | SdkError::TimeoutError(_), _) => ErrorKind::Transient,
        (_, "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation") => {
            ErrorKind::PermissionDenied
        }
        (
            _,
            "InvalidClientTokenId"
            | "ExpiredToken"
            | "SignatureDoesNotMatch"
            | "UnrecognizedClientException",
        ) => ErrorKind::Auth,
        (_, "NoSuchEntity" | "NoSuchEntityException") => ErrorKind::NotFound,
        (_, "Throttling" | "ThrottlingException" | "TooManyRequestsException") => {
            ErrorKind::RateLimited { retry_after: None }
        }
        (SdkError::ResponseError(_), _) => ErrorKind::Data,
        (SdkError::ConstructionFailure(_), _) => ErrorKind::Config,
        _ => ErrorKind::Transient,
    };
    let detail = if code.is_empty() {
        aws_smithy_types::error::display::DisplayErrorContext(&e).to_string()
    } else {
        format!("{code}: {message}")
    };
    ConnectorError::new(kind, format!("{call}: {detail}"))
}

fn date(d: Option<&aws_smithy_types::DateTime>) -> Option<String> {
    d.and_then(|d| d.fmt(Format::DateTime).ok())
}

fn owned(s: Option<&str>) -> String {
    s.unwrap_or_default().to_string()
}

/// The SDK configuration for the connector: standard credential chain, region, endpoint,
/// adaptive retries.
pub async fn sdk_config(cfg: &AwsIamConfig) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(cfg.region.clone()))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(cfg.max_attempts)
                .with_initial_backoff(std::time::Duration::from_millis(200)),
        );
    if let Some(url) = &cfg.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some(p) = &cfg.profile {
        loader = loader.profile_name(p);
    }
    loader.load().await
}

/// The account the credentials belong to.
pub async fn caller_account(conf: &SdkConfig) -> Result<String, ConnectorError> {
    let out = aws_sdk_sts::Client::new(conf)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| classify("sts:GetCallerIdentity", e))?;
    Ok(owned(out.account()))
}

/// Active accounts of the Organization (id, name).
pub async fn organization_accounts(
    conf: &SdkConfig,
) -> Result<Vec<(String, String)>, ConnectorError> {
    let client = aws_sdk_organizations::Client::new(conf);
    let mut pages = client.list_accounts().into_paginator().send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| classify("organizations:ListAccounts", e))?;
        for a in page.accounts() {
            let active = a
                .status()
                .is_none_or(|s| *s == aws_sdk_organizations::types::AccountStatus::Active);
            if active {
                out.push((owned(a.id()), owned(a.name())));
            }
        }
    }
    Ok(out)
}

/// Credentials for `role_arn`, as an SDK configuration for that account.
pub async fn assume(
    conf: &SdkConfig,
    role_arn: &str,
    external_id: Option<&str>,
) -> Result<SdkConfig, ConnectorError> {
    let out = aws_sdk_sts::Client::new(conf)
        .assume_role()
        .role_arn(role_arn)
        .role_session_name("trustmap-sweep")
        .set_external_id(external_id.map(str::to_string))
        .send()
        .await
        .map_err(|e| classify(&format!("sts:AssumeRole {role_arn}"), e))?;
    let c = out.credentials().ok_or_else(|| {
        ConnectorError::new(
            ErrorKind::Data,
            format!("sts:AssumeRole {role_arn}: no credentials"),
        )
    })?;
    let creds = aws_sdk_sts::config::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "trustmap-assume-role",
    );
    Ok(conf
        .to_builder()
        .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(creds))
        .build())
}

fn inline(list: &[aws_sdk_iam::types::PolicyDetail]) -> Vec<InlinePolicy> {
    list.iter()
        .map(|p| InlinePolicy {
            policy_name: owned(p.policy_name()),
            policy_document: p.policy_document().map_or(serde_json::Value::Null, |d| {
                serde_json::Value::String(d.into())
            }),
        })
        .collect()
}

fn attached(list: &[aws_sdk_iam::types::AttachedPolicy]) -> Vec<AttachedPolicy> {
    list.iter()
        .map(|p| AttachedPolicy {
            policy_name: owned(p.policy_name()),
            policy_arn: owned(p.policy_arn()),
        })
        .collect()
}

fn tags(list: &[aws_sdk_iam::types::Tag]) -> Vec<Tag> {
    list.iter()
        .map(|t| Tag {
            key: t.key().to_string(),
            value: t.value().to_string(),
        })
        .collect()
}

/// GetAccountAuthorizationDetails, every page, into the export's shape.
pub async fn authorization_details(
    iam: &aws_sdk_iam::Client,
) -> Result<AuthorizationDetails, ConnectorError> {
    let mut d = AuthorizationDetails::default();
    let mut pages = iam
        .get_account_authorization_details()
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| classify("iam:GetAccountAuthorizationDetails", e))?;
        d.user_detail_list
            .extend(page.user_detail_list().iter().map(|u| UserDetail {
                path: owned(u.path()),
                user_name: owned(u.user_name()),
                user_id: owned(u.user_id()),
                arn: owned(u.arn()),
                create_date: date(u.create_date()),
                user_policy_list: inline(u.user_policy_list()),
                group_list: u.group_list().to_vec(),
                attached_managed_policies: attached(u.attached_managed_policies()),
                tags: tags(u.tags()),
            }));
        d.group_detail_list
            .extend(page.group_detail_list().iter().map(|g| GroupDetail {
                group_name: owned(g.group_name()),
                arn: owned(g.arn()),
                group_policy_list: inline(g.group_policy_list()),
                attached_managed_policies: attached(g.attached_managed_policies()),
            }));
        d.role_detail_list
            .extend(page.role_detail_list().iter().map(|r| {
                RoleDetail {
                    path: owned(r.path()),
                    role_name: owned(r.role_name()),
                    role_id: owned(r.role_id()),
                    arn: owned(r.arn()),
                    create_date: date(r.create_date()),
                    assume_role_policy_document: r
                        .assume_role_policy_document()
                        .map_or(serde_json::Value::Null, |d| {
                            serde_json::Value::String(d.into())
                        }),
                    role_policy_list: inline(r.role_policy_list()),
                    attached_managed_policies: attached(r.attached_managed_policies()),
                    tags: tags(r.tags()),
                    role_last_used: r.role_last_used().map(|l| RoleLastUsed {
                        last_used_date: date(l.last_used_date()),
                        region: l.region().map(str::to_string),
                    }),
                }
            }));
        d.policies.extend(page.policies().iter().map(|p| {
            ManagedPolicy {
                policy_name: owned(p.policy_name()),
                arn: owned(p.arn()),
                default_version_id: owned(p.default_version_id()),
                policy_version_list: p
                    .policy_version_list()
                    .iter()
                    .map(|v| PolicyVersion {
                        document: v.document().map_or(serde_json::Value::Null, |d| {
                            serde_json::Value::String(d.into())
                        }),
                        version_id: owned(v.version_id()),
                        is_default_version: v.is_default_version(),
                    })
                    .collect(),
            }
        }));
    }
    Ok(d)
}

/// One user's access keys with their last use. A failure is that user's gap, not the sweep's.
async fn user_keys(
    iam: &aws_sdk_iam::Client,
    user: &str,
) -> Result<Vec<AccessKey>, ConnectorError> {
    let mut keys = Vec::new();
    let mut pages = iam
        .list_access_keys()
        .user_name(user)
        .into_paginator()
        .items()
        .send();
    while let Some(k) = pages.next().await {
        let k = k.map_err(|e| classify(&format!("iam:ListAccessKeys {user}"), e))?;
        keys.push(AccessKey {
            user_name: user.to_string(),
            access_key_id: owned(k.access_key_id()),
            active: k
                .status()
                .is_some_and(|s| *s == aws_sdk_iam::types::StatusType::Active),
            created: date(k.create_date()),
            last_used: None,
            last_used_service: None,
        });
    }
    for k in &mut keys {
        let used = iam
            .get_access_key_last_used()
            .access_key_id(&k.access_key_id)
            .send()
            .await
            .map_err(|e| classify(&format!("iam:GetAccessKeyLastUsed {user}"), e))?;
        if let Some(u) = used.access_key_last_used() {
            k.last_used = date(u.last_used_date());
            k.last_used_service = Some(u.service_name().to_string()).filter(|s| s != "N/A");
        }
    }
    Ok(keys)
}

/// The credential report CSV (generated on demand; AWS may take a few seconds).
async fn credential_report(iam: &aws_sdk_iam::Client) -> Result<String, ConnectorError> {
    for _ in 0..10 {
        let g = iam
            .generate_credential_report()
            .send()
            .await
            .map_err(|e| classify("iam:GenerateCredentialReport", e))?;
        if g.state() == Some(&aws_sdk_iam::types::ReportStateType::Complete) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    let r = iam
        .get_credential_report()
        .send()
        .await
        .map_err(|e| classify("iam:GetCredentialReport", e))?;
    let bytes = r.content().map(|b| b.as_ref().to_vec()).unwrap_or_default();
    String::from_utf8(bytes).map_err(|e| {
        ConnectorError::new(
            ErrorKind::Data,
            format!("credential report is not UTF-8: {e}"),
        )
    })
}

/// Everything in one account, with the gaps met (a user whose keys could not be read, a
/// credential report refused). Fails only when the authorization details cannot be read.
pub async fn enumerate_account(
    conf: &SdkConfig,
    account: &str,
    cfg: &AwsIamConfig,
    progress: &dyn trustmap_model::Progress,
) -> Result<(AccountInventory, Vec<String>), ConnectorError> {
    let iam = aws_sdk_iam::Client::new(conf);
    let details = authorization_details(&iam).await?;
    let mut gaps = Vec::new();
    let users: Vec<String> = details
        .user_detail_list
        .iter()
        .map(|u| u.user_name.clone())
        .collect();
    progress.add_total(users.len() as u64);
    let mut access_keys = Vec::new();
    let mut results = futures::stream::iter(users)
        .map(|u| {
            let iam = iam.clone();
            async move { user_keys(&iam, &u).await }
        })
        .buffer_unordered(cfg.concurrency.max(1));
    while let Some(r) = results.next().await {
        progress.advance(1);
        match r {
            Ok(keys) => access_keys.extend(keys),
            Err(e) => gaps.push(format!("account {account}: {e}")),
        }
    }
    let mut report = Vec::new();
    if cfg.credential_report {
        match credential_report(&iam).await {
            Ok(csv) => {
                match crate::details::parse_report(std::path::Path::new("credential report"), &csv)
                {
                    Ok(rows) => report = rows,
                    Err(e) => gaps.push(format!("account {account}: {e}")),
                }
            }
            Err(e) => gaps.push(format!("account {account}: {e}")),
        }
    }
    access_keys.sort_by(|a, b| a.access_key_id.cmp(&b.access_key_id));
    let mut providers = Vec::new();
    match iam.list_open_id_connect_providers().send().await {
        Ok(o) => providers.extend(
            o.open_id_connect_provider_list()
                .iter()
                .filter_map(|p| p.arn().map(str::to_string)),
        ),
        Err(e) => gaps.push(format!(
            "account {account}: {}",
            classify("iam:ListOpenIDConnectProviders", e)
        )),
    }
    match iam.list_saml_providers().send().await {
        Ok(o) => providers.extend(
            o.saml_provider_list()
                .iter()
                .filter_map(|p| p.arn().map(str::to_string)),
        ),
        Err(e) => gaps.push(format!(
            "account {account}: {}",
            classify("iam:ListSAMLProviders", e)
        )),
    }
    Ok((
        AccountInventory {
            account: account.to_string(),
            details,
            keys_listed: true,
            access_keys,
            report,
            providers,
        },
        gaps,
    ))
}
