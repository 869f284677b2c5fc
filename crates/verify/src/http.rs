//! The issuers checked with one plain HTTPS request: which rules each serves, where the
//! request goes, how the secret is presented, and how the answer reads. One table entry per
//! issuer; adding an issuer is adding an entry.
use serde_json::Value;
use trustmap_model::{SecretMatch, VerificationStatus};

/// How the secret rides in the request.
#[derive(Debug, Clone, Copy)]
pub enum Auth {
    /// `Authorization: Bearer SECRET`.
    Bearer,
    /// `Authorization: <scheme> SECRET` (`Bot`, `token`).
    Scheme(&'static str),
    /// `<header>: SECRET`.
    Header(&'static str),
    /// HTTP basic with this user name and the secret as password.
    BasicPassword(&'static str),
    /// HTTP basic with the hint of this name as user and the secret as password.
    BasicHintUser(&'static str),
    /// In the path, where `{secret}` stands (Telegram's `/bot<token>/getMe`).
    InPath,
}

/// What a 2xx body must say for the secret to be live (Slack answers 200 to a bad token).
#[derive(Debug, Clone, Copy)]
pub enum Accept {
    /// Any 2xx.
    Any,
    /// A 2xx whose JSON has `true` at this pointer; `false` there means revoked.
    TrueAt(&'static str),
}

#[derive(Debug, Clone, Copy)]
pub struct Issuer {
    /// The key in `[verify.endpoints]`, and `provider` in the evidence.
    pub provider: &'static str,
    /// The rules whose secrets it checks.
    pub rules: &'static [&'static str],
    /// The issuer's own API, when no override is given. `{hint}` stands for the hint named by
    /// `host_hint` (a Shopify shop).
    pub base: &'static str,
    pub host_hint: Option<&'static str>,
    pub method: &'static str,
    /// `{secret}` only with [`Auth::InPath`]; `{hint}` for the hint named by `path_hint`.
    pub path: &'static str,
    pub path_hint: Option<&'static str>,
    pub auth: Auth,
    pub headers: &'static [(&'static str, &'static str)],
    pub body: Option<&'static str>,
    pub accept: Accept,
    /// Statuses that mean the issuer does not know this secret (any other 4xx is unknown).
    pub revoked: &'static [u16],
    /// JSON pointers whose values, joined with `/`, name the identity.
    pub identity: &'static [&'static str],
    /// A response header naming the identity, when the body does not.
    pub identity_header: Option<&'static str>,
    /// A response header listing the scopes, comma-separated.
    pub scopes_header: Option<&'static str>,
    /// A JSON pointer to an array of scopes (strings, or objects with `handle`).
    pub scopes: Option<&'static str>,
    /// Slack-style errors: at this pointer, these values mean revoked.
    pub error_at: Option<(&'static str, &'static [&'static str])>,
}

const DEFAULT: Issuer = Issuer {
    provider: "",
    rules: &[],
    base: "",
    host_hint: None,
    method: "GET",
    path: "",
    path_hint: None,
    auth: Auth::Bearer,
    headers: &[],
    body: None,
    accept: Accept::Any,
    revoked: &[401],
    identity: &[],
    identity_header: None,
    scopes_header: None,
    scopes: None,
    error_at: None,
};

/// Every issuer checked over plain HTTPS, with the request its documentation names as the
/// cheapest read-only call that needs a valid credential.
pub const ISSUERS: &[Issuer] = &[
    Issuer {
        provider: "github",
        rules: &[
            "github-pat-classic",
            "github-oauth-token",
            "github-app-user-token",
            "github-fine-grained-pat",
        ],
        base: "https://api.github.com",
        path: "/user",
        headers: &[
            ("accept", "application/vnd.github+json"),
            ("x-github-api-version", "2022-11-28"),
        ],
        identity: &["/login"],
        scopes_header: Some("x-oauth-scopes"),
        ..DEFAULT
    },
    // An installation token may not read `/user`; it may list what it was installed on.
    Issuer {
        provider: "github",
        rules: &["github-app-installation-token"],
        base: "https://api.github.com",
        path: "/installation/repositories?per_page=1",
        headers: &[
            ("accept", "application/vnd.github+json"),
            ("x-github-api-version", "2022-11-28"),
        ],
        ..DEFAULT
    },
    Issuer {
        provider: "gitlab",
        rules: &["gitlab-pat"],
        base: "https://gitlab.com",
        path: "/api/v4/personal_access_tokens/self",
        auth: Auth::Header("private-token"),
        identity: &["/name", "/user_id"],
        scopes: Some("/scopes"),
        ..DEFAULT
    },
    Issuer {
        provider: "slack",
        rules: &["slack-bot-token", "slack-user-token", "slack-legacy-token"],
        base: "https://slack.com",
        method: "POST",
        path: "/api/auth.test",
        accept: Accept::TrueAt("/ok"),
        identity: &["/team", "/user"],
        error_at: Some((
            "/error",
            &[
                "invalid_auth",
                "token_revoked",
                "token_expired",
                "account_inactive",
                "not_authed",
            ],
        )),
        ..DEFAULT
    },
    Issuer {
        provider: "npm",
        rules: &["npm-access-token"],
        base: "https://registry.npmjs.org",
        path: "/-/whoami",
        identity: &["/username"],
        ..DEFAULT
    },
    Issuer {
        provider: "huggingface",
        rules: &["huggingface-token", "huggingface-org-token"],
        base: "https://huggingface.co",
        path: "/api/whoami-v2",
        identity: &["/name"],
        ..DEFAULT
    },
    Issuer {
        provider: "openai",
        rules: &["openai-api-key"],
        base: "https://api.openai.com",
        path: "/v1/models",
        identity_header: Some("openai-organization"),
        ..DEFAULT
    },
    Issuer {
        provider: "anthropic",
        rules: &["anthropic-api-key"],
        base: "https://api.anthropic.com",
        path: "/v1/models?limit=1",
        auth: Auth::Header("x-api-key"),
        headers: &[("anthropic-version", "2023-06-01")],
        ..DEFAULT
    },
    Issuer {
        provider: "groq",
        rules: &["groq-api-key"],
        base: "https://api.groq.com",
        path: "/openai/v1/models",
        ..DEFAULT
    },
    Issuer {
        provider: "replicate",
        rules: &["replicate-api-token"],
        base: "https://api.replicate.com",
        path: "/v1/account",
        identity: &["/username"],
        ..DEFAULT
    },
    Issuer {
        provider: "sendgrid",
        rules: &["sendgrid-api-key"],
        base: "https://api.sendgrid.com",
        path: "/v3/scopes",
        revoked: &[401, 403],
        scopes: Some("/scopes"),
        ..DEFAULT
    },
    Issuer {
        provider: "stripe",
        rules: &[
            "stripe-secret-key",
            "stripe-restricted-key",
            "stripe-test-secret-key",
        ],
        base: "https://api.stripe.com",
        path: "/v1/account",
        identity: &["/id"],
        ..DEFAULT
    },
    Issuer {
        provider: "datadog",
        rules: &["datadog-api-key"],
        base: "https://api.datadoghq.com",
        path: "/api/v1/validate",
        auth: Auth::Header("dd-api-key"),
        accept: Accept::TrueAt("/valid"),
        revoked: &[401, 403],
        ..DEFAULT
    },
    // Twilio's auth token authenticates only with its account SID, which the rule's `near`
    // hint finds beside it.
    Issuer {
        provider: "twilio",
        rules: &["twilio-auth-token"],
        base: "https://api.twilio.com",
        path: "/2010-04-01/Accounts/{hint}.json",
        path_hint: Some("account_sid"),
        auth: Auth::BasicHintUser("account_sid"),
        identity: &["/friendly_name", "/sid"],
        ..DEFAULT
    },
    // A Shopify token is good for one shop, named by the `*.myshopify.com` host beside it.
    Issuer {
        provider: "shopify",
        rules: &["shopify-access-token"],
        base: "https://{hint}.myshopify.com",
        host_hint: Some("shop"),
        path: "/admin/oauth/access_scopes.json",
        auth: Auth::Header("x-shopify-access-token"),
        scopes: Some("/access_scopes"),
        ..DEFAULT
    },
    Issuer {
        provider: "mailgun",
        rules: &["mailgun-api-key"],
        base: "https://api.mailgun.net",
        path: "/v3/domains?limit=1",
        auth: Auth::BasicPassword("api"),
        ..DEFAULT
    },
    Issuer {
        provider: "telegram",
        rules: &["telegram-bot-token"],
        base: "https://api.telegram.org",
        path: "/bot{secret}/getMe",
        auth: Auth::InPath,
        revoked: &[401, 404],
        identity: &["/result/username"],
        ..DEFAULT
    },
    Issuer {
        provider: "discord",
        rules: &["discord-bot-token"],
        base: "https://discord.com",
        path: "/api/v10/users/@me",
        auth: Auth::Scheme("Bot"),
        identity: &["/username"],
        ..DEFAULT
    },
    Issuer {
        provider: "digitalocean",
        rules: &["digitalocean-token"],
        base: "https://api.digitalocean.com",
        path: "/v2/account",
        identity: &["/account/email"],
        ..DEFAULT
    },
    Issuer {
        provider: "heroku",
        rules: &["heroku-api-key", "heroku-platform-key"],
        base: "https://api.heroku.com",
        path: "/account",
        headers: &[("accept", "application/vnd.heroku+json; version=3")],
        identity: &["/email"],
        ..DEFAULT
    },
    Issuer {
        provider: "cloudflare",
        rules: &["cloudflare-api-token"],
        base: "https://api.cloudflare.com",
        path: "/client/v4/user/tokens/verify",
        accept: Accept::TrueAt("/success"),
        identity: &["/result/id"],
        ..DEFAULT
    },
    Issuer {
        provider: "vercel",
        rules: &["vercel-token"],
        base: "https://api.vercel.com",
        path: "/v2/user",
        revoked: &[401, 403],
        identity: &["/user/username"],
        ..DEFAULT
    },
    Issuer {
        provider: "netlify",
        rules: &["netlify-token"],
        base: "https://api.netlify.com",
        path: "/api/v1/user",
        identity: &["/email"],
        ..DEFAULT
    },
    Issuer {
        provider: "notion",
        rules: &["notion-token"],
        base: "https://api.notion.com",
        path: "/v1/users/me",
        headers: &[("notion-version", "2022-06-28")],
        identity: &["/name"],
        ..DEFAULT
    },
    Issuer {
        provider: "airtable",
        rules: &["airtable-pat"],
        base: "https://api.airtable.com",
        path: "/v0/meta/whoami",
        identity: &["/id"],
        ..DEFAULT
    },
    Issuer {
        provider: "circleci",
        rules: &["circleci-token"],
        base: "https://circleci.com",
        path: "/api/v2/me",
        auth: Auth::Header("circle-token"),
        identity: &["/login"],
        ..DEFAULT
    },
    Issuer {
        provider: "postman",
        rules: &["postman-api-key"],
        base: "https://api.getpostman.com",
        path: "/me",
        auth: Auth::Header("x-api-key"),
        identity: &["/user/username"],
        ..DEFAULT
    },
    Issuer {
        provider: "terraform-cloud",
        rules: &["terraform-cloud-token"],
        base: "https://app.terraform.io",
        path: "/api/v2/account/details",
        identity: &["/data/attributes/username"],
        ..DEFAULT
    },
    Issuer {
        provider: "doppler",
        rules: &["doppler-token"],
        base: "https://api.doppler.com",
        path: "/v3/me",
        identity: &["/name"],
        ..DEFAULT
    },
    Issuer {
        provider: "pulumi",
        rules: &["pulumi-access-token"],
        base: "https://api.pulumi.com",
        path: "/api/user",
        auth: Auth::Scheme("token"),
        identity: &["/githubLogin"],
        ..DEFAULT
    },
];

/// The issuer of a rule's secrets, if one is checked over HTTP.
pub fn issuer_for(rule: &str) -> Option<&'static Issuer> {
    ISSUERS.iter().find(|i| i.rules.contains(&rule))
}

/// What one answer says, before it is stamped.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: VerificationStatus,
    pub identity: Option<String>,
    pub scopes: Vec<String>,
    pub detail: Option<String>,
}

impl Answer {
    pub fn unknown(detail: impl Into<String>) -> Self {
        Answer {
            status: VerificationStatus::Unknown,
            identity: None,
            scopes: Vec::new(),
            detail: Some(detail.into()),
        }
    }

    pub fn revoked(detail: impl Into<String>) -> Self {
        Answer {
            status: VerificationStatus::Revoked,
            identity: None,
            scopes: Vec::new(),
            detail: Some(detail.into()),
        }
    }

    pub fn live(identity: Option<String>) -> Self {
        Answer {
            status: VerificationStatus::Live,
            identity,
            scopes: Vec::new(),
            detail: None,
        }
    }
}

/// A hint value that may go into a host name or a path: letters, digits, `-` and `_` only, so
/// a crafted file cannot steer the request to another host or path.
fn safe_hint<'a>(m: &'a SecretMatch, name: &str) -> Result<&'a str, Answer> {
    let v = m
        .hints
        .get(name)
        .ok_or_else(|| Answer::unknown(format!("no {name} found beside it to verify with")))?;
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(v)
    } else {
        Err(Answer::unknown(format!(
            "the {name} beside it is malformed"
        )))
    }
}

