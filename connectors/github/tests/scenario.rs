//! The github connector through the real octocrab client against a stateful local server
//! holding a designed estate (testkit::github): apps owned by a partner, by an unknown org and
//! by a revoked partner; SSO-authorised tokens with their last eight characters; a
//! fine-grained token with write access; deploy keys; webhooks; an outside collaborator;
//! paging two items per page; a refused repository; a secondary rate limit; broken bodies.
#![allow(clippy::too_many_lines)] // a scenario test reads as one story, set-up to assertions
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use trustmap_connector_github::{GithubConfig, GithubConnector};
use trustmap_model::Observation;
use trustmap_testkit::github::{self, Estate, TOKEN};
use trustmap_testkit::run::{run_connector, Run};

async fn sweep(config: &str, dir: &std::path::Path) -> Run {
    let config: GithubConfig =
        trustmap_connector::parse_config(toml::from_str(config).unwrap()).unwrap();
    let c = GithubConnector::new("gh".into(), config).unwrap();
    run_connector(&c, dir).await
}

fn identity<'a>(obs: &'a [Observation], id: &str) -> &'a trustmap_model::IdentityObs {
    obs.iter()
        .find_map(|o| match o {
            Observation::Identity(i) if i.id == id => Some(i),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no identity {id}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_designed_estate_through_octocrab() {
    std::env::set_var("TRUSTMAP_TEST_GH_TOKEN", TOKEN);
    let server = github::start(Estate::scenario("a1b2c3d4"));
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "org = \"corp\"\napi_url = \"{}\"\ntoken_env = \"TRUSTMAP_TEST_GH_TOKEN\"\nmachine_users = [\"*-bot\"]\nconcurrency = 3\n",
        server.base
    );
    let run = sweep(&config, dir.path()).await;
    run.result.as_ref().unwrap();
    let obs = &run.obs;

    // Apps, with the owner that attributes them and the permissions as scopes.
    let acme = identity(obs, "github:corp:app/acme-bi");
    assert_eq!(acme.kind, "github_app_installation");
    assert!(acme
        .identifiers
        .iter()
        .any(|i| i == "github_org:acme-analytics"));
    assert!(acme
        .identifiers
        .iter()
        .any(|i| i == "domain:bi.acme.example"));
    assert!(acme.scopes.iter().any(|i| i == "github:contents:read"));
    let shady = identity(obs, "github:corp:app/shady-sync");
    assert!(shady
        .identifiers
        .iter()
        .any(|i| i == "github_org:unknown-dev-shop"));
    assert!(identity(obs, "github:corp:app/oldco-deployer").active);
    assert!(
        !identity(obs, "github:corp:app/observe-hq").active,
        "suspended"
    );

    // SSO authorisation: the classic PAT with its last eight characters, held by acme-bot.
    let pat = obs
        .iter()
        .find_map(|o| match o {
            Observation::Credential(c) if c.kind == "github_pat_classic" => Some(c),
            _ => None,
        })
        .unwrap();
    assert_eq!(pat.holder, "github:user/acme-bot");
    assert_eq!(pat.identifiers, vec!["last8:a1b2c3d4".to_string()]);
    assert!(pat.scopes.iter().any(|i| i == "github:repo"));
    let fg = obs
        .iter()
        .find_map(|o| match o {
            Observation::Credential(c) if c.kind == "github_fine_grained_pat" => Some(c),
            _ => None,
        })
        .unwrap();
    assert!(fg.scopes.iter().any(|i| i == "github:contents:write"));
    assert_eq!(fg.expires.as_deref(), Some("2027-01-01T00:00:00Z"));
    assert_eq!(
        identity(obs, "github:user/acme-bot").kind,
        "github_machine_user"
    );
    assert_eq!(
        identity(obs, "github:user/deploy-bot").kind,
        "github_machine_user"
    );

    // Deploy keys on repositories from every page, webhooks by host, the outside collaborator.
    let key = identity(obs, "github:corp/payments:deploy-key/11");
    assert_eq!(key.name, "datapipe-etl");
    assert_eq!(key.scopes, vec!["github:contents:write".to_string()]);
    assert_eq!(
        identity(obs, "github:corp/infra:deploy-key/13").name,
        "oldco-migration"
    );
    let hook = identity(obs, "github:corp:hook/21");
    assert!(hook
        .identifiers
        .iter()
        .any(|i| i == "domain:hooks.acme.example"));
    assert!(identity(obs, "github:corp/web:hook/22")
        .name
        .contains("status.unknown-saas.example"));
    let oldco = identity(obs, "github:user/oldco-dev");
    assert_eq!(oldco.kind, "github_outside_collaborator");
    assert!(oldco.scopes.iter().any(|i| i == "github:contents:write"));

    // What could not be seen is a gap naming the endpoint and the reason; the rest is kept.
    let gaps = run.gaps.join("\n");
    assert!(
        gaps.contains("corp/vault: deploy keys")
            && gaps.contains("HTTP 403")
            && gaps.contains("needs scopes: repo"),
        "{gaps}"
    );
    assert!(
        gaps.contains("corp/infra: webhooks") && gaps.contains("not the documented JSON"),
        "{gaps}"
    );
    assert!(
        gaps.contains("organisation Actions variables") && gaps.contains("got HTML, not JSON"),
        "{gaps}"
    );
    assert!(
        gaps.contains("app installations") && gaps.contains("missing field `app_slug`"),
        "{gaps}"
    );
    assert_eq!(run.gaps.len(), 4, "{gaps}");

    // The secondary rate limit was waited out and retried, not reported.
    let hooks_calls = server
        .requests()
        .iter()
        .filter(|r| r.route().0 == "/orgs/corp/hooks")
        .count();
    assert_eq!(hooks_calls, 2);
    // Paging: five repositories two per page is three requests.
    let repo_pages = server
        .requests()
        .iter()
        .filter(|r| r.route().0 == "/orgs/corp/repos")
        .count();
    assert_eq!(repo_pages, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_and_snapshot_give_the_same_observations() {
    std::env::set_var("TRUSTMAP_TEST_GH_TOKEN", TOKEN);
    let server = github::start(Estate::scenario("a1b2c3d4"));
    let dir = tempfile::tempdir().unwrap();
    let config: GithubConfig = trustmap_connector::parse_config(
        toml::from_str(&format!(
            "org = \"corp\"\napi_url = \"{}\"\ntoken_env = \"TRUSTMAP_TEST_GH_TOKEN\"\nmachine_users = [\"*-bot\"]\n",
            server.base
        ))
        .unwrap(),
    )
    .unwrap();
    let inv = trustmap_connector_github::export(&config, dir.path())
        .await
        .unwrap();
    assert_eq!(inv.repositories.len(), 5);
    let text = serde_json::to_string_pretty(&inv).unwrap();
    assert!(
        !text.contains("********"),
        "webhook secrets are not exported"
    );
    std::fs::write(dir.path().join("inventory.json"), &text).unwrap();

    let live = sweep(
        &format!(
            "org = \"corp\"\napi_url = \"{}\"\ntoken_env = \"TRUSTMAP_TEST_GH_TOKEN\"\nmachine_users = [\"*-bot\"]\n",
            server.base
        ),
        dir.path(),
    )
    .await;
    let offline = sweep("snapshot_file = \"inventory.json\"\n", dir.path()).await;
    offline.result.as_ref().unwrap();
    let norm = |obs: &[Observation]| {
        let mut v: Vec<String> = obs
            .iter()
            .map(|o| {
                let mut o = o.clone();
                if let Observation::Identity(i) = &mut o {
                    i.provenance = Default::default();
                } else if let Observation::Credential(c) = &mut o {
                    c.provenance = Default::default();
                }
                serde_json::to_string(&o).unwrap()
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(norm(&live.obs), norm(&offline.obs));
    assert_eq!(offline.gaps.len(), live.gaps.len());

    // Bad credentials stop the sweep with a clear message; a broken snapshot names its line.
    std::env::set_var("TRUSTMAP_TEST_GH_BAD", "wrong");
    let bad = sweep(
        &format!(
            "org = \"corp\"\napi_url = \"{}\"\ntoken_env = \"TRUSTMAP_TEST_GH_BAD\"\n",
            server.base
        ),
        dir.path(),
    )
    .await;
    let err = bad.result.unwrap_err();
    assert!(
        err.message.contains("HTTP 401: Bad credentials"),
        "{}",
        err.message
    );
    std::fs::write(
        dir.path().join("broken.json"),
        "{\n  \"org\": \"corp\",\n  \"installations\": 7\n}\n",
    )
    .unwrap();
    let broken = sweep("snapshot_file = \"broken.json\"\n", dir.path()).await;
    let err = broken.result.unwrap_err();
    assert!(err.message.contains("broken.json:3:"), "{}", err.message);
    let missing = sweep(
        "org = \"corp\"\ntoken_env = \"TRUSTMAP_TEST_GH_UNSET\"\n",
        dir.path(),
    )
    .await;
    assert!(missing
        .result
        .unwrap_err()
        .message
        .contains("TRUSTMAP_TEST_GH_UNSET"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_app_authentication_buys_an_installation_token() {
    let server = github::start(Estate::scenario("a1b2c3d4"));
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("app.pem");
    let made = std::process::Command::new("openssl")
        .args(["genrsa", "-traditional", "-out"])
        .arg(&key)
        .arg("2048")
        .output()
        .expect("openssl makes the test app's private key");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let config = format!(
        "org = \"corp\"\napi_url = \"{}\"\napp_id = 9911\nprivate_key_file = \"app.pem\"\ninstallation_id = 4242\n",
        server.base
    );
    let run = sweep(&config, dir.path()).await;
    run.result.as_ref().unwrap();
    assert!(run
        .obs
        .iter()
        .any(|o| matches!(o, Observation::Identity(i) if i.id == "github:corp:app/acme-bi")));
    let posts: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 1, "one installation token for the whole sweep");

    // A key that is not a PEM RSA key is a configuration error naming the file.
    std::fs::write(dir.path().join("bad.pem"), "not a key").unwrap();
    let bad = sweep(&config.replace("app.pem", "bad.pem"), dir.path()).await;
    let err = bad.result.unwrap_err();
    assert!(
        err.message.contains("bad.pem") && err.message.contains("RSA private key"),
        "{}",
        err.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_repos_clones_and_scans_content() {
    std::env::set_var("TRUSTMAP_TEST_GH_TOKEN", TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let remote = dir.path().join("remotes/payments");
    trustmap_testkit::git::init(&remote);
    let body = "Zq8rVb3kLm2NpT6wYx1cD4fGh7jK9s";
    let token = format!(
        "ghp_{body}{}",
        trustmap_rules::base62_crc32(body.as_bytes())
    );
    trustmap_testkit::git::commit(
        &remote,
        &[("ci/sync.env", &format!("GH_TOKEN={token}\n"))],
        "ci",
        "2026-03-01T10:00:00Z",
    );
    let mut estate = Estate::scenario(&token[token.len() - 8..]);
    estate.clone_base = Some(format!("file://{}", dir.path().join("remotes").display()));
    let server = github::start(estate);
    let config = format!(
        "org = \"corp\"\napi_url = \"{}\"\ntoken_env = \"TRUSTMAP_TEST_GH_TOKEN\"\nscan_repos = true\ncache_dir = \"cache\"\n",
        server.base
    );
    for round in 0..2 {
        // The second round updates the cached clone instead of cloning again.
        let run = sweep(&config, dir.path()).await;
        run.result.as_ref().unwrap();
        let secret = run
            .obs
            .iter()
            .find_map(|o| match o {
                Observation::Secret(s) => Some(s),
                _ => None,
            })
            .unwrap_or_else(|| panic!("round {round}: no secret found in corp/payments"));
        assert_eq!(secret.path, "corp/payments/ci/sync.env");
        assert!(!secret.redacted.contains(&token));
        let gaps = run.gaps.join("\n");
        assert!(gaps.contains("corp/web: content not scanned"), "{gaps}");
        assert!(!gaps.contains("corp/payments"), "{gaps}");
        assert!(dir.path().join("cache/corp/payments/.git").exists());
    }
}

/// The throttling soak: a 2,000-repository organisation whose API answers 30% of requests
/// with a rate limit (429s, secondary limits, an exhausted primary limit now and then).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_2000_repository_org_is_covered_in_full_within_budget() {
    std::env::set_var("TRUSTMAP_TEST_GH_SOAK_TOKEN", TOKEN);
    let mut estate = Estate::generated(2000, 20, std::time::Duration::ZERO);
    estate.throttle_percent = 30;
    let server = github::start(estate);
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "org = \"bigcorp\"\napi_url = \"{}\"\ntoken_env = \"TRUSTMAP_TEST_GH_SOAK_TOKEN\"\nconcurrency = 8\n",
        server.base
    );
    let run = sweep(&config, dir.path()).await;
    run.result.as_ref().unwrap();
    // The generated org refuses what a token cannot see (fine-grained grants, SSO); nothing
    // else is a gap, and no gap is a rate limit.
    let unexpected: Vec<&String> = run
        .gaps
        .iter()
        .filter(|g| {
            !g.contains("personal-access-token") && !g.contains("credential-authorizations")
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "every call got through: {unexpected:?}"
    );
    // Every repository's deploy key was seen.
    let repos: std::collections::HashSet<&str> = run
        .obs
        .iter()
        .filter_map(|o| match o {
            Observation::Identity(i) if i.kind == "github_deploy_key" => i.id.split(':').nth(1),
            _ => None,
        })
        .collect();
    assert_eq!(repos.len(), 2000, "repositories covered");
    // Within budget: each throttled request was retried once, nothing more.
    let requests = server.requests();
    let limited = requests
        .iter()
        .filter(|r| r.answered == 429 || r.answered == 403)
        .count();
    let answered = requests.len() - limited;
    let share = limited as f64 / requests.len() as f64;
    assert!(
        (0.15..0.35).contains(&share),
        "{limited} of {} throttled",
        requests.len()
    );
    // No retry storm: the server never throttles a request twice in a row, so a path asked
    // more than twice means the connector retried what had already been answered.
    let mut per_path: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for r in &requests {
        *per_path.entry(r.path.as_str()).or_default() += 1;
    }
    let most = per_path.values().copied().max().unwrap_or(0);
    assert!(
        most <= 2 && limited <= answered,
        "no retry storm: a path was requested {most} times"
    );
    // The wait is reported in the connector's notes.
    let note = run
        .notes
        .iter()
        .find(|n| n.contains("rate limits answered"))
        .unwrap();
    assert!(
        note.contains(&format!("{} requests", requests.len())),
        "{note}"
    );
    let reported: usize = note
        .split("answered ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(
        reported <= limited && reported * 100 >= limited * 99,
        "{note} (the server throttled {limited})"
    );
    assert!(note.contains(" s waited"), "{note}");
    println!("{note}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_shards_together_see_what_one_sweep_sees_each_thing_once() {
    std::env::set_var("TRUSTMAP_TEST_GH_TOKEN", TOKEN);
    let server = github::start(Estate::scenario("a1b2c3d4"));
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "org = \"corp\"\napi_url = \"{}\"\ntoken_env = \"TRUSTMAP_TEST_GH_TOKEN\"\nmachine_users = [\"*-bot\"]\n",
        server.base
    );
    let whole = sweep(&config, dir.path()).await;
    whole.result.as_ref().unwrap();
    let text = |obs: &[Observation]| -> Vec<String> {
        obs.iter()
            .map(|o| serde_json::to_string(o).unwrap())
            .collect()
    };
    let mut expected = text(&whole.obs);
    expected.sort();
    let parsed: GithubConfig =
        trustmap_connector::parse_config(toml::from_str(&config).unwrap()).unwrap();
    let c = GithubConnector::new("gh".into(), parsed).unwrap();
    assert!(trustmap_connector::Connector::splits_into_units(&c));
    let mut union = Vec::new();
    let mut repos_per_shard = Vec::new();
    for index in 0..3 {
        let part = trustmap_testkit::run::run_sliced(&c, dir.path(), index, 3).await;
        part.result.as_ref().unwrap();
        assert_eq!(
            part.estate.len(),
            1,
            "every shard knows the org is the estate's"
        );
        let org_wide = trustmap_connector::Slice { index, count: 3 }
            .takes(&trustmap_connector_github::org_unit("corp"));
        let has_org_wide = part
            .obs
            .iter()
            .any(|o| serde_json::to_string(o).unwrap().contains("github_app"));
        assert_eq!(has_org_wide, org_wide, "shard {index}");
        repos_per_shard.push(part.obs.len());
        union.extend(text(&part.obs));
    }
    union.sort();
    assert_eq!(
        union, expected,
        "the union of the shards is the whole, nothing twice"
    );
    assert!(
        repos_per_shard.iter().filter(|n| **n > 0).count() >= 2,
        "the work spread: {repos_per_shard:?}"
    );
}
