//! The `gcp` connector: the doors into Google Cloud and Google Workspace that outsiders hold —
//! IAM bindings at organisation, folder, project and resource level to members outside the
//! estate (other domains' users and groups, other projects' service accounts, workload
//! identities, the public), our service accounts with their user-managed keys and who can
//! impersonate them, workload identity pools and what their providers trust (a GitHub
//! repository, an OIDC issuer, an AWS account), and Workspace users' grants to third-party
//! OAuth apps. Live through Google's REST APIs, or offline from the files gcloud writes,
//! through the same observation code.
//!
//! It knows nothing about partners or checks: it reports identifiers (`gcp_project:` of
//! another project's account, members' emails and domains, `oauth_client:` ids, repositories
//! and AWS accounts trusted through federation) and lets the registry attribute them.

pub mod export;
pub mod inventory;
pub mod live;
pub mod observe;
mod token;

use async_trait::async_trait;
use serde::Deserialize;
use std::path::PathBuf;
use trustmap_connector::{
    ConfigTableError, Connector, ConnectorError, Emitter, RetryPolicy, SweepContext,
};
use trustmap_model::Identifier;

pub use token::{ADMIN_SCOPES, CLOUD_SCOPE};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GcpConfig {
    /// The organisation swept (its numeric id): Cloud Asset's organisation-wide IAM view, and
    /// every project the credential can see.
    #[serde(default)]
    pub organization: Option<String>,
    /// Projects swept (ids); with `organization`, added to what it finds.
    #[serde(default)]
    pub projects: Vec<String>,
    #[serde(default = "default_iam")]
    pub iam_url: String,
    #[serde(default = "default_resource_manager")]
    pub resource_manager_url: String,
    #[serde(default = "default_asset")]
    pub asset_url: String,
    #[serde(default = "default_admin")]
    pub admin_url: String,
    /// Environment variable holding a bearer token; replaces Application Default Credentials.
    #[serde(default)]
    pub token_env: Option<String>,
    /// A service-account key file (else GOOGLE_APPLICATION_CREDENTIALS, gcloud, metadata).
    #[serde(default)]
    pub credentials_file: Option<PathBuf>,
    /// Also read Workspace users' OAuth grants (`my_customer`, or a customer id).
    #[serde(default)]
    pub workspace_customer: Option<String>,
    /// The Workspace admin the key file's account acts for (domain-wide delegation).
    #[serde(default)]
    pub workspace_admin: Option<String>,
    /// Offline: the Workspace's domain (its users and groups are staff), when the export
    /// cannot say; `[sweep] internal = ["domain:..."]` does the same for every connector.
    #[serde(default)]
    pub workspace_domain: Option<String>,
    #[serde(default)]
    pub iam_policies_file: Option<PathBuf>,
    #[serde(default)]
    pub service_accounts_file: Option<PathBuf>,
    #[serde(default)]
    pub service_account_keys_file: Option<PathBuf>,
    #[serde(default)]
    pub oauth_tokens_file: Option<PathBuf>,
    #[serde(default)]
    pub workload_identity_providers_file: Option<PathBuf>,
    /// Projects (and accounts, and users) read at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Longest wait for a throttled call before it is given up (seconds).
    #[serde(default = "default_max_wait")]
    pub max_wait_seconds: u64,
}

fn default_iam() -> String {
    "https://iam.googleapis.com".into()
}
fn default_resource_manager() -> String {
    "https://cloudresourcemanager.googleapis.com".into()
}
fn default_asset() -> String {
    "https://cloudasset.googleapis.com".into()
}
fn default_admin() -> String {
    "https://admin.googleapis.com".into()
}
fn default_concurrency() -> usize {
    8
}
fn default_max_wait() -> u64 {
    900
}

impl GcpConfig {
    pub fn files(&self) -> export::Files {
        export::Files {
            iam_policies: self.iam_policies_file.clone(),
            service_accounts: self.service_accounts_file.clone(),
            service_account_keys: self.service_account_keys_file.clone(),
            oauth_tokens: self.oauth_tokens_file.clone(),
            workload_identity_providers: self.workload_identity_providers_file.clone(),
        }
    }

