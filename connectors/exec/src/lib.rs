//! The `exec` connector: a source written in any language. trustmap runs `command` with `args`
//! (no shell), reads one observation per line of its stdout (docs/observations.md) and emits
//! them. A line that is not a valid observation fails the connector with the line number and
//! the field at fault, after the valid lines before it were emitted; a non-zero exit fails it
//! with the program's stderr; `timeout_seconds` bounds the run.
//!
//! It knows nothing about what the program enumerates, nor about partners or findings.

use async_trait::async_trait;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use trustmap_connector::{Connector, ConnectorError, Emitter, ErrorKind, SweepContext};
use trustmap_model::Observation;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecConfig {
    pub command: String,
    #[serde(default)]
    pub args: Vec<String>,
    /// Extra environment variables for the program.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Working directory (default: sweep.toml's directory).
    #[serde(default)]
    pub cwd: Option<PathBuf>,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

fn default_timeout() -> u64 {
    600
}

pub struct ExecConnector {
    name: String,
    config: ExecConfig,
}

impl ExecConnector {
    pub fn new(name: String, config: ExecConfig) -> Self {
        ExecConnector { name, config }
    }

    /// The program, in `cwd`, with its output piped to us and killed if we stop first.
    fn spawn(&self, cwd: &std::path::Path) -> Result<tokio::process::Child, ConnectorError> {
        tokio::process::Command::new(&self.config.command)
            .args(&self.config.args)
            .envs(&self.config.env)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                ConnectorError::new(
                    ErrorKind::Config,
                    format!("cannot run {:?}: {e}", self.config.command),
                )
            })
    }

    async fn read_all(&self, ctx: &SweepContext, out: &Emitter) -> Result<(), ConnectorError> {
        ctx.check_cancelled()?;
        let cwd = self
            .config
            .cwd
            .as_ref()
            .map_or_else(|| ctx.base_dir.clone(), |c| ctx.resolve(c));
        let mut child = self.spawn(&cwd)?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| ConnectorError::new(ErrorKind::Transient, "no stdout"))?;
        let mut stderr = child
            .stderr
            .take()
            .ok_or_else(|| ConnectorError::new(ErrorKind::Transient, "no stderr"))?;
        let stderr_task = tokio::spawn(async move {
            let mut buf = String::new();
            let _ = stderr.read_to_string(&mut buf).await;
            buf
        });
        let mut lines = BufReader::new(stdout).lines();
        let mut n = 0usize;
        loop {
            // A program that prints nothing for long must not hold up a stop (the child is
            // killed on drop).
            let next = tokio::select! {
                line = lines.next_line() => line,
                () = ctx.cancelled() => return Err(ConnectorError::cancelled()),
            };
            let Some(line) = next.map_err(|e| {
                ConnectorError::new(
                    ErrorKind::Data,
                    format!("reading output of {:?}: {e}", self.config.command),
                )
            })?
            else {
                break;
            };
            n += 1;
            if line.trim().is_empty() {
                continue;
            }
            let obs: Observation = serde_json::from_str(&line).map_err(|e| {
                ConnectorError::new(
                    ErrorKind::Data,
                    format!(
                        "{:?} output line {n}: not an observation: {e}",
                        self.config.command
                    ),
                )
            })?;
            out.emit(obs).await?;
        }
        let status = child
            .wait()
            .await
            .map_err(|e| ConnectorError::new(ErrorKind::Transient, e.to_string()))?;
        let err_text = stderr_task.await.unwrap_or_default();
        if !status.success() {
            let tail: String = err_text
                .lines()
                .rev()
                .take(5)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join(" | ");
            return Err(ConnectorError::new(
                ErrorKind::Data,
                format!("{:?} exited with {status}: {tail}", self.config.command),
            ));
        }
        Ok(())
    }
}

#[async_trait]
impl Connector for ExecConnector {
    fn kind(&self) -> &'static str {
        "exec"
    }
    fn name(&self) -> &str {
        &self.name
    }
    async fn run(&self, ctx: &SweepContext, out: &Emitter) -> Result<(), ConnectorError> {
        let limit = std::time::Duration::from_secs(self.config.timeout_seconds.max(1));
        match tokio::time::timeout(limit, self.read_all(ctx, out)).await {
            Ok(r) => r,
            Err(_) => Err(ConnectorError::new(
                ErrorKind::Transient,
                format!(
                    "{:?} did not finish within {} s",
                    self.config.command, self.config.timeout_seconds
                ),
            )),
        }
    }
}
