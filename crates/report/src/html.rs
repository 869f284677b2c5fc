//! The HTML partner report: one self-contained file (inline CSS and JS, no network) with
//! totals, a card per partner, unowned and unknown access, the identity graph drawn as SVG by
//! trustmap itself, and a findings table that sorts and filters by severity, kind and partner.
//! `#partner=ID` in the URL applies the partner filter on load (links from tickets, tests).
//!
//! It renders a [`View`] (plain data) so that it knows nothing about the graph or the registry.
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use trustmap_model::{Finding, Severity};

use crate::ReportError;

/// A partner as the report shows it.
#[derive(Debug, Clone, Default)]
pub struct PartnerCard {
    pub id: String,
    pub name: String,
    pub sponsor: Option<String>,
    pub purpose: Option<String>,
    pub status: String,
    pub expires: Option<String>,
    /// Days until expiry (negative: overdue).
    pub days_left: Option<i64>,
    /// The partner that brought this one in.
    pub via: Option<String>,
    pub subcontractors: Vec<String>,
    pub allowed_scopes: Vec<String>,
}

/// A node of the drawing.
#[derive(Debug, Clone, Default)]
pub struct ViewNode {
    pub id: String,
    /// partner, owner, external_principal, identity, credential, secret_location.
    pub kind: String,
    pub subtype: String,
    pub name: String,
    pub active: bool,
    pub last_used: Option<String>,
    /// `partner:acme`, `owner:platform`, or none.
    pub owner: Option<String>,
    /// Every partner on the node's attribution chain (a subcontractor's nodes belong to the
    /// partner that brought it in, too).
    pub partners: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct View {
    pub title: String,
    pub generated: String,
    pub partners: Vec<PartnerCard>,
    pub nodes: Vec<ViewNode>,
    /// (from, to, kind) as indices into `nodes`.
    pub edges: Vec<(usize, usize, String)>,
    /// Connector name → problem (failure or coverage gap), shown so nobody mistakes silence
    /// for safety.
    pub coverage: Vec<(String, String)>,
}

pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const STYLE: &str = r#"
:root{--crit:#8b0000;--high:#c0392b;--med:#d68910;--low:#2e86c1;--info:#7f8c8d;--bg:#f6f7f9;--card:#fff;--ink:#1c2330;--mute:#5d6673}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--ink);background:var(--bg)}
header{background:#1c2330;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;color:#c9d1dc}
main{padding:20px 28px;max-width:1500px}section{margin:0 0 28px}h2{font-size:18px;margin:0 0 10px}
.totals{display:flex;flex-wrap:wrap;gap:10px}.tile{background:var(--card);border-radius:8px;padding:10px 16px;box-shadow:0 1px 2px #0002;min-width:110px}
.tile b{display:block;font-size:22px}.sev-critical{color:var(--crit)}.sev-high{color:var(--high)}.sev-medium{color:var(--med)}.sev-low{color:var(--low)}.sev-info{color:var(--info)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:14px}
.card{background:var(--card);border-radius:8px;padding:14px 16px;box-shadow:0 1px 2px #0002;border-top:4px solid #95a5a6}
.card.status-active{border-top-color:#27ae60}.card.status-revoked,.card.status-suspended{border-top-color:var(--crit)}.card.status-under_review{border-top-color:var(--med)}
.card h3{margin:0 0 4px;font-size:16px}.card .meta{color:var(--mute);font-size:12.5px}.card ul{margin:6px 0 0;padding-left:18px}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;background:#eef1f5;margin-right:4px}
.overdue{color:var(--crit);font-weight:600}.warn{color:var(--med);font-weight:600}
table{border-collapse:collapse;width:100%;background:var(--card);box-shadow:0 1px 2px #0002}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e5e8ec;vertical-align:top}th{cursor:pointer;background:#eef1f5;position:sticky;top:0;user-select:none}
th.sorted-asc:after{content:" \25B2"}th.sorted-desc:after{content:" \25BC"}
tr[hidden]{display:none}.filters{display:flex;flex-wrap:wrap;gap:8px;margin:0 0 10px}.filters select,.filters input{padding:4px 6px}
.graph{background:var(--card);overflow:auto;max-height:720px;border-radius:8px;box-shadow:0 1px 2px #0002}
.graph text{font-size:11px;fill:#1c2330}.graph .n rect{stroke:#0003;rx:4}.graph .e{stroke:#8895a7;fill:none;stroke-width:1}
.graph .dim{opacity:.08}.k-partner rect{fill:#d6eaf8}.k-owner rect{fill:#d5f5e3}.k-external_principal rect{fill:#fdebd0}.k-identity rect{fill:#e8daef}.k-credential rect{fill:#fadbd8}.k-secret_location rect{fill:#f9e79f}
.inactive rect{stroke-dasharray:3 2;opacity:.6}code{font-size:12px}.muted{color:var(--mute)}
"#;

const SCRIPT: &str = r#"
(function(){
const rows=[...document.querySelectorAll('#findings tbody tr')];
const sel=id=>document.getElementById(id);
const sevRank={critical:0,high:1,medium:2,low:3,info:4};
function apply(){
  const s=sel('f-sev').value,k=sel('f-kind').value,p=sel('f-partner').value,q=sel('f-text').value.toLowerCase();
  let shown=0;
  for(const r of rows){
    const ok=(!s||r.dataset.severity===s)&&(!k||r.dataset.kind===k)&&(!p||(' '+r.dataset.partners+' ').includes(' '+p+' '))&&(!q||r.textContent.toLowerCase().includes(q));
    r.hidden=!ok; if(ok)shown++;
  }
  sel('shown').textContent=shown;
  const nodes=document.querySelectorAll('#graph .n'), edges=document.querySelectorAll('#graph .e');
  for(const n of nodes){n.classList.toggle('dim',!!p&&!(' '+n.dataset.partners+' ').includes(' '+p+' '));}
  for(const e of edges){e.classList.toggle('dim',!!p&&!(' '+e.dataset.partners+' ').includes(' '+p+' '));}
  for(const c of document.querySelectorAll('.card')){c.hidden=!!p&&c.dataset.partner!==p&&c.dataset.via!==p;}
  if(p){history.replaceState(null,'','#partner='+encodeURIComponent(p));}
}
for(const id of ['f-sev','f-kind','f-partner','f-text'])sel(id).addEventListener('input',apply);
let sortCol=-1,asc=true;
document.querySelectorAll('#findings th').forEach((th,i)=>th.addEventListener('click',()=>{
  asc=sortCol===i?!asc:true; sortCol=i;
  const key=r=>i===0?sevRank[r.dataset.severity]:r.children[i].textContent;
  rows.sort((a,b)=>{const x=key(a),y=key(b);return (x<y?-1:x>y?1:0)*(asc?1:-1);});
  const tb=document.querySelector('#findings tbody'); rows.forEach(r=>tb.appendChild(r));
  document.querySelectorAll('#findings th').forEach(t=>t.className='');
  th.className=asc?'sorted-asc':'sorted-desc';
}));
const m=location.hash.match(/partner=([^&]+)/);
if(m){sel('f-partner').value=decodeURIComponent(m[1]);}
apply();
document.body.dataset.ready='1';
})();
"#;

/// Columns of the drawing, left to right: who → through what → which identity → which key →
/// where it leaked.
fn column(kind: &str) -> usize {
    match kind {
        "partner" | "owner" => 0,
        "external_principal" => 1,
        "identity" => 2,
        "credential" => 3,
        _ => 4,
    }
}

const COL_W: usize = 250;
const ROW_H: usize = 22;
const BOX_W: usize = 220;

/// Where each node's box goes (one column per kind, partners with their subcontractors
/// together), and the drawing's width and height.
fn layout(view: &View) -> (Vec<(usize, usize)>, usize, usize) {
    let mut cols: Vec<Vec<usize>> = vec![Vec::new(); 5];
    // Partners with their subcontractors next to them, then the rest by owner, then name.
    let mut order: Vec<usize> = (0..view.nodes.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&view.nodes[a], &view.nodes[b]);
        (x.partners.first(), &x.owner, &x.name).cmp(&(y.partners.first(), &y.owner, &y.name))
    });
    for i in order {
        cols[column(&view.nodes[i].kind)].push(i);
    }
    let mut pos = vec![(0usize, 0usize); view.nodes.len()];
    for (c, members) in cols.iter().enumerate() {
        for (r, &i) in members.iter().enumerate() {
            pos[i] = (10 + c * COL_W, 30 + r * ROW_H);
        }
    }
    let height = 40 + cols.iter().map(Vec::len).max().unwrap_or(0) * ROW_H;
    let width = 20 + 5 * COL_W;
    (pos, width, height)
}

fn svg(view: &View) -> String {
    let (pos, width, height) = layout(view);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg id="graph" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="identity graph">"#
    );
    for (c, title) in [
        "partners & owners",
        "external principals",
        "identities",
        "credentials",
        "where found",
    ]
    .iter()
    .enumerate()
    {
        let _ = write!(
            s,
            r#"<text x="{}" y="16" font-weight="bold">{title}</text>"#,
            10 + c * COL_W
        );
    }
    for (from, to, kind) in &view.edges {
        let ((x1, y1), (x2, y2)) = (pos[*from], pos[*to]);
        // Edges leave a box on the side facing the other end.
        let (sx, ex) = if x1 <= x2 {
            (x1 + BOX_W, x2)
        } else {
            (x1, x2 + BOX_W)
        };
        let (sy, ey) = (y1 + 8, y2 + 8);
        let mid = (sx + ex) / 2;
        let mut partners: Vec<&str> = view.nodes[*from]
            .partners
            .iter()
            .map(String::as_str)
            .collect();
        partners.extend(view.nodes[*to].partners.iter().map(String::as_str));
        partners.sort_unstable();
        partners.dedup();
        let _ = write!(
            s,
            r#"<path class="e" data-partners="{}" d="M{sx},{sy} C{mid},{sy} {mid},{ey} {ex},{ey}"><title>{}</title></path>"#,
            esc(&partners.join(" ")),
            esc(kind)
        );
    }
    for (i, n) in view.nodes.iter().enumerate() {
        let (x, y) = pos[i];
        let label: String = n.name.chars().take(32).collect();
        let _ = write!(
            s,
            r#"<g class="n k-{}{}" data-id="{}" data-partners="{}"><rect x="{x}" y="{y}" width="{BOX_W}" height="17"/><text x="{}" y="{}">{}</text><title>{} ({}){}</title></g>"#,
            esc(&n.kind),
            if n.active { "" } else { " inactive" },
            esc(&n.id),
            esc(&n.partners.join(" ")),
            x + 5,
            y + 12,
            esc(&label),
            esc(&n.id),
            esc(&n.subtype),
            n.last_used
                .as_ref()
                .map_or(String::new(), |d| format!(", last used {}", esc(d)))
        );
    }
    s.push_str("</svg>");
    s
}

fn finding_partners(f: &Finding) -> Vec<String> {
    let mut p: Vec<String> = f
        .chain
        .iter()
        .filter_map(|c| c.strip_prefix("partner:").map(str::to_string))
        .collect();
    if let Some(x) = &f.partner {
        p.push(x.clone());
    }
    p.sort();
    p.dedup();
    p
}

/// Render the report.
pub fn write_html(
    view: &View,
    findings: &[Finding],
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    let mut h = String::with_capacity(64 * 1024 + findings.len() * 600);
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>",
        esc(&view.title)
    );
    let _ = write!(
        h,
        "<header><h1>{}</h1><p>Generated {} · {} findings · {} partners · {} nodes</p></header><main>",
        esc(&view.title),
        esc(&view.generated),
        findings.len(),
        view.partners.len(),
        view.nodes.len()
    );

    let by_kind = totals(&mut h, findings);
    coverage(&mut h, view);
    let parts: Vec<Vec<String>> = findings.iter().map(finding_partners).collect();
    partner_cards(&mut h, view, findings, &parts);
    unowned(&mut h, view);
    // Graph.
    let _ = write!(
        h,
        "<section><h2>Identity graph</h2><p class=\"muted\">Partner → external principal → identity → credential → where it was found. Pick a partner below to highlight its part.</p><div class=\"graph\">{}</div></section>",
        svg(view)
    );

    findings_table(&mut h, view, findings, &parts, &by_kind);
    h.push_str("</tbody></table></section></main>");
    let _ = writeln!(h, "<script>{SCRIPT}</script></body></html>");
    out.write_all(h.as_bytes())?;
    Ok(())
}

/// Counts by severity and kind as tiles; returns the kinds seen (for the filter).
fn totals(h: &mut String, findings: &[Finding]) -> BTreeMap<String, usize> {
    let mut by_sev: BTreeMap<usize, (Severity, usize)> = BTreeMap::new();
    let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
    for f in findings {
        by_sev
            .entry(
                Severity::ALL
                    .iter()
                    .position(|s| *s == f.severity)
                    .unwrap_or(0),
            )
            .or_insert((f.severity, 0))
            .1 += 1;
        *by_kind.entry(f.kind.as_str().to_string()).or_default() += 1;
    }
    h.push_str("<section id=\"totals\"><h2>Totals</h2><div class=\"totals\">");
    for (sev, n) in by_sev.values() {
        let _ = write!(
            h,
            "<div class=\"tile\"><b class=\"sev-{0}\">{n}</b>{0}</div>",
            sev.as_str()
        );
    }
    for (k, n) in &by_kind {
        let _ = write!(
            h,
            "<div class=\"tile\"><b>{n}</b>{}</div>",
            esc(&k.replace('_', " "))
        );
    }
    h.push_str("</div></section>");

    by_kind
}

fn coverage(h: &mut String, view: &View) {
    if !view.coverage.is_empty() {
        h.push_str("<section id=\"coverage\"><h2>Coverage gaps</h2><p class=\"muted\">What the sweep could not see: absence of findings there means nothing.</p><ul>");
        for (c, m) in &view.coverage {
            let _ = write!(h, "<li><b>{}</b>: {}</li>", esc(c), esc(m));
        }
        h.push_str("</ul></section>");
    }
}

fn partner_cards(h: &mut String, view: &View, findings: &[Finding], parts: &[Vec<String>]) {
    let mut per_partner: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for (f, ps) in findings.iter().zip(parts) {
        for p in ps {
            per_partner.entry(p.as_str()).or_default().push(f);
        }
    }
    h.push_str("<section id=\"partners\"><h2>Partners</h2><div class=\"cards\">");
    for p in &view.partners {
        let mine: Vec<&ViewNode> = view
            .nodes
            .iter()
            .filter(|n| {
                matches!(n.kind.as_str(), "identity" | "credential")
                    && n.owner.as_deref() == Some(&format!("partner:{}", p.id))
            })
            .collect();
        let mut fs = per_partner.get(p.id.as_str()).cloned().unwrap_or_default();
        fs.sort_by_key(|f| Severity::ALL.iter().position(|s| *s == f.severity));
        partner_card(h, p, &mine, &fs);
    }
    h.push_str("</div></section>");
}

/// The card's expiry line: overdue, due within 30 days, later, or missing.
fn expiry(p: &PartnerCard) -> String {
    match (&p.expires, p.days_left) {
        (Some(e), Some(d)) if d < 0 => format!(
            "<span class=\"overdue\">expired {} ({} days overdue)</span>",
            esc(e),
            -d
        ),
        (Some(e), Some(d)) if d <= 30 => format!(
            "<span class=\"warn\">expires {} ({d} days left)</span>",
            esc(e)
        ),
        (Some(e), Some(d)) => format!("expires {} ({d} days left)", esc(e)),
        _ => "<span class=\"warn\">no expiry recorded</span>".into(),
    }
}

/// One partner: status, expiry, sponsor and purpose, subcontractors, what it holds and what
/// to revoke or fix first.
fn partner_card(h: &mut String, p: &PartnerCard, mine: &[&ViewNode], fs: &[&Finding]) {
    let expiry = expiry(p);
    let _ = write!(
        h,
        "<article class=\"card status-{}\" data-partner=\"{}\" data-via=\"{}\"><h3>{}</h3><div class=\"meta\"><span class=\"badge\">{}</span><span class=\"badge\">{}</span>{}</div>",
        esc(&p.status),
        esc(&p.id),
        esc(p.via.as_deref().unwrap_or("")),
        esc(&p.name),
        esc(&p.id),
        esc(&p.status.replace('_', " ")),
        expiry
    );
    let _ = write!(
        h,
        "<div class=\"meta\">Sponsor: {} · Purpose: {}</div>",
        esc(p.sponsor.as_deref().unwrap_or("— none recorded")),
        esc(p.purpose.as_deref().unwrap_or("— none recorded"))
    );
    // Renewal checkpoints (`review_due`) stand on the card, not only in the list.
    for f in fs
        .iter()
        .filter(|f| f.kind == trustmap_model::FindingKind::ReviewDue)
    {
        let _ = write!(
            h,
            "<div class=\"meta warn review-due\">Review due: {}</div>",
            esc(&f.title)
        );
    }
    if let Some(v) = &p.via {
        let _ = write!(
            h,
            "<div class=\"meta\">Subcontractor, brought in by <b>{}</b></div>",
            esc(v)
        );
    }
    if !p.subcontractors.is_empty() {
        let _ = write!(
            h,
            "<div class=\"meta\">Subcontractors: {}</div>",
            esc(&p.subcontractors.join(", "))
        );
    }
    let _ = write!(
        h,
        "<div><b>{}</b> identities and credentials, <b>{}</b> findings</div>",
        mine.len(),
        fs.len()
    );
    if !mine.is_empty() {
        h.push_str("<ul>");
        for n in mine.iter().take(12) {
            let _ = write!(
                h,
                "<li>{} <span class=\"muted\">{}{}</span></li>",
                esc(&n.name),
                esc(&n.subtype.replace('_', " ")),
                if n.active { "" } else { ", inactive" }
            );
        }
        if mine.len() > 12 {
            let _ = write!(h, "<li class=\"muted\">… {} more</li>", mine.len() - 12);
        }
        h.push_str("</ul>");
    }
    if !fs.is_empty() {
        h.push_str("<div><b>Revoke or fix first:</b><ol>");
        for f in fs.iter().take(3) {
            let _ = write!(
                h,
                "<li><span class=\"sev-{}\">{}</span> {} <span class=\"muted\">— {}</span></li>",
                f.severity.as_str(),
                f.severity.as_str(),
                esc(&f.title),
                esc(&f.remediation)
            );
        }
        h.push_str("</ol></div>");
    }
    h.push_str("</article>");
}

fn unowned(h: &mut String, view: &View) {
    let unowned: Vec<&ViewNode> = view
        .nodes
        .iter()
        .filter(|n| {
            n.owner.is_none()
                && n.active
                && matches!(n.kind.as_str(), "identity" | "external_principal")
        })
        .collect();
    let _ = write!(
        h,
        "<section id=\"unowned\"><h2>Unowned and unknown external access ({})</h2>",
        unowned.len()
    );
    if unowned.is_empty() {
        h.push_str(
            "<p class=\"muted\">Everything is attributed to a partner or an internal owner.</p>",
        );
    } else {
        h.push_str("<table><thead><tr><th>Name</th><th>Kind</th><th>Id</th><th>Last used</th></tr></thead><tbody>");
        for n in unowned.iter().take(500) {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                esc(&n.name),
                esc(&n.subtype.replace('_', " ")),
                esc(&n.id),
                esc(n.last_used.as_deref().unwrap_or("never / unknown"))
            );
        }
        h.push_str("</tbody></table>");
    }
    h.push_str("</section>");
}

fn findings_table(
    h: &mut String,
    view: &View,
    findings: &[Finding],
    parts: &[Vec<String>],
    by_kind: &BTreeMap<String, usize>,
) {
    h.push_str("<section><h2>Findings (<span id=\"shown\">0</span> shown)</h2><div class=\"filters\"><select id=\"f-sev\"><option value=\"\">all severities</option>");
    for s in Severity::ALL {
        let _ = write!(h, "<option>{}</option>", s.as_str());
    }
    h.push_str("</select><select id=\"f-kind\"><option value=\"\">all kinds</option>");
    for k in by_kind.keys() {
        let _ = write!(h, "<option>{}</option>", esc(k));
    }
    h.push_str("</select><select id=\"f-partner\"><option value=\"\">all partners</option>");
    for p in &view.partners {
        let _ = write!(
            h,
            "<option value=\"{}\">{}</option>",
            esc(&p.id),
            esc(&p.name)
        );
    }
    h.push_str("</select><input id=\"f-text\" type=\"search\" placeholder=\"search\"></div>");
    h.push_str("<table id=\"findings\"><thead><tr><th>Severity</th><th>Kind</th><th>Title</th><th>Partner</th><th>Subject</th><th>Where</th><th>Id</th></tr></thead><tbody>");
    for (f, ps) in findings.iter().zip(parts) {
        let loc = f
            .location
            .as_ref()
            .map_or(String::new(), |l| format!("{}:{}", l.path, l.line));
        let _ = write!(
            h,
            "<tr data-severity=\"{}\" data-kind=\"{}\" data-partners=\"{}\" data-id=\"{}\"><td class=\"sev-{0}\">{0}</td><td>{}</td><td>{}<div class=\"muted\">{}</div></td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td><code>{3}</code></td></tr>",
            f.severity.as_str(),
            esc(f.kind.as_str()),
            esc(&ps.join(" ")),
            esc(&f.id),
            esc(&f.kind.as_str().replace('_', " ")),
            esc(&f.title),
            esc(&f.remediation),
            esc(f.partner.as_deref().unwrap_or("")),
            esc(&f.subject.id),
            esc(&loc),
        );
    }
}
