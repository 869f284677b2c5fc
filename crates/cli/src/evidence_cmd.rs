//! `trustmap evidence PARTNER`: a partner's audit pack from the state file.
use anyhow::{bail, Result};
use clap::Args;
use std::path::PathBuf;
use trustmap_sweep::Plan;

use crate::exit;
use crate::sweep_cmd::parse_now;

#[derive(Debug, Args)]
pub struct EvidenceArgs {
    /// The partner id in partners.toml.
    pub partner: String,
    /// The sweep configuration (for partners.toml and `[sweep] state`).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// The state the sweeps recorded: a SQLite file or a `postgres://` URL. Overrides
    /// `[sweep] state`.
    #[arg(long, value_name = "FILE|URL", value_parser = crate::sweep_cmd::parse_state)]
    pub state: Option<trustmap_sweep::StateLocation>,
    /// The pack is written to DIR/evidence-PARTNER/.
    #[arg(long, default_value = "trustmap-out", value_name = "DIR")]
    pub out: PathBuf,
    /// Date the pack as of this day (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub now: Option<String>,
}

pub fn run(args: EvidenceArgs) -> Result<u8> {
    let plan = Plan::load(&args.config, parse_now(args.now.as_deref())?)?;
    let Some(state) = plan.state(args.state.as_ref()) else {
        bail!("evidence needs the state file the sweeps recorded (--state FILE or [sweep] state)");
    };
    let pack = trustmap_sweep::evidence(&plan, &state, &args.partner)?;
    let dir = args.out.join(format!("evidence-{}", args.partner));
    let written = trustmap_report::evidence::write_pack(&dir, &pack)?;
    eprintln!(
        "evidence for {}: {} identities, {} findings ({} resolved), {} status changes, {} runs → {}",
        pack.partner.id,
        pack.identities.len(),
        pack.findings.len(),
        pack.findings.iter().filter(|f| f.resolved.is_some()).count(),
        pack.status_changes.len(),
        pack.runs.len(),
        crate::paths(&written)
    );
    Ok(exit::OK)
}
