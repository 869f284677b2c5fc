//! GitHub's REST API through octocrab, with the manners a sweep needs: Link-header pagination,
//! the primary and secondary rate limits answered by waiting (`retry-after`,
//! `x-ratelimit-remaining`/`x-ratelimit-reset`), and errors that say which URL failed and
//! why (status and GitHub's `message`, or what came instead of JSON).
//!
//! Requests go through octocrab's raw `_get` with our own serde types: the rate-limit headers,
//! the Link header and the status of refused calls are what this module decides on, and the
//! typed helpers hide them.
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use std::time::Duration;
use trustmap_connector::{ConnectorError, Decision, ErrorKind, RetryPolicy};

pub struct Api {
    client: octocrab::Octocrab,
    base: String,
    /// Longest single wait for a rate limit before the call is given up.
    pub max_wait: Duration,
    pub attempts: u32,
    /// The token the client authenticates with (for `scan_repos` clones).
    pub token: Option<String>,
    /// Requests made, for the benchmark and the summary.
    pub requests: std::sync::atomic::AtomicU64,
    /// Requests a rate limit answered, and the time spent waiting them out.
    pub throttled: std::sync::atomic::AtomicU64,
    pub waited_ms: std::sync::atomic::AtomicU64,
    /// Set once any request got an HTTP answer.
    answered: std::sync::atomic::AtomicBool,
    /// Set when a request spent its retries without the API ever answering: every later call
    /// fails at once instead of spending its own (an unreachable `api_url` costs one call's
    /// retries, not every endpoint's).
    unreachable: std::sync::OnceLock<String>,
}

/// A call that failed, with its HTTP status when there was one.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: Option<u16>,
    pub error: ConnectorError,
}

impl From<ApiError> for ConnectorError {
    fn from(e: ApiError) -> Self {
        e.error
    }
}

fn header<'a>(h: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// `<https://api/x?page=2>; rel="next", <...>; rel="last"` → the next URL.
pub fn next_link(link: Option<&str>) -> Option<String> {
    link?.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
    })
}

/// How long the server asks us to wait, if this response is a rate limit.
fn rate_limit_wait(status: u16, h: &http::HeaderMap) -> Option<Duration> {
    if status != 403 && status != 429 {
        return None;
    }
    if let Some(secs) = header(h, "retry-after").and_then(|v| v.trim().parse::<u64>().ok()) {
        return Some(Duration::from_secs(secs));
    }
    if header(h, "x-ratelimit-remaining") == Some("0") {
        let reset = header(h, "x-ratelimit-reset").and_then(|v| v.parse::<i64>().ok())?;
        let now = chrono::Utc::now().timestamp();
        return Some(Duration::from_secs((reset - now).max(1) as u64));
    }
    // A secondary rate limit without headers: GitHub says to wait at least a minute.
    (status == 429).then(|| Duration::from_secs(60))
}

fn excerpt(body: &str) -> String {
    let t: String = body.trim().chars().take(80).collect();
    t.replace('\n', " ")
}

impl Api {
    pub fn new(client: octocrab::Octocrab, base: &str) -> Self {
        Api {
            client,
            base: base.trim_end_matches('/').to_string(),
            max_wait: Duration::from_secs(900),
            attempts: 6,
            token: None,
            requests: Default::default(),
            answered: Default::default(),
            unreachable: Default::default(),
            throttled: Default::default(),
            waited_ms: Default::default(),
        }
    }

