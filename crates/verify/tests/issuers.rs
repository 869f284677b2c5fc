//! Verification against real servers: moto's STS (signatures checked against the keys it
//! issued), and local HTTP servers standing in for GitHub, Slack, Stripe, Telegram, Twilio and
//! Google's token endpoint, each accepting exactly one credential presented the way the
//! issuer wants it. Secrets are found by the real rule engine in real text.
#![allow(clippy::too_many_lines)] // a scenario test reads as one story, set-up to assertions
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use trustmap_model::{NoProgress, SecretMatch, Verification, VerificationStatus};
use trustmap_rules::validators::base62_crc32;
use trustmap_rules::Engine;
use trustmap_testkit::http::{Response, Server};
use trustmap_verify::{Verifier, VerifyOptions};

fn random(n: usize, set: &[u8], rng: &mut fastrand::Rng) -> String {
    (0..n)
        .map(|_| set[rng.usize(..set.len())] as char)
        .collect()
}
const AN: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn github_token(rng: &mut fastrand::Rng) -> String {
    let body = random(30, AN, rng);
    format!("ghp_{body}{}", base62_crc32(body.as_bytes()))
}

fn found(files: &[(&str, String)]) -> Vec<SecretMatch> {
    let engine = Engine::builtin().expect("builtin rules");
    files
        .iter()
        .flat_map(|(path, text)| engine.secret_matches(text.as_bytes(), path))
        .collect()
}

fn verifier(endpoints: &[(&str, &str)], timeout: Duration) -> Verifier {
    let options = VerifyOptions {
        endpoints: endpoints
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect::<BTreeMap<_, _>>(),
        requests_per_second: 200.0,
        timeout,
        ..VerifyOptions::default()
    };
    Verifier::new(options, Arc::new(NoProgress)).expect("options are valid")
}

fn run(v: &Verifier, matches: &mut [SecretMatch]) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(v.verify_all(matches));
}

fn answer<'a>(ms: &'a [SecretMatch], path: &str, rule: &str) -> &'a Verification {
    ms.iter()
        .find(|m| m.path == path && m.rule_id == rule)
        .unwrap_or_else(|| panic!("no {rule} match in {path}: {ms:?}"))
        .verification
        .as_ref()
        .unwrap_or_else(|| panic!("{rule} in {path} was not verified"))
}

/// No part of a verification may hold any found secret.
fn assert_no_secret_in(ms: &[SecretMatch]) {
    for m in ms {
        let text = serde_json::to_string(&m.verification).unwrap();
        for other in ms {
            assert!(
                !text.contains(other.secret.expose()),
                "a secret leaked into {text}"
            );
        }
    }
}

#[test]
fn aws_key_pairs_are_asked_of_sts_and_only_a_refused_key_is_revoked() -> anyhow::Result<()> {
    let (moto, key) = trustmap_testkit::moto::Moto::start_authenticating("123456789012")?;
    let (id, secret) = (key.id.clone(), key.secret.clone());
    let mut rng = fastrand::Rng::with_seed(7);
    let b64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let other_secret = random(40, b64, &mut rng);
    let unknown_id = trustmap_rules::validators::aws_key_id_for_account(123_456_789_012, 99);
    let creds = |id: &str, s: &str| {
        format!("[default]\naws_access_key_id = {id}\naws_secret_access_key = {s}\n")
    };
    let mut ms = found(&[
        ("live/credentials", creds(&id, &secret)),
        ("gone/credentials", creds(&unknown_id, &other_secret)),
        ("mixed/credentials", creds(&id, &other_secret)),
        (
            "alone/.env",
            format!("AWS_SECRET_ACCESS_KEY={}\n", random(40, b64, &mut rng)),
        ),
    ]);
    let v = verifier(&[("aws", moto.endpoint.as_str())], Duration::from_secs(20));
    run(&v, &mut ms);

    let live = answer(&ms, "live/credentials", "aws-secret-access-key");
    assert_eq!(live.status, VerificationStatus::Live);
    assert_eq!(
        live.identity.as_deref(),
        Some(format!("arn:aws:iam::123456789012:user/{}", key.user).as_str())
    );
    // The key id shares the answer of the pair it belongs to, and each names the other.
    let id_answer = answer(&ms, "live/credentials", "aws-access-key-id");
    assert_eq!(
        (id_answer.status, &id_answer.identity),
        (live.status, &live.identity)
    );
    let digest_of = |rule: &str| {
        ms.iter()
            .find(|m| m.path == "live/credentials" && m.rule_id == rule)
            .unwrap()
            .secret
            .digest()
    };
    assert_eq!(
        id_answer.paired_with,
        Some(digest_of("aws-secret-access-key"))
    );
    assert_eq!(live.paired_with, Some(digest_of("aws-access-key-id")));
    let gone = answer(&ms, "gone/credentials", "aws-secret-access-key");
    assert_eq!(gone.status, VerificationStatus::Revoked, "{gone:?}");
    // A known key id with a secret that is not its own is not proof the key is gone.
    let mixed = answer(&ms, "mixed/credentials", "aws-secret-access-key");
    assert_eq!(mixed.status, VerificationStatus::Unknown, "{mixed:?}");
    let alone = answer(&ms, "alone/.env", "aws-secret-access-key");
    assert_eq!(alone.status, VerificationStatus::Unknown);
    assert!(alone
        .detail
        .as_deref()
        .unwrap()
        .contains("no access key id"));
    assert_eq!(v.tally().requests, 3, "{:?}", v.tally());
    assert_no_secret_in(&ms);
    Ok(())
}

