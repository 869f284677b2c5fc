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
//! The trait is the seam for a shared (PostgreSQL) store; it knows nothing about connectors,
//! the graph or output formats.

mod sqlite;

use trustmap_model::{Finding, FindingKind, FindingStatus, Severity};

pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: state store: {message}")]
    Sqlite { path: String, message: String },
    #[error("{path}: another sweep is writing this state file; try again when it has finished")]
    Busy { path: String },
    #[error("{path}: no finding with id {id:?}")]
    UnknownFinding { path: String, id: String },
}

/// One run as the store sees it.
pub struct RunInput<'a> {
    pub started: &'a str,
    pub ended: &'a str,
    /// Each connector and whether it ran fine.
    pub connectors: &'a [(String, bool)],
    pub gaps: &'a [String],
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
        }
    }

    #[test]
    fn appears_stays_resolves_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let mut store =
            SqliteStore::open(&dir.path().join("state.db"), Duration::from_secs(1)).unwrap();
        let ok = [("aws".to_string(), true)];
        let mut f = vec![finding("tm-1", "aws")];
        let d = store.apply_run(&run("2026-11-01", &ok), &mut f).unwrap();
        assert_eq!(d.new, vec!["tm-1"]);
        assert_eq!(f[0].status, FindingStatus::New);
        let mut f = vec![finding("tm-1", "aws")];
        let d = store.apply_run(&run("2026-11-02", &ok), &mut f).unwrap();
        assert_eq!(d.still_open, vec!["tm-1"]);
        assert_eq!(
            (f[0].status, f[0].first_seen.as_str()),
            (FindingStatus::Open, "2026-11-01")
        );
        // Gone while its connector failed: not resolved.
        let failed = [("aws".to_string(), false)];
        let d = store
            .apply_run(&run("2026-11-03", &failed), &mut [])
            .unwrap();
        assert!(d.resolved.is_empty());
        let d = store.apply_run(&run("2026-11-04", &ok), &mut []).unwrap();
        assert_eq!(d.resolved.len(), 1);
        let d = store.apply_run(&run("2026-11-05", &ok), &mut []).unwrap();
        assert!(d.resolved.is_empty(), "resolved once, not every run");
        let mut f = vec![finding("tm-1", "aws")];
        let d = store.apply_run(&run("2026-11-06", &ok), &mut f).unwrap();
        assert_eq!(d.reopened, vec!["tm-1"]);
        assert_eq!(store.history(10).unwrap().len(), 6);
    }

    #[test]
    fn suppression_sticks_until_lifted() {
        let dir = tempfile::tempdir().unwrap();
        let mut store =
            SqliteStore::open(&dir.path().join("s.db"), Duration::from_secs(1)).unwrap();
        let ok = [("aws".to_string(), true)];
        store
            .apply_run(&run("d1", &ok), &mut [finding("tm-2", "aws")])
            .unwrap();
        store.suppress("tm-2", "accepted risk until Q2").unwrap();
        let mut f = vec![finding("tm-2", "aws")];
        let d = store.apply_run(&run("d2", &ok), &mut f).unwrap();
        assert_eq!(d.suppressed, vec!["tm-2"]);
        assert_eq!(f[0].status, FindingStatus::Suppressed);
        assert_eq!(
            store.findings(Some(FindingStatus::Suppressed)).unwrap()[0]
                .reason
                .as_deref(),
            Some("accepted risk until Q2")
        );
        store.unsuppress("tm-2").unwrap();
        assert!(matches!(
            store.suppress("tm-404", "x"),
            Err(StoreError::UnknownFinding { .. })
        ));
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
}
