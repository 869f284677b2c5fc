//! The SQLite state store (one file, WAL journal, one transaction per run).
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;
use trustmap_model::{DigestKey, Finding, FindingStatus, Memory};

use crate::{Diff, RunInput, RunRecord, StateStore, StoreError, StoredFinding};

/// The first schema (state files written before versioning have it, at `user_version` 0).
pub(crate) const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS findings (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    resolved_at TEXT,
    sources TEXT NOT NULL,
    ticket TEXT,
    reason TEXT,
    body_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS bodies (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started TEXT NOT NULL,
    ended TEXT NOT NULL,
    connectors TEXT NOT NULL,
    gaps TEXT NOT NULL,
    new INTEGER NOT NULL,
    open INTEGER NOT NULL,
    reopened INTEGER NOT NULL,
    resolved INTEGER NOT NULL
);
";

/// Version 2: the lifecycle. What each run saw (nodes and the day each scope first
/// appeared), the partners' registry entries and their changes, and each finding's partner
/// and subject (filled in from the stored bodies for findings recorded before).
const SCHEMA_V2: &str = "
ALTER TABLE findings ADD COLUMN partner TEXT;
ALTER TABLE findings ADD COLUMN subject TEXT;
UPDATE findings SET
    partner = (SELECT json_extract(body, '$.partner') FROM bodies WHERE bodies.id = findings.id),
    subject = (SELECT json_extract(body, '$.subject.id') FROM bodies WHERE bodies.id = findings.id);
CREATE INDEX findings_partner ON findings (partner);
CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    subtype TEXT NOT NULL,
    name TEXT NOT NULL,
    account TEXT,
    partner TEXT,
    sources TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    revoke TEXT
);
CREATE TABLE node_scopes (
    node TEXT NOT NULL,
    scope TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    PRIMARY KEY (node, scope)
) WITHOUT ROWID;
CREATE TABLE partners (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    expires TEXT,
    recorded TEXT NOT NULL
);
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE partner_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    partner TEXT NOT NULL,
    field TEXT NOT NULL,
    old TEXT,
    new TEXT,
    at TEXT NOT NULL
);
";

/// Migrations in order: entry `i` takes `user_version` `i` to `i + 1`.
const MIGRATIONS: [&str; 2] = [SCHEMA_V1, SCHEMA_V2];

pub struct SqliteStore {
    pub(crate) conn: Connection,
    path: String,
}

impl SqliteStore {
    /// Open (creating if needed) the state file. Waits up to `busy` for another writer.
    pub fn open(path: &Path, busy: Duration) -> Result<Self, StoreError> {
        let shown = path.display().to_string();
        let err = |e: rusqlite::Error| StoreError::Sqlite {
            path: shown.clone(),
            message: e.to_string(),
        };
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(busy).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(err)?;
        let mut store = SqliteStore { conn, path: shown };
        store.migrate()?;
        Ok(store)
    }

    /// Bring the file to the current schema, each step in the same transaction as the
    /// version it sets (two sweeps opening an old file at once migrate it once). A file
    /// already current takes no write lock, so `state show` never waits for a sweep.
    fn migrate(&mut self) -> Result<(), StoreError> {
        let path = self.path.clone();
        let e = |err: rusqlite::Error| classify(&path, err);
        let known = MIGRATIONS.len() as i64;
        let version =
            |c: &Connection| c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0));
        let found = version(&self.conn).map_err(e)?;
        if found > known {
            return Err(StoreError::NewerSchema { path, found, known });
        }
        if found == known {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(e)?;
        let found = version(&tx).map_err(e)?;
        if found >= known {
            return Ok(()); // another process migrated it while this one waited
        }
        for step in MIGRATIONS.iter().skip(usize::try_from(found).unwrap_or(0)) {
            tx.execute_batch(step).map_err(e)?;
        }
        tx.pragma_update(None, "user_version", known).map_err(e)?;
        tx.commit().map_err(e)
    }
}

fn classify(path: &str, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            StoreError::Busy {
                path: path.to_string(),
            }
        }
        _ => StoreError::Sqlite {
            path: path.to_string(),
            message: e.to_string(),
        },
    }
}

/// The connectors a finding depends on (empty: the registry itself). Findings recorded
/// before `sources` was a field of its own carried them in `evidence.sources`.
fn sources_of(f: &Finding) -> Vec<String> {
    if !f.sources.is_empty() {
        return f.sources.clone();
    }
    f.evidence
        .get("sources")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A text column read back as its typed value; a value this program never writes is a
/// conversion error naming the column, not a silent default.
fn typed<T>(r: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<T>
where
    T: std::str::FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let text: String = r.get(idx)?;
    text.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
    })
}

