//! Object ids held as bytes: a history of millions of blobs keeps 33 bytes per id, not a
//! 40- or 64-character string on the heap.
use std::fmt;

/// A git object id (SHA-1 or SHA-256).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Oid {
    raw: [u8; 32],
    len: u8,
}

impl Oid {
    /// Parse 40 (SHA-1) or 64 (SHA-256) hex digits; anything else is `None`.
    pub fn from_hex(hex: &[u8]) -> Option<Self> {
        if hex.len() != 40 && hex.len() != 64 {
            return None;
        }
        let mut raw = [0u8; 32];
        for (i, pair) in hex.chunks_exact(2).enumerate() {
            raw[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
        }
        Some(Oid {
            raw,
            len: (hex.len() / 2) as u8,
        })
    }

    /// The id as git writes it: lowercase hex.
    pub fn hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(usize::from(self.len) * 2);
        for b in &self.raw[..usize::from(self.len)] {
            s.push(char::from(DIGITS[usize::from(b >> 4)]));
            s.push(char::from(DIGITS[usize::from(b & 15)]));
        }
        s
    }
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid({})", self.hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_bad_ids_are_refused() {
        let sha1 = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(
            Oid::from_hex(sha1.as_bytes()).map(|o| o.hex()).as_deref(),
            Some(sha1)
        );
        let sha256 = "ab".repeat(32);
        assert_eq!(
            Oid::from_hex(sha256.as_bytes()).map(|o| o.hex()),
            Some(sha256)
        );
        assert!(Oid::from_hex(b"0123").is_none());
        assert!(Oid::from_hex(&[b'g'; 40]).is_none());
    }
}
