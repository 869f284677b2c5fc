//! The state store: what trustmap remembers between runs.
//!
//! [`StateStore::apply_run`] takes one run's findings and, in a single transaction, classifies
//! each as new, still open, reopened or resolved, stamps `status`, `first_seen` and
//! `last_seen` on them, and records the run. A finding is only resolved when every connector
//! that produced it ran fine this time (a failed connector never yields a false "fixed").
//! A crash or kill mid-run leaves the previous state intact (SQLite's transaction), and a
//! second sweep on the same file waits for the first's write, then refuses with a clear
//! message if it cannot get in.
//!
//! Each run also records what it saw ([`SeenNode`]: identities, credentials, secret locations
//! and the day each scope first appeared) and the partners' lifecycle fields ([`SeenPartner`]:
//! a change between runs is kept with its date); [`StateStore::memory`] hands that back to the
//! next run's checks (scope drift, time since revocation), to `exit-plan --verify` and to
//! `trustmap evidence`. Schema versions are migrated on open.
//!
//! Sharded sweeps: each shard records itself ([`StateStore::shard_started`]), then its
//! connectors' reports and observations in one transaction ([`StateStore::shard_finished`]);
//! the merge reads them back and records the run under the run's name, once
//! ([`RunInput::name`]: a second merge of the same run is refused).
//!
//! Two backends behind one trait, chosen by [`StateLocation`]: a SQLite file (the embedded
//! default) and PostgreSQL (`postgres://...`, shared by the machines of a sharded sweep). The
//! store knows nothing about connectors, the graph or output formats: shard reports and
//! observations are JSON text to it.

mod diff;
mod key;
mod location;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod sqlite;

use trustmap_model::{Finding, FindingKind, FindingStatus, Memory, Revocation, Severity};

pub use key::{key_file, user_key_file};
pub use location::StateLocation;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: state store: {message}")]
    Sqlite { path: String, message: String },
    #[error("{path}: another sweep is writing this state; try again when it has finished")]
    Busy { path: String },
    #[error("{path}: no finding with id {id:?}")]
    UnknownFinding { path: String, id: String },
    #[error("{path}: digest key: {message}")]
    Key { path: String, message: String },
    #[error("{path}: state schema version {found} is newer than this trustmap understands ({known}); use a newer trustmap")]
    NewerSchema {
        path: String,
        found: i64,
        known: i64,
    },
    /// `path` is the URL without its password.
    #[error("{path}: state store: {message}")]
    Postgres { path: String, message: String },
    #[error("{path}: run {run:?} was already merged (recorded {at}); a run is merged once, start a new run name")]
    AlreadyMerged {
        path: String,
        run: String,
        at: String,
    },
    #[error("{path}: this trustmap was built without PostgreSQL support (feature `postgres`)")]
    NoPostgres { path: String },
}

/// One shard of a sharded run: slice `index` of `count` (0-based) of run `run`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardId {
    pub run: String,
    pub index: u32,
    pub count: u32,
}

impl std::fmt::Display for ShardId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "shard {}/{} of run {:?}",
            self.index, self.count, self.run
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardStatus {
    /// Started and not finished: still running, or killed.
    Running,
    /// Its report and observations are stored.
    Done,
}

impl ShardStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ShardStatus::Running => "running",
            ShardStatus::Done => "done",
        }
    }

    fn parse(s: &str) -> ShardStatus {
        if s == "done" {
            ShardStatus::Done
        } else {
            ShardStatus::Running
        }
    }
}

/// A shard as the store recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardRecord {
    pub index: u32,
    /// The shard count it was started with (a merge expecting another count refuses).
    pub count: u32,
    pub status: ShardStatus,
    /// The machine (or pod) it ran on.
    pub host: String,
    pub started: String,
    pub ended: Option<String>,
    /// The shard's connector reports (JSON, the sweep's own shape), once done.
    pub report: Option<String>,
    pub observations: u64,
}

