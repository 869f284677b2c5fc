//! Where the estate's digest key is kept: the state file (its `meta` table), a key file, or
//! the user's own key file for `scan`. Created on first use from the OS random source;
//! a key file is written whole under a temporary name, then linked into place, so that two
//! processes creating it at once agree on one key.
use std::io::Write;
use std::path::{Path, PathBuf};
use trustmap_model::DigestKey;

use crate::StoreError;

fn key_error(path: &Path, message: impl std::fmt::Display) -> StoreError {
    StoreError::Key {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// `$XDG_CONFIG_HOME/trustmap/digest.key`, else `~/.config/trustmap/digest.key`.
pub fn user_key_file() -> Option<PathBuf> {
    use trustmap_model::env;
    let base = env::path(env::XDG_CONFIG_HOME)
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| env::path(env::HOME).map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("trustmap").join("digest.key"))
}

/// The key in `path`, created (readable by its owner only) when the file does not exist.
pub fn key_file(path: &Path) -> Result<DigestKey, StoreError> {
    match std::fs::read_to_string(path) {
        Ok(text) => return DigestKey::from_hex(&text).map_err(|e| key_error(path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(key_error(path, e)),
    }
    let key =
        DigestKey::generate().map_err(|e| key_error(path, format!("no random source: {e}")))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| key_error(dir, e))?;
    }
    // Unique per process and attempt (threads share a pid).
    let tmp = path.with_extension(format!("tmp.{}.{}", std::process::id(), &key.to_hex()[..8]));
    write_private(&tmp, &format!("{}\n", key.to_hex())).map_err(|e| key_error(&tmp, e))?;
    // A hard link never replaces: whoever links first wins, the others read the winner's.
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(key),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(path).map_err(|e| key_error(path, e))?;
            DigestKey::from_hex(&text).map_err(|e| key_error(path, e))
        }
        Err(e) => Err(key_error(path, e)),
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_is_created_once_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conf/trustmap/digest.key");
        let first = key_file(&path).unwrap();
        assert_eq!(key_file(&path).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "readable by its owner only: {mode:o}");
        }
        std::fs::write(&path, "not a key").unwrap();
        let err = key_file(&path).unwrap_err().to_string();
        assert!(
            err.contains("digest.key") && err.contains("64 hex digits"),
            "{err}"
        );
    }

    #[test]
    fn processes_creating_the_key_at_once_agree() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("digest.key");
        let keys: Vec<DigestKey> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| key_file(&path).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(keys.windows(2).all(|w| w[0] == w[1]));
    }
}