impl StateStore for SqliteStore {
    fn apply_run(
        &mut self,
        run: &RunInput<'_>,
        findings: &mut [Finding],
    ) -> Result<Diff, StoreError> {
        let path = self.path.clone();
        let e = |err: rusqlite::Error| classify(&path, err);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(e)?;
        let known = known_findings(&tx, &path)?;
        let failed: HashSet<&str> = run
            .connectors
            .iter()
            .filter(|(_, ok)| !ok)
            .map(|(n, _)| n.as_str())
            .collect();
        let mut diff = Diff::default();
        let seen = stamp_findings(&tx, &path, run, findings, &known, &mut diff)?;
        resolve_unseen(&tx, &path, run, &seen, &failed, &mut diff)?;
        record_run(&tx, &path, run, &diff)?;
        record_nodes(&tx, &path, run)?;
        record_partners(&tx, &path, run)?;
        tx.commit().map_err(e)?;
        Ok(diff)
    }

    fn findings(&self, status: Option<FindingStatus>) -> Result<Vec<StoredFinding>, StoreError> {
        let status = status.map(FindingStatus::as_str);
        let e = |err: rusqlite::Error| classify(&self.path, err);
        let mut stmt = self
            .conn
            .prepare("SELECT id, kind, severity, title, status, first_seen, last_seen, ticket, reason, partner, subject, resolved_at FROM findings WHERE ?1 IS NULL OR status = ?1 ORDER BY last_seen DESC, id")
            .map_err(e)?;
        let rows = stmt
            .query_map(params![status], |r| {
                Ok(StoredFinding {
                    id: r.get(0)?,
                    kind: typed(r, 1)?,
                    severity: typed(r, 2)?,
                    title: r.get(3)?,
                    status: typed(r, 4)?,
                    first_seen: r.get(5)?,
                    last_seen: r.get(6)?,
                    ticket: r.get(7)?,
                    reason: r.get(8)?,
                    partner: r.get(9)?,
                    subject: r.get(10)?,
                    resolved_at: r.get(11)?,
                })
            })
            .map_err(e)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(e)
    }

    fn history(&self, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        let e = |err: rusqlite::Error| classify(&self.path, err);
        let mut stmt = self
            .conn
            .prepare("SELECT id, started, ended, connectors, new, open, reopened, resolved, gaps FROM runs ORDER BY id DESC LIMIT ?1")
            .map_err(e)?;
        let rows = stmt
            .query_map(params![limit as i64], |r| {
                Ok(RunRecord {
                    id: r.get(0)?,
                    started: r.get(1)?,
                    ended: r.get(2)?,
                    connectors: r.get(3)?,
                    new: r.get(4)?,
                    open: r.get(5)?,
                    reopened: r.get(6)?,
                    resolved: r.get(7)?,
                    gaps: serde_json::from_str(&r.get::<_, String>(8)?).unwrap_or_default(),
                })
            })
            .map_err(e)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(e)
    }

    fn suppress(&mut self, id: &str, reason: &str) -> Result<(), StoreError> {
        self.update(
            id,
            "UPDATE findings SET status = 'suppressed', reason = ?2 WHERE id = ?1",
            Some(reason),
        )
    }

    fn unsuppress(&mut self, id: &str) -> Result<(), StoreError> {
        self.update(id, "UPDATE findings SET status = 'open', reason = NULL WHERE id = ?1 AND status = 'suppressed'", None)
    }

    fn set_ticket(&mut self, id: &str, ticket: &str) -> Result<(), StoreError> {
        self.update(
            id,
            "UPDATE findings SET ticket = ?2 WHERE id = ?1",
            Some(ticket),
        )
    }

    fn digest_key(&mut self) -> Result<DigestKey, StoreError> {
        let path = self.path.clone();
        let e = |err: rusqlite::Error| classify(&path, err);
        let bad = |m: trustmap_model::BadDigestKey| StoreError::Key {
            path: path.clone(),
            message: m.to_string(),
        };
        let read = |c: &Connection| {
            c.query_row("SELECT value FROM meta WHERE key = 'digest_key'", [], |r| {
                r.get::<_, String>(0)
            })
            .optional()
        };
        if let Some(hex) = read(&self.conn).map_err(e)? {
            return DigestKey::from_hex(&hex).map_err(bad);
        }
        let key = DigestKey::generate().map_err(|err| StoreError::Key {
            path: path.clone(),
            message: format!("no random source: {err}"),
        })?;
        // Two sweeps creating it at once: the first insert wins, both read the winner.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(e)?;
        tx.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('digest_key', ?1)",
            params![key.to_hex()],
        )
        .map_err(e)?;
        let hex = read(&tx).map_err(e)?.unwrap_or_default();
        tx.commit().map_err(e)?;
        DigestKey::from_hex(&hex).map_err(bad)
    }

    fn memory(&self) -> Result<Memory, StoreError> {
        crate::memory::read(&self.conn).map_err(|err| classify(&self.path, err))
    }
}

