//! A real `gcplocal` (PyPI: a stateful local IAM and Resource Manager) on a free 127.0.0.1
//! port, for the gcp connector's tests. Started as `python3 -m gcplocal start`, so the child is
//! the server itself and dropping the guard, also when a test panics, stops it. Tests populate
//! it through its REST API (service accounts, keys, project IAM policies), as gcloud would.
use serde_json::{json, Value};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct GcpLocal {
    child: Child,
    pub endpoint: String,
}

impl GcpLocal {
    pub fn start() -> anyhow::Result<GcpLocal> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new("python3")
            .args([
                "-m",
                "gcplocal",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot start gcplocal (pip install gcplocal): {e}"))?;
        let mut g = GcpLocal {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = g.child.try_wait()? {
                anyhow::bail!(
                    "gcplocal exited at start ({status}); is it installed (pip install gcplocal)?"
                );
            }
            if started.elapsed() > Duration::from_secs(60) {
                anyhow::bail!("gcplocal did not listen on port {port} within 60 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(g)
    }

    /// One JSON call to the server (plain HTTP/1.1 over a socket: the testkit has no client).
    pub fn call(&self, method: &str, path: &str, body: &Value) -> anyhow::Result<Value> {
        use std::io::{Read, Write};
        let addr = self.endpoint.trim_start_matches("http://");
        let mut s = TcpStream::connect(addr)?;
        let body = body.to_string();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\nauthorization: Bearer test\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )?;
        let mut answer = String::new();
        s.read_to_string(&mut answer)?;
        let (head, payload) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        let status = head.split_whitespace().nth(1).unwrap_or("0");
        anyhow::ensure!(status.starts_with('2'), "{method} {path}: {head} {payload}");
        Ok(serde_json::from_str(payload).unwrap_or(Value::Null))
    }

    /// Create a service account; returns its email.
    pub fn service_account(
        &self,
        project: &str,
        id: &str,
        display: &str,
    ) -> anyhow::Result<String> {
        let v = self.call(
            "POST",
            &format!("/v1/projects/{project}/serviceAccounts"),
            &json!({"accountId": id, "serviceAccount": {"displayName": display}}),
        )?;
        v["email"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow::anyhow!("no email in {v}"))
    }

    /// Create a user-managed key; returns its id.
    pub fn key(&self, project: &str, email: &str) -> anyhow::Result<String> {
        let v = self.call(
            "POST",
            &format!("/v1/projects/{project}/serviceAccounts/{email}/keys"),
            &json!({}),
        )?;
        let name = v["name"].as_str().unwrap_or_default();
        Ok(name.rsplit('/').next().unwrap_or_default().to_string())
    }

    /// Replace a project's IAM policy with `bindings`.
    pub fn set_policy(&self, project: &str, bindings: &Value) -> anyhow::Result<()> {
        self.call(
            "POST",
            &format!("/v1/projects/{project}:setIamPolicy"),
            &json!({"policy": {"version": 3, "bindings": bindings}}),
        )?;
        Ok(())
    }
}

impl Drop for GcpLocal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
