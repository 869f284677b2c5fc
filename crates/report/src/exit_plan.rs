//! The partnership-exit document: everything a partner, and every subcontractor that came in
//! through it, can still use, grouped by system and ordered into a revocation checklist.
//! Rendered as Markdown (tickets) and HTML (one file to hand over).
use std::fmt::Write as _;

use crate::html::esc;

/// One thing to revoke.
#[derive(Debug, Clone, Default)]
pub struct Step {
    /// `identity`, `credential`, `trust`.
    pub what: String,
    pub kind: String,
    pub name: String,
    pub id: String,
    /// The partner (or subcontractor) it belongs to.
    pub partner: String,
    /// How it was attributed, and the chain through subcontractors.
    pub evidence: String,
    pub last_used: Option<String>,
    /// `used recently`, `dormant`, `never used`, `inactive`.
    pub usage: String,
    pub action: String,
    /// Finding ids about it.
    pub findings: Vec<String>,
    /// The commands (or the page) that remove it, as its connector knows them.
    pub revoke: Option<trustmap_model::Revocation>,
    /// After `--verify`: whether it is gone, and when it was last seen.
    pub verdict: Option<Verdict>,
    pub last_seen: Option<String>,
}

/// What `exit-plan --verify` found of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Not seen again while every connector that had seen it ran fine.
    Gone,
    StillPresent,
    /// Not seen, but a connector that had seen it failed or is no longer configured.
    Unknown,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Gone => "gone",
            Verdict::StillPresent => "still present",
            Verdict::Unknown => "unknown",
        }
    }
}

/// When and against what an exit plan was verified.
#[derive(Debug, Clone, Default)]
pub struct Verification {
    /// RFC 3339.
    pub checked_at: String,
    /// "a new sweep", or "the latest run in the state file (…)".
    pub basis: String,
}

/// Steps of one system (an AWS account, a GitHub organisation, a repository).
#[derive(Debug, Clone, Default)]
pub struct System {
    pub name: String,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Default)]
pub struct ExitPlan {
    pub partner_id: String,
    pub partner_name: String,
    pub status: String,
    pub sponsor: Option<String>,
    pub expires: Option<String>,
    /// Subcontractors included (ids).
    pub subcontractors: Vec<String>,
    pub systems: Vec<System>,
    pub generated: String,
    /// Set by `exit-plan --verify`.
    pub verification: Option<Verification>,
}

impl ExitPlan {
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.systems.iter().flat_map(|s| s.steps.iter())
    }

    /// Steps with this verdict.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.steps().filter(|s| s.verdict == Some(verdict)).count()
    }

    /// "3 gone, 1 still present, 0 unknown", once verified.
    pub fn verdict_summary(&self) -> Option<String> {
        self.verification.as_ref()?;
        Some(format!(
            "{} gone, {} still present, {} unknown",
            self.count(Verdict::Gone),
            self.count(Verdict::StillPresent),
            self.count(Verdict::Unknown)
        ))
    }
}

/// The files an exit plan is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanFormat {
    Md,
    Html,
    /// A reviewable shell script, every command commented out.
    Sh,
}

impl PlanFormat {
    pub fn extension(self) -> &'static str {
        match self {
            PlanFormat::Md => "md",
            PlanFormat::Html => "html",
            PlanFormat::Sh => "sh",
        }
    }

    /// `md,html,sh` → the formats, or the unknown name.
    pub fn parse_list(list: &str) -> Result<Vec<PlanFormat>, String> {
        list.split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(|f| match f {
                "md" => Ok(PlanFormat::Md),
                "html" => Ok(PlanFormat::Html),
                "sh" => Ok(PlanFormat::Sh),
                other => Err(format!(
                    "unknown exit-plan format {other:?} (expected md, html, sh)"
                )),
            })
            .collect()
    }

    fn render(self, plan: &ExitPlan) -> String {
        match self {
            PlanFormat::Md => to_markdown(plan),
            PlanFormat::Html => to_html(plan),
            PlanFormat::Sh => to_shell(plan),
        }
    }
}

