//! Writes the test corpus into a directory and its ground truth as JSON on stdout.
use anyhow::{Context, Result};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .context("usage: trustmap-corpus DIR [COPIES] [SEED]")?;
    let copies: usize = args.next().map(|c| c.parse()).transpose()?.unwrap_or(1);
    let seed: u64 = args.next().map(|c| c.parse()).transpose()?.unwrap_or(7);
    let truth = trustmap_testkit::corpus::build(std::path::Path::new(&dir), seed, copies)?;
    println!("{}", serde_json::to_string_pretty(&truth)?);
    Ok(())
}
