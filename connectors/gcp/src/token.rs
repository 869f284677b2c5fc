//! Bearer tokens: `token_env`, else Application Default Credentials through `gcp_auth` (a
//! service-account key file named by `credentials_file` or `GOOGLE_APPLICATION_CREDENTIALS`,
//! gcloud's user credentials, the metadata server). The Admin SDK takes a second token: the
//! key file's account acting for `workspace_admin` through domain-wide delegation. Tokens
//! never appear in errors.
use trustmap_connector::{ConnectorError, ErrorKind};

use crate::GcpConfig;

/// Read-only access to every Google Cloud API the connector calls.
pub const CLOUD_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform.read-only";
/// The Directory API reads: the customer's domain, its users, their OAuth tokens.
pub const ADMIN_SCOPES: &[&str] = &[
    "https://www.googleapis.com/auth/admin.directory.customer.readonly",
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
    "https://www.googleapis.com/auth/admin.directory.user.security",
];

/// The tokens a live sweep uses: one for Google Cloud, and one for the Admin SDK when it
/// differs (domain-wide delegation).
pub struct Tokens {
    pub cloud: String,
    pub admin: Option<String>,
}

pub(crate) fn check(cfg: &GcpConfig) -> Result<(), String> {
    if cfg.token_env.is_some() || cfg.files().any() {
        return Ok(());
    }
    if cfg.workspace_admin.is_some() && cfg.credentials_file.is_none() {
        return Err("workspace_admin needs credentials_file (a service-account key with domain-wide delegation)".into());
    }
    if !cfg!(feature = "adc") {
        return Err("this build has no Application Default Credentials (cargo feature `adc`): set token_env".into());
    }
    Ok(())
}

pub(crate) async fn acquire(
    cfg: &GcpConfig,
    base_dir: &std::path::Path,
) -> Result<Tokens, ConnectorError> {
    if let Some(var) = &cfg.token_env {
        let token = trustmap_model::env::named(var).ok_or_else(|| {
            ConnectorError::new(
                ErrorKind::Auth,
                format!("environment variable {var} (token_env) is not set"),
            )
        })?;
        return Ok(Tokens {
            cloud: token,
            admin: None,
        });
    }
    adc(cfg, base_dir).await
}

#[cfg(feature = "adc")]
async fn adc(cfg: &GcpConfig, base_dir: &std::path::Path) -> Result<Tokens, ConnectorError> {
    use gcp_auth::TokenProvider;
    let auth = |m: String| ConnectorError::new(ErrorKind::Auth, m);
    let Some(file) = &cfg.credentials_file else {
        let provider = gcp_auth::provider()
            .await
            .map_err(|e| auth(format!("Application Default Credentials: {e} (set GOOGLE_APPLICATION_CREDENTIALS, run `gcloud auth application-default login`, or set token_env)")))?;
        let t = provider
            .token(&[CLOUD_SCOPE])
            .await
            .map_err(|e| auth(format!("Application Default Credentials: token: {e}")))?;
        return Ok(Tokens {
            cloud: t.as_str().to_string(),
            admin: None,
        });
    };
    let path = if file.is_absolute() {
        file.clone()
    } else {
        base_dir.join(file)
    };
    let key = || {
        gcp_auth::CustomServiceAccount::from_file(&path)
            .map_err(|e| auth(format!("{} (credentials_file): {e}", path.display())))
    };
    let cloud = key()?
        .token(&[CLOUD_SCOPE])
        .await
        .map_err(|e| auth(format!("{} (credentials_file): token: {e}", path.display())))?;
    let admin = match &cfg.workspace_admin {
        Some(subject) => Some(
            key()?
                .with_subject(subject.clone())
                .token(ADMIN_SCOPES)
                .await
                .map_err(|e| {
                    auth(format!(
                        "{} acting for {subject} (workspace_admin): token: {e}",
                        path.display()
                    ))
                })?
                .as_str()
                .to_string(),
        ),
        None => None,
    };
    Ok(Tokens {
        cloud: cloud.as_str().to_string(),
        admin,
    })
}

#[cfg(not(feature = "adc"))]
async fn adc(_cfg: &GcpConfig, _base_dir: &std::path::Path) -> Result<Tokens, ConnectorError> {
    Err(ConnectorError::new(
        ErrorKind::Config,
        "this build has no Application Default Credentials (cargo feature `adc`): set token_env",
    ))
}