impl SqliteStore {
    fn update(&mut self, id: &str, sql: &str, value: Option<&str>) -> Result<(), StoreError> {
        let path = self.path.clone();
        let exists: Option<String> = self
            .conn
            .query_row("SELECT id FROM findings WHERE id = ?1", params![id], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|err| classify(&path, err))?;
        if exists.is_none() {
            return Err(StoreError::UnknownFinding {
                path,
                id: id.to_string(),
            });
        }
        let result = match value {
            Some(v) => self.conn.execute(sql, params![id, v]),
            None => self.conn.execute(sql, params![id]),
        };
        result.map(|_| ()).map_err(|err| classify(&path, err))
    }
}

/// What the store remembers of each finding: id → (status, first_seen, hash of the body).
type Known = HashMap<String, (String, String, String)>;

fn known_findings(tx: &rusqlite::Transaction<'_>, path: &str) -> Result<Known, StoreError> {
    let e = |err: rusqlite::Error| classify(path, err);
    // id -> (status, first_seen, hash of the stored body)
    let mut known: Known = HashMap::new();
    {
        let mut stmt = tx
            .prepare("SELECT id, status, first_seen, body_hash FROM findings")
            .map_err(e)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(e)?;
        for row in rows {
            let (id, status, first, hash) = row.map_err(e)?;
            known.insert(id, (status, first, hash));
        }
    }
    Ok(known)
}

/// Classify this run's findings (new, still open, reopened, suppressed), stamp their status
/// and dates, and write them; returns the ids seen.
fn stamp_findings(
    tx: &rusqlite::Transaction<'_>,
    path: &str,
    run: &RunInput<'_>,
    findings: &mut [Finding],
    known: &Known,
    diff: &mut Diff,
) -> Result<HashSet<String>, StoreError> {
    let e = |err: rusqlite::Error| classify(path, err);
    let mut seen: HashSet<String> = HashSet::new();
    for f in findings.iter_mut() {
        seen.insert(f.id.clone());
        let (status, first_seen) = match known.get(&f.id) {
            None => {
                diff.new.push(f.id.clone());
                (FindingStatus::New, run.started.to_string())
            }
            Some((s, first, _)) if s == "suppressed" => {
                diff.suppressed.push(f.id.clone());
                (FindingStatus::Suppressed, first.clone())
            }
            Some((s, first, _)) if s == "resolved" => {
                diff.reopened.push(f.id.clone());
                (FindingStatus::New, first.clone())
            }
            Some((_, first, _)) => {
                diff.still_open.push(f.id.clone());
                (FindingStatus::Open, first.clone())
            }
        };
        f.status = status;
        f.first_seen = first_seen;
        f.last_seen = run.started.to_string();
        let stored_status = match status {
            FindingStatus::Suppressed => "suppressed",
            _ => "open",
        };
        // The body (for resolved events) is only rewritten when it changed: an unchanged
        // run updates small rows, not every finding's JSON.
        let body = serde_json::to_string(&*f).unwrap_or_default();
        let hash: String = Sha256::digest(body.as_bytes())[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let sources = serde_json::to_string(&sources_of(f)).unwrap_or_default();
        tx.prepare_cached(
            "INSERT INTO findings (id, kind, severity, title, status, first_seen, last_seen, resolved_at, sources, body_hash, partner, subject)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8, ?9, ?10, ?11)
             ON CONFLICT(id) DO UPDATE SET kind = ?2, severity = ?3, title = ?4, status = ?5,
               last_seen = ?7, resolved_at = NULL, sources = ?8, body_hash = ?9, partner = ?10,
               subject = ?11",
        )
        .and_then(|mut st| {
            st.execute(params![f.id, f.kind.as_str(), f.severity.as_str(), f.title, stored_status, f.first_seen, f.last_seen, sources, hash, f.partner, f.subject.id])
        })
        .map_err(e)?;
        if known.get(&f.id).is_none_or(|(_, _, h)| *h != hash) {
            tx.prepare_cached("INSERT INTO bodies (id, body) VALUES (?1, ?2) ON CONFLICT(id) DO UPDATE SET body = ?2")
                .and_then(|mut st| st.execute(params![f.id, body]))
                .map_err(e)?;
        }
    }
    Ok(seen)
}

fn resolve_unseen(
    tx: &rusqlite::Transaction<'_>,
    path: &str,
    run: &RunInput<'_>,
    seen: &HashSet<String>,
    failed: &HashSet<&str>,
    diff: &mut Diff,
) -> Result<(), StoreError> {
    let e = |err: rusqlite::Error| classify(path, err);
    // Open findings not seen again are resolved, unless a connector they came from failed.
    // Only ids and sources here; the body is read for the few that resolve.
    let mut gone: Vec<(String, String)> = Vec::new();
    {
        let mut stmt = tx
            .prepare("SELECT id, sources FROM findings WHERE status = 'open'")
            .map_err(e)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(e)?;
        for row in rows {
            let row = row.map_err(e)?;
            if !seen.contains(&row.0) {
                gone.push(row);
            }
        }
    }
    for (id, sources) in gone {
        let sources: Vec<String> = serde_json::from_str(&sources).unwrap_or_default();
        if sources.iter().any(|s| failed.contains(s.as_str())) {
            continue; // not seen because its connector failed: still open
        }
        tx.execute(
            "UPDATE findings SET status = 'resolved', resolved_at = ?2 WHERE id = ?1",
            params![id, run.started],
        )
        .map_err(e)?;
        let body: String = tx
            .query_row("SELECT body FROM bodies WHERE id = ?1", params![id], |r| {
                r.get(0)
            })
            .map_err(e)?;
        if let Ok(mut f) = serde_json::from_str::<Finding>(&body) {
            f.status = FindingStatus::Resolved;
            diff.resolved.push(f);
        }
    }
    Ok(())
}

fn record_run(
    tx: &rusqlite::Transaction<'_>,
    path: &str,
    run: &RunInput<'_>,
    diff: &Diff,
) -> Result<(), StoreError> {
    let e = |err: rusqlite::Error| classify(path, err);
    let connectors = serde_json::to_string(
        &run.connectors
            .iter()
            .map(|(n, ok)| serde_json::json!({"name": n, "ok": ok}))
            .collect::<Vec<_>>(),
    )
    .unwrap_or_default();
    tx.execute(
        "INSERT INTO runs (started, ended, connectors, gaps, new, open, reopened, resolved) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            run.started,
            run.ended,
            connectors,
            serde_json::to_string(run.gaps).unwrap_or_default(),
            diff.new.len() as i64,
            diff.still_open.len() as i64,
            diff.reopened.len() as i64,
            diff.resolved.len() as i64
        ],
    )
    .map_err(e)?;
    Ok(())
}

