//! The PostgreSQL state store: the same tables and semantics as the SQLite file, shared by the
//! machines of a sharded sweep. One transaction per run; writers of a run take turns on an
//! advisory lock (a second one waits up to `busy`, then is refused as [`StoreError::Busy`]);
//! shards write only their own rows and never wait for each other.
//!
//! The driver is the synchronous `postgres` crate, which runs a small runtime of its own:
//! every call is made on a helper thread, so the store may be used from inside an async
//! sweep as from plain code.
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::error::SqlState;
use postgres::types::{ToSql, Type};
use postgres::{Client, NoTls, Transaction};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;
use trustmap_model::{
    env, DigestKey, Finding, FindingStatus, Memory, PartnerChange, PartnerState, RememberedNode,
};

use crate::diff::{self, FindingRow, Known, KnownFinding};
use crate::location::without_password;
use crate::{
    Diff, RunInput, RunRecord, ShardId, ShardRecord, ShardStatus, StateStore, StoreError,
    StoredFinding,
};

/// Migrations in order: entry `i` takes `trustmap_schema.version` `i` to `i + 1`.
const MIGRATIONS: [&str; 1] = [SCHEMA_V1];

/// The whole schema as of SQLite's version 3 (PostgreSQL support started there).
const SCHEMA_V1: &str = r#"
CREATE TABLE findings (
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
    body_hash TEXT NOT NULL,
    partner TEXT,
    subject TEXT
);
CREATE INDEX findings_partner ON findings (partner);
CREATE INDEX findings_status ON findings (status);
CREATE TABLE bodies (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
CREATE TABLE runs (
    id BIGSERIAL PRIMARY KEY,
    started TEXT NOT NULL,
    ended TEXT NOT NULL,
    connectors TEXT NOT NULL,
    gaps TEXT NOT NULL,
    "new" BIGINT NOT NULL,
    "open" BIGINT NOT NULL,
    reopened BIGINT NOT NULL,
    resolved BIGINT NOT NULL,
    name TEXT UNIQUE
);
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
);
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
    seq BIGSERIAL PRIMARY KEY,
    partner TEXT NOT NULL,
    field TEXT NOT NULL,
    "old" TEXT,
    "new" TEXT,
    at TEXT NOT NULL
);
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
);
"#;

/// The advisory lock a run's writers (and migrations) take turns on.
const WRITER_LOCK: i64 = 0x7472_7573_746d_6170; // "trustmap"

pub struct PostgresStore {
    /// `None` only while being dropped (the client is dropped on a helper thread too).
    client: Mutex<Option<Client>>,
    shown: String,
    busy: Duration,
}

impl PostgresStore {
    /// Connect to `url` and bring its schema up to date. `busy`: how long a writer waits for
    /// another before [`StoreError::Busy`].
    pub fn open(url: &str, busy: Duration) -> Result<Self, StoreError> {
        let shown = without_password(url);
        let bad = |message: String| StoreError::Postgres {
            path: shown.clone(),
            message,
        };
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e: postgres::Error| bad(format!("not a PostgreSQL URL: {e}")))?;
        if config.get_password().is_none() {
            if let Some(pw) = env::named(env::PGPASSWORD) {
                config.password(pw);
            }
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.application_name("trustmap");
        let client = on_helper_thread(move || config.connect(NoTls))
            .map_err(bad)?
            .map_err(|e| bad(format!("cannot connect: {}", describe(&e))))?;
        let store = PostgresStore {
            client: Mutex::new(Some(client)),
            shown,
            busy,
        };
        store.migrate()?;
        Ok(store)
    }

