//! The `github` connector: every non-human door into a GitHub organisation and who holds it —
//! app installations (and who owns the app), SAML SSO credential authorizations (with the
//! last eight characters that tie a leaked token to its holder), fine-grained token grants,
//! deploy keys, webhooks, outside collaborators, machine users, Actions secrets' names and
//! the OIDC subject template. Live through octocrab (token or GitHub App authentication,
//! GitHub Enterprise Server via `api_url`), or from a snapshot written by
//! `trustmap github export`, through the same observation code.
//!
//! It knows nothing about partners or checks: it reports identifiers (app owner, user login,
//! webhook host) and lets the registry attribute them.

pub mod api;
pub mod clone;
pub mod inventory;
pub mod observe;

use async_trait::async_trait;
use futures::StreamExt;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Mutex;
use tokio::sync::mpsc;
use trustmap_connector::{
    ConfigTableError, Connector, ConnectorError, Decision, Emitter, ErrorKind, RetryPolicy,
    SweepContext,
};
use trustmap_model::Identifier;

use api::{Api, ApiError};
use inventory::{
    Account, App, Collaborator, CredentialAuthorization, DeployKey, Hook, InstallationList,
    Inventory, OidcSubject, PatGrant, Repository, SecretList, VariableList,
};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubConfig {
    /// The organisation (not needed with `snapshot_file`, which names it).
    #[serde(default)]
    pub org: Option<String>,
    #[serde(default = "default_api")]
    pub api_url: String,
    /// Environment variable holding a token (classic PAT with `read:org`, `repo`,
    /// `admin:org_hook`, or a fine-grained token).
    #[serde(default = "default_token_env")]
    pub token_env: String,
    /// GitHub App authentication (needed for fine-grained token grants): the app's id, its
    /// private key (PEM) and, optionally, the installation (default: the org's installation).
    #[serde(default)]
    pub app_id: Option<u64>,
    #[serde(default)]
    pub private_key_file: Option<PathBuf>,
    #[serde(default)]
    pub installation_id: Option<u64>,
    /// Offline: the JSON `trustmap github export` wrote.
    #[serde(default)]
    pub snapshot_file: Option<PathBuf>,
    /// Repositories enumerated at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Member logins that are machine users (globs: `*-bot`, `svc-*`).
    #[serde(default)]
    pub machine_users: Vec<String>,
    /// Longest wait for a rate limit before a call is given up (seconds).
    #[serde(default = "default_max_wait")]
    pub max_wait_seconds: u64,
    /// Clone each repository and scan its content for secrets.
    #[serde(default)]
    pub scan_repos: bool,
    /// With `scan_repos`: every commit (full clones) rather than the working tree (shallow).
    #[serde(default)]
    pub history: bool,
    /// With `scan_repos`: where clones are kept between sweeps (default
    /// `.trustmap-cache/github/ORG` beside sweep.toml).
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
}

fn default_api() -> String {
    "https://api.github.com".into()
}
fn default_token_env() -> String {
    "GITHUB_TOKEN".into()
}
fn default_concurrency() -> usize {
    8
}
fn default_max_wait() -> u64 {
    900
}

impl GithubConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.org.is_none() && self.snapshot_file.is_none() {
            return Err("set org (live) or snapshot_file (offline)".into());
        }
        if self.app_id.is_some() != self.private_key_file.is_some() {
            return Err("GitHub App authentication needs both app_id and private_key_file".into());
        }
        if (self.history || self.cache_dir.is_some()) && !self.scan_repos {
            return Err("history and cache_dir apply to scan_repos = true".into());
        }
        if self.scan_repos && self.snapshot_file.is_some() {
            return Err("scan_repos needs a live org, not snapshot_file".into());
        }
        if self.concurrency == 0 {
            return Err("concurrency must be at least 1".into());
        }
        for p in &self.machine_users {
            globset::Glob::new(p).map_err(|e| format!("machine_users: {p:?}: {e}"))?;
        }
        Ok(())
    }
}

/// Gaps met while enumerating, shared by concurrent repository tasks.
#[derive(Default)]
pub struct Gaps(Mutex<Vec<String>>);

impl Gaps {
    pub fn add(&self, g: String) {
        if let Ok(mut v) = self.0.lock() {
            v.push(g);
        }
    }
    pub fn take(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }
}