/// One server for five issuers; each accepts exactly one credential, presented its own way.
#[derive(Clone)]
struct Issuers {
    github: String,
    slack: String,
    stripe: String,
    telegram: String,
    twilio_sid: String,
    twilio_token: String,
}

fn start_issuers(good: Issuers) -> Server {
    Server::start(move |req| {
        let (path, _) = req.route();
        let bearer = req
            .header("authorization")
            .and_then(|a| a.strip_prefix("Bearer "));
        match path {
            "/user" if bearer == Some(good.github.as_str()) => {
                Response::json(200, &serde_json::json!({"login": "acme-ci-bot", "id": 42}))
                    .header("x-oauth-scopes", "repo, read:org")
            }
            "/user" => Response::json(401, &serde_json::json!({"message": "Bad credentials"})),
            "/api/auth.test" if req.method == "POST" && bearer == Some(good.slack.as_str()) => {
                Response::json(
                    200,
                    &serde_json::json!({"ok": true, "team": "Acme", "user": "deploy-bot"}),
                )
            }
            // Slack answers 200 to a bad token; this one even echoes what it was sent.
            "/api/auth.test" => Response::json(
                200,
                &serde_json::json!({"ok": false, "error": "invalid_auth",
                    "warning": bearer.unwrap_or_default()}),
            ),
            "/v1/account" if bearer == Some(good.stripe.as_str()) => {
                Response::json(200, &serde_json::json!({"id": "acct_1Acme"}))
            }
            "/v1/account" => Response::json(401, &serde_json::json!({"error": {}})),
            p if p.starts_with("/bot") => {
                if p == format!("/bot{}/getMe", good.telegram) {
                    Response::json(
                        200,
                        &serde_json::json!({"ok": true, "result": {"username": "acme_alerts_bot"}}),
                    )
                } else {
                    Response::json(401, &serde_json::json!({"ok": false, "description": p}))
                }
            }
            p if p.starts_with("/2010-04-01/Accounts/") => {
                use base64::Engine as _;
                let expected = base64::engine::general_purpose::STANDARD
                    .encode(format!("{}:{}", good.twilio_sid, good.twilio_token));
                let basic = req
                    .header("authorization")
                    .and_then(|a| a.strip_prefix("Basic "));
                if p == format!("/2010-04-01/Accounts/{}.json", good.twilio_sid)
                    && basic == Some(expected.as_str())
                {
                    Response::json(
                        200,
                        &serde_json::json!({"sid": good.twilio_sid,
                        "friendly_name": "Acme SMS"}),
                    )
                } else {
                    Response::json(401, &serde_json::json!({"code": 20003}))
                }
            }
            _ => Response::json(404, &serde_json::json!({})),
        }
    })
}

