//! Sinks: where finding events go after a sweep.
//!
//! Only changes are events: a finding `opened` (new), `reopened` (seen again after it was
//! resolved) or `resolved`, so a repeated run with nothing changed sends nothing. Each sink is
//! one module behind the [`Sink`] trait and registered in [`build_sink`]; credentials come from
//! environment variables named in the config, never from the config itself.
//!
//! Sinks consume findings only: they know nothing about connectors, the graph or the store.

mod webhook;

use async_trait::async_trait;
use serde::Serialize;
use trustmap_model::Finding;

pub use webhook::{WebhookConfig, WebhookSink, SIGNATURE_HEADER};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Opened,
    Reopened,
    Resolved,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Opened => "opened",
            EventKind::Reopened => "reopened",
            EventKind::Resolved => "resolved",
        }
    }
}

/// One change to send.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub event: EventKind,
    pub finding: Finding,
}

/// What a delivery achieved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    pub sent: usize,
    /// Events that could not be delivered and went to the dead-letter file.
    pub dead_lettered: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("sink {sink}: {message}")]
    Config { sink: String, message: String },
    #[error("sink {sink}: {message}")]
    Io { sink: String, message: String },
}

#[async_trait]
pub trait Sink: Send + Sync {
    fn name(&self) -> &str;
    async fn deliver(&self, events: &[Event]) -> Result<Delivery, SinkError>;
}

/// The sink types this build knows.
pub const SINK_TYPES: &[&str] = &["webhook"];

/// Build a sink from its `[[sinks]]` table (with `type`); `base_dir` resolves relative paths.
pub fn build_sink(table: toml::Table, base_dir: &std::path::Path) -> Result<Box<dyn Sink>, String> {
    let mut table = table;
    let kind = match table.remove("type") {
        Some(toml::Value::String(s)) => s,
        _ => return Err("field `type` is missing or not a string".into()),
    };
    let parse = |t: toml::Table| -> Result<WebhookConfig, String> {
        WebhookConfig::deserialize_table(t).map_err(|e| format!("webhook: {e}"))
    };
    match kind.as_str() {
        "webhook" => Ok(Box::new(WebhookSink::new(parse(table)?, base_dir)?)),
        "jira" | "github-issues" => Err(format!(
            "sink type {kind:?} is not in this build yet (webhook is)"
        )),
        other => Err(format!(
            "unknown sink type {other:?} (expected one of: {})",
            SINK_TYPES.join(", ")
        )),
    }
}
