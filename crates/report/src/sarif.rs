//! SARIF 2.1.0, as code-scanning dashboards and Microsoft's SARIF Multitool expect it.
use serde_json::{json, Value};
use std::collections::BTreeMap;
use trustmap_model::{Finding, Severity};

use crate::RunInfo;

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub code scanning reads `security-severity` (0.0 to 10.0) to rank alerts.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// Percent-encode a path into a URI reference (RFC 3986 unreserved characters and `/` kept).
pub fn path_to_uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let absolute = path.starts_with('/');
    if absolute {
        out.push_str("file://");
    }
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn pascal_case(id: &str) -> String {
    id.split(['-', '_'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The SARIF log for `findings`. Rules are those the findings use, described from `info`.
pub fn to_sarif(findings: &[Finding], info: &RunInfo) -> Value {
    let mut rule_index: BTreeMap<String, usize> = BTreeMap::new();
    let mut rules: Vec<Value> = Vec::new();
    for f in findings {
        let id = f
            .rule
            .clone()
            .unwrap_or_else(|| f.kind.as_str().to_string());
        if rule_index.contains_key(&id) {
            continue;
        }
        let described = info.rules.iter().find(|r| r.id == id);
        let name = described.map_or_else(|| f.kind.as_str().replace('_', " "), |r| r.name.clone());
        let help = described.map_or_else(|| f.remediation.clone(), |r| r.help.clone());
        let severity = described.map_or(f.severity, |r| r.severity);
        rule_index.insert(id.clone(), rules.len());
        rules.push(json!({
            "id": id,
            "name": pascal_case(&id),
            "shortDescription": { "text": name },
            "fullDescription": { "text": format!("{name}: a credential that must not be stored in files or history.") },
            "help": { "text": help },
            "defaultConfiguration": { "level": level(severity) },
            "properties": {
                "tags": ["security", "secret", f.kind.as_str()],
                "security-severity": security_severity(severity),
                "precision": "high"
            }
        }));
    }
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let id = f
                .rule
                .clone()
                .unwrap_or_else(|| f.kind.as_str().to_string());
            let mut r = json!({
                "ruleId": id,
                "ruleIndex": rule_index[&id],
                "level": level(f.severity),
                "message": { "text": format!("{}. {}", f.title, f.remediation) },
                "partialFingerprints": { "trustmapFindingId": f.id },
                "properties": {
                    "severity": f.severity.as_str(),
                    "kind": f.kind.as_str(),
                    "evidence": f.evidence,
                }
            });
            if let Some(loc) = &f.location {
                r["locations"] = json!([{
                    "physicalLocation": {
                        "artifactLocation": { "uri": path_to_uri(&loc.path) },
                        "region": { "startLine": loc.line.max(1), "startColumn": loc.column.max(1) }
                    }
                }]);
                if let Some(commit) = &loc.commit {
                    r["properties"]["commit"] = json!(commit);
                    if let Some(date) = &loc.commit_date {
                        r["properties"]["commitDate"] = json!(date);
                    }
                }
            }
            r
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "trustmap",
                "semanticVersion": info.tool_version,
                "rules": rules
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": { "stats": info.stats }
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(path_to_uri("repo/a b.txt"), "repo/a%20b.txt");
        assert_eq!(path_to_uri("/srv/x#1"), "file:///srv/x%231");
    }

    #[test]
    fn rule_names_are_pascal_case() {
        assert_eq!(pascal_case("github-pat-classic"), "GithubPatClassic");
    }
}
