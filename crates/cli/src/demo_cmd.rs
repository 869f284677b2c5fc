//! `trustmap demo`, `trustmap exit-plan` and `trustmap github export`.
use anyhow::{bail, Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};
use trustmap_report::exit_plan::{ExitPlan, PlanFormat, Verdict};
use trustmap_report::Format;
use trustmap_sweep::{Plan, SweepRun};

use crate::exit;
use crate::sweep_cmd::{parse_now, sweep_with_bars, write_sweep_files};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to create the demo estate and its reports (an earlier demo there is replaced).
    #[arg(long, default_value = "trustmap-demo", value_name = "DIR")]
    pub dir: PathBuf,
    /// No progress bars.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// The demo sweeps once: the report files and the exit plan are views of the same run.
pub fn run_demo(args: DemoArgs) -> Result<u8> {
    let today = chrono::Utc::now().date_naive();
    let config = trustmap_demo::build(&args.dir, today)
        .with_context(|| format!("cannot create the demo estate in {}", args.dir.display()))?;
    eprintln!("demo estate written to {}", args.dir.display());
    let out = args.dir.join("out");
    let plan = Plan::load(&config, None)?;
    let run = sweep_with_bars(&plan, args.quiet, None)?;
    let written = write_sweep_files(&plan, &run, &out, &Format::ALL, &config)?;
    if !args.quiet {
        eprint!("{}", run.summary_text(&written));
    }
    let code = exit::of(run.verdict(None, false));
    let plan_code = write_exit_plan(
        &plan,
        &run,
        "oldco",
        &out,
        &[PlanFormat::Md, PlanFormat::Html, PlanFormat::Sh],
        false,
    )?;
    eprintln!();
    eprintln!("HTML report:  {}", out.join("findings.html").display());
    eprintln!(
        "Exit plan:    {}",
        out.join("exit-plan-oldco.html").display()
    );
    eprintln!(
        "Next:         trustmap exit-plan acme --config {}",
        config.display()
    );
    Ok(code.max(plan_code))
}

#[derive(Debug, Args)]
pub struct ExitPlanArgs {
    /// The partner id in partners.toml.
    pub partner: String,
    /// The sweep configuration.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Directory for exit-plan-PARTNER.md and .html.
    #[arg(long, default_value = "trustmap-out", value_name = "DIR")]
    pub out: PathBuf,
    /// Evaluate dates as of this day (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub now: Option<String>,
    /// Files to write: md, html, sh (the revocation commands as a script, every line
    /// commented out).
    #[arg(long, default_value = "md,html", value_delimiter = ',', value_parser = parse_plan_format)]
    pub format: Vec<PlanFormat>,
    /// After revocation: mark each item gone or still present (what the state file remembers
    /// of the partner against a new sweep); exit 1 while anything remains.
    #[arg(long)]
    pub verify: bool,
    /// With --verify: compare with the latest run in the state file instead of sweeping.
    #[arg(long, requires = "verify")]
    pub from_state: bool,
    /// The state store (read, never written here): a SQLite file or a `postgres://` URL.
    /// Overrides `[sweep] state`.
    #[arg(long, value_name = "FILE|URL", value_parser = crate::sweep_cmd::parse_state)]
    pub state: Option<trustmap_sweep::StateLocation>,
}

fn parse_plan_format(name: &str) -> Result<PlanFormat, String> {
    let mut one = PlanFormat::parse_list(name)?;
    one.pop().ok_or_else(|| "an empty format".to_string())
}

/// `trustmap exit-plan`: sweep, then write the partner's plan and print its Markdown; with
/// `--verify`, mark what is gone.
pub fn run_exit_plan(args: ExitPlanArgs) -> Result<u8> {
    let plan = Plan::load(&args.config, parse_now(args.now.as_deref())?)?;
    if !args.verify {
        let run = sweep_with_bars(&plan, true, None)?;
        return write_exit_plan(&plan, &run, &args.partner, &args.out, &args.format, true);
    }
    let state = plan.state(args.state.as_ref());
    if args.from_state {
        let Some(state) = state else {
            bail!("--from-state needs a state file (--state FILE or [sweep] state)");
        };
        let exit_plan = trustmap_sweep::exit_plan_from_state(&plan, &state, &args.partner)?;
        return finish_verified(&exit_plan, &args, &[]);
    }
    if state.is_none() {
        eprintln!("trustmap: no state file: only what this sweep still finds can be listed, nothing can be shown gone");
    }
    let run = sweep_with_bars(&plan, true, state.as_ref())?;
    let exit_plan = run.verified_exit_plan(&plan, &args.partner)?;
    let failed: Vec<String> = run.failures().map(|c| c.name.clone()).collect();
    finish_verified(&exit_plan, &args, &failed)
}

