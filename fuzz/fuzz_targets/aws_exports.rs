//! `aws iam get-account-authorization-details` JSON and the credential report CSV, then the
//! observations made of them.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use trustmap_connector_aws_iam::details;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Some(rest) = text.strip_prefix("report:") {
        let _ = details::parse_report(Path::new("report.csv"), rest);
    } else {
        let _ = details::parse_details(Path::new("gaad.json"), &text);
    }
});
