//! Thin wrappers over git's plumbing commands, each with errors that name the repository.
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

pub use crate::oid::Oid;
use crate::GitError;

/// True when `path` is the top of a work tree or a bare repository.
pub fn is_repository(path: &Path) -> bool {
    if path.join(".git").exists() {
        return true;
    }
    Command::new("git")
        .arg("-C")
        .arg(path)
        .args(["rev-parse", "--is-bare-repository"])
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout.starts_with(b"true"))
}

pub struct Git {
    repo: PathBuf,
}

/// What `cat-file --batch-check` says of one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    Blob(u64),
    /// Not a blob (an annotated tag).
    Other,
    /// Not in the repository.
    Missing,
}

/// What dates findings: every commit's changes, as raw entries.
const LOG_ARGS: [&str; 9] = [
    "log",
    "--all",
    "--root",
    "-m",
    "--raw",
    "--no-abbrev",
    "--no-renames",
    "-z",
    "--format=%x01%H %ct",
];

/// A running `git log --raw`, its output spooled to a file ([`Git::start_log`]). Dropped
/// unread, the process is ended.
pub struct LogSpool {
    git: Git,
    child: Child,
    stderr: Option<std::thread::JoinHandle<Vec<u8>>>,
    spool: std::fs::File,
}

impl LogSpool {
    /// For each wanted blob, every (commit, path) whose change introduced it, earliest first.
    pub fn introductions(
        mut self,
        wanted: &HashSet<String>,
    ) -> Result<HashMap<String, Vec<Introduction>>, GitError> {
        let command = LOG_ARGS.join(" ");
        let status = self
            .child
            .wait()
            .map_err(|source| self.git.spawn_failed(source))?;
        let err = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        if !status.success() {
            return Err(self.git.failed(&command, &err));
        }
        let mut spool = &self.spool;
        std::io::Seek::rewind(&mut spool)
            .map_err(|e| self.git.protocol(&command, &e.to_string()))?;
        let mut found: HashMap<String, Vec<Introduction>> = HashMap::new();
        let mut commit = String::new();
        let mut time = 0i64;
        // A raw entry is two NUL-separated tokens: ":modes oids status", then the path.
        let mut new_oid: Option<String> = None;
        let reader = BufReader::with_capacity(1 << 16, spool);
        for_each_record(reader, 0, |tok| {
            let tok = tok.strip_prefix(b"\n").unwrap_or(tok);
            if let Some(oid) = new_oid.take() {
                if wanted.contains(&oid) {
                    let path = String::from_utf8_lossy(tok).into_owned();
                    let list = found.entry(oid).or_default();
                    if !list.iter().any(|i| i.commit == commit && i.path == path) {
                        list.push(Introduction {
                            commit: commit.clone(),
                            date: rfc3339(time),
                            path,
                            time,
                        });
                    }
                }
            } else if let Some(header) = tok.strip_prefix(b"\x01") {
                let header = String::from_utf8_lossy(header);
                let mut it = header.split(' ');
                commit = it.next().unwrap_or_default().to_string();
                time = it.next().and_then(|t| t.parse().ok()).unwrap_or(0);
            } else if let Some(meta) = tok.strip_prefix(b":") {
                // ":old_mode new_mode old_oid new_oid status"
                let meta = String::from_utf8_lossy(meta);
                new_oid = Some(meta.split(' ').nth(3).unwrap_or_default().to_string());
            }
        })
        .map_err(|e| self.git.protocol(&command, &e.to_string()))?;
        for list in found.values_mut() {
            list.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.commit.cmp(&b.commit)));
        }
        Ok(found)
    }
}

impl Drop for LogSpool {
    fn drop(&mut self) {
        if self.stderr.is_some() {
            // Not read: nothing was found, or the scan stopped.
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Hand each `separator`-terminated record of `r` to `each`, one at a time.
fn for_each_record(
    mut r: impl BufRead,
    separator: u8,
    mut each: impl FnMut(&[u8]),
) -> std::io::Result<()> {
    let mut record = Vec::with_capacity(256);
    loop {
        record.clear();
        if r.read_until(separator, &mut record)? == 0 {
            return Ok(());
        }
        each(record.strip_suffix(&[separator]).unwrap_or(&record));
    }
}

/// One line of the object listing.
#[derive(Debug)]
pub enum Listed<'a> {
    /// An object and the path it was first seen under (raw bytes, as git wrote them).
    Object(Oid, &'a [u8]),
    /// Reachable, but not in the repository.
    Missing(Oid),
}

/// Read a child's stderr to its end on a thread of its own, so that a chatty child never
/// blocks on a full pipe while its stdout is read.
fn drain(stderr: Option<std::process::ChildStderr>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut e) = stderr {
            let _ = e.read_to_end(&mut buf);
        }
        buf
    })
}

