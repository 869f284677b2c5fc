//! The scanner benchmark: trustmap beside Kingfisher and detect-secrets on the same inputs, in
//! the same run. Prints wall time, MB/s, peak memory, recall and precision on planted secrets.
//!
//! Inputs (made under `--dir`, reused when present):
//! (a) `source/`: real source code (the cargo registry sources, the C headers under
//!     /usr/include, the Python standard library) of at least 250 MB, with the testkit corpus
//!     planted in `source/planted/`;
//! (b) `history/`: a git repository of 600 commits editing real source files, with corpus files
//!     committed along the way.
//! Every tool runs under `/usr/bin/time` (wall seconds, peak RSS of the process tree).
use anyhow::{bail, Context, Result};
use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use trustmap_bench::{kingfisher_bin, out_dir, read_jsonl, timed};
use trustmap_testkit::corpus::{self, Truth};
use trustmap_testkit::score::{score, Score};

const MIN_SOURCE_BYTES: u64 = 250 * 1000 * 1000;

struct Args {
    dir: PathBuf,
    trustmap: PathBuf,
    skip_detect_secrets: bool,
}

fn parse_args() -> Result<Args> {
    let mut dir = PathBuf::from("bench/out");
    let mut trustmap = PathBuf::from("target/release/trustmap");
    let mut skip_detect_secrets = false;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--dir" => dir = it.next().context("--dir needs a value")?.into(),
            "--trustmap" => trustmap = it.next().context("--trustmap needs a value")?.into(),
            "--skip-detect-secrets" => skip_detect_secrets = true,
            other => bail!(
                "unknown argument {other:?} (--dir DIR, --trustmap BIN, --skip-detect-secrets)"
            ),
        }
    }
    Ok(Args {
        dir,
        trustmap,
        skip_detect_secrets,
    })
}

fn dir_size(p: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![p.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                total += e.metadata().map(|m| m.len()).unwrap_or(0);
            }
        }
    }
    total
}

/// Copy regular files (no links, no special files) until `budget` bytes are copied.
fn copy_tree(from: &Path, to: &Path, budget: &mut u64) -> Result<()> {
    let mut stack = vec![(from.to_path_buf(), to.to_path_buf())];
    while let Some((src, dst)) = stack.pop() {
        std::fs::create_dir_all(&dst)?;
        let Ok(rd) = std::fs::read_dir(&src) else {
            continue;
        };
        let mut entries: Vec<_> = rd.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            if *budget == 0 {
                return Ok(());
            }
            let Ok(ft) = e.file_type() else { continue };
            let target = dst.join(e.file_name());
            if ft.is_dir() {
                if e.file_name() != ".git" && e.file_name() != "site-packages" {
                    stack.push((e.path(), target));
                }
            } else if ft.is_file() {
                if let Ok(n) = std::fs::copy(e.path(), &target) {
                    *budget = budget.saturating_sub(n);
                }
            }
        }
    }
    Ok(())
}

fn source_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Some(home) = trustmap_model::env::path(trustmap_model::env::CARGO_HOME)
        .map(PathBuf::from)
        .or_else(|| {
            trustmap_model::env::path(trustmap_model::env::HOME)
                .map(|h| PathBuf::from(h).join(".cargo"))
        })
    {
        roots.push(home.join("registry/src"));
    }
    roots.push(PathBuf::from("/usr/include"));
    if let Ok(out) = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['stdlib'])",
        ])
        .output()
    {
        roots.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    }
    roots
}

fn prepare_source(dir: &Path) -> Result<Truth> {
    let root = dir.join("source");
    let truth_file = dir.join("source-truth.json");
    if truth_file.exists() {
        return Ok(serde_json::from_slice(&std::fs::read(&truth_file)?)?);
    }
    let _ = std::fs::remove_dir_all(&root);
    eprintln!("preparing {} ...", root.display());
    let mut budget = 330 * 1000 * 1000;
    for (i, src) in source_roots().iter().enumerate() {
        if src.is_dir() {
            copy_tree(src, &root.join(format!("real{i}")), &mut budget)?;
        }
    }
    let mut truth = corpus::build(&root.join("planted"), 2026, 20)?;
    for list in [&mut truth.files, &mut truth.negative_files] {
        for p in list.iter_mut() {
            *p = format!("planted/{p}");
        }
    }
    for p in &mut truth.planted {
        p.path = format!("planted/{}", p.path);
    }
    let size = dir_size(&root);
    if size < MIN_SOURCE_BYTES {
        bail!("only {size} bytes of source found; build the workspace first so the cargo registry is populated");
    }
    std::fs::write(&truth_file, serde_json::to_vec(&truth)?)?;
    Ok(truth)
}

