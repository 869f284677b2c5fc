//! `trustmap sweep`, `trustmap graph` and `trustmap partners check`.
use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::MultiProgress;
use std::path::PathBuf;
use std::sync::Arc;
use trustmap_graph::{export, ExportFormat};
use trustmap_model::{Progress, Severity};
use trustmap_partners::load_registry;
use trustmap_policy::Settings;
use trustmap_report::{write_findings, Format, RunInfo};
use trustmap_sweep::{analyse, collect, load_config, summarise, SweepConfig};

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
    /// SQLite state file: findings across runs (new, open, resolved, reopened, suppressed).
    /// Overrides `[sweep] state`.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Exit 1 when a finding is new or reopened since the last run (needs a state file).
    #[arg(long)]
    pub fail_on_new: bool,
    /// Exit 1 when a finding is at or above this severity (default: never).
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    /// Evaluate dates as of this day (YYYY-MM-DD), for reproducible sweeps.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub now: Option<String>,
    /// No progress bars and no summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
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

fn settings(config: &SweepConfig, now: Option<&str>) -> Result<Settings> {
    let (today, stamp) = match now {
        Some(day) => {
            let d = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .with_context(|| format!("--now {day:?}: expected YYYY-MM-DD"))?;
            (d, format!("{day}T00:00:00Z"))
        }
        None => {
            let n = chrono::Utc::now();
            (
                n.date_naive(),
                n.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            )
        }
    };
    Ok(Settings {
        today,
        dormant_after_days: config.dormant_after_days,
        max_credential_age_days: config.max_credential_age_days,
        now: stamp,
    })
}

/// What one sweep produced, with what is needed to render it.
pub struct Swept {
    pub outcome: trustmap_sweep::SweepOutcome,
    pub config: SweepConfig,
    pub registry: trustmap_partners::Registry,
    pub today: chrono::NaiveDate,
}

/// Load config and registry, run the connectors, analyse. Shared by sweep, graph and demo.
pub fn sweep_once(config_file: &std::path::Path, now: Option<&str>, quiet: bool) -> Result<Swept> {
    let config = load_config(config_file)?;
    let registry = load_registry(&config.partners_file)?;
    let settings = settings(&config, now)?;
    let engine = Arc::new(trustmap_rules::Engine::builtin()?);
    let multi = MultiProgress::new();
    let progress_for =
        |name: &str| -> Arc<dyn Progress> { Arc::new(BarProgress::connector(&multi, name, quiet)) };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // Ctrl-C asks connectors to stop; what they found so far is still reported (exit 3).
    let cancelled = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = cancelled.clone();
    runtime.spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            flag.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    });
    let (observations, connectors) =
        runtime.block_on(collect(&config, engine, cancelled, &progress_for));
    let _ = multi.clear();
    let (graph, findings) = analyse(observations, &registry, &settings);
    Ok(Swept {
        outcome: trustmap_sweep::SweepOutcome {
            graph,
            findings,
            connectors,
        },
        config,
        registry,
        today: settings.today,
    })
}

