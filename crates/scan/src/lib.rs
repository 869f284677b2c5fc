//! `trustmap scan` as a library: which connectors to run over which paths, how their secret
//! matches become `leaked_secret` findings (one per problem, fingerprinted), and the baseline.
//!
//! Data flow: paths → filesystem connector (and git connector for repositories with `--git`,
//! or the staged index with `--staged`) → [`SecretMatch`]es → [`leaked_secret_finding`] →
//! dedup by id → baseline filter → [`ScanOutcome`]. A connector that fails is recorded in
//! [`ScanOutcome::failures`]; the others' findings are kept.
//!
//! It must not know about output formats or terminals: the CLI renders the outcome.

mod baseline;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use trustmap_connector_filesystem::{scan_paths, FilesystemOptions};
use trustmap_connector_git::{is_repository, scan_history, scan_staged, GitOptions};
use trustmap_model::{Finding, Progress, ScanStats, SecretMatch, Subject};
use trustmap_rules::Engine;

pub use baseline::{load_baseline, BaselineError};

/// What to scan and how.
#[derive(Debug, Clone, Default)]
pub struct ScanRequest {
    pub paths: Vec<PathBuf>,
    /// Also scan the history of the repositories among `paths`.
    pub git: bool,
    /// Scan only what is staged in the repositories among `paths` (pre-commit).
    pub staged: bool,
    pub max_file_size: Option<u64>,
    pub threads: usize,
    /// Put the secret itself in the findings (otherwise only a redacted form).
    pub show_secrets: bool,
    /// RFC 3339 time stamped on the findings as first and last seen.
    pub now: String,
}

/// A connector that could not do its job; its absence from the findings is a coverage gap.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConnectorFailure {
    pub connector: String,
    pub target: String,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct ScanOutcome {
    pub findings: Vec<Finding>,
    pub stats: ScanStats,
    pub failures: Vec<ConnectorFailure>,
    /// Findings left out because the baseline already had them.
    pub baselined: usize,
}

/// `stats` of a scan's `--format json`: what was read, what was skipped and why, failures.
#[derive(Debug, serde::Serialize)]
pub struct ScanReport<'a> {
    pub findings: usize,
    pub by_severity: std::collections::BTreeMap<&'static str, usize>,
    pub baselined: usize,
    /// Files and blobs read, skipped (and why), and the coverage gaps.
    #[serde(flatten)]
    pub stats: &'a ScanStats,
    pub connector_failures: &'a [ConnectorFailure],
    /// Wall time, rounded to milliseconds.
    pub seconds: f64,
}

