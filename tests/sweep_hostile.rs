//! Names from sources are hostile: a formula, markup, pipes, backticks, ANSI escapes and a
//! right-to-left override in an identity's name and id reach every output safely (the CSV
//! runs no formula, the Markdown table keeps its columns, the HTML is escaped, JSON and SARIF
//! parse, the terminal summary carries no escape).
#![allow(clippy::too_many_lines)] // a scenario test reads as one story, set-up to assertions
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use std::process::Command;

/// `trustmap sweep` in `dir` (its sweep.toml), every format into `dir/out`, as of 2026-11-22.
fn sweep_every_format(dir: &std::path::Path, out: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_trustmap"))
        .current_dir(dir)
        .args([
            "sweep",
            "--config",
            "sweep.toml",
            "--out",
            out,
            "--now",
            "2026-11-22",
        ])
        .args(["--format", "jsonl,json,sarif,csv,md,html"])
        .output()
        .unwrap()
}

const NAME: &str = "=HYPERLINK(\"http://evil.example\",\"x\") <b>|`\u{1b}[31mred\u{1b}]8;;http://evil\u{7}\u{202e}txt";

#[test]
fn hostile_names_reach_every_output_safely() {
    let dir = tempfile::tempdir().unwrap();
    let line = serde_json::json!({
        "type": "identity", "id": format!("x:{NAME}"), "kind": "svc", "name": NAME,
        "scopes": ["aws:s3:GetObject"]
    });
    std::fs::write(dir.path().join("inventory.jsonl"), format!("{line}\n")).unwrap();
    std::fs::write(dir.path().join("partners.toml"), "").unwrap();
    // A program that fails with escapes in its stderr: the summary quotes its last lines.
    std::fs::write(
        dir.path().join("fail.sh"),
        "printf 'boom \\033[2J\\033[31mred \\342\\200\\256gpj.exe' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("sweep.toml"),
        "[sweep]\npartners = \"partners.toml\"\n\n[[connectors]]\ntype = \"exec\"\nname = \"inv\"\ncommand = \"cat\"\nargs = [\"inventory.jsonl\"]\n\n[[connectors]]\ntype = \"exec\"\nname = \"noisy\"\ncommand = \"sh\"\nargs = [\"fail.sh\"]\n",
    )
    .unwrap();
    let o = sweep_every_format(dir.path(), "out");
    // The failing connector is reported (exit 3); the other's findings are still written.
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("boom") && stderr.contains("red"),
        "{stderr:?}"
    );
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\u{202e}'),
        "{stderr:?}"
    );
    let out = dir.path().join("out");
    let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap();

    // JSON and SARIF parse and keep the name as data.
    let json: serde_json::Value = serde_json::from_str(&read("findings.json")).unwrap();
    assert_eq!(json["findings"][0]["subject"]["name"], NAME);
    let _: serde_json::Value = serde_json::from_str(&read("findings.sarif")).unwrap();

    // CSV: no cell starts a formula.
    let csv = read("findings.csv");
    let row = csv.lines().nth(1).unwrap();
    assert!(
        !row.split(',')
            .any(|c| c.trim_start_matches('"').starts_with('=')),
        "{row}"
    );
    assert!(row.contains("'=HYPERLINK"), "{row}");

    // Markdown: the table row keeps its six columns (escaped pipes do not split it).
    let md = read("findings.md");
    let table_row = md
        .lines()
        .find(|l| l.starts_with("| unowned_identity"))
        .unwrap();
    let columns = table_row.replace("\\|", "").matches('|').count() - 1;
    assert_eq!(columns, 6, "{table_row}");

    // HTML: the markup is text, not markup.
    let html = read("findings.html");
    assert!(
        html.contains("&lt;b&gt;") && !html.contains("<b>|"),
        "markup not escaped"
    );
}

/// A GitHub classic token with a valid checksum.
fn github_token(seed: &str) -> String {
    let random: String = format!("{seed}Wq3Zr8Tn5Lk2Mv7Pb4Xc9Hd6Jf1Gs0")
        .chars()
        .take(30)
        .collect();
    format!(
        "ghp_{random}{}",
        trustmap_rules::base62_crc32(random.as_bytes())
    )
}