    /// Run `f` with the client on a helper thread (see the module doc).
    fn call<R: Send>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<R, postgres::Error> + Send,
    ) -> Result<R, StoreError> {
        let mut guard = self.client.lock().map_err(|_| StoreError::Postgres {
            path: self.shown.clone(),
            message: "an earlier call panicked".into(),
        })?;
        let Some(client) = guard.as_mut() else {
            return Err(self.error_text("the connection is closed".into()));
        };
        match on_helper_thread(move || f(client)) {
            Ok(result) => result.map_err(|e| self.error(&e)),
            Err(message) => Err(self.error_text(message)),
        }
    }

    /// A transaction in which this run's writer holds the writer lock, waiting up to `busy`.
    fn writer<'c>(
        client: &'c mut Client,
        busy: Duration,
    ) -> Result<Transaction<'c>, postgres::Error> {
        let mut tx = client.transaction()?;
        tx.batch_execute(&format!(
            "SET LOCAL lock_timeout = {}",
            busy.as_millis().max(1)
        ))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITER_LOCK])?;
        Ok(tx)
    }

    fn error(&self, e: &postgres::Error) -> StoreError {
        match e.code() {
            Some(c) if *c == SqlState::LOCK_NOT_AVAILABLE => StoreError::Busy {
                path: self.shown.clone(),
            },
            _ => self.error_text(describe(e)),
        }
    }

    fn error_text(&self, message: String) -> StoreError {
        StoreError::Postgres {
            path: self.shown.clone(),
            message,
        }
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let known = MIGRATIONS.len() as i64;
        let busy = self.busy;
        let found = self.call(move |c| {
            // Already current: no writer lock, so reading the state never waits for a sweep.
            let current = c
                .query_one("SELECT to_regclass('trustmap_schema') IS NOT NULL", &[])?
                .get::<_, bool>(0);
            if current {
                let found: Option<i64> = c
                    .query_opt("SELECT version FROM trustmap_schema", &[])?
                    .map(|r| r.get(0));
                if let Some(found) = found.filter(|v| *v >= known) {
                    return Ok(found);
                }
            }
            let mut tx = Self::writer(c, busy)?;
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS trustmap_schema (version BIGINT NOT NULL)",
            )?;
            let found: i64 = match tx.query_opt("SELECT version FROM trustmap_schema", &[])? {
                Some(r) => r.get(0),
                None => {
                    tx.execute("INSERT INTO trustmap_schema (version) VALUES (0)", &[])?;
                    0
                }
            };
            if found >= known {
                return Ok(found); // current, or newer (refused below; nothing written)
            }
            for step in MIGRATIONS.iter().skip(usize::try_from(found).unwrap_or(0)) {
                tx.batch_execute(step)?;
            }
            tx.execute("UPDATE trustmap_schema SET version = $1", &[&known])?;
            tx.commit()?;
            Ok(known)
        })?;
        if found > known {
            return Err(StoreError::NewerSchema {
                path: self.shown.clone(),
                found,
                known,
            });
        }
        Ok(())
    }

    fn update(
        &mut self,
        id: &str,
        sql: &'static str,
        value: Option<&str>,
    ) -> Result<(), StoreError> {
        let changed = self.call(move |c| {
            let n = c.execute("SELECT 1 FROM findings WHERE id = $1", &[&id])?;
            if n == 0 {
                return Ok(false);
            }
            match value {
                Some(v) => c.execute(sql, &[&id, &v])?,
                None => c.execute(sql, &[&id])?,
            };
            Ok(true)
        })?;
        if changed {
            Ok(())
        } else {
            Err(StoreError::UnknownFinding {
                path: self.shown.clone(),
                id: id.to_string(),
            })
        }
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // The driver's runtime may not be dropped inside an async context.
        if let Some(client) = self.client.get_mut().ok().and_then(Option::take) {
            let _ = on_helper_thread(move || drop(client));
        }
    }
}

/// Run `f` on a thread of its own and wait for it; a panic there is an error here.
fn on_helper_thread<R: Send>(f: impl FnOnce() -> R + Send) -> Result<R, String> {
    std::thread::scope(|s| {
        s.spawn(f)
            .join()
            .map_err(|_| "the database call panicked".to_string())
    })
}

/// The server's own message and detail, or the driver's.
fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        },
        None => e.to_string(),
    }
}

fn as_u32(v: i32) -> u32 {
    u32::try_from(v).unwrap_or_default()
}

