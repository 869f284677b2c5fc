//! An incremental scan of an edited buffer finds what a whole scan finds: the same
//! occurrences at the same bytes, lines and columns. The input is two versions separated by a
//! NUL byte (or one version, edited by a newline put in its middle).
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use trustmap_rules::{scan_edit, scan_whole, Engine, RawMatch};

fn engine() -> Option<&'static Engine> {
    static ENGINE: OnceLock<Option<Engine>> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::builtin().ok()).as_ref()
}

fn placed(found: &[RawMatch]) -> Vec<(usize, usize, usize, u64, u64, String)> {
    let mut v: Vec<_> = found
        .iter()
        .map(|m| (m.rule, m.start, m.end, m.line, m.column, m.secret.clone()))
        .collect();
    v.sort();
    v
}

fuzz_target!(|data: &[u8]| {
    let Some(engine) = engine() else { return };
    let (old, new): (&[u8], Vec<u8>) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], data[i + 1..].to_vec()),
        None => {
            let mid = data.len() / 2;
            (data, [&data[..mid], b"\n", &data[mid..]].concat())
        }
    };
    let before = scan_whole(engine, old);
    let edited = scan_edit(engine, old, &before, &new);
    let whole = scan_whole(engine, &new);
    assert_eq!(placed(&edited.occurrences), placed(&whole.occurrences));
    assert_eq!(edited.marks, whole.marks);
});
