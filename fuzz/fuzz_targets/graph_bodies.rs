//! Microsoft Graph collection pages (service principals, applications, grants, app role
//! assignments), then the observations made of them.
#![no_main]
use libfuzzer_sys::fuzz_target;
use trustmap_connector_entra::inventory::{
    AppRoleAssignment, Application, Inventory, Page, PermissionGrant, ServicePrincipal,
};
use trustmap_connector_entra::observe;

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    let mut inv = Inventory {
        tenant_id: "11111111-2222-3333-4444-555555555555".into(),
        ..Inventory::default()
    };
    match which % 4 {
        0 => match serde_json::from_slice::<Page<ServicePrincipal>>(body) {
            Ok(p) => inv.service_principals = p.value,
            Err(_) => return,
        },
        1 => match serde_json::from_slice::<Page<Application>>(body) {
            Ok(p) => inv.applications = p.value,
            Err(_) => return,
        },
        2 => match serde_json::from_slice::<Page<PermissionGrant>>(body) {
            Ok(p) => inv.grants = p.value,
            Err(_) => return,
        },
        _ => match serde_json::from_slice::<Page<AppRoleAssignment>>(body) {
            Ok(p) => inv.assignments = p.value,
            Err(_) => return,
        },
    }
    let _ = observe::observations(&inv);
});