/// Write and print a verified plan; 0 when everything is gone, 1 while anything remains or
/// cannot be shown gone, 3 when a connector failed.
fn finish_verified(exit_plan: &ExitPlan, args: &ExitPlanArgs, failed: &[String]) -> Result<u8> {
    let written = trustmap_report::exit_plan::write_files(&args.out, exit_plan, &args.format)?;
    out!("{}", trustmap_report::exit_plan::to_markdown(exit_plan));
    let gone = exit_plan.count(Verdict::Gone);
    let left = exit_plan.steps().count() - gone;
    eprintln!(
        "exit plan for {} verified: {} → {}",
        exit_plan.partner_id,
        exit_plan.verdict_summary().unwrap_or_default(),
        crate::paths(&written)
    );
    if !failed.is_empty() {
        eprintln!(
            "trustmap: connectors failed ({}): what they saw cannot be shown gone",
            failed.join(", ")
        );
        return Ok(exit::CONNECTOR_FAILED);
    }
    Ok(if left == 0 { exit::OK } else { exit::FINDINGS })
}

/// Write a partner's exit plan in `formats` from a run; print the Markdown when `print`.
pub fn write_exit_plan(
    plan: &Plan,
    run: &SweepRun,
    partner: &str,
    out: &Path,
    formats: &[PlanFormat],
    print: bool,
) -> Result<u8> {
    let exit_plan = run.exit_plan(plan, partner)?;
    let written = trustmap_report::exit_plan::write_files(out, &exit_plan, formats)?;
    if print {
        out!("{}", trustmap_report::exit_plan::to_markdown(&exit_plan));
    }
    let failed: Vec<_> = run.failures().map(|c| c.name.clone()).collect();
    if !failed.is_empty() {
        eprintln!(
            "trustmap: connectors failed ({}): the plan may miss what they would have found",
            failed.join(", ")
        );
        return Ok(exit::CONNECTOR_FAILED);
    }
    eprintln!(
        "exit plan for {}: {} steps in {} systems → {}",
        exit_plan.partner_id,
        exit_plan.steps().count(),
        exit_plan.systems.len(),
        crate::paths(&written)
    );
    Ok(exit::OK)
}

#[cfg(feature = "github")]
#[derive(Debug, clap::Subcommand)]
pub enum GithubCommand {
    /// Enumerate an organisation and print what the github connector saw, as JSON (the
    /// connector's `snapshot_file` format) for air-gapped reviews.
    Export {
        #[arg(long)]
        org: String,
        #[arg(long, default_value = "https://api.github.com")]
        api_url: String,
        /// Environment variable holding the token.
        #[arg(long, default_value = "GITHUB_TOKEN")]
        token_env: String,
        /// Member logins that are machine users (globs), repeatable.
        #[arg(long = "machine-user")]
        machine_users: Vec<String>,
    },
}

#[cfg(feature = "github")]
pub fn run_github(cmd: GithubCommand) -> Result<u8> {
    let GithubCommand::Export {
        org,
        api_url,
        token_env,
        machine_users,
    } = cmd;
    let request = trustmap_connector_github::ExportRequest {
        org,
        api_url,
        token_env,
        machine_users,
    };
    let inv = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(trustmap_connector_github::export_org(
            request,
            &std::env::current_dir()?,
        ))
        .map_err(|e| {
            anyhow::anyhow!("github export failed [{}]: {}", e.kind.as_str(), e.message)
        })?;
    for g in &inv.gaps {
        eprintln!("gap: {g}");
    }
    out!("{}", serde_json::to_string_pretty(&inv)?);
    Ok(exit::OK)
}
