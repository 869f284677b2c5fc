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
//! The trait is the seam for a shared (PostgreSQL) store; it knows nothing about connectors,
//! the graph or output formats.

mod key;
mod memory;
mod sqlite;

use trustmap_model::{Finding, FindingKind, FindingStatus, Memory, Revocation, Severity};

pub use key::{key_file, user_key_file};
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: state store: {message}")]
    Sqlite { path: String, message: String },
    #[error("{path}: another sweep is writing this state file; try again when it has finished")]
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

    #[test]
    fn memory_keeps_scope_sightings_and_partner_changes() {
        let dir = tempfile::tempdir().unwrap();
        let mut store =
            SqliteStore::open(&dir.path().join("m.db"), Duration::from_secs(1)).unwrap();
        let ok = [("aws".to_string(), true)];
        let sources = ["aws".to_string()];
        let runs: [(&str, Vec<String>, &str); 3] = [
            (
                "2026-11-01T00:00:00Z",
                vec!["aws:s3:GetObject".into()],
                "active",
            ),
            (
                "2026-11-02T00:00:00Z",
                vec!["aws:s3:GetObject".into(), "aws:s3:PutObject".into()],
                "active",
            ),
            (
                "2026-11-03T00:00:00Z",
                vec!["aws:s3:PutObject".into()],
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
            (node.first_seen.as_str(), node.last_seen.as_str()),
            ("2026-11-01T00:00:00Z", "2026-11-03T00:00:00Z")
        );
        let gained: Vec<_> = node.gained_scopes().collect();
        assert_eq!(gained, vec![("aws:s3:PutObject", "2026-11-02T00:00:00Z")]);
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
            memory
                .status_since("acme", "revoked", "2026-12-01")
                .as_deref(),
            Some("2026-11-03T00:00:00Z")
        );
        assert_eq!(
            memory.latest_run.as_ref().map(|r| r.0.as_str()),
            Some("2026-11-03T00:00:00Z")
        );
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
