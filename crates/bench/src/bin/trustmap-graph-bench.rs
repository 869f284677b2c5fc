//! Graph build, attribution and every check on a synthetic estate (default: 100,000
//! identities, 20,000 external principals, 1,000 partners). Prints each phase's time,
//! identities/s and the process's peak memory (VmHWM).
use anyhow::Result;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;
use trustmap_attribution::Estate;
use trustmap_graph::Graph;
use trustmap_model::{
    CredentialObs, EdgeKind, EdgeObs, ExternalPrincipalObs, Identifier, IdentityObs, Observation,
    Provenance,
};
use trustmap_partners::parse_registry;
use trustmap_policy::{run_checks, CheckContext, Settings};

use trustmap_testkit::measure::peak_mb;

fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

#[allow(clippy::too_many_lines)] // a benchmark reads as one script: build the estate, time each stage, print
fn main() -> Result<()> {
    let identities = arg(1, 100_000);
    let principals = arg(2, 20_000);
    let partners = arg(3, 1_000);
    let mut rng = fastrand::Rng::with_seed(42);

    let mut toml = String::new();
    for p in 0..partners {
        let status = match p % 20 {
            0 => "revoked",
            1 => "suspended",
            2 => "under_review",
            _ => "active",
        };
        let via = if p % 10 == 9 {
            format!("via = \"p{}\"\n", p - 1)
        } else {
            String::new()
        };
        let _ = write!(
            toml,
            "[[partners]]\nid = \"p{p}\"\nname = \"Partner {p}\"\nsponsor = \"owner{p}@corp.example\"\npurpose = \"integration {p}\"\nstatus = \"{status}\"\nexpires = \"{}\"\nreview_every_days = 90\nlast_reviewed = \"2026-09-01\"\nallowed_scopes = [\"aws:s3:GetObject\"]\n{via}[partners.match]\naws_accounts = [",
            if p % 25 == 3 { "2026-01-01" } else { "2027-12-31" }
        );
        // The first two thirds of the principals belong to partners, spread evenly.
        let per = (principals * 2 / 3) / partners.max(1);
        let accounts: Vec<String> = (0..per)
            .map(|k| format!("\"{:012}\"", 100_000_000_000u64 + (p * per + k) as u64))
            .collect();
        let _ = writeln!(
            toml,
            "{}]\ngithub_orgs = [\"org-{p}\"]\nname_patterns = [\"p{p}-*\"]\n",
            accounts.join(", ")
        );
    }
    toml.push_str("[[owners]]\nid = \"platform\"\n[owners.match]\nname_patterns = [\"ci-*\", \"terraform-*\"]\n");

    let prov = Provenance::default();
    let mut obs = Vec::with_capacity(identities * 3);
    for k in 0..principals {
        obs.push(Observation::ExternalPrincipal(ExternalPrincipalObs {
            id: format!("aws-account:{:012}", 100_000_000_000u64 + k as u64),
            kind: "aws_account".into(),
            name: format!("{:012}", 100_000_000_000u64 + k as u64),
            identifiers: vec![Identifier::AwsAccount(format!(
                "{:012}",
                100_000_000_000u64 + k as u64
            ))],
            provenance: prov.clone(),
        }));
    }
    for i in 0..identities {
        let name = match i % 4 {
            0 => format!("p{}-svc-{i}", rng.usize(..partners)),
            1 => format!("ci-job-{i}"),
            2 => format!("role-{i}"),
            _ => format!("app-{i}"),
        };
        let id = format!("aws:123456789012:role/{name}");
        // A plausible estate: about 10% of identities idle for months, the rest used lately.
        let used = if rng.u32(..10) == 0 {
            format!("2026-{:02}-{:02}", rng.u32(1..=6), rng.u32(1..=28))
        } else {
            format!("2026-11-{:02}", rng.u32(1..=21))
        };
        obs.push(Observation::Identity(IdentityObs {
            id: id.clone(),
            kind: "aws_iam_role".into(),
            name: name.clone(),
            provider: "aws".into(),
            account: Some("123456789012".into()),
            created: Some("2024-06-01".into()),
            last_used: Some(used.clone()),
            active: true,
            scopes: if i % 20 == 0 {
                vec!["aws:s3:*".into()]
            } else {
                vec!["aws:s3:GetObject".into()]
            },
            tags: BTreeMap::new(),
            identifiers: Vec::new(),
            revoke: None,
            provenance: prov.clone(),
        }));
        if i % 2 == 0 {
            obs.push(Observation::Credential(CredentialObs {
                id: format!("{id}/key"),
                kind: "aws_access_key".into(),
                holder: id.clone(),
                name: None,
                created: Some(
                    if i % 10 == 0 {
                        "2024-03-01"
                    } else {
                        "2026-03-01"
                    }
                    .to_string(),
                ),
                last_used: Some(used),
                last_rotated: None,
                expires: None,
                active: true,
                identifiers: vec![Identifier::AwsAccessKeyId(format!("AKIA{i:016}"))],
                scopes: Vec::new(),
                revoke: None,
                provenance: prov.clone(),
            }));
        }
        if i % 4 == 2 {
            let mut conditions = BTreeMap::new();
            if i % 8 == 2 {
                conditions.insert("sts:ExternalId".into(), "x".into());
            }
            obs.push(Observation::Edge(EdgeObs {
                from: id,
                to: format!(
                    "aws-account:{:012}",
                    100_000_000_000u64 + rng.usize(..principals) as u64
                ),
                kind: EdgeKind::Trusts,
                conditions,
                provenance: prov.clone(),
            }));
        }
    }
    println!("estate: {identities} identities, {principals} external principals, {partners} partners, {} observations", obs.len());
    let settings = Settings {
        today: chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default(),
        dormant_after_days: 90,
        max_credential_age_days: 365,
        renew_before_days: 30,
        now: "2026-11-22T00:00:00Z".into(),
    };
    let total = Instant::now();
    let t = Instant::now();
    let registry = parse_registry(std::path::Path::new("bench-partners.toml"), &toml)?;
    let parse_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut graph = Graph::build(obs);
    let build_s = t.elapsed().as_secs_f64();
    let after_build_mb = peak_mb();
    let t = Instant::now();
    trustmap_attribution::attribute(&mut graph, &registry, &Estate::default());
    let attribute_s = t.elapsed().as_secs_f64();
    let after_attribute_mb = peak_mb();
    let memory = trustmap_model::Memory::default();
    let ctx = CheckContext {
        graph: &graph,
        registry: &registry,
        settings: &settings,
        memory: &memory,
    };
    if trustmap_model::env::is_set(trustmap_model::env::BENCH_PER_CHECK) {
        for c in trustmap_policy::all_checks() {
            let t = Instant::now();
            let n = c.run(&ctx).len();
            println!(
                "  {:<26} {:>7.3} s  ({n} findings)",
                c.id(),
                t.elapsed().as_secs_f64()
            );
        }
    }
    let t = Instant::now();
    let findings = run_checks(&ctx);
    let checks_s = t.elapsed().as_secs_f64();
    let all = total.elapsed().as_secs_f64();
    let attributed = graph
        .nodes
        .iter()
        .filter(|n| n.attribution.is_some())
        .count();
    println!("registry parse+index   {parse_s:>7.3} s");
    println!(
        "graph build            {build_s:>7.3} s  ({} nodes, {} edges)",
        graph.nodes.len(),
        graph.edges.len()
    );
    println!("attribution            {attribute_s:>7.3} s  ({attributed} nodes attributed)");
    println!(
        "all checks             {checks_s:>7.3} s  ({} findings)",
        findings.len()
    );
    println!(
        "total                  {all:>7.3} s  ({:.0} identities/s)",
        identities as f64 / all
    );
    println!("peak memory after build {after_build_mb:>7.0} MB, after attribution {after_attribute_mb:.0} MB");
    println!(
        "peak memory            {:>7.0} MB (VmHWM, includes the generated observations)",
        peak_mb()
    );
    Ok(())
}