impl StateStore for PostgresStore {
    fn apply_run(
        &mut self,
        run: &RunInput<'_>,
        findings: &mut [Finding],
    ) -> Result<Diff, StoreError> {
        let busy = self.busy;
        let merged = self.call(move |c| {
            let mut tx = Self::writer(c, busy)?;
            if let Some(name) = run.name {
                if let Some(at) = merged_at(&mut tx, name)? {
                    return Ok(Err(at));
                }
            }
            let known = known_findings(&mut tx)?;
            let mut diff = Diff::default();
            let (rows, seen) = diff::stamp(run, findings, &known, &mut diff);
            write_findings(&mut tx, &rows)?;
            resolve_unseen(&mut tx, run, &seen, &mut diff)?;
            record_run(&mut tx, run, &diff)?;
            record_nodes(&mut tx, run)?;
            record_partners(&mut tx, run)?;
            tx.commit()?;
            Ok(Ok(diff))
        })?;
        merged.map_err(|at| StoreError::AlreadyMerged {
            path: self.shown.clone(),
            run: run.name.unwrap_or_default().to_string(),
            at,
        })
    }

    fn findings(&self, status: Option<FindingStatus>) -> Result<Vec<StoredFinding>, StoreError> {
        let status = status.map(FindingStatus::as_str);
        let rows = self.call(move |c| {
            c.query(
                "SELECT id, kind, severity, title, status, first_seen, last_seen, ticket, reason, partner, subject, resolved_at
                 FROM findings WHERE $1::TEXT IS NULL OR status = $1 ORDER BY last_seen DESC, id",
                &[&status],
            )
        })?;
        let bad = |column: &str, value: String| {
            self.error_text(format!("findings.{column}: unexpected value {value:?}"))
        };
        rows.iter()
            .map(|r| {
                let kind: String = r.get(1);
                let severity: String = r.get(2);
                let status: String = r.get(4);
                Ok(StoredFinding {
                    id: r.get(0),
                    kind: kind.parse().map_err(|_| bad("kind", kind.clone()))?,
                    severity: severity
                        .parse()
                        .map_err(|_| bad("severity", severity.clone()))?,
                    title: r.get(3),
                    status: status.parse().map_err(|_| bad("status", status.clone()))?,
                    first_seen: r.get(5),
                    last_seen: r.get(6),
                    ticket: r.get(7),
                    reason: r.get(8),
                    partner: r.get(9),
                    subject: r.get(10),
                    resolved_at: r.get(11),
                })
            })
            .collect()
    }

    fn history(&self, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.call(move |c| {
            c.query(
                r#"SELECT id, started, ended, connectors, "new", "open", reopened, resolved, gaps FROM runs ORDER BY id DESC LIMIT $1"#,
                &[&limit],
            )
        })?;
        Ok(rows
            .iter()
            .map(|r| RunRecord {
                id: r.get(0),
                started: r.get(1),
                ended: r.get(2),
                connectors: r.get(3),
                new: r.get(4),
                open: r.get(5),
                reopened: r.get(6),
                resolved: r.get(7),
                gaps: serde_json::from_str(r.get(8)).unwrap_or_default(),
            })
            .collect())
    }

    fn suppress(&mut self, id: &str, reason: &str) -> Result<(), StoreError> {
        self.update(
            id,
            "UPDATE findings SET status = 'suppressed', reason = $2 WHERE id = $1",
            Some(reason),
        )
    }

    fn unsuppress(&mut self, id: &str) -> Result<(), StoreError> {
        self.update(id, "UPDATE findings SET status = 'open', reason = NULL WHERE id = $1 AND status = 'suppressed'", None)
    }

    fn set_ticket(&mut self, id: &str, ticket: &str) -> Result<(), StoreError> {
        self.update(
            id,
            "UPDATE findings SET ticket = $2 WHERE id = $1",
            Some(ticket),
        )
    }

    fn memory(&self) -> Result<Memory, StoreError> {
        self.call(read_memory)
    }

