//! trustmap's benchmarks, one binary each under `src/bin/` (run them with `cargo run
//! --release -p trustmap-bench --bin NAME`). The library holds what the scanner benchmarks
//! share (running a tool under GNU time, finding Kingfisher); measuring helpers that tests use
//! too (peak memory, corpora) live in `trustmap-testkit`.
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Run a command under GNU time; returns (wall seconds, peak RSS MB).
pub fn timed(cmd: &mut Command, label: &str, dir: &Path) -> Result<(f64, f64)> {
    let time_file = dir.join(format!("{label}.time"));
    let program = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
    let mut t = Command::new("/usr/bin/time");
    t.arg("-f")
        .arg("%e %M")
        .arg("-o")
        .arg(&time_file)
        .arg(program)
        .args(args);
    if let Some(cwd) = cmd.get_current_dir() {
        t.current_dir(cwd);
    }
    t.stdout(Stdio::null()).stderr(Stdio::null());
    let status = t
        .status()
        .with_context(|| format!("running {label} under /usr/bin/time"))?;
    let text = std::fs::read_to_string(&time_file).unwrap_or_default();
    let last = text.lines().last().unwrap_or_default();
    let mut it = last.split_whitespace();
    let secs: f64 = it
        .next()
        .and_then(|s| s.parse().ok())
        .context(format!("{label}: no timing ({status})"))?;
    let kb: f64 = it.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
    Ok((secs, kb / 1024.0))
}

pub fn read_jsonl(p: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

pub fn kingfisher_bin() -> PathBuf {
    let out = Command::new("python3")
        .args(["-c", "import kingfisher, os; print(os.path.join(os.path.dirname(kingfisher.__file__), 'bin', 'kingfisher'))"])
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let p = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
            if p.is_file() {
                return p;
            }
            PathBuf::from("kingfisher")
        }
        _ => PathBuf::from("kingfisher"),
    }
}

/// The benchmarks' output folder (made, then absolute), after checking that the release
/// binary to measure exists.
pub fn out_dir(dir: &Path, trustmap: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    if !trustmap.is_file() {
        anyhow::bail!(
            "{} not found: run `cargo build --release` first",
            trustmap.display()
        );
    }
    Ok(dir.canonicalize()?)
}
