//! The git history benchmark: `trustmap scan --git` beside Kingfisher on one repository's whole
//! history, in the same run, each under `/usr/bin/time` (wall seconds, peak RSS).
//!
//! `--repo PATH` takes any local clone (a long real history); without it a history of
//! `--blobs N` distinct blobs (default 1,000,000) is generated with `git fast-import` under
//! `--dir` (kept between runs), with GitHub tokens planted in known versions so that both
//! tools' recall is measured. Then trustmap's history scan runs in this process twice, version
//! against version and every version whole, to show that both find the same findings and what
//! the incremental scan saves.
use anyhow::{bail, Context, Result};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;
use trustmap_bench::{kingfisher_bin, out_dir, read_jsonl, timed};
use trustmap_connector_git::{scan_history, GitOptions};
use trustmap_model::{NoProgress, SecretMatch};
use trustmap_rules::Engine;
use trustmap_testkit::measure;
use trustmap_testkit::tokens::github_token;

struct Args {
    repo: Option<PathBuf>,
    blobs: usize,
    dir: PathBuf,
    trustmap: PathBuf,
    skip_kingfisher: bool,
    skip_in_process: bool,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        repo: None,
        blobs: 1_000_000,
        dir: PathBuf::from("bench/out"),
        trustmap: PathBuf::from("target/release/trustmap"),
        skip_kingfisher: false,
        skip_in_process: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--repo" => a.repo = Some(it.next().context("--repo needs a path")?.into()),
            "--blobs" => a.blobs = it.next().context("--blobs needs a number")?.parse()?,
            "--dir" => a.dir = it.next().context("--dir needs a value")?.into(),
            "--trustmap" => a.trustmap = it.next().context("--trustmap needs a value")?.into(),
            "--skip-kingfisher" => a.skip_kingfisher = true,
            "--skip-in-process" => a.skip_in_process = true,
            other => bail!(
                "unknown argument {other:?} (--repo PATH, --blobs N, --dir DIR, --trustmap BIN, \
                 --skip-kingfisher, --skip-in-process)"
            ),
        }
    }
    Ok(a)
}

/// Files per commit and versions per file of the generated history.
const FILES: usize = 2_000;
const CHANGED_PER_COMMIT: usize = 50;
/// Every this many versions of a file holds a planted token (a new one each time).
const PLANT_EVERY: usize = 997;

/// The text of version `v` of generated file `f`: about 40 lines of code-like text, one of
/// them rewritten per version, and now and then a planted token.
fn version_text(f: usize, v: usize) -> (String, Option<String>) {
    let mut text = String::with_capacity(2048);
    for line in 0..40 {
        let stamp = if line == v % 40 { v } else { 0 };
        text.push_str(&format!(
            "    let field_{line} = settings.lookup(\"module_{f}.key_{line}\", {stamp});\n"
        ));
    }
    let serial = f * 1_000_000 + v;
    if serial.is_multiple_of(PLANT_EVERY) {
        let token = github_token(&format!("{serial:x}"));
        text.push_str(&format!("GITHUB_TOKEN={token}\n"));
        return (text, Some(token));
    }
    (text, None)
}

