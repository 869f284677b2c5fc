//! `type = "github-issues"`: an issue per opened or reopened finding in one repository; on
//! `resolved` a comment, then the issue is closed as completed.
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::http::{send_with_retry, Retry, SendError};
use crate::{env_secret, ticket_body, BuildError, Event, EventKind, Sink};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubIssuesConfig {
    #[serde(default)]
    pub name: Option<String>,
    /// `owner/name`.
    pub repo: String,
    #[serde(default = "default_api")]
    pub api_url: String,
    pub token_env: String,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default = "crate::http::default_retries")]
    pub max_retries: u32,
    #[serde(default = "crate::http::default_backoff")]
    pub backoff_ms: u64,
    #[serde(default = "crate::http::default_dead_letter")]
    pub dead_letter: PathBuf,
}

fn default_api() -> String {
    "https://api.github.com".into()
}

pub struct GithubIssuesSink {
    config: GithubIssuesConfig,
    name: String,
    token: String,
    client: reqwest::Client,
    dead_letter: PathBuf,
}

impl GithubIssuesSink {
    pub fn new(config: GithubIssuesConfig, base_dir: &Path) -> Result<Self, BuildError> {
        let name = config
            .name
            .clone()
            .unwrap_or_else(|| "github-issues".into());
        if config.repo.split('/').count() != 2 {
            return Err(BuildError::Invalid(format!(
                "github-issues {name}: repo must be owner/name, not {:?}",
                config.repo
            )));
        }
        let token = env_secret(&name, &config.token_env)?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent("trustmap")
            .build()
            .map_err(|source| BuildError::Client {
                sink: format!("github-issues {name}"),
                source,
            })?;
        let dead_letter = crate::http::resolve(&config.dead_letter, base_dir);
        Ok(GithubIssuesSink {
            config,
            name,
            token,
            client,
            dead_letter,
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> Result<Value, SendError> {
        let url = format!(
            "{}/repos/{}/{path}",
            self.config.api_url.trim_end_matches('/'),
            self.config.repo
        );
        let retry = Retry {
            max_retries: self.config.max_retries,
            backoff: Duration::from_millis(self.config.backoff_ms),
        };
        send_with_retry(&retry, || {
            self.client
                .request(method.clone(), &url)
                .bearer_auth(&self.token)
                .header("Accept", "application/vnd.github+json")
                .header("X-GitHub-Api-Version", "2022-11-28")
                .json(&body)
        })
        .await
    }
}

#[async_trait]
impl Sink for GithubIssuesSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn dead_letter(&self) -> &Path {
        &self.dead_letter
    }

    async fn send(&self, e: &Event) -> Result<Option<String>, SendError> {
        match e.event {
            EventKind::Opened | EventKind::Reopened => self.open(e).await.map(Some),
            EventKind::Resolved => match e.ticket.as_deref().and_then(|t| t.strip_prefix('#')) {
                None => Ok(None),
                Some(n) => self.close(e, n).await.map(|()| None),
            },
        }
    }
}

impl GithubIssuesSink {
    /// An issue labelled with the severity; its number is the ticket.
    async fn open(&self, e: &Event) -> Result<String, SendError> {
        let mut labels = self.config.labels.clone();
        labels.push(format!("severity:{}", e.finding.severity));
        let body =
            json!({"title": e.finding.title, "body": ticket_body(&e.finding), "labels": labels});
        let v = self.call(reqwest::Method::POST, "issues", body).await?;
        let n = v["number"]
            .as_u64()
            .ok_or_else(|| SendError::Answer(format!("no issue number in GitHub's answer: {v}")))?;
        Ok(format!("#{n}"))
    }

    /// A comment saying why, then the issue closed as completed.
    async fn close(&self, e: &Event, n: &str) -> Result<(), SendError> {
        let comment = json!({"body": format!("trustmap no longer sees this finding ({}); closing.", e.finding.id)});
        self.call(
            reqwest::Method::POST,
            &format!("issues/{n}/comments"),
            comment,
        )
        .await?;
        self.call(
            reqwest::Method::PATCH,
            &format!("issues/{n}"),
            json!({"state": "closed", "state_reason": "completed"}),
        )
        .await
        .map(|_| ())
    }
}
