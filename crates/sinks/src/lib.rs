//! Sinks: where finding events go after a sweep.
//!
//! Only changes are events: a finding `opened` (new), `reopened` (seen again after it was
//! resolved) or `resolved`, so a repeated run with nothing changed sends nothing. Each sink is
//! one module behind the [`Sink`] trait and registered in [`build_sink`]; credentials come from
//! environment variables named in the config, never from the config itself.
//!
//! Sinks consume findings only: they know nothing about connectors, the graph or the store.

mod github_issues;
mod http;
mod jira;
mod webhook;

use async_trait::async_trait;
use serde::Serialize;
use trustmap_model::Finding;

pub use http::SendError;
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
    /// The ticket this finding was sent as before (for `resolved`), from the state store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
}

/// What a delivery achieved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    pub sent: usize,
    /// Events that could not be delivered and went to the dead-letter file.
    pub dead_lettered: usize,
    /// Tickets opened: (finding id, ticket key), for the state store.
    pub tickets: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("sink {sink}: {message}")]
    Config { sink: String, message: String },
    #[error("sink {sink}: {message}")]
    Io { sink: String, message: String },
}

/// One destination for finding events. A sink sends one event at a time; [`deliver`] is the
/// one driver that sends a batch through any sink, counts, keeps the tickets opened and writes
/// what could not be sent to the sink's dead-letter file. Retries with backoff happen per HTTP
/// call in the shared HTTP layer, so an event of several calls never repeats a call that
/// already succeeded.
#[async_trait]
pub trait Sink: Send + Sync {
    fn name(&self) -> &str;
    /// Where undeliverable events are appended (JSON lines).
    fn dead_letter(&self) -> &std::path::Path;
    /// Send one event: `Ok(Some(ticket))` when it opened a ticket (`PROJ-12`, `#7`), `Err`
    /// with the reason when it could not be sent (after retries).
    async fn send(&self, event: &Event) -> Result<Option<String>, SendError>;
}

/// Send every event through `sink`: count what was sent, keep the tickets opened, and
/// dead-letter the rest. Only a dead-letter file that cannot be written is an error.
pub async fn deliver(sink: &dyn Sink, events: &[Event]) -> Result<Delivery, SinkError> {
    let mut d = Delivery::default();
    let mut dead = Vec::new();
    for e in events {
        match sink.send(e).await {
            Ok(ticket) => {
                d.sent += 1;
                if let Some(t) = ticket {
                    d.tickets.push((e.finding.id.clone(), t));
                }
            }
            Err(reason) => {
                dead.push(serde_json::json!({"sink": sink.name(), "error": reason.to_string(), "event": e}));
            }
        }
    }
    d.dead_lettered = http::dead_letter(sink.name(), sink.dead_letter(), &dead)?;
    Ok(d)
}

/// Why a `[[sinks]]` table built no sink.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("field `type` is missing or not a string")]
    NoType,
    #[error("unknown sink type {kind:?} (expected one of: {})", SINK_TYPES.join(", "))]
    UnknownType { kind: String },
    /// Not the sink's shape (an unknown field, a wrong type): toml's own error.
    #[error("{kind}: {}", source.message())]
    Shape {
        kind: &'static str,
        source: toml::de::Error,
    },
    #[error("{sink}: environment variable {var} is not set")]
    MissingEnv { sink: String, var: String },
    /// The fields parse but do not make sense together.
    #[error("{0}")]
    Invalid(String),
    #[error("{sink}: cannot build the HTTP client: {source}")]
    Client {
        sink: String,
        source: reqwest::Error,
    },
}

/// The sink types this build knows.
pub const SINK_TYPES: &[&str] = &["webhook", "jira", "github-issues"];

/// Build a sink from its `[[sinks]]` table (with `type`); `base_dir` resolves relative paths.
pub fn build_sink(
    table: toml::Table,
    base_dir: &std::path::Path,
) -> Result<Box<dyn Sink>, BuildError> {
    let mut table = table;
    let kind = match table.remove("type") {
        Some(toml::Value::String(s)) => s,
        _ => return Err(BuildError::NoType),
    };
    match kind.as_str() {
        "webhook" => Ok(Box::new(WebhookSink::new(
            parse_config(table, "webhook")?,
            base_dir,
        )?)),
        "jira" => Ok(Box::new(jira::JiraSink::new(
            parse_config(table, "jira")?,
            base_dir,
        )?)),
        "github-issues" => Ok(Box::new(github_issues::GithubIssuesSink::new(
            parse_config(table, "github-issues")?,
            base_dir,
        )?)),
        other => Err(BuildError::UnknownType {
            kind: other.to_string(),
        }),
    }
}

fn parse_config<T: serde::de::DeserializeOwned>(
    table: toml::Table,
    kind: &'static str,
) -> Result<T, BuildError> {
    T::deserialize(toml::Value::Table(table)).map_err(|source| BuildError::Shape { kind, source })
}

/// The text of a ticket: what, where, why and how to fix it (secrets already redacted).
pub(crate) fn ticket_body(f: &Finding) -> String {
    let mut body = format!(
        "{}\n\nSeverity: {}\nKind: {}\nSubject: {} ({})\n",
        f.title,
        f.severity,
        f.kind.as_str(),
        f.subject.id,
        f.subject.kind
    );
    if let Some(p) = &f.partner {
        body.push_str(&format!("Partner: {p}\n"));
    }
    if !f.chain.is_empty() {
        body.push_str(&format!("Chain: {}\n", f.chain.join(" > ")));
    }
    if let Some(l) = &f.location {
        body.push_str(&format!("Location: {}:{}\n", l.path, l.line));
    }
    body.push_str(&format!(
        "\nRemediation: {}\nReferences: {}\ntrustmap finding id: {}\n",
        f.remediation,
        f.references.join(", "),
        f.id
    ));
    body
}

/// Credentials for sinks come from the environment, named in the config.
pub(crate) fn env_secret(sink: &str, var: &str) -> Result<String, BuildError> {
    trustmap_model::env::named(var).ok_or_else(|| BuildError::MissingEnv {
        sink: sink.to_string(),
        var: var.to_string(),
    })
}