/// A call whose retries are spent, as the shared policy sees it: a refused or unreadable
/// endpoint is a coverage gap; bad credentials (or a stop asked for) end the connector.
fn soft<T: Default>(r: Result<T, ApiError>, what: &str, gaps: &Gaps) -> Result<T, ConnectorError> {
    match r {
        Ok(v) => Ok(v),
        Err(e) => match RetryPolicy::default().decide(e.error.kind, u32::MAX) {
            Decision::Stop => Err(e.error),
            Decision::Gap | Decision::Retry(_) => {
                gaps.add(format!("{what}: {}", e.error.message));
                Ok(T::default())
            }
        },
    }
}

/// Build the octocrab client: GitHub App installation token or a token from the environment.
pub async fn client(
    cfg: &GithubConfig,
    base_dir: &std::path::Path,
    org: &str,
) -> Result<Api, ConnectorError> {
    let config_err = |m: String| ConnectorError::new(ErrorKind::Config, m);
    let builder = octocrab::Octocrab::builder()
        .base_uri(cfg.api_url.as_str())
        .map_err(|e| config_err(format!("api_url {:?}: {e}", cfg.api_url)))?
        .add_retry_config(octocrab::service::middleware::retry::RetryConfig::None);
    let (client, token) = match (cfg.app_id, &cfg.private_key_file) {
        (Some(app_id), Some(key_file)) => {
            let path = if key_file.is_absolute() {
                key_file.clone()
            } else {
                base_dir.join(key_file)
            };
            let pem = std::fs::read(&path)
                .map_err(|e| config_err(format!("private_key_file {}: {e}", path.display())))?;
            let key = octocrab::EncodingKey::from_rsa_pem(&pem).map_err(|e| {
                config_err(format!(
                    "private_key_file {}: not an RSA private key in PEM: {e}",
                    path.display()
                ))
            })?;
            let app = builder
                .app(app_id.into(), key)
                .build()
                .map_err(|e| config_err(format!("GitHub App client: {e}")))?;
            let installation = match cfg.installation_id {
                Some(id) => id,
                None => {
                    let i = app.apps().get_org_installation(org).await.map_err(|e| {
                        ConnectorError::new(
                            ErrorKind::Auth,
                            format!("GitHub App {app_id}: no installation on {org}: {e}"),
                        )
                    })?;
                    i.id.0
                }
            };
            let (client, token) = app
                .installation_and_token(installation.into())
                .await
                .map_err(|e| {
                    ConnectorError::new(
                        ErrorKind::Auth,
                        format!("GitHub App {app_id}: installation token: {e}"),
                    )
                })?;
            use octocrab::secrecy::ExposeSecret as _;
            (client, token.expose_secret().to_string())
        }
        _ => {
            let token = trustmap_model::env::named(&cfg.token_env).ok_or_else(|| {
                ConnectorError::new(
                    ErrorKind::Auth,
                    format!(
                        "environment variable {} (token_env) is not set",
                        cfg.token_env
                    ),
                )
            })?;
            let client = builder
                .personal_token(token.clone())
                .build()
                .map_err(|e| config_err(format!("GitHub client: {e}")))?;
            (client, token)
        }
    };
    let mut api = Api::new(client, &cfg.api_url);
    api.token = Some(token);
    api.max_wait = std::time::Duration::from_secs(cfg.max_wait_seconds);
    Ok(api)
}

/// Enumerate one repository's doors; each refused endpoint is a gap, the rest is kept.
async fn repository(
    api: &Api,
    org: &str,
    mut repo: Repository,
    gaps: &Gaps,
) -> Result<Repository, ConnectorError> {
    let full = if repo.full_name.is_empty() {
        format!("{org}/{}", repo.name)
    } else {
        repo.full_name.clone()
    };
    repo.deploy_keys = soft(
        api.list::<DeployKey>(&format!("/repos/{full}/keys")).await,
        &format!("{full}: deploy keys"),
        gaps,
    )?;
    repo.hooks = soft(
        api.list::<Hook>(&format!("/repos/{full}/hooks")).await,
        &format!("{full}: webhooks"),
        gaps,
    )?;
    repo.outside_collaborators = soft(
        api.list::<Collaborator>(&format!("/repos/{full}/collaborators?affiliation=outside"))
            .await,
        &format!("{full}: outside collaborators"),
        gaps,
    )?;
    let secrets = api
        .get::<SecretList>(&format!("/repos/{full}/actions/secrets"))
        .await
        .map(|s| s.secrets);
    repo.actions_secrets = soft(secrets, &format!("{full}: Actions secrets"), gaps)?;
    Ok(repo)
}