    fn digest_key(&mut self) -> Result<DigestKey, StoreError> {
        let candidate = DigestKey::generate()
            .map_err(|e| self.error_text(format!("no random source: {e}")))?
            .to_hex();
        // Two sweeps creating it at once: the first insert wins, both read the winner.
        let hex = self.call(move |c| {
            c.execute(
                "INSERT INTO meta (key, value) VALUES ('digest_key', $1) ON CONFLICT (key) DO NOTHING",
                &[&candidate],
            )?;
            let row = c.query_one("SELECT value FROM meta WHERE key = 'digest_key'", &[])?;
            Ok(row.get::<_, String>(0))
        })?;
        DigestKey::from_hex(&hex).map_err(|m| StoreError::Key {
            path: self.shown.clone(),
            message: m.to_string(),
        })
    }

    fn shard_started(&mut self, shard: &ShardId, host: &str, at: &str) -> Result<(), StoreError> {
        let (run, index, count) = shard_key(shard);
        let merged = self.call(move |c| {
            let mut tx = c.transaction()?;
            if let Some(at) = merged_at(&mut tx, run)? {
                return Ok(Some(at));
            }
            tx.execute(
                "DELETE FROM shard_observations WHERE run = $1 AND shard = $2",
                &[&run, &index],
            )?;
            tx.execute(
                "INSERT INTO shards (run, shard, count, status, host, started, ended, report)
                 VALUES ($1, $2, $3, 'running', $4, $5, NULL, NULL)
                 ON CONFLICT (run, shard) DO UPDATE SET count = $3, status = 'running', host = $4,
                   started = $5, ended = NULL, report = NULL",
                &[&run, &index, &count, &host, &at],
            )?;
            tx.commit()?;
            Ok(None)
        })?;
        self.refuse(run, merged)
    }

    fn shard_finished(
        &mut self,
        shard: &ShardId,
        at: &str,
        report: &str,
        observations: &[String],
    ) -> Result<(), StoreError> {
        let (run, index, count) = shard_key(shard);
        let outcome = self.call(move |c| {
            let mut tx = c.transaction()?;
            if let Some(at) = merged_at(&mut tx, run)? {
                return Ok(Err(Some(at)));
            }
            tx.execute("DELETE FROM shard_observations WHERE run = $1 AND shard = $2", &[&run, &index])?;
            // COPY: a shard may hold millions of observations.
            let sink = tx.copy_in("COPY shard_observations (run, shard, seq, body) FROM STDIN (FORMAT binary)")?;
            let mut writer = BinaryCopyInWriter::new(sink, &[Type::TEXT, Type::INT4, Type::INT4, Type::TEXT]);
            for (seq, body) in observations.iter().enumerate() {
                let seq = i32::try_from(seq).unwrap_or(i32::MAX);
                writer.write(&[&run, &index, &seq, body])?;
            }
            writer.finish()?;
            let updated = tx.execute(
                "UPDATE shards SET status = 'done', ended = $3, report = $4, count = $5 WHERE run = $1 AND shard = $2",
                &[&run, &index, &at, &report, &count],
            )?;
            if updated == 0 {
                return Ok(Err(None));
            }
            tx.commit()?;
            Ok(Ok(()))
        })?;
        match outcome {
            Ok(()) => Ok(()),
            Err(Some(at)) => self.refuse(run, Some(at)),
            Err(None) => Err(self.error_text(format!("{shard} finished without having started"))),
        }
    }

    fn shards(&self, run: &str) -> Result<Vec<ShardRecord>, StoreError> {
        let rows = self.call(move |c| {
            c.query(
                "SELECT shard, count, status, host, started, ended, report,
                   (SELECT COUNT(*) FROM shard_observations o WHERE o.run = s.run AND o.shard = s.shard)
                 FROM shards s WHERE run = $1 ORDER BY shard",
                &[&run],
            )
        })?;
        Ok(rows
            .iter()
            .map(|r| ShardRecord {
                index: as_u32(r.get(0)),
                count: as_u32(r.get(1)),
                status: ShardStatus::parse(r.get(2)),
                host: r.get(3),
                started: r.get(4),
                ended: r.get(5),
                report: r.get(6),
                observations: u64::try_from(r.get::<_, i64>(7)).unwrap_or_default(),
            })
            .collect())
    }

