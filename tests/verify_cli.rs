//! `--verify` end to end through the binary: AWS keys asked of moto's STS through
//! `AWS_ENDPOINT_URL`, GitHub tokens of a local GitHub through `GITHUB_API_URL`, the rest
//! through `[verify.endpoints]`; severity follows the answers, a live key of a revoked partner
//! is critical, and no output (findings in every format, summary, errors) carries a secret.
#![allow(clippy::too_many_lines)] // a scenario test reads as one story, set-up to assertions
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use std::path::Path;
use std::process::{Command, Output};
use trustmap_testkit::http::{Response, Server};
use trustmap_testkit::moto::Moto;
use trustmap_testkit::tokens::github_token;

const DIGEST_KEY: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// A GitHub that knows one token.
fn github(good: &str) -> Server {
    let good = format!("Bearer {good}");
    Server::start(move |req| {
        if req.route().0 == "/user" && req.header("authorization") == Some(good.as_str()) {
            Response::json(200, &serde_json::json!({"login": "acme-ci-bot"}))
                .header("x-oauth-scopes", "repo")
        } else {
            Response::json(401, &serde_json::json!({"message": "Bad credentials"}))
        }
    })
}

fn scan(dir: &Path, moto: &Moto, gh: &Server, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trustmap"))
        .arg("scan")
        .arg(dir)
        .args(["--fail-on", "none"])
        .args(extra)
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("GITHUB_API_URL", &gh.base)
        .env("TRUSTMAP_KEY", DIGEST_KEY)
        .output()
        .unwrap()
}

fn by_rule<'a>(findings: &'a [serde_json::Value], rule: &str, path: &str) -> &'a serde_json::Value {
    findings
        .iter()
        .find(|f| f["rule"] == rule && f["location"]["path"].as_str().unwrap().ends_with(path))
        .unwrap_or_else(|| panic!("no {rule} in {path}"))
}

#[test]
fn scan_verify_follows_each_ecosystems_endpoint_conventions_and_redacts_every_output() {
    let (moto, key) = Moto::start_authenticating("123456789012").unwrap();
    let (good, bad) = (github_token("good"), github_token("gone"));
    let gh = github(&good);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("credentials"),
        format!(
            "[deploy]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            key.id, key.secret
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("ci.env"),
        format!("GITHUB_TOKEN={good}\nOLD_TOKEN={bad}\n"),
    )
    .unwrap();
    let telegram = "7301938475:AAHk3mQ9zLp2Vx7Kb4Nm6Rt8Wy3Hc5Jd1Fg";
    std::fs::write(root.join("bot.ini"), format!("token = {telegram}\n")).unwrap();
    let secrets = [key.secret.as_str(), key.id.as_str(), &good, &bad, telegram];

    // Without the flag nothing is asked.
    let plain = scan(&root, &moto, &gh, &[]);
    assert_eq!(
        plain.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&plain.stderr)
    );
    assert!(
        gh.requests().is_empty(),
        "a scan without --verify called GitHub"
    );
    assert!(!String::from_utf8_lossy(&plain.stdout).contains("\"verification\""));

    // Telegram's endpoint is a port nothing listens on: its answer is unknown, its error
    // must not quote the URL the token rides in.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("telegram=http://{}", l.local_addr().unwrap())
    };
    let mut outputs = Vec::new();
    for format in ["jsonl", "json", "sarif"] {
        let o = scan(
            &root,
            &moto,
            &gh,
            &["--verify", "--verify-endpoint", &closed, "--format", format],
        );
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        outputs.push(o);
    }
    let jsonl: Vec<serde_json::Value> = String::from_utf8_lossy(&outputs[0].stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();

    let key_id = by_rule(&jsonl, "aws-access-key-id", "credentials");
    let v = &key_id["evidence"]["verification"];
    assert_eq!(v["status"], "live", "{key_id}");
    assert_eq!(
        v["identity"],
        format!("arn:aws:iam::123456789012:user/{}", key.user)
    );
    assert_eq!(v["provider"], "aws");
    // high, and live: one level up.
    assert_eq!(key_id["severity"], "critical");
    let secret = by_rule(&jsonl, "aws-secret-access-key", "credentials");
    assert_eq!(secret["evidence"]["verification"]["status"], "live");
    // The key id and its secret name each other: one credential, two findings.
    assert_eq!(v["paired_with"], secret["evidence"]["secret_digest"]);
    assert_eq!(
        secret["evidence"]["verification"]["paired_with"],
        key_id["evidence"]["secret_digest"]
    );

    let tokens: Vec<&serde_json::Value> = jsonl
        .iter()
        .filter(|f| f["rule"] == "github-pat-classic")
        .collect();
    let live: Vec<_> = tokens
        .iter()
        .filter(|f| f["evidence"]["verification"]["status"] == "live")
        .collect();
    let revoked: Vec<_> = tokens
        .iter()
        .filter(|f| f["evidence"]["verification"]["status"] == "revoked")
        .collect();
    assert_eq!((live.len(), revoked.len()), (1, 1), "{tokens:?}");
    assert_eq!(
        live[0]["evidence"]["verification"]["identity"],
        "acme-ci-bot"
    );
    assert_eq!(
        live[0]["evidence"]["verification"]["scopes"],
        serde_json::json!(["repo"])
    );
    assert_eq!(live[0]["severity"], "critical");
    // A revoked token is still a leak, but a low one.
    assert_eq!(revoked[0]["severity"], "low");

    let bot = by_rule(&jsonl, "telegram-bot-token", "bot.ini");
    assert_eq!(bot["evidence"]["verification"]["status"], "unknown");
    assert_eq!(
        bot["evidence"]["verification"]["detail"],
        "telegram: cannot connect"
    );

    // Each distinct secret was asked about once per run (three runs, two GitHub tokens).
    assert_eq!(gh.requests().len(), 6);
    let stderr = String::from_utf8_lossy(&outputs[0].stderr);
    assert!(
        stderr.contains("verified secrets: 3 live, 1 revoked, 1 unknown"),
        "{stderr}"
    );
    let json: serde_json::Value = serde_json::from_slice(&outputs[1].stdout).unwrap();
    assert_eq!(
        json["stats"]["verification"]["live"], 3,
        "{}",
        json["stats"]
    );
    let sarif = String::from_utf8_lossy(&outputs[2].stdout);
    assert!(
        sarif.contains("\"verification\""),
        "SARIF carries the evidence"
    );
    for o in &outputs {
        for text in [
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr),
        ] {
            for s in secrets {
                assert!(!text.contains(s), "a secret is in an output");
            }
        }
    }
}

