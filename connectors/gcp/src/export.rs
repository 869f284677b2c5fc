//! Offline: the files gcloud and the Admin SDK write (see DESIGN.md), read into the same
//! [`Inventory`] as live. A file that is not the expected JSON is an error naming the file,
//! line, column and field; a missing optional file is a coverage gap.
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use trustmap_connector::{ConnectorError, ErrorKind};

use crate::inventory::{Inventory, Project};

/// The offline files, as sweep.toml names them (resolved against the sweep's directory).
#[derive(Debug, Clone, Default)]
pub struct Files {
    pub iam_policies: Option<PathBuf>,
    pub service_accounts: Option<PathBuf>,
    pub service_account_keys: Option<PathBuf>,
    pub oauth_tokens: Option<PathBuf>,
    pub workload_identity_providers: Option<PathBuf>,
}

impl Files {
    pub fn any(&self) -> bool {
        self.iam_policies.is_some()
            || self.service_accounts.is_some()
            || self.service_account_keys.is_some()
            || self.oauth_tokens.is_some()
            || self.workload_identity_providers.is_some()
    }
}

fn read<T: DeserializeOwned>(file: &Path, field: &str) -> Result<Vec<T>, ConnectorError> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        ConnectorError::new(
            ErrorKind::Config,
            format!("{}: cannot read: {e}", file.display()),
        )
    })?;
    parse_items(&file.display().to_string(), &text, field)
}

/// One array (what `gcloud ... --format=json` prints), or the API's page object with the array
/// under `field` (`{"accounts": [...]}`, `{"items": [...]}`), each element parsed as itself so
/// an error names the line and field. `file` names the text in errors.
pub fn parse_items<T: DeserializeOwned>(
    file: &str,
    text: &str,
    field: &str,
) -> Result<Vec<T>, ConnectorError> {
    let bad = |e: serde_json::Error| {
        ConnectorError::new(
            ErrorKind::Data,
            format!(
                "{file}:{}:{}: not the JSON gcloud writes: {e}",
                e.line(),
                e.column()
            ),
        )
    };
    if text.trim_start().starts_with('{') {
        let mut page: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(text).map_err(bad)?;
        let items = page
            .remove(field)
            .unwrap_or(serde_json::Value::Array(Vec::new()));
        // Re-parsed from text so the error keeps a position inside the array.
        return serde_json::from_str(&items.to_string()).map_err(|e| {
            ConnectorError::new(
                ErrorKind::Data,
                format!("{file}: field `{field}`: not the JSON gcloud writes: {e}"),
            )
        });
    }
    serde_json::from_str::<Vec<T>>(text).map_err(bad)
}

/// Read the offline files for `organization` and `projects`.
pub fn load(
    files: &Files,
    organization: Option<&str>,
    projects: &[String],
    workspace_domain: Option<&str>,
) -> Result<Inventory, ConnectorError> {
    let mut inv = Inventory {
        organization: organization.map(str::to_string),
        workspace_domain: workspace_domain.map(str::to_ascii_lowercase),
        projects: projects
            .iter()
            .map(|p| Project {
                project_id: p.clone(),
                ..Project::default()
            })
            .collect(),
        ..Inventory::default()
    };
    let missing = |inv: &mut Inventory, what: &str, how: &str| {
        inv.gaps
            .push(format!("{what} not read: no file given ({how})"));
    };
    match &files.iam_policies {
        Some(f) => inv.policies = read(f, "results")?,
        None => missing(
            &mut inv,
            "IAM policies",
            "iam_policies_file, from `gcloud asset search-all-iam-policies`",
        ),
    }
    match &files.service_accounts {
        Some(f) => inv.service_accounts = read(f, "accounts")?,
        None => missing(
            &mut inv,
            "service accounts",
            "service_accounts_file, from `gcloud iam service-accounts list`",
        ),
    }
    match &files.service_account_keys {
        Some(f) => inv.keys = read(f, "keys")?,
        None => missing(
            &mut inv,
            "service account keys",
            "service_account_keys_file, from `gcloud iam service-accounts keys list`",
        ),
    }
    if let Some(f) = &files.oauth_tokens {
        inv.tokens = read(f, "items")?;
    }
    if inv.workspace_domain.is_none() {
        inv.workspace_domain = domain_of_users(&inv.tokens);
    }
    match &files.workload_identity_providers {
        Some(f) => {
            inv.providers = read(f, "workloadIdentityPoolProviders")?;
            inv.providers_read = true;
        }
        None => {
            let pools = inv
                .policies
                .iter()
                .flat_map(|p| &p.policy.bindings)
                .flat_map(|b| &b.members)
                .filter(|m| m.contains("/workloadIdentityPools/"))
                .count();
            if pools > 0 {
                inv.gaps.push(format!(
                    "workload identity: {pools} binding member(s) name a pool, but whom its providers trust is unknown without workload_identity_providers_file (`gcloud iam workload-identity-pools providers list`)"
                ));
            }
        }
    }
    estate_projects(&mut inv);
    Ok(inv)
}