    fn shard_observations(&self, run: &str, index: u32) -> Result<Vec<String>, StoreError> {
        let index = i32::try_from(index).unwrap_or(i32::MAX);
        let rows = self.call(move |c| {
            c.query(
                "SELECT body FROM shard_observations WHERE run = $1 AND shard = $2 ORDER BY seq",
                &[&run, &index],
            )
        })?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}

impl PostgresStore {
    fn refuse(&self, run: &str, merged: Option<String>) -> Result<(), StoreError> {
        match merged {
            Some(at) => Err(StoreError::AlreadyMerged {
                path: self.shown.clone(),
                run: run.to_string(),
                at,
            }),
            None => Ok(()),
        }
    }
}

fn shard_key(shard: &ShardId) -> (&str, i32, i32) {
    let int = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
    (&shard.run, int(shard.index), int(shard.count))
}

/// When a run named `name` was recorded, if it was.
fn merged_at(tx: &mut Transaction<'_>, name: &str) -> Result<Option<String>, postgres::Error> {
    Ok(tx
        .query_opt("SELECT started FROM runs WHERE name = $1", &[&name])?
        .map(|r| r.get(0)))
}

fn known_findings(tx: &mut Transaction<'_>) -> Result<Known, postgres::Error> {
    let rows = tx.query(
        "SELECT id, status, first_seen, body_hash FROM findings",
        &[],
    )?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.get(0),
                KnownFinding {
                    status: r.get(1),
                    first_seen: r.get(2),
                    body_hash: r.get(3),
                },
            )
        })
        .collect())
}

/// All rows in one statement each (`unnest` of arrays): one round trip, however many findings.
fn write_findings(tx: &mut Transaction<'_>, rows: &[FindingRow]) -> Result<(), postgres::Error> {
    fn column<'a, T: ?Sized>(
        rows: &'a [FindingRow],
        f: impl Fn(&'a FindingRow) -> &'a T,
    ) -> Vec<&'a T> {
        rows.iter().map(f).collect()
    }
    let ids = column(rows, |r| r.id.as_str());
    let kinds = column(rows, |r| r.kind);
    let severities = column(rows, |r| r.severity);
    let titles = column(rows, |r| r.title.as_str());
    let statuses = column(rows, |r| r.status);
    let firsts = column(rows, |r| r.first_seen.as_str());
    let lasts = column(rows, |r| r.last_seen.as_str());
    let sources = column(rows, |r| r.sources.as_str());
    let hashes = column(rows, |r| r.body_hash.as_str());
    let partners: Vec<Option<&str>> = rows.iter().map(|r| r.partner.as_deref()).collect();
    let subjects = column(rows, |r| r.subject.as_str());
    let params: [&(dyn ToSql + Sync); 11] = [
        &ids,
        &kinds,
        &severities,
        &titles,
        &statuses,
        &firsts,
        &lasts,
        &sources,
        &hashes,
        &partners,
        &subjects,
    ];
    tx.execute(
        "INSERT INTO findings (id, kind, severity, title, status, first_seen, last_seen, resolved_at, sources, body_hash, partner, subject)
         SELECT id, kind, severity, title, status, first_seen, last_seen, NULL, sources, body_hash, partner, subject
         FROM unnest($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[], $7::TEXT[], $8::TEXT[], $9::TEXT[], $10::TEXT[], $11::TEXT[])
           AS t (id, kind, severity, title, status, first_seen, last_seen, sources, body_hash, partner, subject)
         ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, severity = EXCLUDED.severity,
           title = EXCLUDED.title, status = EXCLUDED.status, last_seen = EXCLUDED.last_seen,
           resolved_at = NULL, sources = EXCLUDED.sources, body_hash = EXCLUDED.body_hash,
           partner = EXCLUDED.partner, subject = EXCLUDED.subject",
        &params,
    )?;
    let changed: Vec<&FindingRow> = rows.iter().filter(|r| r.body.is_some()).collect();
    let ids: Vec<&str> = changed.iter().map(|r| r.id.as_str()).collect();
    let bodies: Vec<&str> = changed.iter().filter_map(|r| r.body.as_deref()).collect();
    tx.execute(
        "INSERT INTO bodies (id, body) SELECT * FROM unnest($1::TEXT[], $2::TEXT[])
         ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body",
        &[&ids, &bodies],
    )?;
    Ok(())
}

