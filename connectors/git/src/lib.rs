//! The `git` connector: secrets in a repository's whole history, each unique blob scanned once.
//!
//! It drives git's own plumbing rather than parsing patches: `rev-list --objects --all` lists
//! every reachable blob once, `cat-file --batch-check` sizes them, `cat-file --batch` streams
//! their content to worker threads, and only when something was found does one
//! `log --raw` pass date each such blob to the commit that introduced it (and every other path
//! and commit it appeared in). `--staged` scans the index against HEAD, reporting only
//! added lines, for pre-commit hooks.
//!
//! It knows nothing about partners, findings or output formats: it emits [`SecretMatch`]es.

mod connector;
mod plumbing;

pub use connector::{GitConfig, GitConnector};

use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use trustmap_model::{Progress, ScanStats, SecretMatch};
use trustmap_rules::{looks_binary, Engine};

pub use plumbing::{is_repository, read_batch_entry, BatchEntry};
use plumbing::{BlobReader, Git};

/// How a history scan behaves.
#[derive(Debug, Clone)]
pub struct GitOptions {
    /// Blobs larger than this are skipped and counted.
    pub max_file_size: u64,
    /// Set to stop early (Ctrl-C): blobs not yet read are not scanned.
    pub cancelled: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl GitOptions {
    fn is_cancelled(&self) -> bool {
        self.cancelled
            .as_ref()
            .is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed))
    }
}

