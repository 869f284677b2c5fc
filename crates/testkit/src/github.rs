//! A stateful local GitHub API for the github connector's tests, the CLI tests and the
//! benchmark. Bodies use GitHub's documented field names; lists are paged with Link headers
//! (`per_page` honoured, capped by the estate's page size); the designed scenario adds a
//! refused repository, a secondary rate limit answered with `retry-after`, a token without a
//! needed scope, and broken bodies (malformed JSON, HTML, a missing field).
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::http::{Request, Response, Server};

pub const TOKEN: &str = "test-token-for-local-github";

/// What the server holds.
#[derive(Debug, Clone)]
pub struct Estate {
    pub org: String,
    /// Largest page the server returns, whatever `per_page` asks.
    pub page_size: usize,
    pub latency: Duration,
    /// The designed scenario (partners, refusals, broken bodies); otherwise a generated org.
    pub scenario: bool,
    pub repos: usize,
    pub installations: usize,
    /// The classic PAT whose last eight characters SSO reports for acme-bot.
    pub acme_bot_token_last8: String,
    /// `clone_url` of a repository is `{clone_base}/{name}` (a `file://` directory in tests).
    pub clone_base: Option<String>,
    /// Percent of GET requests answered with a rate limit (a 429, a secondary limit, an
    /// exhausted primary limit), never the same request twice in a row: the throttling soak.
    pub throttle_percent: u64,
}

impl Estate {
    pub fn scenario(acme_bot_token_last8: &str) -> Self {
        Estate {
            org: "corp".into(),
            page_size: 2,
            latency: Duration::ZERO,
            scenario: true,
            repos: 5,
            installations: 5,
            acme_bot_token_last8: acme_bot_token_last8.into(),
            clone_base: None,
            throttle_percent: 0,
        }
    }

    pub fn generated(repos: usize, installations: usize, latency: Duration) -> Self {
        Estate {
            org: "bigcorp".into(),
            page_size: 100,
            latency,
            scenario: false,
            repos,
            installations,
            acme_bot_token_last8: "00000000".into(),
            clone_base: None,
            throttle_percent: 0,
        }
    }
}

const SCENARIO_REPOS: [&str; 5] = ["payments", "web", "infra", "vault", "legacy"];

fn repo_name(e: &Estate, i: usize) -> String {
    if e.scenario {
        SCENARIO_REPOS[i].to_string()
    } else {
        format!("repo-{i:05}")
    }
}

fn installation(e: &Estate, i: usize) -> Value {
    let (slug, perms, suspended) = if e.scenario {
        match i {
            0 => (
                "acme-bi",
                json!({"contents": "read", "metadata": "read"}),
                Value::Null,
            ),
            1 => (
                "shady-sync",
                json!({"contents": "write", "members": "read"}),
                Value::Null,
            ),
            2 => (
                "oldco-deployer",
                json!({"deployments": "write"}),
                Value::Null,
            ),
            _ => (
                "observe-hq",
                json!({"metadata": "read"}),
                json!("2026-02-01T00:00:00Z"),
            ),
        }
    } else {
        ("app", json!({"contents": "read"}), Value::Null)
    };
    let slug = if e.scenario {
        slug.to_string()
    } else {
        format!("app-{i:04}")
    };
    if e.scenario && i == 4 {
        // A body missing a required field: this page is a gap, the pages before it are kept.
        return json!({"id": 1004, "account": {"login": e.org, "type": "Organization"}});
    }
    json!({
        "id": 1000 + i, "app_id": 2000 + i, "app_slug": slug, "target_id": 1, "target_type": "Organization",
        "account": {"login": e.org, "id": 1, "type": "Organization"},
        "repository_selection": if i % 2 == 1 { "selected" } else { "all" },
        "access_tokens_url": "https://api.github.com/app/installations/1/access_tokens",
        "repositories_url": "https://api.github.com/installation/repositories",
        "html_url": "https://github.com/organizations/corp/settings/installations/1",
        "permissions": perms, "events": ["push"], "single_file_name": null,
        "created_at": "2025-03-01T10:00:00Z", "updated_at": "2026-01-01T10:00:00Z",
        "suspended_at": suspended, "suspended_by": null
    })
}

