//! A history scanned version against version finds exactly what scanning every version whole
//! finds: same findings, same introducing commits, lines, columns and other places, on a real
//! repository made with the git CLI whose files are edited, moved around and rewritten over
//! many commits on two branches.
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use std::path::Path;
use trustmap_connector_git::{scan_history, GitOptions};
use trustmap_model::{NoProgress, ScanStats, SecretMatch};
use trustmap_rules::Engine;
use trustmap_testkit::git;
use trustmap_testkit::tokens::{github_token, rsa_private_key_pem};

/// A small deterministic generator: the history is the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % below.max(1)
    }
}

/// Lines a secret can be planted as: single-line tokens, an AWS key pair, a `.netrc` entry
/// (a multi-line rule with a small window) and a PEM key (a multi-line rule with a large one).
fn secret_blocks(pem: &str) -> Vec<String> {
    vec![
        format!("GITHUB_TOKEN={}", github_token("alpha")),
        format!("    token = \"{}\"", github_token("bravo")),
        "aws_access_key_id = AKIAQYLPMN5HHHFPZAM2\naws_secret_access_key = 8ZXMg3FdOQWkqnHzeWkpCvfZzW7nCnR3hLd0Qy9z".into(),
        "machine build.corp.example\n  login ci\n  password Zq8rT2wLmN4vXk7P".into(),
        pem.trim_end().to_string(),
    ]
}

fn code_line(i: usize) -> String {
    format!("    let value_{i} = compute(input_{i}, \"state {i}\"); // key handling")
}

/// 160 commits: a 3,000-line file edited in one to four places per commit (secrets planted,
/// edited beside, moved and removed), a small config rewritten, a side branch of its own.
fn build_history(repo: &Path) {
    let pem = rsa_private_key_pem().unwrap();
    let blocks = secret_blocks(&pem);
    let mut rng = Lcg(7);
    let mut big: Vec<String> = (0..3000).map(code_line).collect();
    git::init(repo);
    for n in 0..160 {
        if n == 100 {
            git::git(repo, &["checkout", "-q", "-b", "side"]);
        }
        if n % 60 == 20 {
            big.insert(rng.next(big.len()), blocks[blocks.len() - 1].clone());
        }
        if n == 130 {
            git::git(repo, &["checkout", "-q", "main"]);
        }
        for _ in 0..=rng.next(4) {
            let at = rng.next(big.len());
            match rng.next(6) {
                // Keys are rare in code: the PEM block only now and then.
                0 => big.insert(at, blocks[rng.next(blocks.len() - 1)].clone()),
                1 if big.len() > 100 => {
                    big.remove(at);
                }
                2 => big[at] = format!("{} // edited {n}", big[at].lines().next().unwrap_or("")),
                3 => big.insert(at, code_line(10_000 + n)),
                4 => {
                    // A secret moved: removed in one place, planted in another.
                    if let Some(p) = big.iter().position(|l| l.contains("GITHUB_TOKEN")) {
                        let line = big.remove(p);
                        big.insert(at.min(big.len()), line);
                    }
                }
                _ => big[at] = code_line(20_000 + n),
            }
        }
        let config = if n % 7 == 3 {
            format!("[deploy]\nregion = eu\n{}\n", blocks[n % blocks.len()])
        } else {
            format!("[deploy]\nregion = eu\nrevision = {n}\n")
        };
        let mut text = big.join("\n");
        text.push('\n');
        let date = format!(
            "2026-{:02}-{:02}T{:02}:00:00Z",
            1 + n / 28,
            1 + n % 28,
            n % 24
        );
        git::commit(
            repo,
            &[("src/engine.rs", &text), ("deploy/app.toml", &config)],
            &format!("change {n}"),
            &date,
        );
    }
}

fn scan(repo: &Path, incremental: bool, threads: usize) -> (Vec<SecretMatch>, ScanStats) {
    let engine = Engine::builtin().unwrap();
    let opts = GitOptions {
        incremental,
        threads,
        ..GitOptions::default()
    };
    scan_history(&engine, repo, "repo", &opts, &NoProgress).unwrap()
}

/// Everything a finding is reported with.
fn reported(found: &[SecretMatch]) -> Vec<String> {
    let mut v: Vec<String> = found
        .iter()
        .map(|m| {
            format!(
                "{} {} {}:{} {:?} {:?} {:?} {:?}",
                m.rule_id,
                m.secret.expose(),
                m.line,
                m.column,
                m.path,
                m.commit,
                m.commit_date,
                m.also_seen_in
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn version_against_version_finds_what_whole_versions_find() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("history");
    build_history(&repo);

    let (whole, whole_stats) = scan(&repo, false, 1);
    let (edited, edited_stats) = scan(&repo, true, 2);
    assert!(whole.len() >= 6, "planted secrets are found: {whole:#?}");
    assert_eq!(reported(&edited), reported(&whole));
    assert_eq!(edited_stats.blobs_scanned, whole_stats.blobs_scanned);
    assert_eq!(edited_stats.bytes_scanned, whole_stats.bytes_scanned);
    assert_eq!(whole_stats.bytes_matched, whole_stats.bytes_scanned);
    // Most of each version is carried over from the one before.
    assert!(
        edited_stats.bytes_matched * 2 < edited_stats.bytes_scanned,
        "matched {} of {} bytes",
        edited_stats.bytes_matched,
        edited_stats.bytes_scanned
    );
    // Workers split chains between them; their number changes nothing found.
    assert_eq!(reported(&scan(&repo, true, 1).0), reported(&whole));
    assert_eq!(reported(&scan(&repo, true, 5).0), reported(&whole));
}