#[test]
fn no_planted_secret_reaches_outputs_errors_or_trace_logs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let in_history = github_token("h");
    let in_file = github_token("f");
    let api_token = github_token("t");
    let aws_secret = "q8Vd2Lr7Tz4Xn1Pw6Ks3Hb9Jm5Fc0Gy2Ra7Ue4W";
    let graph_token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJncmFwaCJ9.c2lnbmF0dXJlLXBsYW50ZWQtaW4tdGhlLXRlc3Q";
    let password = "Zebra-Quartz-4471-Plinth";
    let planted = [
        in_history.as_str(),
        in_file.as_str(),
        api_token.as_str(),
        aws_secret,
        graph_token,
        password,
    ];

    let repo = root.join("repo");
    trustmap_testkit::git::init(&repo);
    trustmap_testkit::git::commit(
        &repo,
        &[("ci.env", &format!("GITHUB_TOKEN={in_history}\nAWS_ACCESS_KEY_ID=AKIAQWERTYUIOPASDFGH\nAWS_SECRET_ACCESS_KEY={aws_secret}\n"))],
        "ci",
        "2026-01-01T10:00:00Z",
    );
    trustmap_testkit::git::commit(
        &repo,
        &[("ci.env", "# moved to the vault\n")],
        "rm",
        "2026-01-02T10:00:00Z",
    );
    std::fs::create_dir_all(root.join("conf")).unwrap();
    std::fs::write(
        root.join("conf/app.ini"),
        format!("[db]\npassword = {password}\ntoken = {in_file}\n"),
    )
    .unwrap();
    // A program that fails and prints a secret on its stderr: the error quotes stderr.
    std::fs::write(
        root.join("leaky.sh"),
        format!("echo 'auth failed for token {api_token}' >&2\nexit 1\n"),
    )
    .unwrap();
    std::fs::write(root.join("partners.toml"), "").unwrap();
    std::fs::write(
        root.join("sweep.toml"),
        r#"[sweep]
partners = "partners.toml"

[[connectors]]
type = "git"
name = "repo"
path = "repo"
history = true

[[connectors]]
type = "filesystem"
name = "conf"
path = "conf"

[[connectors]]
type = "exec"
name = "leaky"
command = "sh"
args = ["leaky.sh"]

[[connectors]]
type = "github"
name = "gh"
org = "corp"
api_url = "http://127.0.0.1:9"
token_env = "PLANTED_GH_TOKEN"

[[connectors]]
type = "entra"
name = "entra"
tenant_id = "11111111-2222-3333-4444-555555555555"
api_url = "http://127.0.0.1:9"
token_env = "PLANTED_GRAPH_TOKEN"

[[connectors]]
type = "aws-iam"
name = "aws"
endpoint_url = "http://127.0.0.1:9"
max_attempts = 1
"#,
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_trustmap"))
        .current_dir(root)
        .args([
            "sweep",
            "--config",
            "sweep.toml",
            "--out",
            "out",
            "--state",
            "state.db",
        ])
        .args([
            "--format",
            "jsonl,json,sarif,csv,md,html",
            "--now",
            "2026-11-22",
        ])
        .env("RUST_LOG", "trace")
        .env("PLANTED_GH_TOKEN", &api_token)
        .env("PLANTED_GRAPH_TOKEN", graph_token)
        .env("AWS_ACCESS_KEY_ID", "AKIAQWERTYUIOPASDFGH")
        .env("AWS_SECRET_ACCESS_KEY", aws_secret)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("TRUSTMAP_KEY", "ab".repeat(32))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(
        o.status.code(),
        Some(3),
        "the network connectors fail: {}",
        &stderr[stderr.len().saturating_sub(3000)..]
    );
    assert!(
        stderr.len() > 10_000,
        "trace logging was on ({} bytes)",
        stderr.len()
    );
    let mut texts = vec![
        ("stderr".to_string(), stderr),
        (
            "stdout".to_string(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        ),
    ];
    for entry in std::fs::read_dir(root.join("out")).unwrap() {
        let path = entry.unwrap().path();
        texts.push((
            path.display().to_string(),
            std::fs::read_to_string(&path).unwrap(),
        ));
    }
    let state = std::fs::read(root.join("state.db")).unwrap();
    texts.push((
        "state.db".into(),
        String::from_utf8_lossy(&state).into_owned(),
    ));
    for (name, text) in &texts {
        for secret in planted {
            assert!(
                !text.contains(secret),
                "{name} holds a planted secret ({}...)",
                &secret[..6]
            );
        }
    }
    // The leaks were found all the same (redacted).
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("out/findings.json")).unwrap())
            .unwrap();
    let leaks = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "leaked_secret")
        .count();
    assert!(leaks >= 3, "{leaks} leaks");
}

