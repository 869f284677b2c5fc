//! A history's blobs as compact tables, grouped into chains (the versions of one path, oldest
//! first) and scanned by several workers, each feeding its own `git cat-file --batch`.
//!
//! Chains are what make history fast: a later version is matched only where it differs from
//! the one before ([`trustmap_rules::scan_edit`]), and the versions of one path sit next to each
//! other in a pack's delta chains, so each reader decompresses what it just had in cache.
//! Workers take chains from one queue, largest first, so neither core waits on the other.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use trustmap_model::{Progress, ScanStats, SecretMatch};
use trustmap_rules::{first_occurrences, looks_binary, scan_edit, scan_whole, EditScan, Engine};

use crate::plumbing::{BlobReader, Checked, Git, Listed};
use crate::{join_display, GitError, GitOptions, Oid};

/// Blobs as listed: ids and interned paths, in listing order (newest first).
pub struct BlobTable {
    oids: Vec<Oid>,
    paths: Vec<u32>,
    path_names: Vec<String>,
}

/// Interns paths: a long history names each path many times.
#[derive(Default)]
struct Paths {
    ids: HashMap<Vec<u8>, u32>,
    names: Vec<String>,
    ignored: Vec<bool>,
}

impl Paths {
    fn intern(&mut self, raw: &[u8], ignored: &dyn Fn(&str) -> bool) -> (u32, bool) {
        if let Some(&id) = self.ids.get(raw) {
            return (id, self.ignored[id as usize]);
        }
        let id = self.names.len() as u32;
        let name = String::from_utf8_lossy(raw).into_owned();
        let skip = ignored(&name);
        self.ids.insert(raw.to_vec(), id);
        self.names.push(name);
        self.ignored.push(skip);
        (id, skip)
    }
}

impl BlobTable {
    /// Every reachable blob of `git`'s history that `ignored` lets through; missing objects
    /// and ignored paths are counted in `stats`.
    pub fn list(
        git: &Git,
        ignored: impl Fn(&str) -> bool,
        stats: &mut ScanStats,
    ) -> Result<Self, GitError> {
        let mut paths = Paths::default();
        let (mut oids, mut ids) = (Vec::new(), Vec::new());
        let repo = git.repo().display().to_string();
        git.for_each_blob(|listed| match listed {
            Listed::Object(oid, raw) => {
                let (id, skip) = paths.intern(raw, &ignored);
                if skip {
                    stats.skipped_ignored += 1;
                } else {
                    oids.push(oid);
                    ids.push(id);
                }
            }
            Listed::Missing(oid) => {
                stats.skipped_unreadable += 1;
                stats.add_gap(format!(
                    "{repo}: object {oid} is missing (partial or shallow clone, or a damaged pack); the rest was scanned"
                ));
            }
        })?;
        Ok(BlobTable {
            oids,
            paths: ids,
            path_names: paths.names,
        })
    }

    /// A table of given (object id, path) pairs (what is staged, say).
    pub fn from_pairs(pairs: impl Iterator<Item = (String, String)>) -> Self {
        let mut paths = Paths::default();
        let (mut oids, mut ids) = (Vec::new(), Vec::new());
        for (oid, path) in pairs {
            if let Some(oid) = Oid::from_hex(oid.as_bytes()) {
                oids.push(oid);
                ids.push(paths.intern(path.as_bytes(), &|_| false).0);
            }
        }
        BlobTable {
            oids,
            paths: ids,
            path_names: paths.names,
        }
    }

