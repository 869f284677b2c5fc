//! Properties over generated input: a leak's finding id holds however the content around it
//! moves, and no output format ever carries the secret it found.
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use proptest::prelude::*;
use std::sync::OnceLock;
use trustmap_report::{write_findings, Format, RunInfo};
use trustmap_rules::{base62_crc32, Engine};

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::builtin().unwrap())
}

/// A GitHub classic token with a valid checksum around 30 generated characters.
fn token(random: &str) -> String {
    format!("ghp_{random}{}", base62_crc32(random.as_bytes()))
}

fn findings(text: &str, path: &str) -> Vec<trustmap_model::Finding> {
    engine()
        .secret_matches(text.as_bytes(), path)
        .iter()
        .map(|m| trustmap_scan::leaked_secret_finding(m, "2026-12-01T00:00:00Z", false))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn a_leak_keeps_its_id_when_lines_move(
        random in "[A-Za-z0-9]{30}",
        before in proptest::collection::vec("[a-z =#]{0,40}", 0..20),
        after in proptest::collection::vec("[a-z =#]{0,40}", 0..20),
    ) {
        let secret = token(&random);
        let plain = format!("GITHUB_TOKEN={secret}\n");
        let moved = format!("{}\nGITHUB_TOKEN={secret}\n{}", before.join("\n"), after.join("\n"));
        let a = findings(&plain, "ci.env");
        let b = findings(&moved, "ci.env");
        prop_assert_eq!(a.len(), 1);
        prop_assert!(!b.is_empty());
        prop_assert!(b.iter().any(|f| f.id == a[0].id), "the id followed the secret");
        // Another file: another finding.
        prop_assert_ne!(&findings(&plain, "other.env")[0].id, &a[0].id);
    }

    #[test]
    fn no_output_format_carries_the_secret(
        random in "[A-Za-z0-9]{30}",
        noise in "[ -~]{0,200}",
    ) {
        let secret = token(&random);
        let text = format!("{noise}\nexport GITHUB_TOKEN={secret}\n{noise}\n");
        let found = findings(&text, "deploy/.env");
        prop_assert!(!found.is_empty());
        let info = RunInfo { tool_version: "test".into(), stats: serde_json::Value::Null, rules: Vec::new() };
        for format in [Format::Jsonl, Format::Json, Format::Sarif, Format::Csv, Format::Markdown] {
            let mut out = Vec::new();
            write_findings(format, &found, &info, &mut out).unwrap();
            let out = String::from_utf8_lossy(&out);
            prop_assert!(!out.contains(&secret), "{:?} carries the secret", format);
            prop_assert!(!out.contains(&random), "{:?} carries the secret's random part", format);
        }
    }
}
