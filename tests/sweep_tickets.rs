//! The Jira and GitHub-issues sinks against a local server that checks request paths and
//! bodies against the documented API shapes: an issue per new finding, and on resolution a
//! comment plus a transition (Jira) or a close (GitHub), on the ticket opened earlier.
#![allow(clippy::too_many_lines)] // a scenario test reads as one story, set-up to assertions
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use trustmap_testkit::http::{Response, Server};

#[derive(Debug, Clone)]
struct Call {
    method: String,
    path: String,
    auth: String,
    body: Value,
}

/// A local server: `answer(method, path, n)` gives status and JSON body for the n-th request.
fn server(answer: fn(&str, &str, usize) -> (u16, Value)) -> Server {
    let n = AtomicUsize::new(0);
    Server::start(move |req| {
        let (status, body) = answer(&req.method, &req.path, n.fetch_add(1, Ordering::SeqCst));
        Response::json(status, &body)
    })
}

/// Every request so far, with its JSON body.
fn calls(server: &Server) -> Vec<Call> {
    server
        .requests()
        .into_iter()
        .map(|r| Call {
            auth: r.header("authorization").unwrap_or_default().to_string(),
            body: serde_json::from_slice(&r.body).unwrap_or(Value::Null),
            method: r.method,
            path: r.path,
        })
        .collect()
}

fn jira_answer(method: &str, path: &str, n: usize) -> (u16, Value) {
    match (method, path) {
        ("POST", "/rest/api/2/issue") => (
            201,
            json!({"id": format!("{}", 10000 + n), "key": format!("SEC-{n}")}),
        ),
        ("POST", p) if p.ends_with("/comment") => (201, json!({"id": "1"})),
        ("GET", p) if p.ends_with("/transitions") => (
            200,
            json!({"transitions": [{"id": "11", "name": "In Progress"}, {"id": "31", "name": "Done"}]}),
        ),
        ("POST", p) if p.ends_with("/transitions") => (204, Value::Null),
        _ => (404, json!({"errorMessages": ["unexpected call"]})),
    }
}

fn github_answer(method: &str, path: &str, n: usize) -> (u16, Value) {
    match (method, path) {
        ("POST", "/repos/corp/security-findings/issues") => {
            (201, json!({"number": n + 1, "state": "open"}))
        }
        ("POST", p) if p.ends_with("/comments") => (201, json!({"id": 1})),
        ("PATCH", p) if p.starts_with("/repos/corp/security-findings/issues/") => {
            (200, json!({"state": "closed"}))
        }
        _ => (404, json!({"message": "Not Found"})),
    }
}

fn setup(dir: &Path, sink: &str) {
    trustmap_testkit::estate::build(dir).unwrap();
    let config = dir.join("sweep.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("{text}\n[[sinks]]\n{sink}\nbackoff_ms = 10\n"),
    )
    .unwrap();
}

fn sweep(dir: &Path, day: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trustmap"))
        .args(["sweep", "-q", "--config"])
        .arg(dir.join("sweep.toml"))
        .arg("--out")
        .arg(dir.join("out"))
        .args(["--now", day, "--state"])
        .arg(dir.join("state.db"))
        .env("TM_JIRA_USER", "bot@corp.example")
        .env("TM_JIRA_TOKEN", "jira-token")
        .env("TM_GH_TOKEN", "gh-token")
        .output()
        .unwrap()
}

