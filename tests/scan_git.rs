//! `trustmap scan --git` and `--staged` against real repositories made with the git CLI.
#![allow(clippy::too_many_lines)] // a scenario test reads as one story, set-up to assertions
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use std::path::Path;
use std::process::Command;
use trustmap_model::NoProgress;
use trustmap_rules::Engine;
use trustmap_scan::{run_scan, ScanRequest};
use trustmap_testkit::git;
use trustmap_testkit::tokens::github_token;

fn scan(paths: &[&Path], git: bool, staged: bool) -> trustmap_scan::ScanOutcome {
    let engine = Engine::builtin().expect("rules");
    let req = ScanRequest {
        paths: paths.iter().map(|p| p.to_path_buf()).collect(),
        git,
        staged,
        now: "2026-11-22T00:00:00Z".into(),
        ..ScanRequest::default()
    };
    run_scan(&engine, &req, &NoProgress).expect("scan")
}

#[test]
fn secret_added_then_deleted_is_found_at_the_commit_that_added_it() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("payments");
    git::init(&repo);
    git::commit(
        &repo,
        &[("README.md", "# payments\n")],
        "init",
        "2026-01-01T10:00:00Z",
    );
    let token = github_token("a");
    let leak = git::commit(
        &repo,
        &[("deploy/ci.env", &format!("# ci\nGITHUB_TOKEN={token}\n"))],
        "add ci env",
        "2026-02-03T04:05:06Z",
    );
    // Later edits keep the token, then it is removed: history still holds it.
    git::commit(
        &repo,
        &[(
            "deploy/ci.env",
            &format!("# ci settings\nREGION=eu\nGITHUB_TOKEN={token}\n"),
        )],
        "tweak",
        "2026-02-10T00:00:00Z",
    );
    git::commit(
        &repo,
        &[("deploy/ci.env", "# ci settings\nREGION=eu\n")],
        "remove token",
        "2026-03-01T00:00:00Z",
    );

    // Without --git the working tree is clean.
    assert!(scan(&[&repo], false, false).findings.is_empty());

    let outcome = scan(&[&repo], true, false);
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    assert_eq!(outcome.findings.len(), 1, "{:#?}", outcome.findings);
    let f = &outcome.findings[0];
    assert_eq!(f.rule.as_deref(), Some("github-pat-classic"));
    let loc = f.location.as_ref().unwrap();
    assert_eq!(loc.path, format!("{}/deploy/ci.env", repo.display()));
    assert_eq!(loc.commit.as_deref(), Some(leak.as_str()));
    assert_eq!(loc.commit_date.as_deref(), Some("2026-02-03T04:05:06Z"));
    assert_eq!(loc.line, 2);
    // The later version of the file that still held it is listed as another place.
    let also = f.evidence["also_seen_in"].as_array().expect("also_seen_in");
    assert_eq!(also.len(), 1);
    assert!(!serde_json::to_string(f).unwrap().contains(&token));
}

#[test]
fn identical_blobs_in_many_commits_are_scanned_once() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("r");
    git::init(&repo);
    let shared = format!("STRIPE=sk_live_{}\n", "4eC39HqLyjWDarjtT1zdp7dcQ");
    for i in 0..30 {
        // The same config file content in every commit, plus a file that changes.
        git::commit(
            &repo,
            &[
                ("config/shared.env", &shared),
                ("counter.txt", &format!("{i}\n")),
            ],
            &format!("commit {i}"),
            &format!("2026-01-{:02}T00:00:00Z", i + 1),
        );
    }
    let outcome = scan(&[&repo], true, false);
    // 30 versions of counter.txt + 1 shared.env blob.
    assert_eq!(outcome.stats.blobs_scanned, 31);
    assert_eq!(outcome.findings.len(), 1);
    let loc = outcome.findings[0].location.as_ref().unwrap();
    assert_eq!(loc.commit_date.as_deref(), Some("2026-01-01T00:00:00Z"));
}

