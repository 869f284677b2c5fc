//! Undoing the encodings secrets hide behind: base64 (Kubernetes Secrets, docker `auths`),
//! string escapes (JSON, notebooks, source literals), percent-encoding and CSV quoting.

use base64::Engine as _;

/// Shortest base64 run worth decoding: 15 bytes of secret.
pub const MIN_BASE64_RUN: usize = 20;
/// Longest run decoded: larger blobs are images and archives, not config.
pub const MAX_BASE64_RUN: usize = 64 * 1024;

const fn base64_table() -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'-' || c == b'_';
        i += 1;
    }
    t
}
static BASE64_CHARS: [bool; 256] = base64_table();

/// Runs of base64 alphabet (standard or URL-safe) at least [`MIN_BASE64_RUN`] long, with any
/// `=` padding, as `(start, end)` byte ranges.
pub fn base64_runs(data: &[u8]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut i = 0;
    let n = data.len();
    while i < n {
        if !BASE64_CHARS[data[i] as usize] {
            i += 1;
            continue;
        }
        let start = i;
        while i < n && BASE64_CHARS[data[i] as usize] {
            i += 1;
        }
        let mut end = i;
        while end < n && end - i < 2 && data[end] == b'=' {
            end += 1;
        }
        let len = end - start;
        if (MIN_BASE64_RUN..=MAX_BASE64_RUN).contains(&len) {
            runs.push((start, end));
        }
        i = end.max(i);
    }
    runs
}

/// Decode a run when it looks like base64 of text: mixed character classes, and the decoded
/// bytes mostly printable. `None` for identifiers, hex, paths and binary payloads.
pub fn decode_base64_text(run: &[u8]) -> Option<Vec<u8>> {
    let body: &[u8] = {
        let mut e = run.len();
        while e > 0 && run[e - 1] == b'=' {
            e -= 1;
        }
        &run[..e]
    };
    let has_upper = body.iter().any(u8::is_ascii_uppercase);
    let has_lower = body.iter().any(u8::is_ascii_lowercase);
    if !(has_upper && has_lower) {
        return None;
    }
    let url_safe = body.iter().any(|&b| b == b'-' || b == b'_');
    let std_only = body.iter().any(|&b| b == b'+' || b == b'/');
    if url_safe && std_only {
        return None;
    }
    // Drop a trailing partial quantum rather than fail: runs cut at a word boundary are common.
    let usable = body.len() - body.len() % 4
        + if body.len() % 4 >= 2 {
            body.len() % 4
        } else {
            0
        };
    let body = &body[..usable];
    let decoded = if url_safe {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(body)
    } else {
        base64::engine::general_purpose::STANDARD_NO_PAD.decode(body)
    }
    .ok()?;
    if decoded.len() < 8 {
        return None;
    }
    let printable = decoded
        .iter()
        .filter(|&&b| (0x20..0x7f).contains(&b) || b == b'\n' || b == b'\r' || b == b'\t')
        .count();
    (printable * 100 >= decoded.len() * 95).then_some(decoded)
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// True when the window holds something [`unescape`] would change.
pub fn has_escapes(window: &[u8]) -> bool {
    memchr::memchr3(b'\\', b'%', b'"', window).is_some()
        && (memchr::memchr(b'\\', window).is_some()
            || window
                .windows(3)
                .any(|w| w[0] == b'%' && hex_val(w[1]).is_some() && hex_val(w[2]).is_some())
            || memchr::memmem::find(window, b"\"\"").is_some())
}

/// Undo backslash escapes (`\n`, `\"`, `\/`, `\uXXXX`, `\xXX`), percent-encoding (`%40`) and
/// CSV's doubled quotes. Returns the decoded bytes and, for each, its offset in `window`.
pub fn unescape(window: &[u8]) -> Option<(Vec<u8>, Vec<u32>)> {
    let mut out = Vec::with_capacity(window.len());
    let mut map = Vec::with_capacity(window.len());
    let mut changed = false;
    let mut i = 0;
    while i < window.len() {
        let b = window[i];
        let at = i as u32;
        if b == b'\\' && i + 1 < window.len() {
            let e = window[i + 1];
            let simple = match e {
                b'n' => Some(b'\n'),
                b'r' => Some(b'\r'),
                b't' => Some(b'\t'),
                b'"' | b'\'' | b'\\' | b'/' | b'`' => Some(e),
                _ => None,
            };
            if let Some(c) = simple {
                out.push(c);
                map.push(at);
                i += 2;
                changed = true;
                continue;
            }
            if e == b'u' && i + 6 <= window.len() {
                let h = &window[i + 2..i + 6];
                if let (Some(a), Some(b2), Some(c), Some(d)) =
                    (hex_val(h[0]), hex_val(h[1]), hex_val(h[2]), hex_val(h[3]))
                {
                    let cp = (u32::from(a) << 12)
                        | (u32::from(b2) << 8)
                        | (u32::from(c) << 4)
                        | u32::from(d);
                    if let Some(ch) = char::from_u32(cp) {
                        let mut buf = [0u8; 4];
                        for &x in ch.encode_utf8(&mut buf).as_bytes() {
                            out.push(x);
                            map.push(at);
                        }
                        i += 6;
                        changed = true;
                        continue;
                    }
                }
            }
            if e == b'x' && i + 4 <= window.len() {
                if let (Some(a), Some(c)) = (hex_val(window[i + 2]), hex_val(window[i + 3])) {
                    out.push((a << 4) | c);
                    map.push(at);
                    i += 4;
                    changed = true;
                    continue;
                }
            }
        }
        if b == b'%' && i + 3 <= window.len() {
            if let (Some(a), Some(c)) = (hex_val(window[i + 1]), hex_val(window[i + 2])) {
                out.push((a << 4) | c);
                map.push(at);
                i += 3;
                changed = true;
                continue;
            }
        }
        if b == b'"' && i + 1 < window.len() && window[i + 1] == b'"' {
            out.push(b'"');
            map.push(at);
            i += 2;
            changed = true;
            continue;
        }
        out.push(b);
        map.push(at);
        i += 1;
    }
    changed.then_some((out, map))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_decodes_base64_of_text() {
        let data = b"  password: c3VwZXItc2VjcmV0LXBhc3N3b3JkLTE=\n";
        let runs = base64_runs(data);
        assert_eq!(runs.len(), 1);
        let (s, e) = runs[0];
        assert_eq!(
            decode_base64_text(&data[s..e]).as_deref(),
            Some(&b"super-secret-password-1"[..])
        );
        // An identifier decodes to garbage and is left alone.
        assert!(decode_base64_text(b"someVeryLongFunctionNameHere").is_none());
    }

    #[test]
    fn unescape_maps_back_to_the_window() {
        let (dec, map) = unescape(br#"a\nb%40c""d\u0041"#).unwrap();
        assert_eq!(dec, b"a\nb@c\"dA");
        assert_eq!(map[1], 1); // the newline came from offset 1
        assert_eq!(map[3], 4); // '@' from "%40" at offset 4
        assert!(unescape(b"plain text").is_none());
    }
}