fn drop_mystery(dir: &Path) {
    let inv = dir.join("inventory.jsonl");
    let full = std::fs::read_to_string(&inv).unwrap();
    let without: String = full
        .lines()
        .filter(|l| !l.contains("role/mystery"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&inv, without).unwrap();
}

#[test]
fn jira_issues_are_created_then_commented_and_transitioned() {
    let srv = server(jira_answer);
    let base = srv.base.clone();
    let dir = tempfile::tempdir().unwrap();
    setup(
        dir.path(),
        &format!("type = \"jira\"\nurl = \"{base}\"\nproject = \"SEC\"\nlabels = [\"trustmap\"]\nuser_env = \"TM_JIRA_USER\"\ntoken_env = \"TM_JIRA_TOKEN\""),
    );
    let o = sweep(dir.path(), "2026-11-20");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let created: Vec<Call> = calls(&srv)
        .iter()
        .filter(|c| c.path == "/rest/api/2/issue")
        .cloned()
        .collect();
    assert_eq!(created.len(), 15);
    for c in &created {
        let f = &c.body["fields"];
        assert_eq!(f["project"]["key"], "SEC");
        assert_eq!(f["issuetype"]["name"], "Task");
        assert_eq!(f["labels"], json!(["trustmap"]));
        assert!(f["summary"].as_str().unwrap().len() <= 250);
        assert!(f["description"]
            .as_str()
            .unwrap()
            .contains("trustmap finding id: tm-"));
        assert!(
            ["Highest", "High", "Medium", "Low"].contains(&f["priority"]["name"].as_str().unwrap())
        );
        // Basic auth of email:token.
        assert_eq!(c.auth, "Basic Ym90QGNvcnAuZXhhbXBsZTpqaXJhLXRva2Vu");
    }
    // The mystery role's findings resolve: each of their two tickets gets a comment and "Done".
    let mystery_keys: Vec<String> = {
        let log = calls(&srv);
        log.iter()
            .enumerate()
            .filter(|(_, c)| {
                c.path == "/rest/api/2/issue"
                    && c.body["fields"]["summary"]
                        .as_str()
                        .unwrap()
                        .contains("mystery")
            })
            .map(|(n, _)| format!("SEC-{n}"))
            .collect()
    };
    assert_eq!(mystery_keys.len(), 2);
    srv.clear();
    drop_mystery(dir.path());
    sweep(dir.path(), "2026-11-21");
    let log = calls(&srv);
    for key in &mystery_keys {
        assert!(log.iter().any(|c| c.method == "POST"
            && c.path == format!("/rest/api/2/issue/{key}/comment")
            && c.body["body"].as_str().unwrap().contains("no longer sees")));
        assert!(log.iter().any(|c| c.method == "POST"
            && c.path == format!("/rest/api/2/issue/{key}/transitions")
            && c.body["transition"]["id"] == "31"));
    }
    assert!(
        !log.iter().any(|c| c.path == "/rest/api/2/issue"),
        "no new issues when nothing is new"
    );
}

#[test]
fn github_issues_are_opened_then_commented_and_closed() {
    let srv = server(github_answer);
    let base = srv.base.clone();
    let dir = tempfile::tempdir().unwrap();
    setup(
        dir.path(),
        &format!("type = \"github-issues\"\napi_url = \"{base}\"\nrepo = \"corp/security-findings\"\ntoken_env = \"TM_GH_TOKEN\"\nlabels = [\"trustmap\"]"),
    );
    sweep(dir.path(), "2026-11-20");
    let opened: Vec<(usize, Call)> = calls(&srv)
        .iter()
        .cloned()
        .enumerate()
        .filter(|(_, c)| c.method == "POST" && c.path == "/repos/corp/security-findings/issues")
        .collect();
    assert_eq!(opened.len(), 15);
    for (_, c) in &opened {
        assert_eq!(c.auth, "Bearer gh-token");
        assert!(
            c.body["title"].is_string()
                && c.body["body"].as_str().unwrap().contains("Remediation:")
        );
        let labels = c.body["labels"].as_array().unwrap();
        assert_eq!(labels[0], "trustmap");
        assert!(labels[1].as_str().unwrap().starts_with("severity:"));
    }
    let mystery: Vec<usize> = opened
        .iter()
        .filter(|(_, c)| c.body["title"].as_str().unwrap().contains("mystery"))
        .map(|(n, _)| n + 1)
        .collect();
    srv.clear();
    drop_mystery(dir.path());
    sweep(dir.path(), "2026-11-21");
    let log = calls(&srv);
    for n in &mystery {
        assert!(log.iter().any(|c| c.method == "POST"
            && c.path == format!("/repos/corp/security-findings/issues/{n}/comments")));
        assert!(log.iter().any(|c| c.method == "PATCH"
            && c.path == format!("/repos/corp/security-findings/issues/{n}")
            && c.body["state"] == "closed"));
    }
    assert_eq!(log.len(), 4, "{log:#?}");
}