/// Make (or reuse) a history of `blobs` distinct blobs; returns it and the planted tokens.
fn generated_history(dir: &Path, blobs: usize) -> Result<(PathBuf, BTreeSet<String>)> {
    let repo = dir.join(format!("generated-{blobs}"));
    let truth_file = dir.join(format!("generated-{blobs}-truth.json"));
    if truth_file.exists() && repo.join("HEAD").exists() {
        let planted: BTreeSet<String> = serde_json::from_slice(&std::fs::read(&truth_file)?)?;
        return Ok((repo, planted));
    }
    let _ = std::fs::remove_dir_all(&repo);
    eprintln!(
        "generating a history of {blobs} blobs in {} ...",
        repo.display()
    );
    let started = Instant::now();
    let status = Command::new("git")
        .args(["init", "-q", "--bare"])
        .arg(&repo)
        .status()?;
    anyhow::ensure!(status.success(), "git init failed");
    let mut child = Command::new("git")
        .arg("-C")
        .arg(&repo)
        .args(["fast-import", "--quiet", "--depth=50"])
        .stdin(Stdio::piped())
        .spawn()
        .context("git fast-import")?;
    let mut planted = BTreeSet::new();
    {
        let stdin = child.stdin.take().context("fast-import stdin")?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, stdin);
        let commits = blobs.div_ceil(CHANGED_PER_COMMIT);
        let mut made = 0usize;
        for c in 0..commits {
            let time = 1_700_000_000 + c as u64 * 600;
            writeln!(w, "commit refs/heads/main")?;
            writeln!(w, "committer Bench <bench@corp.example> {time} +0000")?;
            let msg = format!("change {c}");
            writeln!(w, "data {}\n{msg}", msg.len())?;
            for k in 0..CHANGED_PER_COMMIT {
                if made == blobs {
                    break;
                }
                // Commit c rewrites a window of files; each file's versions count up.
                let f = (c * CHANGED_PER_COMMIT + k) % FILES;
                let v = (c * CHANGED_PER_COMMIT + k) / FILES;
                let (text, token) = version_text(f, v);
                planted.extend(token);
                writeln!(w, "M 100644 inline src/module_{f}/settings_{f}.rs")?;
                writeln!(w, "data {}", text.len())?;
                w.write_all(text.as_bytes())?;
                writeln!(w)?;
                made += 1;
            }
        }
        w.flush()?;
    }
    let status = child.wait()?;
    anyhow::ensure!(status.success(), "git fast-import failed");
    std::fs::write(&truth_file, serde_json::to_vec(&planted)?)?;
    eprintln!(
        "generated in {:.1} s ({} planted tokens)",
        started.elapsed().as_secs_f64(),
        planted.len()
    );
    Ok((repo, planted))
}

/// What `git` says about the repository: commits and distinct blobs and their bytes.
fn describe(repo: &Path) -> Result<(u64, u64, u64)> {
    let count = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["rev-list", "--all", "--count"])
        .output()?;
    let commits = String::from_utf8_lossy(&count.stdout).trim().parse()?;
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args([
            "cat-file",
            "--batch-all-objects",
            "--batch-check=%(objecttype) %(objectsize)",
        ])
        .output()?;
    let (mut blobs, mut bytes) = (0, 0);
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some(size) = l.strip_prefix("blob ") {
            blobs += 1;
            bytes += size.parse::<u64>().unwrap_or(0);
        }
    }
    Ok((commits, blobs, bytes))
}

struct Row {
    tool: String,
    seconds: f64,
    peak_mb: f64,
    findings: usize,
    secrets: BTreeSet<String>,
}

fn run_trustmap(bin: &Path, repo: &Path, dir: &Path) -> Result<Row> {
    let out = dir.join("history-trustmap.json");
    let (seconds, peak_mb) = timed(
        Command::new(bin)
            .args(["scan", "--git", "-q", "--fail-on", "none", "--show-secrets"])
            .args(["--format", "json", "-o"])
            .arg(&out)
            .arg(repo),
        "history-trustmap",
        dir,
    )?;
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&out)?)?;
    let findings = doc["findings"].as_array().cloned().unwrap_or_default();
    let secrets = findings
        .iter()
        .filter_map(|f| f["evidence"]["secret"].as_str().map(str::to_string))
        .collect();
    let s = &doc["stats"];
    eprintln!(
        "trustmap: {} blobs, {:.1} MB of blobs, {:.1} MB matched again",
        s["blobs_scanned"],
        s["bytes_scanned"].as_f64().unwrap_or(0.0) / 1e6,
        s["bytes_matched"].as_f64().unwrap_or(0.0) / 1e6
    );
    Ok(Row {
        tool: "trustmap".into(),
        seconds,
        peak_mb,
        findings: findings.len(),
        secrets,
    })
}

fn run_kingfisher(repo: &Path, dir: &Path) -> Result<Row> {
    let out = dir.join("history-kingfisher.jsonl");
    let (seconds, peak_mb) = timed(
        Command::new(kingfisher_bin())
            .arg("scan")
            .arg(repo)
            .args(["--no-validate", "--no-update-check", "--jobs", "2"])
            .args(["--git-history", "full", "--format", "jsonl", "--output"])
            .arg(&out),
        "history-kingfisher",
        dir,
    )?;
    let reports = read_jsonl(&out);
    let secrets = reports
        .iter()
        .filter_map(|r| r["finding"]["snippet"].as_str().map(str::to_string))
        .collect();
    Ok(Row {
        tool: kingfisher_version(),
        seconds,
        peak_mb,
        findings: reports.len(),
        secrets,
    })
}