    /// The blobs with their sizes; those over `max_size` and those the repository lacks are
    /// coverage gaps, other objects (annotated tags) are left out.
    pub fn sized(
        self,
        git: &Git,
        max_size: u64,
        display_prefix: &str,
        stats: &mut ScanStats,
    ) -> Result<SizedTable, GitError> {
        let oids = std::sync::Arc::new(self.oids);
        let mut keep = Vec::with_capacity(oids.len());
        let mut sizes = Vec::with_capacity(oids.len());
        git.blob_sizes(oids.clone(), |i, sized| {
            let path = || join_display(display_prefix, &self.path_names[self.paths[i] as usize]);
            match sized {
                Checked::Blob(size) if size > max_size => {
                    stats.skipped_oversized += 1;
                    stats.add_gap(format!(
                        "{}: blob {} skipped, {size} bytes is over the {max_size} byte limit",
                        path(),
                        oids[i]
                    ));
                }
                Checked::Blob(size) => {
                    keep.push(i);
                    sizes.push(size);
                }
                Checked::Missing => {
                    stats.skipped_unreadable += 1;
                    stats.add_gap(format!(
                        "{}: object {} is missing (partial or shallow clone, or a damaged pack)",
                        path(),
                        oids[i]
                    ));
                }
                Checked::Other => {}
            }
        })?;
        Ok(SizedTable {
            oids: keep.iter().map(|&i| oids[i]).collect(),
            paths: keep.iter().map(|&i| self.paths[i]).collect(),
            sizes,
            path_names: self.path_names,
        })
    }
}

/// The blobs to scan, with their sizes, in listing order (newest first).
pub struct SizedTable {
    oids: Vec<Oid>,
    paths: Vec<u32>,
    sizes: Vec<u64>,
    path_names: Vec<String>,
}

impl SizedTable {
    pub fn len(&self) -> usize {
        self.oids.len()
    }

    pub fn total_bytes(&self) -> u64 {
        self.sizes.iter().sum()
    }

    fn path(&self, blob: u32) -> &str {
        &self.path_names[self.paths[blob as usize] as usize]
    }

    /// The versions of each path, oldest first (listing order reversed), largest chain first.
    pub fn chains(&self) -> Vec<Chain> {
        let mut order: Vec<u32> = (0..self.oids.len() as u32).collect();
        order.sort_unstable_by_key(|&i| (self.paths[i as usize], std::cmp::Reverse(i)));
        let mut chains: Vec<Chain> = Vec::new();
        let mut last_path = None;
        for i in order {
            let path = self.paths[i as usize];
            let size = self.sizes[i as usize];
            match chains.last_mut() {
                Some(c) if last_path == Some(path) => {
                    c.blobs.push(i);
                    c.bytes += size;
                }
                _ => chains.push(Chain {
                    blobs: vec![i],
                    bytes: size,
                }),
            }
            last_path = Some(path);
        }
        chains.sort_by_key(|c| std::cmp::Reverse(c.bytes));
        chains
    }
}

/// Versions of one path, each matched against the one before it.
pub struct Chain {
    blobs: Vec<u32>,
    bytes: u64,
}

impl Chain {
    /// A chain of one blob: matched whole.
    pub fn single(blob: u32) -> Self {
        Chain {
            blobs: vec![blob],
            bytes: 0,
        }
    }
}

/// What every worker shares.
struct Shared<'a> {
    engine: &'a Engine,
    git: &'a Git,
    table: &'a SizedTable,
    chains: &'a [Chain],
    next: AtomicUsize,
    display_prefix: &'a str,
    opts: &'a GitOptions,
    progress: &'a dyn Progress,
    found: Mutex<Vec<SecretMatch>>,
}

impl Shared<'_> {
    fn claim(&self) -> Option<&Chain> {
        self.chains.get(self.next.fetch_add(1, Ordering::Relaxed))
    }

    fn request(&self, send: &std::sync::mpsc::Sender<Vec<Oid>>, chain: &Chain) {
        let batch = chain
            .blobs
            .iter()
            .map(|&b| self.table.oids[b as usize])
            .collect();
        // A closed channel means the reader is gone; reading will say so.
        let _ = send.send(batch);
    }
}

