//! `trustmap demo` end to end in a clean directory: the expected findings, report contents in
//! every format (every partner card and finding id in the HTML, no unredacted secret anywhere,
//! Markdown and CSV carrying the same findings, SARIF valid per sarif-multitool), the exit plan
//! of the revoked partner, and the HTML opened in a real headless Chromium.
#![allow(clippy::too_many_lines)] // a scenario test reads as one story, set-up to assertions
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn trustmap(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trustmap"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

fn demo() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let out = trustmap(&["demo", "--dir", "estate", "-q"], tmp.path());
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("HTML report:") && stderr.contains("findings.html"),
        "{stderr}"
    );
    let dir = tmp.path().join("estate/out");
    (tmp, dir)
}

fn findings(dir: &Path) -> Vec<Value> {
    let doc: Value =
        serde_json::from_slice(&std::fs::read(dir.join("findings.json")).unwrap()).unwrap();
    doc["findings"].as_array().unwrap().clone()
}

fn ids(findings: &[Value]) -> BTreeSet<String> {
    findings
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn demo_runs_in_a_clean_directory_and_every_format_carries_the_same_findings() {
    let (_tmp, dir) = demo();
    let fs = findings(&dir);
    let has = |kind: &str, partner: &str, title: &str| {
        fs.iter().any(|f| {
            f["kind"] == kind
                && f["partner"].as_str().unwrap_or("-") == partner
                && f["title"].as_str().unwrap().contains(title)
        })
    };
    // The story the demo tells, one finding per chapter.
    assert!(has("lingering_access", "oldco", "oldco-sync"));
    assert!(has("lingering_access", "oldco", "OldCo Deployer"));
    assert!(has("lingering_access", "oldco", "oldco-dev"));
    assert!(has("lingering_access", "bluebird", "bluebird-recon"));
    assert!(has("nested_access", "datapipe", "datapipe-etl"));
    assert!(has("missing_external_id", "datapipe", "444455556666"));
    assert!(has("over_scoped", "acme", "acme-sync"));
    assert!(has("leaked_secret", "acme", "GitHub personal access token"));
    assert!(has("leaked_secret", "oldco", "legacy-migration.ini"));
    assert!(has("unknown_external_access", "-", "probably Datadog"));
    assert!(has("unowned_identity", "-", "Shady Sync"));
    // Entra ID: OldCo's app still consented to everyone's files, a deployer trusting OldCo's
    // repository, an app of a tenant nobody registered reading mail, OldCo's leaked secret.
    assert!(has("lingering_access", "oldco", "OldCo Migration Tool"));
    assert!(has("lingering_access", "oldco", "migration-deployer"));
    assert!(has("unknown_external_access", "-", "Contoso Mail Tools"));
    assert!(has("leaked_secret", "oldco", "entra-sync.env"));
    assert!(has("stale_credential", "-", "500 days old"));
    // Google Cloud and Workspace: OldCo's contractor can still act as our owner-level
    // deployer, and a pool trusts OldCo's AWS account.
    assert!(has("lingering_access", "oldco", "contractor@oldco.example"));
    assert!(has("lingering_access", "oldco", "oldco-aws"));
    assert!(has("over_scoped", "acme", "etl@acme-analytics-prod"));
    assert!(has(
        "nested_access",
        "datapipe",
        "auditors@datapipe.example"
    ));
    assert!(has("unknown_external_access", "-", "granted to allUsers"));
    assert!(has("unknown_external_access", "-", "Mail Merge Pro"));
    assert!(has("unknown_external_access", "-", "gmail.com"));
    assert!(has("stale_credential", "-", "legacy-export@corp-prod"));
    assert!(has("leaked_secret", "-", "gcp-deployer-key.json"));
    // Kubernetes: OldCo's contractor still cluster-admin, and Acme's account that may act as our
    // AWS deploy role (one finding naming both ends).
    assert!(has(
        "lingering_access",
        "oldco",
        "k8s user contractor@oldco.example"
    ));
    assert!(has("over_scoped", "acme", "acme-etl/etl-runner of Acme Analytics Ltd has permissions beyond what was approved (acting as aws:123456789012:role/gha-deploy)"));
    assert!(has("stale_credential", "-", "payments/release-bot-token"));
    assert!(
        !fs.iter()
            .any(|f| f["title"].as_str().unwrap().contains("Acme BI Connector")),
        "Acme BI's Drive grant is registered and within what was approved"
    );
    assert!(
        !fs.iter()
            .any(|f| f["kind"] == "dormant_access"
                && f["title"].as_str().unwrap().contains("Acme BI")),
        "GitHub records no use of app installations: no dormancy claimed"
    );

    // No secret value appears in any output.
    let s = trustmap_demo::secrets();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for secret in [
            &s.acme_secret_key,
            &s.acme_bot_token,
            &s.stripe_key,
            &s.oldco_entra_secret,
            &s.gcp_private_key[40..120].to_string(),
        ] {
            assert!(
                !text.contains(secret.as_str()),
                "{} leaks a secret",
                path.display()
            );
        }
    }

    // HTML: every partner card and every finding id.
    let html = std::fs::read_to_string(dir.join("findings.html")).unwrap();
    for p in ["acme", "datapipe", "oldco", "cloudhands", "bluebird"] {
        assert!(
            html.contains(&format!("data-partner=\"{p}\"")),
            "no card for {p}"
        );
    }
    // Bluebird's review ran out while it still holds access: a checkpoint on its card.
    assert!(has("review_due", "bluebird", "review is overdue"));
    assert!(
        html.contains(
            "class=\"meta warn review-due\">Review due: Bluebird Payments&#39;s review is overdue"
        ),
        "no review checkpoint on Bluebird's card"
    );
    for id in ids(&fs) {
        assert!(
            html.contains(&format!("data-id=\"{id}\"")),
            "{id} missing from the HTML"
        );
    }
    for outside in ["src=\"http", "href=\"http", "<link ", "@import", "url(http"] {
        assert!(
            !html.contains(outside),
            "the report loads {outside}... from the network"
        );
    }

    // Markdown and CSV: the same findings.
    let md = std::fs::read_to_string(dir.join("findings.md")).unwrap();
    let csv = std::fs::read_to_string(dir.join("findings.csv")).unwrap();
    let in_text = |text: &str| -> BTreeSet<String> {
        ids(&fs)
            .into_iter()
            .filter(|id| text.contains(id.as_str()))
            .collect()
    };
    assert_eq!(in_text(&md), ids(&fs));
    assert_eq!(in_text(&csv), ids(&fs));
    assert!(csv.lines().count() > fs.len());

    // SARIF: valid per Microsoft's validator.
    let sarif = dir.join("findings.sarif");
    let v = Command::new("sarif-multitool")
        .args(["validate", sarif.to_str().unwrap()])
        .output()
        .expect("sarif-multitool is installed (npm install -g @microsoft/sarif-multitool); .ci/run installs it");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&v.stderr)
    );
    assert!(v.status.success() && !text.contains(": error "), "{text}");
}

