//! `scan_repos = true`: clone (or update) each repository into a cache directory and run the
//! git connector over it, so a sweep finds secrets in the organisation's code too. Shallow
//! (`--depth 1`, the working tree) by default, every commit with `history = true`. The token
//! travels in an `http.extraHeader` set through the environment, never in a URL or argument,
//! and only to the API's own host.
use base64::Engine as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use trustmap_connector::{Connector, ConnectorError, Emitter, ErrorKind, SweepContext};

use crate::observe::host_of;

/// Why a repository could not be cloned or updated.
#[derive(Debug, thiserror::Error)]
enum CloneError {
    #[error("cannot run git: {0}")]
    Spawn(#[source] std::io::Error),
    /// git ran and refused; its own words.
    #[error("{0}")]
    Git(String),
    #[error("{}: {source}", path.display())]
    CacheDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Clone or update `url` into `dir`.
fn sync(url: &str, dir: &Path, history: bool, auth: Option<&str>) -> Result<(), CloneError> {
    let run = |args: &[&str], cwd: Option<&Path>| -> Result<(), CloneError> {
        let mut cmd = Command::new("git");
        cmd.args(args).env("GIT_TERMINAL_PROMPT", "0");
        if let Some(c) = cwd {
            cmd.current_dir(c);
        }
        if let Some(header) = auth {
            cmd.env("GIT_CONFIG_COUNT", "1")
                .env("GIT_CONFIG_KEY_0", "http.extraHeader")
                .env("GIT_CONFIG_VALUE_0", header);
        }
        let out = cmd.output().map_err(CloneError::Spawn)?;
        if out.status.success() {
            Ok(())
        } else {
            Err(CloneError::Git(
                String::from_utf8_lossy(&out.stderr).trim().to_string(),
            ))
        }
    };
    let depth: &[&str] = if history { &[] } else { &["--depth", "1"] };
    if dir.join(".git").exists() {
        let mut fetch = vec!["fetch", "-q"];
        fetch.extend_from_slice(depth);
        fetch.extend_from_slice(&["origin", "HEAD"]);
        run(&fetch, Some(dir))?;
        run(&["reset", "-q", "--hard", "FETCH_HEAD"], Some(dir))
    } else {
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent).map_err(|source| CloneError::CacheDir {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let mut clone = vec!["clone", "-q"];
        clone.extend_from_slice(depth);
        let target = dir.to_string_lossy().into_owned();
        clone.extend_from_slice(&["--", url, &target]);
        run(&clone, None)
    }
}

/// The `Authorization` header for clones from `clone_url`, when it is the API's own host.
pub fn auth_header(api_url: &str, clone_url: &str, token: Option<&str>) -> Option<String> {
    let token = token?;
    let (api, clone) = (host_of(api_url)?, host_of(clone_url)?);
    let same = api == clone || (api == "api.github.com" && clone == "github.com");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{token}"));
    same.then(|| format!("Authorization: Basic {basic}"))
}

/// Clone `full_name` from `url` under `cache` and emit what the git connector finds in it.
pub async fn scan(
    ctx: &SweepContext,
    out: &Emitter,
    cache: &Path,
    full_name: &str,
    url: &str,
    history: bool,
    auth: Option<String>,
) -> Result<(), ConnectorError> {
    let dir: PathBuf = cache.join(full_name);
    let (u, d) = (url.to_string(), dir.clone());
    tokio::task::spawn_blocking(move || sync(&u, &d, history, auth.as_deref()))
        .await
        .map_err(|e| ConnectorError::new(ErrorKind::Transient, e.to_string()))?
        .map_err(|e| {
            ConnectorError::new(ErrorKind::Transient, format!("cloning {full_name}: {e}"))
        })?;
    // Paths in findings read `corp/payments/...`: the cache is the base directory.
    let mut repo_ctx = ctx.clone();
    repo_ctx.base_dir = cache.to_path_buf();
    let git = trustmap_connector_git::GitConnector::new(
        full_name.to_string(),
        trustmap_connector_git::GitConfig {
            path: PathBuf::from(full_name),
            history,
        },
    );
    git.run(&repo_ctx, out).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_go_only_to_the_api_host() {
        let h = auth_header(
            "https://api.github.com",
            "https://github.com/corp/x.git",
            Some("t"),
        );
        assert_eq!(
            h.as_deref(),
            Some("Authorization: Basic eC1hY2Nlc3MtdG9rZW46dA==")
        );
        assert!(auth_header(
            "https://ghe.corp/api/v3",
            "https://ghe.corp/corp/x.git",
            Some("t")
        )
        .is_some());
        assert!(auth_header(
            "https://api.github.com",
            "https://evil.example/x.git",
            Some("t")
        )
        .is_none());
        assert!(auth_header("https://api.github.com", "https://github.com/x.git", None).is_none());
    }
}
