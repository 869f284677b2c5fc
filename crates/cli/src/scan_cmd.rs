//! `trustmap scan`: argument parsing, rendering and exit codes around `trustmap_scan`.
use anyhow::{bail, Context, Result};
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;
use trustmap_model::Severity;
use trustmap_report::{write_findings, Format, RuleInfo, RunInfo};
use trustmap_scan::{apply_baseline, load_baseline, run_scan, run_scan_verified, ScanRequest};

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
    /// The digest key file (created if missing). Default: $TRUSTMAP_KEY, else
    /// ~/.config/trustmap/digest.key (or under $XDG_CONFIG_HOME). Leak ids, and so baselines, hold under one key: share
    /// it where a baseline is shared.
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
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
    /// Ask each found secret's issuer whether it is live: one read-only request per distinct
    /// secret, sent only to its issuer (AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL and
    /// GITHUB_API_URL are honoured). Evidence gains `verification`; severity follows it.
    #[arg(long)]
    pub verify: bool,
    /// With --verify: send what is for PROVIDER to URL instead (`slack=https://...`);
    /// repeatable.
    #[arg(long, value_name = "PROVIDER=URL", requires = "verify")]
    pub verify_endpoint: Vec<String>,
    /// With --verify: seconds one request may take before its answer is `unknown`.
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub verify_timeout: u64,
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
    install_digest_key(&args)?;
    let baseline = match &args.baseline {
        Some(p) => Some(load_baseline(p)?),
        None => None,
    };
    let request = request(&args)?;
    let verifier = verifier(&args)?;
    let mut outcome = scan(&engine, &request, verifier.as_ref(), args.quiet)?;
    if let Some(known) = &baseline {
        apply_baseline(&mut outcome, known);
    }
    let elapsed = started.elapsed();

    let mut stats = serde_json::to_value(outcome.report(elapsed.as_secs_f64()))?;
    if let (Some(v), Some(map)) = (&verifier, stats.as_object_mut()) {
        map.insert(
            "verification".into(),
            serde_json::to_value(v.verifier.tally())?,
        );
    }
    let info = RunInfo {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        stats,
        rules: rule_infos(&engine),
    };
    write_output(args.output.as_deref(), format, &outcome.findings, &info)?;
    if !args.quiet {
        eprint!("{}", outcome.summary_text(elapsed.as_secs_f64()));
        if let Some(v) = &verifier {
            eprintln!("verified secrets: {}", v.verifier.tally().line());
        }
    }
    for f in &outcome.failures {
        let line = format!(
            "trustmap: {} connector failed on {}: {}",
            f.connector, f.target, f.message
        );
        eprintln!("{}", trustmap_model::text::for_terminal(&line));
    }
    if !outcome.failures.is_empty() {
        return Ok(exit::CONNECTOR_FAILED);
    }
    let failing = fail_on.is_some_and(|min| outcome.findings.iter().any(|f| f.severity >= min));
    Ok(if failing { exit::FINDINGS } else { exit::OK })
}

/// Before anything is scanned: every digest is taken under the user's (or team's) key.
fn install_digest_key(args: &ScanArgs) -> Result<()> {
    let (key, source) = match &args.key_file {
        Some(path) => (
            trustmap_store::key_file(path)?,
            trustmap_sweep::KeySource::KeyFile(path.clone()),
        ),
        None => trustmap_sweep::resolve_key(None, None)?,
    };
    if let trustmap_sweep::KeySource::ThisRunOnly(_) = &source {
        eprintln!("trustmap: digest key for {source}: leak ids will differ from run to run (set TRUSTMAP_KEY or --key-file)");
    }
    trustmap_sweep::install(key, &source)?;
    Ok(())
}

/// Scan with a byte bar, verifying before the matches become findings under `--verify`.
fn scan(
    engine: &trustmap_rules::Engine,
    request: &ScanRequest,
    verifier: Option<&Verifying>,
    quiet: bool,
) -> Result<trustmap_scan::ScanOutcome> {
    let progress = BarProgress::bytes(quiet);
    let result = match verifier {
        Some(v) => run_scan_verified(engine, request, &progress, &mut |ms| {
            progress.finish();
            v.runtime.block_on(v.verifier.verify_all(ms));
            v.bar.finish();
        }),
        None => run_scan(engine, request, &progress),
    };
    progress.finish();
    Ok(result?)
}

/// `--verify`: the verifier, the runtime its requests run on and its progress bar.
struct Verifying {
    runtime: tokio::runtime::Runtime,
    verifier: trustmap_verify::Verifier,
    bar: std::sync::Arc<BarProgress>,
}

fn verifier(args: &ScanArgs) -> Result<Option<Verifying>> {
    if !args.verify {
        return Ok(None);
    }
    let mut options = trustmap_verify::VerifyOptions {
        timeout: std::time::Duration::from_secs(args.verify_timeout.max(1)),
        ..Default::default()
    };
    for e in &args.verify_endpoint {
        let Some((provider, url)) = e.split_once('=') else {
            bail!("--verify-endpoint {e:?}: expected PROVIDER=URL");
        };
        options.endpoints.insert(provider.into(), url.into());
    }
    let bar = std::sync::Arc::new(BarProgress::count(args.quiet, "verify"));
    let verifier = trustmap_verify::Verifier::new(options, bar.clone())
        .map_err(|m| anyhow::anyhow!("--verify-endpoint: {m}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    Ok(Some(Verifying {
        runtime,
        verifier,
        bar,
    }))
}

/// What to scan, from the arguments (default: the current directory).
fn request(args: &ScanArgs) -> Result<ScanRequest> {
    if args.max_file_size == 0 {
        bail!("--max-file-size must be at least 1 MiB");
    }
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    Ok(ScanRequest {
        paths,
        git: args.git,
        staged: args.staged,
        max_file_size: Some(args.max_file_size.saturating_mul(1024 * 1024)),
        threads: args.threads,
        show_secrets: args.show_secrets,
        now: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
}

/// Each rule as SARIF describes it; a rule without remediation of its own gets the one every
/// leak finding carries.
fn rule_infos(engine: &trustmap_rules::Engine) -> Vec<RuleInfo> {
    engine
        .rules()
        .iter()
        .map(|r| RuleInfo {
            id: r.id.clone(),
            name: r.name.clone(),
            help: r
                .remediation
                .clone()
                .unwrap_or_else(|| trustmap_model::DEFAULT_LEAK_REMEDIATION.into()),
            severity: r.severity,
        })
        .collect()
}

/// Findings to `--output FILE`, or to stdout.
fn write_output(
    output: Option<&std::path::Path>,
    format: Format,
    findings: &[trustmap_model::Finding],
    info: &RunInfo,
) -> Result<()> {
    let mut w: Box<dyn Write> = match output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    write_findings(format, findings, info, &mut w)?;
    w.flush()?;
    Ok(())
}
