//! The webhook sink against a real HTTP receiver on 127.0.0.1: only changes are sent, each event
//! signed and keyed, retried through 5xx, dead-lettered when it cannot get through.
#![allow(clippy::too_many_lines)] // a scenario test reads as one story, set-up to assertions
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use trustmap_testkit::http::{Response, Server};

/// A receiver that answers the first `fail_first` requests with 500 (all of them when
/// `fail_first` is `usize::MAX`) and the rest with 200, recording each.
fn receiver(fail_first: usize) -> (String, Server) {
    let n = AtomicUsize::new(0);
    let server = Server::start(move |_| {
        let status = if n.fetch_add(1, Ordering::SeqCst) < fail_first {
            500
        } else {
            200
        };
        Response::new(status, "text/plain", "")
    });
    (format!("{}/findings", server.base), server)
}

fn configure(dir: &Path, url: &str, retries: u32) {
    trustmap_testkit::estate::build(dir).unwrap();
    let config = dir.join("sweep.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("{text}\n[[sinks]]\ntype = \"webhook\"\nurl = \"{url}\"\nsecret_env = \"TM_TEST_HOOK_SECRET\"\nmax_retries = {retries}\nbackoff_ms = 10\ntimeout_seconds = 5\n"),
    )
    .unwrap();
}

fn sweep(dir: &Path, day: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trustmap"))
        .args(["sweep", "--config"])
        .arg(dir.join("sweep.toml"))
        .arg("--out")
        .arg(dir.join("out"))
        .args(["--now", day, "--state"])
        .arg(dir.join("state.db"))
        .env("TM_TEST_HOOK_SECRET", "s3cret-for-tests")
        .output()
        .unwrap()
}

fn events(seen: &Server) -> Vec<String> {
    seen.requests()
        .iter()
        .filter(|r| r.answered == 200)
        .map(|r| r.header("X-Trustmap-Event").unwrap().to_string())
        .collect()
}

#[test]
fn webhook_gets_opened_nothing_resolved_reopened() {
    let (url, seen) = receiver(0);
    let dir = tempfile::tempdir().unwrap();
    configure(dir.path(), &url, 2);
    let inventory = dir.path().join("inventory.jsonl");
    let full = std::fs::read_to_string(&inventory).unwrap();

    let o = sweep(dir.path(), "2026-11-20");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(events(&seen), vec!["opened"; 15]);
    // Every request is signed over its body and carries an idempotency key.
    for r in seen.requests() {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret-for-tests").unwrap();
        mac.update(&r.body);
        let expected: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            r.header("X-Trustmap-Signature"),
            Some(format!("sha256={expected}").as_str())
        );
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            r.header("Idempotency-Key").unwrap(),
            format!("{}:opened", body["finding"]["id"].as_str().unwrap())
        );
    }

    seen.clear();
    sweep(dir.path(), "2026-11-21");
    assert!(events(&seen).is_empty(), "nothing changed, nothing sent");

    let without: String = full
        .lines()
        .filter(|l| !l.contains("role/mystery"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&inventory, without).unwrap();
    sweep(dir.path(), "2026-11-22");
    assert_eq!(events(&seen), vec!["resolved"; 2]);

    seen.clear();
    std::fs::write(&inventory, &full).unwrap();
    sweep(dir.path(), "2026-11-23");
    assert_eq!(events(&seen), vec!["reopened"; 2]);
}

#[test]
fn a_receiver_failing_twice_gets_each_event_once() {
    let (url, seen) = receiver(2);
    let dir = tempfile::tempdir().unwrap();
    configure(dir.path(), &url, 3);
    let o = sweep(dir.path(), "2026-11-20");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("sent 15 events"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let log = seen.requests();
    assert_eq!(log.len(), 17, "2 failed attempts, then 15 deliveries");
    let mut keys: Vec<&str> = log
        .iter()
        .filter(|r| r.answered == 200)
        .map(|r| r.header("Idempotency-Key").unwrap())
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 15);
    assert!(!dir.path().join("trustmap-dead-letter.jsonl").exists());
}

#[test]
fn undeliverable_events_go_to_the_dead_letter_file() {
    let (url, _seen) = receiver(usize::MAX);
    let dir = tempfile::tempdir().unwrap();
    configure(dir.path(), &url, 1);
    let o = sweep(dir.path(), "2026-11-20");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("15 could not be delivered"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let dead = std::fs::read_to_string(dir.path().join("trustmap-dead-letter.jsonl")).unwrap();
    assert_eq!(dead.lines().count(), 15);
    assert!(dead.contains("HTTP 500"));
}

#[test]
fn sinks_without_state_or_secret_are_configuration_errors() {
    let dir = tempfile::tempdir().unwrap();
    configure(dir.path(), "http://127.0.0.1:9/x", 0);
    let o = Command::new(env!("CARGO_BIN_EXE_trustmap"))
        .args(["sweep", "--config"])
        .arg(dir.path().join("sweep.toml"))
        .env("TM_TEST_HOOK_SECRET", "x")
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("need a state file"));
    let o = Command::new(env!("CARGO_BIN_EXE_trustmap"))
        .args(["sweep", "--config"])
        .arg(dir.path().join("sweep.toml"))
        .env_remove("TM_TEST_HOOK_SECRET")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("sweep.toml:") && err.contains("TM_TEST_HOOK_SECRET"),
        "{err}"
    );
}