/// An identity, credential or secret location as this run saw it.
pub struct SeenNode<'a> {
    pub id: &'a str,
    /// `identity`, `credential`, `secret_location`.
    pub kind: &'a str,
    pub subtype: &'a str,
    pub name: &'a str,
    /// The account, organisation or tenant it lives in.
    pub account: Option<&'a str>,
    pub partner: Option<&'a str>,
    pub sources: &'a [String],
    pub scopes: &'a [String],
    pub revoke: Option<&'a Revocation>,
}

/// A partner's registry entry as this run read it.
pub struct SeenPartner<'a> {
    pub id: &'a str,
    pub status: &'a str,
    pub expires: Option<String>,
}

/// One run as the store sees it.
pub struct RunInput<'a> {
    pub started: &'a str,
    pub ended: &'a str,
    /// Each connector and whether it ran fine.
    pub connectors: &'a [(String, bool)],
    pub gaps: &'a [String],
    /// What the graph held, for scope drift, exit-plan verification and evidence.
    pub nodes: &'a [SeenNode<'a>],
    /// The registry's lifecycle fields, so that changes between runs are recorded with a date.
    pub partners: &'a [SeenPartner<'a>],
    /// A merged sharded run's name: recorded once ([`StoreError::AlreadyMerged`] after), and
    /// its shards' observations dropped with the same commit.
    pub name: Option<&'a str>,
}

/// How this run's findings compare with the previous state.
#[derive(Debug, Clone, Default)]
pub struct Diff {
    pub new: Vec<String>,
    pub still_open: Vec<String>,
    pub reopened: Vec<String>,
    /// Previously open findings not seen again while their connectors ran fine.
    pub resolved: Vec<Finding>,
    pub suppressed: Vec<String>,
}

/// A remembered finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFinding {
    pub id: String,
    pub kind: FindingKind,
    pub severity: Severity,
    pub title: String,
    pub status: FindingStatus,
    pub first_seen: String,
    pub last_seen: String,
    pub ticket: Option<String>,
    pub reason: Option<String>,
    /// The partner the finding was about, and its subject's id.
    pub partner: Option<String>,
    pub subject: Option<String>,
    pub resolved_at: Option<String>,
}

/// A recorded run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    pub id: i64,
    pub started: String,
    pub ended: String,
    pub connectors: String,
    pub new: i64,
    pub open: i64,
    pub reopened: i64,
    pub resolved: i64,
    /// Coverage gaps and connector failures of the run.
    pub gaps: Vec<String>,
}

/// One line per finding, as `trustmap state show` prints it.
impl std::fmt::Display for StoredFinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}  {:<10} {:<8} {:<24} first {}  last {}  {}",
            self.id,
            self.status.as_str(),
            self.severity.as_str(),
            self.kind.as_str(),
            self.first_seen,
            self.last_seen,
            self.title
        )?;
        match &self.reason {
            Some(r) => write!(f, "  (suppressed: {r})"),
            None => Ok(()),
        }
    }
}

/// One line per run, as `trustmap state history` prints it.
impl std::fmt::Display for RunRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "run {:>4}  {} .. {}  new {}  open {}  reopened {}  resolved {}  connectors {}",
            self.id,
            self.started,
            self.ended,
            self.new,
            self.open,
            self.reopened,
            self.resolved,
            self.connectors
        )
    }
}

