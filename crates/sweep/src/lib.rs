//! `trustmap sweep` as a library.
//!
//! Data flow: sweep.toml ([`load_config`]) → connectors run concurrently, each with its own
//! [`SweepContext`] and a bounded budget → observations → [`Graph::build`] → attribution
//! against partners.toml → every policy check → findings, plus the graph and per-connector
//! results. A failed connector is reported in [`SweepOutcome::failures`]; what it emitted before
//! failing and everything the others found are kept.
//!
//! It must not know about output formats or terminals: the CLI renders the outcome.

mod config;
mod exit;
mod registry;
mod view;

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use tokio::sync::{mpsc, Semaphore};
use trustmap_connector::{Emitter, SweepContext};
use trustmap_graph::Graph;
use trustmap_model::{Finding, Observation, Progress};
use trustmap_partners::Registry;
use trustmap_policy::{run_checks, CheckContext, Settings};
use trustmap_rules::Engine;

pub use config::{load_config, parse_config, ConfigError, SweepConfig};
pub use exit::exit_plan;
pub use registry::{build_connector, CONNECTOR_TYPES};
pub use view::report_view;

/// One connector's run.
#[derive(Debug, Clone)]
pub struct ConnectorReport {
    pub name: String,
    pub kind: String,
    pub observations: usize,
    /// `Some((kind, message))` when it failed.
    pub error: Option<(String, String)>,
    /// What it could not see but went on without (accounts, repositories, calls refused).
    pub gaps: Vec<String>,
    pub seconds: f64,
}

impl ConnectorReport {
    /// Finished and saw everything it was configured to see: only then may the state store
    /// conclude that its missing findings were resolved.
    pub fn complete(&self) -> bool {
        self.error.is_none() && self.gaps.is_empty()
    }
}

pub struct SweepOutcome {
    pub graph: Graph,
    pub findings: Vec<Finding>,
    pub connectors: Vec<ConnectorReport>,
}

impl SweepOutcome {
    pub fn failures(&self) -> impl Iterator<Item = &ConnectorReport> {
        self.connectors.iter().filter(|c| c.error.is_some())
    }
}

/// Run every connector (at most `config.concurrency` at once) and collect their observations.
pub async fn collect(
    config: &SweepConfig,
    engine: Arc<Engine>,
    cancelled: Arc<AtomicBool>,
    progress_for: &(dyn Fn(&str) -> Arc<dyn Progress> + Sync),
) -> (Vec<Observation>, Vec<ConnectorReport>) {
    let budget = Arc::new(Semaphore::new(config.concurrency));
    let mut runs = Vec::new();
    for c in &config.connectors {
        let ctx = SweepContext {
            cancelled: cancelled.clone(),
            progress: progress_for(c.name()),
            budget: budget.clone(),
            engine: engine.clone(),
            base_dir: config.base_dir.clone(),
        };
        runs.push(async move {
            let (tx, mut rx) = mpsc::channel::<Observation>(1024);
            let emitter = Emitter::new(tx, c.name());
            let started = std::time::Instant::now();
            let run = async {
                let r = c.run(&ctx, &emitter).await;
                let gaps = emitter.gaps();
                drop(emitter);
                (r, gaps)
            };
            let gather = async {
                let mut got = Vec::new();
                while let Some(o) = rx.recv().await {
                    got.push(o);
                }
                got
            };
            let ((result, gaps), observations) = tokio::join!(run, gather);
            let report = ConnectorReport {
                name: c.name().to_string(),
                kind: c.kind().to_string(),
                observations: observations.len(),
                error: match result {
                    Err(e) => Some((e.kind.as_str().to_string(), e.message)),
                    // Interrupted: whatever it emitted is kept, but its coverage is incomplete.
                    Ok(()) if ctx.is_cancelled() => {
                        Some(("cancelled".into(), "interrupted before it finished".into()))
                    }
                    Ok(()) => None,
                },
                gaps,
                seconds: started.elapsed().as_secs_f64(),
            };
            (observations, report)
        });
    }
    let mut observations = Vec::new();
    let mut reports = Vec::new();
    // Connectors overlap: each awaits I/O or blocking work, so polling them together suffices.
    for (obs, report) in futures::future::join_all(runs).await {
        observations.extend(obs);
        reports.push(report);
    }
    (observations, reports)
}

/// Build the graph from observations, attribute it and run the checks.
pub fn analyse(
    observations: Vec<Observation>,
    registry: &Registry,
    settings: &Settings,
) -> (Graph, Vec<Finding>) {
    let mut graph = Graph::build(observations, registry);
    graph.attribute(registry);
    let findings = run_checks(&CheckContext {
        graph: &graph,
        registry,
        settings,
    });
    (graph, findings)
}

/// What the terminal summary shows: counts by severity and kind, partners ranked by risk.
#[derive(Debug, Default)]
pub struct Summary {
    pub by_severity: BTreeMap<String, usize>,
    pub by_kind: BTreeMap<String, usize>,
    /// (partner, findings, risk score), highest risk first.
    pub partners: Vec<(String, usize, usize)>,
}

/// Counts by severity and by kind, and partners ranked by the severity of their findings.
pub fn summarise(findings: &[Finding]) -> Summary {
    let mut by_sev = BTreeMap::new();
    let mut by_kind = BTreeMap::new();
    let mut partners: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for f in findings {
        *by_sev.entry(f.severity.as_str().to_string()).or_insert(0) += 1;
        *by_kind.entry(f.kind.as_str().to_string()).or_insert(0) += 1;
        if let Some(p) = &f.partner {
            let e = partners.entry(p.clone()).or_insert((0, 0));
            e.0 += 1;
            // Risk score: critical 10, high 5, medium 2, low 1.
            e.1 += match f.severity {
                trustmap_model::Severity::Critical => 10,
                trustmap_model::Severity::High => 5,
                trustmap_model::Severity::Medium => 2,
                trustmap_model::Severity::Low => 1,
                trustmap_model::Severity::Info => 0,
            };
        }
    }
    let mut ranked: Vec<(String, usize, usize)> = partners
        .into_iter()
        .map(|(p, (n, score))| (p, n, score))
        .collect();
    ranked.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    Summary {
        by_severity: by_sev,
        by_kind,
        partners: ranked,
    }
}
