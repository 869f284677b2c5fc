//! The SQLite state store (one file, WAL journal, one transaction per run).
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;
use trustmap_model::{DigestKey, Finding, FindingStatus, Memory};

use crate::diff::{self, FindingRow, Known, KnownFinding};
use crate::{
    Diff, RunInput, RunRecord, ShardId, ShardRecord, ShardStatus, StateStore, StoreError,
    StoredFinding,
};

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

/// Version 3: sharded runs. Each shard's record and observations under the run's name, and
/// the name a merge recorded its run under (a second merge of one run is refused).
const SCHEMA_V3: &str = "
ALTER TABLE runs ADD COLUMN name TEXT;
CREATE UNIQUE INDEX runs_name ON runs (name);
CREATE TABLE shards (
    run TEXT NOT NULL,
    shard INTEGER NOT NULL,
    count INTEGER NOT NULL,
    status TEXT NOT NULL,
    host TEXT NOT NULL,
    started TEXT NOT NULL,
    ended TEXT,
    report TEXT,
    PRIMARY KEY (run, shard)
);
CREATE TABLE shard_observations (
    run TEXT NOT NULL,
    shard INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (run, shard, seq)
) WITHOUT ROWID;
";

/// Migrations in order: entry `i` takes `user_version` `i` to `i + 1`.
const MIGRATIONS: [&str; 3] = [SCHEMA_V1, SCHEMA_V2, SCHEMA_V3];

pub struct SqliteStore {
    pub(crate) conn: Connection,
    path: String,
}

impl SqliteStore {
    /// Open (creating if needed) the state file. Waits up to `busy` for another writer.
    pub fn open(path: &Path, busy: Duration) -> Result<Self, StoreError> {
        let shown = path.display().to_string();
        let conn = Connection::open(path).map_err(|e| classify(&shown, e))?;
        conn.busy_timeout(busy).map_err(|e| classify(&shown, e))?;
        // Switching a new file to WAL takes the file exclusively and SQLite does not wait for
        // that on its own: processes opening one new state file at once retry until `busy`.
        let started = std::time::Instant::now();
        loop {
            match conn.pragma_update(None, "journal_mode", "WAL") {
                Ok(()) => break,
                Err(e) => match classify(&shown, e) {
                    StoreError::Busy { .. } if started.elapsed() < busy => {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    other => return Err(other),
                },
            }
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(|e| classify(&shown, e))?;
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
        if let Some(name) = run.name {
            refuse_merged(&tx, &path, name)?;
        }
        let known = known_findings(&tx, &path)?;
        let mut diff = Diff::default();
        let (rows, seen) = diff::stamp(run, findings, &known, &mut diff);
        write_findings(&tx, &path, &rows)?;
        resolve_unseen(&tx, &path, run, &seen, &mut diff)?;
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

    fn shard_started(&mut self, shard: &ShardId, host: &str, at: &str) -> Result<(), StoreError> {
        let path = self.path.clone();
        let e = |err: rusqlite::Error| classify(&path, err);
        let index = i64::from(shard.index);
        let tx = self.shard_transaction(shard)?;
        tx.execute(
            "INSERT INTO shards (run, shard, count, status, host, started, ended, report)
             VALUES (?1, ?2, ?3, 'running', ?4, ?5, NULL, NULL)
             ON CONFLICT(run, shard) DO UPDATE SET count = ?3, status = 'running', host = ?4,
               started = ?5, ended = NULL, report = NULL",
            params![shard.run, index, i64::from(shard.count), host, at],
        )
        .map_err(e)?;
        tx.commit().map_err(e)
    }

    fn shard_finished(
        &mut self,
        shard: &ShardId,
        at: &str,
        report: &str,
        observations: &[String],
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let e = |err: rusqlite::Error| classify(&path, err);
        let index = i64::from(shard.index);
        let tx = self.shard_transaction(shard)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO shard_observations (run, shard, seq, body) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(e)?;
            for (seq, body) in observations.iter().enumerate() {
                insert
                    .execute(params![shard.run, index, seq as i64, body])
                    .map_err(e)?;
            }
        }
        let updated = tx
            .execute(
                "UPDATE shards SET status = 'done', ended = ?3, report = ?4, count = ?5
                 WHERE run = ?1 AND shard = ?2",
                params![shard.run, index, at, report, i64::from(shard.count)],
            )
            .map_err(e)?;
        if updated == 0 {
            return Err(StoreError::Sqlite {
                path,
                message: format!("{shard} finished without having started"),
            });
        }
        tx.commit().map_err(e)
    }

    fn shards(&self, run: &str) -> Result<Vec<ShardRecord>, StoreError> {
        let e = |err: rusqlite::Error| classify(&self.path, err);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT shard, count, status, host, started, ended, report,
                   (SELECT COUNT(*) FROM shard_observations o WHERE o.run = s.run AND o.shard = s.shard)
                 FROM shards s WHERE run = ?1 ORDER BY shard",
            )
            .map_err(e)?;
        let rows = stmt
            .query_map(params![run], |r| {
                Ok(ShardRecord {
                    index: r.get(0)?,
                    count: r.get(1)?,
                    status: ShardStatus::parse(&r.get::<_, String>(2)?),
                    host: r.get(3)?,
                    started: r.get(4)?,
                    ended: r.get(5)?,
                    report: r.get(6)?,
                    observations: r.get(7)?,
                })
            })
            .map_err(e)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(e)
    }

    fn shard_observations(&self, run: &str, index: u32) -> Result<Vec<String>, StoreError> {
        let e = |err: rusqlite::Error| classify(&self.path, err);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT body FROM shard_observations WHERE run = ?1 AND shard = ?2 ORDER BY seq",
            )
            .map_err(e)?;
        let rows = stmt
            .query_map(params![run, i64::from(index)], |r| r.get(0))
            .map_err(e)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(e)
    }
}