fn kingfisher_version() -> String {
    Command::new(kingfisher_bin())
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "kingfisher".into())
}

/// Found = a planted token appears in what the tool reported.
fn recall(planted: &BTreeSet<String>, row: &Row) -> String {
    if planted.is_empty() {
        return "-".into();
    }
    let found = planted
        .iter()
        .filter(|t| row.secrets.iter().any(|s| s.contains(t.as_str())))
        .count();
    format!(
        "{:.3} ({found}/{})",
        found as f64 / planted.len() as f64,
        planted.len()
    )
}

/// Scan in this process, version against version and every version whole.
fn in_process(repo: &Path) -> Result<()> {
    let engine = Engine::builtin()?;
    let mut results: Vec<(bool, Vec<String>)> = Vec::new();
    for incremental in [true, false] {
        measure::reset_peak();
        let cpu = measure::cpu_seconds();
        let started = Instant::now();
        let opts = GitOptions {
            incremental,
            ..GitOptions::default()
        };
        let (found, stats) = scan_history(&engine, repo, "", &opts, &NoProgress)?;
        println!(
            "| in process, {} | {:.2} | {:.2} | {:.1} | {:.1} | {} |",
            if incremental {
                "version against version"
            } else {
                "every version whole"
            },
            started.elapsed().as_secs_f64(),
            measure::cpu_seconds() - cpu,
            stats.bytes_matched as f64 / 1e6,
            measure::peak_mb(),
            found.len()
        );
        results.push((incremental, reported(&found)));
    }
    let same = results.windows(2).all(|w| w[0].1 == w[1].1);
    println!(
        "\nboth ways report the same findings (rule, secret, path, line, column, commit, other places): {}",
        if same { "yes" } else { "NO" }
    );
    if !same {
        bail!("the incremental history scan differs from the whole-version scan");
    }
    Ok(())
}

fn reported(found: &[SecretMatch]) -> Vec<String> {
    let mut v: Vec<String> = found
        .iter()
        .map(|m| {
            format!(
                "{} {} {} {}:{} {:?} {:?}",
                m.rule_id,
                m.secret.expose(),
                m.path,
                m.line,
                m.column,
                m.commit,
                m.also_seen_in
            )
        })
        .collect();
    v.sort();
    v
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let dir = out_dir(&args.dir, &args.trustmap)?;
    let (repo, planted) = match &args.repo {
        Some(r) => (r.canonicalize().context("--repo")?, BTreeSet::new()),
        None => generated_history(&dir, args.blobs)?,
    };
    let (commits, blobs, bytes) = describe(&repo)?;
    // Warm the page cache so that neither tool pays for the first read.
    let _ = Command::new("git")
        .arg("-C")
        .arg(&repo)
        .args(["count-objects", "-v"])
        .output();
    for pack in std::fs::read_dir(repo.join("objects/pack"))
        .or_else(|_| std::fs::read_dir(repo.join(".git/objects/pack")))
        .into_iter()
        .flatten()
        .flatten()
    {
        let _ = std::fs::read(pack.path());
    }
    let mut rows = vec![run_trustmap(&args.trustmap, &repo, &dir)?];
    if !args.skip_kingfisher {
        match run_kingfisher(&repo, &dir) {
            Ok(r) => rows.push(r),
            Err(e) => eprintln!("kingfisher: {e:#} (pip install kingfisher-bin)"),
        }
    }
    println!(
        "\n{}: {commits} commits, {blobs} distinct blobs, {:.1} MB of blobs",
        repo.display(),
        bytes as f64 / 1e6
    );
    println!(
        "| tool | wall s | MB/s | peak MB | findings | recall (planted) | wall vs kingfisher |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let kf = rows.iter().find(|r| r.tool.starts_with("kingfisher"));
    for r in &rows {
        let ratio = kf.map_or("-".into(), |k| format!("{:.2}x", r.seconds / k.seconds));
        println!(
            "| {} | {:.2} | {:.1} | {:.0} | {} | {} | {ratio} |",
            r.tool,
            r.seconds,
            bytes as f64 / 1e6 / r.seconds,
            r.peak_mb,
            r.findings,
            recall(&planted, r)
        );
    }
    if !args.skip_in_process {
        println!(
            "\n| trustmap's history scan | wall s | CPU s | MB matched | peak MB | findings |"
        );
        println!("|---|---:|---:|---:|---:|---:|");
        in_process(&repo)?;
    }
    Ok(())
}
