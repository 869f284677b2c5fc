//! Sharded sweeps: `--shard I/N --run RUN` sweeps one slice of the estate's work units and
//! stores what it saw under RUN; `--merge N --run RUN` waits for the N slices, then builds
//! the graph from all of them and goes on as one unsharded sweep would (same observations in
//! the same order, so the same findings with the same ids).
//!
//! A slice that never finished is a coverage gap of the merge: each connector it held is
//! reported failed, so nothing that connector found before is resolved.
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use trustmap_connector::Slice;
use trustmap_model::Observation;
use trustmap_store::{ShardId, ShardRecord, ShardStatus, StateLocation, StateStore};

use crate::{now_stamp, Collected, ConnectorReport, Plan, RunContext, SweepError, SweepRun};

/// How long one store call waits for a writer.
const STORE_WAIT: Duration = Duration::from_secs(60);
/// How often a merge looks for finished shards.
const POLL: Duration = Duration::from_millis(500);

/// What a shard stores beside its observations (the store keeps it as JSON text).
#[derive(Serialize, Deserialize)]
struct ShardReport {
    /// Each connector it ran, in the configuration's order, and how many of the shard's
    /// observations (stored in that order) are its.
    connectors: Vec<(ConnectorReport, usize)>,
}

/// What one shard did.
#[derive(Debug, Clone)]
pub struct ShardOutcome {
    pub shard: ShardId,
    pub connectors: Vec<ConnectorReport>,
    pub observations: usize,
    /// How long storing the observations took.
    pub store_seconds: f64,
}

impl ShardOutcome {
    pub fn failures(&self) -> impl Iterator<Item = &ConnectorReport> {
        self.connectors.iter().filter(|c| c.error.is_some())
    }
}

/// How a merge waits.
pub struct MergeOptions<'a> {
    pub run: &'a str,
    pub count: u32,
    /// Give up waiting after this long: the shards still missing become coverage gaps.
    pub timeout: Duration,
    /// Told each time the set of finished shards changes (and once at the start).
    pub on_wait: &'a (dyn Fn(&[ShardRecord]) + Sync),
}

/// This machine's name, for the shard's record (a pod's name on Kubernetes).
fn host() -> String {
    trustmap_model::env::named(trustmap_model::env::HOSTNAME)
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

fn shared_state<'a>(
    ctx: &'a RunContext<'_>,
    plan: &'a Plan,
) -> Result<&'a StateLocation, SweepError> {
    ctx.state.or(plan.config.state.as_ref()).ok_or_else(|| {
        SweepError::Shard(
            "a sharded sweep needs the state store its shards share (--state postgres://... or [sweep] state)".into(),
        )
    })
}

impl Plan {
    /// Sweep slice `shard` of the estate and store its observations and connector reports
    /// under the shard's run, for [`Plan::merge`].
    pub async fn run_shard(
        &self,
        ctx: &RunContext<'_>,
        shard: &ShardId,
    ) -> Result<ShardOutcome, SweepError> {
        let state = shared_state(ctx, self)?;
        let key_source = self.install_digest_key(Some(state))?;
        tracing::debug!(key = %key_source, %shard, "digest key");
        state
            .open(STORE_WAIT)?
            .shard_started(shard, &host(), &now_stamp())?;
        let slice = Slice {
            index: shard.index,
            count: shard.count,
        };
        let (observations, connectors, _) = self.collect(ctx, Some(slice)).await?;
        let stored = Instant::now();
        let report = ShardReport {
            connectors: connectors
                .iter()
                .map(|c| (c.clone(), c.observations))
                .collect(),
        };
        let report = serde_json::to_string(&report)
            .map_err(|e| SweepError::Shard(format!("{shard}: cannot encode its report: {e}")))?;
        let bodies: Vec<String> = observations
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<_, _>>()
            .map_err(|e| {
                SweepError::Shard(format!("{shard}: cannot encode an observation: {e}"))
            })?;
        // A fresh connection: the one that recorded the start may have idled out meanwhile.
        state
            .open(STORE_WAIT)?
            .shard_finished(shard, &now_stamp(), &report, &bodies)?;
        Ok(ShardOutcome {
            shard: shard.clone(),
            connectors,
            observations: bodies.len(),
            store_seconds: stored.elapsed().as_secs_f64(),
        })
    }

