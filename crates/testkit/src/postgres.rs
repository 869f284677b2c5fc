//! A real PostgreSQL server (Debian's `postgresql`) on a free 127.0.0.1 port, in a throwaway
//! data directory: `initdb`, then `postgres` itself as the child, stopped (fast shutdown) and
//! deleted when the guard drops, also when a test panics. Each test takes a database of its
//! own with [`Postgres::database`].
//!
//! PostgreSQL refuses to run as root; as root, the server runs as the `postgres` user that
//! Debian's package creates.
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Postgres {
    child: Child,
    _dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
}

impl Postgres {
    pub fn start() -> anyhow::Result<Postgres> {
        let bin = bin_dir()?;
        let dir = tempfile::Builder::new().prefix("tm-pg").tempdir()?;
        let data = dir.path().join("data");
        let user = server_user()?;
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))?;
        }
        let out = as_user(Command::new(bin.join("initdb")), user)
            .args([
                "--auth=trust",
                "--no-sync",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "-D",
            ])
            .arg(&data)
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        // Durability is not under test here: no fsync keeps the tests quick on slow disks.
        let child = as_user(Command::new(bin.join("postgres")), user)
            .arg("-D")
            .arg(&data)
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-k"])
            .arg(dir.path())
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off", "-c", "max_connections=200"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let mut pg = Postgres {
            child,
            _dir: dir,
            bin,
            port,
        };
        pg.wait_ready()?;
        Ok(pg)
    }

    fn wait_ready(&mut self) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .status()?;
            if ready.success() {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!("postgres exited at start ({status})");
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(60),
                "postgres was not ready on port {} within 60 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A new, empty database named `name`, and its URL.
    pub fn database(&self, name: &str) -> anyhow::Result<String> {
        let out = Command::new(self.bin.join("createdb"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                name,
            ])
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "createdb {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(self.url(name))
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// `psql -c sql` against `database`, its output (tab-separated, no headers).
    pub fn psql(&self, database: &str, sql: &str) -> anyhow::Result<String> {
        let out = Command::new(self.bin.join("psql"))
            .args(["-X", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1"])
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .args(["-d", database, "-c", sql])
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // SIGINT is PostgreSQL's fast shutdown: backends end, the server exits.
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn as_user(mut cmd: Command, user: Option<(u32, u32)>) -> Command {
    if let Some((uid, gid)) = user {
        use std::os::unix::process::CommandExt;
        cmd.uid(uid).gid(gid);
    }
    cmd
}

/// `None` when this process may run the server itself; as root, the `postgres` user's ids.
fn server_user() -> anyhow::Result<Option<(u32, u32)>> {
    let id = |flag: &str, name: Option<&str>| -> anyhow::Result<Option<u32>> {
        let out = Command::new("id").arg(flag).args(name).output()?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().parse().ok())
    };
    if id("-u", None)? != Some(0) {
        return Ok(None);
    }
    match (id("-u", Some("postgres"))?, id("-g", Some("postgres"))?) {
        (Some(uid), Some(gid)) => Ok(Some((uid, gid))),
        _ => anyhow::bail!(
            "PostgreSQL refuses to run as root and there is no `postgres` user: install Debian's postgresql (apt-get install postgresql)"
        ),
    }
}

/// The directory holding `initdb` and `postgres`: on PATH, else Debian's
/// `/usr/lib/postgresql/<version>/bin` (newest version).
fn bin_dir() -> anyhow::Result<PathBuf> {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return Ok(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    let on_path = Path::new("/usr/local/bin/initdb");
    if on_path.exists() {
        return Ok(PathBuf::from("/usr/local/bin"));
    }
    anyhow::bail!("no PostgreSQL server found (initdb): install Debian's postgresql (apt-get install postgresql)")
}