    /// "N requests; rate limits answered M of them, S s waited", for the connector's notes.
    pub fn usage(&self) -> String {
        use std::sync::atomic::Ordering;
        format!(
            "{} requests; rate limits answered {} of them, {:.1} s waited",
            self.requests.load(Ordering::Relaxed),
            self.throttled.load(Ordering::Relaxed),
            self.waited_ms.load(Ordering::Relaxed) as f64 / 1000.0
        )
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The request target relative to the API base: octocrab adds its base URI and sends the
    /// credentials only to it (never to an absolute URL on another host).
    fn relative<'a>(&self, url: &'a str) -> &'a str {
        url.strip_prefix(self.base.as_str()).unwrap_or(url)
    }

    /// The shared retry policy with this client's budget.
    fn policy(&self) -> RetryPolicy {
        RetryPolicy {
            attempts: self.attempts,
            backoff: Duration::from_millis(400),
            max_wait: self.max_wait,
        }
    }

    /// GET one page; returns the parsed body and the next page's URL. Throttling and
    /// transient failures are retried as the shared policy decides.
    pub async fn get_page<T: DeserializeOwned>(
        &self,
        url: &str,
    ) -> Result<(T, Option<String>), ApiError> {
        use std::sync::atomic::Ordering;
        if let Some(why) = self.unreachable.get() {
            return Err(ApiError {
                status: None,
                error: ConnectorError::new(
                    ErrorKind::Transient,
                    format!("GET {url}: not tried, the API never answered ({why})"),
                ),
            });
        }
        let policy = self.policy();
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.get_once(url).await {
                Ok(page) => return Ok(page),
                Err(e) => match policy.decide(e.error.kind, attempt) {
                    Decision::Retry(wait) => {
                        if matches!(e.error.kind, ErrorKind::RateLimited { .. }) {
                            self.throttled.fetch_add(1, Ordering::Relaxed);
                            self.waited_ms.fetch_add(
                                u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                                Ordering::Relaxed,
                            );
                        }
                        tokio::time::sleep(wait).await;
                    }
                    Decision::Gap | Decision::Stop => {
                        if e.status.is_none() && !self.answered.load(Ordering::Relaxed) {
                            let _ = self.unreachable.set(e.error.message.clone());
                        }
                        return Err(e);
                    }
                },
            }
        }
    }

    /// One GET, its outcome classified: a transport error or a 5xx is transient, a rate limit
    /// says how long to wait, other refusals say why.
    async fn get_once<T: DeserializeOwned>(
        &self,
        url: &str,
    ) -> Result<(T, Option<String>), ApiError> {
        let fail = |status: Option<u16>, kind: ErrorKind, msg: String| ApiError {
            status,
            error: ConnectorError::new(kind, msg),
        };
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let resp = self
            .client
            ._get(self.relative(url))
            .await
            .map_err(|e| fail(None, ErrorKind::Transient, format!("GET {url}: {e}")))?;
        self.answered
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.map_err(|e| {
            fail(
                Some(status),
                ErrorKind::Transient,
                format!("GET {url}: reading the body: {e}"),
            )
        })?;
        let body = body.to_bytes();
        let text = String::from_utf8_lossy(&body);
        if let Some(wait) = rate_limit_wait(status, &headers) {
            return Err(fail(
                Some(status),
                ErrorKind::RateLimited {
                    retry_after: Some(wait.as_secs()),
                },
                format!("GET {url}: rate limited, asked to wait {}s", wait.as_secs()),
            ));
        }
        if !(200..300).contains(&status) {
            return Err(refused(url, status, &headers, &text));
        }
        let parsed = serde_json::from_slice::<T>(&body).map_err(|e| {
            let what = if text.trim_start().starts_with('<') {
                "got HTML, not JSON".to_string()
            } else {
                format!("not the documented JSON: {e}")
            };
            fail(
                Some(status),
                ErrorKind::Data,
                format!("GET {url}: {what} (body starts: {:?})", excerpt(&text)),
            )
        })?;
        // Only follow pages on the configured API: a Link elsewhere would carry the token
        // to another host.
        let next = next_link(header(&headers, "link")).filter(|n| n.starts_with(&self.base));
        Ok((parsed, next))
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        Ok(self.get_page(&self.url(path)).await?.0)
    }

    /// Every page of a list endpoint (`per_page=100`), following Link headers.
    pub async fn list<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>, ApiError> {
        let mut out = Vec::new();
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut next = Some(self.url(&format!("{path}{sep}per_page=100")));
        while let Some(url) = next {
            let (page, n): (Vec<T>, _) = self.get_page(&url).await?;
            out.extend(page);
            next = n;
        }
        Ok(out)
    }
}

/// A non-2xx answer as an error of its kind, with GitHub's message and the scopes it wants.
fn refused(url: &str, status: u16, headers: &http::HeaderMap, text: &str) -> ApiError {
    let message = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| {
            v.get("message")
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| excerpt(text));
    let kind = match status {
        401 => ErrorKind::Auth,
        403 => ErrorKind::PermissionDenied,
        404 => ErrorKind::NotFound,
        s if s >= 500 => ErrorKind::Transient,
        _ => ErrorKind::Data,
    };
    let scopes = header(headers, "x-accepted-oauth-scopes")
        .filter(|s| !s.is_empty())
        .map_or(String::new(), |s| format!(" (needs scopes: {s})"));
    ApiError {
        status: Some(status),
        error: ConnectorError::new(kind, format!("GET {url}: HTTP {status}: {message}{scopes}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header() {
        let l = r#"<https://api.github.com/orgs/x/repos?page=2>; rel="next", <https://api.github.com/orgs/x/repos?page=5>; rel="last""#;
        assert_eq!(
            next_link(Some(l)).as_deref(),
            Some("https://api.github.com/orgs/x/repos?page=2")
        );
        assert_eq!(next_link(Some(r#"<https://a/x?page=1>; rel="prev""#)), None);
        assert_eq!(next_link(None), None);
    }
}
