//! Graph bearer tokens: `token_env`, else `azure_identity` (client secret, workload identity,
//! managed identity, Azure CLI). The token never appears in errors.
use serde::Deserialize;
use trustmap_connector::{ConnectorError, ErrorKind};

use crate::EntraConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Credential {
    ClientSecret,
    ClientCertificate,
    WorkloadIdentity,
    ManagedIdentity,
    AzureCli,
}

impl Credential {
    fn of(cfg: &EntraConfig) -> Credential {
        cfg.credential.unwrap_or(if cfg.certificate_file.is_some() {
            Credential::ClientCertificate
        } else if cfg.client_id.is_some() {
            Credential::ClientSecret
        } else {
            Credential::AzureCli
        })
    }
}

/// The fields each credential needs, checked when sweep.toml is read.
pub(crate) fn check(cfg: &EntraConfig) -> Result<(), String> {
    if cfg.token_env.is_some() || cfg.export_dir.is_some() {
        return Ok(());
    }
    if Credential::of(cfg) == Credential::ClientSecret
        && (cfg.client_id.is_none() || cfg.client_secret_env.is_none())
    {
        return Err("credential = \"client_secret\" needs client_id and client_secret_env".into());
    }
    if Credential::of(cfg) == Credential::ClientCertificate {
        if cfg.client_id.is_none() || cfg.certificate_file.is_none() {
            return Err(
                "credential = \"client_certificate\" needs client_id and certificate_file".into(),
            );
        }
        if !cfg!(feature = "client-certificate") {
            return Err("this build has no client certificate support (cargo feature `entra-client-certificate` of trustmap-cli; it needs libssl-dev)".into());
        }
    }
    if let Some(a) = &cfg.authority_url {
        if !a.starts_with("https://") {
            return Err(format!("authority_url {a:?} must be an https URL"));
        }
    }
    if !cfg!(feature = "azure-identity") {
        return Err(
            "this build has no azure_identity (cargo feature `azure-identity`): set token_env"
                .into(),
        );
    }
    Ok(())
}

/// `{origin of api_url}/.default`: Graph's scope in whichever cloud `api_url` is.
fn scope(cfg: &EntraConfig) -> String {
    format!("{}/.default", crate::live::origin_of(&cfg.api_url))
}

pub(crate) async fn acquire(
    cfg: &EntraConfig,
    base_dir: &std::path::Path,
) -> Result<String, ConnectorError> {
    if let Some(var) = &cfg.token_env {
        return trustmap_model::env::named(var).ok_or_else(|| {
            ConnectorError::new(
                ErrorKind::Auth,
                format!("environment variable {var} (token_env) is not set"),
            )
        });
    }
    from_azure_identity(cfg, base_dir).await
}

