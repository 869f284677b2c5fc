//! Google service-account keys: the OAuth 2.0 JWT-bearer exchange at Google's token endpoint,
//! with an assertion signed by the found private key. Google grants a token only to a key it
//! still holds for an enabled account; the token itself is dropped unused.
use crate::http::{sanitize, Answer};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;

pub const TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// The narrowest scope every service account may ask for.
const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform.read-only";

/// The PKCS#8 DER inside a key file's `private_key`, written with JSON's `\n` escapes or with
/// real line breaks.
pub fn pkcs8_der(pem: &str) -> Option<Vec<u8>> {
    let text = pem.replace("\\n", "\n");
    let body = text
        .split("-----BEGIN PRIVATE KEY-----")
        .nth(1)?
        .split("-----END PRIVATE KEY-----")
        .next()?;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(b64).ok()
}

/// The signed assertion for `email`, audience `token_url`, valid ten minutes from `now`.
pub fn assertion(der: &[u8], email: &str, token_url: &str, now: i64) -> Result<String, String> {
    let key = ring::signature::RsaKeyPair::from_pkcs8(der)
        .map_err(|_| "the private key is not an RSA PKCS#8 key".to_string())?;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = serde_json::json!({
        "iss": email, "scope": SCOPE, "aud": token_url, "iat": now, "exp": now + 600,
    });
    let signing_input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
    let mut signature = vec![0u8; key.public().modulus_len()];
    key.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .map_err(|_| "signing failed".to_string())?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

/// Exchange the assertion; `invalid_grant` (deleted key, deleted or disabled account) is
/// revoked, anything else that is not a token is unknown.
pub async fn ask(
    client: &reqwest::Client,
    pem: &str,
    email: Option<&str>,
    token_url: &str,
) -> Answer {
    let Some(email) = email else {
        return Answer::unknown("google: no client_email in the key file");
    };
    let Some(der) = pkcs8_der(pem) else {
        return Answer::unknown("google: the private key is not readable PEM");
    };
    let jwt = match assertion(&der, email, token_url, chrono::Utc::now().timestamp()) {
        Ok(j) => j,
        Err(e) => return Answer::unknown(format!("google: {e}")),
    };
    let form = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
        ("assertion", jwt.as_str()),
    ];
    let resp = match client.post(token_url).form(&form).send().await {
        Ok(r) => r,
        Err(e) => return Answer::unknown(format!("google: {}", crate::describe(&e))),
    };
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    let error = body
        .get("error")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    match status {
        200 if body.get("access_token").is_some() => Answer::live(Some(sanitize(email))),
        400 | 401 if error == "invalid_grant" || error == "unauthorized_client" => {
            let why = body
                .get("error_description")
                .and_then(|v| v.as_str())
                .unwrap_or(error);
            Answer::revoked(format!("google: {}", sanitize(why)))
        }
        _ => Answer::unknown(format!("google: token endpoint answered {status}")),
    }
}