impl Default for GitOptions {
    fn default() -> Self {
        GitOptions {
            max_file_size: 64 * 1024 * 1024,
            cancelled: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{path}: not a git repository")]
    NotARepository { path: PathBuf },
    #[error("{path}: `git {command}` failed: {message}")]
    Command {
        path: PathBuf,
        command: String,
        message: String,
    },
    #[error("{path}: cannot run git: {source}")]
    Spawn {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: unexpected output from `git {command}`: {message}")]
    Protocol {
        path: PathBuf,
        command: String,
        message: String,
    },
}

/// A blob to scan and the first path it was seen under.
struct BlobRef {
    oid: String,
    path: String,
}

/// The path as the filesystem connector shows it (`given/inner`), so that the same file in
/// the working tree and in history gets the same fingerprint.
fn join_display(prefix: &str, path: &str) -> String {
    if prefix.is_empty() {
        path.to_string()
    } else {
        format!("{}/{}", prefix.trim_end_matches('/'), path)
    }
}

/// Paths excluded by the repository's `.trustmapignore` (from the working tree, if any).
fn ignore_matcher(repo: &Path) -> Option<ignore::gitignore::Gitignore> {
    let file = repo.join(".trustmapignore");
    if !file.is_file() {
        return None;
    }
    let mut b = ignore::gitignore::GitignoreBuilder::new(repo);
    b.add(file);
    b.build().ok()
}

fn is_ignored(m: &Option<ignore::gitignore::Gitignore>, path: &str) -> bool {
    m.as_ref()
        .is_some_and(|m| m.matched_path_or_any_parents(path, false).is_ignore())
}

/// Scan every blob reachable from any ref of `repo`. `display_prefix` is put before paths
/// inside the repository (the path as the user gave it).
pub fn scan_history(
    engine: &Engine,
    repo: &Path,
    display_prefix: &str,
    opts: &GitOptions,
    progress: &dyn Progress,
) -> Result<(Vec<SecretMatch>, ScanStats), GitError> {
    let git = Git::open(repo)?;
    let mut stats = ScanStats::default();
    progress.message(&format!("listing objects of {}", repo.display()));
    let listed = git.rev_list_objects()?;
    for oid in &listed.missing {
        stats.skipped_unreadable += 1;
        stats.add_gap(format!(
            "{}: object {oid} is missing (partial or shallow clone, or a damaged pack); the rest was scanned",
            repo.display()
        ));
    }
    let ignore = ignore_matcher(repo);
    let mut candidates = Vec::with_capacity(listed.objects.len());
    for (oid, path) in listed.objects {
        if is_ignored(&ignore, &path) {
            stats.skipped_ignored += 1;
        } else {
            candidates.push(BlobRef { oid, path });
        }
    }
    let sized = git.blob_sizes(candidates.iter().map(|b| b.oid.as_str()))?;
    let mut blobs = Vec::with_capacity(candidates.len());
    let mut total = 0u64;
    for b in candidates {
        match sized.get(&b.oid) {
            Some(&size) if size > opts.max_file_size => {
                stats.skipped_oversized += 1;
                stats.add_gap(format!(
                    "{}: blob {} skipped, {size} bytes is over the {} byte limit",
                    join_display(display_prefix, &b.path),
                    b.oid,
                    opts.max_file_size
                ));
            }
            Some(&size) => {
                total += size;
                blobs.push(b);
            }
            None => {} // a tree or submodule commit
        }
    }
    progress.add_total(total);
    progress.message(&format!(
        "scanning {} blobs of {}",
        blobs.len(),
        repo.display()
    ));
    let (mut matches, scanned) = scan_blobs(engine, &git, &blobs, display_prefix, opts, progress)?;
    stats.merge(scanned);
    if !matches.is_empty() {
        progress.message(&format!("dating findings in {}", repo.display()));
        attribute_commits(&git, &mut matches, display_prefix)?;
    }
    Ok((collapse_versions(matches), stats))
}

/// Scan what is staged for the next commit, reporting only lines the commit adds.
pub fn scan_staged(
    engine: &Engine,
    repo: &Path,
    display_prefix: &str,
    progress: &dyn Progress,
) -> Result<(Vec<SecretMatch>, ScanStats), GitError> {
    let git = Git::open(repo)?;
    let staged = git.staged_blobs()?;
    let ignore = ignore_matcher(repo);
    let mut stats = ScanStats::default();
    let blobs: Vec<BlobRef> = staged
        .into_iter()
        .filter(|(_, path)| {
            let ignored = is_ignored(&ignore, path);
            stats.skipped_ignored += u64::from(ignored);
            !ignored
        })
        .map(|(oid, path)| BlobRef { oid, path })
        .collect();
    let (matches, scanned) = scan_blobs(
        engine,
        &git,
        &blobs,
        display_prefix,
        &GitOptions::default(),
        progress,
    )?;
    stats.merge(scanned);
    let added = git.staged_added_lines()?;
    let matches = matches
        .into_iter()
        .filter(|m| {
            let inner = m
                .path
                .strip_prefix(&join_display(display_prefix, ""))
                .unwrap_or(&m.path);
            added
                .get(inner)
                .is_some_and(|ranges| ranges.iter().any(|(s, e)| (*s..=*e).contains(&m.line)))
        })
        .collect();
    Ok((matches, stats))
}

fn scan_blobs(
    engine: &Engine,
    git: &Git,
    blobs: &[BlobRef],
    display_prefix: &str,
    opts: &GitOptions,
    progress: &dyn Progress,
) -> Result<(Vec<SecretMatch>, ScanStats), GitError> {
    let stats = Mutex::new(ScanStats::default());
    let found = Mutex::new(Vec::new());
    let reader = BlobReader::start(git, blobs.iter().map(|b| b.oid.clone()).collect())?;
    let paths: HashMap<&str, &str> = blobs
        .iter()
        .map(|b| (b.oid.as_str(), b.path.as_str()))
        .collect();
    let read_error = Mutex::new(None);
    // par_bridge pulls blobs on demand, so only about one blob per worker is in memory.
    reader
        // Cancelled: stop pulling blobs; what was scanned so far is kept.
        .take_while(|_| !opts.is_cancelled())
        .map_while(|item| match item {
            Ok(BatchEntry::Blob(oid, data)) => Some(Some((oid, data))),
            // Scanned as far as possible: a missing object is a coverage gap, not a failure.
            Ok(BatchEntry::Missing(oid)) => {
                if let Ok(mut s) = stats.lock() {
                    s.skipped_unreadable += 1;
                    let path = paths.get(oid.as_str()).copied().unwrap_or("");
                    s.add_gap(format!(
                        "{}: object {oid} is missing (partial or shallow clone, or a damaged pack)",
                        join_display(display_prefix, path)
                    ));
                }
                Some(None)
            }
            Err(e) => {
                if let Ok(mut slot) = read_error.lock() {
                    *slot = Some(e);
                }
                None
            }
        })
        .flatten()
        .par_bridge()
        .for_each(|(oid, data)| {
            progress.advance(data.len() as u64);
            let path = paths.get(oid.as_str()).copied().unwrap_or("");
            if looks_binary(&data) {
                if let Ok(mut s) = stats.lock() {
                    s.skipped_binary += 1;
                }
                return;
            }
            let mut matches = engine.secret_matches(&data, &join_display(display_prefix, path));
            for m in &mut matches {
                // Remember the blob until commits are attributed.
                m.commit = Some(oid.clone());
            }
            if let Ok(mut s) = stats.lock() {
                s.blobs_scanned += 1;
                s.bytes_scanned += data.len() as u64;
            }
            if !matches.is_empty() {
                if let Ok(mut f) = found.lock() {
                    f.extend(matches);
                }
            }
        });
    if let Some(e) = read_error.into_inner().ok().flatten() {
        return Err(e);
    }
    Ok((
        found.into_inner().unwrap_or_default(),
        stats.into_inner().unwrap_or_default(),
    ))
}

/// Replace each match's blob id by the earliest commit that introduced that blob, and list the
/// other places (path@commit) it was introduced in.
fn attribute_commits(
    git: &Git,
    matches: &mut [SecretMatch],
    display_prefix: &str,
) -> Result<(), GitError> {
    let wanted: HashSet<String> = matches.iter().filter_map(|m| m.commit.clone()).collect();
    let introductions = git.introductions(&wanted)?;
    for m in matches.iter_mut() {
        let Some(blob) = m.commit.take() else {
            continue;
        };
        let Some(intros) = introductions.get(&blob) else {
            continue;
        };
        // Earliest first; the earliest introduction is where the finding is reported.
        if let Some(first) = intros.first() {
            m.commit = Some(first.commit.clone());
            m.commit_date = Some(first.date.clone());
            m.path = join_display(display_prefix, &first.path);
        }
        m.also_seen_in = intros
            .iter()
            .skip(1)
            .map(|i| format!("{}@{}", join_display(display_prefix, &i.path), &i.commit))
            .take(50)
            .collect();
    }
    Ok(())
}

/// One match per (rule, secret, path): the version of the file that introduced it first.
fn collapse_versions(mut matches: Vec<SecretMatch>) -> Vec<SecretMatch> {
    matches.sort_by(|a, b| {
        (&a.rule_id, a.secret.expose(), &a.path, &a.commit_date).cmp(&(
            &b.rule_id,
            b.secret.expose(),
            &b.path,
            &b.commit_date,
        ))
    });
    let mut out: Vec<SecretMatch> = Vec::with_capacity(matches.len());
    for m in matches {
        match out.last_mut() {
            Some(prev)
                if prev.rule_id == m.rule_id && prev.secret == m.secret && prev.path == m.path =>
            {
                if let Some(c) = &m.commit {
                    let place = format!("{}@{c}", m.path);
                    if prev.also_seen_in.len() < 50 && !prev.also_seen_in.contains(&place) {
                        prev.also_seen_in.push(place);
                    }
                }
            }
            _ => out.push(m),
        }
    }
    out.sort_by(|a, b| (&a.path, a.line, a.column).cmp(&(&b.path, b.line, b.column)));
    out
}
