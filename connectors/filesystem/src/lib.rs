//! The `filesystem` connector: walks files and directories in parallel and runs the secret
//! engine over each regular file once.
//!
//! It honours `.trustmapignore` files (gitignore syntax) in the scanned directories, never
//! descends into `.git` (history is the git connector's job), never follows symbolic links
//! inside a tree (so link loops cannot trap it), and counts every file it passes over: binary,
//! oversized, unreadable, ignored. Memory is bounded by `threads × max_file_size`.
//!
//! It knows nothing about partners, findings or output formats: it emits [`SecretMatch`]es.

mod connector;

pub use connector::{rebase, FilesystemConfig, FilesystemConnector};

use ignore::{WalkBuilder, WalkState};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use trustmap_model::{Progress, ScanStats, SecretMatch};
use trustmap_rules::{looks_binary, Engine};

/// The ignore file read in every scanned directory.
pub const IGNORE_FILE: &str = ".trustmapignore";

/// Bytes read before deciding whether a file is binary (git uses the same amount).
const BINARY_PROBE: u64 = 8192;

/// How a filesystem scan behaves.
#[derive(Debug, Clone)]
pub struct FilesystemOptions {
    /// Files larger than this are skipped and counted.
    pub max_file_size: u64,
    /// Worker threads; 0 means one per core.
    pub threads: usize,
    /// Set to stop the walk early (Ctrl-C): files not yet reached are not scanned.
    pub cancelled: Option<Arc<AtomicBool>>,
}

impl Default for FilesystemOptions {
    fn default() -> Self {
        FilesystemOptions {
            max_file_size: 64 * 1024 * 1024,
            threads: 0,
            cancelled: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FilesystemError {
    #[error("{path}: no such file or directory")]
    NotFound { path: PathBuf },
}

#[derive(Default)]
struct Counters {
    files: AtomicU64,
    bytes: AtomicU64,
    binary: AtomicU64,
    oversized: AtomicU64,
    unreadable: AtomicU64,
}

/// Scan files and directories. Paths in the matches are as given, joined with the path inside.
pub fn scan_paths(
    engine: &Engine,
    roots: &[PathBuf],
    opts: &FilesystemOptions,
    progress: &dyn Progress,
) -> Result<(Vec<SecretMatch>, ScanStats), FilesystemError> {
    for r in roots {
        if std::fs::symlink_metadata(r).is_err() {
            return Err(FilesystemError::NotFound { path: r.clone() });
        }
    }
    let Some((first, rest)) = roots.split_first() else {
        return Ok((Vec::new(), ScanStats::default()));
    };
    let mut builder = WalkBuilder::new(first);
    for r in rest {
        builder.add(r);
    }
    builder
        .standard_filters(false)
        .add_custom_ignore_filename(IGNORE_FILE)
        .follow_links(false)
        .threads(opts.threads)
        .filter_entry(|e| e.file_name() != ".git");

    let counters = Counters::default();
    let found: Mutex<Vec<SecretMatch>> = Mutex::new(Vec::new());
    let gaps: Mutex<ScanStats> = Mutex::new(ScanStats::default());
    let note_gap = |msg: String| {
        if let Ok(mut g) = gaps.lock() {
            g.add_gap(msg);
        }
    };

    builder.build_parallel().run(|| {
        Box::new(|entry| {
            if opts
                .cancelled
                .as_ref()
                .is_some_and(|c| c.load(Ordering::Relaxed))
            {
                return WalkState::Quit;
            }
            let entry = match entry {
                Ok(e) => e,
                Err(err) => {
                    counters.unreadable.fetch_add(1, Ordering::Relaxed);
                    note_gap(format!("cannot walk: {err}"));
                    return WalkState::Continue;
                }
            };
            let is_root_file = entry.depth() == 0;
            let ft = entry.file_type();
            // Regular files only: FIFOs and devices would block or never end. A root given
            // explicitly may be a link to a file, which is followed.
            let regular = ft.is_some_and(|t| t.is_file())
                || (is_root_file && std::fs::metadata(entry.path()).is_ok_and(|m| m.is_file()));
            if !regular {
                return WalkState::Continue;
            }
            scan_file(
                engine,
                entry.path(),
                opts,
                &counters,
                &found,
                &note_gap,
                progress,
            );
            WalkState::Continue
        })
    });

    let mut stats = gaps.into_inner().unwrap_or_default();
    stats.files_scanned = counters.files.into_inner();
    stats.bytes_scanned = counters.bytes.into_inner();
    stats.bytes_matched = stats.bytes_scanned;
    stats.skipped_binary = counters.binary.into_inner();
    stats.skipped_oversized = counters.oversized.into_inner();
    stats.skipped_unreadable += counters.unreadable.into_inner();
    let mut matches = found.into_inner().unwrap_or_default();
    matches.sort_by(|a, b| (&a.path, a.line, a.column).cmp(&(&b.path, b.line, b.column)));
    Ok((matches, stats))
}

fn scan_file(
    engine: &Engine,
    path: &Path,
    opts: &FilesystemOptions,
    counters: &Counters,
    found: &Mutex<Vec<SecretMatch>>,
    note_gap: &dyn Fn(String),
    progress: &dyn Progress,
) {
    let shown = path.display().to_string();
    let unreadable = |err: std::io::Error| {
        counters.unreadable.fetch_add(1, Ordering::Relaxed);
        note_gap(format!("{shown}: cannot read: {err}"));
    };
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return unreadable(e),
    };
    let len = match file.metadata() {
        Ok(m) => m.len(),
        Err(e) => return unreadable(e),
    };
    if len > opts.max_file_size {
        counters.oversized.fetch_add(1, Ordering::Relaxed);
        note_gap(format!(
            "{shown}: skipped, {len} bytes is over the {} byte limit",
            opts.max_file_size
        ));
        return;
    }
    progress.add_total(len);
    // Read the head first: a binary file is recognised without reading the rest of it.
    let mut data = Vec::with_capacity(len.min(BINARY_PROBE) as usize);
    if let Err(e) = (&mut file).take(BINARY_PROBE).read_to_end(&mut data) {
        return unreadable(e);
    }
    if looks_binary(&data) {
        counters.binary.fetch_add(1, Ordering::Relaxed);
        progress.advance(len);
        return;
    }
    data.reserve(len.saturating_sub(BINARY_PROBE) as usize);
    // `take` guards against files that grow while being read.
    if let Err(e) = (&mut file)
        .take(opts.max_file_size + 1 - data.len() as u64)
        .read_to_end(&mut data)
    {
        return unreadable(e);
    }
    if data.len() as u64 > opts.max_file_size {
        counters.oversized.fetch_add(1, Ordering::Relaxed);
        return;
    }
    progress.advance(data.len() as u64);
    counters.files.fetch_add(1, Ordering::Relaxed);
    counters
        .bytes
        .fetch_add(data.len() as u64, Ordering::Relaxed);
    let matches = engine.secret_matches(&data, &shown);
    if !matches.is_empty() {
        if let Ok(mut f) = found.lock() {
            f.extend(matches);
        }
    }
}
