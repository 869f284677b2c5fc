//! What the connector reads from a cluster, in the API's own types (k8s-openapi), and the
//! offline loader of `kubectl get serviceaccounts,secrets,roles,rolebindings,clusterroles,
//! clusterrolebindings -A -o json` (a `List`), which yields the same inventory as live.
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
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

/// The export as kubectl writes it: a `List` whose items stay text until their kind is known.
#[derive(serde::Deserialize)]
struct List<'a> {
    #[serde(borrow)]
    items: Option<Vec<&'a RawValue>>,
    kind: Option<String>,
}

/// Enough of an item to know what it is and to name it in an error.
#[derive(serde::Deserialize, Default)]
struct Head {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    metadata: HeadMeta,
}

#[derive(serde::Deserialize, Default)]
struct HeadMeta {
    name: Option<String>,
    namespace: Option<String>,
}

fn item<T: DeserializeOwned>(
    file: &str,
    index: usize,
    head: &Head,
    raw: &RawValue,
) -> Result<T, ConnectorError> {
    serde_json::from_str(raw.get()).map_err(|e| {
        let name = match (&head.metadata.namespace, &head.metadata.name) {
            (Some(ns), Some(n)) => format!("{ns}/{n}"),
            (None, Some(n)) => n.clone(),
            _ => "(unnamed)".to_string(),
        };
        let kind = &head.kind;
        ConnectorError::new(
            ErrorKind::Data,
            format!("{file}: items[{index}] ({kind} {name}): not a {kind} as the Kubernetes API writes it: {e}"),
        )
    })
}

/// Read the export (a `List`, or a single object of a kind read here).
pub fn load(path: &Path) -> Result<Inventory, ConnectorError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConnectorError::new(ErrorKind::Config, format!("export_file {file}: {e}")))?;
    parse(&file, &text)
}

/// Parse an export's text; `file` names it in errors and gaps.
pub fn parse(file: &str, text: &str) -> Result<Inventory, ConnectorError> {
    let list: List<'_> = serde_json::from_str(text).map_err(|e| {
        let what = if e.is_eof() {
            "truncated"
        } else {
            "not a Kubernetes List"
        };
        ConnectorError::new(
            ErrorKind::Data,
            format!(
                "{file}: line {}, column {}: {what}: {e}",
                e.line(),
                e.column()
            ),
        )
    })?;
    let single;
    let items: Vec<&RawValue> = match (list.items, list.kind) {
        (Some(items), _) => items,
        (None, Some(_)) => {
            single = RawValue::from_string(text.to_string())
                .map_err(|e| ConnectorError::new(ErrorKind::Data, format!("{file}: {e}")))?;
            vec![single.as_ref()]
        }
        (None, None) => {
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
    for (i, raw) in items.into_iter().enumerate() {
        let head: Head = serde_json::from_str(raw.get()).unwrap_or_default();
        match head.kind.as_str() {
            "ServiceAccount" => inv.service_accounts.push(item(file, i, &head, raw)?),
            "Secret" => inv.secrets.push(item(file, i, &head, raw)?),
            "Role" => inv.roles.push(item(file, i, &head, raw)?),
            "ClusterRole" => inv.cluster_roles.push(item(file, i, &head, raw)?),
            "RoleBinding" => inv.role_bindings.push(item(file, i, &head, raw)?),
            "ClusterRoleBinding" => inv.cluster_role_bindings.push(item(file, i, &head, raw)?),
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