    /// Wait for the shards of `opts.run`, then build the run from all their observations, as
    /// one unsharded sweep of the same estate. Record it with [`SweepRun::record`], which
    /// refuses a second merge of the same run.
    pub async fn merge(
        &self,
        ctx: &RunContext<'_>,
        opts: &MergeOptions<'_>,
    ) -> Result<SweepRun, SweepError> {
        let started = now_stamp();
        let state = shared_state(ctx, self)?;
        let key_source = self.install_digest_key(Some(state))?;
        let store = state.open(STORE_WAIT)?;
        let shards = wait_for_shards(store.as_ref(), opts, ctx).await?;
        let mut by_connector: HashMap<String, Vec<(u32, ConnectorReport, Vec<Observation>)>> =
            HashMap::new();
        for s in shards.iter().filter(|s| s.status == ShardStatus::Done) {
            for (report, observations) in read_shard(store.as_ref(), opts.run, s)? {
                by_connector.entry(report.name.clone()).or_default().push((
                    s.index,
                    report,
                    observations,
                ));
            }
        }
        if let Some(stray) = by_connector.keys().find(|n| {
            !self
                .config
                .connectors
                .iter()
                .any(|c| c.name() == n.as_str())
        }) {
            return Err(SweepError::Shard(format!(
                "run {:?}: a shard ran connector {stray:?}, which {} does not configure: shards and merge must share one sweep.toml",
                opts.run,
                self.config.file.display()
            )));
        }
        let missing: Vec<&ShardRecord> = shards
            .iter()
            .filter(|s| s.status != ShardStatus::Done)
            .collect();
        let never_started: Vec<u32> = (0..opts.count)
            .filter(|i| !shards.iter().any(|s| s.index == *i))
            .collect();
        let mut observations = Vec::new();
        let mut connectors = Vec::new();
        for c in &self.config.connectors {
            let parts = by_connector.remove(c.name()).unwrap_or_default();
            let owners: Vec<u32> = if c.splits_into_units() {
                (0..opts.count).collect()
            } else {
                vec![Slice::of(c.name(), opts.count)]
            };
            let absent: Vec<String> = owners
                .iter()
                .filter(|i| !parts.iter().any(|(s, ..)| s == *i))
                .map(|i| absent_shard(*i, opts.count, &missing, &never_started))
                .collect();
            let (report, obs) = combine(c.name(), c.kind(), parts, &absent);
            observations.extend(obs);
            connectors.push(report);
        }
        let mut run = self.assemble(
            ctx,
            Collected {
                observations,
                connectors,
                started,
                key_source,
                verification: None,
            },
        )?;
        run.run_name = Some(opts.run.to_string());
        Ok(run)
    }
}

