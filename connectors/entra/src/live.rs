//! Microsoft Graph v1.0 through `reqwest`, with the manners a sweep needs: `@odata.nextLink`
//! paging that follows only links on the configured host and stops on a repeated one,
//! `$select` of the fields used, throttling (429, and 503 with `Retry-After`) waited out under
//! the shared [`RetryPolicy`], bounded concurrency for per-object calls, and errors that name
//! the URL, the status, Graph's own error code and the permission a refusal wants.
use futures::{stream, StreamExt};
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use trustmap_connector::text::{excerpt, shown};
use trustmap_connector::{ConnectorError, Decision, ErrorKind, RetryPolicy};
use trustmap_model::{NoProgress, Progress};

use crate::inventory::{
    AppRoleAssignment, Application, FederatedCredential, Inventory, Page, PermissionGrant,
    ServicePrincipal,
};

const SP_SELECT: &str = "id,appId,displayName,appOwnerOrganizationId,accountEnabled,servicePrincipalType,verifiedPublisher,appRoles,passwordCredentials,keyCredentials";
const APP_SELECT: &str =
    "id,appId,displayName,createdDateTime,signInAudience,passwordCredentials,keyCredentials";
/// Plain `owners`: Graph's description lists the navigation properties `$expand` may name and
/// a nested `$select` is not among them.
const OWNER_EXPAND: &str = "owners";

/// The Graph application permission each collection needs (named in a 403's gap).
const SP_PERMISSION: &str = "Application.Read.All";
const GRANT_PERMISSION: &str = "DelegatedPermissionGrant.Read.All (or Directory.Read.All)";

/// A per-object call, by the object's id.
enum Call {
    Assignments(String),
    Federated(String),
}

enum Answer {
    Assignments(String, Result<Vec<AppRoleAssignment>, ConnectorError>),
    Federated(String, Result<Vec<FederatedCredential>, ConnectorError>),
}

pub struct Graph {
    http: reqwest::Client,
    /// `{api_url}/v1.0`.
    base: String,
    /// Scheme and authority of `api_url`: the only place paging links may lead.
    origin: String,
    token: String,
    pub policy: RetryPolicy,
    pub concurrency: usize,
    /// Set when the sweep is asked to stop: no further request is made.
    pub cancelled: Arc<AtomicBool>,
    /// Where the per-object calls report progress (one unit per call).
    pub progress: Arc<dyn Progress>,
    gaps: Mutex<Vec<String>>,
}

/// The origin (`https://host:port`) of a URL, lowercased.
pub fn origin_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        authority.to_ascii_lowercase()
    )
}

/// A transport error with its causes (`connection refused`), not just "error sending request".
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

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// A refusal as an error of its kind, with Graph's `error.code` and `error.message`.
fn refused(url: &str, status: u16, retry: Option<u64>, body: &str) -> ConnectorError {
    let graph_error = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            let e = v.get("error")?;
            let code = e.get("code").and_then(|c| c.as_str()).unwrap_or("");
            let msg = e.get("message").and_then(|m| m.as_str()).unwrap_or("");
            Some(format!("{code}: {msg}"))
        })
        .unwrap_or_else(|| excerpt(body));
    let kind = match status {
        401 => ErrorKind::Auth,
        403 => ErrorKind::PermissionDenied,
        404 => ErrorKind::NotFound,
        429 => ErrorKind::RateLimited { retry_after: retry },
        503 if retry.is_some() => ErrorKind::RateLimited { retry_after: retry },
        s if s >= 500 => ErrorKind::Transient,
        _ => ErrorKind::Data,
    };
    ConnectorError::new(
        kind,
        format!("GET {}: HTTP {status}: {graph_error}", shown(url)),
    )
}

impl Graph {
    pub fn new(api_url: &str, token: String) -> Result<Self, ConnectorError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("trustmap/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConnectorError::new(ErrorKind::Config, format!("HTTP client: {e}")))?;
        let api = api_url.trim_end_matches('/');
        Ok(Graph {
            http,
            base: format!("{api}/v1.0"),
            origin: origin_of(api),
            token,
            policy: RetryPolicy::default(),
            concurrency: 8,
            cancelled: Arc::default(),
            progress: Arc::new(NoProgress),
            gaps: Mutex::new(Vec::new()),
        })
    }

    fn gap(&self, g: String) {
        if let Ok(mut v) = self.gaps.lock() {
            v.push(g);
        }
    }

