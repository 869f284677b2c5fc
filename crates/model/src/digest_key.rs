//! The key that secret digests are taken under.
//!
//! A digest lets reports correlate one secret across files, commits and inventory without
//! showing it. Unkeyed, anyone holding a report or a ticket could test guesses for a short
//! leaked password offline; keyed (HMAC-SHA256 under a per-estate key kept beside the state),
//! a digest means nothing outside the estate, and stays stable across its runs.
//!
//! The key is process-wide, installed once at start-up before anything is scanned (as a TLS
//! crypto provider is): every digest in one process must be comparable with every other, and
//! threading a key through every connector, the graph and the scan engine would make each of
//! them able to get it wrong. A process that installs none gets a random key of its own:
//! digests stable within the process and meaningless outside it.
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use std::sync::OnceLock;

/// 32 random bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct DigestKey([u8; 32]);

/// Key text that is not 64 hex digits.
#[derive(Debug, thiserror::Error)]
#[error("a digest key is 64 hex digits (32 bytes); this one is not")]
pub struct BadDigestKey;

impl DigestKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes)?;
        Ok(DigestKey(bytes))
    }

    /// From its hex form (surrounding whitespace allowed: a key file ends with a newline).
    pub fn from_hex(text: &str) -> Result<Self, BadDigestKey> {
        let text = text.trim();
        if text.len() != 64 || !text.is_ascii() {
            return Err(BadDigestKey);
        }
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| BadDigestKey)?;
        }
        Ok(DigestKey(bytes))
    }

    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// HMAC-SHA256 of `value`, truncated to 12 bytes (24 hex digits).
    pub fn digest(&self, value: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(value.as_bytes());
        mac.finalize().into_bytes()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Never shows the key.
impl fmt::Debug for DigestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DigestKey(..)")
    }
}

static INSTALLED: OnceLock<DigestKey> = OnceLock::new();

/// Install the process's key. Returns false when a different key was installed (or used)
/// first: that key stays, so that every digest of the process stays comparable.
pub fn install_digest_key(key: DigestKey) -> bool {
    let mut offered = Some(key.clone());
    let installed = INSTALLED.get_or_init(|| offered.take().unwrap_or(key.clone()));
    offered.is_none() || *installed == key
}

/// The process's key (a random one, if none was installed before the first digest).
pub fn digest_key() -> &'static DigestKey {
    INSTALLED.get_or_init(|| DigestKey::generate().unwrap_or_else(|_| fallback_key()))
}

/// Only when the OS random source fails: std's randomly seeded hasher keys, mixed with the
/// time. Never persisted (a persisted key always comes from `generate`).
fn fallback_key() -> DigestKey {
    use std::hash::{BuildHasher, Hasher};
    let mut bytes = [0u8; 32];
    for chunk in bytes.chunks_mut(8) {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    DigestKey(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_keyed_digests_differ_by_key() {
        let a = DigestKey::generate().unwrap_or_else(|_| fallback_key());
        let b =
            DigestKey::from_hex(&format!("{}\n", a.to_hex())).unwrap_or_else(|_| unreachable!());
        assert_eq!(a, b);
        let other = DigestKey::from_hex(&"ab".repeat(32)).unwrap_or_else(|_| unreachable!());
        assert_eq!(a.digest("hunter2"), b.digest("hunter2"));
        assert_ne!(a.digest("hunter2"), other.digest("hunter2"));
        assert_eq!(a.digest("x").len(), 24);
        assert!(DigestKey::from_hex("abc").is_err());
        assert!(DigestKey::from_hex(&"zz".repeat(32)).is_err());
        assert_eq!(format!("{a:?}"), "DigestKey(..)");
    }
}
