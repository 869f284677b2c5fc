//! The estate's own accounts and organisations are internal: a role that trusts a repository
//! of the swept GitHub organisation through OIDC, or an account that `[sweep] internal`
//! lists, is not unknown external access. And relative paths resolve against the config
//! file's directory even when `--config` is a bare file name.
#![allow(clippy::too_many_lines)] // a scenario test reads as one story, set-up to assertions
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

const ACCOUNT: &str = "123456789012";
const SISTER: &str = "210987654321";

fn gaad() -> Value {
    let oidc = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com")},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                      "StringLike": {"token.actions.githubusercontent.com:sub": "repo:corp/app:ref:refs/heads/main"}}}]});
    let sister = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{SISTER}:root")},
        "Action": "sts:AssumeRole"}]});
    let role = |name: &str, trust: Value| {
        json!({
            "Path": "/", "RoleName": name, "RoleId": format!("AROA{}", name.len()),
            "Arn": format!("arn:aws:iam::{ACCOUNT}:role/{name}"), "CreateDate": "2026-01-05T00:00:00Z",
            "AssumeRolePolicyDocument": trust, "InstanceProfileList": [], "Tags": [],
            "RolePolicyList": [], "AttachedManagedPolicies": [],
            "RoleLastUsed": {"LastUsedDate": "2026-11-20T00:00:00Z", "Region": "eu-west-1"}
        })
    };
    json!({
        "UserDetailList": [], "GroupDetailList": [], "Policies": [],
        "RoleDetailList": [role("ci-deploy", oidc), role("ci-sister", sister)],
    })
}

/// An estate with an AWS export and, when `with_github`, a snapshot of the `corp` org.
fn estate(dir: &Path, with_github: bool, internal: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("gaad.json"), gaad().to_string()).unwrap();
    std::fs::write(dir.join("github.json"), json!({"org": "corp"}).to_string()).unwrap();
    std::fs::write(
        dir.join("partners.toml"),
        "[[owners]]\nid = \"platform\"\ncontact = \"p@corp.example\"\n[owners.match]\nname_patterns = [\"ci-*\"]\n",
    )
    .unwrap();
    let github = if with_github {
        "[[connectors]]\ntype = \"github\"\nname = \"gh\"\nsnapshot_file = \"github.json\"\n"
    } else {
        ""
    };
    let config = dir.join("sweep.toml");
    std::fs::write(
        &config,
        format!(
            "[sweep]\npartners = \"partners.toml\"\n{internal}\n\n[[connectors]]\ntype = \"aws-iam\"\nname = \"aws\"\nauthorization_details_file = \"gaad.json\"\n\n{github}"
        ),
    )
    .unwrap();
    config
}

fn sweep(dir: &Path) -> (std::process::Output, Vec<Value>) {
    let out = dir.join("out");
    // A bare relative --config, run from the estate's directory.
    let o = Command::new(env!("CARGO_BIN_EXE_trustmap"))
        .current_dir(dir)
        .args([
            "sweep",
            "--config",
            "sweep.toml",
            "--out",
            "out",
            "--now",
            "2026-11-22",
            "-q",
        ])
        .output()
        .unwrap();
    let findings = std::fs::read_to_string(out.join("findings.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (o, findings)
}

fn high(findings: &[Value]) -> Vec<String> {
    findings
        .iter()
        .filter(|f| matches!(f["severity"].as_str(), Some("high" | "critical")))
        .map(|f| format!("{} {}", f["kind"], f["title"]))
        .collect()
}

#[test]
fn trust_in_the_estates_own_repository_and_accounts_raises_nothing_high() {
    let dir = tempfile::tempdir().unwrap();
    estate(
        dir.path(),
        true,
        &format!("internal = [\"aws_account:{SISTER}\"]"),
    );
    let (o, findings) = sweep(dir.path());
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(high(&findings).is_empty(), "{:#?}", high(&findings));
    assert!(
        findings
            .iter()
            .all(|f| f["kind"] != "unknown_external_access"),
        "{findings:#?}"
    );
    let stats: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/findings.json")).unwrap(),
    )
    .unwrap();
    let internal = stats["stats"]["internal"].as_array().unwrap();
    for own in [
        format!("aws_account:{ACCOUNT}"),
        format!("aws_account:{SISTER}"),
        "github_org:corp".into(),
    ] {
        assert!(
            internal.iter().any(|i| i == &own),
            "{internal:?} lacks {own}"
        );
    }
}

#[test]
fn without_the_estate_the_same_trusts_are_unknown_external_access() {
    // The control: the same roles, but the organisation and the sister account are not ours.
    let dir = tempfile::tempdir().unwrap();
    estate(dir.path(), false, "");
    let (o, findings) = sweep(dir.path());
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let unknown: Vec<&str> = findings
        .iter()
        .filter(|f| f["kind"] == "unknown_external_access")
        .map(|f| f["subject"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(unknown.len(), 2, "{findings:#?}");
    assert!(unknown.contains(&"ci-deploy") && unknown.contains(&"ci-sister"));
}

#[test]
fn a_bad_internal_identifier_names_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    estate(dir.path(), false, "internal = [\"aws:123\"]");
    let (o, _) = sweep(dir.path());
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("sweep.toml:3") && err.contains("[sweep] internal"),
        "{err}"
    );
}

#[test]
fn exec_runs_in_the_config_directory_with_a_bare_relative_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("partners.toml"), "").unwrap();
    std::fs::write(
        dir.path().join("inventory.sh"),
        "echo '{\"type\":\"identity\",\"id\":\"x:1\",\"kind\":\"svc\",\"name\":\"svc-1\",\"identifiers\":[\"email:bot@corp.example\"]}'\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("sweep.toml"),
        "[sweep]\npartners = \"partners.toml\"\n\n[[connectors]]\ntype = \"exec\"\nname = \"inv\"\ncommand = \"sh\"\nargs = [\"inventory.sh\"]\n",
    )
    .unwrap();
    let (o, findings) = sweep(dir.path());
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        findings.iter().any(|f| f["subject"]["id"] == "x:1"),
        "{findings:#?}"
    );
}
