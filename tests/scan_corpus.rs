//! Recall and precision of `trustmap scan` on a realistic corpus with planted secrets and hard
//! negatives (config, several languages, notebooks, minified JS, CRLF, PEM, escapes, base64).
#![allow(clippy::too_many_lines)] // a scenario test reads as one story, set-up to assertions
use trustmap_model::NoProgress;
use trustmap_rules::Engine;
use trustmap_scan::{run_scan, ScanRequest};
use trustmap_testkit::{corpus, score::score};

#[test]
fn recall_and_precision_are_at_least_95_percent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let truth = corpus::build(dir.path(), 7, 4).expect("corpus");
    let engine = Engine::builtin().expect("rules");
    let req = ScanRequest {
        paths: vec![dir.path().to_path_buf()],
        now: "2026-11-22T00:00:00Z".into(),
        ..ScanRequest::default()
    };
    let outcome = run_scan(&engine, &req, &NoProgress).expect("scan");
    let root = format!("{}/", dir.path().display());
    let reports: Vec<(String, u64)> = outcome
        .findings
        .iter()
        .filter_map(|f| f.location.as_ref())
        .map(|l| (l.path.trim_start_matches(&root).to_string(), l.line))
        .collect();
    let s = score(&truth, &reports);
    let missed: Vec<String> = truth
        .planted
        .iter()
        .filter(|p| {
            !reports
                .iter()
                .any(|(path, line)| *path == p.path && *line == p.line)
        })
        .map(|p| format!("{}:{} ({})", p.path, p.line, p.kind))
        .collect();
    let false_pos: Vec<String> = outcome
        .findings
        .iter()
        .filter_map(|f| {
            let l = f.location.as_ref()?;
            let path = l.path.trim_start_matches(&root);
            let planted = truth
                .planted
                .iter()
                .any(|p| p.path == path && p.line == l.line);
            (!planted).then(|| format!("{path}:{} {}", l.line, f.rule.clone().unwrap_or_default()))
        })
        .collect();
    println!(
        "corpus: {} planted, {} found, recall {:.3}, precision {:.3} ({} reports, {} false)",
        s.planted,
        s.found,
        s.recall(),
        s.precision(),
        s.reported,
        s.false_positives
    );
    assert!(s.planted >= 80, "corpus too small: {}", s.planted);
    assert!(
        s.recall() >= 0.95,
        "recall {:.3}; missed: {missed:#?}",
        s.recall()
    );
    assert!(
        s.precision() >= 0.95,
        "precision {:.3}; false: {false_pos:#?}",
        s.precision()
    );
}

#[test]
fn no_full_secret_appears_in_findings_unless_asked() {
    let dir = tempfile::tempdir().expect("tempdir");
    corpus::build(dir.path(), 11, 1).expect("corpus");
    let engine = Engine::builtin().expect("rules");
    let mut req = ScanRequest {
        paths: vec![dir.path().to_path_buf()],
        now: "2026-11-22T00:00:00Z".into(),
        ..ScanRequest::default()
    };
    let outcome = run_scan(&engine, &req, &NoProgress).expect("scan");
    assert!(!outcome.findings.is_empty());
    req.show_secrets = true;
    let shown = run_scan(&engine, &req, &NoProgress).expect("scan");
    let redacted_json = serde_json::to_string(&outcome.findings).expect("json");
    for f in &shown.findings {
        let secret = f.evidence["secret"].as_str().expect("secret shown");
        assert!(secret.len() >= 8);
        assert!(
            !redacted_json.contains(secret),
            "{} leaks in redacted output",
            f.rule.clone().unwrap_or_default()
        );
    }
}