fn resolve_unseen(
    tx: &mut Transaction<'_>,
    run: &RunInput<'_>,
    seen: &HashSet<String>,
    diff: &mut Diff,
) -> Result<(), postgres::Error> {
    let incomplete = diff::incomplete(run);
    let open = tx.query(
        "SELECT id, sources FROM findings WHERE status = 'open'",
        &[],
    )?;
    let gone: Vec<String> = open
        .iter()
        .filter(|r| !seen.contains(r.get::<_, &str>(0)) && diff::resolves(r.get(1), &incomplete))
        .map(|r| r.get(0))
        .collect();
    if gone.is_empty() {
        return Ok(());
    }
    tx.execute(
        "UPDATE findings SET status = 'resolved', resolved_at = $2 WHERE id = ANY($1)",
        &[&gone, &run.started],
    )?;
    let bodies = tx.query(
        "SELECT body FROM bodies WHERE id = ANY($1) ORDER BY id",
        &[&gone],
    )?;
    for r in &bodies {
        if let Ok(mut f) = serde_json::from_str::<Finding>(r.get(0)) {
            f.status = FindingStatus::Resolved;
            diff.resolved.push(f);
        }
    }
    Ok(())
}

fn record_run(
    tx: &mut Transaction<'_>,
    run: &RunInput<'_>,
    diff: &Diff,
) -> Result<(), postgres::Error> {
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let gaps = serde_json::to_string(run.gaps).unwrap_or_default();
    tx.execute(
        r#"INSERT INTO runs (started, ended, connectors, gaps, "new", "open", reopened, resolved, name)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"#,
        &[
            &run.started,
            &run.ended,
            &diff::connectors_json(run),
            &gaps,
            &count(diff.new.len()),
            &count(diff.still_open.len()),
            &count(diff.reopened.len()),
            &count(diff.resolved.len()),
            &run.name,
        ],
    )?;
    if let Some(name) = run.name {
        // Merged: the shards' observations are in the graph now; their records stay.
        tx.execute("DELETE FROM shard_observations WHERE run = $1", &[&name])?;
    }
    Ok(())
}

/// Every node this run saw (first and latest sighting) and each scope's first appearance.
fn record_nodes(tx: &mut Transaction<'_>, run: &RunInput<'_>) -> Result<(), postgres::Error> {
    let nodes = run.nodes;
    let ids: Vec<&str> = nodes.iter().map(|n| n.id).collect();
    let kinds: Vec<&str> = nodes.iter().map(|n| n.kind).collect();
    let subtypes: Vec<&str> = nodes.iter().map(|n| n.subtype).collect();
    let names: Vec<&str> = nodes.iter().map(|n| n.name).collect();
    let partners: Vec<Option<&str>> = nodes.iter().map(|n| n.partner).collect();
    let sources: Vec<String> = nodes
        .iter()
        .map(|n| serde_json::to_string(n.sources).unwrap_or_default())
        .collect();
    let revokes: Vec<Option<String>> = nodes
        .iter()
        .map(|n| n.revoke.and_then(|r| serde_json::to_string(r).ok()))
        .collect();
    let accounts: Vec<Option<&str>> = nodes.iter().map(|n| n.account).collect();
    let params: [&(dyn ToSql + Sync); 9] = [
        &ids,
        &kinds,
        &subtypes,
        &names,
        &partners,
        &sources,
        &run.started,
        &revokes,
        &accounts,
    ];
    tx.execute(
        "INSERT INTO nodes (id, kind, subtype, name, partner, sources, first_seen, last_seen, revoke, account)
         SELECT id, kind, subtype, name, partner, sources, $7, $7, revoke, account
         FROM unnest($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[], $8::TEXT[], $9::TEXT[])
           AS t (id, kind, subtype, name, partner, sources, revoke, account)
         ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, subtype = EXCLUDED.subtype,
           name = EXCLUDED.name, partner = EXCLUDED.partner, sources = EXCLUDED.sources,
           last_seen = EXCLUDED.last_seen, revoke = EXCLUDED.revoke, account = EXCLUDED.account",
        &params,
    )?;
    let (scope_nodes, scopes): (Vec<&str>, Vec<&str>) = nodes
        .iter()
        .flat_map(|n| n.scopes.iter().map(move |s| (n.id, s.as_str())))
        .unzip();
    tx.execute(
        "INSERT INTO node_scopes (node, scope, first_seen)
         SELECT DISTINCT node, scope, $3 FROM unnest($1::TEXT[], $2::TEXT[]) AS t (node, scope)
         ON CONFLICT (node, scope) DO NOTHING",
        &[&scope_nodes, &scopes, &run.started],
    )?;
    Ok(())
}

