//! The Kubernetes connector's offline export (`kubectl get ... -A -o json`), then the
//! observations made of it (RBAC flattened, Secret data scanned, annotations joined).
#![no_main]
use libfuzzer_sys::fuzz_target;
use trustmap_connector_kubernetes::{inventory, observe};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(inv) = inventory::parse("cluster.json", text) {
        let opts = observe::Options {
            cluster: "prod".into(),
            azure_tenant: None,
        };
        let _ = observe::observe(&inv, &opts);
    }
});