/// Poll until `opts.count` shards are done or the timeout passes; a shard started with another
/// count is an error (shards and merge disagree on N).
async fn wait_for_shards(
    store: &dyn StateStore,
    opts: &MergeOptions<'_>,
    ctx: &RunContext<'_>,
) -> Result<Vec<ShardRecord>, SweepError> {
    let begun = Instant::now();
    let mut last_done = usize::MAX;
    loop {
        let shards = store.shards(opts.run)?;
        if let Some(other) = shards
            .iter()
            .find(|s| s.count != opts.count || s.index >= opts.count)
        {
            return Err(SweepError::Shard(format!(
                "run {:?}: shard {}/{} does not belong to a merge of {} shards",
                opts.run, other.index, other.count, opts.count
            )));
        }
        let done = shards
            .iter()
            .filter(|s| s.status == ShardStatus::Done)
            .count();
        if done != last_done {
            (opts.on_wait)(&shards);
            last_done = done;
        }
        if ctx.cancelled.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(SweepError::Shard(format!(
                "run {:?}: interrupted while waiting for its shards; nothing was recorded",
                opts.run
            )));
        }
        if done == opts.count as usize || begun.elapsed() >= opts.timeout {
            return Ok(shards);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// A done shard's connector reports, each with its observations.
fn read_shard(
    store: &dyn StateStore,
    run: &str,
    shard: &ShardRecord,
) -> Result<Vec<(ConnectorReport, Vec<Observation>)>, SweepError> {
    let bad =
        |what: String| SweepError::Shard(format!("run {run:?}, shard {}: {what}", shard.index));
    let report: ShardReport = serde_json::from_str(shard.report.as_deref().unwrap_or_default())
        .map_err(|e| bad(format!("unreadable report: {e}")))?;
    let bodies = store.shard_observations(run, shard.index)?;
    let expected: usize = report.connectors.iter().map(|(_, n)| n).sum();
    if bodies.len() != expected {
        return Err(bad(format!(
            "{} observations stored, its report counts {expected}",
            bodies.len()
        )));
    }
    let mut bodies = bodies.into_iter();
    report
        .connectors
        .into_iter()
        .map(|(c, n)| {
            let obs = bodies
                .by_ref()
                .take(n)
                .enumerate()
                .map(|(i, b)| {
                    serde_json::from_str::<Observation>(&b)
                        .map_err(|e| bad(format!("{}: observation {i}: {e}", c.name)))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((c, obs))
        })
        .collect()
}

/// Why shard `index` has nothing to give.
fn absent_shard(index: u32, count: u32, missing: &[&ShardRecord], never: &[u32]) -> String {
    if never.contains(&index) {
        return format!("shard {index}/{count} never started");
    }
    match missing.iter().find(|s| s.index == index) {
        Some(s) => format!(
            "shard {index}/{count} started on {} at {} and never finished",
            s.host, s.started
        ),
        None => format!("shard {index}/{count} did not report"),
    }
}

/// One connector's report from its shards' parts (one part unless it splits into units);
/// shards that never finished make it failed, with their reasons.
fn combine(
    name: &str,
    kind: &str,
    parts: Vec<(u32, ConnectorReport, Vec<Observation>)>,
    absent: &[String],
) -> (ConnectorReport, Vec<Observation>) {
    let mut report = ConnectorReport {
        name: name.to_string(),
        kind: kind.to_string(),
        observations: 0,
        error: None,
        gaps: Vec::new(),
        notes: Vec::new(),
        estate: Vec::new(),
        seconds: 0.0,
    };
    let mut observations = Vec::new();
    let mut parts = parts;
    parts.sort_by_key(|(index, ..)| *index);
    for (_, part, obs) in parts {
        report.observations += obs.len();
        observations.extend(obs);
        report.error = report.error.or(part.error);
        report.gaps.extend(part.gaps);
        report.notes.extend(part.notes);
        for id in part.estate {
            if !report.estate.contains(&id) {
                report.estate.push(id);
            }
        }
        report.seconds = report.seconds.max(part.seconds);
    }
    if !absent.is_empty() && report.error.is_none() {
        report.error = Some((
            "shard".into(),
            format!("{}: what it held was not swept", absent.join("; ")),
        ));
    }
    (report, observations)
}

impl Plan {
    /// [`Plan::run_shard`] on a runtime of its own, stopped by Ctrl-C or SIGTERM as a sweep is.
    pub fn run_shard_blocking(
        &self,
        ctx: &RunContext<'_>,
        shard: &ShardId,
    ) -> Result<ShardOutcome, SweepError> {
        crate::blocking(ctx, self.run_shard(ctx, shard))
    }

    /// [`Plan::merge`] on a runtime of its own.
    pub fn merge_blocking(
        &self,
        ctx: &RunContext<'_>,
        opts: &MergeOptions<'_>,
    ) -> Result<SweepRun, SweepError> {
        crate::blocking(ctx, self.merge(ctx, opts))
    }
}
