//! Findings as the sweep tests compare them: one line per finding, `kind severity subject
//! partner`, sorted.
use serde_json::Value;

/// `kind severity subject-id partner` (`-` when no partner) of each finding, sorted.
pub fn summary(findings: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {}",
                f["kind"].as_str().unwrap_or("?"),
                f["severity"].as_str().unwrap_or("?"),
                f["subject"]["id"].as_str().unwrap_or("?"),
                f["partner"].as_str().unwrap_or("-")
            )
        })
        .collect();
    v.sort();
    v
}

/// [`summary`] with a leak's digest taken out of its subject id (`secret:DIGEST@path` is keyed
/// per estate, so it differs between runs with different keys).
pub fn comparable(findings: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = summary(findings)
        .into_iter()
        .map(|s| match (s.find("secret:"), s.find('@')) {
            (Some(a), Some(b)) if a < b => format!("{}secret:{}", &s[..a], &s[b..]),
            _ => s,
        })
        .collect();
    v.sort();
    v
}
