//! Debian's Chromium, headless, for the report's browser test and benchmark. The flags are the
//! ones this sandbox needs: no sandbox as root, no GPU, and no background networking (the
//! machine's network is closed; without them Chromium keeps trying).
use std::path::Path;
use std::process::Command;

/// The first Chromium on PATH.
pub fn find() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

/// A headless Chromium command with a fresh profile in `profile`; add the action
/// (`--dump-dom URL`, `--screenshot=FILE URL`).
pub fn headless(browser: &str, profile: &Path) -> Command {
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

/// The DOM of `url` after its scripts ran, in a headless Chromium with a fresh profile in
/// `profile`; panics with Chromium's stderr when it fails (test support).
pub fn dump_dom(browser: &str, url: &str, profile: &Path) -> String {
    let out = headless(browser, profile)
        .args(["--dump-dom", url])
        .output()
        .expect("Chromium runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
