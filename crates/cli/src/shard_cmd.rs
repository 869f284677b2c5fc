//! `trustmap sweep --shard I/N --run RUN` and `--merge N --run RUN`: one slice of a sweep,
//! and the merge that reports them as one.
use anyhow::{bail, Result};
use std::time::Duration;
use trustmap_sweep::{
    MergeOptions, Plan, ShardId, ShardRecord, ShardStatus, Slice, StateLocation, SweepRun,
};

use crate::exit;
use crate::sweep_cmd::with_bars;

/// Sweep one slice and store it; exit 3 when one of its connectors failed (the merge reports
/// it as well), else 0.
pub fn run_shard(
    plan: &Plan,
    slice: Slice,
    run: &str,
    state: Option<&StateLocation>,
    quiet: bool,
) -> Result<u8> {
    let Some(state) = state else {
        bail!("--shard needs the state store its shards share (--state postgres://... or [sweep] state)");
    };
    let shard = ShardId {
        run: run.to_string(),
        index: slice.index,
        count: slice.count,
    };
    let outcome = with_bars(quiet, Some(state), |ctx| {
        Ok(plan.run_shard_blocking(ctx, &shard)?)
    })?;
    for c in outcome.failures() {
        if let Some((kind, message)) = &c.error {
            let line = format!("trustmap: connector {} failed [{kind}]: {message}", c.name);
            eprintln!("{}", trustmap_model::text::for_terminal(&line));
        }
    }
    if !quiet {
        let names: Vec<&str> = outcome.connectors.iter().map(|c| c.name.as_str()).collect();
        eprintln!(
            "{shard}: {} connectors ({}), {} observations stored in {state} in {:.1} s",
            names.len(),
            if names.is_empty() {
                "none fell in this slice".to_string()
            } else {
                names.join(", ")
            },
            outcome.observations,
            outcome.store_seconds
        );
    }
    Ok(if outcome.failures().next().is_some() {
        exit::CONNECTOR_FAILED
    } else {
        exit::OK
    })
}

/// Wait for the shards, then the run built from all of them (recorded and delivered by the
/// caller, as an unsharded sweep's).
pub fn merge(
    plan: &Plan,
    count: u32,
    run: &str,
    timeout: Duration,
    state: Option<&StateLocation>,
    quiet: bool,
) -> Result<SweepRun> {
    let Some(state) = state else {
        bail!("--merge needs the state store its shards share (--state postgres://... or [sweep] state)");
    };
    let on_wait = |shards: &[ShardRecord]| {
        if quiet {
            return;
        }
        let done = shards
            .iter()
            .filter(|s| s.status == ShardStatus::Done)
            .count();
        let observations: u64 = shards.iter().map(|s| s.observations).sum();
        eprintln!(
            "run {run:?}: {done}/{count} shards finished, {observations} observations stored"
        );
    };
    let opts = MergeOptions {
        run,
        count,
        timeout,
        on_wait: &on_wait,
    };
    with_bars(quiet, Some(state), |ctx| {
        Ok(plan.merge_blocking(ctx, &opts)?)
    })
}