/// Every repository of the org as a stream, fetching the next page when it is needed.
fn repositories<'a>(
    api: &'a Api,
    first: Option<String>,
    progress: &'a dyn trustmap_model::Progress,
) -> impl futures::Stream<Item = Result<Repository, ApiError>> + Send + 'a {
    futures::stream::unfold(first, move |next| async move {
        let url = next?;
        match api.get_page::<Vec<Repository>>(&url).await {
            Ok((page, n)) => {
                progress.add_total(page.len() as u64);
                Some((page.into_iter().map(Ok).collect::<Vec<_>>(), n))
            }
            Err(e) => Some((vec![Err(e)], None)),
        }
    })
    .flat_map(futures::stream::iter)
}

async fn one_repository(
    api: &Api,
    org: &str,
    repo: Result<Repository, ApiError>,
    gaps: &Gaps,
) -> Result<Repository, ConnectorError> {
    repository(api, org, repo?, gaps).await
}

/// The organisation's app installations, each with the app (and so its owner) looked up
/// once per distinct app, concurrently.
async fn installations(
    api: &Api,
    cfg: &GithubConfig,
    org: &str,
    gaps: &Gaps,
) -> Result<Vec<inventory::Installation>, ConnectorError> {
    let mut installations = Vec::new();
    let mut next = Some(api.url(&format!("/orgs/{org}/installations?per_page=100")));
    while let Some(url) = next {
        match api.get_page::<InstallationList>(&url).await {
            Ok((page, n)) => {
                installations.extend(page.installations);
                next = n;
            }
            Err(e) => {
                soft::<()>(Err(e), "app installations", gaps)?;
                next = None;
            }
        }
    }
    // Who owns each app: one lookup per distinct app, concurrently.
    let slugs: std::collections::BTreeSet<String> =
        installations.iter().map(|i| i.app_slug.clone()).collect();
    let mut lookups = futures::stream::iter(slugs)
        .map(|slug| async move {
            let app = api.get::<App>(&format!("/apps/{slug}")).await;
            (slug, app)
        })
        .buffer_unordered(cfg.concurrency);
    let mut apps: std::collections::HashMap<String, App> = Default::default();
    while let Some((slug, app)) = lookups.next().await {
        if let Some(app) = soft(app.map(Some), &format!("app {slug}"), gaps)? {
            apps.insert(slug, app);
        }
    }
    for inst in &mut installations {
        inst.app = apps.get(&inst.app_slug).cloned();
    }
    Ok(installations)
}

/// Members whose logins match `machine_users` (none asked: none listed).
async fn machine_users(
    api: &Api,
    cfg: &GithubConfig,
    org: &str,
    gaps: &Gaps,
) -> Result<Vec<Account>, ConnectorError> {
    if cfg.machine_users.is_empty() {
        return Ok(Vec::new());
    }
    let mut b = globset::GlobSetBuilder::new();
    for p in &cfg.machine_users {
        if let Ok(g) = globset::Glob::new(p) {
            b.add(g);
        }
    }
    let set = b.build().unwrap_or_else(|_| globset::GlobSet::empty());
    let members = soft(
        api.list::<Account>(&format!("/orgs/{org}/members")).await,
        "members",
        gaps,
    )?;
    Ok(members
        .into_iter()
        .filter(|m| set.is_match(&m.login))
        .collect())
}

/// The organisation-wide part (installations, tokens, hooks, secrets) as a work unit of a
/// sharded sweep; each repository is a unit of its own ([`repository_unit`]).
pub fn org_unit(org: &str) -> String {
    format!("github_org:{org}")
}

pub fn repository_unit(full_name: &str) -> String {
    format!("github_repo:{full_name}")
}

/// Enumerate the organisation. Repositories go to `repos` as they are completed, page by page,
/// so a 10,000-repository org is never held in memory at once; the rest is returned. With a
/// `slice` (a sharded sweep), only its units: the organisation-wide part when
/// [`org_unit`] falls in it, and its repositories.
pub async fn enumerate(
    api: &Api,
    cfg: &GithubConfig,
    org: &str,
    gaps: &Gaps,
    progress: &dyn trustmap_model::Progress,
    repos: mpsc::Sender<Repository>,
    slice: Option<trustmap_connector::Slice>,
) -> Result<Inventory, ConnectorError> {
    let mut inv = Inventory {
        org: org.to_string(),
        exported_at: Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        ..Inventory::default()
    };
    if slice.is_none_or(|s| s.takes(&org_unit(org))) {
        org_wide(api, cfg, org, gaps, progress, &mut inv).await?;
    }
    progress.message(&format!("github {org}: repositories"));
    // Pages are fetched as the workers need more repositories, not after a page is finished,
    // so no page boundary leaves workers idle; at most one page waits in memory.
    let first = Some(api.url(&format!("/orgs/{org}/repos?type=all&per_page=100")));
    let work = repositories(api, first, progress).filter(move |r| {
        let taken = match (r, slice) {
            (Ok(r), Some(s)) => s.takes(&repository_unit(&full_name(org, r))),
            _ => true,
        };
        if !taken {
            progress.advance(1); // another shard's: counted, not fetched
        }
        futures::future::ready(taken)
    });
    let mut done = Box::pin(
        work.map(|r| one_repository(api, org, r, gaps))
            .buffer_unordered(cfg.concurrency),
    );
    while let Some(r) = done.next().await {
        progress.advance(1);
        if repos.send(r?).await.is_err() {
            return Err(ConnectorError::new(
                ErrorKind::Transient,
                "the sweep stopped receiving repositories",
            ));
        }
    }
    Ok(inv)
}

