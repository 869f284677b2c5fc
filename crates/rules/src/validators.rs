//! Format checks that cut false positives, and the attribution hints they decode on the way.
use base64::Engine as _;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Validators a rule can name in its `validator` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValidatorKind {
    /// GitHub `gh?_` tokens: the last 6 characters are the base62 CRC32 of the 30 before.
    GithubChecksum,
    /// npm `npm_` tokens: the same scheme as GitHub's.
    NpmChecksum,
    /// AWS access key ids: base32 body; decodes the owning account id.
    AwsKeyId,
    /// JSON Web Tokens: header and payload are base64url JSON; decodes `iss`, `sub`, `aud`.
    Jwt,
    /// Docker `auths` entries: base64 of `user:password`.
    DockerAuth,
}

pub type Hints = BTreeMap<String, String>;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Base62 of a CRC32, left-padded with `0` to 6 characters, as GitHub and npm tokens carry it.
pub fn base62_crc32(payload: &[u8]) -> String {
    let mut n = crc32fast::hash(payload);
    let mut digits = Vec::with_capacity(6);
    while n > 0 {
        digits.push(BASE62[(n % 62) as usize]);
        n /= 62;
    }
    while digits.len() < 6 {
        digits.push(b'0');
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

fn checksummed_token(secret: &str, prefix_len: usize) -> bool {
    let body = match secret.get(prefix_len..) {
        Some(b) if b.len() == 36 && b.bytes().all(|c| c.is_ascii_alphanumeric()) => b,
        _ => return false,
    };
    let (random, check) = body.split_at(30);
    base62_crc32(random.as_bytes()) == check
}

fn github_token_kind(prefix: &str) -> &'static str {
    match prefix {
        "ghp_" => "personal_access_token_classic",
        "gho_" => "oauth_access_token",
        "ghu_" => "app_user_to_server_token",
        "ghs_" => "app_server_to_server_token",
        "ghr_" => "app_refresh_token",
        _ => "token",
    }
}

/// The AWS account id encoded in an access key id (keys issued since 2019 carry it).
pub fn aws_account_from_key_id(key_id: &str) -> Option<String> {
    let body = key_id.get(4..14)?;
    let mut bits: u64 = 0;
    for c in body.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        bits = (bits << 5) | u64::from(v);
    }
    // 10 base32 characters give 50 bits; the decoded key's first 6 bytes are the top 48.
    // The account id sits in those bytes under the mask 0x7fffffffff80.
    let six_bytes = bits >> 2;
    let account = (six_bytes & 0x7fff_ffff_ff80) >> 7;
    Some(format!("{account:012}"))
}

/// An access key id that encodes `account` (the inverse of [`aws_account_from_key_id`]), for
/// fixtures and the demo: 1 zero bit, the 40-bit account, 7 zero bits, then 32 bits of `tail`.
pub fn aws_key_id_for_account(account: u64, tail: u32) -> String {
    const B32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let six = (account & 0xff_ffff_ffff) << 7;
    let bits: u128 = (u128::from(six) << 32) | u128::from(tail);
    let mut out = String::from("AKIA");
    for i in (0..16).rev() {
        out.push(B32[((bits >> (i * 5)) & 31) as usize] as char);
    }
    out
}

fn decode_b64_any(s: &str) -> Option<Vec<u8>> {
    let t = s.trim_end_matches('=');
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(t)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(t))
        .ok()
}

