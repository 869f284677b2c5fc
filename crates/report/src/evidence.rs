//! The audit pack of one partner (`trustmap evidence`): its registry entry, every identity
//! ever attributed to it with first and last sighting, findings opened and resolved with
//! their dates (the revocation record), its lifecycle changes and the sweep runs with their
//! coverage gaps. Written as `evidence.json`, a self-contained `evidence.html` and a
//! `SHA256SUMS` manifest that `sha256sum -c` checks.
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use trustmap_model::PartnerChange;

use crate::html::esc;

/// The partner's registry entry as partners.toml says it today.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RegistryEntry {
    pub id: String,
    pub name: String,
    pub status: String,
    pub sponsor: Option<String>,
    pub purpose: Option<String>,
    pub expires: Option<String>,
    pub last_reviewed: Option<String>,
    pub review_every_days: Option<u32>,
    pub review_due: Option<String>,
    pub via: Option<String>,
    pub allowed_scopes: Vec<String>,
    /// Partners that came in through this one, however deep.
    pub subcontractors: Vec<String>,
    /// Where the entry is (`partners.toml:12`).
    pub source: String,
}

/// One identity, credential or secret location attributed to the partner.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EvidenceIdentity {
    pub id: String,
    pub kind: String,
    pub subtype: String,
    pub name: String,
    pub partner: String,
    pub first_seen: String,
    pub last_seen: String,
    /// Seen by the latest run.
    pub present: bool,
    /// Each scope it held and the run it first appeared in.
    pub scopes: Vec<(String, String)>,
}

/// One finding about the partner, with its dates.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EvidenceFinding {
    pub id: String,
    pub kind: String,
    pub severity: String,
    pub title: String,
    pub subject: Option<String>,
    pub partner: Option<String>,
    pub status: String,
    pub opened: String,
    pub last_seen: String,
    pub resolved: Option<String>,
    pub ticket: Option<String>,
    pub suppressed_because: Option<String>,
}

/// One sweep run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EvidenceRun {
    pub id: i64,
    pub started: String,
    pub ended: String,
    pub connectors: String,
    pub new: i64,
    pub open: i64,
    pub reopened: i64,
    pub resolved: i64,
    pub gaps: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct EvidencePack {
    pub generated: String,
    pub tool_version: String,
    pub state_file: String,
    pub partner: RegistryEntry,
    pub identities: Vec<EvidenceIdentity>,
    pub findings: Vec<EvidenceFinding>,
    pub status_changes: Vec<PartnerChange>,
    pub runs: Vec<EvidenceRun>,
}

/// Write the pack into `dir` (each file through a temporary name and a rename, the manifest
/// last); returns the paths written.
pub fn write_pack(dir: &Path, pack: &EvidencePack) -> Result<Vec<PathBuf>, crate::ReportError> {
    let at = |path: &Path| {
        let path = path.to_path_buf();
        move |source| crate::ReportError::File { path, source }
    };
    std::fs::create_dir_all(dir).map_err(at(dir))?;
    let json = serde_json::to_string_pretty(pack)? + "\n";
    let files = [("evidence.json", json), ("evidence.html", to_html(pack))];
    let mut manifest = String::new();
    let mut written = Vec::new();
    for (name, body) in &files {
        let _ = writeln!(
            manifest,
            "{}  {name}",
            hex(&Sha256::digest(body.as_bytes()))
        );
        written.push(write_atomically(&dir.join(name), body).map_err(at(&dir.join(name)))?);
    }
    let sums = dir.join("SHA256SUMS");
    written.push(write_atomically(&sums, &manifest).map_err(at(&sums))?);
    Ok(written)
}

fn write_atomically(path: &Path, body: &str) -> std::io::Result<PathBuf> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, body)?;
    std::fs::rename(&tmp, path)?;
    Ok(path.to_path_buf())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn opt(v: Option<&str>) -> String {
    esc(v.unwrap_or("—"))
}

fn row(h: &mut String, cells: &[String]) {
    h.push_str("<tr>");
    for c in cells {
        let _ = write!(h, "<td>{c}</td>");
    }
    h.push_str("</tr>");
}

fn table(h: &mut String, id: &str, headers: &[&str]) {
    let _ = write!(h, "<table id=\"{id}\"><tr>");
    for t in headers {
        let _ = write!(h, "<th>{}</th>", esc(t));
    }
    h.push_str("</tr>");
}

fn registry_html(h: &mut String, p: &RegistryEntry) {
    h.push_str("<h2>Registry entry</h2><table id=\"registry\">");
    let review = p.review_every_days.map(|d| format!("every {d} days"));
    let subcontractors = p.subcontractors.join(", ");
    let scopes = p.allowed_scopes.join(", ");
    for (k, v) in [
        ("Status", Some(p.status.as_str())),
        ("Sponsor", p.sponsor.as_deref()),
        ("Purpose", p.purpose.as_deref()),
        ("Expires", p.expires.as_deref()),
        ("Last reviewed", p.last_reviewed.as_deref()),
        ("Review cadence", review.as_deref()),
        ("Next review due", p.review_due.as_deref()),
        ("Brought in by", p.via.as_deref()),
        (
            "Subcontractors",
            Some(subcontractors.as_str()).filter(|s| !s.is_empty()),
        ),
        (
            "Allowed scopes",
            Some(scopes.as_str()).filter(|s| !s.is_empty()),
        ),
        ("Entry", Some(p.source.as_str())),
    ] {
        let _ = write!(h, "<tr><th>{}</th><td>{}</td></tr>", esc(k), opt(v));
    }
    h.push_str("</table>");
}

