//! The HTML report at scale: 10,000 findings and 5,000 graph nodes (defaults), written and then
//! opened in headless Chromium. Prints the file size, the time to write it, and the time the
//! browser needs to load it and run its script, minus the browser's own start-up (an empty
//! page timed the same way).
//!
//! Usage: trustmap-report-bench [FINDINGS] [NODES]
use anyhow::{bail, Result};
use std::time::Instant;
use trustmap_model::{fingerprint, Finding, FindingKind, FindingStatus, Severity, Subject};
use trustmap_report::html::{write_html, PartnerCard, View, ViewNode};
use trustmap_testkit::measure::peak_mb;

fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn view(nodes: usize, partners: usize) -> View {
    let kinds = [
        "external_principal",
        "identity",
        "identity",
        "credential",
        "secret_location",
    ];
    let mut v = View {
        title: "report bench".into(),
        generated: "2026-11-22T00:00:00Z".into(),
        ..View::default()
    };
    for p in 0..partners {
        v.partners.push(PartnerCard {
            id: format!("p{p}"),
            name: format!("Partner {p}"),
            status: "active".into(),
            expires: Some("2027-01-01".into()),
            days_left: Some(40),
            ..PartnerCard::default()
        });
        v.nodes.push(ViewNode {
            id: format!("partner:p{p}"),
            kind: "partner".into(),
            name: format!("Partner {p}"),
            active: true,
            partners: vec![format!("p{p}")],
            ..ViewNode::default()
        });
    }
    for i in 0..nodes.saturating_sub(partners) {
        let p = i % partners;
        v.nodes.push(ViewNode {
            id: format!("n:{i}"),
            kind: kinds[i % kinds.len()].into(),
            subtype: "aws_iam_role".into(),
            name: format!("node-{i}"),
            active: i % 7 != 0,
            owner: Some(format!("partner:p{p}")),
            partners: vec![format!("p{p}")],
            ..ViewNode::default()
        });
        let me = v.nodes.len() - 1;
        v.edges.push((p, me, "attributed".into()));
        if me > partners + 1 {
            v.edges.push((me - 1, me, "holds".into()));
        }
    }
    v
}

fn findings(n: usize, partners: usize) -> Vec<Finding> {
    let kinds = [
        FindingKind::DormantAccess,
        FindingKind::OverScoped,
        FindingKind::LingeringAccess,
        FindingKind::UnownedIdentity,
    ];
    (0..n)
        .map(|i| Finding {
            id: fingerprint(&["bench", &i.to_string()]),
            kind: kinds[i % kinds.len()],
            severity: Severity::ALL[i % Severity::ALL.len()],
            title: format!("role-{i} has not been used for {} days", 90 + i % 300),
            subject: Subject {
                id: format!("n:{i}"),
                kind: "aws_iam_role".into(),
                name: format!("role-{i}"),
            },
            partner: Some(format!("p{}", i % partners)),
            chain: vec![format!("partner:p{}", i % partners), format!("n:{i}")],
            rule: None,
            location: None,
            evidence: serde_json::Map::new(),
            remediation: "Disable it now and delete it after a grace period if nobody objects."
                .into(),
            references: vec!["OWASP-NHI1".into()],
            status: FindingStatus::New,
            first_seen: "2026-11-22T00:00:00Z".into(),
            last_seen: "2026-11-22T00:00:00Z".into(),
            sources: Vec::new(),
        })
        .collect()
}

fn browser_seconds(browser: &str, url: &str, profile: &std::path::Path) -> Result<(f64, String)> {
    let t = Instant::now();
    let out = trustmap_testkit::browser::headless(browser, profile)
        .args(["--dump-dom", url])
        .output()?;
    if !out.status.success() {
        bail!("{browser}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok((
        t.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

fn main() -> Result<()> {
    let (n_findings, n_nodes) = (arg(1, 10_000), arg(2, 5_000));
    let partners = 50;
    let dir = tempfile::tempdir()?;
    let (v, fs) = (view(n_nodes, partners), findings(n_findings, partners));
    let path = dir.path().join("report.html");
    let t = Instant::now();
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
    write_html(&v, &fs, &mut file)?;
    drop(file);
    let write = t.elapsed().as_secs_f64();
    let size = std::fs::metadata(&path)?.len() as f64 / 1e6;
    println!("{n_findings} findings, {n_nodes} nodes, {} edges: {size:.1} MB written in {write:.2}s (peak {:.0} MB)", v.edges.len(), peak_mb());
    let browser = trustmap_testkit::browser::find();
    let Some(browser) = browser else {
        println!("no Chromium found: browser timing skipped (apt-get install chromium)");
        return Ok(());
    };
    let profile = tempfile::tempdir()?;
    let empty = dir.path().join("empty.html");
    std::fs::write(
        &empty,
        "<!DOCTYPE html><title>x</title><body data-ready=\"1\"></body>",
    )?;
    let mut base = f64::MAX;
    let mut full = f64::MAX;
    for _ in 0..3 {
        base = base.min(
            browser_seconds(
                browser,
                &format!("file://{}", empty.display()),
                profile.path(),
            )?
            .0,
        );
        let (secs, dom) = browser_seconds(
            browser,
            &format!("file://{}#partner=p3", path.display()),
            profile.path(),
        )?;
        if !dom.contains("data-ready=\"1\"") {
            bail!("the report's script did not finish");
        }
        full = full.min(secs);
    }
    println!(
        "headless {browser}: load + script {:.2}s (page {:.2}s minus browser start {:.2}s; best of 3, filtered to one partner)",
        full - base,
        full,
        base
    );
    Ok(())
}
