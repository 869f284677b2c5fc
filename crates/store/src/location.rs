//! Where the state lives: a SQLite file, or a PostgreSQL database named by a URL. The URL's
//! password never leaves this type in text: every message shows [`StateLocation`]'s
//! `Display`, which drops it.
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{SqliteStore, StateStore, StoreError};

#[derive(Clone, PartialEq, Eq)]
pub enum StateLocation {
    File(PathBuf),
    /// A `postgres://` or `postgresql://` URL (libpq's form; `PGPASSWORD` supplies a password
    /// the URL leaves out).
    Postgres(String),
}

impl StateLocation {
    /// A `postgres://` (or `postgresql://`) URL, else a file path.
    pub fn parse(text: &str) -> StateLocation {
        if Self::is_url(text) {
            StateLocation::Postgres(text.to_string())
        } else {
            StateLocation::File(PathBuf::from(text))
        }
    }

    pub fn is_url(text: &str) -> bool {
        let lower = text.get(..13).unwrap_or(text).to_ascii_lowercase();
        lower.starts_with("postgres://") || lower.starts_with("postgresql://")
    }

    /// A file relative to `base` (sweep.toml's directory) made absolute; a URL as it is.
    pub fn relative_to(self, base: &Path) -> StateLocation {
        match self {
            StateLocation::File(p) if p.is_relative() => StateLocation::File(base.join(p)),
            other => other,
        }
    }

    /// Whether any state was recorded here: a file that exists; a database is asked when
    /// opened (an empty one is simply new).
    pub fn exists(&self) -> bool {
        match self {
            StateLocation::File(p) => p.exists(),
            StateLocation::Postgres(_) => true,
        }
    }

    pub fn file(&self) -> Option<&Path> {
        match self {
            StateLocation::File(p) => Some(p),
            StateLocation::Postgres(_) => None,
        }
    }

    /// Open (creating or migrating the schema). `busy`: how long a writer waits for another.
    pub fn open(&self, busy: Duration) -> Result<Box<dyn StateStore + Send>, StoreError> {
        match self {
            StateLocation::File(p) => Ok(Box::new(SqliteStore::open(p, busy)?)),
            #[cfg(feature = "postgres")]
            StateLocation::Postgres(url) => Ok(Box::new(crate::PostgresStore::open(url, busy)?)),
            #[cfg(not(feature = "postgres"))]
            StateLocation::Postgres(_) => Err(StoreError::NoPostgres {
                path: self.to_string(),
            }),
        }
    }
}

/// The URL with any password replaced by `***`.
pub(crate) fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_string(),
    };
    // A password may also ride in the query (`?password=...`).
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_string(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

impl std::fmt::Display for StateLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateLocation::File(p) => write!(f, "{}", p.display()),
            StateLocation::Postgres(url) => f.write_str(&without_password(url)),
        }
    }
}

/// As `Display`: a location in a log or a panic message never shows a password.
impl std::fmt::Debug for StateLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StateLocation({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_files_are_told_apart_and_passwords_never_shown() {
        let url = StateLocation::parse("postgres://tm:s3cret@db.internal:5432/trustmap");
        assert!(matches!(url, StateLocation::Postgres(_)));
        assert_eq!(
            url.to_string(),
            "postgres://tm:***@db.internal:5432/trustmap"
        );
        assert!(!format!("{url:?}").contains("s3cret"));
        let query =
            StateLocation::parse("postgresql://db/tm?user=tm&password=s3cret&sslmode=require");
        assert_eq!(
            query.to_string(),
            "postgresql://db/tm?user=tm&password=***&sslmode=require"
        );
        assert_eq!(
            StateLocation::parse("POSTGRES://tm@db/x").to_string(),
            "POSTGRES://tm@db/x"
        );
        let file = StateLocation::parse("state/trustmap.db").relative_to(Path::new("/etc/tm"));
        assert_eq!(
            file,
            StateLocation::File("/etc/tm/state/trustmap.db".into())
        );
        assert!(matches!(
            StateLocation::parse("postgres.db"),
            StateLocation::File(_)
        ));
    }
}