/// The registry's lifecycle fields; a value that differs from the last recorded one is a
/// change dated by this run.
fn record_partners(tx: &mut Transaction<'_>, run: &RunInput<'_>) -> Result<(), postgres::Error> {
    let before: HashMap<String, (String, Option<String>)> = tx
        .query("SELECT id, status, expires FROM partners", &[])?
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect();
    for p in run.partners {
        if let Some((status, expires)) = before.get(p.id) {
            let mut change = |field: &str, old: Option<&str>, new: Option<&str>| {
                tx.execute(
                    r#"INSERT INTO partner_changes (partner, field, "old", "new", at) VALUES ($1, $2, $3, $4, $5)"#,
                    &[&p.id, &field, &old, &new, &run.started],
                )
                .map(|_| ())
            };
            if status != p.status {
                change("status", Some(status), Some(p.status))?;
            }
            if *expires != p.expires {
                change("expires", expires.as_deref(), p.expires.as_deref())?;
            }
        }
        tx.execute(
            "INSERT INTO partners (id, status, expires, recorded) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET status = $2, expires = $3, recorded = $4",
            &[&p.id, &p.status, &p.expires, &run.started],
        )?;
    }
    Ok(())
}

fn read_memory(c: &mut Client) -> Result<Memory, postgres::Error> {
    let mut nodes: HashMap<String, RememberedNode> = HashMap::new();
    for r in c.query("SELECT id, kind, subtype, name, partner, sources, first_seen, last_seen, revoke, account FROM nodes", &[])? {
        let revoke: Option<String> = r.get(8);
        let node = RememberedNode {
            id: r.get(0),
            kind: r.get(1),
            subtype: r.get(2),
            name: r.get(3),
            partner: r.get(4),
            sources: serde_json::from_str(r.get(5)).unwrap_or_default(),
            first_seen: r.get(6),
            last_seen: r.get(7),
            scopes: Default::default(),
            revoke: revoke.and_then(|r| serde_json::from_str(&r).ok()),
            account: r.get(9),
        };
        nodes.insert(node.id.clone(), node);
    }
    for r in c.query("SELECT node, scope, first_seen FROM node_scopes", &[])? {
        if let Some(n) = nodes.get_mut(r.get::<_, &str>(0)) {
            n.scopes.insert(r.get(1), r.get(2));
        }
    }
    let partners = c
        .query("SELECT id, status, expires, recorded FROM partners", &[])?
        .iter()
        .map(|r| {
            (
                r.get(0),
                PartnerState {
                    status: r.get(1),
                    expires: r.get(2),
                    recorded: r.get(3),
                },
            )
        })
        .collect();
    let changes = c
        .query(
            r#"SELECT partner, field, "old", "new", at FROM partner_changes ORDER BY seq"#,
            &[],
        )?
        .iter()
        .map(|r| PartnerChange {
            partner: r.get(0),
            field: r.get(1),
            from: r.get(2),
            to: r.get(3),
            at: r.get(4),
        })
        .collect();
    let latest_run = c
        .query_opt(
            "SELECT started, connectors FROM runs ORDER BY id DESC LIMIT 1",
            &[],
        )?
        .map(|r| (r.get(0), crate::memory::connectors_of(r.get(1))));
    Ok(Memory {
        nodes,
        partners,
        changes,
        latest_run,
    })
}