pub trait StateStore {
    /// Classify and stamp `findings` against the stored state and record the run, atomically.
    fn apply_run(
        &mut self,
        run: &RunInput<'_>,
        findings: &mut [Finding],
    ) -> Result<Diff, StoreError>;
    fn findings(&self, status: Option<FindingStatus>) -> Result<Vec<StoredFinding>, StoreError>;
    fn history(&self, limit: usize) -> Result<Vec<RunRecord>, StoreError>;
    /// Accept a finding: it stays out of `--fail-on` and tickets until unsuppressed.
    fn suppress(&mut self, id: &str, reason: &str) -> Result<(), StoreError>;
    fn unsuppress(&mut self, id: &str) -> Result<(), StoreError>;
    /// Remember the ticket a finding was sent as (for sinks).
    fn set_ticket(&mut self, id: &str, ticket: &str) -> Result<(), StoreError>;
    /// What earlier runs saw: nodes with their scopes' first sightings, partner lifecycle
    /// changes, the latest run.
    fn memory(&self) -> Result<Memory, StoreError>;
    /// The estate's digest key, created on first use and kept with the state.
    fn digest_key(&mut self) -> Result<trustmap_model::DigestKey, StoreError>;
    /// Record that a shard started on `host` (a restarted shard starts over: what an earlier
    /// attempt stored is dropped). Refused once the run was merged.
    fn shard_started(&mut self, shard: &ShardId, host: &str, at: &str) -> Result<(), StoreError>;
    /// Store a shard's report and observations (JSON, one per entry) and mark it done, in one
    /// transaction: a shard killed before this has stored nothing but its start.
    fn shard_finished(
        &mut self,
        shard: &ShardId,
        at: &str,
        report: &str,
        observations: &[String],
    ) -> Result<(), StoreError>;
    /// Every shard of `run` that started, by index.
    fn shards(&self, run: &str) -> Result<Vec<ShardRecord>, StoreError>;
    /// A finished shard's observations, in the order it stored them.
    fn shard_observations(&self, run: &str, index: u32) -> Result<Vec<String>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use trustmap_model::Subject;

    fn finding(id: &str, source: &str) -> Finding {
        let mut evidence = serde_json::Map::new();
        evidence.insert("sources".into(), serde_json::json!([source]));
        Finding {
            id: id.into(),
            kind: FindingKind::DormantAccess,
            severity: Severity::Medium,
            title: format!("finding {id}"),
            subject: Subject {
                id: id.into(),
                kind: "k".into(),
                name: id.into(),
            },
            partner: None,
            chain: vec![],
            rule: None,
            location: None,
            evidence,
            remediation: "fix".into(),
            references: vec![],
            status: FindingStatus::New,
            first_seen: String::new(),
            last_seen: String::new(),
            sources: vec![],
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
    fn a_second_writer_is_refused_with_a_clear_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut first = SqliteStore::open(&path, Duration::from_millis(100)).unwrap();
        let mut second = SqliteStore::open(&path, Duration::from_millis(100)).unwrap();
        let tx = first
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        let err = second.apply_run(&run("d", &[]), &mut []).unwrap_err();
        assert!(matches!(err, StoreError::Busy { .. }), "{err}");
        assert!(err.to_string().contains("another sweep"));
        drop(tx);
        assert!(second.apply_run(&run("d", &[]), &mut []).is_ok());
    }

    #[test]
    fn a_version_one_file_is_migrated_and_keeps_its_findings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute_batch(sqlite::SCHEMA_V1).unwrap();
            let mut f = finding("tm-old", "aws");
            f.partner = Some("oldco".into());
            conn.execute(
                "INSERT INTO findings (id, kind, severity, title, status, first_seen, last_seen, sources, body_hash) VALUES ('tm-old', 'dormant_access', 'medium', 't', 'open', 'd1', 'd1', '[\"aws\"]', 'h')",
                [],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO bodies (id, body) VALUES ('tm-old', ?1)",
                [serde_json::to_string(&f).unwrap()],
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path, Duration::from_secs(1)).unwrap();
        let all = store.findings(None).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].partner.as_deref(), Some("oldco"));
        assert_eq!(all[0].subject.as_deref(), Some("tm-old"));
        drop(store);
        // Opening again is a no-op, and a newer file is refused, not damaged.
        SqliteStore::open(&path, Duration::from_secs(1)).unwrap();
        rusqlite::Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let err = SqliteStore::open(&path, Duration::from_secs(1))
            .err()
            .unwrap();
        assert!(err.to_string().contains("newer"), "{err}");
    }
}
