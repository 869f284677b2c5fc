//! `trustmap sweep --state`: new / open / resolved / reopened across runs, no false "fixed"
//! when a connector fails, suppression, a killed sweep, and two sweeps on one state file.
#![allow(clippy::too_many_lines)] // a scenario test reads as one story, set-up to assertions
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_trustmap"))
}

fn sweep(dir: &Path, day: &str, extra: &[&str]) -> Output {
    bin()
        .args(["sweep", "--config"])
        .arg(dir.join("sweep.toml"))
        .arg("--out")
        .arg(dir.join("out"))
        .args(["--now", day, "--state"])
        .arg(dir.join("state.db"))
        .args(extra)
        .output()
        .unwrap()
}

fn since(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr);
    err.lines()
        .find(|l| l.starts_with("since the last run"))
        .unwrap_or_default()
        .to_string()
}

fn statuses(dir: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(dir.join("out/findings.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["subject"]["id"].as_str().unwrap().to_string(),
                v["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn history_len(dir: &Path) -> usize {
    let o = bin()
        .args(["state", "--state"])
        .arg(dir.join("state.db"))
        .arg("history")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).lines().count()
}

#[test]
fn findings_appear_stay_resolve_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    trustmap_testkit::estate::build(dir.path()).unwrap();
    let inventory = dir.path().join("inventory.jsonl");
    let full = std::fs::read_to_string(&inventory).unwrap();

    let o = sweep(dir.path(), "2026-11-20", &["--fail-on-new"]);
    assert_eq!(o.status.code(), Some(1), "new findings fail --fail-on-new");
    assert_eq!(
        since(&o),
        "since the last run: 15 new, 0 still open, 0 reopened, 0 resolved, 0 suppressed"
    );
    assert!(statuses(dir.path()).iter().all(|(_, s)| s == "new"));

    let o = sweep(dir.path(), "2026-11-21", &["--fail-on-new"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        since(&o),
        "since the last run: 0 new, 15 still open, 0 reopened, 0 resolved, 0 suppressed"
    );
    assert!(statuses(dir.path()).iter().all(|(_, s)| s == "open"));

    // The mystery role goes away: its two findings resolve.
    let without: String = full
        .lines()
        .filter(|l| !l.contains("role/mystery"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&inventory, without).unwrap();
    let o = sweep(dir.path(), "2026-11-22", &[]);
    assert_eq!(
        since(&o),
        "since the last run: 0 new, 13 still open, 0 reopened, 2 resolved, 0 suppressed"
    );

    // It comes back: reopened, and --fail-on-new fails again.
    std::fs::write(&inventory, &full).unwrap();
    let o = sweep(dir.path(), "2026-11-23", &["--fail-on-new"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        since(&o),
        "since the last run: 0 new, 13 still open, 2 reopened, 0 resolved, 0 suppressed"
    );
    assert_eq!(history_len(dir.path()), 4);
}

#[test]
fn a_failed_connector_never_resolves_its_findings() {
    let dir = tempfile::tempdir().unwrap();
    trustmap_testkit::estate::build(dir.path()).unwrap();
    sweep(dir.path(), "2026-11-20", &[]);
    let config = dir.path().join("sweep.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace(
            "args = [\"inventory.jsonl\"]",
            "args = [\"missing-export.jsonl\"]",
        ),
    )
    .unwrap();
    let o = sweep(dir.path(), "2026-11-21", &[]);
    assert_eq!(o.status.code(), Some(3));
    // Only the git connectors ran; nothing of the failed export is marked fixed.
    assert!(since(&o).contains(" 0 resolved"), "{}", since(&o));
}

#[test]
fn suppressed_findings_do_not_fail_the_run() {
    let dir = tempfile::tempdir().unwrap();
    trustmap_testkit::estate::build(dir.path()).unwrap();
    sweep(dir.path(), "2026-11-20", &[]);
    let jsonl = std::fs::read_to_string(dir.path().join("out/findings.jsonl")).unwrap();
    let criticals: Vec<String> = jsonl
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["severity"] == "critical")
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect();
    assert!(!criticals.is_empty());
    for id in &criticals {
        let o = bin()
            .args(["state", "--state"])
            .arg(dir.path().join("state.db"))
            .args([
                "suppress",
                id,
                "--reason",
                "accepted until the contract ends",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let o = sweep(dir.path(), "2026-11-21", &["--fail-on", "critical"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(since(&o).contains(&format!("{} suppressed", criticals.len())));
    let o = bin()
        .args(["state", "--state"])
        .arg(dir.path().join("state.db"))
        .args(["suppress", "tm-0000000000000000", "--reason", "x"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no finding with id"));
}

#[test]
fn a_killed_sweep_leaves_the_state_intact_and_two_sweeps_share_one_file() {
    let dir = tempfile::tempdir().unwrap();
    trustmap_testkit::estate::build(dir.path()).unwrap();
    sweep(dir.path(), "2026-11-20", &[]);
    let config = dir.path().join("sweep.toml");
    let original = std::fs::read_to_string(&config).unwrap();
    // A slow source: the sweep is killed while it waits.
    std::fs::write(&config, format!("{original}\n[[connectors]]\ntype = \"exec\"\nname = \"slow\"\ncommand = \"sleep\"\nargs = [\"30\"]\n")).unwrap();
    let mut child = bin()
        .args(["sweep", "-q", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(dir.path().join("killed"))
        .arg("--state")
        .arg(dir.path().join("state.db"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::write(&config, &original).unwrap();
    assert_eq!(
        history_len(dir.path()),
        1,
        "the killed run recorded nothing"
    );

    // Two sweeps at once on one state file: both finish, the file stays consistent.
    let spawn = |day: &str| {
        bin()
            .args(["sweep", "--config"])
            .arg(&config)
            .arg("--out")
            .arg(dir.path().join(format!("out-{day}")))
            .args(["--now", day, "--state"])
            .arg(dir.path().join("state.db"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn("2026-11-21"), spawn("2026-11-22"));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(
        a.status.success() && b.status.success(),
        "{} {}",
        String::from_utf8_lossy(&a.stderr),
        String::from_utf8_lossy(&b.stderr)
    );
    assert_eq!(history_len(dir.path()), 3);
    assert!(
        since(&a).contains("0 new") && since(&b).contains("0 new"),
        "{} / {}",
        since(&a),
        since(&b)
    );
}

// ---- The partner lifecycle over many sweeps -------------------------------------------------

const LIFECYCLE_SWEEP: &str = r#"[sweep]
partners = "partners.toml"
renew_before_days = 30

[[connectors]]
type = "exec"
name = "aws-export"
command = "cat"
args = ["inventory.jsonl"]
"#;

/// Nova's registry entry with `status` (and an expiry once approved).
fn nova(dir: &Path, status: &str) {
    let expires = if status == "requested" {
        String::new()
    } else {
        "expires = \"2026-12-31\"\n".to_string()
    };
    let partners = format!(
        r#"[[partners]]
id = "nova"
name = "Nova Data"
sponsor = "kim.lee@corp.example"
purpose = "Quarterly churn model"
status = "{status}"
{expires}allowed_scopes = ["aws:s3:GetObject"]
[partners.match]
name_patterns = ["nova-*"]

[[owners]]
id = "platform"
[owners.match]
name_patterns = ["ci-*"]
"#
    );
    std::fs::write(dir.join("partners.toml"), partners).unwrap();
}

/// The AWS inventory: our CI user always, Nova's user and key with `scopes` when given.
fn inventory(dir: &Path, nova_scopes: Option<&str>) {
    let mut lines = vec![r#"{"type":"identity","id":"aws:123456789012:user/ci-builder","kind":"aws_iam_user","name":"ci-builder","account":"123456789012","created":"2025-01-01","last_used":"2026-01-04"}"#.to_string()];
    if let Some(scopes) = nova_scopes {
        lines.push(format!(r#"{{"type":"identity","id":"aws:123456789012:user/nova-export","kind":"aws_iam_user","name":"nova-export","account":"123456789012","created":"2026-01-08","tags":{{"usage":"untracked"}},"scopes":[{scopes}]}}"#));
        lines.push(r#"{"type":"credential","id":"aws:123456789012:access-key/AKIANOVA","kind":"aws_access_key","holder":"aws:123456789012:user/nova-export","name":"nova-export key","created":"2026-01-08","revoke":{"commands":[["aws","iam","delete-access-key","--user-name","nova-export","--access-key-id","AKIANOVA"]]}}"#.to_string());
    }
    std::fs::write(dir.join("inventory.jsonl"), lines.join("\n") + "\n").unwrap();
}

fn findings_of(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("out/findings.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn of_kind<'a>(findings: &'a [serde_json::Value], kind: &str) -> Vec<&'a serde_json::Value> {
    findings.iter().filter(|f| f["kind"] == kind).collect()
}

fn lifecycle_sweep(dir: &Path, day: &str) -> Vec<serde_json::Value> {
    let o = sweep(dir, day, &["-q"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{day}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    findings_of(dir)
}

fn exit_plan(dir: &Path, day: &str, extra: &[&str]) -> Output {
    bin()
        .args([
            "exit-plan",
            "nova",
            "--verify",
            "--format",
            "md,html,sh",
            "--config",
        ])
        .arg(dir.join("sweep.toml"))
        .arg("--out")
        .arg(dir.join("plan"))
        .args(["--now", day, "--state"])
        .arg(dir.join("state.db"))
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn a_partner_lifecycle_from_onboarding_to_evidence() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("sweep.toml"), LIFECYCLE_SWEEP).unwrap();

    // Onboarding: requested, nothing granted yet; then active with a user and a key.
    nova(dir, "requested");
    inventory(dir, None);
    lifecycle_sweep(dir, "2026-01-05");
    nova(dir, "active");
    inventory(dir, Some(r#""aws:s3:GetObject""#));
    let f = lifecycle_sweep(dir, "2026-01-10");
    assert!(
        of_kind(&f, "scope_drift").is_empty(),
        "the first sighting is the baseline"
    );

    // A scope added beyond approval: drift, naming it and when it appeared.
    inventory(dir, Some(r#""aws:s3:GetObject","aws:s3:PutObject""#));
    let f = lifecycle_sweep(dir, "2026-03-01");
    let drift = of_kind(&f, "scope_drift");
    assert_eq!(drift.len(), 1, "{f:#?}");
    assert_eq!(drift[0]["severity"], "high");
    assert_eq!(
        drift[0]["title"],
        "aws iam user nova-export gained permissions since first seen on 2026-01-10: aws:s3:PutObject (2026-03-01)"
    );
    // Still there a month later: the same finding, still dated 03-01.
    let f = lifecycle_sweep(dir, "2026-04-01");
    let again = of_kind(&f, "scope_drift");
    assert_eq!(
        (again[0]["id"].clone(), again[0]["status"].clone()),
        (drift[0]["id"].clone(), "open".into())
    );
    assert_eq!(
        again[0]["evidence"]["added_scopes"][0]["since"],
        "2026-03-01T00:00:00Z"
    );

    // Renewal approaching: a checkpoint 21 days before expiry.
    let f = lifecycle_sweep(dir, "2026-12-10");
    let due = of_kind(&f, "review_due");
    assert_eq!(due.len(), 1, "{f:#?}");
    assert_eq!(due[0]["partner"], "nova");

    // Revoked in partners.toml on 12-15; the keys are still there on 02-04.
    nova(dir, "revoked");
    let f = lifecycle_sweep(dir, "2026-12-15");
    assert!(of_kind(&f, "lingering_access").iter().all(|l| l["title"]
        .as_str()
        .unwrap()
        .contains("0 days after Nova Data was revoked")));
    let f = lifecycle_sweep(dir, "2027-02-04");
    let lingering = of_kind(&f, "lingering_access");
    assert_eq!(lingering.len(), 2, "{f:#?}");
    assert!(
        lingering.iter().any(|l| l["title"]
            == "aws iam user nova-export still active 51 days after Nova Data was revoked"),
        "{lingering:#?}"
    );
    let o = exit_plan(dir, "2027-02-04", &[]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("0 gone, 2 still present, 0 unknown"));

    // The keys removed from the estate: resolved, and the exit plan turns green.
    inventory(dir, None);
    let o = sweep(dir, "2027-02-10", &["-q"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(findings_of(dir).iter().all(|f| f["partner"] != "nova"));
    let o = exit_plan(dir, "2027-02-10", &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("2 gone, 0 still present, 0 unknown"), "{err}");
    let md = String::from_utf8_lossy(&o.stdout);
    assert!(
        md.contains(
            "- [x] **Delete the user's access keys, then the user** aws iam user `nova-export`"
        ),
        "{md}"
    );
    let sh = std::fs::read_to_string(dir.join("plan/exit-plan-nova.sh")).unwrap();
    assert!(
        sh.contains("verified gone") && !sh.contains("delete-access-key"),
        "{sh}"
    );
    // The same verdict from the state file alone.
    let o = exit_plan(dir, "2027-02-10", &["--from-state"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // The evidence pack holds each step with its date.
    let o = bin()
        .args(["evidence", "nova", "--config"])
        .arg(dir.join("sweep.toml"))
        .arg("--state")
        .arg(dir.join("state.db"))
        .arg("--out")
        .arg(dir.join("audit"))
        .args(["--now", "2027-02-11"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let pack_dir = dir.join("audit/evidence-nova");
    let pack: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(pack_dir.join("evidence.json")).unwrap())
            .unwrap();
    assert_eq!(pack["partner"]["sponsor"], "kim.lee@corp.example");
    assert_eq!(pack["partner"]["status"], "revoked");
    let identities = pack["identities"].as_array().unwrap();
    assert_eq!(identities.len(), 2);
    for i in identities {
        assert_eq!(
            (
                i["first_seen"].as_str(),
                i["last_seen"].as_str(),
                i["present"].as_bool()
            ),
            (
                Some("2026-01-10T00:00:00Z"),
                Some("2027-02-04T00:00:00Z"),
                Some(false)
            ),
            "{i}"
        );
    }
    let changes: Vec<(String, String, String)> = pack["status_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["field"].as_str().unwrap().into(),
                c["to"].as_str().unwrap_or("").into(),
                c["at"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        vec![
            (
                "status".into(),
                "active".into(),
                "2026-01-10T00:00:00Z".into()
            ),
            (
                "expires".into(),
                "2026-12-31".into(),
                "2026-01-10T00:00:00Z".into()
            ),
            (
                "status".into(),
                "revoked".into(),
                "2026-12-15T00:00:00Z".into()
            ),
        ]
    );
    let findings = pack["findings"].as_array().unwrap();
    let lingering: Vec<_> = findings
        .iter()
        .filter(|f| f["kind"] == "lingering_access")
        .collect();
    assert_eq!(lingering.len(), 2);
    for l in &lingering {
        assert_eq!(
            (l["opened"].as_str(), l["resolved"].as_str()),
            (Some("2026-12-15T00:00:00Z"), Some("2027-02-10T00:00:00Z"))
        );
    }
    let drift: Vec<_> = findings
        .iter()
        .filter(|f| f["kind"] == "scope_drift")
        .collect();
    assert_eq!(drift[0]["opened"], "2026-03-01T00:00:00Z");
    assert_eq!(pack["runs"].as_array().unwrap().len(), 8);

    // The manifest holds each file's SHA-256.
    use sha2::Digest as _;
    let sums = std::fs::read_to_string(pack_dir.join("SHA256SUMS")).unwrap();
    assert_eq!(sums.lines().count(), 2);
    for line in sums.lines() {
        let (digest, name) = line.split_once("  ").unwrap();
        let body = std::fs::read(pack_dir.join(name)).unwrap();
        let actual: String = sha2::Sha256::digest(&body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(digest, actual, "{name}");
    }

    // Both HTML files as a browser renders them.
    let browser = trustmap_testkit::browser::find().unwrap_or_else(|| {
        panic!("no Chromium: apt-get install -y chromium (.ci/run installs it)")
    });
    let dom = |file: &Path| {
        let url = format!("file://{}", file.display());
        trustmap_testkit::browser::dump_dom(browser, &url, &dir.join("profile"))
    };
    let evidence = dom(&pack_dir.join("evidence.html"));
    assert!(
        evidence.contains("<h1>Evidence: Nova Data <code>nova</code></h1>"),
        "{evidence}"
    );
    for needle in [
        "kim.lee@corp.example",
        "2026-12-15T00:00:00Z",
        "2027-02-10T00:00:00Z",
        "Quarterly churn model",
    ] {
        assert!(
            evidence.contains(needle),
            "{needle} missing from the rendered pack"
        );
    }
    let plan = dom(&dir.join("plan/exit-plan-nova.html"));
    assert!(
        plan.contains("2 gone, 0 still present, 0 unknown"),
        "{plan}"
    );
    assert_eq!(
        plan.matches("<span class=\"verdict gone\">gone</span>")
            .count(),
        2
    );
}

#[test]
fn the_state_file_keeps_the_digest_key_so_leak_ids_hold_per_estate() {
    let dir = tempfile::tempdir().unwrap();
    trustmap_testkit::estate::build(dir.path()).unwrap();
    let leak_ids = |state: &str| -> Vec<String> {
        let o = bin()
            .args(["sweep", "-q", "--config"])
            .arg(dir.path().join("sweep.toml"))
            .arg("--out")
            .arg(dir.path().join("out"))
            .args(["--now", "2026-11-20", "--state"])
            .arg(dir.path().join(state))
            .env_remove("TRUSTMAP_KEY")
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let mut ids: Vec<String> = statuses_and_ids(dir.path())
            .into_iter()
            .filter(|(kind, _)| kind == "leaked_secret")
            .map(|(_, id)| id)
            .collect();
        ids.sort();
        ids
    };
    let first = leak_ids("a.db");
    assert!(!first.is_empty());
    assert_eq!(leak_ids("a.db"), first, "the same estate: the same ids");
    let other = leak_ids("b.db");
    assert!(
        other.iter().all(|id| !first.contains(id)),
        "another estate's key: other ids"
    );
}

fn statuses_and_ids(dir: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(dir.join("out/findings.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["kind"].as_str().unwrap().to_string(),
                v["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// `state show` ids, sorted (the state file must always be readable).
fn stored_ids(dir: &Path) -> Vec<String> {
    let o = bin()
        .args(["state", "--state"])
        .arg(dir.join("state.db"))
        .arg("show")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut ids: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

#[test]
fn sweeps_killed_at_random_points_leave_the_previous_or_the_next_complete_state() {
    let dir = tempfile::tempdir().unwrap();
    trustmap_testkit::estate::build(dir.path()).unwrap();
    let started = std::time::Instant::now();
    assert_eq!(
        sweep(dir.path(), "2026-11-20", &["-q"]).status.code(),
        Some(0)
    );
    let full_ms = started.elapsed().as_millis().max(50) as u64;
    let complete = stored_ids(dir.path());
    assert!(!complete.is_empty());
    // A small LCG: no dependency for randomness; the seed is printed to replay a failure.
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("seed {seed}, a complete sweep takes {full_ms} ms");
    let mut runs = history_len(dir.path());
    for i in 0..20 {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let delay = (seed >> 33) % (full_ms + full_ms / 4);
        let mut child = bin()
            .args(["sweep", "-q", "--config"])
            .arg(dir.path().join("sweep.toml"))
            .arg("--out")
            .arg(dir.path().join("killed"))
            .args(["--now", "2026-11-21", "--state"])
            .arg(dir.path().join("state.db"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay));
        let _ = child.kill(); // SIGKILL: no chance to clean up
        child.wait().unwrap();
        let after = history_len(dir.path());
        assert!(
            after == runs || after == runs + 1,
            "kill {i} after {delay} ms: {runs} runs before, {after} after"
        );
        assert_eq!(
            stored_ids(dir.path()),
            complete,
            "kill {i} after {delay} ms: a partial run is visible"
        );
        runs = after;
    }
    // And the file still takes a normal run.
    assert_eq!(
        sweep(dir.path(), "2026-11-22", &["-q"]).status.code(),
        Some(0)
    );
    assert_eq!(history_len(dir.path()), runs + 1);
}

#[test]
fn sigterm_stops_cleanly_writes_what_finished_and_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    trustmap_testkit::estate::build(dir.path()).unwrap();
    let config = dir.path().join("sweep.toml");
    let original = std::fs::read_to_string(&config).unwrap();
    // A source that prints nothing for a long time, as a stuck export would.
    std::fs::write(&config, format!("{original}\n[[connectors]]\ntype = \"exec\"\nname = \"slow\"\ncommand = \"sleep\"\nargs = [\"60\"]\n")).unwrap();
    let child = bin()
        .args(["sweep", "-q", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(dir.path().join("out"))
        .args(["--now", "2026-11-20", "--state"])
        .arg(dir.path().join("state.db"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let asked = std::time::Instant::now();
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let out = child.wait_with_output().unwrap();
    let took = asked.elapsed();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        took < std::time::Duration::from_secs(20),
        "stopped after {took:?}, not when asked"
    );
    // What the other connectors found is written and recorded; the slow one is reported.
    let written = std::fs::read_to_string(dir.path().join("out/findings.jsonl")).unwrap();
    assert!(written.lines().count() >= 10, "{written}");
    assert_eq!(history_len(dir.path()), 1);
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/findings.json")).unwrap(),
    )
    .unwrap();
    let slow = json["stats"]["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "slow")
        .cloned()
        .unwrap();
    assert!(
        slow["error"].to_string().contains("cancelled")
            || slow["error"].to_string().contains("interrupted"),
        "{slow}"
    );
}
