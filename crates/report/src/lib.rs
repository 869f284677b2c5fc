//! Renders findings into the formats of DESIGN.md: `jsonl` (one finding per line), `json`
//! (`{"findings": [...], "stats": {...}}`) and `sarif` (SARIF 2.1.0 for code-scanning tools).
//!
//! It consumes [`Finding`]s only: it knows nothing about connectors, rules or the graph, and
//! never sees a secret that the finding does not already carry (redacted unless asked).

mod sarif;

use std::io::Write;
use std::str::FromStr;
use trustmap_model::Finding;

pub use sarif::to_sarif;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Json,
    Sarif,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Json => "json",
            Format::Sarif => "sarif",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("unknown format {0:?} (expected jsonl, json or sarif)")]
    UnknownFormat(String),
    #[error("cannot write report: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot serialise report: {0}")]
    Json(#[from] serde_json::Error),
}

impl FromStr for Format {
    type Err = ReportError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "jsonl" => Ok(Format::Jsonl),
            "json" => Ok(Format::Json),
            "sarif" => Ok(Format::Sarif),
            other => Err(ReportError::UnknownFormat(other.to_string())),
        }
    }
}

/// Facts about the run that `json` and `sarif` carry beside the findings.
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    pub tool_version: String,
    /// Free-form statistics (`stats` in json, run properties in SARIF).
    pub stats: serde_json::Value,
    /// Per-rule descriptions for SARIF: id → (name, remediation).
    pub rules: Vec<RuleInfo>,
}

#[derive(Debug, Clone)]
pub struct RuleInfo {
    pub id: String,
    pub name: String,
    pub help: String,
    pub severity: trustmap_model::Severity,
}

/// Write `findings` in `format`.
pub fn write_findings(
    format: Format,
    findings: &[Finding],
    info: &RunInfo,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    match format {
        Format::Jsonl => {
            for f in findings {
                serde_json::to_writer(&mut *out, f)?;
                out.write_all(b"\n")?;
            }
        }
        Format::Json => {
            let doc = serde_json::json!({ "findings": findings, "stats": info.stats });
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            out.write_all(b"\n")?;
        }
        Format::Sarif => {
            serde_json::to_writer_pretty(&mut *out, &to_sarif(findings, info))?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(())
}