#[test]
fn branches_are_scanned_and_trustmapignore_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("r");
    git::init(&repo);
    git::commit(
        &repo,
        &[
            (".trustmapignore", "fixtures/\n"),
            (
                "fixtures/fake.env",
                "NPM_TOKEN=npm_ignoredignoredignoredignored1234\n",
            ),
        ],
        "init",
        "2026-01-01T00:00:00Z",
    );
    git::git(&repo, &["checkout", "-q", "-b", "feature"]);
    let token = github_token("b");
    git::commit(
        &repo,
        &[("src/app.py", &format!("TOKEN = '{token}'\n"))],
        "feature",
        "2026-01-02T00:00:00Z",
    );
    git::git(&repo, &["checkout", "-q", "main"]);
    let outcome = scan(&[&repo], true, false);
    assert_eq!(outcome.findings.len(), 1, "{:#?}", outcome.findings);
    assert!(outcome.findings[0]
        .location
        .as_ref()
        .unwrap()
        .path
        .ends_with("src/app.py"));
    assert!(outcome.stats.skipped_ignored >= 1);
}

#[test]
fn empty_repository_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("empty");
    git::init(&repo);
    let outcome = scan(&[&repo], true, false);
    assert!(outcome.failures.is_empty());
    assert!(outcome.findings.is_empty());
}

#[test]
fn missing_blobs_are_gaps_and_an_unreadable_repository_fails_only_its_connector() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("broken");
    git::init(&repo);
    git::commit(
        &repo,
        &[("a.txt", "hello\n"), ("b.txt", "world\n")],
        "init",
        "2026-01-01T00:00:00Z",
    );
    // Delete every loose blob object: history now points at missing objects.
    let objects = repo.join(".git/objects");
    for entry in walk(&objects) {
        let rel = entry
            .strip_prefix(&objects)
            .unwrap()
            .to_string_lossy()
            .to_string();
        if rel.len() == 41 && rel.as_bytes()[2] == b'/' {
            let oid = rel.replace('/', "");
            let kind = git::git(&repo, &["cat-file", "-t", &oid]);
            if kind == "blob" {
                std::fs::remove_file(&entry).unwrap();
            }
        }
    }
    let other = dir.path().join("plain");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(
        other.join("app.env"),
        format!("GITHUB_TOKEN={}\n", github_token("c")),
    )
    .unwrap();
    // Missing blobs are coverage gaps, not a failure of the repository.
    let outcome = scan(&[&repo, &other], true, false);
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    assert_eq!(
        outcome
            .stats
            .gaps
            .iter()
            .filter(|g| g.contains("missing"))
            .count(),
        2,
        "{:?}",
        outcome.stats.gaps
    );
    assert_eq!(outcome.findings.len(), 1);
    // A repository git cannot read at all still fails its connector, and only it.
    std::fs::write(repo.join(".git/HEAD"), "garbage\n").unwrap();
    std::fs::remove_dir_all(repo.join(".git/refs")).unwrap();
    let outcome = scan(&[&repo, &other], true, false);
    assert_eq!(outcome.failures.len(), 1, "{:?}", outcome.failures);
    assert!(
        outcome.failures[0].message.contains("broken"),
        "{}",
        outcome.failures[0].message
    );
    assert_eq!(outcome.findings.len(), 1);
}

#[test]
fn staged_scan_reports_only_added_lines() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("r");
    git::init(&repo);
    let old = github_token("d");
    git::commit(
        &repo,
        &[("app.env", &format!("OLD={old}\n"))],
        "init",
        "2026-01-01T00:00:00Z",
    );
    let new = github_token("e");
    std::fs::write(repo.join("app.env"), format!("OLD={old}\nNEW={new}\n")).unwrap();
    std::fs::write(
        repo.join("unstaged.env"),
        format!("X={}\n", github_token("f")),
    )
    .unwrap();
    git::git(&repo, &["add", "app.env"]);
    let outcome = scan(&[&repo], false, true);
    assert_eq!(outcome.findings.len(), 1, "{:#?}", outcome.findings);
    assert_eq!(outcome.findings[0].location.as_ref().unwrap().line, 2);
}

