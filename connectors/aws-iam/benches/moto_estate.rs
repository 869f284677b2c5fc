//! The aws-iam connector against moto_server: an estate of N users with an access key each and
//! M roles (default 5,000 and 2,000), enumerated sequentially (concurrency 1) and concurrently;
//! prints identities/s, the speedup, peak memory, and how much of the wall time the sweep spent
//! on its own CPU (the rest is waiting on the server).
//!
//! Usage: cargo bench -p trustmap-connector-aws-iam --bench moto_estate -- [USERS] [ROLES] [CONCURRENCY]
use anyhow::Result;
use futures::StreamExt;
use std::time::Instant;
use tokio::sync::mpsc;
use trustmap_connector::{Connector, Emitter};
use trustmap_connector_aws_iam::{AwsIamConfig, AwsIamConnector};
use trustmap_model::Observation;
use trustmap_testkit::measure::{cpu_seconds, peak_mb};
use trustmap_testkit::moto::{use_test_credentials, Moto};

/// The n-th numeric argument (cargo bench adds `--bench` and filters; skip those).
fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .nth(n - 1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

async fn create_estate(endpoint: &str, users: usize, roles: usize) -> Result<()> {
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .load()
        .await;
    let iam = aws_sdk_iam::Client::new(&conf);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x"}}}]}"#;
    let work = (0..users)
        .map(|i| (true, i))
        .chain((0..roles).map(|i| (false, i)));
    let mut calls = futures::stream::iter(work)
        .map(|(user, i)| {
            let iam = iam.clone();
            async move {
                if user {
                    let name = format!("svc-{i}");
                    iam.create_user().user_name(&name).send().await?;
                    iam.create_access_key().user_name(&name).send().await?;
                } else {
                    iam.create_role()
                        .role_name(format!("partner-role-{i}"))
                        .assume_role_policy_document(trust)
                        .send()
                        .await?;
                }
                anyhow::Ok(())
            }
        })
        .buffer_unordered(16);
    while let Some(r) = calls.next().await {
        r?;
    }
    Ok(())
}

async fn sweep(endpoint: &str, concurrency: usize) -> Result<(usize, f64, f64)> {
    let table: toml::Table = toml::from_str(&format!(
        "endpoint_url = \"{endpoint}\"\nconcurrency = {concurrency}\ncredential_report = false\n"
    ))?;
    let config: AwsIamConfig =
        trustmap_connector::parse_config(table).map_err(anyhow::Error::msg)?;
    let c = AwsIamConnector::new("bench".into(), config).map_err(anyhow::Error::msg)?;
    let ctx = trustmap_testkit::run::context(&std::env::temp_dir());
    let (tx, mut rx) = mpsc::channel(4096);
    let emitter = Emitter::new(tx, "bench");
    let gather = tokio::spawn(async move {
        let mut n = 0usize;
        while let Some(o) = rx.recv().await {
            if matches!(o, Observation::Identity(_)) {
                n += 1;
            }
        }
        n
    });
    let cpu = cpu_seconds();
    let started = Instant::now();
    c.run(&ctx, &emitter).await?;
    drop(emitter);
    let identities = gather.await?;
    Ok((
        identities,
        started.elapsed().as_secs_f64(),
        cpu_seconds() - cpu,
    ))
}

#[tokio::main]
async fn main() -> Result<()> {
    let (users, roles, concurrency) = (arg(1, 5000), arg(2, 2000), arg(3, 16));
    use_test_credentials();
    let moto = Moto::start()?;
    let t = Instant::now();
    create_estate(&moto.endpoint, users, roles).await?;
    println!(
        "estate: {users} users with a key each, {roles} roles, created in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    let mut sequential = 0.0;
    for c in [1, concurrency] {
        let (n, wall, cpu) = sweep(&moto.endpoint, c).await?;
        if c == 1 {
            sequential = wall;
        }
        println!(
            "concurrency {c:>2}: {n} identities in {wall:>6.2}s = {:>6.0} identities/s; sweep CPU {cpu:.2}s ({:.0}% of wall; {:.0}% waiting on the server){}",
            n as f64 / wall,
            100.0 * cpu / wall,
            100.0 * (1.0 - cpu / wall).max(0.0),
            if c == 1 { String::new() } else { format!("; speedup {:.1}x", sequential / wall) }
        );
    }
    println!(
        "peak memory {:.0} MB (VmHWM of the bench process, moto excluded)",
        peak_mb()
    );
    Ok(())
}
