//! The `entra` connector: the doors into a Microsoft Entra ID tenant that outsiders hold —
//! other tenants' multi-tenant applications consented into ours (admin and user consent,
//! application permissions), our own app registrations with their secrets, certificates,
//! owners and federated identity credentials (a GitHub Actions subject is trust in that
//! repository), and managed identities. Live through Microsoft Graph v1.0, or offline from
//! the files the Azure CLI writes (`export_dir`), through the same observation code.
//!
//! It knows nothing about partners or checks: it reports identifiers (`entra_tenant:` of the
//! tenant owning an app, `entra_app:` appIds, owners' emails, repositories) and lets the
//! registry attribute them.

pub mod export;
pub mod inventory;
pub mod live;
pub mod observe;
mod token;

use async_trait::async_trait;
use serde::Deserialize;
use std::path::PathBuf;
use trustmap_connector::{
    ConfigTableError, Connector, ConnectorError, Emitter, ErrorKind, RetryPolicy, SweepContext,
};
use trustmap_model::Identifier;

pub use token::Credential;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntraConfig {
    /// The tenant swept (a GUID): its own apps and principals are internal.
    pub tenant_id: String,
    /// Requests go to `{api_url}/v1.0/...` (sovereign clouds, tests).
    #[serde(default = "default_api")]
    pub api_url: String,
    /// Environment variable holding a Graph bearer token; replaces every other credential.
    #[serde(default)]
    pub token_env: Option<String>,
    /// How to get a token without `token_env`: `client_secret` (the default with
    /// `client_id`), `client_certificate` (the default with `certificate_file`),
    /// `workload_identity`, `managed_identity` or `azure_cli` (the default).
    #[serde(default)]
    pub credential: Option<Credential>,
    #[serde(default)]
    pub client_id: Option<String>,
    /// Environment variable holding the client secret (`credential = "client_secret"`).
    #[serde(default)]
    pub client_secret_env: Option<String>,
    /// A PKCS#12 file with the certificate and its private key (`credential =
    /// "client_certificate"`, a build with the `client-certificate` feature).
    #[serde(default)]
    pub certificate_file: Option<PathBuf>,
    /// Environment variable holding the PKCS#12 file's password, if it has one.
    #[serde(default)]
    pub certificate_password_env: Option<String>,
    /// The sign-in authority (default `https://login.microsoftonline.com`).
    #[serde(default)]
    pub authority_url: Option<String>,
    /// Offline: a directory of Azure CLI output (see DESIGN.md).
    #[serde(default)]
    pub export_dir: Option<PathBuf>,
    /// Per-object calls (app role assignments, federated credentials) in flight at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Longest wait for a throttled call before it is given up (seconds).
    #[serde(default = "default_max_wait")]
    pub max_wait_seconds: u64,
}

fn default_api() -> String {
    "https://graph.microsoft.com".into()
}
fn default_concurrency() -> usize {
    8
}
fn default_max_wait() -> u64 {
    900
}

impl EntraConfig {
    fn validate(&self) -> Result<(), String> {
        let t = &self.tenant_id;
        if t.len() != 36 || !t.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
            return Err(format!(
                "tenant_id {t:?} is not a tenant id (a GUID like 0b1c2d3e-0000-4000-8000-00000000c0de)"
            ));
        }
        if self.concurrency == 0 {
            return Err("concurrency must be at least 1".into());
        }
        if self.export_dir.is_some()
            && (self.token_env.is_some() || self.credential.is_some() || self.client_id.is_some())
        {
            return Err("export_dir is offline: drop token_env, credential and client_id".into());
        }
        if !self.api_url.starts_with("https://") && !self.api_url.starts_with("http://") {
            return Err(format!("api_url {:?} is not an http(s) URL", self.api_url));
        }
        token::check(self)
    }
}

pub struct EntraConnector {
    name: String,
    cfg: EntraConfig,
}

impl EntraConnector {
    pub fn new(name: String, cfg: EntraConfig) -> Result<Self, ConfigTableError> {
        cfg.validate().map_err(ConfigTableError::Invalid)?;
        Ok(EntraConnector { name, cfg })
    }

    /// A live Graph client for this configuration (a token acquired); relative paths
    /// (`certificate_file`) resolve against `base_dir`.
    pub async fn graph(&self, base_dir: &std::path::Path) -> Result<live::Graph, ConnectorError> {
        let token = token::acquire(&self.cfg, base_dir).await?;
        let mut g = live::Graph::new(&self.cfg.api_url, token)?;
        g.concurrency = self.cfg.concurrency;
        g.policy = RetryPolicy {
            max_wait: std::time::Duration::from_secs(self.cfg.max_wait_seconds),
            ..RetryPolicy::default()
        };
        Ok(g)
    }

    /// Read the tenant, live or from the export.
    pub async fn inventory(
        &self,
        ctx: &SweepContext,
    ) -> Result<inventory::Inventory, ConnectorError> {
        match &self.cfg.export_dir {
            Some(dir) => {
                let dir = ctx.resolve(dir);
                tokio::task::spawn_blocking({
                    let tenant = self.cfg.tenant_id.clone();
                    move || export::load(&dir, &tenant)
                })
                .await
                .map_err(|e| {
                    ConnectorError::new(ErrorKind::Transient, format!("reader stopped: {e}"))
                })?
            }
            None => {
                let mut g = self.graph(&ctx.base_dir).await?;
                g.cancelled = ctx.cancelled.clone();
                g.progress = ctx.progress.clone();
                ctx.progress
                    .message("entra: listing service principals, applications and grants");
                g.inventory(&self.cfg.tenant_id).await
            }
        }
    }
}

/// `trustmap entra export`: read a tenant live and write its export directory (the files
/// `export_dir` reads, owners and federated credentials included) for an offline sweep later.
/// Returns the coverage gaps met.
pub async fn export_tenant(
    cfg: EntraConfig,
    out_dir: &std::path::Path,
) -> Result<Vec<String>, ConnectorError> {
    if cfg.export_dir.is_some() {
        return Err(ConnectorError::new(
            ErrorKind::Config,
            "export reads a live tenant: drop export_dir",
        ));
    }
    let c = EntraConnector::new("export".into(), cfg)
        .map_err(|e| ConnectorError::new(ErrorKind::Config, e.to_string()))?;
    let base = std::env::current_dir().unwrap_or_default();
    let inv = c.graph(&base).await?.inventory(&c.cfg.tenant_id).await?;
    export::write(out_dir, &inv).map_err(|e| {
        ConnectorError::new(
            ErrorKind::Config,
            format!("{}: cannot write the export: {e}", out_dir.display()),
        )
    })?;
    Ok(inv.gaps)
}

#[async_trait]
impl Connector for EntraConnector {
    fn kind(&self) -> &'static str {
        "entra"
    }
    fn name(&self) -> &str {
        &self.name
    }
    async fn run(&self, ctx: &SweepContext, out: &Emitter) -> Result<(), ConnectorError> {
        out.own(Identifier::EntraTenant(self.cfg.tenant_id.clone()));
        let inv = self.inventory(ctx).await?;
        for g in &inv.gaps {
            out.gap(g.clone());
        }
        ctx.check_cancelled()?;
        out.emit_all(observe::observations(&inv)).await
    }
}