    /// One GET of a page, classified.
    async fn get_once<T: DeserializeOwned>(&self, url: &str) -> Result<Page<T>, ConnectorError> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err(ConnectorError::cancelled());
        }
        let resp = self
            .http
            .get(url)
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| {
                ConnectorError::new(
                    ErrorKind::Transient,
                    format!("GET {}: {}", shown(url), describe(&e)),
                )
            })?;
        let status = resp.status().as_u16();
        let retry = retry_after(resp.headers());
        let body = resp.bytes().await.map_err(|e| {
            ConnectorError::new(
                ErrorKind::Transient,
                format!("GET {}: reading the body: {}", shown(url), describe(&e)),
            )
        })?;
        if !(200..300).contains(&status) {
            return Err(refused(url, status, retry, &String::from_utf8_lossy(&body)));
        }
        serde_json::from_slice::<Page<T>>(&body).map_err(|e| {
            let text = String::from_utf8_lossy(&body);
            let what = if text.trim_start().starts_with('<') {
                "got HTML, not JSON".to_string()
            } else {
                format!("not the documented JSON: {e}")
            };
            ConnectorError::new(
                ErrorKind::Data,
                format!(
                    "GET {}: {what} (body starts: {:?})",
                    shown(url),
                    excerpt(&text)
                ),
            )
        })
    }

    /// One page, retried as the shared policy says.
    async fn get_page<T: DeserializeOwned>(&self, url: &str) -> Result<Page<T>, ConnectorError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.get_once(url).await {
                Ok(p) => return Ok(p),
                Err(e) => match self.policy.decide(e.kind, attempt) {
                    Decision::Retry(wait) => tokio::time::sleep(wait).await,
                    Decision::Gap | Decision::Stop => return Err(e),
                },
            }
        }
    }

    /// Every page of a collection (`path` below `/v1.0`, with its query). Paging stops, with a
    /// gap, at a link to another host (it would carry the token there) or one already seen
    /// (a server that loops).
    pub async fn list<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>, ConnectorError> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut next = Some(format!("{}{path}", self.base));
        while let Some(url) = next.take() {
            let page: Page<T> = self.get_page(&url).await?;
            out.extend(page.value);
            seen.insert(url);
            if let Some(link) = page.next_link {
                if origin_of(&link) != self.origin {
                    self.gap(format!(
                        "{path}: stopped paging: the next page is on another host ({})",
                        origin_of(&link)
                    ));
                } else if seen.contains(&link) {
                    self.gap(format!(
                        "{path}: stopped paging: the server repeated a page link"
                    ));
                } else {
                    next = Some(link);
                }
            }
        }
        Ok(out)
    }

    /// A collection whose refusal or unreadable body is a coverage gap naming the permission
    /// it needs; bad credentials stop the connector.
    async fn soft<T: DeserializeOwned>(
        &self,
        path: &str,
        what: &str,
        permission: &str,
    ) -> Result<Option<Vec<T>>, ConnectorError> {
        match self.list(path).await {
            Ok(v) => Ok(Some(v)),
            Err(e) => self.gap_or_stop(e, what, permission).map(|()| None),
        }
    }

    /// Read the tenant: service principals, applications (owners expanded) and delegated
    /// grants side by side, then each service principal's app role assignments and each
    /// application's federated credentials, `concurrency` calls at a time.
    pub async fn inventory(&self, tenant_id: &str) -> Result<Inventory, ConnectorError> {
        let apps_path =
            format!("/applications?$select={APP_SELECT}&$expand={OWNER_EXPAND}&$top=100");
        let (sps, apps, grants) = tokio::join!(
            self.service_principals(),
            self.soft::<Application>(&apps_path, "applications", SP_PERMISSION),
            self.soft::<PermissionGrant>(
                "/oauth2PermissionGrants?$top=999",
                "delegated permission grants",
                GRANT_PERMISSION,
            ),
        );
        let (sps, apps, grants) = (sps?, apps?.unwrap_or_default(), grants?.unwrap_or_default());
        let (assignments, federated) = self.per_object(&sps, &apps).await?;
        let gaps = self.gaps.lock().map(|g| g.clone()).unwrap_or_default();
        Ok(Inventory {
            tenant_id: tenant_id.to_string(),
            service_principals: sps,
            applications: apps,
            grants,
            assignments,
            federated,
            gaps,
        })
    }

    /// The first collection decides whether Graph is there at all: only a refusal of it is a
    /// gap; a Graph that cannot be reached or read fails the connector.
    async fn service_principals(&self) -> Result<Vec<ServicePrincipal>, ConnectorError> {
        match self
            .list(&format!(
                "/servicePrincipals?$select={SP_SELECT}&$expand={OWNER_EXPAND}&$top=100"
            ))
            .await
        {
            Ok(v) => Ok(v),
            Err(e) if e.kind == ErrorKind::PermissionDenied => {
                self.gap(format!(
                    "service principals: {} (needs the Graph permission {SP_PERMISSION})",
                    e.message
                ));
                Ok(Vec::new())
            }
            Err(e) => Err(e),
        }
    }

    /// Both kinds of per-object call in one stream, so neither waits for the other's tail.
    /// Microsoft's own applications hold nothing of ours worth a call each. Assignments come
    /// back in the order the service principals were listed (as the export concatenates them).
    async fn per_object(
        &self,
        sps: &[ServicePrincipal],
        apps: &[Application],
    ) -> Result<
        (
            Vec<AppRoleAssignment>,
            BTreeMap<String, Vec<FederatedCredential>>,
        ),
        ConnectorError,
    > {
        // (Owned ids: a stream of futures borrowing the lists trips the Send check of the
        // connector's future.)
        let calls: Vec<Call> = sps
            .iter()
            .filter(|sp| {
                !sp.app_owner_organization_id
                    .as_deref()
                    .is_some_and(crate::observe::is_microsoft)
            })
            .map(|sp| Call::Assignments(sp.id.clone()))
            .chain(apps.iter().map(|a| Call::Federated(a.id.clone())))
            .collect();
        self.progress.message(&format!(
            "entra: {} service principals, {} applications; reading their permissions and federated credentials",
            sps.len(),
            apps.len()
        ));
        self.progress.add_total(calls.len() as u64);
        let answers = stream::iter(calls)
            .map(|c| self.call(c))
            .buffer_unordered(self.concurrency.max(1))
            .collect::<Vec<_>>()
            .await;
        let mut by_sp: BTreeMap<String, Vec<AppRoleAssignment>> = BTreeMap::new();
        let mut federated = BTreeMap::new();
        for answer in answers {
            match answer {
                Answer::Assignments(id, Ok(v)) => {
                    by_sp.insert(id, v);
                }
                Answer::Federated(id, Ok(v)) => {
                    federated.insert(id, v);
                }
                Answer::Assignments(id, Err(e)) => self.gap_or_stop(
                    e,
                    &format!("service principal {id}: app role assignments"),
                    SP_PERMISSION,
                )?,
                Answer::Federated(id, Err(e)) => self.gap_or_stop(
                    e,
                    &format!("application {id}: federated credentials"),
                    SP_PERMISSION,
                )?,
            }
        }
        let assignments = sps
            .iter()
            .filter_map(|sp| by_sp.remove(&sp.id))
            .flatten()
            .collect();
        Ok((assignments, federated))
    }

    async fn call(&self, c: Call) -> Answer {
        let answer = self.call_once(c).await;
        self.progress.advance(1);
        answer
    }

    async fn call_once(&self, c: Call) -> Answer {
        match c {
            Call::Assignments(sp) => {
                let path = format!(
                    "/servicePrincipals/{sp}/appRoleAssignments?$select=id,appRoleId,principalId,principalType,resourceId,resourceDisplayName,createdDateTime"
                );
                let r = self.list(&path).await;
                Answer::Assignments(sp, r)
            }
            Call::Federated(app) => {
                let path = format!(
                    "/applications/{app}/federatedIdentityCredentials?$select=id,name,issuer,subject,audiences"
                );
                let r = self.list(&path).await;
                Answer::Federated(app, r)
            }
        }
    }

    /// A call whose retries are spent, as the shared policy sees it: a refusal (naming the
    /// permission it wants) or an unreadable answer is a gap; bad credentials stop.
    fn gap_or_stop(
        &self,
        e: ConnectorError,
        what: &str,
        permission: &str,
    ) -> Result<(), ConnectorError> {
        match RetryPolicy::default().decide(e.kind, u32::MAX) {
            Decision::Stop => Err(e),
            _ => {
                let need = if e.kind == ErrorKind::PermissionDenied {
                    format!(" (needs the Graph permission {permission})")
                } else {
                    String::new()
                };
                self.gap(format!("{what}: {}{need}", e.message));
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        assert_eq!(
            origin_of("https://graph.microsoft.com/v1.0/x?$skiptoken=1"),
            "https://graph.microsoft.com"
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8080/v1.0"),
            "http://127.0.0.1:8080"
        );
        assert_ne!(
            origin_of("https://evil.example/v1.0"),
            origin_of("https://graph.microsoft.com")
        );
    }

    #[test]
    fn refusals_are_classified() {
        let e = refused(
            "u",
            403,
            None,
            r#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges"}}"#,
        );
        assert_eq!(e.kind, ErrorKind::PermissionDenied);
        assert!(
            e.message
                .contains("Authorization_RequestDenied: Insufficient privileges"),
            "{}",
            e.message
        );
        assert_eq!(refused("u", 401, None, "").kind, ErrorKind::Auth);
        assert_eq!(
            refused("u", 429, Some(3), "").kind,
            ErrorKind::RateLimited {
                retry_after: Some(3)
            }
        );
        assert_eq!(
            refused("u", 503, Some(1), "").kind,
            ErrorKind::RateLimited {
                retry_after: Some(1)
            }
        );
        assert_eq!(refused("u", 503, None, "").kind, ErrorKind::Transient);
    }
}