impl ValidatorKind {
    /// `Some(hints)` when the secret passes, `None` when it is not a real one.
    pub fn check(self, secret: &str) -> Option<Hints> {
        let mut hints = Hints::new();
        match self {
            ValidatorKind::GithubChecksum => {
                let prefix = secret.get(..4)?;
                if !checksummed_token(secret, 4) {
                    return None;
                }
                hints.insert("token_kind".into(), github_token_kind(prefix).into());
                hints.insert(
                    "token_last_eight".into(),
                    secret[secret.len() - 8..].to_string(),
                );
            }
            ValidatorKind::NpmChecksum => {
                if !checksummed_token(secret, 4) {
                    return None;
                }
            }
            ValidatorKind::AwsKeyId => {
                if secret.len() != 20
                    || !secret[4..]
                        .bytes()
                        .all(|c| matches!(c, b'A'..=b'Z' | b'2'..=b'7'))
                {
                    return None;
                }
                let kind = match &secret[..4] {
                    "AKIA" => "long_term_access_key",
                    "ASIA" => "temporary_session_key",
                    _ => "access_key",
                };
                hints.insert("key_type".into(), kind.into());
                if let Some(acct) = aws_account_from_key_id(secret) {
                    hints.insert("aws_account_id".into(), acct);
                }
            }
            ValidatorKind::Jwt => {
                let mut parts = secret.split('.');
                let header = decode_b64_any(parts.next()?)?;
                let payload = decode_b64_any(parts.next()?)?;
                let header: serde_json::Value = serde_json::from_slice(&header).ok()?;
                header.get("alg")?;
                let payload: serde_json::Value = serde_json::from_slice(&payload).ok()?;
                let obj = payload.as_object()?;
                for claim in ["iss", "sub", "aud", "azp", "email"] {
                    if let Some(v) = obj.get(claim).and_then(|v| v.as_str()) {
                        hints.insert(format!("jwt_{claim}"), v.chars().take(200).collect());
                    }
                }
                if let Some(exp) = obj.get("exp").and_then(|v| v.as_i64()) {
                    hints.insert("jwt_exp".into(), exp.to_string());
                }
            }
            ValidatorKind::DockerAuth => {
                let raw = decode_b64_any(secret)?;
                let text = String::from_utf8(raw).ok()?;
                let (user, pass) = text.split_once(':')?;
                if user.is_empty() || pass.len() < 3 || text.chars().any(|c| c.is_control()) {
                    return None;
                }
                hints.insert("user".into(), user.chars().take(100).collect());
            }
        }
        Some(hints)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make_token(prefix: &str, random: &str) -> String {
        format!("{prefix}{random}{}", base62_crc32(random.as_bytes()))
    }

    #[test]
    fn github_checksum_accepts_valid_and_rejects_altered() {
        let t = make_token("ghp_", "Zq8rVb3kLm2NpT6wYx1cD4fGh7jK9s");
        let hints = ValidatorKind::GithubChecksum
            .check(&t)
            .expect("valid token");
        assert_eq!(hints["token_kind"], "personal_access_token_classic");
        assert_eq!(hints["token_last_eight"], &t[t.len() - 8..]);
        let mut altered = t.clone().into_bytes();
        altered[10] = if altered[10] == b'a' { b'b' } else { b'a' };
        let altered = String::from_utf8(altered).unwrap();
        assert!(ValidatorKind::GithubChecksum.check(&altered).is_none());
        assert!(ValidatorKind::GithubChecksum
            .check("ghp_abcdefghijklmnopqrstuvwxyz0123456789")
            .is_none());
    }

    #[test]
    fn base62_pads_to_six() {
        assert_eq!(base62_crc32(b"").len(), 6);
        assert_eq!(base62_crc32(b""), "000000");
    }

    #[test]
    fn aws_account_decodes_from_key_id() {
        // A published example of the encoding: ASIAY34FZKBOKMUTVV7A belongs to 609629065308. trustmap:allow
        assert_eq!(
            aws_account_from_key_id("ASIAY34FZKBOKMUTVV7A").as_deref(), // trustmap:allow
            Some("609629065308")
        );
        let hints = ValidatorKind::AwsKeyId
            .check("ASIAY34FZKBOKMUTVV7A")
            .unwrap(); // trustmap:allow
        assert_eq!(hints["key_type"], "temporary_session_key");
        assert!(ValidatorKind::AwsKeyId
            .check("AKIA0000000000000000")
            .is_none());
    }

    #[test]
    fn jwt_needs_json_parts() {
        let good =
            "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJhY21lIiwic3ViIjoiYm90In0.c2lnbmF0dXJlX2J5dGVzX2hlcmU"; // trustmap:allow
        let h = ValidatorKind::Jwt.check(good).unwrap();
        assert_eq!(h["jwt_iss"], "acme");
        assert!(ValidatorKind::Jwt
            .check("eyJub3QganNvbg.eyJ4Ijo.abc")
            .is_none());
    }

    #[test]
    fn docker_auth_needs_user_and_password() {
        assert!(ValidatorKind::DockerAuth
            .check("dXNlcjpzM2NyZXRwYXNz")
            .is_some()); // user:s3cretpass
        assert!(ValidatorKind::DockerAuth
            .check("bm9jb2xvbmhlcmU=")
            .is_none()); // nocolonhere
    }
}