fn app(e: &Estate, slug: &str) -> Value {
    let (owner, url) = match slug {
        "acme-bi" => ("acme-analytics", "https://bi.acme.example"),
        "shady-sync" => ("unknown-dev-shop", "https://shady.example.net"),
        "oldco-deployer" => ("oldco", "https://oldco.example"),
        _ => ("vendor-org", "https://vendor.example"),
    };
    let _ = e;
    json!({"id": 1, "slug": slug, "node_id": "A", "name": slug.replace('-', " "),
           "owner": {"login": owner, "id": 7, "type": "Organization"},
           "description": "", "external_url": url, "html_url": format!("https://github.com/apps/{slug}"),
           "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
           "permissions": {}, "events": []})
}

fn repo(e: &Estate, i: usize) -> Value {
    let name = repo_name(e, i);
    let clone_url = e.clone_base.as_ref().map(|b| format!("{b}/{name}"));
    json!({"id": 500 + i, "clone_url": clone_url, "node_id": "R", "name": name, "full_name": format!("{}/{name}", e.org),
           "private": true, "archived": name == "legacy", "owner": {"login": e.org, "type": "Organization"},
           "html_url": format!("https://github.com/{}/{name}", e.org)})
}

fn deploy_keys(e: &Estate, name: &str) -> Vec<Value> {
    let key = |id: u64, title: &str, ro: bool, last: Value| {
        json!({"id": id, "key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA", "url": "https://api.github.com/k",
               "title": title, "verified": true, "created_at": "2025-05-01T00:00:00Z", "read_only": ro,
               "added_by": "jane-doe", "last_used": last, "enabled": true})
    };
    if !e.scenario {
        return vec![key(1, "ci", true, json!("2026-11-01T00:00:00Z"))];
    }
    match name {
        "payments" => vec![
            key(11, "datapipe-etl", false, json!("2026-11-10T00:00:00Z")),
            key(12, "ci-release", true, json!("2026-11-20T00:00:00Z")),
        ],
        "infra" => vec![key(
            13,
            "oldco-migration",
            false,
            json!("2025-12-01T00:00:00Z"),
        )],
        _ => vec![],
    }
}

fn hooks(e: &Estate, scope: &str) -> Vec<Value> {
    let hook = |id: u64, url: &str| {
        json!({"type": "Organization", "id": id, "name": "web", "active": true, "events": ["push", "pull_request"],
               "config": {"url": url, "content_type": "json", "insecure_ssl": "0", "secret": "********"},
               "updated_at": "2026-01-01T00:00:00Z", "created_at": "2025-01-01T00:00:00Z",
               "url": "https://api.github.com/orgs/corp/hooks/1", "ping_url": "https://api.github.com/orgs/corp/hooks/1/pings"})
    };
    if !e.scenario {
        return vec![hook(1, "https://ci.bigcorp.example/hook")];
    }
    match scope {
        "org" => vec![hook(21, "https://hooks.acme.example/github")],
        "web" => vec![hook(22, "https://status.unknown-saas.example/ingest")],
        _ => vec![],
    }
}

fn collaborators(e: &Estate, name: &str) -> Vec<Value> {
    if e.scenario && name == "infra" {
        vec![
            json!({"login": "oldco-dev", "id": 99, "type": "User", "site_admin": false,
                     "permissions": {"pull": true, "triage": true, "push": true, "maintain": false, "admin": false},
                     "role_name": "write"}),
        ]
    } else {
        vec![]
    }
}

/// The page of `items` that `req` asks for, with a Link header to the next one.
fn paged(e: &Estate, req: &Request, items: Vec<Value>, wrap: Option<&str>) -> Response {
    let (path, query) = req.route();
    let q: HashMap<String, String> = query.into_iter().collect();
    let per_page = q
        .get("per_page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(30usize)
        .min(e.page_size)
        .max(1);
    let page: usize = q.get("page").and_then(|v| v.parse().ok()).unwrap_or(1);
    let start = (page - 1) * per_page;
    let slice: Vec<Value> = items.iter().skip(start).take(per_page).cloned().collect();
    let body = match wrap {
        Some(key) => json!({"total_count": items.len(), key: slice}),
        None => Value::Array(slice),
    };
    let mut resp = Response::json(200, &body);
    if start + per_page < items.len() {
        let mut params: Vec<String> = q
            .iter()
            .filter(|(k, _)| *k != "page")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        params.sort();
        params.push(format!("page={}", page + 1));
        let host = req.header("host").unwrap_or("127.0.0.1");
        resp = resp.header(
            "link",
            format!("<http://{host}{path}?{}>; rel=\"next\"", params.join("&")),
        );
    }
    resp
}

fn not_found() -> Response {
    Response::json(
        404,
        &json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}),
    )
}