#[test]
fn a_sweep_that_verifies_finds_a_live_key_of_a_revoked_partner_critical() {
    // Moto's account is OldCo's (revoked): the key it issues encodes that account.
    let (moto, key) = Moto::start_authenticating("777788889999").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("partners.toml"),
        trustmap_testkit::estate::PARTNERS,
    )
    .unwrap();
    std::fs::create_dir_all(root.join("share")).unwrap();
    std::fs::write(
        root.join("share/oldco.env"),
        format!(
            "AWS_ACCESS_KEY_ID={}\nAWS_SECRET_ACCESS_KEY={}\n",
            key.id, key.secret
        ),
    )
    .unwrap();
    let config = |verify: &str| {
        format!(
            "[sweep]\npartners = \"partners.toml\"\n{verify}\n\n[[connectors]]\ntype = \"filesystem\"\nname = \"share\"\npath = \"share\"\n\n[verify]\nrequests_per_second = 50\n\n[verify.endpoints]\naws = \"{}\"\n",
            moto.endpoint
        )
    };
    let sweep = |toml: &str, out: &str| {
        std::fs::write(root.join("sweep.toml"), toml).unwrap();
        Command::new(env!("CARGO_BIN_EXE_trustmap"))
            .args([
                "sweep",
                "--quiet",
                "--format",
                "jsonl",
                "--now",
                "2026-12-01",
                "--config",
            ])
            .arg(root.join("sweep.toml"))
            .arg("--out")
            .arg(root.join(out))
            .env("TRUSTMAP_KEY", DIGEST_KEY)
            .output()
            .unwrap()
    };
    let read = |out: &str| -> Vec<serde_json::Value> {
        std::fs::read_to_string(root.join(out).join("findings.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };

    let o = sweep(&config("verify = true"), "out");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let findings = read("out");
    let key_id = by_rule(&findings, "aws-access-key-id", "oldco.env");
    assert_eq!(key_id["partner"], "oldco", "{key_id}");
    assert_eq!(key_id["evidence"]["verification"]["status"], "live");
    assert_eq!(key_id["severity"], "critical");
    let secret = by_rule(&findings, "aws-secret-access-key", "oldco.env");
    assert_eq!(secret["evidence"]["verification"]["status"], "live");
    let text = std::fs::read_to_string(root.join("out/findings.jsonl")).unwrap();
    assert!(!text.contains(&key.secret));

    // The same sweep without verify: the evidence says nothing of liveness.
    let o = sweep(&config(""), "plain");
    assert_eq!(o.status.code(), Some(0));
    let plain = read("plain");
    let key_id = by_rule(&plain, "aws-access-key-id", "oldco.env");
    assert!(key_id["evidence"].get("verification").is_none());
    assert_eq!(
        key_id["id"],
        by_rule(&findings, "aws-access-key-id", "oldco.env")["id"]
    );

    // A misspelt issuer is a configuration error naming the file and line.
    let bad = config("verify = true").replace("aws = ", "amazon = ");
    let o = sweep(&bad, "bad");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("sweep.toml") && err.contains("endpoints.amazon"),
        "{err}"
    );
}
