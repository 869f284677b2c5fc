//! A GitHub organisation inventory (the connector's snapshot, assembled from API bodies),
//! then the observations made of it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use trustmap_connector_github::{inventory::Inventory, observe};

fuzz_target!(|data: &[u8]| {
    if let Ok(inv) = serde_json::from_slice::<Inventory>(data) {
        let _ = observe::org_observations(&inv, "github");
    }
});
