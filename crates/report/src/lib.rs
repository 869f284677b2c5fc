//! Renders findings into the output formats: `jsonl` (one finding per line), `json`
//! (`{"findings": [...], "stats": {...}}`), `sarif` (SARIF 2.1.0 for code-scanning tools),
//! `csv` (spreadsheets), `md` (tickets and chat) and `html` (the partner report, [`html`]);
//! also a partner's exit plan ([`exit_plan`]) and audit pack ([`evidence`]).
//!
//! It consumes [`Finding`]s only: it knows nothing about connectors, rules or the graph, and
//! never sees a secret that the finding does not already carry (redacted unless asked).

pub mod evidence;
pub mod exit_plan;
pub mod html;
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
    Csv,
    Markdown,
    Html,
}

impl Format {
    /// Every format, in the order the demo writes them.
    pub const ALL: [Format; 6] = [
        Format::Jsonl,
        Format::Json,
        Format::Sarif,
        Format::Csv,
        Format::Markdown,
        Format::Html,
    ];

    pub fn extension(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Csv => "csv",
            Format::Markdown => "md",
            Format::Html => "html",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("unknown format {0:?} (expected jsonl, json, sarif, csv, md or html)")]
    UnknownFormat(String),
    #[error("cannot write report: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot serialise report: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot write {}: {source}", path.display())]
    File {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

impl FromStr for Format {
    type Err = ReportError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "jsonl" => Ok(Format::Jsonl),
            "json" => Ok(Format::Json),
            "sarif" => Ok(Format::Sarif),
            "csv" => Ok(Format::Csv),
            "md" | "markdown" => Ok(Format::Markdown),
            "html" => Ok(Format::Html),
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
        Format::Csv => write_csv(findings, out)?,
        Format::Markdown => write_markdown(findings, out)?,
        // Without a graph view: totals, findings and their partners (sweeps pass the view).
        Format::Html => html::write_html(
            &html::View {
                title: "trustmap report".into(),
                ..html::View::default()
            },
            findings,
            out,
        )?,
    }
    out.flush()?;
    Ok(())
}

/// One CSV row per finding (for spreadsheets): RFC 4180 quoting, evidence as JSON.
pub fn write_csv(findings: &[Finding], out: &mut dyn Write) -> Result<(), ReportError> {
    use trustmap_model::text::csv_cell as cell;
    writeln!(out, "id,kind,severity,partner,subject_id,subject_type,subject_name,title,rule,path,line,commit,chain,remediation,references,status,first_seen,last_seen,evidence")?;
    for f in findings {
        let loc = f.location.as_ref();
        let row = [
            f.id.clone(),
            f.kind.as_str().to_string(),
            f.severity.as_str().to_string(),
            f.partner.clone().unwrap_or_default(),
            f.subject.id.clone(),
            f.subject.kind.clone(),
            f.subject.name.clone(),
            f.title.clone(),
            f.rule.clone().unwrap_or_default(),
            loc.map(|l| l.path.clone()).unwrap_or_default(),
            loc.map(|l| l.line.to_string()).unwrap_or_default(),
            loc.and_then(|l| l.commit.clone()).unwrap_or_default(),
            f.chain.join(" > "),
            f.remediation.clone(),
            f.references.join(" "),
            serde_json::to_value(f.status)?
                .as_str()
                .unwrap_or_default()
                .to_string(),
            f.first_seen.clone(),
            f.last_seen.clone(),
            serde_json::to_string(&f.evidence)?,
        ];
        let line: Vec<String> = row.iter().map(|c| cell(c)).collect();
        writeln!(out, "{}", line.join(","))?;
    }
    Ok(())
}

/// Markdown for tickets and chat: a count line, then findings grouped by severity.
pub fn write_markdown(findings: &[Finding], out: &mut dyn Write) -> Result<(), ReportError> {
    use trustmap_model::text::{markdown_cell as esc, markdown_code as code};
    writeln!(out, "# trustmap findings\n")?;
    if findings.is_empty() {
        writeln!(out, "No findings.")?;
        return Ok(());
    }
    let mut counts: Vec<String> = Vec::new();
    for sev in trustmap_model::Severity::ALL {
        let n = findings.iter().filter(|f| f.severity == sev).count();
        if n > 0 {
            counts.push(format!("{n} {sev}"));
        }
    }
    writeln!(out, "{} findings: {}\n", findings.len(), counts.join(", "))?;
    for sev in trustmap_model::Severity::ALL {
        let group: Vec<&Finding> = findings.iter().filter(|f| f.severity == sev).collect();
        if group.is_empty() {
            continue;
        }
        writeln!(out, "## {sev} ({})\n", group.len())?;
        writeln!(out, "| kind | partner | subject | finding | fix | id |")?;
        writeln!(out, "|---|---|---|---|---|---|")?;
        for f in group {
            let place = f
                .location
                .as_ref()
                .map(|l| format!(" ({}:{})", l.path, l.line))
                .unwrap_or_default();
            writeln!(
                out,
                "| {} | {} | {} | {}{} | {} | `{}` |",
                f.kind.as_str(),
                esc(f.partner.as_deref().unwrap_or("—")),
                code(&f.subject.id),
                esc(&f.title),
                esc(&place),
                esc(&f.remediation),
                f.id
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// Write `findings.<ext>` for each format into `dir`, each through a temporary name and a
/// rename so a reader never sees half a file. `view` draws the HTML report (needed only when
/// `formats` has html). Returns the paths written.
pub fn write_files(
    dir: &std::path::Path,
    formats: &[Format],
    findings: &[Finding],
    info: &RunInfo,
    view: &dyn Fn() -> html::View,
) -> Result<Vec<std::path::PathBuf>, ReportError> {
    let at = |path: &std::path::Path| {
        let path = path.to_path_buf();
        move |source| ReportError::File { path, source }
    };
    std::fs::create_dir_all(dir).map_err(at(dir))?;
    let mut written = Vec::new();
    for format in formats {
        let path = dir.join(format!("findings.{}", format.extension()));
        let tmp = path.with_extension(format!("{}.tmp", format.extension()));
        let mut w = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(at(&tmp))?);
        if *format == Format::Html {
            html::write_html(&view(), findings, &mut w)?;
        } else {
            write_findings(*format, findings, info, &mut w)?;
        }
        w.flush().map_err(at(&tmp))?;
        drop(w);
        std::fs::rename(&tmp, &path).map_err(at(&path))?;
        written.push(path);
    }
    Ok(written)
}
