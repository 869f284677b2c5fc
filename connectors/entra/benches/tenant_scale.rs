//! The entra connector against the local Graph with a fixed latency per request (default
//! 20 ms): a tenant of 20,000 service principals (a quarter of them other tenants' apps), 5,000
//! applications, 25,000 delegated grants and 25,000 app role assignments. For each concurrency,
//! prints requests made, wall time, requests/s, the ideal wall time (requests × latency ÷
//! concurrency), observations and the connector's peak memory. The server runs in a child
//! process (this binary with `serve`), so its copy of the tenant is not counted.
//!
//! Usage: cargo bench -p trustmap-connector-entra --bench tenant_scale -- [SPS] [APPS] [GRANTS] [LATENCY_MS] [CONCURRENCY...]
use std::time::Duration;
use trustmap_connector_entra::{EntraConfig, EntraConnector};
use trustmap_testkit::child::{self, numeric_args, ChildServer};
use trustmap_testkit::entra::{self, Behaviour, Tenant, TOKEN};
use trustmap_testkit::measure::peak_mb;

/// The child: serve the tenant until the parent closes stdin.
fn serve(sps: u64, apps: u64, grants: u64, latency_ms: u64) {
    let server = entra::start(
        Tenant::generated(sps as usize, apps as usize, grants as usize),
        Behaviour {
            page_size: 100,
            latency: Duration::from_millis(latency_ms),
            throttle_once: false,
            refuse_grants: false,
        },
    );
    child::serve_until_closed(&server);
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = numeric_args();
    let get = |i: usize, d: u64| a.get(i).copied().unwrap_or(d);
    let (sps, apps, grants, latency_ms) =
        (get(0, 20_000), get(1, 5_000), get(2, 25_000), get(3, 20));
    let levels: Vec<usize> = if a.len() > 4 {
        a[4..].iter().map(|&c| c as usize).collect()
    } else {
        vec![1, 8, 32]
    };
    if child::is_child() {
        serve(sps, apps, grants, latency_ms);
        return Ok(());
    }
    std::env::set_var("TRUSTMAP_BENCH_GRAPH_TOKEN", TOKEN);
    let mut server = ChildServer::spawn(&[
        sps.to_string(),
        apps.to_string(),
        grants.to_string(),
        latency_ms.to_string(),
    ])?;
    let (base, server_mb) = (server.base.clone(), server.server_mb.clone());
    println!(
        "tenant: {sps} service principals, {apps} applications, {grants} grants + {grants} assignments, {latency_ms} ms per request (server process: {server_mb} MB)"
    );
    for concurrency in levels {
        server.clear()?;
        let cfg: EntraConfig = toml::from_str(&format!(
            "tenant_id = \"{}\"\napi_url = \"{}\"\ntoken_env = \"TRUSTMAP_BENCH_GRAPH_TOKEN\"\nconcurrency = {concurrency}\n",
            entra::TENANT,
            base
        ))?;
        let c = EntraConnector::new("bench".into(), cfg).map_err(anyhow::Error::msg)?;
        let run = trustmap_testkit::run::run_counted(&c, &std::env::temp_dir()).await;
        run.result.map_err(anyhow::Error::msg)?;
        let (wall, gaps) = (run.wall_seconds, run.gaps.len());
        let requests = server.requests()?;
        let ideal = requests as f64 * latency_ms as f64 / 1000.0 / concurrency as f64;
        println!(
            "concurrency {concurrency:>2}: {requests} requests in {wall:>7.2}s = {:>5.0} req/s; ideal {ideal:>7.2}s ({:.2}x of it); {} observations, {gaps} gaps; connector peak {:.0} MB",
            requests as f64 / wall,
            wall / ideal,
            run.observations,
            peak_mb()
        );
    }
    Ok(())
}
