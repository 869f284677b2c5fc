//! The gcloud and Admin SDK files of the Google Cloud connector (IAM policies, service
//! accounts, keys, workload identity providers, Workspace tokens), then the observations made
//! of them. The first byte picks the file.
#![no_main]
use libfuzzer_sys::fuzz_target;
use trustmap_connector_gcp::export::parse_items;
use trustmap_connector_gcp::inventory::{Inventory, Project};
use trustmap_connector_gcp::observe;

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(body) else {
        return;
    };
    let mut inv = Inventory {
        organization: Some("123456789012".into()),
        projects: vec![Project {
            project_id: "corp-prod".into(),
            ..Project::default()
        }],
        workspace_domain: Some("corp.example".into()),
        providers_read: true,
        ..Inventory::default()
    };
    let parsed = match which % 5 {
        0 => parse_items(".", text, "results").map(|v| inv.policies = v),
        1 => parse_items(".", text, "accounts").map(|v| inv.service_accounts = v),
        2 => parse_items(".", text, "keys").map(|v| inv.keys = v),
        3 => parse_items(".", text, "workloadIdentityPoolProviders").map(|v| inv.providers = v),
        _ => parse_items(".", text, "items").map(|v| inv.tokens = v),
    };
    if parsed.is_ok() {
        let _ = observe::observe(&inv);
    }
});