/// `ORG/NAME` of a repository (its `full_name`, else made from the org).
fn full_name(org: &str, r: &Repository) -> String {
    if r.full_name.is_empty() {
        format!("{org}/{}", r.name)
    } else {
        r.full_name.clone()
    }
}

/// Everything of the organisation that is not a repository's.
async fn org_wide(
    api: &Api,
    cfg: &GithubConfig,
    org: &str,
    gaps: &Gaps,
    progress: &dyn trustmap_model::Progress,
    inv: &mut Inventory,
) -> Result<(), ConnectorError> {
    progress.message(&format!("github {org}: installations"));
    inv.installations = installations(api, cfg, org, gaps).await?;
    inv.credential_authorizations = soft(
        api.list::<CredentialAuthorization>(&format!("/orgs/{org}/credential-authorizations"))
            .await,
        "SAML SSO credential authorizations (GitHub Enterprise Cloud with SAML only)",
        gaps,
    )?;
    inv.personal_access_tokens = soft(
        api.list::<PatGrant>(&format!("/orgs/{org}/personal-access-tokens"))
            .await,
        "fine-grained token grants (need GitHub App authentication)",
        gaps,
    )?;
    inv.personal_access_token_requests = soft(
        api.list::<PatGrant>(&format!("/orgs/{org}/personal-access-token-requests"))
            .await,
        "fine-grained token requests (need GitHub App authentication)",
        gaps,
    )?;
    inv.hooks = soft(
        api.list::<Hook>(&format!("/orgs/{org}/hooks")).await,
        "organisation webhooks",
        gaps,
    )?;
    inv.machine_users = machine_users(api, cfg, org, gaps).await?;
    inv.actions_secrets = soft(
        api.get::<SecretList>(&format!("/orgs/{org}/actions/secrets?per_page=100"))
            .await
            .map(|s| s.secrets),
        "organisation Actions secrets",
        gaps,
    )?;
    inv.actions_variables = soft(
        api.get::<VariableList>(&format!("/orgs/{org}/actions/variables?per_page=30"))
            .await
            .map(|s| s.variables),
        "organisation Actions variables",
        gaps,
    )?;
    inv.oidc_subject = soft(
        api.get::<OidcSubject>(&format!("/orgs/{org}/actions/oidc/customization/sub"))
            .await
            .map(Some),
        "Actions OIDC subject template",
        gaps,
    )?;
    Ok(())
}

/// Enumerate everything into one inventory (for `trustmap github export`).
/// What `trustmap github export` asks for.
pub struct ExportRequest {
    pub org: String,
    pub api_url: String,
    pub token_env: String,
    pub machine_users: Vec<String>,
}

/// `trustmap github export`: enumerate the organisation with the connector's defaults for
/// everything not asked.
pub async fn export_org(
    req: ExportRequest,
    base_dir: &std::path::Path,
) -> Result<Inventory, ConnectorError> {
    let mut table = toml::Table::new();
    table.insert("org".into(), req.org.into());
    table.insert("api_url".into(), req.api_url.into());
    table.insert("token_env".into(), req.token_env.into());
    table.insert(
        "machine_users".into(),
        toml::Value::Array(
            req.machine_users
                .into_iter()
                .map(toml::Value::String)
                .collect(),
        ),
    );
    let config: GithubConfig = trustmap_connector::parse_config(table)
        .map_err(|e| ConnectorError::new(ErrorKind::Config, e.to_string()))?;
    config
        .validate()
        .map_err(|m| ConnectorError::new(ErrorKind::Config, m))?;
    export(&config, base_dir).await
}

