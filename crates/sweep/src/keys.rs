//! Which digest key a sweep uses, installed before anything is scanned: `TRUSTMAP_KEY`, else
//! `[sweep] digest_key_file`, else the state file's own, else the user's key file.
use std::path::{Path, PathBuf};
use trustmap_model::{env, install_digest_key, DigestKey};
use trustmap_store::{key_file, user_key_file, StateLocation};

use crate::{Plan, SweepError};

/// Where the key came from (the summary and `--verbose` say it; never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Environment,
    KeyFile(PathBuf),
    /// The state store (its text form, never a password).
    State(String),
    /// No key file could be placed (no home directory, or it is read-only): a key for this
    /// process only, so finding ids of leaked secrets change from run to run.
    ThisRunOnly(String),
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Environment => write!(f, "${}", env::DIGEST_KEY),
            KeySource::KeyFile(p) => write!(f, "{}", p.display()),
            KeySource::State(at) => write!(f, "the state store {at}"),
            KeySource::ThisRunOnly(why) => write!(f, "this run only ({why})"),
        }
    }
}

/// `TRUSTMAP_KEY` when set, else the key file (created if missing), else the user's key file;
/// `state` keeps the key when no key file is named.
pub fn resolve_key(
    key_file_path: Option<&Path>,
    state: Option<&StateLocation>,
) -> Result<(DigestKey, KeySource), SweepError> {
    if let Some(text) = env::named(env::DIGEST_KEY) {
        let key = DigestKey::from_hex(&text)
            .map_err(|e| SweepError::Key(format!("${}: {e}", env::DIGEST_KEY)))?;
        return Ok((key, KeySource::Environment));
    }
    if let Some(path) = key_file_path {
        return Ok((key_file(path)?, KeySource::KeyFile(path.to_path_buf())));
    }
    if let Some(location) = state {
        let mut store = location.open(std::time::Duration::from_secs(30))?;
        return Ok((store.digest_key()?, KeySource::State(location.to_string())));
    }
    // The user's own key file is a convenience: a read-only home must not stop a scan.
    let why = match user_key_file() {
        Some(path) => match key_file(&path) {
            Ok(key) => return Ok((key, KeySource::KeyFile(path))),
            Err(e) => e.to_string(),
        },
        None => "no home or config directory".to_string(),
    };
    let key =
        DigestKey::generate().map_err(|e| SweepError::Key(format!("no random source: {e}")))?;
    Ok((key, KeySource::ThisRunOnly(why)))
}

/// Install `key` for this process; a different key already in use is an error (its digests
/// would not match this estate's).
pub fn install(key: DigestKey, source: &KeySource) -> Result<(), SweepError> {
    if install_digest_key(key) {
        Ok(())
    } else {
        Err(SweepError::Key(format!(
            "this process already digests secrets under another key than {source}'s"
        )))
    }
}

impl Plan {
    /// Resolve and install the estate's digest key (see the module doc); `state` is the
    /// run's state file, if any.
    pub fn install_digest_key(
        &self,
        state: Option<&StateLocation>,
    ) -> Result<KeySource, SweepError> {
        let state = state.or(self.config.state.as_ref());
        let (key, source) = resolve_key(self.config.digest_key_file.as_deref(), state)?;
        install(key, &source)?;
        Ok(source)
    }
}
