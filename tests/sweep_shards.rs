//! Sharded sweeps against a real PostgreSQL server: an estate of many git repositories, an
//! offline AWS export and an inventory swept once unsharded and once as 4 concurrent shard
//! processes plus a merge (the same findings, the same ids, the same webhook events); two
//! merges racing (one wins, the other says so); an unchanged sharded run delivers nothing; a
//! shard killed mid-run is a gap of the merge and nothing it held is resolved.
#![allow(clippy::too_many_lines)] // a scenario test reads as one story, set-up to assertions
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use trustmap_testkit::http::{Response, Server};
use trustmap_testkit::postgres::Postgres;

/// Shared by every process of a test, as an estate's CI secret would be: leaked secrets'
/// finding ids are digests under it, so the unsharded and sharded runs can be compared.
const KEY: &str = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";
const DAY: &str = "2026-11-20";

fn sweep(config: &Path, state: &str, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_trustmap"));
    c.args(["sweep", "--config"])
        .arg(config)
        .args(["--state", state, "--now", DAY])
        .args(args)
        .env("TRUSTMAP_KEY", KEY)
        .env("TM_TEST_HOOK_SECRET", "hook-secret")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Each finding's id and severity, from findings.jsonl.
fn findings(out: &Path) -> BTreeSet<(String, String)> {
    std::fs::read_to_string(out.join("findings.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["id"].as_str().unwrap().to_string(),
                v["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn shards(config: &Path, state: &str, run: &str) -> Vec<Child> {
    (0..4)
        .map(|i| {
            sweep(config, state, &["--shard", &format!("{i}/4"), "--run", run])
                .spawn()
                .unwrap()
        })
        .collect()
}

fn merge(config: &Path, state: &str, run: &str, out: &Path, timeout: &str) -> Command {
    let mut c = sweep(
        config,
        state,
        &["--merge", "4", "--run", run, "--merge-timeout", timeout],
    );
    c.arg("--out").arg(out);
    c
}

fn wait_ok(children: Vec<Child>) -> Vec<Output> {
    children
        .into_iter()
        .map(|c| {
            let o = c.wait_with_output().unwrap();
            assert_eq!(o.status.code(), Some(0), "{}", text(&o));
            o
        })
        .collect()
}

fn since(o: &Output) -> String {
    text(o)
        .lines()
        .find(|l| l.starts_with("since the last run"))
        .unwrap_or_default()
        .to_string()
}

fn webhook() -> (String, Server) {
    let server = Server::start(|_| Response::new(200, "text/plain", ""));
    let sink = format!(
        "\n[[sinks]]\ntype = \"webhook\"\nurl = \"{}/findings\"\nsecret_env = \"TM_TEST_HOOK_SECRET\"\ntimeout_seconds = 5\n",
        server.base
    );
    (sink, server)
}

/// Each event's kind and finding id, sorted.
fn events(seen: &Server) -> Vec<(String, String)> {
    let mut got: Vec<(String, String)> = seen
        .requests()
        .iter()
        .map(|r| {
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            (
                r.header("X-Trustmap-Event").unwrap().to_string(),
                body["finding"]["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    got
}

#[test]
fn four_shards_and_a_merge_find_what_one_sweep_finds_and_deliver_it_once() {
    let pg = Postgres::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (sink, seen) = webhook();
    let config = trustmap_testkit::estate::many_repositories(dir.path(), 16, &sink).unwrap();

    let one = pg.database("unsharded").unwrap();
    let o = sweep(&config, &one, &["--out"])
        .arg(dir.path().join("one"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let expected = findings(&dir.path().join("one"));
    assert!(expected.len() > 40, "{expected:?}");
    assert!(
        expected.iter().any(|(_, s)| s == "critical"),
        "{expected:?}"
    );
    let delivered_once = events(&seen);
    assert_eq!(delivered_once.len(), expected.len());
    seen.clear();

    // The same estate as 4 shard processes and two merges, all at once.
    let shared = pg.database("sharded").unwrap();
    let merges: Vec<Child> = (0..2)
        .map(|m| {
            merge(
                &config,
                &shared,
                "nightly-1",
                &dir.path().join(format!("merge-{m}")),
                "300",
            )
            .spawn()
            .unwrap()
        })
        .collect();
    let shard_outputs = wait_ok(shards(&config, &shared, "nightly-1"));
    let ran: usize = shard_outputs
        .iter()
        .map(|o| {
            let line = text(o);
            assert!(
                line.contains("observations stored in postgres://"),
                "{line}"
            );
            line.split(" connectors (")
                .next()
                .unwrap()
                .rsplit(' ')
                .next()
                .unwrap()
                .parse::<usize>()
                .unwrap()
        })
        .sum();
    assert_eq!(ran, 18, "every connector ran in exactly one shard");
    let merged: Vec<(usize, Output)> = merges
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .enumerate()
        .collect();
    let (won, lost): (Vec<_>, Vec<_>) = merged.iter().partition(|(_, o)| o.status.success());
    assert_eq!(
        (won.len(), lost.len()),
        (1, 1),
        "{:?}",
        merged.iter().map(|(_, o)| text(o)).collect::<Vec<_>>()
    );
    let (winner, o) = won[0];
    assert!(text(o).contains("4/4 shards finished"), "{}", text(o));
    let loser = &lost[0].1;
    assert_eq!(loser.status.code(), Some(2));
    assert!(
        text(loser).contains("\"nightly-1\" was already merged"),
        "{}",
        text(loser)
    );
    assert_eq!(
        findings(&dir.path().join(format!("merge-{winner}"))),
        expected
    );
    assert_eq!(events(&seen), delivered_once, "the same events, sent once");
    seen.clear();

    // Unchanged and sharded again: nothing new, nothing resolved, nothing sent.
    let merge2 = merge(
        &config,
        &shared,
        "nightly-2",
        &dir.path().join("merge-2"),
        "300",
    )
    .spawn()
    .unwrap();
    wait_ok(shards(&config, &shared, "nightly-2"));
    let o = merge2.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        since(&o),
        format!(
            "since the last run: 0 new, {} still open, 0 reopened, 0 resolved, 0 suppressed",
            expected.len()
        )
    );
    assert!(seen.requests().is_empty(), "nothing changed, nothing sent");
    assert_eq!(findings(&dir.path().join("merge-2")), expected);
    // The shards' observations went with their merges; their records stay.
    assert_eq!(
        pg.psql("sharded", "SELECT count(*) FROM shard_observations")
            .unwrap(),
        "0"
    );
    assert_eq!(
        pg.psql(
            "sharded",
            "SELECT count(*) FROM shards WHERE status = 'done'"
        )
        .unwrap(),
        "8"
    );
}

/// A connector name that falls in shard `index` of 4 (a sleeper to kill mid-run there).
fn name_in_shard(index: u32) -> String {
    (0..)
        .map(|k| format!("slow-{k}"))
        .find(|n| trustmap_sweep::Slice::of(n, 4) == index)
        .unwrap()
}

#[test]
fn a_shard_killed_mid_run_is_a_gap_of_the_merge_and_nothing_it_held_resolves() {
    let pg = Postgres::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = trustmap_testkit::estate::many_repositories(dir.path(), 8, "").unwrap();
    let state = pg.database("state").unwrap();
    let first = merge(&config, &state, "night-1", &dir.path().join("out-1"), "300")
        .spawn()
        .unwrap();
    wait_ok(shards(&config, &state, "night-1"));
    let o = first.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let before = findings(&dir.path().join("out-1"));

    // The next night shard 3 also holds a connector that takes long, and is killed while it
    // runs; the rest of the estate is unchanged.
    let slow = name_in_shard(3);
    let text_config = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("{text_config}\n[[connectors]]\ntype = \"exec\"\nname = \"{slow}\"\ncommand = \"sleep\"\nargs = [\"30\"]\n"),
    )
    .unwrap();
    let mut children = shards(&config, &state, "night-2");
    let mut killed = children.pop().unwrap();
    wait_ok(children);
    let started = Instant::now();
    while pg
        .psql(
            "state",
            "SELECT status FROM shards WHERE run = 'night-2' AND shard = 3",
        )
        .unwrap()
        != "running"
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "shard 3 never recorded its start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    killed.kill().unwrap();
    killed.wait().unwrap();
    let o = merge(&config, &state, "night-2", &dir.path().join("out-2"), "2")
        .output()
        .unwrap();
    let err = text(&o);
    assert_eq!(
        o.status.code(),
        Some(3),
        "a connector (the shard) failed: {err}"
    );
    assert!(
        err.contains("shard 3/4 started on") && err.contains("never finished"),
        "{err}"
    );
    assert!(err.contains("3/4 shards finished"), "{err}");
    assert!(
        since(&o).ends_with(" 0 reopened, 0 resolved, 0 suppressed")
            && since(&o).starts_with("since the last run: 0 new"),
        "{}",
        since(&o)
    );
    let seen_now = findings(&dir.path().join("out-2"));
    assert!(
        seen_now.len() < before.len(),
        "shard 3's findings were not seen"
    );
    // Nothing is resolved: what shard 3 held stays open in the state.
    let open = Command::new(env!("CARGO_BIN_EXE_trustmap"))
        .args(["state", "--state", &state, "show", "--status", "resolved"])
        .output()
        .unwrap();
    assert!(open.status.success(), "{}", text(&open));
    assert_eq!(String::from_utf8_lossy(&open.stdout).trim(), "");
    let history = Command::new(env!("CARGO_BIN_EXE_trustmap"))
        .args(["state", "--state", &state, "history"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&history.stdout).lines().count(), 2);
}

#[test]
fn shards_on_one_machine_share_a_sqlite_file_and_bad_shard_flags_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let config = trustmap_testkit::estate::many_repositories(dir.path(), 3, "").unwrap();
    let state = dir.path().join("state.db");
    let state = state.to_str().unwrap();
    let o = sweep(&config, state, &["--out"])
        .arg(dir.path().join("one"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    for i in 0..2 {
        let o = sweep(
            &config,
            state,
            &["--shard", &format!("{i}/2"), "--run", "r1"],
        )
        .output()
        .unwrap();
        assert!(o.status.success(), "{}", text(&o));
    }
    let mut m = sweep(&config, state, &["--merge", "2", "--run", "r1", "--out"]);
    let o = m.arg(dir.path().join("merged")).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        findings(&dir.path().join("merged")),
        findings(&dir.path().join("one"))
    );
    assert!(
        since(&o).starts_with("since the last run: 0 new"),
        "{}",
        since(&o)
    );

    for (args, says) in [
        (vec!["--shard", "2/2", "--run", "r"], "0 <= I < N"),
        (vec!["--shard", "0/2"], "--run"),
        (vec!["--merge", "0", "--run", "r"], "--merge"),
        (
            vec!["--shard", "0/2", "--merge", "2", "--run", "r"],
            "cannot be used with",
        ),
    ] {
        let o = sweep(&config, state, &args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(says), "{args:?}: {}", text(&o));
    }
    // A merge expecting another shard count refuses rather than reporting half an estate.
    let o = sweep(&config, state, &["--merge", "3", "--run", "r1"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("does not belong to a merge of 3 shards"),
        "{}",
        text(&o)
    );
}