pub async fn export(
    cfg: &GithubConfig,
    base_dir: &std::path::Path,
) -> Result<Inventory, ConnectorError> {
    let org = cfg
        .org
        .clone()
        .ok_or_else(|| ConnectorError::new(ErrorKind::Config, "no org given"))?;
    let api = client(cfg, base_dir, &org).await?;
    let gaps = Gaps::default();
    let (tx, mut rx) = mpsc::channel(256);
    let collect = async {
        let mut v = Vec::new();
        while let Some(r) = rx.recv().await {
            v.push(r);
        }
        v
    };
    let (inv, repos) = tokio::join!(
        enumerate(
            &api,
            cfg,
            &org,
            &gaps,
            &trustmap_model::NoProgress,
            tx,
            None
        ),
        collect
    );
    let mut inv = inv?;
    inv.repositories = repos;
    inv.repositories.sort_by(|a, b| a.name.cmp(&b.name));
    inv.gaps = gaps.take();
    Ok(inv)
}

pub struct GithubConnector {
    name: String,
    config: GithubConfig,
}

impl GithubConnector {
    pub fn new(name: String, config: GithubConfig) -> Result<Self, ConfigTableError> {
        config.validate().map_err(ConfigTableError::Invalid)?;
        Ok(GithubConnector { name, config })
    }

    async fn snapshot(
        &self,
        ctx: &SweepContext,
        file: &std::path::Path,
        out: &Emitter,
    ) -> Result<(), ConnectorError> {
        let path = ctx.resolve(file);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            ConnectorError::new(
                ErrorKind::Config,
                format!("{}: cannot read: {e}", path.display()),
            )
        })?;
        let inv: Inventory = serde_json::from_str(&text).map_err(|e| {
            ConnectorError::new(
                ErrorKind::Data,
                format!(
                    "{}:{}:{}: not a GitHub snapshot: {e}",
                    path.display(),
                    e.line(),
                    e.column()
                ),
            )
        })?;
        let source = path.display().to_string();
        out.own(Identifier::GithubOrg(inv.org.clone()));
        for g in &inv.gaps {
            out.gap(format!("snapshot: {g}"));
        }
        out.emit_all(observe::org_observations(&inv, &source))
            .await?;
        for r in &inv.repositories {
            out.emit_all(observe::repo_observations(&inv.org, r, &source))
                .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl Connector for GithubConnector {
    fn kind(&self) -> &'static str {
        "github"
    }

    fn name(&self) -> &str {
        &self.name
    }

    async fn run(&self, ctx: &SweepContext, out: &Emitter) -> Result<(), ConnectorError> {
        if let Some(file) = &self.config.snapshot_file {
            return self.snapshot(ctx, file, out).await;
        }
        let org = self.config.org.clone().unwrap_or_default();
        out.own(Identifier::GithubOrg(org.clone()));
        let api = client(&self.config, &ctx.base_dir, &org).await?;
        let gaps = Gaps::default();
        let source = format!("{} org {org}", self.config.api_url);
        let (tx, mut rx) = mpsc::channel::<Repository>(64);
        let cache = self.config.cache_dir.as_ref().map_or_else(
            || ctx.base_dir.join(".trustmap-cache/github").join(&org),
            |c| ctx.resolve(c),
        );
        let consume = async {
            while let Some(r) = rx.recv().await {
                out.emit_all(observe::repo_observations(&org, &r, &source))
                    .await?;
                if !self.config.scan_repos {
                    continue;
                }
                let full = full_name(&org, &r);
                let Some(url) = r.clone_url.as_deref() else {
                    out.gap(format!("{full}: no clone_url, content not scanned"));
                    continue;
                };
                let auth = clone::auth_header(&self.config.api_url, url, api.token.as_deref());
                // A repository that cannot be cloned or read is a gap; the others are scanned.
                if let Err(e) =
                    clone::scan(ctx, out, &cache, &full, url, self.config.history, auth).await
                {
                    out.gap(format!("{full}: content not scanned: {}", e.message));
                }
            }
            Ok::<(), ConnectorError>(())
        };
        let (inv, consumed) = tokio::join!(
            enumerate(
                &api,
                &self.config,
                &org,
                &gaps,
                ctx.progress.as_ref(),
                tx,
                ctx.slice
            ),
            consume
        );
        for g in gaps.take() {
            out.gap(g);
        }
        out.note(api.usage());
        let inv = inv?;
        consumed?;
        if !ctx.takes(&org_unit(&org)) {
            return Ok(()); // another shard reports the organisation-wide part
        }
        out.emit_all(observe::org_observations(&inv, &source)).await
    }

    /// A live organisation's repositories (and its organisation-wide part) are work units.
    fn splits_into_units(&self) -> bool {
        self.config.snapshot_file.is_none()
    }
}
