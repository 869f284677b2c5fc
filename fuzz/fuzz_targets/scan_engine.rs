//! The secret engine (every built-in rule, decoders, validators) on arbitrary bytes; what
//! it reports never carries the secret in its redacted form.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use trustmap_rules::Engine;

fn engine() -> Option<&'static Engine> {
    static ENGINE: OnceLock<Option<Engine>> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::builtin().ok()).as_ref()
}

fuzz_target!(|data: &[u8]| {
    let Some(engine) = engine() else { return };
    for m in engine.secret_matches(data, "fuzz.txt") {
        let secret = m.secret.expose();
        if secret.len() >= 8 {
            assert!(!m.secret.redacted().contains(secret), "redaction shows the secret");
        }
    }
});