/// Write `exit-plan-<partner>.<ext>` into `dir` for each format (each through a temporary name
/// and a rename); returns the paths written.
pub fn write_files(
    dir: &std::path::Path,
    plan: &ExitPlan,
    formats: &[PlanFormat],
) -> Result<Vec<std::path::PathBuf>, crate::ReportError> {
    let at = |path: &std::path::Path| {
        let path = path.to_path_buf();
        move |source| crate::ReportError::File { path, source }
    };
    std::fs::create_dir_all(dir).map_err(at(dir))?;
    let mut written = Vec::new();
    for f in formats {
        let ext = f.extension();
        let path = dir.join(format!("exit-plan-{}.{ext}", plan.partner_id));
        let tmp = path.with_extension(format!("{ext}.tmp"));
        std::fs::write(&tmp, f.render(plan)).map_err(at(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(at(&path))?;
        written.push(path);
    }
    Ok(written)
}

/// A step's commands as shell lines (a command whose arguments hold control characters is
/// withheld, with a note).
fn command_lines(r: &trustmap_model::Revocation) -> Vec<String> {
    r.commands
        .iter()
        .map(|argv| {
            trustmap_model::text::shell_command(argv).unwrap_or_else(|| {
                "(command withheld: an argument holds control characters; see the id)".to_string()
            })
        })
        .collect()
}

/// The plan as a shell script to review: every line a comment, commands ready to be
/// uncommented one by one. trustmap never runs them.
pub fn to_shell(plan: &ExitPlan) -> String {
    let one_line = |s: &str| trustmap_model::text::for_terminal(s).replace(['\n', '\r'], " ");
    let mut out = String::from("#!/bin/sh\n");
    let _ = writeln!(
        out,
        "# Exit plan: {} ({}), generated {}.",
        one_line(&plan.partner_name),
        one_line(&plan.partner_id),
        one_line(&plan.generated)
    );
    out.push_str("# Every line is commented out: read each step, tell the sponsor, then uncomment and\n# run what you mean to. trustmap itself never revokes anything.\n");
    for sys in &plan.systems {
        let _ = writeln!(out, "\n# == {} ==", one_line(&sys.name));
        for s in &sys.steps {
            let _ = writeln!(
                out,
                "\n# {}: {} {} ({}; {})",
                one_line(&s.action),
                one_line(&s.kind.replace('_', " ")),
                one_line(&s.name),
                one_line(&s.partner),
                one_line(&s.usage)
            );
            let _ = writeln!(out, "#   id: {}", one_line(&s.id));
            if s.verdict == Some(Verdict::Gone) {
                out.push_str("#   verified gone: nothing to run\n");
                continue;
            }
            match &s.revoke {
                Some(r) => {
                    for line in command_lines(r) {
                        let _ = writeln!(out, "# {line}");
                    }
                    if let Some(p) = &r.page {
                        let _ = writeln!(out, "#   by hand: {}", one_line(p));
                    }
                }
                None => out.push_str("#   (no command known: do it by hand as the action says)\n"),
            }
        }
    }
    out
}

pub fn to_markdown(plan: &ExitPlan) -> String {
    let mut m = String::new();
    let _ = writeln!(
        m,
        "# Exit plan: {} (`{}`)\n",
        plan.partner_name, plan.partner_id
    );
    let _ = writeln!(
        m,
        "Status **{}** · sponsor {} · expires {} · generated {}\n",
        plan.status,
        plan.sponsor.as_deref().unwrap_or("(none recorded)"),
        plan.expires.as_deref().unwrap_or("(none recorded)"),
        plan.generated
    );
    if !plan.subcontractors.is_empty() {
        let _ = writeln!(
            m,
            "Includes subcontractors that came in through this partner: {}.\n",
            plan.subcontractors.join(", ")
        );
    }
    let total = plan.steps().count();
    let recent = plan.steps().filter(|s| s.usage == "used recently").count();
    if let (Some(v), Some(summary)) = (&plan.verification, plan.verdict_summary()) {
        let _ = writeln!(
            m,
            "**Verified {} against {}: {summary}.**\n",
            v.checked_at, v.basis
        );
    }
    match plan.verification {
        Some(_) => {
            let left = total - plan.count(Verdict::Gone);
            let _ = writeln!(
                m,
                "{total} things on the checklist, {left} of them not yet shown gone.\n"
            );
        }
        None => {
            let _ = writeln!(
                m,
                "{total} things to revoke, {recent} of them used recently (revoke those first, after telling the sponsor).\n"
            );
        }
    }
    for sys in &plan.systems {
        let _ = writeln!(m, "## {}\n", sys.name);
        for s in &sys.steps {
            markdown_step(&mut m, s);
        }
        m.push('\n');
    }
    if total == 0 {
        m.push_str("Nothing attributed to this partner can still reach in.\n");
    }
    m
}

/// One checklist item: the action, the id, the verdict, the evidence and the commands.
fn markdown_step(m: &mut String, s: &Step) {
    let done = if s.verdict == Some(Verdict::Gone) {
        'x'
    } else {
        ' '
    };
    let _ = writeln!(
        m,
        "- [{done}] **{}** {} `{}` ({}; {}{})",
        s.action,
        s.kind.replace('_', " "),
        s.name,
        s.partner,
        s.usage,
        s.last_used
            .as_ref()
            .map_or(String::new(), |d| format!(", last used {d}"))
    );
    let _ = writeln!(m, "  - id: `{}`", s.id);
    if let Some(v) = s.verdict {
        let _ = writeln!(
            m,
            "  - verified: **{}**{}",
            v.as_str(),
            s.last_seen
                .as_ref()
                .map_or(String::new(), |d| format!(" (last seen {d})"))
        );
    }
    let _ = writeln!(m, "  - evidence: {}", s.evidence);
    if let Some(r) = s
        .revoke
        .as_ref()
        .filter(|_| s.verdict != Some(Verdict::Gone))
    {
        for line in command_lines(r) {
            let _ = writeln!(m, "  - run: {}", trustmap_model::text::markdown_code(&line));
        }
        if let Some(p) = &r.page {
            let _ = writeln!(m, "  - by hand: {}", trustmap_model::text::markdown_code(p));
        }
    }
    if !s.findings.is_empty() {
        let _ = writeln!(m, "  - findings: {}", s.findings.join(", "));
    }
}

/// The action, then its commands (as text: the reader copies them; nothing here runs).
fn action_cell(s: &Step) -> String {
    let mut cell = esc(&s.action);
    if let Some(r) = &s.revoke {
        for line in command_lines(r) {
            let _ = write!(
                cell,
                "<div class=\"muted cmd\"><code>{}</code></div>",
                esc(&line)
            );
        }
        if let Some(p) = &r.page {
            let _ = write!(
                cell,
                "<div class=\"muted cmd\">by hand: <code>{}</code></div>",
                esc(p)
            );
        }
    }
    cell
}

pub fn to_html(plan: &ExitPlan) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Exit plan: {0}</title><style>body{{font:14px/1.5 system-ui,sans-serif;margin:24px;max-width:1100px;color:#1c2330}}table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #ddd;padding:5px 8px;text-align:left;vertical-align:top}}.recent{{color:#8b0000;font-weight:600}}.muted{{color:#5d6673}}code{{font-size:12px}}.ok,.verdict.gone{{color:#1b6e2a;font-weight:600}}.verdict.still-present{{color:#8b0000;font-weight:600}}.verdict.unknown{{color:#8a5a00;font-weight:600}}</style></head><body><h1>Exit plan: {0} <code>{1}</code></h1>",
        esc(&plan.partner_name),
        esc(&plan.partner_id)
    );
    let _ = write!(
        h,
        "<p>Status <b>{}</b> · sponsor {} · expires {} · generated {}</p>",
        esc(&plan.status),
        esc(plan.sponsor.as_deref().unwrap_or("(none recorded)")),
        esc(plan.expires.as_deref().unwrap_or("(none recorded)")),
        esc(&plan.generated)
    );
    if !plan.subcontractors.is_empty() {
        let _ = write!(
            h,
            "<p>Includes subcontractors: {}</p>",
            esc(&plan.subcontractors.join(", "))
        );
    }
    if let (Some(v), Some(summary)) = (&plan.verification, plan.verdict_summary()) {
        let class = if plan.count(Verdict::StillPresent) + plan.count(Verdict::Unknown) == 0 {
            "ok"
        } else {
            "recent"
        };
        let _ = write!(
            h,
            "<p id=\"verification\" class=\"{class}\">Verified {} against {}: {}</p>",
            esc(&v.checked_at),
            esc(&v.basis),
            esc(&summary)
        );
    }
    for sys in &plan.systems {
        let _ = write!(h, "<h2>{}</h2><table><tr><th>Done</th><th>Action</th><th>What</th><th>Partner</th><th>Usage</th><th>Evidence</th></tr>", esc(&sys.name));
        for s in &sys.steps {
            let done = match s.verdict {
                Some(v) => format!(
                    "<span class=\"verdict {}\">{}</span>{}",
                    v.as_str().replace(' ', "-"),
                    esc(v.as_str()),
                    s.last_seen.as_ref().map_or(String::new(), |d| format!(
                        "<div class=\"muted\">last seen {}</div>",
                        esc(d)
                    ))
                ),
                None => "<input type=\"checkbox\">".to_string(),
            };
            let _ = write!(
                h,
                "<tr data-id=\"{}\"><td>{done}</td><td>{}</td><td>{} <b>{}</b><div class=\"muted\"><code>{}</code></div></td><td>{}</td><td class=\"{}\">{}{}</td><td>{}{}</td></tr>",
                esc(&s.id),
                action_cell(s),
                esc(&s.kind.replace('_', " ")),
                esc(&s.name),
                esc(&s.id),
                esc(&s.partner),
                if s.usage == "used recently" { "recent" } else { "" },
                esc(&s.usage),
                s.last_used.as_ref().map_or(String::new(), |d| format!("<div class=\"muted\">{}</div>", esc(d))),
                esc(&s.evidence),
                if s.findings.is_empty() { String::new() } else { format!("<div class=\"muted\">{}</div>", esc(&s.findings.join(", "))) }
            );
        }
        h.push_str("</table>");
    }
    h.push_str("</body></html>\n");
    h
}