/// [`StoreError::AlreadyMerged`] when a run named `name` was recorded.
fn refuse_merged(tx: &rusqlite::Transaction<'_>, path: &str, name: &str) -> Result<(), StoreError> {
    let at: Option<String> = tx
        .query_row(
            "SELECT started FROM runs WHERE name = ?1",
            params![name],
            |r| r.get(0),
        )
        .optional()
        .map_err(|err| classify(path, err))?;
    match at {
        Some(at) => Err(StoreError::AlreadyMerged {
            path: path.to_string(),
            run: name.to_string(),
            at,
        }),
        None => Ok(()),
    }
}

impl SqliteStore {
    /// A transaction on `shard`'s own rows: refused once its run was merged, with what the
    /// shard stored before dropped (a start starts over, a finish replaces them).
    fn shard_transaction(
        &mut self,
        shard: &ShardId,
    ) -> Result<rusqlite::Transaction<'_>, StoreError> {
        let path = self.path.clone();
        let e = |err: rusqlite::Error| classify(&path, err);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(e)?;
        refuse_merged(&tx, &path, &shard.run)?;
        tx.execute(
            "DELETE FROM shard_observations WHERE run = ?1 AND shard = ?2",
            params![shard.run, i64::from(shard.index)],
        )
        .map_err(e)?;
        Ok(tx)
    }

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

fn known_findings(tx: &rusqlite::Transaction<'_>, path: &str) -> Result<Known, StoreError> {
    let e = |err: rusqlite::Error| classify(path, err);
    let mut known = Known::new();
    let mut stmt = tx
        .prepare("SELECT id, status, first_seen, body_hash FROM findings")
        .map_err(e)?;
    let mut rows = stmt.query([]).map_err(e)?;
    while let Some(r) = rows.next().map_err(e)? {
        known.insert(
            r.get(0).map_err(e)?,
            KnownFinding {
                status: r.get(1).map_err(e)?,
                first_seen: r.get(2).map_err(e)?,
                body_hash: r.get(3).map_err(e)?,
            },
        );
    }
    Ok(known)
}

/// Write the rows [`diff::stamp`] decided.
fn write_findings(
    tx: &rusqlite::Transaction<'_>,
    path: &str,
    rows: &[FindingRow],
) -> Result<(), StoreError> {
    let e = |err: rusqlite::Error| classify(path, err);
    let mut finding = tx
        .prepare_cached(
            "INSERT INTO findings (id, kind, severity, title, status, first_seen, last_seen, resolved_at, sources, body_hash, partner, subject)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8, ?9, ?10, ?11)
             ON CONFLICT(id) DO UPDATE SET kind = ?2, severity = ?3, title = ?4, status = ?5,
               last_seen = ?7, resolved_at = NULL, sources = ?8, body_hash = ?9, partner = ?10,
               subject = ?11",
        )
        .map_err(e)?;
    let mut body = tx
        .prepare_cached(
            "INSERT INTO bodies (id, body) VALUES (?1, ?2) ON CONFLICT(id) DO UPDATE SET body = ?2",
        )
        .map_err(e)?;
    for f in rows {
        finding
            .execute(params![
                f.id,
                f.kind,
                f.severity,
                f.title,
                f.status,
                f.first_seen,
                f.last_seen,
                f.sources,
                f.body_hash,
                f.partner,
                f.subject
            ])
            .map_err(e)?;
        if let Some(text) = &f.body {
            body.execute(params![f.id, text]).map_err(e)?;
        }
    }
    Ok(())
}

/// Open findings not seen again are resolved, unless a connector they came from was
/// incomplete. Only ids and sources are read; the body only for the few that resolve.
fn resolve_unseen(
    tx: &rusqlite::Transaction<'_>,
    path: &str,
    run: &RunInput<'_>,
    seen: &HashSet<String>,
    diff: &mut Diff,
) -> Result<(), StoreError> {
    let e = |err: rusqlite::Error| classify(path, err);
    let incomplete = diff::incomplete(run);
    let mut gone: Vec<String> = Vec::new();
    {
        let mut stmt = tx
            .prepare("SELECT id, sources FROM findings WHERE status = 'open'")
            .map_err(e)?;
        let mut rows = stmt.query([]).map_err(e)?;
        while let Some(r) = rows.next().map_err(e)? {
            let id: String = r.get(0).map_err(e)?;
            let sources: String = r.get(1).map_err(e)?;
            if !seen.contains(&id) && diff::resolves(&sources, &incomplete) {
                gone.push(id);
            }
        }
    }
    for id in gone {
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
    let connectors = diff::connectors_json(run);
    tx.execute(
        "INSERT INTO runs (started, ended, connectors, gaps, new, open, reopened, resolved, name) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            run.started,
            run.ended,
            connectors,
            serde_json::to_string(run.gaps).unwrap_or_default(),
            diff.new.len() as i64,
            diff.still_open.len() as i64,
            diff.reopened.len() as i64,
            diff.resolved.len() as i64,
            run.name
        ],
    )
    .map_err(e)?;
    if let Some(name) = run.name {
        // Merged: the shards' observations are in the graph now; their records stay.
        tx.execute(
            "DELETE FROM shard_observations WHERE run = ?1",
            params![name],
        )
        .map_err(e)?;
    }
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