#[test]
fn history_of_500_commits_is_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("long");
    git::init(&repo);
    // fast-import builds a long history quickly without a process per commit.
    let mut stream = String::new();
    for i in 0..500u32 {
        let body = if i == 250 {
            format!(
                "value {i}\nSENDGRID=SG.{}.{}\n",
                "a1B2c3D4e5F6g7H8i9J0kL", "m1N2o3P4q5R6s7T8u9V0w1X2y3Z4a5B6c7D8e9F0g1H"
            )
        } else {
            format!("value {i}\n")
        };
        stream.push_str(&format!(
            // fast-import chains commits on one branch by itself.
            "commit refs/heads/main\ncommitter F <f@corp.example> {} +0000\ndata 4\nc{:03}\nM 100644 inline data.txt\ndata {}\n{body}\n",
            1_700_000_000 + u64::from(i) * 60,
            i % 1000,
            body.len()
        ));
    }
    let mut child = Command::new("git")
        .arg("-C")
        .arg(&repo)
        .args(["fast-import", "--quiet"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stream.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    let outcome = scan(&[&repo], true, false);
    assert_eq!(outcome.stats.blobs_scanned, 500);
    assert_eq!(outcome.findings.len(), 1);
    let date = outcome.findings[0]
        .location
        .as_ref()
        .unwrap()
        .commit_date
        .clone()
        .unwrap();
    assert_eq!(date, "2023-11-15T02:23:20Z"); // 1_700_000_000 + 250 * 60 seconds
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// The object file of `oid` in a repository's loose object store.
fn loose_object(repo: &Path, oid: &str) -> std::path::PathBuf {
    repo.join(".git/objects").join(&oid[..2]).join(&oid[2..])
}

fn rev_parse(repo: &Path, what: &str) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["rev-parse", what])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn a_missing_object_is_a_coverage_gap_and_the_rest_is_still_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("damaged");
    git::init(&repo);
    let kept = github_token("k");
    let lost = github_token("l");
    git::commit(
        &repo,
        &[
            ("kept.env", &format!("T={kept}\n")),
            ("lost.env", &format!("T={lost}\n")),
        ],
        "two secrets",
        "2026-01-01T10:00:00Z",
    );
    let lost_oid = rev_parse(&repo, "HEAD:lost.env");
    std::fs::remove_file(loose_object(&repo, &lost_oid)).unwrap();
    let out = scan(&[&repo], true, false);
    assert!(out.failures.is_empty(), "{:?}", out.failures);
    let evidence: Vec<String> = out.findings.iter().map(|f| f.title.clone()).collect();
    assert!(
        out.findings.iter().any(|f| f
            .location
            .as_ref()
            .is_some_and(|l| l.path.ends_with("kept.env") && l.commit.is_some())),
        "the intact blob is still scanned from history: {evidence:?}"
    );
    let gaps = &out.stats.gaps;
    assert!(
        gaps.iter()
            .any(|g| g.contains(&lost_oid) && g.contains("missing")),
        "{gaps:?}"
    );
}

#[test]
fn a_partial_clone_is_scanned_without_fetching_what_it_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let origin = dir.path().join("origin");
    git::init(&origin);
    let old = github_token("o");
    git::commit(
        &origin,
        &[("ci.env", &format!("T={old}\n"))],
        "old",
        "2026-01-01T10:00:00Z",
    );
    let current = github_token("c");
    git::commit(
        &origin,
        &[("ci.env", &format!("T={current}\n"))],
        "rotate",
        "2026-02-01T10:00:00Z",
    );
    let run = |args: &[&str]| {
        let o = Command::new("git").args(args).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run(&[
        "-C",
        origin.to_str().unwrap(),
        "config",
        "uploadpack.allowFilter",
        "true",
    ]);
    let clone = dir.path().join("clone");
    let url = format!("file://{}", origin.display());
    run(&[
        "clone",
        "-q",
        "--filter=blob:none",
        &url,
        clone.to_str().unwrap(),
    ]);
    // The promisor is gone: a scan that tried to fetch would fail or hang.
    std::fs::remove_dir_all(&origin).unwrap();
    let out = scan(&[&clone], true, false);
    assert!(out.failures.is_empty(), "{:?}", out.failures);
    assert!(
        out.stats.gaps.iter().any(|g| g.contains("missing")),
        "the old blob is a gap: {:?}",
        out.stats.gaps
    );
    assert!(!out.findings.is_empty(), "the checked-out blob is scanned");
}