impl ScanOutcome {
    /// Findings by severity.
    pub fn by_severity(&self) -> std::collections::BTreeMap<&'static str, usize> {
        let mut counts = std::collections::BTreeMap::new();
        for f in &self.findings {
            *counts.entry(f.severity.as_str()).or_insert(0) += 1;
        }
        counts
    }

    /// What was scanned, how fast, what was skipped and found, one line each: the terminal
    /// summary (plain text; the caller decides where it goes).
    pub fn summary_text(&self, seconds: f64) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let s = &self.stats;
        let mb = s.bytes_scanned as f64 / 1e6;
        let rate = if seconds > 0.0 { mb / seconds } else { 0.0 };
        let _ = writeln!(
            out,
            "scanned {} files and {} git blobs, {mb:.1} MB in {seconds:.2}s ({rate:.1} MB/s)",
            s.files_scanned, s.blobs_scanned
        );
        if s.bytes_matched < s.bytes_scanned {
            // Later versions in a history are matched only where they changed.
            let _ = writeln!(
                out,
                "matched {:.1} MB: later versions of a file only where they changed",
                s.bytes_matched as f64 / 1e6
            );
        }
        let skipped =
            s.skipped_binary + s.skipped_oversized + s.skipped_unreadable + s.skipped_ignored;
        if skipped > 0 {
            let _ = writeln!(
                out,
                "skipped {skipped}: {} binary, {} oversized, {} unreadable, {} ignored",
                s.skipped_binary, s.skipped_oversized, s.skipped_unreadable, s.skipped_ignored
            );
            for g in s.gaps.iter().take(5) {
                let _ = writeln!(out, "  {g}");
            }
            if s.gaps.len() > 5 {
                let _ = writeln!(out, "  ... {} more in the json stats", s.gaps.len() - 5);
            }
        }
        let counts = self.by_severity();
        let parts: Vec<String> = trustmap_model::Severity::ALL
            .iter()
            .filter_map(|sev| counts.get(sev.as_str()).map(|n| format!("{n} {sev}")))
            .collect();
        if self.findings.is_empty() {
            let _ = writeln!(out, "no findings");
        } else {
            let _ = writeln!(
                out,
                "{} findings: {}",
                self.findings.len(),
                parts.join(", ")
            );
        }
        if self.baselined > 0 {
            let _ = writeln!(
                out,
                "{} findings already in the baseline were left out",
                self.baselined
            );
        }
        // Paths and gaps come from what was scanned: nothing in them may drive the terminal.
        trustmap_model::text::for_terminal_lines(&out)
    }

    /// The typed statistics of this scan, which took `seconds`.
    pub fn report(&self, seconds: f64) -> ScanReport<'_> {
        ScanReport {
            findings: self.findings.len(),
            by_severity: self.by_severity(),
            baselined: self.baselined,
            stats: &self.stats,
            connector_failures: &self.failures,
            seconds: (seconds * 1000.0).round() / 1000.0,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("{0}: no such file or directory")]
    PathNotFound(PathBuf),
    #[error("{0}: --staged needs a git repository")]
    NotARepository(PathBuf),
    #[error(transparent)]
    Filesystem(#[from] trustmap_connector_filesystem::FilesystemError),
}

/// Run a scan. Usage errors (missing paths) are `Err`; connector failures are in the outcome.
pub fn run_scan(
    engine: &Engine,
    req: &ScanRequest,
    progress: &dyn Progress,
) -> Result<ScanOutcome, ScanError> {
    run_scan_verified(engine, req, progress, &mut |_| {})
}

/// [`run_scan`], with `verify` given every match while the values are still in hand (it fills
/// their `verification`: `--verify`), before they become findings.
pub fn run_scan_verified(
    engine: &Engine,
    req: &ScanRequest,
    progress: &dyn Progress,
    verify: &mut dyn FnMut(&mut [SecretMatch]),
) -> Result<ScanOutcome, ScanError> {
    for p in &req.paths {
        if std::fs::symlink_metadata(p).is_err() {
            return Err(ScanError::PathNotFound(p.clone()));
        }
    }
    let max = req
        .max_file_size
        .unwrap_or(FilesystemOptions::default().max_file_size);
    let mut outcome = ScanOutcome::default();
    let mut matches: Vec<SecretMatch> = Vec::new();

    if req.staged {
        for p in &req.paths {
            if !is_repository(p) {
                return Err(ScanError::NotARepository(p.clone()));
            }
            match scan_staged(engine, p, &display(p), progress) {
                Ok((m, s)) => {
                    matches.extend(m);
                    outcome.stats.merge(s);
                }
                Err(e) => outcome.failures.push(failure("git", p, e.to_string())),
            }
        }
    } else {
        let fs_opts = FilesystemOptions {
            max_file_size: max,
            threads: req.threads,
            cancelled: None,
        };
        match scan_paths(engine, &req.paths, &fs_opts, progress) {
            Ok((m, s)) => {
                matches.extend(m);
                outcome.stats.merge(s);
            }
            Err(e) => return Err(e.into()),
        }
        if req.git {
            let git_opts = GitOptions {
                max_file_size: max,
                threads: req.threads,
                ..GitOptions::default()
            };
            for p in req.paths.iter().filter(|p| p.is_dir() && is_repository(p)) {
                match scan_history(engine, p, &display(p), &git_opts, progress) {
                    Ok((m, s)) => {
                        matches.extend(m);
                        outcome.stats.merge(s);
                    }
                    Err(e) => {
                        outcome.stats.add_gap(e.to_string());
                        outcome.failures.push(failure("git", p, e.to_string()));
                    }
                }
            }
        }
    }

    verify(&mut matches);
    let mut by_id: HashMap<String, Finding> = HashMap::new();
    for m in &matches {
        let f = leaked_secret_finding(m, &req.now, req.show_secrets);
        match by_id.get(&f.id) {
            // The same secret in the working tree and in history: keep the dated (history)
            // place, which says when it was introduced.
            Some(existing) if has_commit(existing) || !has_commit(&f) => {}
            _ => {
                by_id.insert(f.id.clone(), f);
            }
        }
    }
    let mut findings: Vec<Finding> = by_id.into_values().collect();
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| location_key(a).cmp(&location_key(b)))
            .then_with(|| a.id.cmp(&b.id))
    });
    outcome.findings = findings;
    Ok(outcome)
}