/// Where a blob entered history.
#[derive(Debug, Clone)]
pub struct Introduction {
    pub commit: String,
    pub date: String,
    pub path: String,
    time: i64,
}

impl Git {
    pub fn open(repo: &Path) -> Result<Self, GitError> {
        let git = Git {
            repo: repo.to_path_buf(),
        };
        let out = git
            .command(&["rev-parse", "--git-dir"])
            .output()
            .map_err(|source| GitError::Spawn {
                path: repo.to_path_buf(),
                source,
            })?;
        if !out.status.success() {
            return Err(GitError::NotARepository {
                path: repo.to_path_buf(),
            });
        }
        Ok(git)
    }

    pub fn repo(&self) -> &Path {
        &self.repo
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("git");
        c.arg("-C")
            .arg(&self.repo)
            .args(["-c", "core.quotePath=false"])
            // Map packs in windows and give them back: the touched pages of a whole mapped
            // pack count as the process's memory (hundreds of megabytes on a long history),
            // while reading through windows costs next to nothing.
            .args(["-c", "core.packedGitWindowSize=32m"])
            .args(["-c", "core.packedGitLimit=128m"])
            .args(args)
            .env("LC_ALL", "C")
            .env("GIT_TERMINAL_PROMPT", "0");
        c
    }

    fn failed(&self, command: &str, stderr: &[u8]) -> GitError {
        GitError::Command {
            path: self.repo.clone(),
            command: command.to_string(),
            message: String::from_utf8_lossy(stderr).trim().to_string(),
        }
    }

    fn run(&self, args: &[&str]) -> Result<Vec<u8>, GitError> {
        let out = self
            .command(args)
            .output()
            .map_err(|source| GitError::Spawn {
                path: self.repo.clone(),
                source,
            })?;
        if !out.status.success() {
            return Err(self.failed(&args.join(" "), &out.stderr));
        }
        Ok(out.stdout)
    }

    fn has_refs(&self) -> Result<bool, GitError> {
        Ok(!self
            .run(&["for-each-ref", "--count=1", "--format=%(refname)"])?
            .is_empty())
    }

