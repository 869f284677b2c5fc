//! `trustmap sweep` as a library: the sweep owns the run.
//!
//! Data flow: sweep.toml and partners.toml → [`Plan::load`] (validated, connectors built, no
//! credentials read, no sinks built) → [`Plan::run`]: connectors run concurrently, each with
//! its own `SweepContext` and a share of one budget → observations → [`Graph::build`] →
//! attribution against the registry and the [`Estate`] → every policy check → findings →
//! [`SweepRun::record`] (state diff in one transaction) → [`SweepRun::deliver`] (sink events)
//! → one [`SweepRun`] value that reports, exit plans and the terminal summary are views of.
//! A failed connector is reported in [`SweepRun::failures`]; what it emitted before failing and
//! everything the others found are kept.
//!
//! It must not know about terminals or argument parsing: the CLI renders the run.

mod collect;
mod config;
mod deliver;
mod keys;
mod lifecycle;
mod registry;
mod shard;
mod stats;
mod text;

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use trustmap_attribution::Estate;
use trustmap_graph::Graph;
use trustmap_model::{Finding, FindingStatus, Memory, Progress, Severity};
use trustmap_partners::Registry;
use trustmap_policy::{run_checks, CheckContext, Settings};

pub use collect::ConnectorReport;
pub use config::{load_config, parse_config, ConfigError, SinkDef, SweepConfig};
pub use deliver::SinkReport;
pub use keys::{install, resolve_key, KeySource};
pub use lifecycle::{evidence, exit_plan_from_state};
pub use registry::{build_connector, BuildError, CONNECTOR_TYPES};
pub use shard::{MergeOptions, ShardOutcome};
pub use stats::{ConnectorStats, Summary, SweepStats};
pub use trustmap_connector::Slice;
pub use trustmap_policy::UnknownPartner;
pub use trustmap_store::{Diff, ShardId, ShardRecord, ShardStatus, StateLocation};

/// The name `progress_for` is asked for the verification's progress (counts, not bytes); the
/// parentheses keep it apart from any connector's name.
pub const VERIFY_PROGRESS: &str = "(verify)";