#[cfg(feature = "azure-identity")]
async fn from_azure_identity(
    cfg: &EntraConfig,
    base_dir: &std::path::Path,
) -> Result<String, ConnectorError> {
    use azure_core::credentials::TokenCredential;
    use std::sync::Arc;
    let which = Credential::of(cfg);
    let auth = |m: String| ConnectorError::new(ErrorKind::Auth, m);
    let mut client_options = azure_core::http::ClientOptions {
        // A few quick retries: an unreachable authority should fail in seconds, not minutes.
        retry: azure_core::http::RetryOptions::fixed(azure_core::http::FixedRetryOptions {
            delay: azure_core::time::Duration::milliseconds(300),
            max_retries: 2,
            max_total_elapsed: azure_core::time::Duration::seconds(15),
        }),
        ..Default::default()
    };
    if let Some(a) = &cfg.authority_url {
        let mut custom = azure_core::cloud::CustomConfiguration::default();
        custom.authority_host = a.clone();
        client_options.cloud = Some(Arc::new(custom.into()));
    }
    let credential: Arc<dyn TokenCredential> = match which {
        Credential::ClientSecret => {
            let var = cfg.client_secret_env.clone().unwrap_or_default();
            let secret = trustmap_model::env::named(&var).ok_or_else(|| {
                auth(format!(
                    "environment variable {var} (client_secret_env) is not set"
                ))
            })?;
            azure_identity::ClientSecretCredential::new(
                &cfg.tenant_id,
                cfg.client_id.clone().unwrap_or_default(),
                secret.into(),
                Some(azure_identity::ClientSecretCredentialOptions { client_options }),
            )
            .map_err(|e| auth(format!("client secret credential: {e}")))?
        }
        Credential::ClientCertificate => certificate(cfg, base_dir, client_options)?,
        Credential::WorkloadIdentity => azure_identity::WorkloadIdentityCredential::new(Some(
            azure_identity::WorkloadIdentityCredentialOptions {
                tenant_id: Some(cfg.tenant_id.clone()),
                client_id: cfg.client_id.clone(),
                ..Default::default()
            },
        ))
        .map_err(|e| auth(format!("workload identity credential: {e}")))?,
        Credential::ManagedIdentity => azure_identity::ManagedIdentityCredential::new(None)
            .map_err(|e| auth(format!("managed identity credential: {e}")))?,
        Credential::AzureCli => azure_identity::AzureCliCredential::new(None)
            .map_err(|e| auth(format!("Azure CLI credential: {e}")))?,
    };
    let scope = scope(cfg);
    let token = credential
        .get_token(&[scope.as_str()], None)
        .await
        .map_err(|e| auth(format!("{which:?} token for {scope}: {e}")))?;
    Ok(token.token.secret().to_string())
}

/// A certificate credential from the PKCS#12 file (relative to `base_dir`).
#[cfg(feature = "client-certificate")]
fn certificate(
    cfg: &EntraConfig,
    base_dir: &std::path::Path,
    client_options: azure_core::http::ClientOptions,
) -> Result<std::sync::Arc<dyn azure_core::credentials::TokenCredential>, ConnectorError> {
    let file = cfg.certificate_file.clone().unwrap_or_default();
    let path = if file.is_absolute() {
        file
    } else {
        base_dir.join(file)
    };
    let bytes = std::fs::read(&path).map_err(|e| {
        ConnectorError::new(
            ErrorKind::Config,
            format!("certificate_file {}: {e}", path.display()),
        )
    })?;
    let password = match &cfg.certificate_password_env {
        Some(var) => Some(trustmap_model::env::named(var).ok_or_else(|| {
            ConnectorError::new(
                ErrorKind::Auth,
                format!("environment variable {var} (certificate_password_env) is not set"),
            )
        })?),
        None => None,
    };
    let credential = azure_identity::ClientCertificateCredential::new(
        cfg.tenant_id.clone(),
        cfg.client_id.clone().unwrap_or_default(),
        azure_core::credentials::SecretBytes::new(bytes),
        Some(azure_identity::ClientCertificateCredentialOptions {
            client_options,
            password: password.map(Into::into),
        }),
    )
    .map_err(|e| {
        ConnectorError::new(
            ErrorKind::Config,
            format!(
                "certificate_file {}: not a PKCS#12 certificate with its private key: {e}",
                path.display()
            ),
        )
    })?;
    Ok(credential)
}

#[cfg(all(feature = "azure-identity", not(feature = "client-certificate")))]
fn certificate(
    _cfg: &EntraConfig,
    _base_dir: &std::path::Path,
    _client_options: azure_core::http::ClientOptions,
) -> Result<std::sync::Arc<dyn azure_core::credentials::TokenCredential>, ConnectorError> {
    Err(ConnectorError::new(
        ErrorKind::Config,
        "this build has no client certificate support (cargo feature `client-certificate`)",
    ))
}

#[cfg(not(feature = "azure-identity"))]
async fn from_azure_identity(
    _cfg: &EntraConfig,
    _base_dir: &std::path::Path,
) -> Result<String, ConnectorError> {
    Err(ConnectorError::new(
        ErrorKind::Config,
        format!(
            "no token_env, and this build has no azure_identity (cargo feature `azure-identity`); scope would be {}",
            scope(_cfg)
        ),
    ))
}
