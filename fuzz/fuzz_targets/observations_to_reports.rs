//! `exec` JSON lines through the whole pipeline: graph, attribution, every check, every
//! report format. Nothing may panic, and no output may stop being well-formed JSON.
#![no_main]
use libfuzzer_sys::fuzz_target;
use trustmap_model::{Memory, Observation};
use trustmap_policy::{run_checks, CheckContext, Settings};
use trustmap_report::{write_findings, Format, RunInfo};

const PARTNERS: &str = r#"
[[partners]]
id = "acme"
name = "Acme"
status = "revoked"
allowed_scopes = ["aws:s3:GetObject"]
[partners.match]
aws_accounts = ["111122223333"]
name_patterns = ["acme-*"]
"#;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let observations: Vec<Observation> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    if observations.is_empty() {
        return;
    }
    let Ok(registry) =
        trustmap_partners::parse_registry(std::path::Path::new("partners.toml"), PARTNERS)
    else {
        return;
    };
    let mut graph = trustmap_graph::Graph::build(observations);
    trustmap_attribution::attribute(&mut graph, &registry, &trustmap_attribution::Estate::default());
    let settings = Settings {
        today: chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default(),
        dormant_after_days: 90,
        max_credential_age_days: 365,
        renew_before_days: 30,
        now: "2026-12-01T00:00:00Z".into(),
    };
    let memory = Memory::default();
    let findings = run_checks(&CheckContext {
        graph: &graph,
        registry: &registry,
        settings: &settings,
        memory: &memory,
    });
    let info = RunInfo {
        tool_version: "fuzz".into(),
        stats: serde_json::Value::Null,
        rules: Vec::new(),
    };
    for format in [Format::Jsonl, Format::Json, Format::Sarif, Format::Csv, Format::Markdown] {
        let mut out = Vec::new();
        if write_findings(format, &findings, &info, &mut out).is_ok() && format != Format::Csv && format != Format::Markdown {
            let text = String::from_utf8_lossy(&out);
            let valid = match format {
                Format::Jsonl => text.lines().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
                _ => serde_json::from_str::<serde_json::Value>(&text).is_ok(),
            };
            assert!(valid, "{format:?} output is not JSON");
        }
    }
    let view = trustmap_policy::report_view(&graph, &registry, Vec::new(), settings.today, "fuzz");
    let mut html = Vec::new();
    let _ = trustmap_report::html::write_html(&view, &findings, &mut html);
    let _ = trustmap_graph::export(&graph, trustmap_graph::ExportFormat::Json);
});
