//! Built-in precision filters: entropy, documentation placeholders, variable references.

/// Shannon entropy in bits per byte.
pub fn shannon_entropy(s: &[u8]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in s {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Markers of values that stand for a secret rather than being one. Matched case-insensitively
/// as substrings of the secret.
const PLACEHOLDER_MARKERS: &[&str] = &[
    "example", // AWS's published AKIAIOSFODNN7EXAMPLE and friends
    "xxxx",
    "your_",
    "your-",
    "yourapi",
    "<your",
    "placeholder",
    "changeme",
    "change_me",
    "replace_me",
    "replaceme",
    "dummy",
    "redacted",
    "insert_",
    "*****",
    "${",
    "{{",
    "{}", // a format string: `p%40ss-{}`
    "%(",
    "$(",
    "process.env",
    "environ[",
    "environ.get",
    "getenv",
    "secrets.",
    "0000000000",
    "1234567890",
    "abcdefghij",
];

/// Values that documentation uses for "a password goes here"; matched exactly.
const WEAK_VALUES: &[&str] = &[
    "password",
    "passw0rd",
    "pass",
    "passwd",
    "pwd",
    "secret",
    "changeme",
    "root",
    "admin",
    "postgres",
    "mysql",
    "redis",
    "guest",
    "test",
    "user",
    "username",
    "foobar",
    "123456",
    "12345678",
    "letmein",
    "qwerty",
    "default",
    "token",
    "apikey",
    "api_key",
    "mypassword",
    "yourpassword",
    "s3cr3t",
    "hunter2",
    "pa55word",
    "p@ssw0rd",
    "p@ssword",
];

/// `$VAR`, `${VAR}`, `$(cmd)`, `%VAR%`: the value is looked up elsewhere.
fn is_variable_reference(s: &str) -> bool {
    let b = s.as_bytes();
    if b.first() != Some(&b'$') {
        return false;
    }
    let rest = s[1..]
        .trim_start_matches(['{', '('])
        .trim_end_matches(['}', ')']);
    !rest.is_empty()
        && rest
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b':' | b'-' | b' '))
}

/// True when the value is a documentation placeholder or a reference to a variable.
pub fn is_placeholder(secret: &str) -> bool {
    let lower = secret.to_ascii_lowercase();
    if PLACEHOLDER_MARKERS.iter().any(|m| lower.contains(m)) {
        return true;
    }
    if WEAK_VALUES.contains(&lower.as_str()) {
        return true;
    }
    // `$VAR`, `${VAR}`, `@VAR@`, `<token>`, `[secret]`: template syntax, not values.
    if is_variable_reference(secret) {
        return true;
    }
    let first = secret.as_bytes().first().copied().unwrap_or(b' ');
    let last = secret.as_bytes().last().copied().unwrap_or(b' ');
    if (first == b'<' && last == b'>') || (first == b'@' && last == b'@') {
        return true;
    }
    if (first == b'[' && last == b']') || (first == b'%' && last == b'%') {
        return true;
    }
    // One repeated character, or very few distinct ones.
    let mut seen = [false; 256];
    let mut distinct = 0;
    for &b in secret.as_bytes() {
        if !seen[b as usize] {
            seen[b as usize] = true;
            distinct += 1;
        }
    }
    distinct <= 3 && secret.len() >= 6
}

/// Extra checks for generic `key = value` rules, whose values are mostly not secrets.
/// Whether the key of a `key = "value"` match (the text before the value) ends in an id:
/// `private_key_id`, `secret-id`, `SecretKeyId`, `"client_secret_id":`.
pub fn key_names_an_id(key: &[u8]) -> bool {
    let name: Vec<u8> = key
        .iter()
        .rev()
        .skip_while(|b| !b.is_ascii_alphanumeric())
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        .copied()
        .collect();
    // `name` is reversed: an id suffix is `di` after a separator, or `dI` in camel case.
    match name.as_slice() {
        [b'd' | b'D', b'i' | b'I', b'_' | b'-' | b'.', ..] => true,
        [b'd', b'I', next, ..] => next.is_ascii_lowercase(),
        _ => false,
    }
}

