//! The run as plain text: what the terminal summary shows (no colours, no terminal codes;
//! the caller decides where it goes).
use std::fmt::Write as _;
use std::path::PathBuf;
use trustmap_model::Severity;

use crate::SweepRun;

impl SweepRun {
    /// Connectors, counts by severity and kind, riskiest partners, sinks, the files written
    /// and the state diff, one line each.
    pub fn summary_text(&self, written: &[PathBuf]) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "swept {} connectors: {} nodes, {} edges",
            self.connectors.len(),
            self.graph.nodes.len(),
            self.graph.edges.len()
        );
        self.connectors_text(&mut out);
        let summary = self.summary();
        let sev: Vec<String> = Severity::ALL
            .iter()
            .filter_map(|s| {
                summary
                    .by_severity
                    .get(s.as_str())
                    .map(|n| format!("{n} {s}"))
            })
            .collect();
        let shown = if sev.is_empty() {
            "none".to_string()
        } else {
            sev.join(", ")
        };
        let _ = writeln!(out, "{} findings: {shown}", self.findings.len());
        if let Some(t) = &self.verification {
            let _ = writeln!(out, "verified secrets: {}", t.line());
        }
        for (k, n) in &summary.by_kind {
            let _ = writeln!(out, "  {k}: {n}");
        }
        let due: Vec<&str> = self
            .findings
            .iter()
            .filter(|f| f.kind == trustmap_model::FindingKind::ReviewDue)
            .map(|f| f.title.as_str())
            .collect();
        if !due.is_empty() {
            let _ = writeln!(out, "review due:");
            for t in due {
                let _ = writeln!(out, "  {t}");
            }
        }
        if !summary.partners.is_empty() {
            let _ = writeln!(out, "top partners by risk:");
            for (p, n, score) in summary.partners.iter().take(5) {
                let _ = writeln!(out, "  {p}: {n} findings (risk score {score})");
            }
        }
        for s in &self.deliveries {
            let failed = match s.delivery.dead_lettered {
                0 => String::new(),
                n => format!(", {n} could not be delivered (see the dead-letter file)"),
            };
            let _ = writeln!(
                out,
                "sink {}: sent {} events{failed}",
                s.sink, s.delivery.sent
            );
        }
        let files: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
        let _ = writeln!(out, "wrote {}", files.join(", "));
        if let Some(d) = &self.diff {
            let _ = writeln!(
            out,

                "since the last run: {} new, {} still open, {} reopened, {} resolved, {} suppressed",
                d.new.len(),
                d.still_open.len(),
                d.reopened.len(),
                d.resolved.len(),
                d.suppressed.len()
            );
        }
        // Names, gaps and messages come from sources: nothing in them may drive the terminal.
        trustmap_model::text::for_terminal_lines(&out)
    }

    /// Each connector: what it saw and how long it took, or how it failed; its first gaps.
    fn connectors_text(&self, out: &mut String) {
        for c in &self.connectors {
            let _ = match &c.error {
                None => writeln!(
                    out,
                    "  {} ({}): {} observations in {:.2}s",
                    c.name, c.kind, c.observations, c.seconds
                ),
                Some((k, m)) => writeln!(
                    out,
                    "  {} ({}): FAILED [{k}] {m} ({} observations kept)",
                    c.name, c.kind, c.observations
                ),
            };
            for n in &c.notes {
                let _ = writeln!(out, "    {n}");
            }
            for g in c.gaps.iter().take(5) {
                let _ = writeln!(out, "    gap: {g}");
            }
            if c.gaps.len() > 5 {
                let _ = writeln!(
                    out,
                    "    ... {} more gaps in findings.json",
                    c.gaps.len() - 5
                );
            }
        }
    }
}
