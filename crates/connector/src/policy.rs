//! One policy for what a failed call means, by its [`ErrorKind`]: throttling is waited out
//! and transient trouble retried within a budget; a refusal or a missing or unreadable object
//! is a coverage gap and the sweep goes on; bad credentials, a wrong configuration or a
//! cancellation stop the connector. Every connector decides through it, so the same error
//! means the same thing everywhere.
use std::time::Duration;

use crate::{ConnectorError, Emitter, ErrorKind};

/// What to do after attempt `n` of a call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Wait this long, then try again.
    Retry(Duration),
    /// Give up on this object: record a coverage gap and go on.
    Gap,
    /// Stop the connector with this error.
    Stop,
}

/// The budget the policy retries within.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The first back-off; doubled per attempt.
    pub backoff: Duration,
    /// The longest a rate limit may make us wait; a longer one is a gap.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            backoff: Duration::from_millis(400),
            max_wait: Duration::from_secs(900),
        }
    }
}

impl RetryPolicy {
    /// The decision for a call whose `attempt`-th try (1-based) failed with `kind`.
    pub fn decide(&self, kind: ErrorKind, attempt: u32) -> Decision {
        let more = attempt < self.attempts;
        match kind {
            ErrorKind::Auth | ErrorKind::Config | ErrorKind::Cancelled => Decision::Stop,
            ErrorKind::PermissionDenied | ErrorKind::NotFound | ErrorKind::Data => Decision::Gap,
            ErrorKind::RateLimited { retry_after } => {
                let wait =
                    retry_after.map_or_else(|| self.backoff_for(attempt), Duration::from_secs);
                if more && wait <= self.max_wait {
                    Decision::Retry(wait)
                } else {
                    Decision::Gap
                }
            }
            ErrorKind::Transient if more => Decision::Retry(self.backoff_for(attempt)),
            ErrorKind::Transient => Decision::Gap,
        }
    }

    /// Exponential back-off: `backoff`, doubled per attempt, at most a minute.
    fn backoff_for(&self, attempt: u32) -> Duration {
        self.backoff
            .saturating_mul(1 << attempt.saturating_sub(1).min(8))
            .min(Duration::from_secs(60))
    }

    /// Run `call` under the policy: retried while it says so; on a gap the reason is recorded
    /// on `out` (as `what: message`) and `None` returned; a stop is the error.
    pub async fn run<T, F, Fut>(
        &self,
        what: &str,
        out: &Emitter,
        mut call: F,
    ) -> Result<Option<T>, ConnectorError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, ConnectorError>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match call().await {
                Ok(v) => return Ok(Some(v)),
                Err(e) => match self.decide(e.kind, attempt) {
                    Decision::Retry(wait) => tokio::time::sleep(wait).await,
                    Decision::Gap => {
                        out.gap(format!("{what}: {}", e.message));
                        return Ok(None);
                    }
                    Decision::Stop => return Err(e),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_decides_what_happens() {
        let p = RetryPolicy {
            attempts: 3,
            backoff: Duration::from_millis(10),
            max_wait: Duration::from_secs(30),
        };
        assert_eq!(p.decide(ErrorKind::Auth, 1), Decision::Stop);
        assert_eq!(p.decide(ErrorKind::Config, 1), Decision::Stop);
        assert_eq!(p.decide(ErrorKind::Cancelled, 1), Decision::Stop);
        assert_eq!(p.decide(ErrorKind::PermissionDenied, 1), Decision::Gap);
        assert_eq!(p.decide(ErrorKind::NotFound, 1), Decision::Gap);
        assert_eq!(p.decide(ErrorKind::Data, 1), Decision::Gap);
        assert_eq!(
            p.decide(ErrorKind::Transient, 1),
            Decision::Retry(Duration::from_millis(10))
        );
        assert_eq!(
            p.decide(ErrorKind::Transient, 2),
            Decision::Retry(Duration::from_millis(20))
        );
        assert_eq!(
            p.decide(ErrorKind::Transient, 3),
            Decision::Gap,
            "budget spent"
        );
        let limited = |s| ErrorKind::RateLimited {
            retry_after: Some(s),
        };
        assert_eq!(
            p.decide(limited(5), 1),
            Decision::Retry(Duration::from_secs(5))
        );
        assert_eq!(
            p.decide(limited(31), 1),
            Decision::Gap,
            "longer than max_wait"
        );
    }

    #[tokio::test]
    async fn run_retries_then_records_a_gap_or_stops() {
        let p = RetryPolicy {
            attempts: 3,
            backoff: Duration::from_millis(1),
            max_wait: Duration::from_secs(1),
        };
        let (tx, _rx) = tokio::sync::mpsc::channel(1);
        let out = Emitter::new(tx, "t");
        let calls = std::sync::atomic::AtomicU32::new(0);
        let got = p
            .run("flaky", &out, || {
                let n = calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                async move {
                    if n < 2 {
                        Err(ConnectorError::new(ErrorKind::Transient, "reset"))
                    } else {
                        Ok(n)
                    }
                }
            })
            .await
            .unwrap();
        assert_eq!(got, Some(2), "succeeded on the third attempt");
        let none: Option<()> = p
            .run("users", &out, || async {
                Err(ConnectorError::new(ErrorKind::PermissionDenied, "HTTP 403"))
            })
            .await
            .unwrap();
        assert!(none.is_none());
        assert_eq!(out.gaps(), vec!["users: HTTP 403".to_string()]);
        let stop = p
            .run("org", &out, || async {
                Err::<(), _>(ConnectorError::new(ErrorKind::Auth, "bad credentials"))
            })
            .await;
        assert_eq!(stop.unwrap_err().kind, ErrorKind::Auth);
    }
}
