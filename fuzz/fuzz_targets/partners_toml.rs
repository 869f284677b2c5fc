//! partners.toml, then everything read from a registry that parsed.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(registry) = trustmap_partners::parse_registry(std::path::Path::new("partners.toml"), &text) {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default();
        let _ = registry.gaps(today);
        for p in &registry.partners {
            let _ = registry.with_subcontractors(&p.id);
            let _ = p.review_due();
        }
    }
});
