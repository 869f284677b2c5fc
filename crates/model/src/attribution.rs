//! Who a node belongs to: the attribution stage's answer, typed.
use serde::{Serialize, Serializer};
use std::fmt;

/// Whose a node is. A node nobody accounts for has no [`Attribution`] at all.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Attributee {
    /// A partner of the registry, by id.
    Partner(String),
    /// An internal team of the registry (`[[owners]]`), by id.
    Owner(String),
    /// The estate itself: an account, organisation, tenant, project or cluster the sweep
    /// covers, or one `[sweep] internal` lists.
    Internal,
}

impl Attributee {
    /// The partner id, when it is a partner.
    pub fn partner(&self) -> Option<&str> {
        match self {
            Attributee::Partner(id) => Some(id),
            _ => None,
        }
    }
}

impl fmt::Display for Attributee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Attributee::Partner(id) => write!(f, "partner:{id}"),
            Attributee::Owner(id) => write!(f, "owner:{id}"),
            Attributee::Internal => f.write_str("internal"),
        }
    }
}

/// Text form in every output: `partner:acme`, `owner:platform`, `internal`.
impl Serialize for Attributee {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Who a node belongs to and the path that shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attribution {
    pub owner: Attributee,
    /// What matched (`aws_accounts: 111122223333`, `estate: github_org:corp`).
    pub matched: String,
    /// From the top partner to this node: `["partner:acme", "partner:datapipe",
    /// "aws-account:444455556666", "aws:1:role/x"]`.
    pub chain: Vec<String>,
    /// Other owners that matched equally well.
    pub ties: Vec<Attributee>,
}

impl Attribution {
    pub fn partner(&self) -> Option<&str> {
        self.owner.partner()
    }
}

/// Compares with the text form, so `owner == "partner:acme"` reads as it prints.
impl PartialEq<str> for Attributee {
    fn eq(&self, other: &str) -> bool {
        match self {
            Attributee::Partner(id) => other.strip_prefix("partner:") == Some(id.as_str()),
            Attributee::Owner(id) => other.strip_prefix("owner:") == Some(id.as_str()),
            Attributee::Internal => other == "internal",
        }
    }
}

impl PartialEq<&str> for Attributee {
    fn eq(&self, other: &&str) -> bool {
        self == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_is_the_one_outputs_show() {
        let p = Attributee::Partner("acme".into());
        assert_eq!(p.to_string(), "partner:acme");
        assert_eq!(p, "partner:acme");
        assert_ne!(p, "owner:acme");
        assert_eq!(Attributee::Owner("platform".into()), "owner:platform");
        assert_eq!(
            serde_json::to_string(&Attributee::Internal).unwrap(),
            "\"internal\""
        );
    }
}
