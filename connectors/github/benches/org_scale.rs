//! The github connector against the local GitHub server with a fixed latency per request
//! (default 5 ms): an org of 2,000 repositories (each with a deploy key and a webhook) and 500
//! app installations. For each concurrency, prints requests made, wall time, requests/s, the
//! ideal wall time (requests × latency ÷ concurrency) and peak memory.
//!
//! Usage: cargo bench -p trustmap-connector-github --bench org_scale -- [REPOS] [INSTALLATIONS] [LATENCY_MS]
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use trustmap_connector::{Connector, Emitter};
use trustmap_connector_github::{GithubConfig, GithubConnector};
use trustmap_testkit::github::{self, Estate, TOKEN};
use trustmap_testkit::measure::peak_mb;

/// The n-th numeric argument (cargo bench adds `--bench`; skip flags).
fn arg(n: usize, default: u64) -> u64 {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .nth(n - 1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (repos, installations, latency_ms) = (arg(1, 2000), arg(2, 500), arg(3, 5));
    std::env::set_var("TRUSTMAP_BENCH_GH_TOKEN", TOKEN);
    let server = github::start(Estate::generated(
        repos as usize,
        installations as usize,
        Duration::from_millis(latency_ms),
    ));
    println!(
        "org: {repos} repositories, {installations} installations, {latency_ms} ms per request"
    );
    for concurrency in [1usize, 8, 32] {
        let before = server.requests().len();
        let table: toml::Table = toml::from_str(&format!(
            "org = \"bigcorp\"\napi_url = \"{}\"\ntoken_env = \"TRUSTMAP_BENCH_GH_TOKEN\"\nconcurrency = {concurrency}\n",
            server.base
        ))?;
        let config: GithubConfig =
            trustmap_connector::parse_config(table).map_err(anyhow::Error::msg)?;
        let c = GithubConnector::new("bench".into(), config).map_err(anyhow::Error::msg)?;
        let ctx = trustmap_testkit::run::context(&std::env::temp_dir());
        let (tx, mut rx) = mpsc::channel(4096);
        let emitter = Emitter::new(tx, "bench");
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = count.clone();
        let gather = tokio::spawn(async move {
            while rx.recv().await.is_some() {
                seen.fetch_add(1, Ordering::Relaxed);
            }
        });
        let t = Instant::now();
        c.run(&ctx, &emitter).await?;
        let wall = t.elapsed().as_secs_f64();
        drop(emitter);
        gather.await?;
        let requests = server.requests().len() - before;
        let ideal = requests as f64 * latency_ms as f64 / 1000.0 / concurrency as f64;
        println!(
            "concurrency {concurrency:>2}: {requests} requests in {wall:>6.2}s = {:>5.0} req/s; ideal {ideal:>6.2}s ({:.0}% of it); {} observations; peak {:.0} MB",
            requests as f64 / wall,
            100.0 * ideal / wall,
            count.load(Ordering::Relaxed),
            peak_mb()
        );
    }
    Ok(())
}
