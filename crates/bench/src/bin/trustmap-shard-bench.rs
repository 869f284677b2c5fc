//! Sharded sweeps on this machine: an estate of REPOS local git repositories with history (plus
//! an offline AWS export and an inventory) swept unsharded, then as 2 and as 4 concurrent shard
//! processes and a merge, all on one real PostgreSQL server (Debian's). Prints the wall time of
//! each, the merge's, each shard's peak memory (GNU time), the store's write rate
//! (observations/s) and a model of wall time against machines for a 50,000-repository estate.
//!
//! Usage: trustmap-shard-bench [REPOS] --trustmap PATH [--dir DIR]   (REPOS defaults to 1000)
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;
use trustmap_testkit::postgres::Postgres;

const KEY: &str = "be9c4be9c4be9c4be9c4be9c4be9c4be9c4be9c4be9c4be9c4be9c4be9c4be9c";
const DAY: &str = "2026-11-20";

struct Args {
    repos: usize,
    trustmap: PathBuf,
    dir: PathBuf,
}

fn args() -> Result<Args> {
    let mut repos = 1000;
    let mut trustmap = None;
    let mut dir = PathBuf::from("bench/out/shards");
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--trustmap" => trustmap = it.next().map(PathBuf::from),
            "--dir" => dir = it.next().map(PathBuf::from).context("--dir DIR")?,
            "--bench" => {}
            n => {
                repos = n
                    .parse()
                    .with_context(|| format!("{n:?}: expected REPOS"))?
            }
        }
    }
    let trustmap = trustmap.context("--trustmap PATH (target/release/trustmap)")?;
    Ok(Args {
        repos,
        trustmap,
        dir,
    })
}

fn sweep(a: &Args, config: &Path, state: &str, extra: &[&str]) -> Command {
    // GNU time around each process: its wall seconds and peak RSS.
    let mut c = Command::new("/usr/bin/time");
    c.args(["-f", "TIME %e %M"])
        .arg(&a.trustmap)
        .args(["sweep", "--config"])
        .arg(config)
        .args(["--state", state, "--now", DAY])
        .args(extra)
        .env("TRUSTMAP_KEY", KEY)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// What one process printed: (wall s, peak MB, observations stored, seconds storing).
struct Measured {
    seconds: f64,
    peak_mb: f64,
    stored: Option<(u64, f64)>,
}

fn finish(child: Child, label: &str) -> Result<Measured> {
    let out = child.wait_with_output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    // 0: ok; 1: findings (no --fail-on here, so not expected); anything else is a failure.
    if !out.status.success() {
        bail!("{label} failed ({}): {err}", out.status);
    }
    let time = err
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("TIME "))
        .context("no GNU time line")?;
    let mut it = time.split_whitespace();
    let seconds: f64 = it.next().unwrap_or_default().parse()?;
    let kb: f64 = it.next().unwrap_or_default().parse()?;
    // "shard 0/4 of run ...: N connectors (...), M observations stored in URL in S s"
    let stored = err.lines().find_map(|l| {
        let (_, rest) = l.split_once("), ")?;
        let (n, rest) = rest.split_once(" observations stored in ")?;
        let s = rest.rsplit_once(" in ")?.1.strip_suffix(" s")?;
        Some((n.parse().ok()?, s.parse().ok()?))
    });
    Ok(Measured {
        seconds,
        peak_mb: kb / 1024.0,
        stored,
    })
}

fn findings(out: &Path) -> Result<usize> {
    Ok(std::fs::read_to_string(out.join("findings.jsonl"))?
        .lines()
        .count())
}

/// `n` shard processes at once, then the merge: prints the line and returns the merge's
/// seconds per repository.
fn sharded(
    a: &Args,
    config: &Path,
    pg: &Postgres,
    n: u32,
    expected: usize,
    unsharded: f64,
) -> Result<f64> {
    let state = pg.database(&format!("sharded_{n}"))?;
    let run = format!("bench-{n}");
    let t = Instant::now();
    let shards: Vec<Child> = (0..n)
        .map(|i| {
            sweep(
                a,
                config,
                &state,
                &["--shard", &format!("{i}/{n}"), "--run", &run],
            )
            .spawn()
        })
        .collect::<std::io::Result<_>>()?;
    let measured: Vec<Measured> = shards
        .into_iter()
        .enumerate()
        .map(|(i, c)| finish(c, &format!("shard {i}/{n}")))
        .collect::<Result<_>>()?;
    let shards_wall = t.elapsed().as_secs_f64();
    let out = a.dir.join(format!("out-{n}"));
    let merged = finish(
        sweep(
            a,
            config,
            &state,
            &["-q", "--merge", &n.to_string(), "--run", &run, "--out"],
        )
        .arg(&out)
        .spawn()?,
        "merge",
    )?;
    let got = findings(&out)?;
    if got != expected {
        bail!("{n} shards found {got} findings, one sweep {expected}");
    }
    let (stored, store_s) = measured
        .iter()
        .filter_map(|m| m.stored)
        .fold((0, 0.0), |(n, s), (k, t)| (n + k, s + t));
    let peak = measured.iter().map(|m| m.peak_mb).fold(0.0, f64::max);
    let total = shards_wall + merged.seconds;
    println!(
        "{n} shards:  {shards_wall:>7.2} s shards + {:.2} s merge = {total:.2} s ({:.2}x), shard peak {peak:.0} MB, merge peak {:.0} MB, \
         store {stored} observations at {:.0} observations/s",
        merged.seconds,
        unsharded / total,
        merged.peak_mb,
        stored as f64 / store_s.max(1e-9)
    );
    Ok(merged.seconds / a.repos as f64)
}

fn main() -> Result<()> {
    let a = args()?;
    std::fs::create_dir_all(&a.dir)?;
    let estate = a.dir.join(format!("estate-{}", a.repos));
    let config = estate.join("sweep.toml");
    if !config.exists() {
        let t = Instant::now();
        let _ = std::fs::remove_dir_all(&estate);
        trustmap_testkit::estate::many_repositories(&estate, a.repos, "")?;
        println!(
            "estate: {} repositories with history built in {:.1} s",
            a.repos,
            t.elapsed().as_secs_f64()
        );
    }
    let pg = Postgres::start()?;
    let one = pg.database("unsharded")?;
    let whole = finish(
        sweep(&a, &config, &one, &["-q", "--out"])
            .arg(a.dir.join("out-1"))
            .spawn()?,
        "unsharded sweep",
    )?;
    let expected = findings(&a.dir.join("out-1"))?;
    let units = a.repos + 3;
    println!(
        "unsharded: {:>7.2} s wall, peak {:.0} MB, {expected} findings, {:.1} units/s",
        whole.seconds,
        whole.peak_mb,
        units as f64 / whole.seconds
    );
    let mut merge_per_repo = 0.0;
    for n in [2u32, 4] {
        merge_per_repo = sharded(&a, &config, &pg, n, expected, whole.seconds)?;
    }
    // The model: the unsharded per-repository cost spread over machines like this one, plus
    // a merge that grows with the estate.
    let per_repo = whole.seconds / a.repos as f64;
    let estate = 50_000.0;
    println!(
        "model, 50,000 repositories (per repository {:.1} ms of a 2-core machine, merge {:.2} ms):",
        per_repo * 1e3,
        merge_per_repo * 1e3
    );
    for machines in [1.0, 4.0, 16.0, 64.0] {
        let wall = estate * per_repo / machines + estate * merge_per_repo;
        println!(
            "  {machines:>3} machines: {:>8.0} s ({:.1} h)",
            wall,
            wall / 3600.0
        );
    }
    Ok(())
}
