//! One store suite, run on both backends: a SQLite file and a real PostgreSQL server (Debian's
//! `postgresql`, started by the testkit in a throwaway directory). Each case gets a fresh
//! store, and on PostgreSQL a server of its own.
#![allow(clippy::unwrap_used)]

use std::time::Duration;
use trustmap_model::{Finding, FindingKind, FindingStatus, Severity, Subject};
use trustmap_store::{
    RunInput, SeenNode, SeenPartner, ShardId, ShardStatus, StateLocation, StateStore, StoreError,
};
use trustmap_testkit::postgres::Postgres;

/// Where a case's store lives; opening it twice gives two writers of one state.
struct Backend {
    location: StateLocation,
    _dir: Option<tempfile::TempDir>,
    _server: Option<Postgres>,
}

impl Backend {
    fn open(&self) -> Box<dyn StateStore + Send> {
        self.location.open(Duration::from_secs(5)).unwrap()
    }
}

fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    Backend {
        location: StateLocation::File(dir.path().join("state.db")),
        _dir: Some(dir),
        _server: None,
    }
}

/// A server of the case's own (stopped when the case ends, also when it fails).
fn server() -> Postgres {
    Postgres::start().unwrap()
}

fn postgres() -> Backend {
    let server = server();
    Backend {
        location: StateLocation::Postgres(server.database("suite").unwrap()),
        _dir: None,
        _server: Some(server),
    }
}

/// `case` on a SQLite file, then on PostgreSQL.
fn on_both(case: impl Fn(&Backend)) {
    case(&sqlite());
    case(&postgres());
}

fn finding(id: &str, source: &str) -> Finding {
    Finding {
        id: id.into(),
        kind: FindingKind::DormantAccess,
        severity: Severity::Medium,
        title: format!("finding {id}"),
        subject: Subject {
            id: format!("subject-{id}"),
            kind: "k".into(),
            name: id.into(),
        },
        partner: Some("acme".into()),
        chain: vec![],
        rule: None,
        location: None,
        evidence: serde_json::Map::new(),
        remediation: "fix".into(),
        references: vec![],
        status: FindingStatus::New,
        first_seen: String::new(),
        last_seen: String::new(),
        sources: vec![source.into()],
    }
}

fn run<'a>(day: &'a str, connectors: &'a [(String, bool)]) -> RunInput<'a> {
    RunInput {
        started: day,
        ended: day,
        connectors,
        gaps: &[],
        nodes: &[],
        partners: &[],
        name: None,
    }
}

#[test]
fn findings_appear_stay_resolve_only_when_their_source_ran_and_reopen() {
    on_both(|b| {
        let mut store = b.open();
        let ok = [("aws".to_string(), true), ("git".to_string(), true)];
        let mut f = vec![finding("tm-1", "aws"), finding("tm-2", "git")];
        let d = store.apply_run(&run("2026-11-01", &ok), &mut f).unwrap();
        assert_eq!(d.new, vec!["tm-1", "tm-2"]);
        assert_eq!(f[0].status, FindingStatus::New);
        let mut f = vec![finding("tm-1", "aws"), finding("tm-2", "git")];
        let d = store.apply_run(&run("2026-11-02", &ok), &mut f).unwrap();
        assert_eq!(d.still_open, vec!["tm-1", "tm-2"]);
        assert_eq!(
            (
                f[0].status,
                f[0].first_seen.as_str(),
                f[0].last_seen.as_str()
            ),
            (FindingStatus::Open, "2026-11-01", "2026-11-02")
        );
        // Both gone; aws failed, so only git's finding resolves.
        let half = [("aws".to_string(), false), ("git".to_string(), true)];
        let d = store.apply_run(&run("2026-11-03", &half), &mut []).unwrap();
        let resolved: Vec<&str> = d.resolved.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(resolved, vec!["tm-2"]);
        assert_eq!(d.resolved[0].status, FindingStatus::Resolved);
        assert_eq!(
            d.resolved[0].title, "finding tm-2",
            "the stored body comes back"
        );
        let d = store.apply_run(&run("2026-11-04", &ok), &mut []).unwrap();
        assert_eq!(d.resolved.len(), 1, "aws ran fine now: tm-1 resolves");
        let d = store.apply_run(&run("2026-11-05", &ok), &mut []).unwrap();
        assert!(d.resolved.is_empty(), "resolved once, not every run");
        let mut f = vec![finding("tm-1", "aws")];
        let d = store.apply_run(&run("2026-11-06", &ok), &mut f).unwrap();
        assert_eq!(d.reopened, vec!["tm-1"]);
        assert_eq!(f[0].first_seen, "2026-11-01");
        let history = store.history(10).unwrap();
        assert_eq!(history.len(), 6);
        assert_eq!(
            (history[0].started.as_str(), history[0].reopened),
            ("2026-11-06", 1)
        );
        assert_eq!(history[3].gaps, Vec::<String>::new());
        let all = store.findings(None).unwrap();
        assert_eq!(all.len(), 2);
        let tm2 = all.iter().find(|f| f.id == "tm-2").unwrap();
        assert_eq!(
            (
                tm2.status,
                tm2.resolved_at.as_deref(),
                tm2.partner.as_deref(),
                tm2.subject.as_deref()
            ),
            (
                FindingStatus::Resolved,
                Some("2026-11-03"),
                Some("acme"),
                Some("subject-tm-2")
            )
        );
    });
}