/// Users' grants name the users: their (most common) domain is the Workspace's, as live
/// reads it from the directory.
fn domain_of_users(tokens: &[crate::inventory::Token]) -> Option<String> {
    let mut counts: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for t in tokens {
        if let Some((_, d)) = t.user_key.as_deref().and_then(|u| u.rsplit_once('@')) {
            *counts.entry(d.to_ascii_lowercase()).or_default() += 1;
        }
    }
    counts.into_iter().max_by_key(|(_, n)| *n).map(|(d, _)| d)
}

/// Every project the exports name is the estate's: the accounts' own and the policies'.
fn estate_projects(inv: &mut Inventory) {
    for sa in &inv.service_accounts {
        let p = sa.project();
        if !p.is_empty() && !inv.projects.iter().any(|x| x.project_id == p) {
            inv.projects.push(Project {
                project_id: p,
                ..Project::default()
            });
        }
    }
    // A policy of a project's own resource names the project by id and gives its number:
    // that pairs them, so principal URLs (by number) and emails (by id) meet.
    for r in &inv.policies {
        let Some(n) = r
            .project
            .as_deref()
            .and_then(|p| p.strip_prefix("projects/"))
        else {
            continue;
        };
        let id = r
            .resource
            .split("/projects/")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .filter(|id| !id.is_empty() && *id != "_" && !id.bytes().all(|b| b.is_ascii_digit()));
        if let Some(p) = id.and_then(|id| inv.projects.iter_mut().find(|x| x.project_id == id)) {
            if p.number().is_none() {
                p.name = format!("projects/{n}");
            }
        }
    }
    let numbers: Vec<String> = inv
        .policies
        .iter()
        .filter_map(|r| {
            r.project
                .as_deref()?
                .strip_prefix("projects/")
                .map(str::to_string)
        })
        .collect();
    for n in numbers {
        if !inv
            .projects
            .iter()
            .any(|x| x.project_id == n || x.number() == Some(n.as_str()))
        {
            inv.projects.push(Project {
                name: format!("projects/{n}"),
                project_id: n,
                ..Project::default()
            });
        }
    }
}

fn put<T: serde::Serialize + ?Sized>(file: &Path, value: &T) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    std::fs::write(file, text)
}

/// Write an inventory as the offline files, under `dir` with the default names (what
/// `trustmap gcp export` would write, and the tests produce).
pub fn write(dir: &Path, inv: &Inventory) -> std::io::Result<Files> {
    std::fs::create_dir_all(dir)?;
    let files = Files {
        iam_policies: Some(dir.join("iam-policies.json")),
        service_accounts: Some(dir.join("service-accounts.json")),
        service_account_keys: Some(dir.join("sa-keys.json")),
        oauth_tokens: Some(dir.join("workspace-tokens.json")),
        workload_identity_providers: Some(dir.join("wif-providers.json")),
    };
    if let Some(f) = &files.iam_policies {
        put(f, &inv.policies)?;
    }
    if let Some(f) = &files.service_accounts {
        put(f, &inv.service_accounts)?;
    }
    if let Some(f) = &files.service_account_keys {
        put(f, &inv.keys)?;
    }
    if let Some(f) = &files.oauth_tokens {
        put(f, &inv.tokens)?;
    }
    if let Some(f) = &files.workload_identity_providers {
        put(f, &inv.providers)?;
    }
    Ok(files)
}
