//! Writes the sweep test estate into a directory (for trying `trustmap sweep` by hand).
use anyhow::{Context, Result};

fn main() -> Result<()> {
    let dir = std::env::args()
        .nth(1)
        .context("usage: trustmap-estate DIR")?;
    let sweep = trustmap_testkit::estate::build(std::path::Path::new(&dir))?;
    println!("{}", sweep.display());
    Ok(())
}