#[test]
fn suppression_and_tickets_stick() {
    on_both(|b| {
        let mut store = b.open();
        let ok = [("aws".to_string(), true)];
        store
            .apply_run(&run("d1", &ok), &mut [finding("tm-2", "aws")])
            .unwrap();
        store.suppress("tm-2", "accepted risk until Q2").unwrap();
        store.set_ticket("tm-2", "SEC-42").unwrap();
        let mut f = vec![finding("tm-2", "aws")];
        let d = store.apply_run(&run("d2", &ok), &mut f).unwrap();
        assert_eq!(d.suppressed, vec!["tm-2"]);
        assert_eq!(f[0].status, FindingStatus::Suppressed);
        let stored = &store.findings(Some(FindingStatus::Suppressed)).unwrap()[0];
        assert_eq!(stored.reason.as_deref(), Some("accepted risk until Q2"));
        assert_eq!(stored.ticket.as_deref(), Some("SEC-42"));
        store.unsuppress("tm-2").unwrap();
        assert_eq!(store.findings(Some(FindingStatus::Open)).unwrap().len(), 1);
        for err in [
            store.suppress("tm-404", "x").unwrap_err(),
            store.set_ticket("tm-404", "x").unwrap_err(),
        ] {
            assert!(matches!(err, StoreError::UnknownFinding { .. }), "{err}");
        }
    });
}

#[test]
fn memory_keeps_scope_sightings_and_partner_changes() {
    on_both(|b| {
        let mut store = b.open();
        let ok = [("aws".to_string(), true)];
        let sources = ["aws".to_string()];
        let runs: [(&str, Vec<String>, &str); 3] = [
            (
                "2026-11-01T00:00:00Z",
                vec!["s3:GetObject".into()],
                "active",
            ),
            (
                "2026-11-02T00:00:00Z",
                vec!["s3:GetObject".into(), "s3:PutObject".into()],
                "active",
            ),
            (
                "2026-11-03T00:00:00Z",
                vec!["s3:PutObject".into()],
                "revoked",
            ),
        ];
        for (started, scopes, status) in &runs {
            let nodes = [SeenNode {
                id: "aws:1:user/acme",
                kind: "identity",
                subtype: "aws_iam_user",
                name: "acme",
                account: Some("1"),
                partner: Some("acme"),
                sources: &sources,
                scopes,
                revoke: None,
            }];
            let partners = [SeenPartner {
                id: "acme",
                status,
                expires: Some("2027-01-01".into()),
            }];
            let input = RunInput {
                nodes: &nodes,
                partners: &partners,
                ..run(started, &ok)
            };
            store.apply_run(&input, &mut []).unwrap();
        }
        let memory = store.memory().unwrap();
        let node = &memory.nodes["aws:1:user/acme"];
        assert_eq!(
            (
                node.first_seen.as_str(),
                node.last_seen.as_str(),
                node.account.as_deref()
            ),
            ("2026-11-01T00:00:00Z", "2026-11-03T00:00:00Z", Some("1"))
        );
        let gained: Vec<_> = node.gained_scopes().collect();
        assert_eq!(gained, vec![("s3:PutObject", "2026-11-02T00:00:00Z")]);
        assert_eq!(memory.partners["acme"].status, "revoked");
        assert_eq!(memory.changes.len(), 1, "{:?}", memory.changes);
        assert_eq!(
            (
                memory.changes[0].from.as_deref(),
                memory.changes[0].to.as_deref()
            ),
            (Some("active"), Some("revoked"))
        );
        assert_eq!(
            memory.latest_run,
            Some((
                "2026-11-03T00:00:00Z".to_string(),
                vec![("aws".to_string(), true)]
            ))
        );
    });
}

