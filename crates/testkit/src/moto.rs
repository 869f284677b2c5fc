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

    /// Start moto for `account` with one IAM user holding one access key, then checking
    /// every signature against the keys it issued, as AWS does: an unknown key id is refused
    /// with `InvalidClientTokenId`, a wrong secret with `SignatureDoesNotMatch`.
    ///
    /// Moto lets a fixed number of requests through unauthenticated to set the estate up, and
    /// its key ids may hold digits AWS never uses (0, 1, 8, 9): users are made until a key id
    /// is in AWS's alphabet, then the rest of the allowance is spent, so that from the first
    /// request of the test on, signatures count.
    pub fn start_authenticating(account: &str) -> anyhow::Result<(Moto, IssuedKey)> {
        const ALLOWANCE: usize = 40;
        let moto = Self::start_with(&[
            ("INITIAL_NO_AUTH_ACTION_COUNT", &ALLOWANCE.to_string()),
            ("MOTO_ACCOUNT_ID", account),
        ])?;
        let out = Command::new("python3")
            .args(["-c", ISSUE_KEY, &moto.endpoint, &ALLOWANCE.to_string()])
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "issuing a key in moto: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let key: IssuedKey = serde_json::from_slice(&out.stdout)?;
        Ok((moto, key))
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

/// An access key moto issued, and its user.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct IssuedKey {
    pub id: String,
    pub secret: String,
    pub user: String,
}

/// boto3 (a dependency of moto): users and keys until a key id is base32, then spend the
/// allowance with reads. One request per call, so the count is exact.
const ISSUE_KEY: &str = r#"
import boto3, json, re, sys
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="testing", aws_secret_access_key="testing")
allowance, used, key = int(sys.argv[2]), 0, None
while key is None:
    if used + 2 > allowance:
        sys.exit("no key id in AWS's alphabet within the allowance")
    name = "acme-deployer" if used == 0 else f"acme-deployer-{used}"
    iam.create_user(UserName=name)
    k = iam.create_access_key(UserName=name)["AccessKey"]
    used += 2
    if re.fullmatch(r"AKIA[A-Z2-7]{16}", k["AccessKeyId"]):
        key = k
while used < allowance:
    iam.list_users()
    used += 1
print(json.dumps({"id": key["AccessKeyId"], "secret": key["SecretAccessKey"], "user": key["UserName"]}))
"#;

impl Drop for Moto {
    fn drop(&mut self) {
        // The child is the server itself (`python3 -m moto.server`, no wrapper script).
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