#[test]
fn a_hostile_estate_from_every_local_connector_stays_well_formed_for_real_consumers() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let huge = "x".repeat(100 * 1024);
    let names = [
        format!("=cmd|' /C calc'!A0 {huge}"),
        "nul\u{0}byte and\nnewline\r\n<script>alert(1)</script>".to_string(),
        "\u{202e}fdp.exe \u{1b}]8;;http://evil\u{7}link\u{1b}[0m @SUM(1)".to_string(),
        "+1 | `code` ]] -->".to_string(),
    ];
    let mut lines = String::new();
    for (i, name) in names.iter().enumerate() {
        let line = serde_json::json!({
            "type": "identity", "id": format!("x:{i}:{name}"), "kind": "svc", "name": name,
            "scopes": ["aws:s3:*"]
        });
        lines.push_str(&format!("{line}\n"));
    }
    std::fs::write(root.join("inventory.jsonl"), lines).unwrap();
    // Hostile file names, in a directory and in a repository's history, each leaking a token.
    let files = [
        "<img src=x onerror=alert(2)>.env",
        "evil\u{202e}vne.txt",
        "new\nline.env",
        "=HYPERLINK(1).env",
    ];
    std::fs::create_dir_all(root.join("conf")).unwrap();
    for (i, f) in files.iter().enumerate() {
        std::fs::write(
            root.join("conf").join(f),
            format!("TOKEN={}\n", github_token(&format!("c{i}"))),
        )
        .unwrap();
    }
    let repo = root.join("repo");
    trustmap_testkit::git::init(&repo);
    let tokens: Vec<(String, String)> = files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            (
                f.to_string(),
                format!("TOKEN={}\n", github_token(&format!("g{i}"))),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = tokens
        .iter()
        .map(|(f, t)| (f.as_str(), t.as_str()))
        .collect();
    trustmap_testkit::git::commit(&repo, &refs, "hostile", "2026-01-01T10:00:00Z");
    std::fs::write(root.join("partners.toml"), "").unwrap();
    std::fs::write(
        root.join("sweep.toml"),
        "[sweep]\npartners = \"partners.toml\"\n\n[[connectors]]\ntype = \"exec\"\nname = \"inv\"\ncommand = \"cat\"\nargs = [\"inventory.jsonl\"]\n\n[[connectors]]\ntype = \"filesystem\"\nname = \"conf\"\npath = \"conf\"\n\n[[connectors]]\ntype = \"git\"\nname = \"repo\"\npath = \"repo\"\nhistory = true\n",
    )
    .unwrap();
    let o = sweep_every_format(root, "out");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\u{202e}') && !stderr.contains('\u{0}')
    );
    let out = root.join("out");
    let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap();

    // JSON lines and JSON parse, and keep every name as data.
    let json: serde_json::Value = serde_json::from_str(&read("findings.json")).unwrap();
    let findings = json["findings"].as_array().unwrap();
    assert!(findings
        .iter()
        .any(|f| f["subject"]["name"] == names[1].as_str()));
    assert!(
        findings
            .iter()
            .filter(|f| f["kind"] == "leaked_secret")
            .count()
            >= 8,
        "every hostile file's token"
    );
    for l in read("findings.jsonl").lines() {
        let _: serde_json::Value = serde_json::from_str(l).unwrap();
    }

    well_formed_for_real_consumers(&out, root, findings.len());
}

/// Every output in `out` read by its real consumer: SARIF by Microsoft's validator, CSV by
/// Python's csv module (rows of the header's width, no live formula), HTML by Chromium (no
/// injected element, the hostile names shown as text).
fn well_formed_for_real_consumers(out: &std::path::Path, root: &std::path::Path, findings: usize) {
    // SARIF: Microsoft's own validator.
    let v = Command::new("sarif-multitool")
        .arg("validate")
        .arg(out.join("findings.sarif"))
        .output()
        .expect("sarif-multitool is installed (.ci/run installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&v.stderr)
    );
    assert!(v.status.success() && !text.contains(": error "), "{text}");

    // CSV: Python's csv module reads every row with the header's width, and no cell would
    // start a formula.
    let check = r#"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8')))
width = len(rows[0])
bad = [r for r in rows if len(r) != width]
formula = [c for r in rows[1:] for c in r if c[:1] in ('=', '+', '-', '@', '\t', '\r')]
print(len(rows) - 1, len(bad), len(formula))
"#;
    let py = Command::new("python3")
        .args(["-c", check])
        .arg(out.join("findings.csv"))
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let counts = String::from_utf8_lossy(&py.stdout);
    let counts: Vec<usize> = counts
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(counts[0], findings, "one CSV row per finding");
    assert_eq!(
        (counts[1], counts[2]),
        (0, 0),
        "ragged rows or live formulas"
    );

    // HTML: Chromium renders it; no injected element exists in the DOM it built.
    let browser = trustmap_testkit::browser::find().unwrap_or_else(|| {
        panic!("no Chromium: apt-get install -y chromium (.ci/run installs it)")
    });
    let url = format!("file://{}", out.join("findings.html").display());
    let dom = trustmap_testkit::browser::dump_dom(browser, &url, &root.join("profile"));
    assert!(dom.contains("id=\"findings\""), "the report rendered");
    assert!(
        !dom.contains("<script>alert("),
        "an injected script became an element"
    );
    assert!(
        dom.contains("&lt;script&gt;alert("),
        "the hostile names are shown as text"
    );
}

