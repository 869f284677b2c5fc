//! Every environment variable trustmap reads, in one place (clippy's `disallowed-methods`
//! keeps `std::env::var` out of every other module).
//!
//! Two kinds: variables whose *name* the configuration gives (`token_env`, `secret_env`: a
//! credential kept out of config files), and trustmap's own switches, named here.

/// Benchmarks: also time each check alone.
pub const BENCH_PER_CHECK: &str = "TRUSTMAP_BENCH_PER_CHECK";
/// Where cargo keeps its registry (benchmarks locate peer sources there).
pub const CARGO_HOME: &str = "CARGO_HOME";
pub const HOME: &str = "HOME";
/// The per-user configuration directory (the digest key file lives under it).
pub const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";
/// Log filter (`RUST_LOG=trustmap=debug`, `trace`): logs go to stderr, secrets never do.
pub const RUST_LOG: &str = "RUST_LOG";
/// `--verify`: each ecosystem's own endpoint overrides, so a verifier reaches the same server
/// the user's other tools do (and tests reach local ones).
pub const AWS_ENDPOINT_URL_STS: &str = "AWS_ENDPOINT_URL_STS";
pub const AWS_ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";
pub const AWS_REGION: &str = "AWS_REGION";
pub const GITHUB_API_URL: &str = "GITHUB_API_URL";
/// A PostgreSQL state store's password when its URL leaves it out (libpq's convention, so a
/// Kubernetes Secret can supply it).
pub const PGPASSWORD: &str = "PGPASSWORD";
/// The machine's (or pod's) name, recorded with each shard of a sharded sweep.
pub const HOSTNAME: &str = "HOSTNAME";
/// The digest key as 64 hex digits: overrides every key file (shared CI runners, containers).
pub const DIGEST_KEY: &str = "TRUSTMAP_KEY";

/// The value of a variable the configuration names, if it is set and valid UTF-8.
#[allow(clippy::disallowed_methods)] // the one place that reads the environment
pub fn named(var: &str) -> Option<String> {
    std::env::var(var).ok()
}

/// The value as an OS string (paths), if set.
#[allow(clippy::disallowed_methods)] // the one place that reads the environment
pub fn path(var: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(var)
}

/// Whether a switch is set at all.
pub fn is_set(var: &str) -> bool {
    path(var).is_some()
}
