//! The `git` connector: secrets in a repository's whole history, each unique blob scanned once.
//!
//! It drives git's own plumbing rather than parsing patches: `rev-list --objects --all` lists
//! every reachable blob once (streamed into compact tables), `cat-file --batch-check` sizes
//! them, and workers, each with its own `cat-file --batch`, read the versions of one path after
//! another and match each only where it differs from the one before (`history.rs`). Only when
//! something was found does one `log --raw` pass date each such blob to the commit that
//! introduced it (and every other path and commit it appeared in). `--staged` scans the index
//! against HEAD, reporting only added lines, for pre-commit hooks.
//!
//! It knows nothing about partners, findings or output formats: it emits [`SecretMatch`]es.

mod connector;
mod history;
mod oid;
mod plumbing;

pub use connector::{GitConfig, GitConnector};

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use trustmap_model::{Progress, ScanStats, SecretMatch};
use trustmap_rules::Engine;

use history::{BlobTable, Chain};
pub use oid::Oid;
use plumbing::Git;
pub use plumbing::{is_repository, read_batch_entry, BatchEntry};

/// How a history scan behaves.
#[derive(Debug, Clone)]
pub struct GitOptions {
    /// Blobs larger than this are skipped and counted.
    pub max_file_size: u64,
    /// Set to stop early (Ctrl-C): blobs not yet read are not scanned.
    pub cancelled: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Match each later version of a file only where it differs from the version before
    /// (the rest of its findings are carried over); `false` matches every version whole.
    /// Both find the same secrets: this only trades work.
    pub incremental: bool,
    /// Readers and scanners working at once (each its own `git cat-file`); 0 = one per core.
    pub threads: usize,
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
            incremental: true,
            threads: 0,
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
    // Dating runs beside the listing (one core each); it is read only if something is found.
    let log = git.start_log()?;
    progress.message(&format!("listing objects of {}", repo.display()));
    let ignore = ignore_matcher(repo);
    let table = BlobTable::list(&git, |path| is_ignored(&ignore, path), &mut stats)?;
    progress.message(&format!("sizing blobs of {}", repo.display()));
    let sized = table.sized(&git, opts.max_file_size, display_prefix, &mut stats)?;
    progress.add_total(sized.total_bytes());
    progress.message(&format!(
        "scanning {} blobs of {}",
        sized.len(),
        repo.display()
    ));
    let chains = sized.chains();
    let (mut matches, scanned) = history::scan_chains(
        engine,
        &git,
        &sized,
        &chains,
        display_prefix,
        opts,
        progress,
    )?;
    stats.merge(scanned);
    if !matches.is_empty() {
        progress.message(&format!("dating findings in {}", repo.display()));
        attribute_commits(log, &mut matches, display_prefix)?;
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
    let table = BlobTable::from_pairs(staged.into_iter().filter(|(_, path)| {
        let ignored = is_ignored(&ignore, path);
        stats.skipped_ignored += u64::from(ignored);
        !ignored
    }));
    let opts = GitOptions::default();
    let sized = table.sized(&git, opts.max_file_size, display_prefix, &mut stats)?;
    // Each staged blob on its own: there is no earlier version to match against.
    let chains: Vec<Chain> = (0..sized.len()).map(|i| Chain::single(i as u32)).collect();
    let (matches, scanned) = history::scan_chains(
        engine,
        &git,
        &sized,
        &chains,
        display_prefix,
        &opts,
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

/// Replace each match's blob id by the earliest commit that introduced that blob, and list the
/// other places (path@commit) it was introduced in.
fn attribute_commits(
    log: plumbing::LogSpool,
    matches: &mut [SecretMatch],
    display_prefix: &str,
) -> Result<(), GitError> {
    let wanted: HashSet<String> = matches.iter().filter_map(|m| m.commit.clone()).collect();
    let introductions = log.introductions(&wanted)?;
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
    // The commit breaks ties between versions dated alike, so the output is the same from run
    // to run whichever worker found what first.
    matches.sort_by(|a, b| {
        (
            &a.rule_id,
            a.secret.expose(),
            &a.path,
            &a.commit_date,
            &a.commit,
        )
            .cmp(&(
                &b.rule_id,
                b.secret.expose(),
                &b.path,
                &b.commit_date,
                &b.commit,
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