#[test]
fn the_digest_key_is_created_once_and_shared_by_every_opener() {
    on_both(|b| {
        let keys: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| b.open().digest_key().unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(keys.windows(2).all(|w| w[0] == w[1]));
        assert_eq!(b.open().digest_key().unwrap(), keys[0]);
    });
}

#[test]
fn writers_take_turns_and_every_run_is_whole() {
    on_both(|b| {
        let ok = [("aws".to_string(), true)];
        std::thread::scope(|s| {
            for w in 0..4 {
                let ok = &ok;
                s.spawn(move || {
                    let mut store = b.open();
                    for r in 0..5 {
                        let ids: Vec<Finding> = (0..50)
                            .map(|i| finding(&format!("tm-{w}-{i}"), "aws"))
                            .collect();
                        let mut f = ids;
                        store
                            .apply_run(&run(&format!("w{w}-r{r}"), ok), &mut f)
                            .unwrap();
                    }
                });
            }
        });
        let store = b.open();
        assert_eq!(store.history(100).unwrap().len(), 20);
        // Each run saw only its writer's 50: the others' were resolved by it, and reopened by
        // the next run of theirs; every finding ends in a state one whole run left it in.
        let all = store.findings(None).unwrap();
        assert_eq!(all.len(), 200);
        for f in &all {
            assert!(
                matches!(f.status, FindingStatus::Open | FindingStatus::Resolved),
                "{f}"
            );
        }
    });
}

#[test]
fn shards_record_their_start_then_their_observations_whole() {
    on_both(|b| {
        let mut store = b.open();
        let shard = |index| ShardId {
            run: "nightly-1".into(),
            index,
            count: 2,
        };
        store.shard_started(&shard(0), "pod-0", "t0").unwrap();
        store.shard_started(&shard(1), "pod-1", "t0").unwrap();
        let obs: Vec<String> = (0..1000).map(|i| format!("{{\"n\":{i}}}")).collect();
        store
            .shard_finished(&shard(0), "t1", "{\"connectors\":[]}", &obs)
            .unwrap();
        let shards = store.shards("nightly-1").unwrap();
        assert_eq!(shards.len(), 2);
        assert_eq!(
            (
                shards[0].status,
                shards[0].observations,
                shards[0].report.as_deref()
            ),
            (ShardStatus::Done, 1000, Some("{\"connectors\":[]}"))
        );
        assert_eq!(
            (
                shards[1].status,
                shards[1].host.as_str(),
                shards[1].ended.as_deref()
            ),
            (ShardStatus::Running, "pod-1", None)
        );
        assert_eq!(store.shard_observations("nightly-1", 0).unwrap(), obs);
        assert!(store.shards("another-run").unwrap().is_empty());
        // A restarted shard starts over: the earlier attempt's observations are gone.
        store.shard_started(&shard(0), "pod-0b", "t2").unwrap();
        assert!(store.shard_observations("nightly-1", 0).unwrap().is_empty());
        assert_eq!(
            store.shards("nightly-1").unwrap()[0].status,
            ShardStatus::Running
        );
        let never = ShardId {
            run: "nightly-1".into(),
            index: 5,
            count: 8,
        };
        let err = store.shard_finished(&never, "t", "{}", &[]).unwrap_err();
        assert!(err.to_string().contains("without having started"), "{err}");
    });
}