pub fn to_html(pack: &EvidencePack) -> String {
    let p = &pack.partner;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Evidence: {0}</title><style>body{{font:14px/1.5 system-ui,sans-serif;margin:24px;max-width:1200px;color:#1c2330}}table{{border-collapse:collapse;width:100%;margin-bottom:16px}}td,th{{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}}.muted{{color:#5d6673}}.gone{{color:#1b6e2a}}.present{{color:#8b0000;font-weight:600}}#registry th{{width:180px}}td{{overflow-wrap:anywhere}}code{{font-size:12px}}</style></head><body><h1>Evidence: {0} <code>{1}</code></h1>",
        esc(&p.name),
        esc(&p.id)
    );
    let present = pack.identities.iter().filter(|i| i.present).count();
    let resolved = pack
        .findings
        .iter()
        .filter(|f| f.resolved.is_some())
        .count();
    let _ = write!(
        h,
        "<p class=\"muted\">Generated {} by trustmap {} from {}. Identities and credentials: {} ({} present in the latest run) · findings: {} ({} resolved) · status changes: {} · sweep runs: {}. File digests: SHA256SUMS.</p>",
        esc(&pack.generated),
        esc(&pack.tool_version),
        esc(&pack.state_file),
        pack.identities.len(),
        present,
        pack.findings.len(),
        resolved,
        pack.status_changes.len(),
        pack.runs.len()
    );
    registry_html(&mut h, p);
    identities_html(&mut h, &pack.identities);
    findings_html(&mut h, &pack.findings);
    changes_html(&mut h, &pack.status_changes);
    runs_html(&mut h, &pack.runs);
    h.push_str("</body></html>\n");
    h
}

fn identities_html(h: &mut String, identities: &[EvidenceIdentity]) {
    h.push_str("<h2>Identities and credentials</h2>");
    table(
        h,
        "identities",
        &[
            "Kind",
            "Name",
            "Partner",
            "First seen",
            "Last seen",
            "Now",
            "Scopes (since)",
        ],
    );
    for i in identities {
        let scopes = i
            .scopes
            .iter()
            .map(|(s, since)| {
                format!(
                    "<code>{}</code> <span class=\"muted\">{}</span>",
                    esc(s),
                    esc(since)
                )
            })
            .collect::<Vec<_>>()
            .join("<br>");
        let now = if i.present {
            "<span class=\"present\">present</span>"
        } else {
            "<span class=\"gone\">gone</span>"
        };
        row(
            h,
            &[
                esc(&i.subtype.replace('_', " ")),
                format!(
                    "<b>{}</b><div class=\"muted\"><code>{}</code></div>",
                    esc(&i.name),
                    esc(&i.id)
                ),
                esc(&i.partner),
                esc(&i.first_seen),
                esc(&i.last_seen),
                now.to_string(),
                scopes,
            ],
        );
    }
    h.push_str("</table>");
}

fn findings_html(h: &mut String, findings: &[EvidenceFinding]) {
    h.push_str("<h2>Findings</h2>");
    table(
        h,
        "findings",
        &[
            "Opened", "Resolved", "Status", "Severity", "Kind", "Finding", "Ticket",
        ],
    );
    for f in findings {
        let title = match &f.suppressed_because {
            Some(r) => format!(
                "{} <div class=\"muted\">accepted: {}</div>",
                esc(&f.title),
                esc(r)
            ),
            None => esc(&f.title),
        };
        row(
            h,
            &[
                esc(&f.opened),
                opt(f.resolved.as_deref()),
                esc(&f.status),
                esc(&f.severity),
                esc(&f.kind),
                format!(
                    "{title}<div class=\"muted\"><code>{}</code> {}</div>",
                    esc(&f.id),
                    opt(f.subject.as_deref())
                ),
                opt(f.ticket.as_deref()),
            ],
        );
    }
    h.push_str("</table>");
}

fn changes_html(h: &mut String, changes: &[PartnerChange]) {
    h.push_str("<h2>Status changes</h2>");
    table(h, "changes", &["When", "Field", "From", "To"]);
    for c in changes {
        row(
            h,
            &[
                esc(&c.at),
                esc(&c.field),
                opt(c.from.as_deref()),
                opt(c.to.as_deref()),
            ],
        );
    }
    h.push_str("</table>");
}

fn runs_html(h: &mut String, runs: &[EvidenceRun]) {
    h.push_str("<h2>Sweep runs</h2>");
    table(
        h,
        "runs",
        &[
            "Run",
            "Started",
            "New",
            "Open",
            "Reopened",
            "Resolved",
            "Coverage gaps",
        ],
    );
    for r in runs {
        let gaps = if r.gaps.is_empty() {
            "none".to_string()
        } else {
            r.gaps
                .iter()
                .map(|g| esc(g))
                .collect::<Vec<_>>()
                .join("<br>")
        };
        row(
            h,
            &[
                r.id.to_string(),
                esc(&r.started),
                r.new.to_string(),
                r.open.to_string(),
                r.reopened.to_string(),
                r.resolved.to_string(),
                gaps,
            ],
        );
    }
    h.push_str("</table>");
}
