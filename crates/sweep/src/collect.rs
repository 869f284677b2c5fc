//! Every connector run concurrently under one budget; their observations gathered.
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use tokio::sync::{mpsc, Semaphore};
use trustmap_connector::{Connector, Emitter, SecretVerifier, Slice, SweepContext};
use trustmap_model::{Identifier, Observation, Progress};
use trustmap_rules::Engine;

use crate::SweepConfig;

/// One connector's run.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ConnectorReport {
    pub name: String,
    pub kind: String,
    pub observations: usize,
    /// `Some((kind, message))` when it failed.
    pub error: Option<(String, String)>,
    /// What it could not see but went on without (accounts, repositories, calls refused).
    pub gaps: Vec<String>,
    /// What it said about its run (rate-limit waits, requests made); not gaps.
    pub notes: Vec<String>,
    /// The part of the estate it swept (its accounts, organisations).
    pub estate: Vec<Identifier>,
    pub seconds: f64,
}

impl ConnectorReport {
    /// Finished and saw everything it was configured to see: only then may the state store
    /// conclude that its missing findings were resolved.
    pub fn complete(&self) -> bool {
        self.error.is_none() && self.gaps.is_empty()
    }
}

/// Whether a sweep of `slice` runs `c` (every connector when not sharded; a connector that
/// splits into units runs in every shard and takes its own units).
pub fn runs_in(c: &dyn Connector, slice: Option<Slice>) -> bool {
    slice.is_none_or(|s| c.splits_into_units() || s.takes(c.name()))
}

/// Run every connector of `slice` (at most `config.concurrency` at once) and collect their
/// observations, in the configuration's order.
pub async fn collect(
    config: &SweepConfig,
    engine: Arc<Engine>,
    cancelled: Arc<AtomicBool>,
    progress_for: &(dyn Fn(&str) -> Arc<dyn Progress> + Sync),
    verifier: Option<Arc<dyn SecretVerifier>>,
    slice: Option<Slice>,
) -> (Vec<Observation>, Vec<ConnectorReport>) {
    let budget = Arc::new(Semaphore::new(config.concurrency));
    let chosen = config
        .connectors
        .iter()
        .filter(|c| runs_in(c.as_ref(), slice));
    let runs = chosen.map(|c| {
        let ctx = SweepContext {
            slice,
            cancelled: cancelled.clone(),
            progress: progress_for(c.name()),
            budget: budget.clone(),
            engine: engine.clone(),
            base_dir: config.base_dir.clone(),
        };
        let verifier = verifier.clone();
        async move { run_one(c.as_ref(), ctx, verifier).await }
    });
    let mut observations = Vec::new();
    let mut reports = Vec::new();
    // Connectors overlap: each awaits I/O or blocking work, so polling them together suffices.
    for (obs, report) in futures::future::join_all(runs).await {
        observations.extend(obs);
        reports.push(report);
    }
    (observations, reports)
}

async fn run_one(
    c: &dyn Connector,
    ctx: SweepContext,
    verifier: Option<Arc<dyn SecretVerifier>>,
) -> (Vec<Observation>, ConnectorReport) {
    let (tx, mut rx) = mpsc::channel::<Observation>(1024);
    let emitter = Emitter::new(tx, c.name())
        .cancellable(ctx.cancelled.clone())
        .verifying(verifier);
    let started = std::time::Instant::now();
    let run = async {
        let r = c.run(&ctx, &emitter).await;
        let (gaps, notes, estate) = (emitter.gaps(), emitter.notes(), emitter.estate());
        drop(emitter);
        (r, gaps, notes, estate)
    };
    let gather = async {
        let mut got = Vec::new();
        while let Some(o) = rx.recv().await {
            got.push(o);
        }
        got
    };
    let ((result, gaps, notes, estate), observations) = tokio::join!(run, gather);
    let report = ConnectorReport {
        name: c.name().to_string(),
        kind: c.kind().to_string(),
        observations: observations.len(),
        error: match result {
            // What a source said (a program's stderr, an API's error body) may quote a secret.
            Err(e) => Some((
                e.kind.as_str().to_string(),
                ctx.engine.redact_secrets(&e.message),
            )),
            // Interrupted: whatever it emitted is kept, but its coverage is incomplete.
            Ok(()) if ctx.is_cancelled() => {
                Some(("cancelled".into(), "interrupted before it finished".into()))
            }
            Ok(()) => None,
        },
        gaps: gaps.iter().map(|g| ctx.engine.redact_secrets(g)).collect(),
        notes: notes.iter().map(|n| ctx.engine.redact_secrets(n)).collect(),
        estate,
        seconds: started.elapsed().as_secs_f64(),
    };
    match &report.error {
        None => {
            tracing::debug!(connector = %report.name, observations = report.observations, gaps = report.gaps.len(), seconds = report.seconds, "connector finished")
        }
        Some((kind, message)) => {
            tracing::warn!(connector = %report.name, %kind, %message, "connector failed")
        }
    }
    (observations, report)
}
