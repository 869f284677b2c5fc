//! The partner registry (`partners.toml`): partners with sponsor, purpose,
//! lifecycle status, expiry, review cadence, approved scopes and subcontractors (`via`), and
//! internal owners. Parsing is strict (unknown fields, bad dates, unknown statuses, duplicate
//! ids and dangling `via` are errors naming file, line and field); [`Registry::gaps`] lists
//! governance gaps; [`Registry::attribute`] matches an identifier set to a partner or owner.
//!
//! It knows nothing about connectors, the graph or findings: it answers "whose is this?".

mod parse;

use chrono::NaiveDate;
use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use trustmap_model::Attributee;

pub use parse::{load_registry, parse_registry, RegistryError};

/// Lifecycle states of a partner relationship.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Requested,
    Approved,
    Active,
    UnderReview,
    Suspended,
    Revoked,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Requested => "requested",
            Status::Approved => "approved",
            Status::Active => "active",
            Status::UnderReview => "under_review",
            Status::Suspended => "suspended",
            Status::Revoked => "revoked",
        }
    }
    /// Access should not exist (any more) in these states.
    pub fn forbids_access(self) -> bool {
        matches!(
            self,
            Status::Suspended | Status::Revoked | Status::Requested
        )
    }
}

/// What identifies a partner's or owner's identities.
#[derive(Debug, Clone, Default)]
pub struct Matchers {
    pub aws_accounts: Vec<String>,
    pub github_orgs: Vec<String>,
    pub github_apps: Vec<String>,
    pub github_users: Vec<String>,
    pub email_domains: Vec<String>,
    /// Tenants owning the partner's multi-tenant Entra applications.
    pub entra_tenants: Vec<String>,
    /// The partner's OAuth client ids (Entra appIds, Google OAuth clients).
    pub oauth_clients: Vec<String>,
    /// Google Cloud projects of the partner (its service accounts live there).
    pub gcp_projects: Vec<String>,
    pub name_patterns: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Partner {
    pub id: String,
    pub name: String,
    pub sponsor: Option<String>,
    pub purpose: Option<String>,
    pub status: Status,
    pub expires: Option<NaiveDate>,
    pub review_every_days: Option<u32>,
    pub last_reviewed: Option<NaiveDate>,
    pub allowed_scopes: Vec<String>,
    pub allow_subcontractors: bool,
    pub via: Option<String>,
    pub matchers: Matchers,
    pub line: usize,
}

impl Partner {
    /// When the next review falls due: `last_reviewed` plus `review_every_days`.
    pub fn review_due(&self) -> Option<NaiveDate> {
        Some(self.last_reviewed? + chrono::Days::new(u64::from(self.review_every_days?)))
    }
}

#[derive(Debug, Clone)]
pub struct Owner {
    pub id: String,
    pub contact: Option<String>,
    pub matchers: Matchers,
    pub line: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Registry {
    pub file: PathBuf,
    pub partners: Vec<Partner>,
    pub owners: Vec<Owner>,
    index: Index,
}

/// Who something belongs to, and how sure the match is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribution {
    Partner { id: String, matched: String },
    Owner { id: String, matched: String },
    Nobody,
}

/// What kind of governance gap: checks weigh them differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GapKind {
    /// Sponsor, purpose, expiry or a review cadence not recorded; never reviewed.
    Missing,
    /// Past its expiry yet still active or approved.
    Expired,
    /// The review cadence ran out since the last review.
    ReviewOverdue,
    /// Brought in through a partner that does not allow subcontractors.
    Subcontractor,
}

/// A governance gap in the registry itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub partner: String,
    pub line: usize,
    pub kind: GapKind,
    pub problem: String,
}

/// `LINE: PARTNER: PROBLEM`, as `partners check` prints it after the file name.
impl std::fmt::Display for Gap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.line, self.partner, self.problem)
    }
}

