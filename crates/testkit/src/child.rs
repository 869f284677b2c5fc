//! A benchmark's local server in a child process (the benchmark's own binary run with `serve`
//! and its arguments), so that the peak memory the benchmark reports is the client's alone,
//! not the server's copy of the estate.
use crate::http::Server;
use crate::measure::peak_mb;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

/// The benchmark's numeric arguments (cargo bench adds `--bench`; flags are skipped).
pub fn numeric_args() -> Vec<u64> {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .filter_map(|a| a.parse().ok())
        .collect()
}

/// Whether this process was started as the child (`serve` among its arguments).
pub fn is_child() -> bool {
    std::env::args().any(|a| a == "serve")
}

/// The child's side: print the base URL and the child's own peak MB, then answer `count`
/// (requests so far) and `clear` on stdin until the parent closes it.
pub fn serve_until_closed(server: &Server) {
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
pub struct ChildServer {
    process: std::process::Child,
    out: BufReader<std::process::ChildStdout>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The child's peak memory once its estate was built (MB).
    pub server_mb: String,
}

impl ChildServer {
    /// Start this binary as `serve ARGS...` and wait for its base URL.
    pub fn spawn(args: &[String]) -> anyhow::Result<Self> {
        let mut process = Command::new(std::env::current_exe()?)
            .arg("serve")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = process
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("the server has no stdout"))?;
        let mut out = BufReader::new(stdout);
        let mut first = String::new();
        out.read_line(&mut first)?;
        let (base, server_mb) = first
            .trim()
            .split_once(' ')
            .ok_or_else(|| anyhow::anyhow!("the server said {first:?}"))?;
        Ok(ChildServer {
            base: base.to_string(),
            server_mb: server_mb.to_string(),
            process,
            out,
        })
    }

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

    /// Requests the server answered since the last [`Self::clear`].
    pub fn requests(&mut self) -> anyhow::Result<usize> {
        Ok(self.ask("count")?.parse()?)
    }

    pub fn clear(&mut self) -> anyhow::Result<()> {
        self.ask("clear").map(drop)
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        drop(self.process.stdin.take());
        let _ = self.process.wait();
    }
}