#[test]
fn each_issuer_is_asked_its_own_way_and_answers_once_per_secret() {
    let mut rng = fastrand::Rng::with_seed(11);
    let digits = b"0123456789";
    let hex = b"0123456789abcdef";
    let url = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let slack = |rng: &mut fastrand::Rng| {
        format!(
            "xoxb-{}-{}-{}",
            random(12, digits, rng),
            random(13, digits, rng),
            random(24, AN, rng)
        )
    };
    let telegram =
        |rng: &mut fastrand::Rng| format!("{}:AA{}", random(10, digits, rng), random(33, url, rng));
    let good = Issuers {
        github: github_token(&mut rng),
        slack: slack(&mut rng),
        stripe: format!("sk_live_{}", random(40, AN, &mut rng)),
        telegram: telegram(&mut rng),
        twilio_sid: format!("AC{}", random(32, hex, &mut rng)),
        twilio_token: random(32, AN, &mut rng),
    };
    let (bad_github, bad_slack, bad_telegram) =
        (github_token(&mut rng), slack(&mut rng), telegram(&mut rng));
    let files = vec![
        (
            "ci/.env",
            format!(
                "GITHUB_TOKEN={}\nSLACK_BOT_TOKEN={}\n",
                good.github, good.slack
            ),
        ),
        // The same GitHub token again: asked once.
        ("old/.env", format!("GH_TOKEN={}\n", good.github)),
        (
            "gone/.env",
            format!("GITHUB_TOKEN={bad_github}\nSLACK_TOKEN={bad_slack}\n"),
        ),
        ("pay/config.yml", format!("stripe_key: {}\n", good.stripe)),
        (
            "bots/telegram.ini",
            format!("token = {}\nold = {bad_telegram}\n", good.telegram),
        ),
        (
            "sms/.env",
            format!(
                "TWILIO_ACCOUNT_SID={}\nTWILIO_AUTH_TOKEN={}\n",
                good.twilio_sid, good.twilio_token
            ),
        ),
    ];
    let server = start_issuers(good.clone());
    let base = server.base.as_str();
    let v = verifier(
        &[
            ("github", base),
            ("slack", base),
            ("stripe", base),
            ("telegram", base),
            ("twilio", base),
        ],
        Duration::from_secs(10),
    );
    let mut ms = found(&files);
    run(&v, &mut ms);

    let gh = answer(&ms, "ci/.env", "github-pat-classic");
    assert_eq!(gh.status, VerificationStatus::Live);
    assert_eq!(gh.identity.as_deref(), Some("acme-ci-bot"));
    assert_eq!(gh.scopes, vec!["repo", "read:org"]);
    assert_eq!(
        answer(&ms, "old/.env", "github-pat-classic").status,
        VerificationStatus::Live
    );
    let slack_live = answer(&ms, "ci/.env", "slack-bot-token");
    assert_eq!(slack_live.identity.as_deref(), Some("Acme/deploy-bot"));
    assert_eq!(
        answer(&ms, "gone/.env", "github-pat-classic").status,
        VerificationStatus::Revoked
    );
    let slack_gone = answer(&ms, "gone/.env", "slack-bot-token");
    assert_eq!(slack_gone.status, VerificationStatus::Revoked);
    assert_eq!(slack_gone.detail.as_deref(), Some("slack: invalid_auth"));
    assert_eq!(
        answer(&ms, "pay/config.yml", "stripe-secret-key")
            .identity
            .as_deref(),
        Some("acct_1Acme")
    );
    let bots: Vec<VerificationStatus> = ms
        .iter()
        .filter(|m| m.path == "bots/telegram.ini")
        .map(|m| m.verification.as_ref().unwrap().status)
        .collect();
    assert_eq!(
        bots,
        vec![VerificationStatus::Live, VerificationStatus::Revoked]
    );
    let sms = answer(&ms, "sms/.env", "twilio-auth-token");
    assert_eq!(sms.status, VerificationStatus::Live, "{sms:?}");
    assert_eq!(
        sms.identity.as_deref(),
        Some(format!("Acme SMS/{}", good.twilio_sid).as_str())
    );

    // Eight distinct secrets, eight requests: the repeated token came from the cache.
    assert_eq!(server.requests().len(), 8);
    let t = v.tally();
    assert_eq!(
        (t.requests, t.cached, t.live, t.revoked),
        (8, 1, 6, 3),
        "{t:?}"
    );
    assert_no_secret_in(&ms);

    // Asked again in the same run: nothing more is sent.
    let mut again = found(&files);
    run(&v, &mut again);
    assert_eq!(server.requests().len(), 8);
}

