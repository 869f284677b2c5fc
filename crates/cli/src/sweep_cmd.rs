//! `trustmap sweep`, `trustmap graph` and `trustmap partners check`.
use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::MultiProgress;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use trustmap_graph::{export, ExportFormat};
use trustmap_model::{FindingStatus, Progress, Severity};
use trustmap_partners::load_registry;
use trustmap_report::{write_files, Format, RunInfo};
use trustmap_sweep::{Plan, RunContext, Slice, StateLocation, SweepRun};

use crate::exit;
use crate::progress::BarProgress;

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The sweep configuration.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Directory for findings.<format> files.
    #[arg(long, default_value = "trustmap-out", value_name = "DIR")]
    pub out: PathBuf,
    /// Comma-separated formats: jsonl, json, sarif, csv, md, html.
    #[arg(long, default_value = "jsonl,json,md,html", value_delimiter = ',')]
    pub format: Vec<String>,
    /// The state store: findings across runs (new, open, resolved, reopened, suppressed). A
    /// SQLite file, or a `postgres://` URL (shared by the shards of a sharded sweep; a
    /// password left out of the URL comes from PGPASSWORD). Overrides `[sweep] state`.
    #[arg(long, value_name = "FILE|URL", value_parser = parse_state)]
    pub state: Option<StateLocation>,
    /// Exit 1 when a finding is new or reopened since the last run (needs a state file).
    #[arg(long)]
    pub fail_on_new: bool,
    /// Exit 1 when a finding is at or above this severity (default: never).
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    /// Evaluate dates as of this day (YYYY-MM-DD), for reproducible sweeps.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub now: Option<String>,
    /// Ask each found secret's issuer whether it is live (as `[sweep] verify = true`; the
    /// secret goes only to its issuer, `[verify.endpoints]` names other endpoints).
    #[arg(long)]
    pub verify: bool,
    /// Sweep only slice I of N (0-based) of every connector's work units and store what it
    /// saw under --run in the shared state; `--merge N` then reports. On Kubernetes, I is the
    /// pod's JOB_COMPLETION_INDEX.
    #[arg(long, value_name = "I/N", requires = "run", conflicts_with = "merge")]
    pub shard: Option<Slice>,
    /// Wait for the N shards of --run, then build, check, record and deliver as one sweep.
    #[arg(long, value_name = "N", requires = "run", value_parser = clap::value_parser!(u32).range(1..))]
    pub merge: Option<u32>,
    /// The sharded run's name, the same for its shards and its merge (a run is merged once).
    #[arg(long, value_name = "RUN")]
    pub run: Option<String>,
    /// With --merge: stop waiting after this many seconds; shards still missing are coverage
    /// gaps (nothing they held is resolved).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 3600,
        requires = "merge"
    )]
    pub merge_timeout: u64,
    /// No progress bars and no summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// `--state`: a `postgres://` URL, else a file path.
pub fn parse_state(text: &str) -> Result<StateLocation, String> {
    if text.is_empty() {
        return Err("an empty state location".into());
    }
    Ok(StateLocation::parse(text))
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    #[arg(long, default_value = "json", value_parser = ["json", "dot", "graphml", "cypher"])]
    pub format: String,
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub now: Option<String>,
}

/// `--now YYYY-MM-DD`, parsed at the edge.
pub fn parse_now(now: Option<&str>) -> Result<Option<chrono::NaiveDate>> {
    now.map(|day| {
        chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .with_context(|| format!("--now {day:?}: expected YYYY-MM-DD"))
    })
    .transpose()
}

/// Run the plan's connectors with one progress bar each (none when `quiet` or not a terminal);
/// the checks compare with `state`'s memory when given.
pub fn sweep_with_bars(
    plan: &Plan,
    quiet: bool,
    state: Option<&StateLocation>,
) -> Result<SweepRun> {
    with_bars(quiet, state, |ctx| Ok(plan.run_blocking(ctx)?))
}