    /// Every blob reachable from any ref, once each with the first path it was seen under,
    /// newest first, streamed to `each` as git prints it (nothing is held here, however long
    /// the history). The reachable objects the repository lacks (a partial or shallow clone,
    /// a damaged pack) come as [`Listed::Missing`]: listed, never fetched. Annotated tags are
    /// listed too (by their name); sizing tells them apart.
    pub fn for_each_blob(&self, mut each: impl FnMut(Listed<'_>)) -> Result<(), GitError> {
        if !self.has_refs()? {
            return Ok(()); // an empty repository has no history yet
        }
        let args = [
            "rev-list",
            "--objects",
            "--all",
            "--missing=print",
            "--filter=object:type=blob",
        ];
        self.stream(&args, b'\n', |l| {
            if let Some(oid) = l.strip_prefix(b"?") {
                if let Some(oid) = Oid::from_hex(oid) {
                    each(Listed::Missing(oid));
                }
            } else if let Some(sp) = memchr::memchr(b' ', l) {
                // Commits come without a path; objects with one.
                if let Some(oid) = Oid::from_hex(&l[..sp]) {
                    each(Listed::Object(oid, &l[sp + 1..]));
                }
            }
        })
    }

    /// Run git and hand each `separator`-terminated record of its output to `each` as it
    /// arrives; nothing is held beyond one record.
    fn stream(
        &self,
        args: &[&str],
        separator: u8,
        each: impl FnMut(&[u8]),
    ) -> Result<(), GitError> {
        let command = args.join(" ");
        let mut child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| self.spawn_failed(source))?;
        let stderr = drain(child.stderr.take());
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| self.protocol(&command, "no stdout"))?;
        let read = for_each_record(BufReader::with_capacity(1 << 16, stdout), separator, each)
            .map_err(|e| self.protocol(&command, &e.to_string()));
        let status = child.wait().map_err(|source| self.spawn_failed(source))?;
        let err = stderr.join().unwrap_or_default();
        if !status.success() {
            return Err(self.failed(&command, &err));
        }
        read
    }

    /// The size of each of `oids` that is a blob (`None` for other objects and missing ones),
    /// in the order asked, to `each(index, size)`.
    pub fn blob_sizes(
        &self,
        oids: std::sync::Arc<Vec<Oid>>,
        mut each: impl FnMut(usize, Checked),
    ) -> Result<(), GitError> {
        let command = "cat-file --batch-check";
        let mut child = self
            .command(&["cat-file", "--batch-check=%(objecttype) %(objectsize)"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| self.spawn_failed(source))?;
        let stderr = drain(child.stderr.take());
        let mut stdin = child
            .stdin
            .take()
            .ok_or_else(|| self.protocol("cat-file", "no stdin"))?;
        let asked = oids.clone();
        // A separate writer keeps git's output pipe draining while we feed its input.
        let writer = std::thread::spawn(move || {
            let mut w = std::io::BufWriter::new(&mut stdin);
            for oid in asked.iter() {
                w.write_all(oid.hex().as_bytes())?;
                w.write_all(b"\n")?;
            }
            w.flush()
        });
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| self.protocol("cat-file", "no stdout"))?;
        let mut r = BufReader::with_capacity(1 << 16, stdout);
        let mut line = String::new();
        for i in 0..oids.len() {
            line.clear();
            match r.read_line(&mut line) {
                Ok(0) => return Err(self.protocol(command, "answered fewer objects than asked")),
                Ok(_) => {}
                Err(e) => return Err(self.protocol(command, &e.to_string())),
            }
            // "<type> <size>", or "<oid> missing" for what the repository lacks.
            let mut it = line.trim_end().split(' ');
            let sized = match (it.next(), it.next()) {
                (Some("blob"), Some(size)) => size.parse().map_or(Checked::Other, Checked::Blob),
                (Some(_), Some("missing" | "ambiguous")) => Checked::Missing,
                _ => Checked::Other,
            };
            each(i, sized);
        }
        drop(r);
        let _ = writer.join();
        let status = child.wait().map_err(|source| self.spawn_failed(source))?;
        let err = stderr.join().unwrap_or_default();
        if !status.success() {
            return Err(self.failed(command, &err));
        }
        Ok(())
    }

    fn spawn_failed(&self, source: std::io::Error) -> GitError {
        GitError::Spawn {
            path: self.repo.clone(),
            source,
        }
    }

    fn protocol(&self, command: &str, message: &str) -> GitError {
        GitError::Protocol {
            path: self.repo.clone(),
            command: command.into(),
            message: message.into(),
        }
    }

    /// Start `log --raw` over all history, its output spooled to an unnamed temporary file:
    /// it runs while the history is listed and scanned (git works on one core while the
    /// listing waits on another), and is read only if something was found.
    pub fn start_log(&self) -> Result<LogSpool, GitError> {
        let spool = tempfile::tempfile().map_err(|source| self.spawn_failed(source))?;
        let out = spool
            .try_clone()
            .map_err(|source| self.spawn_failed(source))?;
        let mut child = self
            .command(&LOG_ARGS)
            .stdout(out)
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| self.spawn_failed(source))?;
        let stderr = drain(child.stderr.take());
        Ok(LogSpool {
            git: Git {
                repo: self.repo.clone(),
            },
            child,
            stderr: Some(stderr),
            spool,
        })
    }

    /// Blobs staged in the index that differ from HEAD (added, copied, modified).
    pub fn staged_blobs(&self) -> Result<Vec<(String, String)>, GitError> {
        let out = self.run(&[
            "diff",
            "--cached",
            "--raw",
            "-z",
            "--no-abbrev",
            "--no-renames",
            "--diff-filter=ACMT",
        ])?;
        let mut blobs = Vec::new();
        let mut tokens = out
            .split(|&b| b == 0)
            .map(|t| String::from_utf8_lossy(t).into_owned());
        while let Some(tok) = tokens.next() {
            if let Some(meta) = tok.strip_prefix(':') {
                let path = tokens.next().unwrap_or_default();
                if let Some(oid) = meta.split(' ').nth(3) {
                    blobs.push((oid.to_string(), path));
                }
            }
        }
        Ok(blobs)
    }

    /// Line ranges (1-based, inclusive) that the staged change adds, per path.
    pub fn staged_added_lines(&self) -> Result<HashMap<String, Vec<(u64, u64)>>, GitError> {
        let out = self.run(&[
            "diff",
            "--cached",
            "-U0",
            "--no-color",
            "--no-ext-diff",
            "--no-renames",
            "--diff-filter=ACMT",
            "--src-prefix=a/",
            "--dst-prefix=b/",
        ])?;
        let mut ranges: HashMap<String, Vec<(u64, u64)>> = HashMap::new();
        let mut current: Option<String> = None;
        for line in out.split(|&b| b == b'\n') {
            if let Some(p) = line.strip_prefix(b"+++ ") {
                let p = String::from_utf8_lossy(p);
                let p = p.trim_matches('"');
                current = p.strip_prefix("b/").map(str::to_string);
            } else if line.starts_with(b"@@ ") {
                // "@@ -a,b +c,d @@": the added side starts at c and spans d lines (1 if absent).
                let text = String::from_utf8_lossy(line);
                let Some(plus) = text.split(' ').find(|t| t.starts_with('+')) else {
                    continue;
                };
                let mut nums = plus[1..].split(',');
                let start: u64 = nums.next().and_then(|n| n.parse().ok()).unwrap_or(0);
                let count: u64 = nums.next().and_then(|n| n.parse().ok()).unwrap_or(1);
                if let (Some(path), true) = (&current, count > 0) {
                    ranges
                        .entry(path.clone())
                        .or_default()
                        .push((start, start + count - 1));
                }
            }
        }
        Ok(ranges)
    }
}

