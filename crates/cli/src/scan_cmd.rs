//! `trustmap scan`: argument parsing, rendering and exit codes around `trustmap_scan`.
use anyhow::{bail, Context, Result};
use clap::Args;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;
use trustmap_model::Severity;
use trustmap_report::{write_findings, Format, RuleInfo, RunInfo};
use trustmap_scan::{apply_baseline, load_baseline, run_scan, ScanOutcome, ScanRequest};

use crate::exit;
use crate::progress::BarProgress;
use crate::rules_cmd::load_engine;

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files and directories to scan (default: the current directory).
    pub paths: Vec<PathBuf>,
    /// Also scan every blob in the history of the git repositories among PATHS.
    #[arg(long)]
    pub git: bool,
    /// Scan only the lines staged for the next commit (for pre-commit hooks).
    #[arg(long, conflicts_with = "git")]
    pub staged: bool,
    /// Use the rule files in DIR instead of the built-in rules.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Report only findings whose id is not in FILE (a previous jsonl, json or sarif output).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Output format.
    #[arg(long, default_value = "jsonl", value_parser = ["jsonl", "json", "sarif"])]
    pub format: String,
    /// Write findings to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print secrets in full (they are redacted by default).
    #[arg(long)]
    pub show_secrets: bool,
    /// Exit 1 when a finding is at or above this severity; `none` never fails.
    #[arg(long, default_value = "low", value_name = "SEVERITY")]
    pub fail_on: String,
    /// Skip files and blobs larger than this many MiB (counted in the summary).
    #[arg(long, default_value_t = 64, value_name = "MIB")]
    pub max_file_size: u64,
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// No progress bar and no summary on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

fn parse_fail_on(s: &str) -> Result<Option<Severity>> {
    if s.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    Ok(Some(s.parse::<Severity>().context("--fail-on")?))
}

pub fn run(args: ScanArgs) -> Result<u8> {
    let started = Instant::now();
    let fail_on = parse_fail_on(&args.fail_on)?;
    let format: Format = args.format.parse()?;
    let engine = load_engine(args.rules.as_ref())?;
    let baseline = match &args.baseline {
        Some(p) => Some(load_baseline(p)?),
        None => None,
    };
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    if args.max_file_size == 0 {
        bail!("--max-file-size must be at least 1 MiB");
    }
    let request = ScanRequest {
        paths,
        git: args.git,
        staged: args.staged,
        max_file_size: Some(args.max_file_size.saturating_mul(1024 * 1024)),
        threads: args.threads,
        show_secrets: args.show_secrets,
        now: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    let progress = BarProgress::bytes(args.quiet);
    let result = run_scan(&engine, &request, &progress);
    progress.finish();
    let mut outcome = result?;
    if let Some(known) = &baseline {
        apply_baseline(&mut outcome, known);
    }
    let elapsed = started.elapsed();

    let info = RunInfo {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        stats: stats_json(&outcome, elapsed.as_secs_f64()),
        rules: engine
            .rules()
            .iter()
            .map(|r| RuleInfo {
                id: r.id.clone(),
                name: r.name.clone(),
                help: r.remediation.clone().unwrap_or_else(|| {
                    "Revoke or rotate the secret, then remove it from files and history.".into()
                }),
                severity: r.severity,
            })
            .collect(),
    };
    match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut w = std::io::BufWriter::new(file);
            write_findings(format, &outcome.findings, &info, &mut w)?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut w = stdout.lock();
            write_findings(format, &outcome.findings, &info, &mut w)?;
            w.flush()?;
        }
    }
    if !args.quiet {
        print_summary(&outcome, elapsed.as_secs_f64());
    }
    for f in &outcome.failures {
        eprintln!(
            "trustmap: {} connector failed on {}: {}",
            f.connector, f.target, f.message
        );
    }
    if !outcome.failures.is_empty() {
        return Ok(exit::CONNECTOR_FAILED);
    }
    let failing = fail_on.is_some_and(|min| outcome.findings.iter().any(|f| f.severity >= min));
    Ok(if failing { exit::FINDINGS } else { exit::OK })
}

fn by_severity(outcome: &ScanOutcome) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for f in &outcome.findings {
        *counts.entry(f.severity.as_str()).or_insert(0) += 1;
    }
    counts
}

fn stats_json(outcome: &ScanOutcome, seconds: f64) -> serde_json::Value {
    let s = &outcome.stats;
    serde_json::json!({
        "findings": outcome.findings.len(),
        "by_severity": by_severity(outcome),
        "baselined": outcome.baselined,
        "files_scanned": s.files_scanned,
        "blobs_scanned": s.blobs_scanned,
        "bytes_scanned": s.bytes_scanned,
        "skipped_binary": s.skipped_binary,
        "skipped_oversized": s.skipped_oversized,
        "skipped_unreadable": s.skipped_unreadable,
        "skipped_ignored": s.skipped_ignored,
        "coverage_gaps": s.gaps,
        "connector_failures": outcome.failures.iter().map(|f| serde_json::json!({
            "connector": f.connector, "target": f.target, "message": f.message
        })).collect::<Vec<_>>(),
        "seconds": (seconds * 1000.0).round() / 1000.0,
    })
}

fn print_summary(outcome: &ScanOutcome, seconds: f64) {
    let s = &outcome.stats;
    let mb = s.bytes_scanned as f64 / 1e6;
    let rate = if seconds > 0.0 { mb / seconds } else { 0.0 };
    eprintln!(
        "scanned {} files and {} git blobs, {mb:.1} MB in {seconds:.2}s ({rate:.1} MB/s)",
        s.files_scanned, s.blobs_scanned
    );
    let skipped = s.skipped_binary + s.skipped_oversized + s.skipped_unreadable + s.skipped_ignored;
    if skipped > 0 {
        eprintln!(
            "skipped {skipped}: {} binary, {} oversized, {} unreadable, {} ignored",
            s.skipped_binary, s.skipped_oversized, s.skipped_unreadable, s.skipped_ignored
        );
        for g in s.gaps.iter().take(5) {
            eprintln!("  {g}");
        }
        if s.gaps.len() > 5 {
            eprintln!("  ... {} more in the json stats", s.gaps.len() - 5);
        }
    }
    let counts = by_severity(outcome);
    let parts: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|sev| counts.get(sev.as_str()).map(|n| format!("{n} {sev}")))
        .collect();
    if outcome.findings.is_empty() {
        eprintln!("no findings");
    } else {
        eprintln!("{} findings: {}", outcome.findings.len(), parts.join(", "));
    }
    if outcome.baselined > 0 {
        eprintln!(
            "{} findings already in the baseline were left out",
            outcome.baselined
        );
    }
}
