//! A real `moto_server` on a free 127.0.0.1 port, for tests and benchmarks of the AWS
//! connector. Started as `python3 -m moto.server`, so the child is the server itself (not a
//! wrapper script) and dropping the guard, also when a test panics, stops it.
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    child: Child,
    pub endpoint: String,
}

/// Credentials moto accepts (it checks no signatures); set for the SDK's default chain.
pub fn use_test_credentials() {
    for (k, v) in [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_SESSION_TOKEN", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ] {
        std::env::set_var(k, v);
    }
}

impl Moto {
    /// Start moto with AWS managed policies loaded (AdministratorAccess ...), and wait until it
    /// accepts connections.
    pub fn start() -> anyhow::Result<Moto> {
        Self::start_with(&[])
    }

    /// Start moto checking signatures against the access keys it issued, after the first
    /// `unauthenticated` requests (which set the estate up): an unknown key id is refused with
    /// `InvalidClientTokenId`, a wrong secret with `SignatureDoesNotMatch`, as AWS does.
    pub fn start_authenticating(unauthenticated: u32) -> anyhow::Result<Moto> {
        Self::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", &unauthenticated.to_string())])
    }

    fn start_with(env: &[(&str, &str)]) -> anyhow::Result<Moto> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot start moto (pip install 'moto[server]'): {e}"))?;
        let mut moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = moto.child.try_wait()? {
                anyhow::bail!("moto_server exited at start ({status}); is moto[server] installed?");
            }
            if started.elapsed() > Duration::from_secs(60) {
                anyhow::bail!("moto_server did not listen on port {port} within 60 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(moto)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        // The child is the server itself (`python3 -m moto.server`, no wrapper script).
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
