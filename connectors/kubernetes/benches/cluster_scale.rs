//! The kubernetes connector, the graph and every check over a generated cluster export
//! (default: 200 namespaces, 20,000 service accounts, 50,000 bindings; testkit::k8s::generated):
//! prints the export's size, each stage's time, identities/s and the process's peak memory.
//!
//! Usage: cargo bench -p trustmap-connector-kubernetes --bench cluster_scale -- [NAMESPACES] [ACCOUNTS] [BINDINGS]
use std::time::Instant;
use trustmap_connector_kubernetes::{KubernetesConfig, KubernetesConnector};
use trustmap_graph::Graph;
use trustmap_policy::{run_checks, CheckContext, Settings};
use trustmap_testkit::child::numeric_args;
use trustmap_testkit::measure::{peak_mb, reset_peak};

const PARTNERS: &str = r#"
[[partners]]
id = "partner0"
name = "Partner 0"
sponsor = "a@corp.example"
purpose = "x"
status = "revoked"
expires = "2025-01-01"
[partners.match]
email_domains = ["partner0.example", "partner1.example", "partner2.example"]
[[owners]]
id = "platform"
[owners.match]
name_patterns = ["app-0*"]
"#;

/// The export, written by a child (this binary with `write`), so that the generator's copy of
/// the cluster is not in the peak measured here.
fn write_in_child(
    export: &std::path::Path,
    namespaces: usize,
    accounts: usize,
    bindings: usize,
) -> anyhow::Result<()> {
    let status = std::process::Command::new(std::env::current_exe()?)
        .args([
            namespaces.to_string(),
            accounts.to_string(),
            bindings.to_string(),
            "write".into(),
        ])
        .arg(export)
        .status()?;
    anyhow::ensure!(status.success(), "writing the export failed: {status}");
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = numeric_args();
    let get = |i: usize, d: u64| a.get(i).copied().unwrap_or(d) as usize;
    let (namespaces, accounts, bindings) = (get(0, 200), get(1, 20_000), get(2, 50_000));
    if let Some(path) = std::env::args().skip_while(|a| a != "write").nth(1) {
        let cluster = trustmap_testkit::k8s::generated(namespaces, accounts, bindings);
        std::fs::write(path, serde_json::to_vec(&cluster)?)?;
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let export = dir.path().join("k8s.json");
    write_in_child(&export, namespaces, accounts, bindings)?;
    let bytes = std::fs::metadata(&export)?.len();
    println!("cluster: {namespaces} namespaces, {accounts} service accounts, {bindings} bindings; export {:.1} MB", bytes as f64 / 1e6);
    reset_peak();
    let total = Instant::now();
    let cfg: KubernetesConfig =
        toml::from_str("cluster = \"bench\"\nexport_file = \"k8s.json\"\n")?;
    let c = KubernetesConnector::new("k8s".into(), cfg).map_err(anyhow::Error::msg)?;
    let t = Instant::now();
    let run = trustmap_testkit::run::run_connector(&c, dir.path()).await;
    run.result.map_err(anyhow::Error::msg)?;
    let connector_s = t.elapsed().as_secs_f64();
    let observations = run.obs.len();
    let connector_mb = peak_mb();
    let t = Instant::now();
    let mut graph = Graph::build(run.obs);
    let registry =
        trustmap_partners::parse_registry(std::path::Path::new("partners.toml"), PARTNERS)?;
    trustmap_attribution::attribute(
        &mut graph,
        &registry,
        &trustmap_attribution::Estate::default(),
    );
    let graph_s = t.elapsed().as_secs_f64();
    let settings = Settings {
        today: chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default(),
        dormant_after_days: 90,
        max_credential_age_days: 365,
        renew_before_days: 30,
        now: "2026-11-22T00:00:00Z".into(),
    };
    let memory = trustmap_model::Memory::default();
    let t = Instant::now();
    let findings = run_checks(&CheckContext {
        graph: &graph,
        registry: &registry,
        settings: &settings,
        memory: &memory,
    });
    let checks_s = t.elapsed().as_secs_f64();
    let all = total.elapsed().as_secs_f64();
    let identities = graph
        .nodes
        .iter()
        .filter(|n| n.kind == trustmap_graph::NodeKind::Identity)
        .count();
    println!("connector (read + observe) {connector_s:>6.3} s  {observations} observations, {:.1} MB/s, peak {connector_mb:.0} MB", bytes as f64 / 1e6 / connector_s);
    println!(
        "graph + attribution       {graph_s:>6.3} s  {} nodes, {} edges",
        graph.nodes.len(),
        graph.edges.len()
    );
    println!(
        "checks                    {checks_s:>6.3} s  {} findings",
        findings.len()
    );
    println!(
        "total                     {all:>6.3} s  {:.0} identities/s; peak {:.0} MB",
        identities as f64 / all,
        peak_mb()
    );
    Ok(())
}
