//! Inventory → observations. App installations, deploy keys, webhooks, outside collaborators
//! and machine users are identities; SSO-authorised credentials and fine-grained tokens are
//! credentials held by their user. Permissions become approved-scope vocabulary
//! (`github:contents:read`); app owners, users, webhook hosts and email domains are the
//! identifiers that attribute them to partners.
use std::collections::BTreeMap;
use trustmap_model::{CredentialObs, Identifier, IdentityObs, Observation, Provenance, Revocation};

use crate::inventory::{Collaborator, Hook, Inventory, RepoPermissions, Repository};

fn provenance(source: &str) -> Provenance {
    Provenance {
        connector: String::new(),
        source: source.to_string(),
    }
}

/// `https://hooks.acme.example:8443/x` → `hooks.acme.example`.
pub fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next()?;
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = host.split(':').next()?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

fn identity(id: String, kind: &str, name: String, org: &str, source: &str) -> IdentityObs {
    IdentityObs {
        id,
        kind: kind.to_string(),
        name,
        provider: "github".into(),
        account: Some(org.to_string()),
        created: None,
        last_used: None,
        active: true,
        scopes: Vec::new(),
        tags: BTreeMap::new(),
        identifiers: Vec::new(),
        revoke: None,
        provenance: provenance(source),
    }
}

/// `gh api -X METHOD PATH [ARGS...]`.
fn gh(method: &str, path: &str, args: &[&str]) -> Revocation {
    let mut argv = vec!["gh", "api", "-X", method, path];
    argv.extend_from_slice(args);
    Revocation::commands(&[&argv])
}

/// Levels as GitHub names them (`read`, `write`, `admin`) under the permission's name.
fn scopes_of(perms: &BTreeMap<String, String>) -> Vec<String> {
    perms
        .iter()
        .map(|(p, level)| format!("github:{p}:{level}"))
        .collect()
}

/// A collaborator's repository role in the scope vocabulary.
fn collaborator_scopes(p: &RepoPermissions) -> Vec<String> {
    let mut s = Vec::new();
    if p.admin {
        s.push("github:administration:admin".to_string());
    }
    if p.admin || p.maintain || p.push {
        s.push("github:contents:write".to_string());
    } else if p.pull || p.triage {
        s.push("github:contents:read".to_string());
    }
    s
}

fn user_id(login: &str) -> String {
    format!("github:user/{login}")
}

/// How a user's door closes: a machine user leaves the organisation, an outside collaborator
/// every repository; a member's credentials are revoked one by one (their own steps).
fn user_revocation(org: &str, login: &str, kind: &str) -> Option<Revocation> {
    match kind {
        "github_machine_user" => Some(gh("DELETE", &format!("/orgs/{org}/members/{login}"), &[])),
        "github_outside_collaborator" => Some(gh(
            "DELETE",
            &format!("/orgs/{org}/outside_collaborators/{login}"),
            &[],
        )),
        _ => None,
    }
}

/// People and machine users seen under several roles become one identity.
#[derive(Default)]
struct Users(BTreeMap<String, IdentityObs>);

impl Users {
    fn get(&mut self, login: &str, kind: &str, org: &str, source: &str) -> &mut IdentityObs {
        let u = self.0.entry(login.to_string()).or_insert_with(|| {
            let mut i = identity(user_id(login), kind, login.to_string(), org, source);
            i.identifiers
                .push(Identifier::GithubUser(login.to_string()));
            i
        });
        // The most specific kind wins: an outside collaborator or machine user over a plain user.
        if u.kind == "github_user" {
            u.kind = kind.to_string();
        }
        if u.revoke.is_none() {
            u.revoke = user_revocation(org, login, &u.kind);
        }
        u
    }
}