/// `work` with a run context whose connectors draw one progress bar each.
pub fn with_bars<T>(
    quiet: bool,
    state: Option<&StateLocation>,
    work: impl FnOnce(&RunContext<'_>) -> Result<T>,
) -> Result<T> {
    let multi = MultiProgress::new();
    let progress_for = |name: &str| -> Arc<dyn Progress> {
        if name == trustmap_sweep::VERIFY_PROGRESS {
            Arc::new(BarProgress::counter(&multi, "verify", quiet))
        } else {
            Arc::new(BarProgress::connector(&multi, name, quiet))
        }
    };
    let result = work(&RunContext {
        cancelled: Arc::default(),
        progress_for: &progress_for,
        state,
    });
    let _ = multi.clear();
    result
}

pub fn run_sweep(args: SweepArgs) -> Result<u8> {
    let formats: Vec<Format> = args
        .format
        .iter()
        .map(|f| f.parse::<Format>())
        .collect::<Result<_, _>>()?;
    let as_of = parse_now(args.now.as_deref())?;
    let mut plan = Plan::load(&args.config, as_of)?;
    plan.config.verify |= args.verify;
    if let (Some(slice), Some(run)) = (args.shard, &args.run) {
        // A shard delivers nothing: its sinks are the merge's to build.
        let state = plan.state(args.state.as_ref());
        return crate::shard_cmd::run_shard(&plan, slice, run, state.as_ref(), args.quiet);
    }
    // Sinks are built (their credentials read) before anything runs, so a sink that cannot be
    // built never leaves a run recorded whose events were not sent.
    let sinks = plan.config.build_sinks()?;
    let state = plan.state(args.state.as_ref());
    if args.fail_on_new && state.is_none() {
        bail!("--fail-on-new needs a state file (--state FILE or [sweep] state)");
    }
    if !sinks.is_empty() && state.is_none() {
        bail!("[[sinks]] need a state file (--state FILE or [sweep] state) so that only changes are sent");
    }
    let mut run = match (args.merge, &args.run) {
        (Some(count), Some(name)) => {
            let timeout = std::time::Duration::from_secs(args.merge_timeout);
            crate::shard_cmd::merge(&plan, count, name, timeout, state.as_ref(), args.quiet)?
        }
        _ => sweep_with_bars(&plan, args.quiet, state.as_ref())?,
    };
    if let Some(path) = &state {
        run.record(&plan, path, as_of)?;
        if !sinks.is_empty() {
            run.deliver_blocking(path, &sinks)?;
        }
    }
    let written = write_sweep_files(&plan, &run, &args.out, &formats, &args.config)?;
    if !args.quiet {
        eprint!("{}", run.summary_text(&written));
    }
    Ok(exit::of(run.verdict(args.fail_on, args.fail_on_new)))
}

/// `findings.<format>` for each format, from the run.
pub fn write_sweep_files(
    plan: &Plan,
    run: &SweepRun,
    out: &Path,
    formats: &[Format],
    config: &Path,
) -> Result<Vec<PathBuf>> {
    let info = RunInfo {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        stats: serde_json::to_value(run.stats())?,
        rules: Vec::new(),
    };
    let title = format!("trustmap partner report — {}", config.display());
    let view = || run.report_view(plan, &title);
    Ok(write_files(out, formats, &run.findings, &info, &view)?)
}

pub fn run_graph(args: GraphArgs) -> Result<u8> {
    let format: ExportFormat = args.format.parse().map_err(anyhow::Error::msg)?;
    let plan = Plan::load(&args.config, parse_now(args.now.as_deref())?)?;
    let run = sweep_with_bars(&plan, true, None)?;
    out!("{}", export(&run.graph, format));
    for c in run.failures() {
        if let Some((k, m)) = &c.error {
            let line = format!("trustmap: connector {} failed [{k}]: {m}", c.name);
            eprintln!("{}", trustmap_model::text::for_terminal(&line));
        }
    }
    Ok(exit::of(run.verdict(None, false)))
}

pub fn run_partners_check(file: PathBuf, now: Option<String>) -> Result<u8> {
    let registry = load_registry(&file)?;
    let today = parse_now(now.as_deref())?.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let gaps = registry.gaps(today);
    for g in &gaps {
        out!("{}:{g}", file.display());
    }
    eprintln!(
        "{} partners, {} owners, {} governance gaps",
        registry.partners.len(),
        registry.owners.len(),
        gaps.len()
    );
    Ok(if gaps.is_empty() {
        exit::OK
    } else {
        exit::FINDINGS
    })
}

#[derive(Debug, clap::Subcommand)]
pub enum StateCommand {
    /// List remembered findings (optionally one status: open, resolved, suppressed).
    Show {
        #[arg(long)]
        status: Option<FindingStatus>,
    },
    /// The most recent runs and their counts.
    History {
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Accept a finding: it stays out of --fail-on until unsuppressed.
    Suppress {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// Undo a suppression.
    Unsuppress { id: String },
}

pub fn run_state(state: StateLocation, cmd: StateCommand) -> Result<u8> {
    if !state.exists() {
        bail!("{state}: no state file (a sweep with --state creates it)");
    }
    let mut store = state.open(std::time::Duration::from_secs(30))?;
    match cmd {
        StateCommand::Show { status } => {
            for f in store.findings(status)? {
                out!("{}", trustmap_model::text::for_terminal(&f.to_string()));
            }
        }
        StateCommand::History { limit } => {
            for r in store.history(limit)? {
                out!("{r}");
            }
        }
        StateCommand::Suppress { id, reason } => {
            store.suppress(&id, &reason)?;
            eprintln!("{id} suppressed");
        }
        StateCommand::Unsuppress { id } => {
            store.unsuppress(&id)?;
            eprintln!("{id} no longer suppressed");
        }
    }
    Ok(exit::OK)
}
