//! `type = "webhook"`: one signed JSON POST per event, retried with backoff, dead-lettered when
//! it cannot be delivered.
use async_trait::async_trait;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{Delivery, Event, Sink, SinkError};

/// `sha256=<hex HMAC-SHA256 of the body>` with the configured secret.
pub const SIGNATURE_HEADER: &str = "X-Trustmap-Signature";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    #[serde(default)]
    pub name: Option<String>,
    pub url: String,
    /// Environment variable holding the HMAC secret (no signature when absent).
    #[serde(default)]
    pub secret_env: Option<String>,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// Retries after the first attempt, on 5xx, 429, timeouts and connection errors.
    #[serde(default = "default_retries")]
    pub max_retries: u32,
    /// First backoff; doubles each retry.
    #[serde(default = "default_backoff")]
    pub backoff_ms: u64,
    /// Where undeliverable events go, one JSON object per line.
    #[serde(default = "default_dead_letter")]
    pub dead_letter: PathBuf,
}

fn default_timeout() -> u64 {
    10
}
fn default_retries() -> u32 {
    4
}
fn default_backoff() -> u64 {
    500
}
fn default_dead_letter() -> PathBuf {
    PathBuf::from("trustmap-dead-letter.jsonl")
}

impl WebhookConfig {
    pub fn deserialize_table(t: toml::Table) -> Result<Self, String> {
        WebhookConfig::deserialize(toml::Value::Table(t)).map_err(|e| e.message().to_string())
    }
}

pub struct WebhookSink {
    config: WebhookConfig,
    name: String,
    secret: Option<Vec<u8>>,
    client: reqwest::Client,
    dead_letter: PathBuf,
}

impl WebhookSink {
    pub fn new(config: WebhookConfig, base_dir: &Path) -> Result<Self, String> {
        let name = config.name.clone().unwrap_or_else(|| "webhook".into());
        let secret = match &config.secret_env {
            Some(var) => Some(
                std::env::var(var)
                    .map_err(|_| {
                        format!(
                            "webhook {name}: environment variable {var} (secret_env) is not set"
                        )
                    })?
                    .into_bytes(),
            ),
            None => None,
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_seconds.max(1)))
            .build()
            .map_err(|e| format!("webhook {name}: {e}"))?;
        let dead_letter = if config.dead_letter.is_absolute() {
            config.dead_letter.clone()
        } else {
            base_dir.join(&config.dead_letter)
        };
        Ok(WebhookSink {
            config,
            name,
            secret,
            client,
            dead_letter,
        })
    }

    fn sign(&self, body: &[u8]) -> Option<String> {
        let key = self.secret.as_ref()?;
        let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
        mac.update(body);
        let digest = mac.finalize().into_bytes();
        Some(format!(
            "sha256={}",
            digest
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ))
    }

    /// Ok(()) when delivered; Err(reason) after the retries are spent or on a 4xx.
    async fn send(&self, event: &Event) -> Result<(), String> {
        let body = serde_json::to_vec(event).map_err(|e| e.to_string())?;
        let key = format!("{}:{}", event.finding.id, event.event.as_str());
        let mut backoff = Duration::from_millis(self.config.backoff_ms);
        let mut last = String::new();
        for attempt in 0..=self.config.max_retries {
            if attempt > 0 {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
            let mut req = self
                .client
                .post(&self.config.url)
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", &key)
                .header("X-Trustmap-Event", event.event.as_str())
                .body(body.clone());
            if let Some(sig) = self.sign(&body) {
                req = req.header(SIGNATURE_HEADER, sig);
            }
            match req.send().await {
                Ok(resp) if resp.status().is_success() => return Ok(()),
                Ok(resp) if resp.status().is_server_error() || resp.status().as_u16() == 429 => {
                    last = format!("HTTP {}", resp.status());
                    // Honour Retry-After when the receiver says how long to wait.
                    if let Some(secs) = resp
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok())
                    {
                        backoff = Duration::from_secs(secs.min(60));
                    }
                }
                Ok(resp) => return Err(format!("HTTP {} (not retried)", resp.status())),
                Err(e) => last = e.to_string(),
            }
        }
        Err(format!(
            "{last} after {} attempts",
            self.config.max_retries + 1
        ))
    }
}

#[async_trait]
impl Sink for WebhookSink {
    fn name(&self) -> &str {
        &self.name
    }

    async fn deliver(&self, events: &[Event]) -> Result<Delivery, SinkError> {
        let mut delivery = Delivery::default();
        let mut dead = Vec::new();
        for e in events {
            match self.send(e).await {
                Ok(()) => delivery.sent += 1,
                Err(reason) => {
                    dead.push(serde_json::json!({"sink": self.name, "error": reason, "event": e}))
                }
            }
        }
        if !dead.is_empty() {
            let io = |err: std::io::Error| SinkError::Io {
                sink: self.name.clone(),
                message: format!("{}: {err}", self.dead_letter.display()),
            };
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.dead_letter)
                .map_err(io)?;
            for d in &dead {
                writeln!(f, "{d}").map_err(io)?;
            }
            delivery.dead_lettered = dead.len();
        }
        Ok(delivery)
    }
}
