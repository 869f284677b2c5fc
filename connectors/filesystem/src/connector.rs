//! `type = "filesystem"` in sweep.toml.
use async_trait::async_trait;
use serde::Deserialize;
use std::path::PathBuf;
use trustmap_connector::{Connector, ConnectorError, Emitter, ErrorKind, SweepContext};
use trustmap_model::{Observation, SecretObs};

use crate::{scan_paths, FilesystemOptions};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesystemConfig {
    /// A file or directory, relative to sweep.toml's directory.
    pub path: PathBuf,
    /// Skip files larger than this many MiB (default 64).
    #[serde(default)]
    pub max_file_size_mb: Option<u64>,
}

pub struct FilesystemConnector {
    name: String,
    config: FilesystemConfig,
}

impl FilesystemConnector {
    pub fn new(name: String, config: FilesystemConfig) -> Self {
        FilesystemConnector { name, config }
    }
}

#[async_trait]
impl Connector for FilesystemConnector {
    fn kind(&self) -> &'static str {
        "filesystem"
    }
    fn name(&self) -> &str {
        &self.name
    }
    async fn run(&self, ctx: &SweepContext, out: &Emitter) -> Result<(), ConnectorError> {
        let path = ctx.resolve(&self.config.path);
        let opts = FilesystemOptions {
            max_file_size: self.config.max_file_size_mb.unwrap_or(64) * 1024 * 1024,
            threads: 0,
        };
        let _permit = ctx
            .budget
            .acquire()
            .await
            .map_err(|e| ConnectorError::new(ErrorKind::Transient, e.to_string()))?;
        let engine = ctx.engine.clone();
        let progress = ctx.progress.clone();
        let shown = self.config.path.display().to_string();
        let (matches, _stats) = tokio::task::spawn_blocking(move || {
            scan_paths(
                &engine,
                std::slice::from_ref(&path),
                &opts,
                progress.as_ref(),
            )
            .map(|(mut m, s)| {
                for x in &mut m {
                    x.path = rebase(&x.path, &path, &shown);
                }
                (m, s)
            })
        })
        .await
        .map_err(|e| ConnectorError::new(ErrorKind::Transient, e.to_string()))?
        .map_err(|e| ConnectorError::new(ErrorKind::NotFound, e.to_string()))?;
        for m in &matches {
            out.emit(Observation::Secret(SecretObs::from(m))).await?;
        }
        Ok(())
    }
}

/// A path under `resolved` shown under `given` (as written in sweep.toml), so findings do not
/// depend on where the sweep ran.
pub fn rebase(path: &str, resolved: &std::path::Path, given: &str) -> String {
    match path.strip_prefix(&resolved.display().to_string()) {
        Some(inner) => format!("{}{inner}", given.trim_end_matches('/')),
        None => path.to_string(),
    }
}