fn hook_identity(org: &str, scope: &str, h: &Hook, source: &str) -> IdentityObs {
    let url = h.config.url.clone().unwrap_or_default();
    let host = host_of(&url).unwrap_or_else(|| "unknown host".into());
    let mut i = identity(
        format!("github:{scope}:hook/{}", h.id),
        "github_webhook",
        format!("{scope} webhook → {host}"),
        org,
        source,
    );
    i.created = h.created_at.clone();
    i.active = h.active;
    i.identifiers.push(Identifier::Domain(host.to_string()));
    i.tags.insert("url_host".into(), host);
    let path = if scope == org {
        format!("/orgs/{org}/hooks/{}", h.id)
    } else {
        format!("/repos/{scope}/hooks/{}", h.id)
    };
    i.revoke = Some(gh("DELETE", &path, &[]));
    i.tags.insert("usage".into(), "untracked".into());
    i.tags.insert("events".into(), h.events.join(","));
    i
}

/// An app installed on the organisation: its permissions, and who owns the app when that is
/// another organisation (its partner evidence).
fn installation(org: &str, inst: &crate::inventory::Installation, source: &str) -> IdentityObs {
    let app = inst.app.clone().unwrap_or_default();
    let name = if app.name.is_empty() {
        inst.app_slug.clone()
    } else {
        app.name.clone()
    };
    let mut i = identity(
        format!("github:{org}:app/{}", inst.app_slug),
        "github_app_installation",
        name,
        org,
        source,
    );
    i.created = inst.created_at.clone();
    i.active = inst.suspended_at.is_none();
    // Only the app itself may delete an installation through the API: the owner uses the page.
    i.revoke = Some(Revocation::page(format!(
        "https://github.com/organizations/{org}/settings/installations/{}",
        inst.id
    )));
    i.scopes = scopes_of(&inst.permissions);
    i.identifiers
        .push(Identifier::GithubApp(inst.app_slug.clone()));
    if let Some(owner) = app
        .owner
        .as_ref()
        .filter(|o| !o.login.eq_ignore_ascii_case(org))
    {
        i.identifiers
            .push(Identifier::GithubOrg(owner.login.clone()));
        i.tags.insert("app_owner".into(), owner.login.clone());
    }
    if let Some(host) = app.external_url.as_deref().and_then(host_of) {
        i.identifiers.push(Identifier::Domain(host.to_string()));
        i.tags.insert("app_url_host".into(), host);
    }
    i.tags.insert(
        "repository_selection".into(),
        inst.repository_selection.clone(),
    );
    // GitHub records no last use of an installation: dormancy cannot be judged.
    i.tags.insert("usage".into(), "untracked".into());
    i
}

/// A credential a member authorised for SAML SSO; revoking the authorization closes it.
fn credential_authorization(
    org: &str,
    c: &crate::inventory::CredentialAuthorization,
    holder: String,
    source: &str,
) -> CredentialObs {
    let kind = match c.credential_type.to_ascii_lowercase().as_str() {
        "personal access token" => "github_pat_classic",
        "ssh key" => "github_ssh_key",
        "oauth app token" => "github_oauth_token",
        "github app token" => "github_app_user_token",
        _ => "github_credential",
    };
    CredentialObs {
        id: format!("github:{org}:credential-authorization/{}", c.credential_id),
        kind: kind.into(),
        holder,
        name: c
            .authorized_credential_title
            .clone()
            .or_else(|| c.authorized_credential_note.clone()),
        created: c.credential_authorized_at.clone(),
        last_used: c.credential_accessed_at.clone(),
        last_rotated: None,
        expires: c.authorized_credential_expires_at.clone(),
        active: true,
        identifiers: c
            .token_last_eight
            .iter()
            .map(|l| Identifier::Last8(l.clone()))
            .collect(),
        scopes: c.scopes.iter().map(|s| format!("github:{s}")).collect(),
        revoke: Some(gh(
            "DELETE",
            &format!("/orgs/{org}/credential-authorizations/{}", c.credential_id),
            &[],
        )),
        provenance: provenance(source),
    }
}