fn real_text_files(root: &Path, limit: usize) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut entries: Vec<_> = rd.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .is_some_and(|x| x == "rs" || x == "h" || x == "py")
                && e.metadata()
                    .is_ok_and(|m| (4096..200_000).contains(&m.len()))
            {
                out.push(p);
                if out.len() >= limit {
                    return out;
                }
            }
        }
    }
    out
}

fn prepare_history(dir: &Path) -> Result<Truth> {
    let repo = dir.join("history");
    let truth_file = dir.join("history-truth.json");
    if truth_file.exists() {
        return Ok(serde_json::from_slice(&std::fs::read(&truth_file)?)?);
    }
    let _ = std::fs::remove_dir_all(&repo);
    eprintln!("preparing {} ...", repo.display());
    let staging = dir.join("history-corpus");
    let _ = std::fs::remove_dir_all(&staging);
    let truth = corpus::build(&staging, 77, 2)?;
    let pool = real_text_files(&dir.join("source"), 1800);
    if pool.len() < 100 {
        bail!("too few real source files to build the history");
    }
    trustmap_testkit::git::init(&repo);
    let mut child = Command::new("git")
        .arg("-C")
        .arg(&repo)
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()?;
    let mut stdin = std::io::BufWriter::new(child.stdin.take().context("stdin")?);
    let planted_every = 600 / truth.files.len().max(1);
    let mut next_planted = 0;
    for i in 0..600usize {
        writeln!(stdin, "commit refs/heads/main")?;
        writeln!(
            stdin,
            "committer Bench <bench@corp.example> {} +0000",
            1_700_000_000 + i * 3600
        )?;
        let msg = format!("change {i}");
        writeln!(stdin, "data {}\n{msg}", msg.len())?;
        // Three real source files change in every commit.
        for k in 0..3 {
            let src = &pool[(i * 3 + k) % pool.len()];
            let data = std::fs::read(src)?;
            writeln!(stdin, "M 100644 inline src/module{}.txt", (i * 3 + k) % 90)?;
            writeln!(stdin, "data {}", data.len())?;
            stdin.write_all(&data)?;
            writeln!(stdin)?;
        }
        if i % planted_every == 0 && next_planted < truth.files.len() {
            let rel = &truth.files[next_planted];
            let data = std::fs::read(staging.join(rel))?;
            writeln!(stdin, "M 100644 inline {rel}")?;
            writeln!(stdin, "data {}", data.len())?;
            stdin.write_all(&data)?;
            writeln!(stdin)?;
            next_planted += 1;
        }
    }
    drop(stdin);
    if !child.wait()?.success() {
        bail!("git fast-import failed");
    }
    // Everything is planted only if every corpus file made it in.
    let mut truth = truth;
    let committed: HashSet<String> = truth.files.iter().take(next_planted).cloned().collect();
    truth.planted.retain(|p| committed.contains(&p.path));
    truth.files.retain(|f| committed.contains(f));
    std::fs::write(&truth_file, serde_json::to_vec(&truth)?)?;
    Ok(truth)
}

struct Run {
    tool: &'static str,
    seconds: f64,
    peak_mb: f64,
    score: Option<Score>,
    note: String,
}

fn rel(path: &str, root: &Path) -> String {
    let root = format!("{}/", root.display());
    path.trim_start_matches(&root)
        .trim_start_matches("./")
        .to_string()
}

fn run_trustmap(
    bin: &Path,
    target: &Path,
    git: bool,
    dir: &Path,
    label: &str,
    truth: &Truth,
) -> Result<Run> {
    let out = dir.join(format!("{label}.jsonl"));
    let mut c = Command::new(bin);
    c.args(["scan", "-q", "--fail-on", "none", "-o"]).arg(&out);
    if git {
        c.arg("--git");
    }
    c.arg(target);
    let (seconds, peak_mb) = timed(&mut c, label, dir)?;
    let reports: Vec<(String, u64)> = read_jsonl(&out)
        .iter()
        .filter_map(|f| {
            let l = f.get("location")?;
            Some((rel(l["path"].as_str()?, target), l["line"].as_u64()?))
        })
        .collect();
    Ok(Run {
        tool: "trustmap",
        seconds,
        peak_mb,
        score: Some(score(truth, &reports)),
        note: String::new(),
    })
}

fn run_kingfisher(target: &Path, git: bool, dir: &Path, label: &str, truth: &Truth) -> Result<Run> {
    let out = dir.join(format!("{label}.jsonl"));
    let mut c = Command::new(kingfisher_bin());
    c.arg("scan")
        .arg(target)
        .args([
            "--no-validate",
            "--no-update-check",
            "--format",
            "jsonl",
            "--jobs",
            "2",
            "--git-history",
        ])
        .arg(if git { "full" } else { "none" })
        .arg("--output")
        .arg(&out);
    let (seconds, peak_mb) = timed(&mut c, label, dir)?;
    let reports: Vec<(String, u64)> = read_jsonl(&out)
        .iter()
        .filter_map(|f| {
            let f = f.get("finding")?;
            Some((rel(f["path"].as_str()?, target), f["line"].as_u64()?))
        })
        .collect();
    Ok(Run {
        tool: "kingfisher",
        seconds,
        peak_mb,
        score: Some(score(truth, &reports)),
        note: String::new(),
    })
}

