//! Real git repositories built with the git CLI, for tests and benchmarks.
use std::path::Path;
use std::process::Command;

/// git in `dir` with a fixed identity and no user or system configuration.
fn command(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.arg("-C")
        .arg(dir)
        .env("GIT_AUTHOR_NAME", "Fixture")
        .env("GIT_AUTHOR_EMAIL", "fixture@corp.example")
        .env("GIT_COMMITTER_NAME", "Fixture")
        .env("GIT_COMMITTER_EMAIL", "fixture@corp.example")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir);
    c
}

/// Run git in `dir`; panics with git's message on failure (fixtures are test set-up, where a
/// panic is the clearest report).
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = command(dir).args(args).output().expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `git init` with a `main` branch.
pub fn init(dir: &Path) {
    std::fs::create_dir_all(dir).expect("create repo dir");
    git(dir, &["init", "-q", "-b", "main"]);
}

/// Write `files`, stage everything and commit with the given date (`2026-01-02T03:04:05Z`).
/// Returns the commit id.
pub fn commit(dir: &Path, files: &[(&str, &str)], message: &str, date: &str) -> String {
    for (path, content) in files {
        let p = dir.join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("create dirs");
        }
        std::fs::write(&p, content).expect("write fixture file");
    }
    git(dir, &["add", "-A"]);
    let out = command(dir)
        .args(["commit", "-q", "--allow-empty", "-m", message])
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .output()
        .expect("git commit runs");
    assert!(
        out.status.success(),
        "commit failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    git(dir, &["rev-parse", "HEAD"])
}
