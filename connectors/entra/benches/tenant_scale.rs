//! The entra connector against the local Graph with a fixed latency per request (default
//! 20 ms): a tenant of 20,000 service principals (a quarter of them other tenants' apps), 5,000
//! applications, 25,000 delegated grants and 25,000 app role assignments. For each concurrency,
//! prints requests made, wall time, requests/s, the ideal wall time (requests × latency ÷
//! concurrency), observations and peak memory (client and server share the process).
//!
//! Usage: cargo bench -p trustmap-connector-entra --bench tenant_scale -- [SPS] [APPS] [GRANTS] [LATENCY_MS] [CONCURRENCY...]
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use trustmap_connector::{Connector, Emitter};
use trustmap_connector_entra::{EntraConfig, EntraConnector};
use trustmap_testkit::entra::{self, Behaviour, Tenant, TOKEN};
use trustmap_testkit::measure::peak_mb;

/// The numeric arguments (cargo bench adds `--bench`; flags are skipped).
fn args() -> Vec<u64> {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .filter_map(|a| a.parse().ok())
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args();
    let get = |i: usize, d: u64| a.get(i).copied().unwrap_or(d);
    let (sps, apps, grants, latency_ms) =
        (get(0, 20_000), get(1, 5_000), get(2, 25_000), get(3, 20));
    let levels: Vec<usize> = if a.len() > 4 {
        a[4..].iter().map(|&c| c as usize).collect()
    } else {
        vec![1, 8, 32]
    };
    std::env::set_var("TRUSTMAP_BENCH_GRAPH_TOKEN", TOKEN);
    let server = entra::start(
        Tenant::generated(sps as usize, apps as usize, grants as usize),
        Behaviour {
            page_size: 100,
            latency: Duration::from_millis(latency_ms),
            throttle_once: false,
            refuse_grants: false,
        },
    );
    println!(
        "tenant: {sps} service principals, {apps} applications, {grants} grants + {grants} assignments, {latency_ms} ms per request; server up, peak {:.0} MB",
        peak_mb()
    );
    for concurrency in levels {
        server.clear();
        let cfg: EntraConfig = toml::from_str(&format!(
            "tenant_id = \"{}\"\napi_url = \"{}\"\ntoken_env = \"TRUSTMAP_BENCH_GRAPH_TOKEN\"\nconcurrency = {concurrency}\n",
            entra::TENANT,
            server.base
        ))?;
        let c = EntraConnector::new("bench".into(), cfg).map_err(anyhow::Error::msg)?;
        let ctx = trustmap_testkit::run::context(&std::env::temp_dir());
        let (tx, mut rx) = mpsc::channel(4096);
        let emitter = Emitter::new(tx, "bench");
        let count = Arc::new(AtomicUsize::new(0));
        let seen = count.clone();
        let gather = tokio::spawn(async move {
            while rx.recv().await.is_some() {
                seen.fetch_add(1, Ordering::Relaxed);
            }
        });
        let t = Instant::now();
        c.run(&ctx, &emitter).await?;
        let wall = t.elapsed().as_secs_f64();
        let gaps = emitter.gaps().len();
        drop(emitter);
        gather.await?;
        let requests = server.requests().len();
        let ideal = requests as f64 * latency_ms as f64 / 1000.0 / concurrency as f64;
        println!(
            "concurrency {concurrency:>2}: {requests} requests in {wall:>7.2}s = {:>5.0} req/s; ideal {ideal:>7.2}s ({:.2}x of it); {} observations, {gaps} gaps; peak {:.0} MB",
            requests as f64 / wall,
            wall / ideal,
            count.load(Ordering::Relaxed),
            peak_mb()
        );
    }
    Ok(())
}
