//! `type = "filesystem"` in sweep.toml.
use async_trait::async_trait;
use serde::Deserialize;
use std::path::PathBuf;
use trustmap_connector::{Connector, ConnectorError, Emitter, ErrorKind, SweepContext};

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
            cancelled: Some(ctx.cancelled.clone()),
        };
        let shown = self.config.path.display().to_string();
        let matches = ctx
            .blocking(move |engine, progress| {
                let (mut found, _) =
                    scan_paths(engine, std::slice::from_ref(&path), &opts, progress)
                        .map_err(|e| ConnectorError::new(ErrorKind::NotFound, e.to_string()))?;
                for m in &mut found {
                    m.path = rebase(&m.path, &path, &shown);
                }
                Ok(found)
            })
            .await?;
        ctx.check_cancelled()?;
        out.emit_secrets(&matches).await
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