/// Scan `chains` of `table` with one worker per thread; each match keeps its blob id in
/// `commit` until commits are attributed.
pub fn scan_chains(
    engine: &Engine,
    git: &Git,
    table: &SizedTable,
    chains: &[Chain],
    display_prefix: &str,
    opts: &GitOptions,
    progress: &dyn Progress,
) -> Result<(Vec<SecretMatch>, ScanStats), GitError> {
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        opts.threads
    };
    let workers = threads.min(chains.len());
    let shared = Shared {
        engine,
        git,
        table,
        chains,
        next: AtomicUsize::new(0),
        display_prefix,
        opts,
        progress,
        found: Mutex::new(Vec::new()),
    };
    let results: Vec<Result<ScanStats, GitError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers).map(|_| s.spawn(|| worker(&shared))).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(GitError::Protocol {
                        path: git.repo().to_path_buf(),
                        command: "cat-file --batch".into(),
                        message: "a scanning worker stopped unexpectedly".into(),
                    })
                })
            })
            .collect()
    });
    let mut stats = ScanStats::default();
    for r in results {
        stats.merge(r?);
    }
    Ok((shared.found.into_inner().unwrap_or_default(), stats))
}

/// One worker: its own `cat-file` process, fed the next chain while it scans the current one.
fn worker(shared: &Shared<'_>) -> Result<ScanStats, GitError> {
    let (mut reader, send) = BlobReader::start(shared.git)?;
    let mut stats = ScanStats::default();
    let mut current = shared.claim();
    if let Some(c) = current {
        shared.request(&send, c);
    }
    while let Some(chain) = current {
        let upcoming = shared.claim();
        if let Some(u) = upcoming {
            shared.request(&send, u);
        }
        let found = scan_chain(shared, &mut reader, chain, &mut stats)?;
        if !found.is_empty() {
            if let Ok(mut f) = shared.found.lock() {
                f.extend(found);
            }
        }
        if shared.opts.is_cancelled() {
            break; // what was scanned is kept; the reader's process is ended on drop
        }
        current = upcoming;
    }
    drop(send);
    Ok(stats)
}

/// Read and scan one chain's blobs in order, each against the one before it.
fn scan_chain(
    shared: &Shared<'_>,
    reader: &mut BlobReader,
    chain: &Chain,
    stats: &mut ScanStats,
) -> Result<Vec<SecretMatch>, GitError> {
    let mut found = Vec::new();
    let mut previous: Option<(Vec<u8>, EditScan)> = None;
    for &blob in &chain.blobs {
        if shared.opts.is_cancelled() {
            break;
        }
        let path = join_display(shared.display_prefix, shared.table.path(blob));
        let asked = shared.table.oids[blob as usize];
        let (oid, data) = match reader.next_entry()? {
            crate::BatchEntry::Blob(oid, data) => (oid, data),
            crate::BatchEntry::Missing(oid) => {
                stats.skipped_unreadable += 1;
                stats.add_gap(format!(
                    "{path}: object {oid} is missing (partial or shallow clone, or a damaged pack)"
                ));
                previous = None;
                continue;
            }
        };
        if oid != asked.hex() {
            return Err(reader.out_of_step(&asked, &oid));
        }
        shared.progress.advance(data.len() as u64);
        if looks_binary(&data) {
            stats.skipped_binary += 1;
            previous = None;
            continue;
        }
        let scanned = match &previous {
            Some((old, before)) if shared.opts.incremental => {
                scan_edit(shared.engine, old, before, &data)
            }
            _ => scan_whole(shared.engine, &data),
        };
        stats.blobs_scanned += 1;
        stats.bytes_scanned += data.len() as u64;
        stats.bytes_matched += scanned.bytes_matched as u64;
        for m in first_occurrences(scanned.occurrences.clone()) {
            let mut m = shared.engine.secret_match(m, &path);
            // Remember the blob until commits are attributed.
            m.commit = Some(oid.clone());
            found.push(m);
        }
        previous = Some((data, scanned));
    }
    Ok(found)
}
