//! Running one connector outside a sweep, for connector tests and benchmarks: a plain
//! context, every observation collected, the gaps it recorded and its result.
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use tokio::sync::{mpsc, Semaphore};
use trustmap_connector::{Connector, ConnectorError, Emitter, SweepContext};
use trustmap_model::{NoProgress, Observation};

pub struct Run {
    pub obs: Vec<Observation>,
    pub gaps: Vec<String>,
    /// What the connector said about its run (rate-limit waits, requests).
    pub notes: Vec<String>,
    /// The part of the estate it declared its own.
    pub estate: Vec<trustmap_model::Identifier>,
    pub result: Result<(), ConnectorError>,
}

/// A context with the built-in rules, no progress, and `base_dir` for relative paths.
pub fn context(base_dir: &Path) -> SweepContext {
    SweepContext {
        cancelled: Arc::new(AtomicBool::new(false)),
        progress: Arc::new(NoProgress),
        budget: Arc::new(Semaphore::new(2)),
        engine: Arc::new(trustmap_rules::Engine::builtin().expect("the built-in rules load")),
        slice: None,
        base_dir: base_dir.to_path_buf(),
    }
}

/// Run `connector` to the end and collect what it emitted.
pub async fn run_connector(connector: &dyn Connector, base_dir: &Path) -> Run {
    run_with(connector, context(base_dir)).await
}

/// Run `connector` as one shard of a sharded sweep: slice `index` of `count`.
pub async fn run_sliced(connector: &dyn Connector, base_dir: &Path, index: u32, count: u32) -> Run {
    let mut ctx = context(base_dir);
    ctx.slice = Some(trustmap_connector::Slice { index, count });
    run_with(connector, ctx).await
}

/// Run `connector` as if Ctrl-C had been pressed before it started.
pub async fn run_cancelled(connector: &dyn Connector, base_dir: &Path) -> Run {
    let ctx = context(base_dir);
    ctx.cancelled
        .store(true, std::sync::atomic::Ordering::Relaxed);
    run_with(connector, ctx).await
}

async fn run_with(connector: &dyn Connector, ctx: SweepContext) -> Run {
    let (tx, mut rx) = mpsc::channel(1024);
    let emitter = Emitter::new(tx, connector.name()).cancellable(ctx.cancelled.clone());
    let gather = async {
        let mut got = Vec::new();
        while let Some(o) = rx.recv().await {
            got.push(o);
        }
        got
    };
    let run = async {
        let result = connector.run(&ctx, &emitter).await;
        let (gaps, notes, estate) = (emitter.gaps(), emitter.notes(), emitter.estate());
        drop(emitter);
        (result, gaps, notes, estate)
    };
    let ((result, gaps, notes, estate), obs) = tokio::join!(run, gather);
    Run {
        obs,
        gaps,
        notes,
        estate,
        result,
    }
}

/// What a benchmark run of a connector produced: wall time, observations counted (not kept,
/// so that they do not weigh on the peak memory measured), gaps, notes.
pub struct Timed {
    pub wall_seconds: f64,
    pub observations: usize,
    pub gaps: Vec<String>,
    pub notes: Vec<String>,
    pub result: Result<(), ConnectorError>,
}

/// Run `connector` to the end, counting what it emits.
pub async fn run_counted(connector: &dyn Connector, base_dir: &Path) -> Timed {
    let ctx = context(base_dir);
    let (tx, mut rx) = mpsc::channel(4096);
    let emitter = Emitter::new(tx, connector.name());
    let gather = async {
        let mut n = 0usize;
        while rx.recv().await.is_some() {
            n += 1;
        }
        n
    };
    let started = std::time::Instant::now();
    let run = async {
        let result = connector.run(&ctx, &emitter).await;
        let wall = started.elapsed().as_secs_f64();
        let (gaps, notes) = (emitter.gaps(), emitter.notes());
        drop(emitter);
        (result, wall, gaps, notes)
    };
    let ((result, wall_seconds, gaps, notes), observations) = tokio::join!(run, gather);
    Timed {
        wall_seconds,
        observations,
        gaps,
        notes,
        result,
    }
}
