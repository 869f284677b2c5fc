//! The typed statistics of a run: `stats` in findings.json, and the terminal summary.
use serde::Serialize;
use std::collections::BTreeMap;
use trustmap_model::{Finding, Severity};

use crate::{ConnectorReport, SweepRun};

/// `stats` of `findings.json`.
#[derive(Debug, Clone, Serialize)]
pub struct SweepStats {
    pub findings: usize,
    pub by_severity: BTreeMap<&'static str, usize>,
    pub by_kind: BTreeMap<&'static str, usize>,
    pub nodes: usize,
    pub edges: usize,
    pub connectors: Vec<ConnectorStats>,
    /// The estate the run treated as the organisation's own (`aws_account:…`, ...).
    pub internal: Vec<String>,
    /// What `verify = true` found (absent when the sweep did not verify).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<trustmap_verify::Tally>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConnectorStats {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub observations: usize,
    pub error: Option<ConnectorFailure>,
    pub coverage_gaps: Vec<String>,
    /// What it said about its run (rate-limit waits, requests made).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Wall time, rounded to milliseconds.
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConnectorFailure {
    pub kind: String,
    pub message: String,
}

impl From<&ConnectorReport> for ConnectorStats {
    fn from(c: &ConnectorReport) -> Self {
        ConnectorStats {
            name: c.name.clone(),
            kind: c.kind.clone(),
            observations: c.observations,
            error: c.error.as_ref().map(|(k, m)| ConnectorFailure {
                kind: k.clone(),
                message: m.clone(),
            }),
            coverage_gaps: c.gaps.clone(),
            notes: c.notes.clone(),
            seconds: (c.seconds * 1000.0).round() / 1000.0,
        }
    }
}

/// What the terminal summary shows: counts by severity and kind, partners ranked by risk.
#[derive(Debug, Default)]
pub struct Summary {
    pub by_severity: BTreeMap<&'static str, usize>,
    pub by_kind: BTreeMap<&'static str, usize>,
    /// (partner, findings, risk score), highest risk first.
    pub partners: Vec<(String, usize, usize)>,
}

/// Risk score of one finding: critical 10, high 5, medium 2, low 1.
fn risk(s: Severity) -> usize {
    match s {
        Severity::Critical => 10,
        Severity::High => 5,
        Severity::Medium => 2,
        Severity::Low => 1,
        Severity::Info => 0,
    }
}

/// Counts by severity and by kind, and partners ranked by the severity of their findings.
fn summarise(findings: &[Finding]) -> Summary {
    let mut s = Summary::default();
    let mut partners: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for f in findings {
        *s.by_severity.entry(f.severity.as_str()).or_insert(0) += 1;
        *s.by_kind.entry(f.kind.as_str()).or_insert(0) += 1;
        if let Some(p) = &f.partner {
            let e = partners.entry(p).or_insert((0, 0));
            e.0 += 1;
            e.1 += risk(f.severity);
        }
    }
    s.partners = partners
        .into_iter()
        .map(|(p, (n, score))| (p.to_string(), n, score))
        .collect();
    s.partners
        .sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    s
}

impl SweepRun {
    pub fn summary(&self) -> Summary {
        summarise(&self.findings)
    }

    pub fn stats(&self) -> SweepStats {
        let summary = self.summary();
        SweepStats {
            findings: self.findings.len(),
            by_severity: summary.by_severity,
            by_kind: summary.by_kind,
            nodes: self.graph.nodes.len(),
            edges: self.graph.edges.len(),
            connectors: self.connectors.iter().map(ConnectorStats::from).collect(),
            internal: self
                .estate
                .identifiers()
                .into_iter()
                .map(ToString::to_string)
                .collect(),
            verification: self.verification.clone(),
        }
    }
}