#[test]
fn exit_plan_of_the_revoked_partner_covers_it_and_its_subcontractor_only() {
    let (tmp, _) = demo();
    let out = trustmap(
        &[
            "exit-plan",
            "oldco",
            "--config",
            "estate/sweep.toml",
            "--out",
            "plans",
        ],
        tmp.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = String::from_utf8(out.stdout).unwrap();
    // Every live identity of OldCo and of Cloudhands, which came in through it.
    for name in [
        "oldco-sync",
        "oldco-migration",
        "OldCo Deployer",
        "oldco-dev",
        "cloudhands-deployer",
        "cloudhands-ci",
    ] {
        assert!(md.contains(name), "{name} missing from the plan:\n{md}");
    }
    // Nothing of other partners.
    for other in ["acme", "datapipe", "bluebird", "Shady"] {
        assert!(
            !md.to_lowercase().contains(&other.to_lowercase()),
            "{other} in oldco's plan:\n{md}"
        );
    }
    assert!(md.contains("used recently") && md.contains("dormant for"));
    assert!(md.contains("gcloud projects remove-iam-policy-binding corp-prod --member=user:contractor@oldco.example --role=roles/viewer"));
    let html = std::fs::read_to_string(tmp.path().join("plans/exit-plan-oldco.html")).unwrap();
    assert!(html.contains("cloudhands-ci") && html.contains("<input type=\"checkbox\">"));
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("plans/exit-plan-oldco.md"))
            .unwrap()
            .trim(),
        md.trim()
    );

    // The revocation commands, as a script to review: nothing in it runs as written.
    let out = trustmap(
        &[
            "exit-plan",
            "oldco",
            "--config",
            "estate/sweep.toml",
            "--out",
            "plans",
            "--format",
            "sh",
        ],
        tmp.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sh = std::fs::read_to_string(tmp.path().join("plans/exit-plan-oldco.sh")).unwrap();
    assert!(sh.starts_with("#!/bin/sh\n"));
    for line in sh.lines().skip(1) {
        assert!(
            line.is_empty() || line.starts_with('#'),
            "a live line: {line}"
        );
    }
    for command in [
        "# aws iam delete-user --user-name oldco-sync".to_string(),
        "# gh api -X DELETE /orgs/corp/outside_collaborators/oldco-dev".to_string(),
        format!("# az ad sp delete --id {}", trustmap_demo::OLDCO_APP),
        "# az ad app federated-credential delete --id 8b8b8b8b-0000-4000-8000-00000000d3b2 --federated-credential-id oldco-migration".to_string(),
        "# aws iam update-assume-role-policy --role-name".to_string(),
    ] {
        assert!(sh.contains(&command), "{command} missing:\n{sh}");
    }
    let bad = trustmap(
        &[
            "exit-plan",
            "oldco",
            "--config",
            "estate/sweep.toml",
            "--format",
            "pdf",
        ],
        tmp.path(),
    );
    assert_eq!(
        bad.status.code(),
        Some(2),
        "an unknown format is a usage error"
    );

    let unknown = trustmap(
        &["exit-plan", "nobody", "--config", "estate/sweep.toml"],
        tmp.path(),
    );
    assert_eq!(unknown.status.code(), Some(2));
    let err = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        err.contains("no partner \"nobody\"") && err.contains("oldco"),
        "{err}"
    );

    // A second demo replaces the first; a directory that holds something else is left alone.
    let again = trustmap(&["demo", "--dir", "estate", "-q"], tmp.path());
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    std::fs::create_dir_all(tmp.path().join("mine")).unwrap();
    std::fs::write(tmp.path().join("mine/notes.txt"), "keep me").unwrap();
    let refused = trustmap(&["demo", "--dir", "mine", "-q"], tmp.path());
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("is not empty"));
    assert!(tmp.path().join("mine/notes.txt").exists());
}

