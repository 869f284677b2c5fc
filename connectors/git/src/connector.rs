//! `type = "git"` in sweep.toml: a local clone, its history when `history = true`.
use async_trait::async_trait;
use serde::Deserialize;
use std::path::PathBuf;
use trustmap_connector::{Connector, ConnectorError, Emitter, ErrorKind, SweepContext};
use trustmap_connector_filesystem::{rebase, scan_paths, FilesystemOptions};

use crate::{scan_history, GitError, GitOptions};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitConfig {
    /// The repository's work tree (or a bare repository), relative to sweep.toml's directory.
    pub path: PathBuf,
    /// Scan every blob ever committed (default true); false scans the work tree only.
    #[serde(default = "yes")]
    pub history: bool,
}

fn yes() -> bool {
    true
}

pub struct GitConnector {
    name: String,
    config: GitConfig,
}

impl GitConnector {
    pub fn new(name: String, config: GitConfig) -> Self {
        GitConnector { name, config }
    }
}

fn classify(e: &GitError) -> ErrorKind {
    match e {
        GitError::NotARepository { .. } => ErrorKind::NotFound,
        GitError::Spawn { .. } => ErrorKind::Config,
        GitError::Command { .. } | GitError::Protocol { .. } => ErrorKind::Data,
    }
}

#[async_trait]
impl Connector for GitConnector {
    fn kind(&self) -> &'static str {
        "git"
    }
    fn name(&self) -> &str {
        &self.name
    }
    async fn run(&self, ctx: &SweepContext, out: &Emitter) -> Result<(), ConnectorError> {
        let repo = ctx.resolve(&self.config.path);
        if !repo.exists() {
            return Err(ConnectorError::new(
                ErrorKind::NotFound,
                format!("{}: no such repository", repo.display()),
            ));
        }
        let shown = self.config.path.display().to_string();
        let history = self.config.history;
        let cancelled = ctx.cancelled.clone();
        let found = ctx
            .blocking(move |engine, progress| {
                let fs_opts = FilesystemOptions {
                    cancelled: Some(cancelled.clone()),
                    ..FilesystemOptions::default()
                };
                let (mut found, _) =
                    scan_paths(engine, std::slice::from_ref(&repo), &fs_opts, progress)
                        .map_err(|e| ConnectorError::new(ErrorKind::NotFound, e.to_string()))?;
                for m in &mut found {
                    m.path = rebase(&m.path, &repo, &shown);
                }
                if history {
                    let git_opts = GitOptions {
                        cancelled: Some(cancelled),
                        ..GitOptions::default()
                    };
                    let (h, _) = scan_history(engine, &repo, &shown, &git_opts, progress)
                        .map_err(|e| ConnectorError::new(classify(&e), e.to_string()))?;
                    // History carries the introducing commit; the working tree copy adds nothing.
                    found.retain(|w| {
                        !h.iter().any(|x| {
                            x.rule_id == w.rule_id && x.path == w.path && x.secret == w.secret
                        })
                    });
                    found.extend(h);
                }
                Ok(found)
            })
            .await?;
        ctx.check_cancelled()?;
        out.emit_secrets(&found).await
    }
}
