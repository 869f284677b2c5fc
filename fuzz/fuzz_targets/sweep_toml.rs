//! sweep.toml (the connectors of a build without cloud SDKs: git, filesystem, exec).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = trustmap_sweep::parse_config(std::path::Path::new("/nonexistent/sweep.toml"), &text);
});