fn chromium() -> &'static str {
    trustmap_testkit::browser::find()
        .unwrap_or_else(|| panic!("no Chromium: apt-get install -y chromium (.ci/run installs it)"))
}

/// The DOM after the report's script ran, for `url`.
fn dump_dom(browser: &str, url: &str, profile: &Path) -> String {
    trustmap_testkit::browser::dump_dom(browser, url, profile)
}

/// Findings-table rows the script left visible.
fn visible_rows(dom: &str) -> usize {
    let table = &dom[dom.find("id=\"findings\"").unwrap()..];
    table
        .split("<tr data-severity")
        .skip(1)
        .filter(|row| !row[..row.find('>').unwrap()].contains("hidden"))
        .count()
}

/// The opening tag that contains `needle`.
fn tag_with<'a>(dom: &'a str, needle: &str) -> &'a str {
    let i = dom.find(needle).unwrap();
    let start = dom[..i].rfind('<').unwrap();
    let end = i + dom[i..].find('>').unwrap();
    &dom[start..=end]
}

#[test]
fn the_report_renders_in_a_real_browser_and_filters_by_partner() {
    let browser = chromium();
    let (_tmp, dir) = demo();
    let file = dir.join("findings.html");
    let url = format!("file://{}", file.display());
    let profile = tempfile::tempdir().unwrap();

    let all = dump_dom(browser, &url, profile.path());
    assert!(
        all.contains("data-ready=\"1\""),
        "the report's script did not run"
    );
    let nodes = all.matches("<g class=\"n ").count();
    let graph: Value = {
        let out = trustmap(
            &["graph", "--config", "../sweep.toml", "--format", "json"],
            &dir,
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    assert_eq!(
        nodes,
        graph["nodes"].as_array().unwrap().len(),
        "one drawn node per graph node"
    );
    assert!(all.contains("<svg id=\"graph\""));
    assert_eq!(all.matches("<article class=\"card").count(), 5);
    let total = findings(&dir).len();
    assert_eq!(visible_rows(&all), total);

    let oldco = dump_dom(browser, &format!("{url}#partner=oldco"), profile.path());
    let shown = visible_rows(&oldco);
    assert!(
        shown > 0 && shown < total,
        "partner filter shows {shown} of {total}"
    );
    let expected = findings(&dir)
        .iter()
        .filter(|f| {
            f["partner"] == "oldco"
                || f["chain"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c == "partner:oldco")
        })
        .count();
    assert_eq!(shown, expected);
    // Cards of other partners are hidden; the subcontractor's stays.
    assert!(tag_with(&oldco, "data-partner=\"acme\"").contains("hidden"));
    assert!(!tag_with(&oldco, "data-partner=\"cloudhands\"").contains("hidden"));

    // A screenshot, kept as a test artifact.
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let shot = artifacts.join("demo-report.png");
    let out = trustmap_testkit::browser::headless(browser, profile.path())
        .arg("--window-size=1400,2400")
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 50_000,
        "a blank screenshot"
    );
}