struct State {
    estate: Estate,
    rate_limited_once: AtomicBool,
    requests: std::sync::atomic::AtomicU64,
    /// Requests throttled last time they came (each is answered on its retry).
    throttled: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// SplitMix64: which requests to throttle, reproducibly.
fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A rate limit for this request, when the soak picks it: mostly `retry-after: 0` (a 429 or
/// a secondary limit), one in forty an exhausted primary limit whose reset is now (a wait of
/// a second).
fn throttle(s: &State, req: &Request) -> Option<Response> {
    let percent = s.estate.throttle_percent;
    if percent == 0 || req.method != "GET" {
        return None;
    }
    let n = s.requests.fetch_add(1, Ordering::SeqCst);
    let mut last = s.throttled.lock().ok()?;
    if last.remove(&req.path) || mix(n) % 100 >= percent {
        return None;
    }
    last.insert(req.path.clone());
    let r = mix(n ^ 0x5eed) % 40;
    Some(match r {
        0 => Response::json(
            403,
            &json!({"message": "API rate limit exceeded for user ID 1."}),
        )
        .header("x-ratelimit-remaining", "0")
        .header(
            "x-ratelimit-reset",
            chrono::Utc::now().timestamp().to_string(),
        ),
        1..=19 => {
            Response::json(429, &json!({"message": "Too many requests"})).header("retry-after", "0")
        }
        _ => Response::json(
            403,
            &json!({"message": "You have exceeded a secondary rate limit."}),
        )
        .header("retry-after", "0"),
    })
}

#[allow(clippy::too_many_lines)] // one arm per route of the fake GitHub: a dispatch table
fn answer(s: &State, req: &Request) -> Response {
    let e = &s.estate;
    if !e.latency.is_zero() {
        std::thread::sleep(e.latency);
    }
    if let Some(limited) = throttle(s, req) {
        return limited;
    }
    let auth = req.header("authorization").unwrap_or("");
    // GitHub App authentication: a JWT (RS256, issuer = the app id) buys an installation token.
    if req.method == "POST" {
        let (path, _) = req.route();
        let jwt = auth.strip_prefix("Bearer ").unwrap_or("");
        let claims = jwt
            .split('.')
            .nth(1)
            .and_then(|c| {
                base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, c).ok()
            })
            .and_then(|c| serde_json::from_slice::<Value>(&c).ok());
        return match (path, claims) {
            ("/app/installations/4242/access_tokens", Some(c))
                if c["iss"] == json!("9911") || c["iss"] == json!(9911) =>
            {
                Response::json(
                    201,
                    &json!({"token": TOKEN, "expires_at": "2030-01-01T00:00:00Z", "permissions": {}}),
                )
            }
            _ => Response::json(
                401,
                &json!({"message": "A JSON web token could not be decoded"}),
            ),
        };
    }
    if !auth.ends_with(TOKEN) {
        return Response::json(401, &json!({"message": "Bad credentials"}));
    }
    if req.method != "GET" {
        return not_found();
    }
    let (path, _) = req.route();
    let org = e.org.as_str();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["orgs", o, "installations"] if *o == org => {
            let items = (0..e.installations).map(|i| installation(e, i)).collect();
            paged(e, req, items, Some("installations"))
        }
        ["apps", slug] => Response::json(200, &app(e, slug)),
        ["orgs", o, "credential-authorizations"] if *o == org => {
            if !e.scenario {
                return not_found();
            }
            paged(
                e,
                req,
                vec![json!({
                    "login": "acme-bot", "credential_id": 161195, "credential_type": "personal access token",
                    "token_last_eight": e.acme_bot_token_last8, "credential_authorized_at": "2025-06-01T00:00:00Z",
                    "credential_accessed_at": "2026-11-18T00:00:00Z", "scopes": ["repo", "read:org"],
                    "authorized_credential_note": "acme nightly export", "authorized_credential_expires_at": null
                })],
                None,
            )
        }
        ["orgs", o, "personal-access-tokens"] if *o == org => {
            if !e.scenario {
                return Response::json(
                    403,
                    &json!({"message": "Resource not accessible by personal access token"}),
                );
            }
            paged(
                e,
                req,
                vec![json!({
                    "id": 25381, "owner": {"login": "acme-bot", "id": 5, "type": "User"},
                    "repository_selection": "subset", "repositories_url": "https://api.github.com/x",
                    "permissions": {"organization": {"members": "read"}, "repository": {"contents": "write", "metadata": "read"}, "other": {}},
                    "access_granted_at": "2026-01-01T00:00:00Z", "token_id": 98716, "token_name": "acme-sync",
                    "token_expired": false, "token_expires_at": "2027-01-01T00:00:00Z", "token_last_used_at": "2026-11-19T00:00:00Z"
                })],
                None,
            )
        }
        ["orgs", o, "personal-access-token-requests"] if *o == org => {
            if !e.scenario {
                return Response::json(
                    403,
                    &json!({"message": "Resource not accessible by personal access token"}),
                );
            }
            paged(e, req, vec![], None)
        }
        ["orgs", o, "hooks"] if *o == org => {
            // A secondary rate limit, once: the connector must wait and retry.
            if e.scenario && !s.rate_limited_once.swap(true, Ordering::SeqCst) {
                return Response::json(
                    403,
                    &json!({"message": "You have exceeded a secondary rate limit."}),
                )
                .header("retry-after", "1");
            }
            paged(e, req, hooks(e, "org"), None)
        }
        ["orgs", o, "members"] if *o == org => paged(
            e,
            req,
            vec![
                json!({"login": "acme-bot", "type": "User"}),
                json!({"login": "alice", "type": "User"}),
                json!({"login": "deploy-bot", "type": "User"}),
            ],
            None,
        ),
        ["orgs", o, "actions", "secrets"] if *o == org => paged(
            e,
            req,
            vec![
                json!({"name": "ACME_EXPORT_KEY", "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-01T00:00:00Z", "visibility": "all"}),
            ],
            Some("secrets"),
        ),
        ["orgs", o, "actions", "variables"] if *o == org => {
            if e.scenario {
                return Response::new(
                    200,
                    "text/html",
                    "<!DOCTYPE html><html><body>Sign in to GitHub</body></html>",
                );
            }
            paged(e, req, vec![], Some("variables"))
        }
        ["orgs", o, "actions", "oidc", "customization", "sub"] if *o == org => {
            Response::json(200, &json!({"include_claim_keys": ["repo", "context"]}))
        }
        ["orgs", o, "repos"] if *o == org => {
            let items = (0..e.repos).map(|i| repo(e, i)).collect();
            paged(e, req, items, None)
        }
        ["repos", o, name, rest @ ..] if *o == org => {
            let name = name.to_string();
            match rest {
                ["keys"] if e.scenario && name == "vault" => Response::json(
                    403,
                    &json!({"message": "Must have admin rights to Repository."}),
                )
                .header("x-accepted-oauth-scopes", "repo"),
                ["keys"] => paged(e, req, deploy_keys(e, &name), None),
                ["hooks"] if e.scenario && name == "infra" => {
                    Response::new(200, "application/json", "{\"id\": 1, \"name\": ")
                }
                ["hooks"] => paged(e, req, hooks(e, &name), None),
                ["collaborators"] => paged(e, req, collaborators(e, &name), None),
                ["actions", "secrets"] => paged(e, req, vec![], Some("secrets")),
                _ => not_found(),
            }
        }
        _ => not_found(),
    }
}

/// Start the server; `base` is its API URL.
pub fn start(estate: Estate) -> Server {
    let state = Arc::new(State {
        estate,
        rate_limited_once: AtomicBool::new(false),
        requests: Default::default(),
        throttled: Default::default(),
    });
    Server::start(move |req| answer(&state, req))
}