/// Every node this run saw: first and latest sighting, and each scope's first appearance
/// (a scope already known is left as it was, so an unchanged run writes no scope rows).
fn record_nodes(
    tx: &rusqlite::Transaction<'_>,
    path: &str,
    run: &RunInput<'_>,
) -> Result<(), StoreError> {
    let e = |err: rusqlite::Error| classify(path, err);
    let mut node = tx
        .prepare_cached(
            "INSERT INTO nodes (id, kind, subtype, name, partner, sources, first_seen, last_seen, revoke, account)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9)
             ON CONFLICT(id) DO UPDATE SET kind = ?2, subtype = ?3, name = ?4, partner = ?5,
               sources = ?6, last_seen = ?7, revoke = ?8, account = ?9",
        )
        .map_err(e)?;
    let mut scope = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO node_scopes (node, scope, first_seen) VALUES (?1, ?2, ?3)",
        )
        .map_err(e)?;
    for n in run.nodes {
        let sources = serde_json::to_string(n.sources).unwrap_or_default();
        let revoke = n.revoke.and_then(|r| serde_json::to_string(r).ok());
        node.execute(params![
            n.id,
            n.kind,
            n.subtype,
            n.name,
            n.partner,
            sources,
            run.started,
            revoke,
            n.account
        ])
        .map_err(e)?;
        for s in n.scopes {
            scope.execute(params![n.id, s, run.started]).map_err(e)?;
        }
    }
    Ok(())
}

/// The registry's lifecycle fields; a value that differs from the last recorded one is a
/// change dated by this run.
fn record_partners(
    tx: &rusqlite::Transaction<'_>,
    path: &str,
    run: &RunInput<'_>,
) -> Result<(), StoreError> {
    let e = |err: rusqlite::Error| classify(path, err);
    for p in run.partners {
        let before: Option<(String, Option<String>)> = tx
            .query_row(
                "SELECT status, expires FROM partners WHERE id = ?1",
                params![p.id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(e)?;
        if let Some((status, expires)) = &before {
            let change = |field: &str, old: Option<&str>, new: Option<&str>| {
                tx.execute(
                    "INSERT INTO partner_changes (partner, field, old, new, at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![p.id, field, old, new, run.started],
                )
                .map(|_| ())
            };
            if status != p.status {
                change("status", Some(status), Some(p.status)).map_err(e)?;
            }
            if *expires != p.expires {
                change("expires", expires.as_deref(), p.expires.as_deref()).map_err(e)?;
            }
        }
        tx.execute(
            "INSERT INTO partners (id, status, expires, recorded) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(id) DO UPDATE SET status = ?2, expires = ?3, recorded = ?4",
            params![p.id, p.status, p.expires, run.started],
        )
        .map_err(e)?;
    }
    Ok(())
}
