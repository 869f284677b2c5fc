//! Google's REST APIs through `reqwest`: IAM v1 (service accounts, keys, workload identity
//! pools and providers), Resource Manager (v3 project search; v1 `getIamPolicy`, the same
//! policy as v3's), Cloud Asset v1 `searchAllIamPolicies` (the organisation-wide view), and
//! the Admin SDK Directory v1 (the Workspace's domain, its users' OAuth tokens).
//!
//! The manners a sweep needs: `nextPageToken` paging that stops on a repeated token, quota
//! errors (429, `RESOURCE_EXHAUSTED`) waited out under the shared [`RetryPolicy`], a 403 as a
//! coverage gap naming the permission the call needs, bounded concurrency across projects and
//! accounts, and errors that name the URL, the status and Google's own error status.
use futures::{stream, StreamExt};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use trustmap_connector::text::{excerpt, shown};
use trustmap_connector::{ConnectorError, Decision, ErrorKind, RetryPolicy};
use trustmap_model::{NoProgress, Progress};

use crate::inventory::{
    Inventory, PolicyRecord, Project, Provider, ServiceAccount, ServiceAccountKey, Token,
};

/// Where each API lives (tests point them at local servers).
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub iam: String,
    pub resource_manager: String,
    pub asset: String,
    pub admin: String,
}

/// What the sweep covers.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub organization: Option<String>,
    pub projects: Vec<String>,
    pub workspace_customer: Option<String>,
}

pub struct Google {
    http: reqwest::Client,
    endpoints: Endpoints,
    token: String,
    /// The Admin SDK's own token (domain-wide delegation), if it differs.
    pub admin_token: Option<String>,
    pub policy: RetryPolicy,
    pub concurrency: usize,
    pub cancelled: Arc<AtomicBool>,
    pub progress: Arc<dyn Progress>,
    gaps: Mutex<Vec<String>>,
    requests: AtomicU64,
    throttled: AtomicU64,
}

/// A transport error with its causes (`connection refused`).
fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    trustmap_connector::text::with_causes(what, e)
}