fn run_detect_secrets(target: &Path, dir: &Path, label: &str, truth: &Truth) -> Result<Run> {
    let out = dir.join(format!("{label}.json"));
    // detect-secrets writes its baseline to stdout; a shell redirect keeps /usr/bin/time's view.
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(format!(
            "detect-secrets scan --all-files . > '{}'",
            out.display()
        ))
        .current_dir(target);
    let (seconds, peak_mb) = timed(&mut c, label, dir)?;
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out).unwrap_or_default()).unwrap_or_default();
    let mut reports = Vec::new();
    if let Some(results) = doc.get("results").and_then(|r| r.as_object()) {
        for (path, items) in results {
            for it in items.as_array().into_iter().flatten() {
                if let Some(line) = it["line_number"].as_u64() {
                    reports.push((rel(path, target), line));
                }
            }
        }
    }
    Ok(Run {
        tool: "detect-secrets",
        seconds,
        peak_mb,
        score: Some(score(truth, &reports)),
        note: String::new(),
    })
}

fn print_table(title: &str, bytes: u64, runs: &[Run]) {
    println!("\n{title}: {:.1} MB", bytes as f64 / 1e6);
    println!("| tool | wall s | MB/s | peak MB | recall | precision | wall vs kingfisher |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let kf = runs
        .iter()
        .find(|r| r.tool == "kingfisher")
        .map(|r| r.seconds);
    for r in runs {
        let (recall, precision) = r
            .score
            .map(|s| {
                (
                    format!("{:.3} ({}/{})", s.recall(), s.found, s.planted),
                    format!("{:.3}", s.precision()),
                )
            })
            .unwrap_or_default();
        let ratio = kf
            .map(|k| format!("{:.2}×", r.seconds / k))
            .unwrap_or_default();
        println!(
            "| {} | {:.2} | {:.1} | {:.0} | {recall} | {precision} | {ratio} |{}",
            r.tool,
            r.seconds,
            bytes as f64 / 1e6 / r.seconds.max(1e-9),
            r.peak_mb,
            r.note
        );
    }
}

#[allow(clippy::too_many_lines)] // a benchmark reads as one script: prepare, run each tool, print
fn main() -> Result<()> {
    let args = parse_args()?;
    let dir = out_dir(&args.dir, &args.trustmap)?;
    let source_truth = prepare_source(&dir)?;
    let history_truth = prepare_history(&dir)?;
    let source = dir.join("source");
    let history = dir.join("history");
    let source_bytes = dir_size(&source);
    let history_bytes: u64 = {
        let out = Command::new("git")
            .arg("-C")
            .arg(&history)
            .args([
                "cat-file",
                "--batch-all-objects",
                "--batch-check=%(objecttype) %(objectsize)",
            ])
            .output()?;
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("blob "))
            .filter_map(|l| l[5..].parse::<u64>().ok())
            .sum()
    };
    // Warm the page cache so no tool pays for the first read.
    let _ = timed(
        Command::new(&args.trustmap)
            .args(["scan", "-q", "--fail-on", "none", "-o", "/dev/null"])
            .arg(&source),
        "warmup",
        &dir,
    );

    let mut runs = vec![run_trustmap(
        &args.trustmap,
        &source,
        false,
        &dir,
        "trustmap-source",
        &source_truth,
    )?];
    match run_kingfisher(&source, false, &dir, "kingfisher-source", &source_truth) {
        Ok(r) => runs.push(r),
        Err(e) => eprintln!("kingfisher: {e:#} (pip install kingfisher-bin)"),
    }
    if !args.skip_detect_secrets {
        match run_detect_secrets(&source, &dir, "detect-secrets-source", &source_truth) {
            Ok(r) => runs.push(r),
            Err(e) => eprintln!("detect-secrets: {e:#} (pip install detect-secrets)"),
        }
    }
    print_table(
        "(a) directory of real source with planted secrets",
        source_bytes,
        &runs,
    );

    let mut runs = vec![run_trustmap(
        &args.trustmap,
        &history,
        true,
        &dir,
        "trustmap-history",
        &history_truth,
    )?];
    match run_kingfisher(&history, true, &dir, "kingfisher-history", &history_truth) {
        Ok(r) => runs.push(r),
        Err(e) => eprintln!("kingfisher: {e:#}"),
    }
    print_table(
        "(b) git history, 600 commits (blob bytes)",
        history_bytes,
        &runs,
    );
    println!(
        "\nrecall/precision count distinct (path, line) reports inside the planted corpus files."
    );
    Ok(())
}
