//! A rule file (`rules/*.toml`): parsed strictly, and what parses compiles or is refused.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(rules) = trustmap_rules::parse_rule_file(std::path::Path::new("fuzz.toml"), &text) {
        if let Ok(engine) = trustmap_rules::Engine::new(rules) {
            let _ = trustmap_rules::check_examples(&engine);
        }
    }
});