/// A refusal as an error of its kind, with Google's `error.status` and `error.message`.
fn refused(method: &str, url: &str, status: u16, retry: Option<u64>, body: &str) -> ConnectorError {
    let parsed = serde_json::from_str::<Value>(body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let google_status = error
        .and_then(|e| e.get("status"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let text = error
        .map(|e| {
            let msg = e.get("message").and_then(Value::as_str).unwrap_or("");
            format!("{google_status}: {msg}")
        })
        .unwrap_or_else(|| excerpt(body));
    let kind = match (status, google_status) {
        (429, _) | (_, "RESOURCE_EXHAUSTED") => ErrorKind::RateLimited { retry_after: retry },
        (401, _) => ErrorKind::Auth,
        (403, _) => ErrorKind::PermissionDenied,
        (404, _) => ErrorKind::NotFound,
        (s, _) if s >= 500 => ErrorKind::Transient,
        _ => ErrorKind::Data,
    };
    ConnectorError::new(
        kind,
        format!("{method} {}: HTTP {status}: {text}", shown(url)),
    )
}

/// Percent-encoding of one path segment or query value.
fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'@') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Google {
    pub fn new(endpoints: Endpoints, token: String) -> Result<Self, ConnectorError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("trustmap/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConnectorError::new(ErrorKind::Config, format!("HTTP client: {e}")))?;
        let trim = |s: &str| s.trim_end_matches('/').to_string();
        Ok(Google {
            http,
            endpoints: Endpoints {
                iam: trim(&endpoints.iam),
                resource_manager: trim(&endpoints.resource_manager),
                asset: trim(&endpoints.asset),
                admin: trim(&endpoints.admin),
            },
            token,
            admin_token: None,
            policy: RetryPolicy::default(),
            concurrency: 8,
            cancelled: Arc::default(),
            progress: Arc::new(NoProgress),
            gaps: Mutex::new(Vec::new()),
            requests: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
        })
    }

    fn gap(&self, g: String) {
        if let Ok(mut v) = self.gaps.lock() {
            v.push(g);
        }
    }

    /// (requests made, of which throttled), for the connector's notes.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.requests.load(Ordering::Relaxed),
            self.throttled.load(Ordering::Relaxed),
        )
    }

    async fn once(&self, url: &str, body: Option<&Value>) -> Result<Value, ConnectorError> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err(ConnectorError::cancelled());
        }
        let method = if body.is_some() { "POST" } else { "GET" };
        self.requests.fetch_add(1, Ordering::Relaxed);
        let req = match body {
            Some(b) => self.http.post(url).json(b),
            None => self.http.get(url),
        };
        let admin = format!("{}/admin/", self.endpoints.admin);
        let token = match &self.admin_token {
            Some(t) if url.starts_with(&admin) => t,
            _ => &self.token,
        };
        let resp = req.bearer_auth(token).send().await.map_err(|e| {
            ConnectorError::new(
                ErrorKind::Transient,
                format!("{method} {}: {}", shown(url), describe(&e)),
            )
        })?;
        let status = resp.status().as_u16();
        let retry = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let bytes = resp.bytes().await.map_err(|e| {
            ConnectorError::new(
                ErrorKind::Transient,
                format!(
                    "{method} {}: reading the body: {}",
                    shown(url),
                    describe(&e)
                ),
            )
        })?;
        if !(200..300).contains(&status) {
            let e = refused(method, url, status, retry, &String::from_utf8_lossy(&bytes));
            if matches!(e.kind, ErrorKind::RateLimited { .. }) {
                self.throttled.fetch_add(1, Ordering::Relaxed);
            }
            return Err(e);
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Object(serde_json::Map::new()));
        }
        serde_json::from_slice::<Value>(&bytes).map_err(|e| {
            let text = String::from_utf8_lossy(&bytes);
            let what = if text.trim_start().starts_with('<') {
                "got HTML, not JSON".to_string()
            } else {
                format!("not JSON: {e}")
            };
            ConnectorError::new(
                ErrorKind::Data,
                format!(
                    "{method} {}: {what} (body starts: {:?})",
                    shown(url),
                    excerpt(&text)
                ),
            )
        })
    }

    /// One call, retried as the shared policy says.
    async fn call(&self, url: &str, body: Option<&Value>) -> Result<Value, ConnectorError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.once(url, body).await {
                Ok(v) => return Ok(v),
                Err(e) => match self.policy.decide(e.kind, attempt) {
                    Decision::Retry(wait) => tokio::time::sleep(wait).await,
                    Decision::Gap | Decision::Stop => return Err(e),
                },
            }
        }
    }

    /// Every page of a list: `field` of each page, following `nextPageToken`; a repeated
    /// token (a server that loops) stops with a gap.
    pub async fn list<T: DeserializeOwned>(
        &self,
        url: &str,
        field: &str,
    ) -> Result<Vec<T>, ConnectorError> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let sep = if url.contains('?') { '&' } else { '?' };
        let mut token: Option<String> = None;
        loop {
            let page_url = match &token {
                Some(t) => format!("{url}{sep}pageToken={}", enc(t)),
                None => url.to_string(),
            };
            let mut page = self.call(&page_url, None).await?;
            let items = page.get_mut(field).map(Value::take).unwrap_or(Value::Null);
            if !items.is_null() {
                let parsed: Vec<T> = serde_json::from_value(items).map_err(|e| {
                    ConnectorError::new(
                        ErrorKind::Data,
                        format!(
                            "GET {}: field `{field}`: not the documented JSON: {e}",
                            shown(url)
                        ),
                    )
                })?;
                out.extend(parsed);
            }
            match page
                .get("nextPageToken")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
            {
                Some(t) if !seen.insert(t.to_string()) => {
                    self.gap(format!(
                        "{}: stopped paging: the server repeated a page token",
                        shown(url)
                    ));
                    break;
                }
                Some(t) => token = Some(t.to_string()),
                None => break,
            }
        }
        Ok(out)
    }

    /// A refusal, a missing object or an unreadable answer is a coverage gap naming what the
    /// call needs; bad credentials and cancellation stop the connector.
    fn soft<T>(
        &self,
        r: Result<T, ConnectorError>,
        what: &str,
        needs: &str,
    ) -> Result<Option<T>, ConnectorError> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(e)
                if matches!(
                    e.kind,
                    ErrorKind::Auth | ErrorKind::Cancelled | ErrorKind::Config
                ) =>
            {
                Err(e)
            }
            Err(e) => {
                let hint = if e.kind == ErrorKind::PermissionDenied {
                    format!(" (needs {needs})")
                } else {
                    String::new()
                };
                self.gap(format!("{what}: {}{hint}", e.message));
                Ok(None)
            }
        }
    }

    /// [`Self::soft`] for a call that tells whether Google is there at all: an unreachable API
    /// fails the connector rather than leaving an empty sweep that looks clean.
    fn first<T>(
        &self,
        r: Result<T, ConnectorError>,
        what: &str,
        needs: &str,
    ) -> Result<Option<T>, ConnectorError> {
        match r {
            Err(e) if e.kind == ErrorKind::Transient => Err(e),
            r => self.soft(r, what, needs),
        }
    }

    /// Read the organisation or projects, and the Workspace when a customer is named.
    pub async fn inventory(&self, scope: &Scope) -> Result<Inventory, ConnectorError> {
        let mut inv = Inventory {
            organization: scope.organization.clone(),
            providers_read: true,
            ..Inventory::default()
        };
        inv.projects = self.projects(scope).await?;
        let org_policies = match &scope.organization {
            Some(org) => {
                let url = format!(
                    "{}/v1/organizations/{}:searchAllIamPolicies?pageSize=500",
                    self.endpoints.asset,
                    enc(org)
                );
                let r = self.list::<PolicyRecord>(&url, "results").await;
                self.soft(r, "organisation IAM policies", "cloudasset.assets.searchAllIamPolicies (roles/cloudasset.viewer on the organisation)")?
            }
            None => None,
        };
        let with_project_policies = org_policies.is_none();
        inv.policies = org_policies.unwrap_or_default();
        self.progress
            .message("gcp: listing service accounts, keys and workload identity pools");
        let per_project: Vec<Result<ProjectRead, ConnectorError>> =
            stream::iter(inv.projects.clone())
                .map(|p| self.project(p, with_project_policies))
                .buffered(self.concurrency.max(1))
                .collect()
                .await;
        for r in per_project {
            let r = r?;
            inv.policies.extend(r.policies);
            inv.service_accounts.extend(r.accounts);
            inv.providers.extend(r.providers);
            inv.providers_read &= r.providers_read;
        }
        inv.keys = self.keys(&inv.service_accounts).await?;
        if let Some(customer) = &scope.workspace_customer {
            let (domain, tokens) = self.workspace(customer).await?;
            inv.workspace_domain = domain;
            inv.tokens = tokens;
        }
        inv.gaps = self.gaps.lock().map(|g| g.clone()).unwrap_or_default();
        Ok(inv)
    }

    /// The projects swept: those listed, and with an organisation every active project the
    /// credential can see (Resource Manager v3 `projects.search`).
    async fn projects(&self, scope: &Scope) -> Result<Vec<Project>, ConnectorError> {
        let mut projects: Vec<Project> = scope
            .projects
            .iter()
            .map(|p| Project {
                project_id: p.clone(),
                ..Project::default()
            })
            .collect();
        if scope.organization.is_some() {
            let url = format!(
                "{}/v3/projects:search?pageSize=500",
                self.endpoints.resource_manager
            );
            let r = self.list::<Project>(&url, "projects").await;
            let found = self
                .first(
                    r,
                    "projects",
                    "resourcemanager.projects.get (roles/browser on the organisation)",
                )?
                .unwrap_or_default();
            for p in found {
                let active = p
                    .state
                    .as_deref()
                    .is_none_or(|s| s.eq_ignore_ascii_case("ACTIVE"));
                if active && !projects.iter().any(|x| x.project_id == p.project_id) {
                    projects.push(p);
                } else if let Some(x) = projects.iter_mut().find(|x| x.project_id == p.project_id) {
                    x.name = p.name;
                }
            }
        }
        Ok(projects)
    }

    async fn project(&self, p: Project, with_policy: bool) -> Result<ProjectRead, ConnectorError> {
        let id = p.project_id.clone();
        let mut read = ProjectRead {
            providers_read: true,
            ..ProjectRead::default()
        };
        if with_policy {
            let url = format!(
                "{}/v1/projects/{}:getIamPolicy",
                self.endpoints.resource_manager,
                enc(&id)
            );
            let body = serde_json::json!({"options": {"requestedPolicyVersion": 3}});
            let r = self.call(&url, Some(&body)).await;
            let what = format!("project {id}: IAM policy");
            if let Some(policy) = self.first(
                r,
                &what,
                "resourcemanager.projects.getIamPolicy (roles/iam.securityReviewer)",
            )? {
                // One project's unreadable policy is a gap; the other projects are still read.
                match serde_json::from_value(policy) {
                    Ok(policy) => read.policies.push(PolicyRecord {
                        resource: format!("//cloudresourcemanager.googleapis.com/projects/{id}"),
                        asset_type: Some("cloudresourcemanager.googleapis.com/Project".into()),
                        project: p.number().map(|n| format!("projects/{n}")),
                        policy,
                        ..PolicyRecord::default()
                    }),
                    Err(e) => self.gap(format!("{what}: not the documented JSON: {e}")),
                }
            }
        }
        let url = format!(
            "{}/v1/projects/{}/serviceAccounts?pageSize=100",
            self.endpoints.iam,
            enc(&id)
        );
        let r = self.list::<ServiceAccount>(&url, "accounts").await;
        read.accounts = self
            .soft(
                r,
                &format!("project {id}: service accounts"),
                "iam.serviceAccounts.list (roles/iam.securityReviewer)",
            )?
            .unwrap_or_default();
        self.pools(&id, &mut read).await?;
        self.progress.advance(1);
        Ok(read)
    }

    /// A project's workload identity pools and their providers (a refusal of either means
    /// whom the pools trust is not known: `providers_read` is false).
    async fn pools(&self, id: &str, read: &mut ProjectRead) -> Result<(), ConnectorError> {
        let url = format!(
            "{}/v1/projects/{}/locations/global/workloadIdentityPools?pageSize=100",
            self.endpoints.iam,
            enc(id)
        );
        let r = self.list::<Value>(&url, "workloadIdentityPools").await;
        match self.soft(
            r,
            &format!("project {id}: workload identity pools"),
            "iam.workloadIdentityPools.list (roles/iam.workloadIdentityPoolViewer)",
        )? {
            None => read.providers_read = false,
            Some(pools) => {
                for pool in pools {
                    let Some(name) = pool.get("name").and_then(Value::as_str) else {
                        continue;
                    };
                    let url = format!("{}/v1/{name}/providers?pageSize=100", self.endpoints.iam);
                    let r = self
                        .list::<Provider>(&url, "workloadIdentityPoolProviders")
                        .await;
                    match self.soft(
                        r,
                        &format!("{name}: providers"),
                        "iam.workloadIdentityPoolProviders.list",
                    )? {
                        Some(v) => read.providers.extend(v),
                        None => read.providers_read = false,
                    }
                }
            }
        }
        Ok(())
    }

    /// Each account's user-managed keys, `concurrency` accounts at a time.
    async fn keys(
        &self,
        accounts: &[ServiceAccount],
    ) -> Result<Vec<ServiceAccountKey>, ConnectorError> {
        let urls: Vec<(String, String)> = accounts
            .iter()
            .filter(|sa| !crate::observe::is_google_managed(&sa.email))
            .map(|sa| {
                (
                    sa.email.clone(),
                    format!(
                        "{}/v1/projects/{}/serviceAccounts/{}/keys?keyTypes=USER_MANAGED",
                        self.endpoints.iam,
                        enc(&sa.project()),
                        enc(&sa.email)
                    ),
                )
            })
            .collect();
        let answers: Vec<(String, Result<Vec<ServiceAccountKey>, ConnectorError>)> =
            stream::iter(urls)
                .map(|(email, url)| async move {
                    let r = self.list::<ServiceAccountKey>(&url, "keys").await;
                    (email, r)
                })
                .buffered(self.concurrency.max(1))
                .collect()
                .await;
        let mut keys = Vec::new();
        for (email, r) in answers {
            if let Some(v) =
                self.soft(r, &format!("{email}: keys"), "iam.serviceAccountKeys.list")?
            {
                keys.extend(v);
            }
        }
        Ok(keys)
    }

    /// The Workspace's primary domain and every user's OAuth tokens (Admin SDK Directory v1;
    /// a service account needs domain-wide delegation with the `admin.directory.user.security`
    /// scope for these).
    async fn workspace(
        &self,
        customer: &str,
    ) -> Result<(Option<String>, Vec<Token>), ConnectorError> {
        let base = format!("{}/admin/directory/v1", self.endpoints.admin);
        let needs = "the Admin SDK scopes admin.directory.customer.readonly, admin.directory.user.readonly and admin.directory.user.security";
        let r = self
            .call(&format!("{base}/customers/{}", enc(customer)), None)
            .await;
        let domain = self.soft(r, "workspace customer", needs)?.and_then(|c| {
            c.get("customerDomain")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
        });
        let url = format!(
            "{base}/users?customer={}&maxResults=500&projection=basic",
            enc(customer)
        );
        let r = self.list::<Value>(&url, "users").await;
        let users: Vec<String> = self
            .soft(r, "workspace users", needs)?
            .unwrap_or_default()
            .iter()
            .filter_map(|u| {
                u.get("primaryEmail")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        self.progress
            .message("gcp: reading Workspace users' OAuth grants");
        let answers: Vec<(String, Result<Vec<Token>, ConnectorError>)> = stream::iter(users)
            .map(|u| {
                let url = format!("{base}/users/{}/tokens", enc(&u));
                async move {
                    let r = self.list::<Token>(&url, "items").await;
                    (u, r)
                }
            })
            .buffered(self.concurrency.max(1))
            .collect()
            .await;
        let mut tokens = Vec::new();
        for (user, r) in answers {
            if let Some(v) = self.soft(r, &format!("workspace user {user}: tokens"), needs)? {
                tokens.extend(v.into_iter().map(|mut t| {
                    t.user_key.get_or_insert_with(|| user.clone());
                    t
                }));
            }
        }
        Ok((domain, tokens))
    }
}

#[derive(Default)]
struct ProjectRead {
    policies: Vec<PolicyRecord>,
    accounts: Vec<ServiceAccount>,
    providers: Vec<Provider>,
    providers_read: bool,
}
