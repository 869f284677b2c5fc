//! The entra connector against the local Graph with a fixed latency per request (default
//! 20 ms): a tenant of 20,000 service principals (a quarter of them other tenants' apps), 5,000
//! applications, 25,000 delegated grants and 25,000 app role assignments. For each concurrency,
//! prints requests made, wall time, requests/s, the ideal wall time (requests × latency ÷
//! concurrency), observations and the connector's peak memory. The server runs in a child
//! process (this binary with `serve`), so its copy of the tenant is not counted.
//!
//! Usage: cargo bench -p trustmap-connector-entra --bench tenant_scale -- [SPS] [APPS] [GRANTS] [LATENCY_MS] [CONCURRENCY...]
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
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

/// The child: serve the tenant, print the base URL, then answer `count` and `clear` on stdin
/// until it closes.
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
    println!("{} {:.0}", server.base, peak_mb());
    for line in std::io::stdin().lines().map_while(Result::ok) {
        match line.trim() {
            "count" => println!("{}", server.requests().len()),
            "clear" => {
                server.clear();
                println!("ok");
            }
            _ => {}
        }
    }
}

/// The parent's end of the child server.
struct Child {
    process: std::process::Child,
    out: BufReader<std::process::ChildStdout>,
}

impl Child {
    fn ask(&mut self, what: &str) -> anyhow::Result<String> {
        let stdin = self
            .process
            .stdin
            .as_mut()
            .ok_or_else(|| anyhow::anyhow!("no stdin"))?;
        writeln!(stdin, "{what}")?;
        let mut line = String::new();
        self.out.read_line(&mut line)?;
        Ok(line.trim().to_string())
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        drop(self.process.stdin.take());
        let _ = self.process.wait();
    }
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
    if std::env::args().any(|a| a == "serve") {
        serve(sps, apps, grants, latency_ms);
        return Ok(());
    }
    std::env::set_var("TRUSTMAP_BENCH_GRAPH_TOKEN", TOKEN);
    let mut process = Command::new(std::env::current_exe()?)
        .args([
            "serve",
            &sps.to_string(),
            &apps.to_string(),
            &grants.to_string(),
            &latency_ms.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = process
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let mut server = Child {
        process,
        out: BufReader::new(stdout),
    };
    let mut first = String::new();
    server.out.read_line(&mut first)?;
    let (base, server_mb) = first
        .trim()
        .split_once(' ')
        .ok_or_else(|| anyhow::anyhow!("server said {first:?}"))?;
    let base = base.to_string();
    println!(
        "tenant: {sps} service principals, {apps} applications, {grants} grants + {grants} assignments, {latency_ms} ms per request (server process: {server_mb} MB)"
    );
    for concurrency in levels {
        server.ask("clear")?;
        let cfg: EntraConfig = toml::from_str(&format!(
            "tenant_id = \"{}\"\napi_url = \"{}\"\ntoken_env = \"TRUSTMAP_BENCH_GRAPH_TOKEN\"\nconcurrency = {concurrency}\n",
            entra::TENANT,
            base
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
        let requests: usize = server.ask("count")?.parse()?;
        let ideal = requests as f64 * latency_ms as f64 / 1000.0 / concurrency as f64;
        println!(
            "concurrency {concurrency:>2}: {requests} requests in {wall:>7.2}s = {:>5.0} req/s; ideal {ideal:>7.2}s ({:.2}x of it); {} observations, {gaps} gaps; connector peak {:.0} MB",
            requests as f64 / wall,
            wall / ideal,
            count.load(Ordering::Relaxed),
            peak_mb()
        );
    }
    Ok(())
}