/// What an identity offers to be matched on.
#[derive(Debug, Clone, Default)]
pub struct Identifiers<'a> {
    pub name: &'a str,
    /// Other names `name_patterns` match (a Kubernetes service account's bare name beside
    /// its `namespace/name`).
    pub other_names: Vec<&'a str>,
    pub aws_accounts: Vec<&'a str>,
    pub github_orgs: Vec<&'a str>,
    pub github_apps: Vec<&'a str>,
    pub github_users: Vec<&'a str>,
    pub entra_tenants: Vec<&'a str>,
    pub oauth_clients: Vec<&'a str>,
    pub gcp_projects: Vec<&'a str>,
    pub emails: Vec<&'a str>,
    pub tags: Vec<(&'a str, &'a str)>,
}

enum Subject<'a> {
    Partner(&'a Partner),
    Owner(&'a Owner),
}

/// Lookup tables over every partner's and owner's matchers, so attribution costs a few hash
/// probes and one glob-set match instead of a pass over the whole registry.
#[derive(Debug, Clone)]
pub(crate) struct Index {
    partner_ids: HashMap<String, usize>,
    exact: HashMap<(&'static str, String), Vec<usize>>,
    globs: GlobSet,
    glob_owners: Vec<(usize, String, u32)>,
}

impl Default for Index {
    fn default() -> Self {
        Index {
            partner_ids: HashMap::new(),
            exact: HashMap::new(),
            globs: GlobSet::empty(),
            glob_owners: Vec::new(),
        }
    }
}

impl Registry {
    /// `id` first, then every partner that came in through it, however deep (registry
    /// order within each level).
    pub fn with_subcontractors(&self, id: &str) -> Vec<String> {
        let mut ids = vec![id.to_string()];
        let mut next = 0;
        while next < ids.len() {
            let via = ids[next].clone();
            for p in &self.partners {
                if p.via.as_deref() == Some(via.as_str()) && !ids.contains(&p.id) {
                    ids.push(p.id.clone());
                }
            }
            next += 1;
        }
        ids
    }

    pub fn partner(&self, id: &str) -> Option<&Partner> {
        match self.index.partner_ids.get(id) {
            Some(&i) => self.partners.get(i),
            // Before the index exists (a registry built by hand), fall back to a scan.
            None if self.index.partner_ids.is_empty() => self.partners.iter().find(|p| p.id == id),
            None => None,
        }
    }

    /// Every partner or owner that matches, with the strength of its best match and what
    /// matched, strongest first (then by position).
    fn scores(&self, ids: &Identifiers<'_>) -> Vec<(u32, usize, String)> {
        let idx = &self.index;
        // subject -> (strength, what matched)
        let mut best: HashMap<usize, (u32, String)> = HashMap::new();
        let mut offer = |subject: usize, strength: u32, what: String| {
            let e = best.entry(subject).or_insert((0, String::new()));
            if strength > e.0 {
                *e = (strength, what);
            }
        };
        let fields: [(&str, &Vec<&str>); 7] = [
            ("aws_accounts", &ids.aws_accounts),
            ("github_orgs", &ids.github_orgs),
            ("github_apps", &ids.github_apps),
            ("github_users", &ids.github_users),
            ("entra_tenants", &ids.entra_tenants),
            ("oauth_clients", &ids.oauth_clients),
            ("gcp_projects", &ids.gcp_projects),
        ];
        for (field, values) in fields {
            for v in values {
                for &subject in idx
                    .exact
                    .get(&(field, v.to_ascii_lowercase()))
                    .into_iter()
                    .flatten()
                {
                    offer(subject, 1000, format!("{field}: {v}"));
                }
            }
        }
        for e in &ids.emails {
            let domain = e
                .rsplit_once('@')
                .map_or(*e, |(_, d)| d)
                .to_ascii_lowercase();
            for &subject in idx
                .exact
                .get(&("email_domains", domain.clone()))
                .into_iter()
                .flatten()
            {
                offer(subject, 900, format!("email_domains: {domain}"));
            }
        }
        for (k, v) in &ids.tags {
            let key = format!("{}={}", k.to_ascii_lowercase(), v.to_ascii_lowercase());
            for &subject in idx.exact.get(&("tags", key)).into_iter().flatten() {
                offer(subject, 800, format!("tags: {k}={v}"));
            }
        }
        if !idx.globs.is_empty() {
            for name in std::iter::once(ids.name).chain(ids.other_names.iter().copied()) {
                if name.is_empty() {
                    continue;
                }
                for g in idx.globs.matches(name) {
                    let (subject, pattern, literal) = &idx.glob_owners[g];
                    offer(*subject, 100 + literal, format!("name_patterns: {pattern}"));
                }
            }
        }
        let mut scored: Vec<(u32, usize, String)> =
            best.into_iter().map(|(s, (st, w))| (st, s, w)).collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        scored
    }

    /// The most specific partner or owner whose matchers match. Ties between a partner and an
    /// owner (or two partners) are reported in the second value so callers can flag them.
    /// Exact identifiers beat email domains, which beat tags, which beat name globs; among
    /// globs, the one with more literal characters wins.
    pub fn attribute(&self, ids: &Identifiers<'_>) -> (Attribution, Vec<Attributee>) {
        let scored = self.scores(ids);
        let Some((top, subject, matched)) = scored.first().cloned() else {
            return (Attribution::Nobody, Vec::new());
        };
        let name = |subject: usize| -> Attributee {
            match self.subject(subject) {
                Subject::Partner(p) => Attributee::Partner(p.id.clone()),
                Subject::Owner(o) => Attributee::Owner(o.id.clone()),
            }
        };
        let ties = scored
            .iter()
            .skip(1)
            .filter(|x| x.0 == top)
            .map(|x| name(x.1))
            .collect();
        let winner = match self.subject(subject) {
            Subject::Partner(p) => Attribution::Partner {
                id: p.id.clone(),
                matched,
            },
            Subject::Owner(o) => Attribution::Owner {
                id: o.id.clone(),
                matched,
            },
        };
        (winner, ties)
    }

    /// Subjects are partners first, then owners, by position.
    fn subject(&self, i: usize) -> Subject<'_> {
        if i < self.partners.len() {
            Subject::Partner(&self.partners[i])
        } else {
            Subject::Owner(&self.owners[i - self.partners.len()])
        }
    }

    /// Build the lookup index; called once after parsing.
    pub(crate) fn build_index(&mut self) -> Result<(), globset::Error> {
        let mut exact: HashMap<(&'static str, String), Vec<usize>> = HashMap::new();
        let mut globs = GlobSetBuilder::new();
        let mut glob_owners = Vec::new();
        let all: Vec<&Matchers> = self
            .partners
            .iter()
            .map(|p| &p.matchers)
            .chain(self.owners.iter().map(|o| &o.matchers))
            .collect();
        for (subject, m) in all.into_iter().enumerate() {
            let lists: [(&'static str, &Vec<String>); 8] = [
                ("aws_accounts", &m.aws_accounts),
                ("github_orgs", &m.github_orgs),
                ("github_apps", &m.github_apps),
                ("github_users", &m.github_users),
                ("entra_tenants", &m.entra_tenants),
                ("oauth_clients", &m.oauth_clients),
                ("gcp_projects", &m.gcp_projects),
                ("email_domains", &m.email_domains),
            ];
            for (field, values) in lists {
                for v in values {
                    exact
                        .entry((field, v.to_ascii_lowercase()))
                        .or_default()
                        .push(subject);
                }
            }
            for (k, v) in &m.tags {
                exact
                    .entry((
                        "tags",
                        format!("{}={}", k.to_ascii_lowercase(), v.to_ascii_lowercase()),
                    ))
                    .or_default()
                    .push(subject);
            }
            for pattern in &m.name_patterns {
                globs.add(glob(pattern)?);
                let literal = pattern
                    .chars()
                    .filter(|c| !matches!(c, '*' | '?' | '[' | ']'))
                    .count() as u32;
                glob_owners.push((subject, pattern.clone(), literal));
            }
        }
        self.index = Index {
            partner_ids: self
                .partners
                .iter()
                .enumerate()
                .map(|(i, p)| (p.id.clone(), i))
                .collect(),
            exact,
            globs: globs.build()?,
            glob_owners,
        };
        Ok(())
    }

    /// The chain from the top partner down to `id`: `["acme", "datapipe"]` for a subcontractor.
    pub fn via_chain(&self, id: &str) -> Vec<String> {
        let mut chain = vec![id.to_string()];
        let mut current = id.to_string();
        while let Some(parent) = self.partner(&current).and_then(|p| p.via.clone()) {
            if chain.contains(&parent) {
                break; // a cycle is reported by parsing; never loop here
            }
            chain.push(parent.clone());
            current = parent;
        }
        chain.reverse();
        chain
    }

    /// Governance gaps as of `today`.
    pub fn gaps(&self, today: NaiveDate) -> Vec<Gap> {
        let mut gaps = Vec::new();
        for p in &self.partners {
            let mut gap = |kind: GapKind, problem: String| {
                gaps.push(Gap {
                    partner: p.id.clone(),
                    line: p.line,
                    kind,
                    problem,
                })
            };
            if p.sponsor.as_deref().is_none_or(str::is_empty) {
                gap(
                    GapKind::Missing,
                    "no sponsor: nobody inside is accountable".into(),
                );
            }
            if p.purpose.as_deref().is_none_or(str::is_empty) {
                gap(
                    GapKind::Missing,
                    "no purpose: why the access exists is not documented".into(),
                );
            }
            match p.expires {
                None => gap(
                    GapKind::Missing,
                    "no expiry: the access has no end date".into(),
                ),
                Some(e) if e < today && matches!(p.status, Status::Active | Status::Approved) => {
                    gap(
                        GapKind::Expired,
                        format!("expired on {e} but still {}", p.status.as_str()),
                    )
                }
                _ => {}
            }
            match (p.review_every_days, p.last_reviewed, p.review_due()) {
                (Some(_), None, _) => gap(GapKind::Missing, "never reviewed".into()),
                (Some(every), Some(last), Some(due)) if due < today => gap(
                    GapKind::ReviewOverdue,
                    format!(
                        "review overdue since {due} (last reviewed {last}, every {every} days)"
                    ),
                ),
                (None, _, _) if p.status == Status::Active => {
                    gap(
                        GapKind::Missing,
                        "no review cadence (review_every_days)".into(),
                    );
                }
                _ => {}
            }
            if let Some(parent) = p.via.as_deref().and_then(|v| self.partner(v)) {
                if !parent.allow_subcontractors {
                    gap(
                        GapKind::Subcontractor,
                        format!(
                            "subcontractor of {} which does not allow subcontractors",
                            parent.id
                        ),
                    );
                }
            }
        }
        gaps
    }
}

/// A name pattern as partners.toml means it: case-insensitive glob.
pub(crate) fn glob(pattern: &str) -> Result<Glob, globset::Error> {
    GlobBuilder::new(pattern).case_insensitive(true).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[partners]]
id = "acme"
name = "Acme Analytics Ltd"
sponsor = "jane.doe@corp.example"
purpose = "Nightly sales export"
status = "active"
expires = "2027-03-31"
review_every_days = 90
last_reviewed = "2026-10-01"
allowed_scopes = ["aws:s3:GetObject"]
allow_subcontractors = false

[partners.match]
aws_accounts = ["111122223333"]
github_orgs = ["acme-analytics"]
email_domains = ["acme.example"]
name_patterns = ["acme-*"]

[[partners]]
id = "datapipe"
name = "DataPipe LLC"
via = "acme"
status = "active"
[partners.match]
aws_accounts = ["444455556666"]
name_patterns = ["acme-datapipe-*"]

[[owners]]
id = "platform"
contact = "platform@corp.example"
[owners.match]
name_patterns = ["ci-*", "acme-*"]
"#;

    fn reg(text: &str) -> Result<Registry, RegistryError> {
        parse_registry(Path::new("partners.toml"), text)
    }
    use std::path::Path;

    #[test]
    fn parses_design_example_and_follows_via() {
        let r = reg(GOOD).unwrap();
        assert_eq!(r.partners.len(), 2);
        assert_eq!(r.via_chain("datapipe"), vec!["acme", "datapipe"]);
        let ids = Identifiers {
            aws_accounts: vec!["444455556666"],
            ..Identifiers::default()
        };
        assert!(
            matches!(r.attribute(&ids).0, Attribution::Partner { ref id, .. } if id == "datapipe")
        );
    }

    #[test]
    fn most_specific_glob_wins_and_ties_are_reported() {
        let r = reg(GOOD).unwrap();
        // acme-datapipe-x matches acme-* (partner acme and owner platform) and acme-datapipe-*.
        let (a, ties) = r.attribute(&Identifiers {
            name: "acme-datapipe-x",
            ..Identifiers::default()
        });
        assert!(matches!(a, Attribution::Partner { ref id, .. } if id == "datapipe"));
        assert!(ties.is_empty());
        // acme-export matches acme-* for partner acme and owner platform equally: a tie.
        let (_, ties) = r.attribute(&Identifiers {
            name: "acme-export",
            ..Identifiers::default()
        });
        assert_eq!(ties.len(), 1, "{ties:?}");
        // An exact account beats any glob.
        let (a, _) = r.attribute(&Identifiers {
            name: "ci-deployer",
            aws_accounts: vec!["111122223333"],
            ..Identifiers::default()
        });
        assert!(matches!(a, Attribution::Partner { ref id, .. } if id == "acme"));
    }

    #[test]
    fn errors_name_line_and_field() {
        let cases = [
            (
                GOOD.replace(
                    "status = \"active\"\nexpires",
                    "status = \"paused\"\nexpires",
                ),
                "unknown variant",
            ),
            (GOOD.replace("2027-03-31", "2027-13-40"), "`expires`"),
            (GOOD.replace("via = \"acme\"", "via = \"nobody\""), "`via`"),
            (
                GOOD.replace("id = \"datapipe\"", "id = \"acme\""),
                "duplicate id",
            ),
            (
                GOOD.replace(
                    "allow_subcontractors = false",
                    "allow_subcontractor = false",
                ),
                "unknown field",
            ),
            (GOOD.replace("\"111122223333\"", "\"1111\""), "12-digit"),
        ];
        for (text, needle) in cases {
            let e = reg(&text).unwrap_err().to_string();
            assert!(e.starts_with("partners.toml:") && e.contains(needle), "{e}");
            let line: usize = e.split(':').nth(1).unwrap().parse().unwrap();
            assert!(line > 1, "{e}");
        }
    }

    #[test]
    fn gaps_cover_the_governance_basics() {
        let r = reg(GOOD).unwrap();
        let today = NaiveDate::from_ymd_opt(2027, 6, 1).unwrap();
        let gaps: Vec<String> = r
            .gaps(today)
            .iter()
            .map(|g| format!("{}: {}", g.partner, g.problem))
            .collect();
        let joined = gaps.join("\n");
        assert!(
            joined.contains("acme: expired on 2027-03-31 but still active"),
            "{joined}"
        );
        assert!(joined.contains("acme: review overdue"), "{joined}");
        assert!(joined.contains("datapipe: no sponsor"), "{joined}");
        assert!(
            joined.contains("datapipe: subcontractor of acme"),
            "{joined}"
        );
    }
}
