//! The `trustmap` binary end to end: exit codes, formats, redaction, baseline, suppression,
//! fingerprints and bad input.
#![allow(clippy::too_many_lines)] // a scenario test reads as one story, set-up to assertions
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use trustmap_testkit::tokens::github_token;

fn trustmap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trustmap"))
        .args(args)
        .output()
        .expect("run trustmap")
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn findings(o: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("jsonl line"))
        .collect()
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn tree_with_token() -> (tempfile::TempDir, PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("app");
    std::fs::create_dir_all(root.join("config")).unwrap();
    let token = github_token("a");
    std::fs::write(
        root.join("config/ci.env"),
        format!("# ci\nREGION=eu\nGITHUB_TOKEN={token}\n"),
    )
    .unwrap();
    (dir, root, token)
}

#[test]
fn findings_exit_1_and_fail_on_controls_it() {
    let (_d, root, _) = tree_with_token();
    let o = trustmap(&["scan", &s(&root)]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(findings(&o).len(), 1);
    assert!(
        stderr(&o).contains("1 findings: 1 critical"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        code(&trustmap(&["scan", "--fail-on", "none", &s(&root)])),
        0
    );
    let clean = tempfile::tempdir().unwrap();
    std::fs::write(clean.path().join("a.txt"), "nothing here\n").unwrap();
    assert_eq!(code(&trustmap(&["scan", &s(clean.path())])), 0);
}

#[test]
fn usage_errors_exit_2_and_name_what_is_wrong() {
    let o = trustmap(&["scan", "/no/such/dir"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("/no/such/dir"), "{}", stderr(&o));
    let o = trustmap(&["scan", "--fail-on", "severe", "."]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("severe"), "{}", stderr(&o));

    let rules = tempfile::tempdir().unwrap();
    std::fs::write(
        rules.path().join("bad.toml"),
        "[[rules]]\nid = \"x\"\nname = \"X\"\nregex = '(unclosed'\nkeywords = [\"xx\"]\nseverity = \"high\"\nreveals = { provider = \"p\", kind = \"k\" }\nexamples = [\"xx1\"]\nnegative_examples = [\"yy\"]\n",
    )
    .unwrap();
    let o = trustmap(&["scan", "--rules", &s(rules.path()), "."]);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(
        err.contains("bad.toml:2") && err.contains("`regex`"),
        "{err}"
    );
    std::fs::write(
        rules.path().join("bad.toml"),
        "[[rules]]\nid = \"x\"\nbogus = 1\n",
    )
    .unwrap();
    let o = trustmap(&["rules", "check", &s(rules.path())]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("bad.toml:3") && stderr(&o).contains("bogus"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn rules_check_passes_on_builtin_and_fails_on_a_broken_example() {
    let o = trustmap(&["rules", "check"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("rules ok"));
    let rules = tempfile::tempdir().unwrap();
    std::fs::write(
        rules.path().join("r.toml"),
        "[[rules]]\nid = \"acme-key\"\nname = \"Acme key\"\nregex = '\\b(acme_[0-9a-f]{8})\\b'\nkeywords = [\"acme_\"]\nseverity = \"high\"\nreveals = { provider = \"acme\", kind = \"key\" }\nexamples = [\"k = acme_0123abcd\", \"k = acme_zz\"]\nnegative_examples = [\"acme_\"]\n",
    )
    .unwrap();
    let o = trustmap(&["rules", "check", &s(rules.path())]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("acme-key: example not found"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn every_format_redacts_unless_show_secrets() {
    let (_d, root, token) = tree_with_token();
    for format in ["jsonl", "json", "sarif"] {
        let o = trustmap(&["scan", "--format", format, &s(&root)]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(!out.contains(&token), "{format} leaks the secret");
        assert!(!stderr(&o).contains(&token));
        assert!(out.contains("ghp_********"), "{format}: {out}");
    }
    let o = trustmap(&["scan", "--show-secrets", &s(&root)]);
    assert!(String::from_utf8_lossy(&o.stdout).contains(&token));
    let o = trustmap(&["scan", "--format", "json", &s(&root)]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["findings"].as_array().unwrap().len(), 1);
    assert_eq!(doc["stats"]["files_scanned"], 1);
    let f = &doc["findings"][0];
    for field in [
        "id",
        "kind",
        "severity",
        "title",
        "subject",
        "partner",
        "chain",
        "rule",
        "location",
        "evidence",
        "remediation",
        "references",
        "status",
        "first_seen",
        "last_seen",
    ] {
        assert!(f.get(field).is_some(), "finding lacks {field}");
    }
    assert_eq!(f["kind"], "leaked_secret");
    assert_eq!(f["location"]["line"], 3);
    assert_eq!(
        f["evidence"]["reveals"]["token_kind"],
        "personal_access_token_classic"
    );
}

#[test]
fn sarif_passes_the_sarif_multitool() {
    if trustmap_model::env::is_set("TRUSTMAP_SKIP_SARIF_MULTITOOL") {
        eprintln!("skipped: TRUSTMAP_SKIP_SARIF_MULTITOOL is set");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    trustmap_testkit::corpus::build(dir.path(), 3, 1).unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let sarif = out.join("findings.sarif");
    let o = trustmap(&[
        "scan",
        "--format",
        "sarif",
        "--output",
        &s(&sarif),
        &s(dir.path()),
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let v = Command::new("sarif-multitool")
        .args(["validate", &s(&sarif)])
        .output()
        .expect("sarif-multitool is installed (npm install -g @microsoft/sarif-multitool); .ci/run installs it");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&v.stderr)
    );
    assert!(v.status.success(), "{text}");
    assert!(!text.contains(": error "), "{text}");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    assert!(doc["runs"][0]["results"].as_array().unwrap().len() >= 15);
}

#[test]
fn fingerprints_survive_unrelated_edits_and_baseline_hides_known_findings() {
    let (dir, root, _) = tree_with_token();
    let first = trustmap(&["scan", &s(&root)]);
    let ids: Vec<String> = findings(&first)
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    let baseline = dir.path().join("baseline.jsonl");
    std::fs::write(&baseline, &first.stdout).unwrap();

    // Unrelated lines above the secret move it down; the id stays.
    let file = root.join("config/ci.env");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("# new header\n# more\n\n{text}")).unwrap();
    let second = trustmap(&["scan", &s(&root)]);
    let f2 = findings(&second);
    assert_eq!(f2[0]["id"].as_str().unwrap(), ids[0]);
    assert_eq!(f2[0]["location"]["line"], 6);

    let o = trustmap(&["scan", "--baseline", &s(&baseline), &s(&root)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(findings(&o).is_empty());
    assert!(stderr(&o).contains("1 findings already in the baseline"));
    std::fs::write(root.join("new.env"), format!("T={}\n", github_token("n"))).unwrap();
    let o = trustmap(&["scan", "--baseline", &s(&baseline), &s(&root)]);
    assert_eq!(findings(&o).len(), 1);
    assert!(findings(&o)[0]["location"]["path"]
        .as_str()
        .unwrap()
        .ends_with("new.env"));

    std::fs::write(&baseline, "garbage\n").unwrap();
    let o = trustmap(&["scan", "--baseline", &s(&baseline), &s(&root)]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("baseline.jsonl:1"), "{}", stderr(&o));
}

#[test]
fn allow_comments_and_trustmapignore_suppress() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("a.py"),
        format!("T = '{}'  # trustmap:allow\n", github_token("x")),
    )
    .unwrap();
    std::fs::create_dir_all(root.join("fixtures")).unwrap();
    std::fs::write(
        root.join("fixtures/b.env"),
        format!("T={}\n", github_token("y")),
    )
    .unwrap();
    std::fs::write(root.join("c.env"), format!("T={}\n", github_token("z"))).unwrap();
    std::fs::write(root.join(".trustmapignore"), "fixtures/\n").unwrap();
    let o = trustmap(&["scan", &s(root)]);
    let f = findings(&o);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(f[0]["location"]["path"]
        .as_str()
        .unwrap()
        .ends_with("c.env"));
}

#[cfg(unix)]
#[test]
fn bad_input_is_counted_never_fatal() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tree");
    std::fs::create_dir_all(root.join("loop")).unwrap();
    // A symlink loop, a FIFO (would block a naive reader), a binary file with a token inside,
    // a non-UTF-8 file with a token, and a 2 GB sparse file.
    symlink("..", root.join("loop/up")).unwrap();
    symlink(root.join("loop"), root.join("loop/again")).unwrap();
    assert!(Command::new("mkfifo")
        .arg(root.join("pipe"))
        .status()
        .unwrap()
        .success());
    let mut bin = vec![0u8, 1, 2, 3, 0];
    bin.extend_from_slice(format!("T={}", github_token("b")).as_bytes());
    std::fs::write(root.join("blob.bin"), bin).unwrap();
    let mut latin1 = b"caf\xe9 \xff\xfe config\n".to_vec();
    latin1.extend_from_slice(format!("T={}\n", github_token("l")).as_bytes());
    std::fs::write(root.join("latin1.txt"), latin1).unwrap();
    let big = std::fs::File::create(root.join("huge.log")).unwrap();
    big.set_len(2 * 1024 * 1024 * 1024).unwrap();
    drop(big);

    let o = trustmap(&["scan", "--format", "json", &s(&root)]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let found = doc["findings"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0]["location"]["path"]
        .as_str()
        .unwrap()
        .ends_with("latin1.txt"));
    assert_eq!(found[0]["location"]["line"], 2);
    assert_eq!(doc["stats"]["skipped_binary"], 1);
    assert_eq!(doc["stats"]["skipped_oversized"], 1);
    assert!(
        stderr(&o).contains("1 binary, 1 oversized"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_ref_to_a_missing_commit_is_a_coverage_gap_and_the_rest_is_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    trustmap_testkit::git::init(&repo);
    trustmap_testkit::git::commit(
        &repo,
        &[("a.txt", "hello\n")],
        "init",
        "2026-01-01T00:00:00Z",
    );
    // A ref that points at an object that does not exist.
    std::fs::write(
        repo.join(".git/refs/heads/broken"),
        "0123456789abcdef0123456789abcdef01234567\n",
    )
    .unwrap();
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("x.env"), format!("T={}\n", github_token("o"))).unwrap();
    let o = trustmap(&["scan", "--git", &s(&repo), &s(&other)]);
    assert_eq!(
        code(&o),
        1,
        "the finding fails the scan, not the repository: {}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("0123456789abcdef0123456789abcdef01234567 is missing"),
        "{}",
        stderr(&o)
    );
    assert_eq!(findings(&o).len(), 1);
    // A directory that is not a repository at all still fails its connector (exit 3).
    std::fs::remove_dir_all(repo.join(".git")).unwrap();
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    let o = trustmap(&["scan", "--git", &s(&repo), &s(&other)]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("git connector failed"),
        "{}",
        stderr(&o)
    );
    assert_eq!(findings(&o).len(), 1);
}

fn scan_with(root: &Path, env: &[(&str, &str)], extra: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trustmap"));
    cmd.arg("scan")
        .arg(root)
        .args(extra)
        .env_remove("TRUSTMAP_KEY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run trustmap")
}

fn hmac_hex(key_hex: &str, value: &str) -> String {
    use hmac::Mac;
    let key: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&key_hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(value.as_bytes());
    mac.finalize().into_bytes()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn secret_digests_are_keyed_per_user_or_team_and_stable_under_one_key() {
    let (dir, root, token) = tree_with_token();
    let config = dir.path().join("config-home");
    let env = [("XDG_CONFIG_HOME", config.to_str().unwrap())];
    let first = findings(&scan_with(&root, &env, &[]));
    let again = findings(&scan_with(&root, &env, &[]));
    assert_eq!(first[0]["id"], again[0]["id"], "one key: stable ids");

    // The key file was created on first use, readable by its owner only, and the digest is
    // the HMAC under it: nothing a report holder can test guesses against.
    let key_path = config.join("trustmap/digest.key");
    let key = std::fs::read_to_string(&key_path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
    let digest = first[0]["evidence"]["secret_digest"].as_str().unwrap();
    assert_eq!(digest, hmac_hex(key.trim(), &token));
    use sha2::Digest as _;
    let unkeyed: String = sha2::Sha256::digest(format!("trustmap-secret:{token}"))[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_ne!(digest, unkeyed);

    // Another key (a team's, from the environment or a key file): other ids.
    let team = "0f".repeat(32);
    let shared = findings(&scan_with(&root, &[("TRUSTMAP_KEY", team.as_str())], &[]));
    assert_ne!(shared[0]["id"], first[0]["id"]);
    assert_eq!(
        shared[0]["evidence"]["secret_digest"],
        hmac_hex(&team, &token)
    );
    let team_file = dir.path().join("team.key");
    std::fs::write(&team_file, format!("{team}\n")).unwrap();
    let from_file = findings(&scan_with(&root, &env, &["--key-file", &s(&team_file)]));
    assert_eq!(from_file[0]["id"], shared[0]["id"]);

    // A bad key is a clear error, never a silent fallback.
    let o = scan_with(&root, &[("TRUSTMAP_KEY", "short")], &[]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("TRUSTMAP_KEY") && stderr(&o).contains("64 hex digits"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains(&token));
}
