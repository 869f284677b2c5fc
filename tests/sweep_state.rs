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