/// Drop the findings whose id the baseline holds; returns how many were dropped.
pub fn apply_baseline(outcome: &mut ScanOutcome, known: &std::collections::HashSet<String>) {
    let before = outcome.findings.len();
    outcome.findings.retain(|f| !known.contains(&f.id));
    outcome.baselined = before - outcome.findings.len();
}

fn has_commit(f: &Finding) -> bool {
    f.location.as_ref().is_some_and(|l| l.commit.is_some())
}

fn location_key(f: &Finding) -> (String, u64, u64) {
    f.location
        .as_ref()
        .map(|l| (l.path.clone(), l.line, l.column))
        .unwrap_or_default()
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

fn failure(connector: &str, target: &Path, message: String) -> ConnectorFailure {
    ConnectorFailure {
        connector: connector.into(),
        target: target.display().to_string(),
        message,
    }
}

/// The `leaked_secret` finding for one secret match: the model's one recipe
/// ([`trustmap_model::leaked_secret_finding`]), plus what only a content scan knows (entropy,
/// encoding, the other places the same blob appeared).
pub fn leaked_secret_finding(m: &SecretMatch, now: &str, show_secrets: bool) -> Finding {
    let digest = m.secret.digest();
    let provider = m
        .hints
        .get("provider")
        .map(String::as_str)
        .unwrap_or("unknown");
    let credential = m
        .hints
        .get("credential")
        .map(String::as_str)
        .unwrap_or("secret");
    let mut f = trustmap_model::leaked_secret_finding(
        trustmap_model::Leak {
            rule: &m.rule_id,
            rule_name: &m.rule_name,
            severity: m
                .verification
                .as_ref()
                .map_or(m.severity, |v| v.adjust(m.severity, false)),
            digest: &digest,
            shown: if show_secrets {
                m.secret.expose().to_string()
            } else {
                m.secret.redacted()
            },
            path: &m.path,
            line: m.line,
            column: m.column,
            commit: m.commit.as_deref(),
            commit_date: m.commit_date.as_deref(),
            hints: &m.hints,
            remediation: m.remediation.as_deref(),
            verification: m.verification.as_ref(),
            subject: Subject {
                id: format!("secret:{digest}"),
                kind: format!("{provider}_{credential}"),
                name: m.rule_name.clone(),
            },
        },
        now,
    );
    f.evidence.insert(
        "entropy".into(),
        ((m.entropy * 100.0).round() / 100.0).into(),
    );
    if let Some(enc) = &m.encoding {
        f.evidence.insert("encoding".into(), enc.clone().into());
    }
    if !m.also_seen_in.is_empty() {
        f.evidence
            .insert("also_seen_in".into(), m.also_seen_in.clone().into());
    }
    f
}
