//! The gcp connector against the local Google APIs with a fixed latency per request (default
//! 20 ms): an organisation of 500 projects, 20,000 service accounts, 40,000 user-managed keys
//! and 200,000 role bindings (testkit::gcp::generated), swept in organisation mode (Cloud
//! Asset for every policy, then each project's accounts and pools, then each account's keys).
//! For each concurrency, prints requests, wall time, requests/s, the ideal wall time
//! (requests × latency ÷ concurrency), observations and the connector's peak memory. The
//! server runs in a child process, so its copy of the organisation is not counted.
//!
//! Usage: cargo bench -p trustmap-connector-gcp --bench org_scale -- [PROJECTS] [ACCOUNTS] [KEYS] [BINDINGS] [LATENCY_MS] [CONCURRENCY...]
use std::time::Duration;
use trustmap_connector_gcp::{GcpConfig, GcpConnector};
use trustmap_testkit::child::{self, numeric_args, ChildServer};
use trustmap_testkit::gcp::{self, Behaviour};
use trustmap_testkit::measure::{peak_mb, reset_peak, resident_mb};

fn config(base: &str, concurrency: usize) -> anyhow::Result<GcpConfig> {
    Ok(toml::from_str(&format!(
        "organization = \"{org}\"\ntoken_env = \"TRUSTMAP_BENCH_GOOGLE_TOKEN\"\niam_url = \"{base}\"\nresource_manager_url = \"{base}\"\nasset_url = \"{base}\"\nadmin_url = \"{base}\"\nconcurrency = {concurrency}\n",
        org = gcp::ORG,
    ))?)
}

/// The inventory read, then the observations made from it (without the keys, which the
/// connector makes as it sends them, and with the policies freed once read).
async fn memory_breakdown(c: &GcpConnector) -> anyhow::Result<()> {
    let base_mb = resident_mb();
    reset_peak();
    let g = c
        .client(&std::env::temp_dir())
        .await
        .map_err(anyhow::Error::msg)?;
    let mut inv = g
        .inventory(&trustmap_connector_gcp::live::Scope {
            organization: Some(gcp::ORG.into()),
            ..Default::default()
        })
        .await
        .map_err(anyhow::Error::msg)?;
    let (read_peak, held) = (peak_mb(), resident_mb());
    let policies = inv.policies.len();
    let (obs, _) = trustmap_connector_gcp::observe::observe_taking_policies(&mut inv);
    println!(
        "memory: {base_mb:.0} MB at start; reading the inventory peaks at {read_peak:.0} MB ({held:.0} MB held: {policies} policies, {} accounts, {} keys); with its {} observations but the keys, and without the policies, {:.0} MB",
        inv.service_accounts.len(),
        inv.keys.len(),
        obs.len(),
        resident_mb()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = numeric_args();
    let get = |i: usize, d: u64| a.get(i).copied().unwrap_or(d);
    let sizes = [get(0, 500), get(1, 20_000), get(2, 40_000), get(3, 200_000)];
    let latency_ms = get(4, 20);
    let [projects, accounts, keys, bindings] = sizes.map(|n| n as usize);
    if child::is_child() {
        let server = gcp::start(
            gcp::generated(projects, accounts, keys, bindings),
            Behaviour {
                full_pages: true,
                latency: Duration::from_millis(latency_ms),
                ..Behaviour::default()
            },
        );
        child::serve_until_closed(&server);
        return Ok(());
    }
    let levels: Vec<usize> = if a.len() > 5 {
        a[5..].iter().map(|&c| c as usize).collect()
    } else {
        vec![1, 8, 32]
    };
    let mut server = ChildServer::spawn(
        &a[..a.len().min(5)]
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>(),
    )?;
    println!(
        "organisation: {projects} projects, {accounts} service accounts, {keys} user-managed keys, {bindings} bindings, {latency_ms} ms per request (server process: {} MB)",
        server.server_mb
    );
    std::env::set_var("TRUSTMAP_BENCH_GOOGLE_TOKEN", gcp::TOKEN);
    let base = server.base.clone();
    // Where the memory goes, at the highest concurrency.
    let top = levels.iter().copied().max().unwrap_or(8);
    memory_breakdown(
        &GcpConnector::new("bench".into(), config(&base, top)?).map_err(anyhow::Error::msg)?,
    )
    .await?;
    for concurrency in levels {
        server.clear()?;
        let c = GcpConnector::new("bench".into(), config(&base, concurrency)?)
            .map_err(anyhow::Error::msg)?;
        reset_peak();
        let run = trustmap_testkit::run::run_counted(&c, &std::env::temp_dir()).await;
        run.result.map_err(anyhow::Error::msg)?;
        let requests = server.requests()?;
        let wall = run.wall_seconds;
        let ideal = requests as f64 * latency_ms as f64 / 1000.0 / concurrency as f64;
        println!(
            "concurrency {concurrency:>2}: {requests} requests in {wall:>7.2}s = {:>5.0} req/s; ideal {ideal:>7.2}s ({:.2}x of it); {} observations, {} gaps; connector peak {:.0} MB",
            requests as f64 / wall,
            wall / ideal,
            run.observations,
            run.gaps.len(),
            peak_mb()
        );
        for g in run.gaps.iter().take(3) {
            println!("  gap: {g}");
        }
    }
    Ok(())
}
