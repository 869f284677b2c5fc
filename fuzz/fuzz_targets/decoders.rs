//! The decoders the scan engine applies before matching: base64 runs, string escapes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use trustmap_rules::decode;

fuzz_target!(|data: &[u8]| {
    for (start, end) in decode::base64_runs(data) {
        if let Some(run) = data.get(start..end) {
            let _ = decode::decode_base64_text(run);
        }
    }
    if decode::has_escapes(data) {
        let _ = decode::unescape(data);
    }
});
