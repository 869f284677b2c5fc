//! What the connector reads from a cluster, in the API's own types (k8s-openapi), and the
//! offline loader of `kubectl get serviceaccounts,secrets,roles,rolebindings,clusterroles,
//! clusterrolebindings -A -o json` (a `List`), which yields the same inventory as live.
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::path::Path;
use trustmap_connector::{ConnectorError, ErrorKind};

#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub service_accounts: Vec<ServiceAccount>,
    pub secrets: Vec<Secret>,
    pub roles: Vec<Role>,
    pub cluster_roles: Vec<ClusterRole>,
    pub role_bindings: Vec<RoleBinding>,
    pub cluster_role_bindings: Vec<ClusterRoleBinding>,
    /// Kinds that could not be read (a refusal, an unknown kind): what the sweep cannot see.
    pub gaps: Vec<String>,
    /// Whether every service account was read (else a bound account that is not listed may
    /// exist all the same).
    pub accounts_complete: bool,
}

/// `namespace/name` of an object, or its bare name when cluster-scoped.
pub fn display_name(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    match (&meta.namespace, &meta.name) {
        (Some(ns), Some(n)) => format!("{ns}/{n}"),
        (None, Some(n)) => n.clone(),
        _ => "(unnamed)".into(),
    }
}

fn item<T: DeserializeOwned>(file: &str, index: usize, v: Value) -> Result<T, ConnectorError> {
    let kind = v["kind"].as_str().unwrap_or("?").to_string();
    let name = match (
        v["metadata"]["namespace"].as_str(),
        v["metadata"]["name"].as_str(),
    ) {
        (Some(ns), Some(n)) => format!("{ns}/{n}"),
        (None, Some(n)) => n.to_string(),
        _ => "(unnamed)".to_string(),
    };
    serde_json::from_value(v).map_err(|e| {
        ConnectorError::new(
            ErrorKind::Data,
            format!("{file}: items[{index}] ({kind} {name}): not a {kind} as the Kubernetes API writes it: {e}"),
        )
    })
}

/// Read the export (a `List`, or a single object of a kind read here).
pub fn load(path: &Path) -> Result<Inventory, ConnectorError> {
    let file = path.display().to_string();
    let text = std::fs::read(path)
        .map_err(|e| ConnectorError::new(ErrorKind::Config, format!("export_file {file}: {e}")))?;
    let doc: Value = serde_json::from_slice(&text).map_err(|e| {
        let what = if e.is_eof() { "truncated" } else { "not JSON" };
        ConnectorError::new(
            ErrorKind::Data,
            format!(
                "{file}: line {}, column {}: {what}: {e}",
                e.line(),
                e.column()
            ),
        )
    })?;
    let items = match doc.get("items") {
        Some(Value::Array(items)) => items.clone(),
        Some(_) => {
            return Err(ConnectorError::new(
                ErrorKind::Data,
                format!("{file}: field `items`: not an array (expected `kubectl get ... -o json`)"),
            ))
        }
        None if doc.get("kind").is_some() => vec![doc],
        None => {
            return Err(ConnectorError::new(
                ErrorKind::Data,
                format!("{file}: no `items` and no `kind`: not what `kubectl get -o json` writes"),
            ))
        }
    };
    let mut inv = Inventory {
        accounts_complete: true,
        ..Inventory::default()
    };
    let mut unknown: std::collections::BTreeMap<String, usize> = Default::default();
    for (i, v) in items.into_iter().enumerate() {
        match v["kind"].as_str().unwrap_or_default() {
            "ServiceAccount" => inv.service_accounts.push(item(&file, i, v)?),
            "Secret" => inv.secrets.push(item(&file, i, v)?),
            "Role" => inv.roles.push(item(&file, i, v)?),
            "ClusterRole" => inv.cluster_roles.push(item(&file, i, v)?),
            "RoleBinding" => inv.role_bindings.push(item(&file, i, v)?),
            "ClusterRoleBinding" => inv.cluster_role_bindings.push(item(&file, i, v)?),
            other => {
                *unknown
                    .entry(if other.is_empty() {
                        "(no kind)".into()
                    } else {
                        other.to_string()
                    })
                    .or_default() += 1;
            }
        }
    }
    for (kind, n) in unknown {
        inv.gaps.push(format!(
            "{file}: {n} item(s) of kind {kind} skipped: not one of ServiceAccount, Secret, Role, ClusterRole, RoleBinding, ClusterRoleBinding"
        ));
    }
    Ok(inv)
}
