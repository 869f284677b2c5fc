//! Strict parsing of partners.toml with errors that name file, line and field.
use chrono::NaiveDate;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use toml::Spanned;
use trustmap_model::line_of;

use crate::{glob, Matchers, Owner, Partner, Registry, Status};

/// Errors name the file and line (and the field in the message).
pub type RegistryError = trustmap_model::ConfigFileError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDef {
    #[serde(default)]
    partners: Vec<PartnerDef>,
    #[serde(default)]
    owners: Vec<OwnerDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PartnerDef {
    id: Spanned<String>,
    name: String,
    #[serde(default)]
    sponsor: Option<String>,
    #[serde(default)]
    purpose: Option<String>,
    status: Spanned<Status>,
    #[serde(default)]
    expires: Option<Spanned<String>>,
    #[serde(default)]
    review_every_days: Option<u32>,
    #[serde(default)]
    last_reviewed: Option<Spanned<String>>,
    #[serde(default)]
    allowed_scopes: Vec<String>,
    #[serde(default)]
    allow_subcontractors: bool,
    #[serde(default)]
    via: Option<Spanned<String>>,
    #[serde(default, rename = "match")]
    matchers: MatchDef,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OwnerDef {
    id: Spanned<String>,
    #[serde(default)]
    contact: Option<String>,
    #[serde(default, rename = "match")]
    matchers: MatchDef,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct MatchDef {
    #[serde(default)]
    aws_accounts: Vec<Spanned<String>>,
    #[serde(default)]
    github_orgs: Vec<String>,
    #[serde(default)]
    github_apps: Vec<String>,
    #[serde(default)]
    github_users: Vec<String>,
    #[serde(default)]
    email_domains: Vec<String>,
    #[serde(default)]
    entra_tenants: Vec<Spanned<String>>,
    #[serde(default)]
    oauth_clients: Vec<String>,
    #[serde(default)]
    gcp_projects: Vec<Spanned<String>>,
    #[serde(default)]
    name_patterns: Vec<Spanned<String>>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

/// Load and validate a registry file.
pub fn load_registry(file: &Path) -> Result<Registry, RegistryError> {
    let text = RegistryError::read(file)?;
    parse_registry(file, &text)
}

/// Parse and validate registry text; `file` names it in errors.
pub fn parse_registry(file: &Path, text: &str) -> Result<Registry, RegistryError> {
    let def: FileDef = toml::from_str(text).map_err(|e| RegistryError::Invalid {
        file: file.to_path_buf(),
        line: e.span().map_or(0, |s| line_of(text, s.start)),
        message: e.message().to_string(),
    })?;
    let p = Parse { file, text };
    let (partners, vias) = p.partners(def.partners)?;
    p.check_vias(&partners, &vias)?;
    let owners = p.owners(def.owners)?;
    let mut registry = Registry {
        file: file.to_path_buf(),
        partners,
        owners,
        ..Registry::default()
    };
    registry.build_index().map_err(|e| RegistryError::Invalid {
        file: file.to_path_buf(),
        line: 0,
        message: format!("name_patterns: {e}"),
    })?;
    Ok(registry)
}

/// The file being parsed, so every error names its file and line.
struct Parse<'a> {
    file: &'a Path,
    text: &'a str,
}

/// A partner's `via`: (partner, parent, where it was written).
type Via = (String, String, usize);

impl Parse<'_> {
    fn err(&self, offset: usize, message: String) -> RegistryError {
        RegistryError::Invalid {
            file: self.file.to_path_buf(),
            line: line_of(self.text, offset),
            message,
        }
    }

    fn date(
        &self,
        v: &Option<Spanned<String>>,
        field: &str,
        id: &str,
    ) -> Result<Option<NaiveDate>, RegistryError> {
        match v {
            None => Ok(None),
            Some(s) => NaiveDate::parse_from_str(s.get_ref(), "%Y-%m-%d")
                .map(Some)
                .map_err(|_| {
                    self.err(
                        s.span().start,
                        format!(
                            "partner {id:?}, field `{field}`: {:?} is not a date (YYYY-MM-DD)",
                            s.get_ref()
                        ),
                    )
                }),
        }
    }

    fn matchers(&self, m: MatchDef, owner: &str) -> Result<Matchers, RegistryError> {
        for a in &m.aws_accounts {
            if a.get_ref().len() != 12 || !a.get_ref().bytes().all(|b| b.is_ascii_digit()) {
                return Err(self.err(
                    a.span().start,
                    format!("{owner}, field `match.aws_accounts`: {:?} is not a 12-digit AWS account id", a.get_ref()),
                ));
            }
        }
        for t in &m.entra_tenants {
            let v = t.get_ref();
            if v.len() != 36 || !v.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
                return Err(self.err(
                    t.span().start,
                    format!(
                        "{owner}, field `match.entra_tenants`: {v:?} is not a tenant id (a GUID)"
                    ),
                ));
            }
        }
        for p in &m.gcp_projects {
            if !is_gcp_project_id(p.get_ref()) {
                return Err(self.err(
                    p.span().start,
                    format!(
                        "{owner}, field `match.gcp_projects`: {:?} is not a Google Cloud project id (6 to 30 lowercase letters, digits and hyphens, starting with a letter)",
                        p.get_ref()
                    ),
                ));
            }
        }
        let mut patterns = Vec::new();
        for p in m.name_patterns {
            glob(p.get_ref()).map_err(|e| {
                self.err(
                    p.span().start,
                    format!("{owner}, field `match.name_patterns`: {e}"),
                )
            })?;
            patterns.push(p.into_inner());
        }
        Ok(Matchers {
            aws_accounts: m
                .aws_accounts
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            github_orgs: m.github_orgs,
            github_apps: m.github_apps,
            github_users: m.github_users,
            email_domains: m.email_domains,
            entra_tenants: m
                .entra_tenants
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            oauth_clients: m.oauth_clients,
            gcp_projects: m
                .gcp_projects
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            name_patterns: patterns,
            tags: m.tags,
        })
    }

    /// Partners in file order, and every `via` to check once all ids are known.
    fn partners(&self, defs: Vec<PartnerDef>) -> Result<(Vec<Partner>, Vec<Via>), RegistryError> {
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut partners = Vec::new();
        let mut vias = Vec::new();
        for p in defs {
            let id = p.id.get_ref().clone();
            let line = line_of(self.text, p.id.span().start);
            if id.is_empty()
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            {
                return Err(self.err(
                    p.id.span().start,
                    format!("partner {id:?}, field `id`: use a lowercase slug (a-z, 0-9, -, _)"),
                ));
            }
            if let Some(first) = seen.insert(id.clone(), line) {
                return Err(self.err(
                    p.id.span().start,
                    format!("partner {id:?}, field `id`: duplicate id, first used on line {first}"),
                ));
            }
            if let Some(v) = &p.via {
                vias.push((id.clone(), v.get_ref().clone(), v.span().start));
            }
            partners.push(Partner {
                expires: self.date(&p.expires, "expires", &id)?,
                last_reviewed: self.date(&p.last_reviewed, "last_reviewed", &id)?,
                matchers: self.matchers(p.matchers, &format!("partner {id:?}"))?,
                name: p.name,
                sponsor: p.sponsor,
                purpose: p.purpose,
                status: p.status.into_inner(),
                review_every_days: p.review_every_days,
                allowed_scopes: p.allowed_scopes,
                allow_subcontractors: p.allow_subcontractors,
                via: p.via.map(Spanned::into_inner),
                id,
                line,
            });
        }
        Ok((partners, vias))
    }

    /// Every `via` names a partner, and no chain loops back on itself.
    fn check_vias(&self, partners: &[Partner], vias: &[Via]) -> Result<(), RegistryError> {
        for (id, via, offset) in vias {
            if !partners.iter().any(|p| p.id == *via) {
                return Err(self.err(
                    *offset,
                    format!("partner {id:?}, field `via`: no partner has id {via:?}"),
                ));
            }
            // Walk up the chain: a cycle would make every subcontractor its own ancestor.
            let mut current = via.clone();
            let mut steps = 0;
            while let Some(next) = partners
                .iter()
                .find(|p| p.id == current)
                .and_then(|p| p.via.clone())
            {
                steps += 1;
                if next == *id || steps > partners.len() {
                    return Err(self.err(
                        *offset,
                        format!("partner {id:?}, field `via`: `via` chain loops back to {id:?}"),
                    ));
                }
                current = next;
            }
        }
        Ok(())
    }

    fn owners(&self, defs: Vec<OwnerDef>) -> Result<Vec<Owner>, RegistryError> {
        let mut owners = Vec::new();
        let mut owner_ids: HashMap<String, usize> = HashMap::new();
        for o in defs {
            let id = o.id.get_ref().clone();
            let line = line_of(self.text, o.id.span().start);
            if let Some(first) = owner_ids.insert(id.clone(), line) {
                return Err(self.err(
                    o.id.span().start,
                    format!("owner {id:?}, field `id`: duplicate id, first used on line {first}"),
                ));
            }
            owners.push(Owner {
                matchers: self.matchers(o.matchers, &format!("owner {id:?}"))?,
                contact: o.contact,
                id,
                line,
            });
        }
        Ok(owners)
    }
}

/// A project id as Google allows them (a project number, all digits, is accepted too: it
/// names the same project in principal URLs).
fn is_gcp_project_id(p: &str) -> bool {
    let b = p.as_bytes();
    if !b.is_empty() && b.iter().all(u8::is_ascii_digit) {
        return true;
    }
    (6..=30).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b.last().is_some_and(|c| *c != b'-')
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}