/// A 20 KB name with markup, a bidi override, a formula, a newline, a pipe, a backtick and an
/// ANSI escape, carrying `tag`.
fn hostile_name(tag: &str) -> String {
    format!(
        "<script>alert({tag})</script>\u{202e}=SUM(1)\n|`\u{1b}[2J{}",
        "y".repeat(20_000)
    )
}

/// Rewrite the `field` of every object in `items` to a hostile name carrying `tag`.
fn poison(items: &mut serde_json::Value, field: &str, tag: &str) {
    for (i, item) in items.as_array_mut().unwrap().iter_mut().enumerate() {
        if item.get(field).is_some() {
            item[field] = hostile_name(&format!("{tag}{i}")).into();
        }
    }
}

#[test]
fn hostile_names_from_every_cloud_export_stay_well_formed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("estate");
    let o = Command::new(env!("CARGO_BIN_EXE_trustmap"))
        .args(["demo", "-q", "--dir"])
        .arg(&root)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let edit = |file: &str, f: &dyn Fn(&mut serde_json::Value)| {
        let path = root.join(file);
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        f(&mut v);
        std::fs::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
    };
    edit("aws/authorization-details.json", &|v| {
        poison(&mut v["RoleDetailList"], "RoleName", "aws");
        poison(&mut v["UserDetailList"], "UserName", "awsu");
    });
    edit("github/inventory.json", &|v| {
        poison(&mut v["installations"], "app_slug", "gha");
        for repo in v["repositories"].as_array_mut().unwrap() {
            if repo.get("deploy_keys").is_some() {
                poison(&mut repo["deploy_keys"], "title", "gh");
            }
        }
    });
    edit("entra/servicePrincipals.json", &|v| {
        poison(v, "displayName", "sp")
    });
    edit("entra/applications.json", &|v| {
        poison(v, "displayName", "app")
    });
    edit("gcp/workspace-tokens.json", &|v| {
        poison(v, "displayText", "gws")
    });
    edit("gcp/service-accounts.json", &|v| {
        poison(v, "displayName", "gsa")
    });
    edit("k8s/cluster.json", &|v| {
        // The contractor's user name, and a service account renamed everywhere it is named
        // (its object, the binding's subject, its legacy token's annotation).
        for item in v["items"].as_array_mut().unwrap() {
            if item["metadata"]["name"] == "release-bot" {
                item["metadata"]["name"] = hostile_name("k8ssa").into();
            }
            if let Some(a) =
                item["metadata"]["annotations"].get_mut("kubernetes.io/service-account.name")
            {
                *a = hostile_name("k8ssa").into();
            }
            for subject in item["subjects"].as_array_mut().into_iter().flatten() {
                if subject["kind"] == "User" {
                    subject["name"] = hostile_name("k8s").into();
                } else if subject["name"] == "release-bot" {
                    subject["name"] = hostile_name("k8ssa").into();
                }
            }
        }
    });
    let o = sweep_every_format(&root, "hostile-out");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains('\u{1b}') && !stderr.contains('\u{202e}'));
    let out = root.join("hostile-out");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("findings.json")).unwrap()).unwrap();
    let findings = json["findings"].as_array().unwrap();
    for tag in ["aws", "gh", "sp", "gws", "k8s"] {
        assert!(
            findings.iter().any(|f| f["subject"]["name"]
                .as_str()
                .is_some_and(|n| n.contains(&format!("alert({tag}")))),
            "a hostile {tag} name reached the findings"
        );
    }
    for l in std::fs::read_to_string(out.join("findings.jsonl"))
        .unwrap()
        .lines()
    {
        let _: serde_json::Value = serde_json::from_str(l).unwrap();
    }
    well_formed_for_real_consumers(&out, &root, findings.len());
}
