//! The terminal summary of a sweep, on stderr.
use std::path::PathBuf;
use trustmap_model::Severity;
use trustmap_sweep::SweepRun;

/// Connectors, counts by severity and kind, riskiest partners, sinks, files, the state diff.
pub fn print_sweep(run: &SweepRun, written: &[PathBuf]) {
    eprintln!(
        "swept {} connectors: {} nodes, {} edges",
        run.connectors.len(),
        run.graph.nodes.len(),
        run.graph.edges.len()
    );
    for c in &run.connectors {
        match &c.error {
            None => eprintln!(
                "  {} ({}): {} observations in {:.2}s",
                c.name, c.kind, c.observations, c.seconds
            ),
            Some((k, m)) => eprintln!(
                "  {} ({}): FAILED [{k}] {m} ({} observations kept)",
                c.name, c.kind, c.observations
            ),
        }
        for g in c.gaps.iter().take(5) {
            eprintln!("    gap: {g}");
        }
        if c.gaps.len() > 5 {
            eprintln!("    ... {} more gaps in findings.json", c.gaps.len() - 5);
        }
    }
    let summary = run.summary();
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
    eprintln!("{} findings: {shown}", run.findings.len());
    for (k, n) in &summary.by_kind {
        eprintln!("  {k}: {n}");
    }
    if !summary.partners.is_empty() {
        eprintln!("top partners by risk:");
        for (p, n, score) in summary.partners.iter().take(5) {
            eprintln!("  {p}: {n} findings (risk score {score})");
        }
    }
    for s in &run.deliveries {
        let failed = match s.delivery.dead_lettered {
            0 => String::new(),
            n => format!(", {n} could not be delivered (see the dead-letter file)"),
        };
        eprintln!("sink {}: sent {} events{failed}", s.sink, s.delivery.sent);
    }
    let files: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
    eprintln!("wrote {}", files.join(", "));
    if let Some(d) = &run.diff {
        eprintln!(
            "since the last run: {} new, {} still open, {} reopened, {} resolved, {} suppressed",
            d.new.len(),
            d.still_open.len(),
            d.reopened.len(),
            d.resolved.len(),
            d.suppressed.len()
        );
    }
}
