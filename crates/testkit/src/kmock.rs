//! A real `kmock` (PyPI: a stateful Kubernetes API emulator) on a free 127.0.0.1 port, for the
//! kubernetes connector's tests. A short Python program declares the six kinds the connector
//! reads and serves until its stdin closes, so dropping the guard (also when a test panics)
//! stops it. Tests create the cluster's objects through its API, as kubectl would.
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const SERVER: &str = r#"
import asyncio, sys
import kmock

RESOURCES = {
    'v1/serviceaccounts': ('ServiceAccount', True),
    'v1/secrets': ('Secret', True),
    'rbac.authorization.k8s.io/v1/roles': ('Role', True),
    'rbac.authorization.k8s.io/v1/rolebindings': ('RoleBinding', True),
    'rbac.authorization.k8s.io/v1/clusterroles': ('ClusterRole', False),
    'rbac.authorization.k8s.io/v1/clusterrolebindings': ('ClusterRoleBinding', False),
}

async def main():
    async with kmock.KubernetesEmulator() as k, kmock.Server(k) as srv:
        for key, (kind, namespaced) in RESOURCES.items():
            k.resources[key] = {'kind': kind, 'namespaced': namespaced, 'verbs': ['list', 'get', 'create']}
        print(srv.url, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

asyncio.run(main())
"#;

pub struct Kmock {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Drop for Kmock {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Kmock {
    pub fn start() -> anyhow::Result<Kmock> {
        let mut child = Command::new("python3")
            .args(["-c", SERVER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot start python3 for kmock: {e}"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("kmock has no stdout"))?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let url = line.trim().trim_end_matches('/').to_string();
        anyhow::ensure!(
            url.starts_with("http://"),
            "kmock did not start (pip install kmock; .ci/run installs it): {line:?}"
        );
        Ok(Kmock { child, url })
    }
}