fn rfc3339(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch, 0)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Streams blob contents from one `git cat-file --batch` process, asked for in batches.
pub struct BlobReader {
    child: Child,
    stdout: BufReader<ChildStdout>,
    writer: Option<std::thread::JoinHandle<std::io::Result<()>>>,
    repo: PathBuf,
}

impl BlobReader {
    /// Start the process; each batch of ids sent on the returned channel is answered in
    /// order. Dropping the sender ends the process's input.
    pub fn start(git: &Git) -> Result<(Self, std::sync::mpsc::Sender<Vec<Oid>>), GitError> {
        let mut child = git
            .command(&["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| git.spawn_failed(source))?;
        let mut stdin = child
            .stdin
            .take()
            .ok_or_else(|| git.protocol("cat-file", "no stdin"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| git.protocol("cat-file", "no stdout"))?;
        let (send, batches) = std::sync::mpsc::channel::<Vec<Oid>>();
        // A separate writer keeps git's output pipe draining while we feed its input.
        let writer = std::thread::spawn(move || {
            let mut w = std::io::BufWriter::new(&mut stdin);
            for batch in batches {
                for oid in batch {
                    w.write_all(oid.hex().as_bytes())?;
                    w.write_all(b"\n")?;
                }
                w.flush()?;
            }
            Ok(())
        });
        Ok((
            BlobReader {
                child,
                stdout: BufReader::with_capacity(1 << 20, stdout),
                writer: Some(writer),
                repo: git.repo.clone(),
            },
            send,
        ))
    }

    fn protocol(&self, message: String) -> GitError {
        GitError::Protocol {
            path: self.repo.clone(),
            command: "cat-file --batch".into(),
            message,
        }
    }

    fn next_blob(&mut self) -> Result<Option<BatchEntry>, GitError> {
        read_batch_entry(&mut self.stdout).map_err(|m| self.protocol(m))
    }

    /// The answer to the next object asked for; the process ending first is an error.
    pub fn next_entry(&mut self) -> Result<BatchEntry, GitError> {
        self.next_blob()?
            .ok_or_else(|| self.protocol("ended before answering every object asked".into()))
    }

    /// The error for an answer about another object than the one asked.
    pub fn out_of_step(&self, asked: &Oid, got: &str) -> GitError {
        self.protocol(format!("asked for {asked}, got {got}"))
    }
}

/// One entry of `git cat-file --batch` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchEntry {
    Blob(String, Vec<u8>),
    /// Asked for but not in the repository (a partial or shallow clone, a damaged pack).
    Missing(String),
}

/// The longest header line `cat-file --batch` writes (an object id, a type and a size).
const MAX_HEADER: u64 = 512;

/// Read one entry of `git cat-file --batch` output; `Ok(None)` at its end. Memory grows with
/// the bytes that actually arrive, never with what a header claims.
pub fn read_batch_entry<R: BufRead>(r: &mut R) -> Result<Option<BatchEntry>, String> {
    let mut header = String::new();
    let n = r
        .by_ref()
        .take(MAX_HEADER)
        .read_line(&mut header)
        .map_err(|e| format!("unreadable header: {e}"))?;
    if n == 0 {
        return Ok(None);
    }
    if !header.ends_with('\n') {
        return Err(format!(
            "bad header {:?}",
            header.chars().take(80).collect::<String>()
        ));
    }
    let mut it = header.trim_end().split(' ');
    let oid = it.next().unwrap_or_default().to_string();
    match (it.next(), it.next(), it.next()) {
        (Some("missing" | "ambiguous"), None, None) => Ok(Some(BatchEntry::Missing(oid))),
        (Some(_kind), Some(size), None) => {
            let size: u64 = size.parse().map_err(|_| format!("bad header {header:?}"))?;
            let mut data = Vec::new();
            r.by_ref()
                .take(size)
                .read_to_end(&mut data)
                .map_err(|e| format!("object {oid} unreadable: {e}"))?;
            if (data.len() as u64) < size {
                return Err(format!(
                    "object {oid} cut short: {} of {size} bytes",
                    data.len()
                ));
            }
            let mut newline = [0u8; 1];
            match r.read(&mut newline) {
                Ok(1) if newline[0] == b'\n' => Ok(Some(BatchEntry::Blob(oid, data))),
                _ => Err(format!("object {oid}: no newline after its {size} bytes")),
            }
        }
        _ => Err(format!("bad header {header:?}")),
    }
}

impl Drop for BlobReader {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The writer ends once its channel's sender is gone and the killed process's pipe
        // refuses its writes; joining it here could wait on a sender still held elsewhere.
        drop(self.writer.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(wire: &[u8]) -> Vec<Result<BatchEntry, String>> {
        let mut r = std::io::Cursor::new(wire);
        let mut out = Vec::new();
        loop {
            match read_batch_entry(&mut r) {
                Ok(Some(e)) => out.push(Ok(e)),
                Ok(None) => return out,
                Err(e) => {
                    out.push(Err(e));
                    return out;
                }
            }
        }
    }

    #[test]
    fn blobs_and_missing_objects_are_read_in_order() {
        let got = entries(b"aaaa blob 3\nabc\nbbbb missing\ncccc blob 0\n\n");
        assert_eq!(
            got,
            vec![
                Ok(BatchEntry::Blob("aaaa".into(), b"abc".to_vec())),
                Ok(BatchEntry::Missing("bbbb".into())),
                Ok(BatchEntry::Blob("cccc".into(), Vec::new())),
            ]
        );
    }

    /// A header claiming a size the stream never delivers: before, a buffer of the claimed
    /// size was allocated up front (`size + 1` even overflowed on `u64::MAX`).
    #[test]
    fn regression_huge_claimed_size_allocates_only_what_arrives() {
        let got = entries(b"aaaa blob 18446744073709551615\nabc");
        assert!(
            matches!(&got[..], [Err(e)] if e.contains("cut short: 3 of")),
            "{got:?}"
        );
        let got = entries(b"aaaa blob 99999999999999999999999\n");
        assert!(
            matches!(&got[..], [Err(e)] if e.contains("bad header")),
            "{got:?}"
        );
    }

    #[test]
    fn a_header_without_end_or_a_blob_without_its_newline_is_an_error() {
        let long = vec![b'a'; 4096];
        assert!(matches!(&entries(&long)[..], [Err(e)] if e.contains("bad header")));
        assert!(matches!(&entries(b"aaaa blob 3\nabcX")[..], [Err(e)] if e.contains("no newline")));
    }
}