/// What can stop a sweep before it has a result (a failing connector does not: it is data).
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// sweep.toml or partners.toml (the same error type: file, line, field).
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("the secret rules: {0}")]
    Rules(#[from] trustmap_rules::RuleError),
    #[error(transparent)]
    Store(#[from] trustmap_store::StoreError),
    #[error(transparent)]
    Sink(#[from] trustmap_sinks::SinkError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    #[error(transparent)]
    UnknownPartner(#[from] UnknownPartner),
    #[error("{0}: no state file (a sweep with --state creates it)")]
    NoState(String),
    #[error("digest key: {0}")]
    Key(String),
    #[error("verify: {0}")]
    Verify(String),
    /// A sharded run that cannot go on (no shared store, shards and merge disagreeing).
    #[error("{0}")]
    Shard(String),
}

/// A validated sweep: the configuration, the registry and the day it is evaluated as of.
pub struct Plan {
    pub config: SweepConfig,
    pub registry: Registry,
    pub settings: Settings,
}

/// What a run needs from its caller: cancellation and progress.
pub struct RunContext<'a> {
    /// Set (by Ctrl-C, say) to ask every connector to stop; what they found is kept.
    pub cancelled: Arc<AtomicBool>,
    /// A progress reporter for each connector, by name.
    pub progress_for: &'a (dyn Fn(&str) -> Arc<dyn Progress> + Sync),
    /// The state store whose memory of earlier runs the checks compare with (scope drift,
    /// days since a revocation); read only, [`SweepRun::record`] writes it.
    pub state: Option<&'a StateLocation>,
}

impl Plan {
    /// Load and validate sweep.toml and its partners.toml. `now`: evaluate dates as of this
    /// day (reproducible sweeps), else today.
    pub fn load(config_file: &Path, now: Option<chrono::NaiveDate>) -> Result<Plan, SweepError> {
        let config = load_config(config_file)?;
        let registry = trustmap_partners::load_registry(&config.partners_file)?;
        let (today, stamp) = match now {
            Some(d) => (d, format!("{d}T00:00:00Z")),
            None => {
                let n = chrono::Utc::now();
                (
                    n.date_naive(),
                    n.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                )
            }
        };
        let settings = Settings {
            today,
            dormant_after_days: config.dormant_after_days,
            max_credential_age_days: config.max_credential_age_days,
            renew_before_days: config.renew_before_days,
            now: stamp,
        };
        Ok(Plan {
            config,
            registry,
            settings,
        })
    }

    /// Run every connector, then build, attribute and check the graph.
    pub async fn run(&self, ctx: &RunContext<'_>) -> Result<SweepRun, SweepError> {
        let started = now_stamp();
        // Before anything is scanned: every digest of the run is taken under the estate's key.
        let key_source = self.install_digest_key(ctx.state)?;
        tracing::debug!(key = %key_source, "digest key");
        let (observations, connectors, verification) = self.collect(ctx, None).await?;
        self.assemble(
            ctx,
            Collected {
                observations,
                connectors,
                started,
                key_source,
                verification,
            },
        )
    }

    /// Run the connectors of `slice` (all of them when `None`).
    async fn collect(
        &self,
        ctx: &RunContext<'_>,
        slice: Option<trustmap_connector::Slice>,
    ) -> Result<Collection, SweepError> {
        let engine = Arc::new(trustmap_rules::Engine::builtin()?);
        let verifier = self.verifier(ctx)?;
        let (observations, connectors) = collect::collect(
            &self.config,
            engine,
            ctx.cancelled.clone(),
            ctx.progress_for,
            verifier
                .clone()
                .map(|v| v as Arc<dyn trustmap_connector::SecretVerifier>),
            slice,
        )
        .await;
        Ok((observations, connectors, verifier.map(|v| v.tally())))
    }

    /// Build, attribute and check the graph of what the connectors saw.
    fn assemble(&self, ctx: &RunContext<'_>, got: Collected) -> Result<SweepRun, SweepError> {
        let Collected {
            observations,
            connectors,
            started,
            key_source,
            verification,
        } = got;
        let mut estate = Estate::new(self.config.internal.iter().cloned());
        for c in &connectors {
            estate.extend(c.estate.iter().cloned());
        }
        let memory = match ctx.state {
            Some(path) => deliver::memory(path)?,
            None => Memory::default(),
        };
        let mut graph = Graph::build(observations);
        let mut connectors = connectors;
        for (name, note) in graph.unseen_workload_targets() {
            if let Some(c) = connectors.iter_mut().find(|c| c.name == name) {
                c.notes.push(note);
            }
        }
        trustmap_attribution::attribute(&mut graph, &self.registry, &estate);
        let findings = run_checks(&CheckContext {
            graph: &graph,
            registry: &self.registry,
            settings: &self.settings,
            memory: &memory,
        });
        tracing::debug!(
            nodes = graph.nodes.len(),
            findings = findings.len(),
            "checks ran"
        );
        Ok(SweepRun {
            graph,
            findings,
            connectors,
            estate,
            diff: None,
            deliveries: Vec::new(),
            started,
            memory,
            key_source,
            verification,
            run_name: None,
        })
    }

    /// The run's one verifier when `[sweep] verify` is on (its cache and bounds span every
    /// connector); it reports progress under [`VERIFY_PROGRESS`].
    fn verifier(
        &self,
        ctx: &RunContext<'_>,
    ) -> Result<Option<Arc<trustmap_verify::Verifier>>, SweepError> {
        if !self.config.verify {
            return Ok(None);
        }
        let v = trustmap_verify::Verifier::new(
            self.config.verify_options.clone(),
            (ctx.progress_for)(VERIFY_PROGRESS),
        )
        .map_err(SweepError::Verify)?;
        Ok(Some(Arc::new(v)))
    }

    /// [`Plan::run`] on a runtime of its own, with Ctrl-C (SIGINT) or SIGTERM (a scheduler
    /// stopping the job) setting `ctx.cancelled`: connectors stop, what finished is kept.
    pub fn run_blocking(&self, ctx: &RunContext<'_>) -> Result<SweepRun, SweepError> {
        blocking(ctx, self.run(ctx))
    }

    /// The state store: `--state` if given, else `[sweep] state`.
    pub fn state(&self, overridden: Option<&StateLocation>) -> Option<StateLocation> {
        overridden.cloned().or_else(|| self.config.state.clone())
    }
}

/// `work` on a runtime of its own, with Ctrl-C or SIGTERM setting `ctx.cancelled`.
fn blocking<T>(
    ctx: &RunContext<'_>,
    work: impl std::future::Future<Output = Result<T, SweepError>>,
) -> Result<T, SweepError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(SweepError::Runtime)?;
    let flag = ctx.cancelled.clone();
    runtime.spawn(async move {
        stop_requested().await;
        flag.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    runtime.block_on(work)
}

/// Ctrl-C, or on Unix SIGTERM as well. A signal that cannot be listened for never fires.
async fn stop_requested() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                () = interrupt => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    interrupt.await;
}

/// Observations, connector reports and the verification tally of a collection.
type Collection = (
    Vec<trustmap_model::Observation>,
    Vec<ConnectorReport>,
    Option<trustmap_verify::Tally>,
);

/// What [`Plan::assemble`] builds a run from (one process's collection, or a merge's).
struct Collected {
    observations: Vec<trustmap_model::Observation>,
    connectors: Vec<ConnectorReport>,
    started: String,
    key_source: KeySource,
    verification: Option<trustmap_verify::Tally>,
}

/// Now, as the runs table stamps it.
fn now_stamp() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// One sweep's result: everything the reports, the exit plan and the summary show.
pub struct SweepRun {
    pub graph: Graph,
    pub findings: Vec<Finding>,
    pub connectors: Vec<ConnectorReport>,
    /// The estate the run covered (swept and `[sweep] internal`).
    pub estate: Estate,
    /// How the findings compare with the state store, once [`SweepRun::record`]ed.
    pub diff: Option<Diff>,
    /// What each sink was sent, once [`SweepRun::deliver`]ed.
    pub deliveries: Vec<SinkReport>,
    /// When the run started (RFC 3339).
    pub started: String,
    /// What the state store remembered before this run (empty without one).
    pub memory: Memory,
    /// Where the digest key came from.
    pub key_source: KeySource,
    /// What verification found, when the sweep verified.
    pub verification: Option<trustmap_verify::Tally>,
    /// A merged sharded run's name (`--run`): the store records it once.
    pub run_name: Option<String>,
}

/// How a run should end, for the caller to map to an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    /// Findings at or above the threshold, or new ones when asked to fail on those.
    Findings,
    ConnectorFailed,
}

impl SweepRun {
    /// The HTML report's view of this run.
    pub fn report_view(&self, plan: &Plan, title: &str) -> trustmap_report::html::View {
        let mut coverage = Vec::new();
        for c in &self.connectors {
            if let Some((k, m)) = &c.error {
                coverage.push((c.name.clone(), format!("failed [{k}]: {m}")));
            }
            coverage.extend(c.gaps.iter().map(|g| (c.name.clone(), g.clone())));
        }
        trustmap_policy::report_view(
            &self.graph,
            &plan.registry,
            coverage,
            plan.settings.today,
            title,
        )
    }

    /// Everything `partner` and its subcontractors can still use, from this run.
    pub fn exit_plan(
        &self,
        plan: &Plan,
        partner: &str,
    ) -> Result<trustmap_report::exit_plan::ExitPlan, UnknownPartner> {
        trustmap_policy::exit_plan(
            &self.graph,
            &plan.registry,
            &self.findings,
            partner,
            plan.settings.today,
            plan.config.dormant_after_days,
        )
    }

    pub fn failures(&self) -> impl Iterator<Item = &ConnectorReport> {
        self.connectors.iter().filter(|c| c.error.is_some())
    }

    /// A failed connector wins; then accepted (suppressed) findings never fail a run.
    pub fn verdict(&self, fail_on: Option<Severity>, fail_on_new: bool) -> Verdict {
        if self.failures().next().is_some() {
            return Verdict::ConnectorFailed;
        }
        let failing = fail_on.is_some_and(|min| {
            self.findings
                .iter()
                .any(|f| f.status != FindingStatus::Suppressed && f.severity >= min)
        });
        let new_ones = fail_on_new
            && self
                .diff
                .as_ref()
                .is_some_and(|d| !d.new.is_empty() || !d.reopened.is_empty());
        if failing || new_ones {
            Verdict::Findings
        } else {
            Verdict::Ok
        }
    }
}