pub fn run_sweep(args: SweepArgs) -> Result<u8> {
    let formats: Vec<Format> = args
        .format
        .iter()
        .map(|f| Ok(f.parse::<Format>()?))
        .collect::<Result<_>>()?;
    let started = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let Swept {
        mut outcome,
        config,
        registry,
        today,
    } = sweep_once(&args.config, args.now.as_deref(), args.quiet)?;
    let state_file = args.state.clone().or_else(|| config.state_file.clone());
    if args.fail_on_new && state_file.is_none() {
        bail!("--fail-on-new needs a state file (--state FILE or [sweep] state)");
    }
    if !config.sinks.is_empty() && state_file.is_none() {
        bail!("[[sinks]] need a state file (--state FILE or [sweep] state) so that only changes are sent");
    }
    let diff = match &state_file {
        Some(path) => Some(record_state(
            path,
            &started,
            args.now.as_deref(),
            &mut outcome,
        )?),
        None => None,
    };
    let deliveries = match &diff {
        Some(d) if !config.sinks.is_empty() => {
            let state = state_file.as_deref().unwrap_or(std::path::Path::new(""));
            deliver(&config, state, d, &outcome.findings)?
        }
        _ => Vec::new(),
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let summary = summarise(&outcome.findings);
    let (by_sev, by_kind, partners) = (&summary.by_severity, &summary.by_kind, &summary.partners);
    let info = RunInfo {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        stats: serde_json::json!({
            "findings": outcome.findings.len(),
            "by_severity": by_sev,
            "by_kind": by_kind,
            "nodes": outcome.graph.nodes.len(),
            "edges": outcome.graph.edges.len(),
            "connectors": outcome.connectors.iter().map(|c| serde_json::json!({
                "name": c.name, "type": c.kind, "observations": c.observations,
                "error": c.error.as_ref().map(|(k, m)| serde_json::json!({"kind": k, "message": m})),
                "coverage_gaps": c.gaps,
                "seconds": (c.seconds * 1000.0).round() / 1000.0,
            })).collect::<Vec<_>>(),
        }),
        rules: Vec::new(),
    };
    for format in &formats {
        let path = args.out.join(format!("findings.{}", format.extension()));
        // Write to a temporary name and rename, so a reader never sees half a file.
        let tmp = path.with_extension(format!("{}.tmp", format.extension()));
        let file = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        let mut w = std::io::BufWriter::new(file);
        if *format == Format::Html {
            let view = trustmap_sweep::report_view(
                &outcome.graph,
                &registry,
                &outcome.connectors,
                today,
                &format!("trustmap partner report — {}", args.config.display()),
            );
            trustmap_report::html::write_html(&view, &outcome.findings, &mut w)?;
            use std::io::Write as _;
            w.flush()?;
        } else {
            write_findings(*format, &outcome.findings, &info, &mut w)?;
        }
        drop(w);
        std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if !args.quiet {
        eprintln!(
            "swept {} connectors: {} nodes, {} edges",
            outcome.connectors.len(),
            outcome.graph.nodes.len(),
            outcome.graph.edges.len()
        );
        for c in &outcome.connectors {
            match &c.error {
                None => eprintln!(
                    "  {} ({}): {} observations in {:.2}s",
                    c.name, c.kind, c.observations, c.seconds
                ),
                Some((k, m)) => eprintln!(
                    "  {} ({}): FAILED [{k}] {m} ({} observations kept)",
                    c.name, c.kind, c.observations
                ),
            }
            for g in c.gaps.iter().take(5) {
                eprintln!("    gap: {g}");
            }
            if c.gaps.len() > 5 {
                eprintln!("    ... {} more gaps in findings.json", c.gaps.len() - 5);
            }
        }
        let sev: Vec<String> = Severity::ALL
            .iter()
            .filter_map(|s| by_sev.get(s.as_str()).map(|n| format!("{n} {s}")))
            .collect();
        eprintln!(
            "{} findings: {}",
            outcome.findings.len(),
            if sev.is_empty() {
                "none".into()
            } else {
                sev.join(", ")
            }
        );
        for (k, n) in by_kind {
            eprintln!("  {k}: {n}");
        }
        if !partners.is_empty() {
            eprintln!("top partners by risk:");
            for (p, n, score) in partners.iter().take(5) {
                eprintln!("  {p}: {n} findings (risk score {score})");
            }
        }
        for (sink, d) in &deliveries {
            let failed = if d.dead_lettered > 0 {
                format!(
                    ", {} could not be delivered (see the dead-letter file)",
                    d.dead_lettered
                )
            } else {
                String::new()
            };
            eprintln!("sink {sink}: sent {} events{failed}", d.sent);
        }
        eprintln!(
            "wrote {}",
            formats
                .iter()
                .map(|f| args
                    .out
                    .join(format!("findings.{}", f.extension()))
                    .display()
                    .to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if let (Some(d), false) = (&diff, args.quiet) {
        eprintln!(
            "since the last run: {} new, {} still open, {} reopened, {} resolved, {} suppressed",
            d.new.len(),
            d.still_open.len(),
            d.reopened.len(),
            d.resolved.len(),
            d.suppressed.len()
        );
    }
    if outcome.failures().next().is_some() {
        return Ok(exit::CONNECTOR_FAILED);
    }
    // Accepted (suppressed) findings never fail a run.
    let live = || {
        outcome
            .findings
            .iter()
            .filter(|f| f.status != trustmap_model::FindingStatus::Suppressed)
    };
    let failing = args
        .fail_on
        .is_some_and(|min| live().any(|f| f.severity >= min));
    let new_ones = args.fail_on_new
        && diff
            .as_ref()
            .is_some_and(|d| !d.new.is_empty() || !d.reopened.is_empty());
    Ok(if failing || new_ones {
        exit::FINDINGS
    } else {
        exit::OK
    })
}

/// Send what changed to every sink: new findings as `opened`, reopened ones as `reopened`,
/// resolved ones as `resolved` (with the ticket they were opened as). Nothing changed, nothing
/// sent. Tickets opened are remembered in the state file.
fn deliver(
    config: &SweepConfig,
    state: &std::path::Path,
    diff: &trustmap_store::Diff,
    findings: &[trustmap_model::Finding],
) -> Result<Vec<(String, trustmap_sinks::Delivery)>> {
    use trustmap_sinks::{Event, EventKind};
    use trustmap_store::{SqliteStore, StateStore};
    let by_id: std::collections::HashMap<&str, &trustmap_model::Finding> =
        findings.iter().map(|f| (f.id.as_str(), f)).collect();
    let mut store = SqliteStore::open(state, std::time::Duration::from_secs(30))?;
    let tickets: std::collections::HashMap<String, String> = store
        .findings(Some("resolved"))?
        .into_iter()
        .filter_map(|f| f.ticket.map(|t| (f.id, t)))
        .collect();
    let mut events = Vec::new();
    for (ids, kind) in [
        (&diff.new, EventKind::Opened),
        (&diff.reopened, EventKind::Reopened),
    ] {
        for id in ids {
            if let Some(f) = by_id.get(id.as_str()) {
                events.push(Event {
                    event: kind,
                    finding: (*f).clone(),
                    ticket: None,
                });
            }
        }
    }
    events.extend(diff.resolved.iter().map(|f| Event {
        event: EventKind::Resolved,
        finding: f.clone(),
        ticket: tickets.get(&f.id).cloned(),
    }));
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut out = Vec::new();
    for sink in &config.sinks {
        let d = runtime.block_on(sink.deliver(&events))?;
        for (id, ticket) in &d.tickets {
            store.set_ticket(id, ticket)?;
        }
        out.push((sink.name().to_string(), d));
    }
    Ok(out)
}

/// Classify this run's findings against the state file and record the run, in one transaction.
fn record_state(
    path: &std::path::Path,
    started: &str,
    now: Option<&str>,
    outcome: &mut trustmap_sweep::SweepOutcome,
) -> Result<trustmap_store::Diff> {
    use trustmap_store::{RunInput, SqliteStore, StateStore};
    let mut store = SqliteStore::open(path, std::time::Duration::from_secs(30))?;
    let connectors: Vec<(String, bool)> = outcome
        .connectors
        .iter()
        .map(|c| (c.name.clone(), c.complete()))
        .collect();
    let gaps: Vec<String> = outcome
        .connectors
        .iter()
        .flat_map(|c| {
            let failed = c
                .error
                .as_ref()
                .map(|(k, m)| format!("{} [{k}]: {m}", c.name));
            failed
                .into_iter()
                .chain(c.gaps.iter().map(|g| format!("{} [gap]: {g}", c.name)))
        })
        .collect();
    // With --now the run is dated as of that day, so reproducible sweeps diff reproducibly.
    let stamp = now.map_or_else(|| started.to_string(), |d| format!("{d}T00:00:00Z"));
    let ended = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let run = RunInput {
        started: &stamp,
        ended: &ended,
        connectors: &connectors,
        gaps: &gaps,
    };
    Ok(store.apply_run(&run, &mut outcome.findings)?)
}

pub fn run_graph(args: GraphArgs) -> Result<u8> {
    let format: ExportFormat = args.format.parse().map_err(anyhow::Error::msg)?;
    let outcome = sweep_once(&args.config, args.now.as_deref(), true)?.outcome;
    out!("{}", export(&outcome.graph, format));
    for c in outcome.failures() {
        if let Some((k, m)) = &c.error {
            eprintln!("trustmap: connector {} failed [{k}]: {m}", c.name);
        }
    }
    Ok(if outcome.failures().next().is_some() {
        exit::CONNECTOR_FAILED
    } else {
        exit::OK
    })
}

pub fn run_partners_check(file: PathBuf, now: Option<String>) -> Result<u8> {
    let registry = load_registry(&file)?;
    let today = match now {
        Some(d) => chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
            .with_context(|| format!("--now {d:?}: expected YYYY-MM-DD"))?,
        None => chrono::Utc::now().date_naive(),
    };
    let gaps = registry.gaps(today);
    for g in &gaps {
        out!(
            "{}:{}: {}: {}",
            file.display(),
            g.line,
            g.partner,
            g.problem
        );
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
        status: Option<String>,
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

pub fn run_state(state: PathBuf, cmd: StateCommand) -> Result<u8> {
    use trustmap_store::{SqliteStore, StateStore};
    if !state.exists() {
        bail!(
            "{}: no state file (a sweep with --state creates it)",
            state.display()
        );
    }
    let mut store = SqliteStore::open(&state, std::time::Duration::from_secs(30))?;
    match cmd {
        StateCommand::Show { status } => {
            for f in store.findings(status.as_deref())? {
                out!(
                    "{}  {:<10} {:<8} {:<24} first {}  last {}  {}{}",
                    f.id,
                    f.status,
                    f.severity,
                    f.kind,
                    f.first_seen,
                    f.last_seen,
                    f.title,
                    f.reason
                        .map(|r| format!("  (suppressed: {r})"))
                        .unwrap_or_default()
                );
            }
        }
        StateCommand::History { limit } => {
            for r in store.history(limit)? {
                out!(
                    "run {:>4}  {} .. {}  new {}  open {}  reopened {}  resolved {}  connectors {}",
                    r.id,
                    r.started,
                    r.ended,
                    r.new,
                    r.open,
                    r.reopened,
                    r.resolved,
                    r.connectors
                );
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
