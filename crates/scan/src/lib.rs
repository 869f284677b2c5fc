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
use trustmap_model::{
    fingerprint, Finding, FindingKind, FindingStatus, Location, Progress, ScanStats, SecretMatch,
    Subject,
};
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
#[derive(Debug, Clone)]
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
        };
        match scan_paths(engine, &req.paths, &fs_opts, progress) {
            Ok((m, s)) => {
                matches.extend(m);
                outcome.stats.merge(s);
            }
            Err(e) => return Err(e.into()),
        }
        if req.git {
            let git_opts = GitOptions { max_file_size: max };
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

    let mut by_id: HashMap<String, Finding> = HashMap::new();
    for m in &matches {
        let f = leaked_secret_finding(engine, m, &req.now, req.show_secrets);
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

const DEFAULT_REMEDIATION: &str = "Revoke or rotate the secret at its issuer, move it into a secret manager, and remove it from the file and from git history.";

/// The `leaked_secret` finding for one secret match.
///
/// The id covers the rule, the path and a digest of the secret, never line, column or commit,
/// so it survives unrelated edits, reruns and the same secret being recommitted.
pub fn leaked_secret_finding(
    engine: &Engine,
    m: &SecretMatch,
    now: &str,
    show_secrets: bool,
) -> Finding {
    let digest = m.secret.digest();
    let id = fingerprint(&[
        FindingKind::LeakedSecret.as_str(),
        &m.rule_id,
        &m.path,
        &digest,
    ]);
    let mut evidence = serde_json::Map::new();
    let shown = if show_secrets {
        m.secret.expose().to_string()
    } else {
        m.secret.redacted()
    };
    evidence.insert("secret".into(), shown.into());
    evidence.insert("secret_digest".into(), digest.clone().into());
    evidence.insert("rule_name".into(), m.rule_name.clone().into());
    evidence.insert(
        "entropy".into(),
        ((m.entropy * 100.0).round() / 100.0).into(),
    );
    if let Some(enc) = &m.encoding {
        evidence.insert("encoding".into(), enc.clone().into());
    }
    let hints: serde_json::Map<String, serde_json::Value> = m
        .hints
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    evidence.insert("reveals".into(), hints.into());
    if !m.also_seen_in.is_empty() {
        evidence.insert("also_seen_in".into(), m.also_seen_in.clone().into());
    }
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
    Finding {
        id,
        kind: FindingKind::LeakedSecret,
        severity: m.severity,
        title: format!("{} in {}", m.rule_name, m.path),
        subject: Subject {
            id: format!("secret:{digest}"),
            kind: format!("{provider}_{credential}"),
            name: m.rule_name.clone(),
        },
        partner: None,
        chain: Vec::new(),
        rule: Some(m.rule_id.clone()),
        location: Some(Location {
            path: m.path.clone(),
            line: m.line,
            column: m.column,
            commit: m.commit.clone(),
            commit_date: m.commit_date.clone(),
        }),
        evidence,
        remediation: engine
            .remediation(&m.rule_id)
            .unwrap_or(DEFAULT_REMEDIATION)
            .to_string(),
        references: vec!["OWASP-NHI2".into(), "CWE-798".into()],
        status: FindingStatus::New,
        first_seen: now.to_string(),
        last_seen: now.to_string(),
    }
}
