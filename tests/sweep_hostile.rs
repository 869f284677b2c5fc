//! Names from sources are hostile: a formula, markup, pipes, backticks, ANSI escapes and a
//! right-to-left override in an identity's name and id reach every output safely (the CSV
//! runs no formula, the Markdown table keeps its columns, the HTML is escaped, JSON and SARIF
//! parse, the terminal summary carries no escape).
#![allow(clippy::too_many_lines)] // a scenario test reads as one story, set-up to assertions
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use std::process::Command;

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
    let o = Command::new(env!("CARGO_BIN_EXE_trustmap"))
        .current_dir(dir.path())
        .args([
            "sweep",
            "--config",
            "sweep.toml",
            "--out",
            "out",
            "--now",
            "2026-11-22",
        ])
        .args(["--format", "jsonl,json,sarif,csv,md,html"])
        .output()
        .unwrap();
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