/// The secret may go into a URL path only when it is made of characters that need no
/// escaping there (Telegram's tokens are).
fn path_safe(secret: &str) -> bool {
    secret
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// Build the request for `m`, to `base_override` when the user named one.
pub fn request(
    client: &reqwest::Client,
    issuer: &Issuer,
    m: &SecretMatch,
    base_override: Option<&str>,
) -> Result<reqwest::RequestBuilder, Answer> {
    let secret = m.secret.expose();
    let base = match (base_override, issuer.host_hint) {
        (Some(b), _) => b.trim_end_matches('/').to_string(),
        (None, Some(h)) => issuer.base.replace("{hint}", safe_hint(m, h)?),
        (None, None) => issuer.base.to_string(),
    };
    let mut path = issuer.path.to_string();
    if let Some(h) = issuer.path_hint {
        path = path.replace("{hint}", safe_hint(m, h)?);
    }
    if matches!(issuer.auth, Auth::InPath) {
        if !path_safe(secret) {
            return Err(Answer::unknown(
                "the token has characters a URL path cannot hold",
            ));
        }
        path = path.replace("{secret}", secret);
    }
    let method = reqwest::Method::from_bytes(issuer.method.as_bytes())
        .map_err(|_| Answer::unknown("bad method in the issuer table"))?;
    let mut rb = client.request(method, format!("{base}{path}"));
    for (k, v) in issuer.headers {
        rb = rb.header(*k, *v);
    }
    rb = match issuer.auth {
        Auth::Bearer => rb.bearer_auth(secret),
        Auth::Scheme(s) => rb.header("authorization", format!("{s} {secret}")),
        Auth::Header(h) => rb.header(h, secret),
        Auth::BasicPassword(user) => rb.basic_auth(user, Some(secret)),
        Auth::BasicHintUser(h) => rb.basic_auth(safe_hint(m, h)?, Some(secret)),
        Auth::InPath => rb,
    };
    if let Some(b) = issuer.body {
        rb = rb.header("content-type", "application/json").body(b);
    }
    Ok(rb)
}

/// Read the issuer's answer. Only the statuses the issuer documents for an unknown credential
/// are `revoked`; a 5xx, a throttle or any other surprise is `unknown`.
pub fn read_answer(
    issuer: &Issuer,
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
) -> Answer {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if issuer.revoked.contains(&status) {
        return Answer::revoked(format!("{} answered {status}", issuer.provider));
    }
    if !(200..300).contains(&status) {
        return Answer::unknown(match status {
            429 => format!("{} is throttling (429)", issuer.provider),
            500..=599 => format!("{} failed ({status})", issuer.provider),
            _ => format!("{} answered {status}", issuer.provider),
        });
    }
    if let Accept::TrueAt(ptr) = issuer.accept {
        if json.pointer(ptr) != Some(&Value::Bool(true)) {
            let error = issuer
                .error_at
                .and_then(|(p, revoking)| {
                    let e = json.pointer(p)?.as_str()?;
                    Some((e, revoking.contains(&e)))
                })
                .map(|(e, revoking)| (sanitize(e), revoking));
            return match error {
                Some((e, true)) => Answer::revoked(format!("{}: {e}", issuer.provider)),
                Some((e, false)) => Answer::unknown(format!("{}: {e}", issuer.provider)),
                None if json.pointer(ptr) == Some(&Value::Bool(false)) => {
                    Answer::revoked(format!("{} said it is not valid", issuer.provider))
                }
                None => Answer::unknown(format!("{} gave an unexpected answer", issuer.provider)),
            };
        }
    }
    let mut answer = Answer::live(identity(issuer, headers, &json));
    answer.scopes = scopes(issuer, headers, &json);
    answer
}

fn identity(issuer: &Issuer, headers: &reqwest::header::HeaderMap, json: &Value) -> Option<String> {
    let parts: Vec<String> = issuer
        .identity
        .iter()
        .filter_map(|p| match json.pointer(p)? {
            Value::String(s) if !s.is_empty() => Some(sanitize(s)),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .collect();
    if !parts.is_empty() {
        return Some(parts.join("/"));
    }
    let h = headers.get(issuer.identity_header?)?.to_str().ok()?;
    Some(sanitize(h))
}

fn scopes(issuer: &Issuer, headers: &reqwest::header::HeaderMap, json: &Value) -> Vec<String> {
    if let Some(h) = issuer.scopes_header.and_then(|h| headers.get(h)) {
        return h
            .to_str()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(sanitize)
            .collect();
    }
    let Some(Value::Array(items)) = issuer.scopes.and_then(|p| json.pointer(p)) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|v| match v {
            Value::String(s) => Some(sanitize(s)),
            Value::Object(o) => o.get("handle").and_then(Value::as_str).map(sanitize),
            _ => None,
        })
        .take(100)
        .collect()
}

/// What an issuer said, cut to a short single line (it is quoted in reports).
pub fn sanitize(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_at_most_one_issuer_and_every_issuer_is_complete() {
        let mut seen = std::collections::HashSet::new();
        for i in ISSUERS {
            assert!(!i.provider.is_empty() && !i.rules.is_empty(), "{i:?}");
            assert!(
                i.base.starts_with("https://"),
                "{} must use https",
                i.provider
            );
            assert!(i.path.starts_with('/'), "{}", i.provider);
            assert_eq!(
                i.path.contains("{secret}"),
                matches!(i.auth, Auth::InPath),
                "{}",
                i.provider
            );
            for r in i.rules {
                assert!(seen.insert(*r), "{r} has two issuers");
            }
        }
    }

    #[test]
    fn slack_errors_read_as_revoked_or_unknown() {
        let slack = issuer_for("slack-bot-token").unwrap();
        let h = reqwest::header::HeaderMap::new();
        let bad = read_answer(slack, 200, &h, br#"{"ok":false,"error":"invalid_auth"}"#);
        assert_eq!(bad.status, VerificationStatus::Revoked);
        let odd = read_answer(slack, 200, &h, br#"{"ok":false,"error":"ratelimited"}"#);
        assert_eq!(odd.status, VerificationStatus::Unknown);
        let ok = read_answer(slack, 200, &h, br#"{"ok":true,"team":"Acme","user":"bot"}"#);
        assert_eq!(ok.identity.as_deref(), Some("Acme/bot"));
    }

    #[test]
    fn server_errors_and_throttles_are_never_revoked() {
        let gh = issuer_for("github-pat-classic").unwrap();
        let h = reqwest::header::HeaderMap::new();
        for status in [500, 502, 503, 429, 403, 302] {
            assert_eq!(
                read_answer(gh, status, &h, b"").status,
                VerificationStatus::Unknown,
                "{status}"
            );
        }
    }
}
