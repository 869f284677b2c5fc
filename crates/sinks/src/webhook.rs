//! `type = "webhook"`: one signed JSON POST per event, retried with backoff, dead-lettered when
//! it cannot be delivered.
use async_trait::async_trait;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::http::{send_with_retry, Retry, SendError};
use crate::{env_secret, BuildError, Event, Sink};

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
    #[serde(default = "crate::http::default_retries")]
    pub max_retries: u32,
    /// First backoff; doubles each retry.
    #[serde(default = "crate::http::default_backoff")]
    pub backoff_ms: u64,
    /// Where undeliverable events go, one JSON object per line.
    #[serde(default = "crate::http::default_dead_letter")]
    pub dead_letter: PathBuf,
}

fn default_timeout() -> u64 {
    10
}

pub struct WebhookSink {
    config: WebhookConfig,
    name: String,
    secret: Option<Vec<u8>>,
    client: reqwest::Client,
    dead_letter: PathBuf,
}

impl WebhookSink {
    pub fn new(config: WebhookConfig, base_dir: &Path) -> Result<Self, BuildError> {
        let name = config.name.clone().unwrap_or_else(|| "webhook".into());
        let secret = match &config.secret_env {
            Some(var) => Some(env_secret(&format!("webhook {name}"), var)?.into_bytes()),
            None => None,
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_seconds.max(1)))
            .build()
            .map_err(|source| BuildError::Client {
                sink: format!("webhook {name}"),
                source,
            })?;
        let dead_letter = crate::http::resolve(&config.dead_letter, base_dir);
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
    async fn post(&self, event: &Event) -> Result<(), SendError> {
        let body = serde_json::to_vec(event)?;
        let key = format!("{}:{}", event.finding.id, event.event.as_str());
        let signature = self.sign(&body);
        let retry = Retry {
            max_retries: self.config.max_retries,
            backoff: Duration::from_millis(self.config.backoff_ms),
        };
        send_with_retry(&retry, || {
            let req = self
                .client
                .post(&self.config.url)
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", &key)
                .header("X-Trustmap-Event", event.event.as_str())
                .body(body.clone());
            match &signature {
                Some(sig) => req.header(SIGNATURE_HEADER, sig),
                None => req,
            }
        })
        .await
        .map(|_| ())
    }
}

#[async_trait]
impl Sink for WebhookSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn dead_letter(&self) -> &Path {
        &self.dead_letter
    }

    async fn send(&self, event: &Event) -> Result<Option<String>, SendError> {
        self.post(event).await.map(|()| None)
    }
}
