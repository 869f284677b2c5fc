//! 100,000 findings and as many identities (8 scopes each, what scope drift and evidence
//! read back) through the state store in one run, then a second unchanged run, then reading
//! the memory back, then a shard storing 10 observations per finding: prints the time of
//! each, observations/s and the process's peak memory (VmHWM).
//!
//! Usage: trustmap-store-bench [N] [--postgres]   (--postgres: a real PostgreSQL server,
//! Debian's, started for the run; else a SQLite file)
use anyhow::Result;
use std::time::{Duration, Instant};
use trustmap_model::{fingerprint, Finding, FindingKind, FindingStatus, Severity, Subject};
use trustmap_store::{RunInput, SeenNode, SeenPartner, ShardId, StateLocation, StateStore};

use trustmap_testkit::measure::peak_mb;

fn findings(n: usize) -> Vec<Finding> {
    (0..n)
        .map(|i| {
            let subject = format!("aws:123456789012:role/svc-{i}");
            let mut evidence = serde_json::Map::new();
            evidence.insert("idle_days".into(), serde_json::json!(120 + i % 300));
            Finding {
                id: fingerprint(&["dormant_access", &subject]),
                kind: FindingKind::DormantAccess,
                severity: Severity::Medium,
                title: format!("svc-{i} has not been used for {} days", 120 + i % 300),
                subject: Subject {
                    id: subject,
                    kind: "aws_iam_role".into(),
                    name: format!("svc-{i}"),
                },
                partner: Some(format!("p{}", i % 1000)),
                chain: vec![format!("partner:p{}", i % 1000)],
                rule: None,
                location: None,
                evidence,
                remediation: "Disable it now and delete it after a grace period if nobody objects."
                    .into(),
                references: vec!["OWASP-NHI1".into()],
                status: FindingStatus::New,
                first_seen: String::new(),
                last_seen: String::new(),
                sources: vec!["aws-prod".into()],
            }
        })
        .collect()
}

/// The run's identities, borrowing their names.
fn seen_nodes<'a>(
    names: &'a [(String, String, Option<String>)],
    sources: &'a [String],
    scopes: &'a [String],
) -> Vec<SeenNode<'a>> {
    names
        .iter()
        .map(|(id, name, partner)| SeenNode {
            id,
            kind: "identity",
            subtype: "aws_iam_role",
            name,
            account: Some("123456789012"),
            partner: partner.as_deref(),
            sources,
            scopes,
            revoke: None,
        })
        .collect()
}

/// A shard of a sharded sweep storing 10 observations per finding (what the merge reads back).
fn shard_observations(store: &mut dyn StateStore, n: usize) -> Result<()> {
    let observations: Vec<String> = (0..n * 10)
        .map(|i| format!(r#"{{"type":"identity","id":"aws:123456789012:role/svc-{i}","kind":"aws_iam_role","name":"svc-{i}","provider":"aws","account":"123456789012","scopes":["aws:s3:GetObject"],"provenance":{{"connector":"aws-prod","source":"aws account 123456789012"}}}}"#))
        .collect();
    let shard = ShardId {
        run: "bench".into(),
        index: 0,
        count: 1,
    };
    store.shard_started(&shard, "bench", "2026-11-23T00:00:00Z")?;
    let t = Instant::now();
    store.shard_finished(&shard, "2026-11-23T00:00:01Z", "{}", &observations)?;
    let put = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let back = store.shard_observations("bench", 0)?.len();
    let get = t.elapsed().as_secs_f64();
    println!(
        "{:<24} {put:>7.3} s  {} observations ({:.0}/s), read back {back} in {get:.3} s ({:.0}/s), peak {:.0} MB",
        "shard observations",
        observations.len(),
        observations.len() as f64 / put,
        back as f64 / get,
        peak_mb()
    );
    Ok(())
}

/// With `--postgres`, a database on a server started for the run; else the SQLite file `path`.
fn store_at(
    path: &std::path::Path,
) -> Result<(Option<trustmap_testkit::postgres::Postgres>, StateLocation)> {
    if std::env::args().any(|a| a == "--postgres") {
        let pg = trustmap_testkit::postgres::Postgres::start()?;
        let url = pg.database("bench")?;
        return Ok((Some(pg), StateLocation::Postgres(url)));
    }
    Ok((None, StateLocation::File(path.to_path_buf())))
}

fn main() -> Result<()> {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("state.db");
    let (server, location) = store_at(&path)?;
    println!("store: {location}");
    let connectors = vec![("aws-prod".to_string(), true)];
    let sources = vec!["aws-prod".to_string()];
    let names: Vec<(String, String, Option<String>)> = (0..n)
        .map(|i| {
            (
                format!("aws:123456789012:role/svc-{i}"),
                format!("svc-{i}"),
                Some(format!("p{}", i % 1000)),
            )
        })
        .collect();
    let scopes: Vec<String> = (0..8).map(|k| format!("aws:s3:Action{k}")).collect();
    let nodes = seen_nodes(&names, &sources, &scopes);
    let partner_ids: Vec<String> = (0..1000).map(|i| format!("p{i}")).collect();
    let partners: Vec<SeenPartner<'_>> = partner_ids
        .iter()
        .map(|id| SeenPartner {
            id,
            status: "active",
            expires: None,
        })
        .collect();
    for (label, day) in [
        ("first run (all new)", "2026-11-21T00:00:00Z"),
        ("second run (unchanged)", "2026-11-22T00:00:00Z"),
    ] {
        let mut batch = findings(n);
        let t = Instant::now();
        let mut store = location.open(Duration::from_secs(30))?;
        let run = RunInput {
            started: day,
            ended: day,
            connectors: &connectors,
            gaps: &[],
            nodes: &nodes,
            partners: &partners,
            name: None,
        };
        let diff = store.apply_run(&run, &mut batch)?;
        println!(
            "{label:<24} {:>7.3} s  {n} findings ({} new, {} open, {} resolved), peak {:.0} MB",
            t.elapsed().as_secs_f64(),
            diff.new.len(),
            diff.still_open.len(),
            diff.resolved.len(),
            peak_mb()
        );
    }
    let t = Instant::now();
    let memory = location.open(Duration::from_secs(30))?.memory()?;
    println!(
        "{:<24} {:>7.3} s  {} identities, {} scopes, peak {:.0} MB",
        "memory read back",
        t.elapsed().as_secs_f64(),
        memory.nodes.len(),
        memory.nodes.values().map(|n| n.scopes.len()).sum::<usize>(),
        peak_mb()
    );
    shard_observations(location.open(Duration::from_secs(30))?.as_mut(), n)?;
    if server.is_none() {
        println!(
            "state file: {:.1} MB",
            std::fs::metadata(&path)?.len() as f64 / 1e6
        );
    }
    Ok(())
}