/// Observations of the organisation-level parts (everything but repositories).
pub fn org_observations(inv: &Inventory, source: &str) -> Vec<Observation> {
    let org = inv.org.as_str();
    let mut out = Vec::new();
    let mut users = Users::default();
    for m in &inv.machine_users {
        users
            .get(&m.login, "github_machine_user", org, source)
            .tags
            .insert("machine_user".into(), "true".into());
    }
    for inst in &inv.installations {
        out.push(Observation::Identity(installation(org, inst, source)));
    }
    for c in &inv.credential_authorizations {
        let holder = users.get(&c.login, "github_user", org, source).id.clone();
        out.push(Observation::Credential(credential_authorization(
            org, c, holder, source,
        )));
    }
    for t in &inv.personal_access_tokens {
        let holder = users
            .get(&t.owner.login, "github_user", org, source)
            .id
            .clone();
        let mut scopes = scopes_of(&t.permissions.repository);
        scopes.extend(scopes_of(&t.permissions.organization));
        let token = if t.token_id != 0 { t.token_id } else { t.id };
        out.push(Observation::Credential(CredentialObs {
            id: format!("github:{org}:fine-grained-pat/{token}"),
            kind: "github_fine_grained_pat".into(),
            holder,
            name: t.token_name.clone(),
            created: t.access_granted_at.clone(),
            last_used: t.token_last_used_at.clone(),
            last_rotated: None,
            expires: t.token_expires_at.clone(),
            active: !t.token_expired,
            identifiers: vec![],
            scopes,
            revoke: Some(gh(
                "POST",
                &format!("/orgs/{org}/personal-access-tokens/{}", t.id),
                &["-f", "action=revoke"],
            )),
            provenance: provenance(source),
        }));
    }
    for h in &inv.hooks {
        out.push(Observation::Identity(hook_identity(org, org, h, source)));
    }
    out.extend(users.0.into_values().map(Observation::Identity));
    out
}

/// Observations of one repository: deploy keys, webhooks, outside collaborators.
pub fn repo_observations(org: &str, repo: &Repository, source: &str) -> Vec<Observation> {
    let full = if repo.full_name.is_empty() {
        format!("{org}/{}", repo.name)
    } else {
        repo.full_name.clone()
    };
    let mut out = Vec::new();
    for k in &repo.deploy_keys {
        let mut i = identity(
            format!("github:{full}:deploy-key/{}", k.id),
            "github_deploy_key",
            k.title.clone(),
            org,
            source,
        );
        i.created = k.created_at.clone();
        i.last_used = k.last_used.clone();
        i.active = k.enabled != Some(false);
        i.scopes = vec![if k.read_only {
            "github:contents:read"
        } else {
            "github:contents:write"
        }
        .into()];
        i.tags.insert("repository".into(), full.clone());
        i.revoke = Some(gh("DELETE", &format!("/repos/{full}/keys/{}", k.id), &[]));
        if let Some(by) = &k.added_by {
            i.tags.insert("added_by".into(), by.clone());
        }
        out.push(Observation::Identity(i));
    }
    for h in &repo.hooks {
        out.push(Observation::Identity(hook_identity(org, &full, h, source)));
    }
    for c in &repo.outside_collaborators {
        out.push(Observation::Identity(collaborator(org, &full, c, source)));
    }
    out
}

/// One outside collaborator on one repository; the graph merges the repositories by id.
fn collaborator(org: &str, full: &str, c: &Collaborator, source: &str) -> IdentityObs {
    let mut i = identity(
        user_id(&c.login),
        "github_outside_collaborator",
        c.login.clone(),
        org,
        source,
    );
    i.identifiers.push(Identifier::GithubUser(c.login.clone()));
    i.scopes = c
        .permissions
        .as_ref()
        .map(collaborator_scopes)
        .unwrap_or_default();
    i.tags.insert("repository".into(), full.to_string());
    i.tags.insert("usage".into(), "untracked".into());
    i.revoke = user_revocation(org, &c.login, "github_outside_collaborator");
    if c.kind == "Bot" {
        i.tags.insert("machine_user".into(), "true".into());
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(
            host_of("https://hooks.acme.example:8443/x?y").as_deref(),
            Some("hooks.acme.example")
        );
        assert_eq!(
            host_of("http://user:pw@Example.COM").as_deref(),
            Some("example.com")
        );
        assert_eq!(host_of(""), None);
    }
}