#[test]
fn a_slow_issuer_a_failing_one_and_an_unreachable_one_are_unknown_never_revoked() {
    let mut rng = fastrand::Rng::with_seed(5);
    let server = Server::start(|req| {
        if req.path.starts_with("/v1/account") {
            std::thread::sleep(Duration::from_secs(3));
        }
        Response::json(500, &serde_json::json!({"message": "internal error"}))
    });
    // A port nothing listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let telegram = format!(
        "{}:AA{}",
        random(10, b"0123456789", &mut rng),
        random(33, AN, &mut rng)
    );
    let mut ms = found(&[(
        "app/.env",
        format!(
            "STRIPE_KEY=sk_live_{}\nGITHUB_TOKEN={}\nBOT={telegram}\n",
            random(40, AN, &mut rng),
            github_token(&mut rng)
        ),
    )]);
    let base = server.base.as_str();
    let v = verifier(
        &[
            ("stripe", base),
            ("github", base),
            ("telegram", closed.as_str()),
        ],
        Duration::from_secs(1),
    );
    run(&v, &mut ms);
    let slow = answer(&ms, "app/.env", "stripe-secret-key");
    assert_eq!(slow.status, VerificationStatus::Unknown);
    assert_eq!(slow.detail.as_deref(), Some("stripe: no answer in time"));
    let failing = answer(&ms, "app/.env", "github-pat-classic");
    assert_eq!(failing.status, VerificationStatus::Unknown);
    assert_eq!(failing.detail.as_deref(), Some("github failed (500)"));
    let unreachable = answer(&ms, "app/.env", "telegram-bot-token");
    assert_eq!(unreachable.status, VerificationStatus::Unknown);
    // The token rides in Telegram's URL: the error must not quote the URL.
    assert_eq!(
        unreachable.detail.as_deref(),
        Some("telegram: cannot connect")
    );
    assert_no_secret_in(&ms);
}

fn der(pem: &str) -> Vec<u8> {
    use base64::Engine as _;
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

#[test]
fn a_google_key_is_live_only_when_the_token_endpoint_accepts_its_signature() {
    use base64::Engine as _;
    let rsa_key = || trustmap_testkit::tokens::rsa_private_key_pem().unwrap();
    let (held, deleted) = (rsa_key(), rsa_key());
    let public = ring::signature::RsaKeyPair::from_pkcs8(&der(&held))
        .unwrap()
        .public()
        .as_ref()
        .to_vec();
    let email = "exporter@acme-prod.iam.gserviceaccount.com";
    let server = Server::start(move |req| {
        let form = req.form();
        let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let jwt = field("assertion").unwrap_or_default();
        let parts: Vec<&str> = jwt.split('.').collect();
        let good = parts.len() == 3
            && field("grant_type").as_deref()
                == Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
            && base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(parts[2])
                .is_ok_and(|sig| {
                    ring::signature::UnparsedPublicKey::new(
                        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                        &public,
                    )
                    .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
                    .is_ok()
                });
        if good {
            Response::json(
                200,
                &serde_json::json!({"access_token": "ya29.x", "expires_in": 3599}),
            )
        } else {
            Response::json(
                400,
                &serde_json::json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}),
            )
        }
    });
    // In the order Google writes key files: `type` first.
    let key_file = |pem: &str, id: &str| {
        format!(
            r#"{{"type": "service_account", "project_id": "acme-prod", "private_key_id": "{id}", "private_key": {}, "client_email": "{email}"}}"#,
            serde_json::Value::String(pem.to_string())
        )
    };
    let mut ms = found(&[
        ("keys/held.json", key_file(&held, &"a".repeat(40))),
        ("keys/deleted.json", key_file(&deleted, &"b".repeat(40))),
    ]);
    let v = verifier(&[("google", server.base.as_str())], Duration::from_secs(10));
    run(&v, &mut ms);
    let live = answer(&ms, "keys/held.json", "gcp-service-account-key");
    assert_eq!(live.status, VerificationStatus::Live, "{live:?}");
    assert_eq!(live.identity.as_deref(), Some(email));
    let gone = answer(&ms, "keys/deleted.json", "gcp-service-account-key");
    assert_eq!(gone.status, VerificationStatus::Revoked);
    assert_eq!(
        gone.detail.as_deref(),
        Some("google: Invalid JWT Signature.")
    );
    assert_no_secret_in(&ms);
}
