//! `type = "jira"`: an issue per opened or reopened finding (REST API v2 or v3), and on
//! `resolved` a comment plus a transition (by name, `resolve_transition`).
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::http::{send_with_retry, Retry, SendError};
use crate::{env_secret, ticket_body, BuildError, Event, EventKind, Sink};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JiraConfig {
    #[serde(default)]
    pub name: Option<String>,
    /// Base URL: `https://corp.atlassian.net` or a Jira Server.
    pub url: String,
    pub project: String,
    #[serde(default = "default_issue_type")]
    pub issue_type: String,
    #[serde(default)]
    pub labels: Vec<String>,
    /// 2 (plain-text descriptions) or 3 (Atlassian Document Format).
    #[serde(default = "default_api")]
    pub api_version: u8,
    /// Environment variables with the account email and API token (basic auth).
    pub user_env: String,
    pub token_env: String,
    /// Severity → Jira priority name.
    #[serde(default)]
    pub priorities: BTreeMap<String, String>,
    #[serde(default = "default_transition")]
    pub resolve_transition: String,
    #[serde(default = "crate::http::default_retries")]
    pub max_retries: u32,
    #[serde(default = "crate::http::default_backoff")]
    pub backoff_ms: u64,
    #[serde(default = "crate::http::default_dead_letter")]
    pub dead_letter: PathBuf,
}

fn default_issue_type() -> String {
    "Task".into()
}
fn default_api() -> u8 {
    2
}
fn default_transition() -> String {
    "Done".into()
}

pub struct JiraSink {
    config: JiraConfig,
    name: String,
    user: String,
    token: String,
    client: reqwest::Client,
    dead_letter: PathBuf,
}

impl JiraSink {
    pub fn new(config: JiraConfig, base_dir: &Path) -> Result<Self, BuildError> {
        let name = config.name.clone().unwrap_or_else(|| "jira".into());
        if !matches!(config.api_version, 2 | 3) {
            return Err(BuildError::Invalid(format!(
                "jira {name}: api_version must be 2 or 3"
            )));
        }
        let user = env_secret(&name, &config.user_env)?;
        let token = env_secret(&name, &config.token_env)?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|source| BuildError::Client {
                sink: format!("jira {name}"),
                source,
            })?;
        let dead_letter = crate::http::resolve(&config.dead_letter, base_dir);
        Ok(JiraSink {
            config,
            name,
            user,
            token,
            client,
            dead_letter,
        })
    }

    fn api(&self, path: &str) -> String {
        format!(
            "{}/rest/api/{}/{path}",
            self.config.url.trim_end_matches('/'),
            self.config.api_version
        )
    }

    fn retry(&self) -> Retry {
        Retry {
            max_retries: self.config.max_retries,
            backoff: Duration::from_millis(self.config.backoff_ms),
        }
    }

    /// Plain text for v2, an Atlassian Document Format paragraph per line for v3.
    fn text(&self, text: &str) -> Value {
        if self.config.api_version == 2 {
            return Value::String(text.to_string());
        }
        let paragraphs: Vec<Value> = text
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| json!({"type": "paragraph", "content": [{"type": "text", "text": l}]}))
            .collect();
        json!({"type": "doc", "version": 1, "content": paragraphs})
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, SendError> {
        let url = self.api(path);
        send_with_retry(&self.retry(), || {
            let req = self
                .client
                .request(method.clone(), &url)
                .basic_auth(&self.user, Some(&self.token))
                .header("Accept", "application/json");
            match &body {
                Some(b) => req.json(b),
                None => req,
            }
        })
        .await
    }

    async fn open(&self, e: &Event) -> Result<String, SendError> {
        let f = &e.finding;
        let mut fields = json!({
            "project": {"key": self.config.project},
            "summary": f.title.chars().take(250).collect::<String>(),
            "description": self.text(&ticket_body(f)),
            "issuetype": {"name": self.config.issue_type},
            "labels": self.config.labels,
        });
        if let Some(p) = self
            .config
            .priorities
            .get(f.severity.as_str())
            .cloned()
            .or_else(|| default_priority(f.severity))
        {
            fields["priority"] = json!({"name": p});
        }
        let created = self
            .call(
                reqwest::Method::POST,
                "issue",
                Some(json!({"fields": fields})),
            )
            .await?;
        created["key"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| SendError::Answer(format!("no issue key in Jira's answer: {created}")))
    }

    async fn resolve(&self, e: &Event) -> Result<(), SendError> {
        let Some(key) = &e.ticket else {
            return Ok(()); // never ticketed here: nothing to close
        };
        let comment = format!(
            "trustmap no longer sees this finding ({}); resolving.",
            e.finding.id
        );
        self.call(
            reqwest::Method::POST,
            &format!("issue/{key}/comment"),
            Some(json!({"body": self.text(&comment)})),
        )
        .await?;
        let transitions = self
            .call(
                reqwest::Method::GET,
                &format!("issue/{key}/transitions"),
                None,
            )
            .await?;
        let wanted = self.config.resolve_transition.to_lowercase();
        let id = transitions["transitions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| {
                t["name"]
                    .as_str()
                    .is_some_and(|n| n.to_lowercase() == wanted)
            })
            .and_then(|t| t["id"].as_str().map(str::to_string))
            .ok_or_else(|| {
                SendError::Answer(format!(
                    "issue {key} has no transition named {:?}",
                    self.config.resolve_transition
                ))
            })?;
        self.call(
            reqwest::Method::POST,
            &format!("issue/{key}/transitions"),
            Some(json!({"transition": {"id": id}})),
        )
        .await?;
        Ok(())
    }
}

fn default_priority(s: trustmap_model::Severity) -> Option<String> {
    Some(
        match s {
            trustmap_model::Severity::Critical => "Highest",
            trustmap_model::Severity::High => "High",
            trustmap_model::Severity::Medium => "Medium",
            trustmap_model::Severity::Low => "Low",
            trustmap_model::Severity::Info => "Lowest",
        }
        .to_string(),
    )
}

#[async_trait]
impl Sink for JiraSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn dead_letter(&self) -> &Path {
        &self.dead_letter
    }

    async fn send(&self, e: &Event) -> Result<Option<String>, SendError> {
        match e.event {
            EventKind::Opened | EventKind::Reopened => self.open(e).await.map(Some),
            EventKind::Resolved => self.resolve(e).await.map(|()| None),
        }
    }
}
