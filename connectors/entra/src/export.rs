//! Offline: the files Azure's own CLI writes (see DESIGN.md, `export_dir`), read into the same
//! [`Inventory`] as live. A file that is not the expected JSON is an error naming the file,
//! line, column and field; a missing optional file is a coverage gap.
use serde::de::DeserializeOwned;
use std::path::Path;
use trustmap_connector::{ConnectorError, ErrorKind};

use crate::inventory::{Inventory, Page};

pub const SERVICE_PRINCIPALS: &str = "servicePrincipals.json";
pub const APPLICATIONS: &str = "applications.json";
pub const GRANTS: &str = "oauth2PermissionGrants.json";
pub const ASSIGNMENTS: &str = "appRoleAssignments.json";
pub const FEDERATED_DIR: &str = "federatedIdentityCredentials";

fn read<T: DeserializeOwned>(file: &Path) -> Result<Vec<T>, ConnectorError> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        ConnectorError::new(
            ErrorKind::Config,
            format!("{}: cannot read: {e}", file.display()),
        )
    })?;
    // An array (what `az ... list` prints) or a Graph page `{"value": [...]}` (what `az rest`
    // prints); each parsed as itself, so an error names the line and field.
    let parsed = if text.trim_start().starts_with('{') {
        serde_json::from_str::<Page<T>>(&text).map(|p| p.value)
    } else {
        serde_json::from_str::<Vec<T>>(&text)
    };
    parsed.map_err(|e| {
        ConnectorError::new(
            ErrorKind::Data,
            format!(
                "{}:{}:{}: not the JSON the Azure CLI writes: {e}",
                file.display(),
                e.line(),
                e.column()
            ),
        )
    })
}

/// Read an export directory for `tenant_id`.
pub fn load(dir: &Path, tenant_id: &str) -> Result<Inventory, ConnectorError> {
    if !dir.is_dir() {
        return Err(ConnectorError::new(
            ErrorKind::Config,
            format!("export_dir {}: not a directory", dir.display()),
        ));
    }
    let mut inv = Inventory {
        tenant_id: tenant_id.to_string(),
        service_principals: read(&dir.join(SERVICE_PRINCIPALS))?,
        applications: read(&dir.join(APPLICATIONS))?,
        grants: read(&dir.join(GRANTS))?,
        assignments: read(&dir.join(ASSIGNMENTS))?,
        ..Inventory::default()
    };
    let fed_dir = dir.join(FEDERATED_DIR);
    let mut missing = Vec::new();
    for app in &inv.applications {
        let file = fed_dir.join(format!("{}.json", app.id));
        if file.is_file() {
            inv.federated.insert(app.id.clone(), read(&file)?);
        } else {
            missing.push(
                app.display_name
                    .clone()
                    .unwrap_or_else(|| app.app_id.clone()),
            );
        }
    }
    if !missing.is_empty() {
        inv.gaps.push(format!(
            "{}: federated identity credentials not exported for {} application(s) (e.g. {}); export each with `az ad app federated-credential list --id <appId> -o json`",
            fed_dir.display(),
            missing.len(),
            missing[0]
        ));
    }
    let no_owners = inv
        .service_principals
        .iter()
        .filter(|s| s.owners.is_none())
        .count()
        + inv
            .applications
            .iter()
            .filter(|a| a.owners.is_none())
            .count();
    if no_owners > 0 {
        inv.gaps.push(format!(
            "{}: owners not in the export for {no_owners} object(s); `az rest` with `$expand=owners` includes them",
            dir.display()
        ));
    }
    Ok(inv)
}

fn put<T: serde::Serialize + ?Sized>(file: &Path, value: &T) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    std::fs::write(file, text)
}

/// Write an inventory as an export directory (what `trustmap entra export` and the tests
/// produce): the same files, owners included.
pub fn write(dir: &Path, inv: &Inventory) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join(FEDERATED_DIR))?;
    put(&dir.join(SERVICE_PRINCIPALS), &inv.service_principals)?;
    put(&dir.join(APPLICATIONS), &inv.applications)?;
    put(
        &dir.join(GRANTS),
        &serde_json::json!({ "value": inv.grants }),
    )?;
    put(&dir.join(ASSIGNMENTS), &inv.assignments)?;
    for (app, fics) in &inv.federated {
        put(&dir.join(FEDERATED_DIR).join(format!("{app}.json")), fics)?;
    }
    Ok(())
}