    fn validate(&self) -> Result<(), String> {
        if let Some(o) = &self.organization {
            if o.is_empty() || !o.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "organization {o:?} is not an organisation id (digits, as `gcloud organizations list` shows)"
                ));
            }
        }
        if self.organization.is_none() && self.projects.is_empty() && !self.files().any() {
            return Err("name an organization or projects (or the offline files)".into());
        }
        if self.concurrency == 0 {
            return Err("concurrency must be at least 1".into());
        }
        if self.files().any() && (self.token_env.is_some() || self.credentials_file.is_some()) {
            return Err(
                "the *_file settings are offline: drop token_env and credentials_file".into(),
            );
        }
        for (field, url) in [
            ("iam_url", &self.iam_url),
            ("resource_manager_url", &self.resource_manager_url),
            ("asset_url", &self.asset_url),
            ("admin_url", &self.admin_url),
        ] {
            if !url.starts_with("https://") && !url.starts_with("http://") {
                return Err(format!("{field} {url:?} is not an http(s) URL"));
            }
        }
        token::check(self)
    }
}

pub struct GcpConnector {
    name: String,
    cfg: GcpConfig,
}

impl GcpConnector {
    pub fn new(name: String, cfg: GcpConfig) -> Result<Self, ConfigTableError> {
        cfg.validate().map_err(ConfigTableError::Invalid)?;
        Ok(GcpConnector { name, cfg })
    }

    /// A live client for this configuration (tokens acquired); a relative `credentials_file`
    /// resolves against `base_dir`.
    pub async fn client(&self, base_dir: &std::path::Path) -> Result<live::Google, ConnectorError> {
        let tokens = token::acquire(&self.cfg, base_dir).await?;
        let mut g = live::Google::new(
            live::Endpoints {
                iam: self.cfg.iam_url.clone(),
                resource_manager: self.cfg.resource_manager_url.clone(),
                asset: self.cfg.asset_url.clone(),
                admin: self.cfg.admin_url.clone(),
            },
            tokens.cloud,
        )?;
        g.admin_token = tokens.admin;
        g.concurrency = self.cfg.concurrency;
        g.policy = RetryPolicy {
            max_wait: std::time::Duration::from_secs(self.cfg.max_wait_seconds),
            ..RetryPolicy::default()
        };
        Ok(g)
    }

    /// Read the estate, live or from the offline files.
    pub async fn inventory(
        &self,
        ctx: &SweepContext,
        out: &Emitter,
    ) -> Result<inventory::Inventory, ConnectorError> {
        let files = self.cfg.files();
        if files.any() {
            let resolve = |p: &Option<PathBuf>| p.as_ref().map(|p| ctx.resolve(p));
            let files = export::Files {
                iam_policies: resolve(&files.iam_policies),
                service_accounts: resolve(&files.service_accounts),
                service_account_keys: resolve(&files.service_account_keys),
                oauth_tokens: resolve(&files.oauth_tokens),
                workload_identity_providers: resolve(&files.workload_identity_providers),
            };
            let cfg = self.cfg.clone();
            return ctx
                .blocking(move |_, _| {
                    export::load(
                        &files,
                        cfg.organization.as_deref(),
                        &cfg.projects,
                        cfg.workspace_domain.as_deref(),
                    )
                })
                .await;
        }
        let mut g = self.client(&ctx.base_dir).await?;
        g.cancelled = ctx.cancelled.clone();
        g.progress = ctx.progress.clone();
        ctx.progress
            .message("gcp: listing projects and IAM policies");
        let inv = g
            .inventory(&live::Scope {
                organization: self.cfg.organization.clone(),
                projects: self.cfg.projects.clone(),
                workspace_customer: self.cfg.workspace_customer.clone(),
            })
            .await;
        let (requests, throttled) = g.counts();
        out.note(format!("{requests} requests, {throttled} throttled"));
        let mut inv = inv?;
        if inv.workspace_domain.is_none() {
            inv.workspace_domain = self.cfg.workspace_domain.clone();
        }
        Ok(inv)
    }
}

#[async_trait]
impl Connector for GcpConnector {
    fn kind(&self) -> &'static str {
        "gcp"
    }
    fn name(&self) -> &str {
        &self.name
    }
    async fn run(&self, ctx: &SweepContext, out: &Emitter) -> Result<(), ConnectorError> {
        for p in &self.cfg.projects {
            out.own(Identifier::GcpProject(p.clone()));
        }
        let inv = self.inventory(ctx, out).await?;
        for p in &inv.projects {
            out.own(Identifier::GcpProject(p.project_id.clone()));
            if let Some(n) = p.number() {
                out.own(Identifier::GcpProject(n.to_string()));
            }
        }
        if let Some(d) = &inv.workspace_domain {
            out.own(Identifier::Domain(d.clone()));
        }
        for g in &inv.gaps {
            out.gap(g.clone());
        }
        ctx.check_cancelled()?;
        let mut inv = inv;
        let (obs, gaps) = observe::observe_taking_policies(&mut inv);
        for g in gaps {
            out.gap(g);
        }
        out.emit_all(obs).await?;
        out.emit_all(observe::key_observations(&inv)).await
    }
}