pub fn generic_value_is_plausible(value: &str) -> bool {
    let v = value.as_bytes();
    if v.len() < 8 {
        return false;
    }
    let lower = v.iter().any(u8::is_ascii_lowercase);
    let upper = v.iter().any(u8::is_ascii_uppercase);
    let digit = v.iter().any(u8::is_ascii_digit);
    let other = v.iter().any(|b| !b.is_ascii_alphanumeric());
    let classes = [lower, upper, digit, other].iter().filter(|&&x| x).count();
    if classes < 2 {
        return false;
    }
    // Identifiers, dotted names, paths and file names are names of secrets, not secrets.
    let identifier_like = v
        .iter()
        .all(|b| b.is_ascii_alphabetic() || matches!(b, b'_' | b'.' | b'-' | b':'));
    let separated = v.iter().any(|b| matches!(b, b'_' | b'.' | b'-' | b':'));
    // Mixed-case letters alone can be random (`qXvTbRm...`); words joined by separators
    // (`Proxy-Authorization`, `settings.SECRET_KEY`) are names.
    if identifier_like && (separated || !(lower && upper && v.len() >= 16)) {
        return false;
    }
    // Expressions and paths in code: `:Variant`, `line[start:pos]`, `=other`.
    if matches!(v[0], b':' | b'=' | b'.' | b',' | b'>')
        || (value.contains('[') && value.contains(']'))
    {
        return false;
    }
    let lowered = value.to_ascii_lowercase();
    const NOT_SECRETS: &[&str] = &[
        "password",
        "passwd",
        "secret",
        "token",
        "null",
        "none",
        "true",
        "false",
        "undefined",
        "http://",
        "https://",
        "file://",
        "./",
        "../",
        "test",
        "sample",
        "string",
        "fake",
        "mock",
        "foobar",
        "func",
        "self.",
        "this.",
        "config.",
        "settings.",
        "args.",
        "env.",
        "params.",
        "options.",
        "request.",
        "req.",
        "os.",
        "::",
        "->",
    ];
    if NOT_SECRETS.iter().any(|m| lowered.contains(m)) {
        return false;
    }
    const FILE_SUFFIXES: &[&str] = &[
        ".json", ".yaml", ".yml", ".txt", ".pem", ".key", ".crt", ".toml", ".ini", ".env", ".py",
        ".js", ".ts", ".rs", ".go", ".html", ".md", ".png", ".svg",
    ];
    if FILE_SUFFIXES.iter().any(|s| lowered.ends_with(s)) {
        return false;
    }
    // Paths and URLs.
    if matches!(v[0], b'/' | b'~') || value.contains("://") {
        return false;
    }
    // Function calls and expressions: `get_password()`, `a + b`.
    if value.contains('(') || value.contains(')') || value.contains(' ') {
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_of_known_strings() {
        assert_eq!(shannon_entropy(b""), 0.0);
        assert_eq!(shannon_entropy(b"aaaa"), 0.0);
        assert!((shannon_entropy(b"abcd") - 2.0).abs() < 1e-9);
    }

    #[test]
    fn placeholders_are_recognised() {
        for p in [
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "your_api_key_here",
            "xxxxxxxxxxxxxxxx",
            "${DB_PASSWORD}",
            "${{ secrets.TOKEN }}",
            "$DATABASE_PASSWORD",
            "<token>",
            "os.environ['X']",
            "aaaaaaaaaaaa",
        ] {
            assert!(is_placeholder(p), "{p} should be a placeholder");
        }
        for real in ["Zq8rVb3kLm2NpT6wYx1c", "s3cr3t-Pa55w0rd!"] {
            assert!(!is_placeholder(real), "{real} is not a placeholder");
        }
    }

    #[test]
    fn keys_that_name_an_id_are_recognised() {
        for k in [
            &b"\"private_key_id\": \""[..],
            b"SECRET_KEY_ID=\"",
            b"secretKeyId: '",
            b"client-secret-id = \"",
        ] {
            assert!(key_names_an_id(k), "{}", String::from_utf8_lossy(k));
        }
        for k in [
            &b"\"private_key\": \""[..],
            b"SECRET_KEY=\"",
            b"clientSecret: '",
            b"secret_valid = \"",
        ] {
            assert!(!key_names_an_id(k), "{}", String::from_utf8_lossy(k));
        }
    }

    #[test]
    fn generic_values_need_to_look_random() {
        assert!(generic_value_is_plausible("Xk9#mP2$vL8q"));
        assert!(generic_value_is_plausible("hunter2hunter2"));
        assert!(!generic_value_is_plausible("password_confirmation"));
        assert!(!generic_value_is_plausible("SECRET_KEY"));
        assert!(!generic_value_is_plausible("settings.SECRET_KEY"));
        assert!(!generic_value_is_plausible("get_token()"));
        assert!(!generic_value_is_plausible("short1"));
        assert!(!generic_value_is_plausible("Proxy-Authorization"));
        assert!(!generic_value_is_plausible(":RecursivePrefix"));
        assert!(!generic_value_is_plausible("line[start:pos]"));
        assert!(generic_value_is_plausible("qXvTbRmKpLwZsYnJ"));
    }
}
