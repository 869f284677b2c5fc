//! The `trustmap` binary: parses the command line (docs/architecture.md, "Contracts"), calls the library crates and
//! maps outcomes to exit codes (0 ok, 1 findings at or above `--fail-on`, 2 usage or
//! configuration error, 3 a connector failed). Orchestration lives in the libraries.

/// `println!` that returns an error instead of panicking when stdout is closed
/// (`trustmap state show | head`); `main` treats a broken pipe as a normal end.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?;
    }};
}

mod demo_cmd;
#[cfg(feature = "entra")]
mod entra_cmd;
mod evidence_cmd;
mod progress;
mod rules_cmd;
mod scan_cmd;
mod shard_cmd;
mod sweep_cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Finds the non-human identities and secrets that give outsiders access, and who owns them.
#[derive(Debug, Parser)]
#[command(name = "trustmap", version, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Secret scan of files and directories, and with --git of their whole history.
    Scan(scan_cmd::ScanArgs),
    /// Detection rules: check them against their examples, or list them.
    #[command(subcommand)]
    Rules(rules_cmd::RulesCommand),
    /// Run the configured connectors, attribute everything to partners, flag what to act on.
    Sweep(sweep_cmd::SweepArgs),
    /// Export the identity graph (json, dot, graphml, cypher) to stdout.
    Graph(sweep_cmd::GraphArgs),
    /// The partner registry.
    #[command(subcommand)]
    Partners(PartnersCommand),
    /// Everything a partner and its subcontractors can still use, as a revocation checklist
    /// (Markdown, HTML, a commented shell script); --verify marks what is gone.
    ExitPlan(demo_cmd::ExitPlanArgs),
    /// A partner's audit pack from the state file: registry entry, identities with first and
    /// last seen, findings opened and resolved, status changes, runs (HTML, JSON, SHA256SUMS).
    Evidence(evidence_cmd::EvidenceArgs),
    /// A complete sweep over a bundled offline demo estate; writes an HTML report.
    Demo(demo_cmd::DemoArgs),
    /// GitHub helpers: export an organisation's inventory for offline sweeps.
    #[cfg(feature = "github")]
    #[command(subcommand)]
    Github(demo_cmd::GithubCommand),
    /// Entra ID helpers: export a tenant for offline sweeps.
    #[cfg(feature = "entra")]
    #[command(subcommand)]
    Entra(entra_cmd::EntraCommand),
    /// The state store: remembered findings, run history, suppressions.
    State {
        /// The SQLite state file, or a `postgres://` URL.
        #[arg(long, default_value = "trustmap-state.db", global = true, value_name = "FILE|URL", value_parser = sweep_cmd::parse_state)]
        state: trustmap_sweep::StateLocation,
        #[command(subcommand)]
        command: sweep_cmd::StateCommand,
    },
}

#[derive(Debug, Subcommand)]
enum PartnersCommand {
    /// Validate partners.toml and list governance gaps (exit 1 when there are any).
    Check {
        file: std::path::PathBuf,
        /// Evaluate dates as of this day (YYYY-MM-DD).
        #[arg(long)]
        now: Option<String>,
    },
}

/// Written files, as the closing line of a command lists them.
pub fn paths(written: &[std::path::PathBuf]) -> String {
    written
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Exit codes of the command-line contract.
pub mod exit {
    pub const OK: u8 = 0;
    pub const FINDINGS: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const CONNECTOR_FAILED: u8 = 3;

    /// The exit code of a sweep's verdict.
    pub fn of(v: trustmap_sweep::Verdict) -> u8 {
        match v {
            trustmap_sweep::Verdict::Ok => OK,
            trustmap_sweep::Verdict::Findings => FINDINGS,
            trustmap_sweep::Verdict::ConnectorFailed => CONNECTOR_FAILED,
        }
    }
}

/// `RUST_LOG` set: logs (ours and the SDKs') to stderr, without colour when not a terminal.
fn init_logging() {
    if !trustmap_model::env::is_set(trustmap_model::env::RUST_LOG) {
        return;
    }
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .try_init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Scan(args) => scan_cmd::run(args),
        Command::Rules(cmd) => rules_cmd::run(cmd),
        Command::Sweep(args) => sweep_cmd::run_sweep(args),
        Command::Graph(args) => sweep_cmd::run_graph(args),
        Command::Partners(PartnersCommand::Check { file, now }) => {
            sweep_cmd::run_partners_check(file, now)
        }
        Command::State { state, command } => sweep_cmd::run_state(state, command),
        Command::ExitPlan(args) => demo_cmd::run_exit_plan(args),
        Command::Evidence(args) => evidence_cmd::run(args),
        Command::Demo(args) => demo_cmd::run_demo(args),
        #[cfg(feature = "github")]
        Command::Github(cmd) => demo_cmd::run_github(cmd),
        #[cfg(feature = "entra")]
        Command::Entra(cmd) => entra_cmd::run(cmd),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            // A closed pipe (`trustmap scan | head`) is the reader's choice, not an error.
            let broken_pipe = err.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            });
            if broken_pipe {
                return ExitCode::from(exit::OK);
            }
            // Errors quote file contents and API answers: nothing in them may drive the terminal.
            let safe = trustmap_model::text::for_terminal;
            let mut shown = err.to_string();
            eprintln!("trustmap: error: {}", safe(&shown));
            for cause in err.chain().skip(1) {
                let text = cause.to_string();
                if !shown.contains(&text) {
                    eprintln!("  caused by: {}", safe(&text));
                }
                shown = text;
            }
            ExitCode::from(exit::USAGE)
        }
    }
}