#[test]
fn a_run_is_merged_once_and_its_observations_dropped() {
    on_both(|b| {
        let mut store = b.open();
        let shard = ShardId {
            run: "nightly-2".into(),
            index: 0,
            count: 1,
        };
        store.shard_started(&shard, "pod", "t0").unwrap();
        store
            .shard_finished(&shard, "t1", "{}", &["{}".to_string()])
            .unwrap();
        let ok = [("aws".to_string(), true)];
        let merge = RunInput {
            name: Some("nightly-2"),
            ..run("2026-11-10", &ok)
        };
        // Two merges race: one records the run, the other is refused and records nothing.
        let outcomes: Vec<Result<_, StoreError>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..2)
                .map(|_| {
                    let merge = &merge;
                    s.spawn(move || {
                        let mut f = vec![finding("tm-9", "aws")];
                        b.open().apply_run(merge, &mut f)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let (won, lost): (Vec<_>, Vec<_>) = outcomes.into_iter().partition(Result::is_ok);
        assert_eq!((won.len(), lost.len()), (1, 1));
        let err = lost.into_iter().next().unwrap().unwrap_err();
        assert!(matches!(err, StoreError::AlreadyMerged { .. }), "{err}");
        assert!(err.to_string().contains("already merged"), "{err}");
        assert_eq!(store.history(10).unwrap().len(), 1);
        assert!(store.shard_observations("nightly-2", 0).unwrap().is_empty());
        assert_eq!(
            store.shards("nightly-2").unwrap()[0].status,
            ShardStatus::Done
        );
        // A late shard of a merged run is refused too.
        let err = store.shard_started(&shard, "late", "t9").unwrap_err();
        assert!(matches!(err, StoreError::AlreadyMerged { .. }), "{err}");
    });
}

#[test]
fn a_postgres_writer_waits_then_is_refused_while_another_holds_the_run() {
    let pg = server();
    let url = pg.database("busy").unwrap();
    let location = StateLocation::Postgres(url.clone());
    // The schema in place; then another writer (psql, in a process of its own) holds the
    // writer lock for 3 s.
    drop(location.open(Duration::from_secs(5)).unwrap());
    let holder = std::process::Command::new("psql")
        .args([&url, "-X", "-q", "-c"])
        .arg("SELECT pg_advisory_lock(8390898194479669616); SELECT pg_sleep(3);")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let mut impatient = location.open(Duration::from_millis(200)).unwrap();
    let err = impatient.apply_run(&run("d", &[]), &mut []).unwrap_err();
    assert!(matches!(err, StoreError::Busy { .. }), "{err}");
    assert!(err.to_string().contains("another sweep"), "{err}");
    let mut patient = location.open(Duration::from_secs(20)).unwrap();
    patient.apply_run(&run("d", &[]), &mut []).unwrap();
    assert_eq!(patient.history(5).unwrap().len(), 1);
    let mut holder = holder;
    holder.wait().unwrap();
}

#[test]
fn a_postgres_url_with_a_password_never_shows_it_and_a_bad_one_is_a_clear_error() {
    let pg = server();
    let url = format!(
        "postgres://postgres:hunter2@127.0.0.1:{}/no_such_db",
        pg.port
    );
    let err = StateLocation::parse(&url)
        .open(Duration::from_secs(1))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("no_such_db") && err.contains("does not exist"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
    let err = StateLocation::parse("postgres://127.0.0.1:1/x?connect_timeout=2")
        .open(Duration::from_secs(1))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("cannot connect"), "{err}");
}

#[test]
fn a_newer_postgres_schema_is_refused_not_damaged() {
    let pg = server();
    let url = pg.database("newer").unwrap();
    let location = StateLocation::Postgres(url);
    drop(location.open(Duration::from_secs(5)).unwrap());
    pg.psql("newer", "UPDATE trustmap_schema SET version = 99")
        .unwrap();
    let err = location
        .open(Duration::from_secs(5))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("newer"), "{err}");
    assert_eq!(
        pg.psql("newer", "SELECT version FROM trustmap_schema")
            .unwrap(),
        "99"
    );
}
