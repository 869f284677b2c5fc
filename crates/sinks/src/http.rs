//! One retry policy for every sink that talks HTTP: 5xx, 429 (honouring `Retry-After`),
//! timeouts and connection errors are retried with exponential backoff; other answers are final.
use std::time::Duration;

/// Why an event could not be sent (it goes to the dead-letter file with this reason).
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// A final answer (a 4xx other than 429): retrying would not help.
    #[error("HTTP {status} (not retried): {body}")]
    Refused { status: u16, body: String },
    /// 5xx, 429, timeouts or connection errors until the retries ran out.
    #[error("{last} after {attempts} attempts")]
    Exhausted { attempts: u32, last: String },
    /// The service answered, but not with what the sink needs (an issue key, a transition).
    #[error("{0}")]
    Answer(String),
    #[error("cannot encode the event: {0}")]
    Encode(#[from] serde_json::Error),
}

pub struct Retry {
    pub max_retries: u32,
    pub backoff: Duration,
}

/// Send the request `build` makes (rebuilt for every attempt); the response body as JSON
/// (`Null` when empty) on success, the reason otherwise.
pub async fn send_with_retry(
    retry: &Retry,
    build: impl Fn() -> reqwest::RequestBuilder,
) -> Result<serde_json::Value, SendError> {
    let mut backoff = retry.backoff;
    let mut last = String::new();
    for attempt in 0..=retry.max_retries {
        if attempt > 0 {
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
        match build().send().await {
            Ok(resp) if resp.status().is_success() => {
                let text = resp.text().await.unwrap_or_default();
                return Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::Null));
            }
            Ok(resp) if resp.status().is_server_error() || resp.status().as_u16() == 429 => {
                last = format!("HTTP {}", resp.status());
                if let Some(secs) = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                {
                    backoff = Duration::from_secs(secs.min(60));
                }
            }
            Ok(resp) => {
                let status = resp.status();
                let text: String = resp
                    .text()
                    .await
                    .unwrap_or_default()
                    .chars()
                    .take(300)
                    .collect();
                return Err(SendError::Refused {
                    status: status.as_u16(),
                    body: text,
                });
            }
            Err(e) => last = e.to_string(),
        }
    }
    Err(SendError::Exhausted {
        attempts: retry.max_retries + 1,
        last,
    })
}

// Defaults shared by every sink's config (serde `default = "..."` needs paths to functions).
pub fn default_retries() -> u32 {
    4
}
pub fn default_backoff() -> u64 {
    500
}
pub fn default_dead_letter() -> std::path::PathBuf {
    std::path::PathBuf::from("trustmap-dead-letter.jsonl")
}

/// A configured path, relative to sweep.toml's directory unless absolute.
pub fn resolve(path: &std::path::Path, base_dir: &std::path::Path) -> std::path::PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base_dir.join(path)
    }
}

/// Append undeliverable events to the sink's dead-letter file; returns how many.
pub fn dead_letter(
    sink: &str,
    path: &std::path::Path,
    entries: &[serde_json::Value],
) -> Result<usize, crate::SinkError> {
    use std::io::Write;
    if entries.is_empty() {
        return Ok(0);
    }
    let io = |err: std::io::Error| crate::SinkError::Io {
        sink: sink.to_string(),
        message: format!("{}: {err}", path.display()),
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io)?;
    for e in entries {
        writeln!(f, "{e}").map_err(io)?;
    }
    Ok(entries.len())
}
