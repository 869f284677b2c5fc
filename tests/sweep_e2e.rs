//! `trustmap sweep`, `graph` and `partners check` end to end over a fixture estate: git
//! repositories with secrets in history plus an offline inventory fed through `exec`.
#![allow(clippy::too_many_lines)] // a scenario test reads as one story, set-up to assertions
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

/// The estate's digest key for these tests: fixed, so node ids can be written down.
const KEY: &str = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";

fn trustmap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trustmap"))
        .args(args)
        .env("TRUSTMAP_KEY", KEY)
        .output()
        .expect("run trustmap")
}

/// A secret's digest under [`KEY`] (HMAC-SHA256, 12 bytes), as trustmap takes it.
fn digest(secret: &str) -> String {
    use hmac::Mac;
    let key: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&KEY[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(secret.as_bytes());
    mac.finalize().into_bytes()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn sweep(config: &Path, out: &Path) -> (Output, Vec<serde_json::Value>) {
    let o = trustmap(&[
        "sweep",
        "--config",
        &s(config),
        "--out",
        &s(out),
        "--now",
        "2026-11-22",
        "--format",
        "jsonl,json,csv,md,sarif",
    ]);
    let findings = std::fs::read_to_string(out.join("findings.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (o, findings)
}

fn triples(findings: &[serde_json::Value]) -> BTreeSet<(String, String, String)> {
    findings
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["subject"]["id"].as_str().unwrap().to_string(),
                f["partner"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect()
}

#[test]
fn sweep_finds_exactly_what_the_estate_holds() {
    let dir = tempfile::tempdir().unwrap();
    let config = trustmap_testkit::estate::build(dir.path()).unwrap();
    let (acme_key, oldco_key) = trustmap_testkit::estate::keys();
    let out = dir.path().join("out");
    let (o, findings) = sweep(&config, &out);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let leak_aws = &format!(
        "secret:{}@repos/payments/deploy/export.env",
        digest(&acme_key)
    );
    let stripe = digest(trustmap_testkit::estate::STRIPE_KEY);
    let stripe_payments = &format!("secret:{stripe}@repos/payments/deploy/export.env");
    let stripe_web = &format!("secret:{stripe}@repos/web/config/prod.env");
    let expected: BTreeSet<(String, String, String)> = [
        (
            "unknown_external_access",
            "aws:123456789012:role/gha-deploy",
            "-",
        ),
        ("leaked_secret", stripe_payments, "-"),
        ("leaked_secret", stripe_web, "-"),
        (
            "lingering_access",
            &format!("aws:123456789012:access-key/{oldco_key}"),
            "oldco",
        ),
        (
            "lingering_access",
            "aws:123456789012:user/oldco-sync",
            "oldco",
        ),
        (
            "unknown_external_access",
            "aws:123456789012:role/mystery",
            "-",
        ),
        (
            "missing_external_id",
            "aws:123456789012:role/etl-reader",
            "datapipe",
        ),
        ("over_scoped", "aws:123456789012:user/acme-export", "acme"),
        ("leaked_secret", leak_aws, "acme"),
        (
            "nested_access",
            "aws:123456789012:role/etl-reader",
            "datapipe",
        ),
        ("shared_credential", stripe_payments, "-"),
        (
            "stale_credential",
            &format!("aws:123456789012:access-key/{acme_key}"),
            "acme",
        ),
        ("unowned_identity", "aws:123456789012:role/mystery", "-"),
        ("missing_governance", "partner:datapipe", "datapipe"),
        ("dormant_access", "aws:123456789012:user/ci-builder", "-"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(triples(&findings), expected);

    // The leaked AWS key is tied to the inventory key and through its holder to Acme.
    let leak = findings
        .iter()
        .find(|f| f["subject"]["id"] == leak_aws.as_str())
        .unwrap();
    assert_eq!(leak["evidence"]["secret"], "AKIA********");
    // The evidence names the inventory credential it matched (by key id, as AWS does).
    assert_eq!(
        leak["evidence"]["credential"][0],
        format!("aws:123456789012:access-key/{acme_key}")
    );
    let chain: Vec<&str> = leak["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(chain[0], "partner:acme");
    assert_eq!(chain[1], "aws:123456789012:user/acme-export");
    assert_eq!(leak["location"]["commit_date"], "2026-02-10T10:00:00Z");
    assert_eq!(
        leak["evidence"]["reveals"]["aws_account_id"],
        "111122223333"
    );
    // The revoked partner's live key is critical; every finding names its OWASP NHI reference.
    for f in &findings {
        assert!(
            f["references"][0]
                .as_str()
                .unwrap()
                .starts_with("OWASP-NHI"),
            "{f}"
        );
        assert!(!f["remediation"].as_str().unwrap().is_empty());
    }
    let lingering = findings
        .iter()
        .find(|f| f["kind"] == "lingering_access")
        .unwrap();
    assert_eq!(lingering["severity"], "critical");

    // Stable ids across runs, and no full secret in any output.
    let (_, again) = sweep(&config, &dir.path().join("out2"));
    let ids = |v: &[serde_json::Value]| {
        v.iter()
            .map(|f| f["id"].as_str().unwrap().to_string())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(ids(&findings), ids(&again));
    for name in [
        "findings.jsonl",
        "findings.json",
        "findings.csv",
        "findings.md",
        "findings.sarif",
    ] {
        let text = std::fs::read_to_string(out.join(name)).unwrap();
        // Access key ids are identifiers (the inventory names credentials by them, as AWS
        // does); secret values found in content must never appear.
        assert!(
            !text.contains("sk_live_51Hq8ZtKp3LmW9vXc2RnT7yBd"),
            "{name} leaks the Stripe key"
        ); // trustmap:allow
    }
    let csv = std::fs::read_to_string(out.join("findings.csv")).unwrap();
    assert_eq!(csv.lines().count(), findings.len() + 1);
}

#[test]
fn graph_exports_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let config = trustmap_testkit::estate::build(dir.path()).unwrap();
    let o = trustmap(&[
        "graph",
        "--config",
        &s(&config),
        "--format",
        "json",
        "--now",
        "2026-11-22",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let g: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let nodes = g["nodes"].as_array().unwrap();
    let role = nodes
        .iter()
        .find(|n| n["id"] == "aws:123456789012:role/etl-reader")
        .unwrap();
    assert_eq!(role["attribution"]["owner"], "partner:datapipe");
    assert!(g["edges"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "same_secret_as"));
    for (format, needle) in [
        ("dot", "digraph trustmap"),
        ("graphml", "<graphml"),
        ("cypher", "MERGE (n:Trustmap"),
    ] {
        let o = trustmap(&["graph", "--config", &s(&config), "--format", format]);
        assert!(
            String::from_utf8_lossy(&o.stdout).contains(needle),
            "{format}"
        );
    }
}

#[test]
fn partners_check_lists_gaps() {
    let dir = tempfile::tempdir().unwrap();
    trustmap_testkit::estate::build(dir.path()).unwrap();
    let o = trustmap(&[
        "partners",
        "check",
        &s(&dir.path().join("partners.toml")),
        "--now",
        "2027-06-01",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("acme: expired on 2027-03-31 but still active"),
        "{out}"
    );
    assert!(out.contains("partners.toml:"), "{out}");
}

#[test]
fn bad_configuration_exits_2_naming_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let config = trustmap_testkit::estate::build(dir.path()).unwrap();
    let text = std::fs::read_to_string(&config).unwrap();
    let cases = [
        (
            text.replace("path = \"repos/web\"", "pathh = \"repos/web\""),
            "sweep.toml:",
            "pathh",
        ),
        (
            text.replace("type = \"exec\"", "type = \"ldap\""),
            "sweep.toml:",
            "unknown connector type",
        ),
        (
            text.replace("dormant_after_days = 90", "dormant_after_days = \"ninety\""),
            "sweep.toml:3",
            "invalid type",
        ),
    ];
    for (bad, place, needle) in cases {
        std::fs::write(&config, bad).unwrap();
        let o = trustmap(&[
            "sweep",
            "--config",
            &s(&config),
            "--out",
            &s(&dir.path().join("o")),
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(place) && err.contains(needle), "{err}");
    }
    std::fs::write(&config, &text).unwrap();
    let partners = dir.path().join("partners.toml");
    let p = std::fs::read_to_string(&partners).unwrap();
    std::fs::write(
        &partners,
        p.replace("via = \"acme\"", "via = \"acme-holdings\""),
    )
    .unwrap();
    let o = trustmap(&[
        "sweep",
        "--config",
        &s(&config),
        "--out",
        &s(&dir.path().join("o")),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("partners.toml:") && err.contains("`via`"),
        "{err}"
    );
}

#[test]
fn a_connector_failing_midway_is_reported_and_hides_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = trustmap_testkit::estate::build(dir.path()).unwrap();
    let mut text = std::fs::read_to_string(&config).unwrap();
    // A source that emits one identity, then garbage, then dies.
    text.push_str(
        "\n[[connectors]]\ntype = \"exec\"\nname = \"cmdb\"\ncommand = \"sh\"\nargs = [\"-c\", \"echo '{\\\"type\\\":\\\"identity\\\",\\\"id\\\":\\\"cmdb:svc/x\\\",\\\"kind\\\":\\\"service_account\\\",\\\"name\\\":\\\"svc-x\\\"}'; echo 'not json'; exit 1\"]\n",
    );
    std::fs::write(&config, text).unwrap();
    let out = dir.path().join("out");
    let (o, findings) = sweep(&config, &out);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        err.contains("cmdb (exec): FAILED [data]") && err.contains("line 2"),
        "{err}"
    );
    // Everyone else's findings are still there, and so is what cmdb emitted before failing.
    assert!(findings.iter().any(|f| f["kind"] == "lingering_access"));
    assert!(findings.iter().any(|f| f["subject"]["id"] == "cmdb:svc/x"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("findings.json")).unwrap()).unwrap();
    let failed: Vec<_> = json["stats"]["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["error"].is_null())
        .collect();
    assert_eq!(failed.len(), 1);
}
