//! AWS access keys: STS `GetCallerIdentity` signed with the key id and the secret found
//! beside it. The call needs no permission, so any valid key succeeds and names its ARN.
use crate::http::Answer;
use std::time::Duration;

/// The key id and secret (and session token, for a temporary `ASIA` key) found together.
#[cfg_attr(not(feature = "aws"), allow(dead_code))] // read only by the STS call
pub struct KeyPair<'a> {
    pub key_id: &'a str,
    pub secret: &'a str,
    pub session_token: Option<&'a str>,
}

#[cfg(feature = "aws")]
pub async fn ask(
    pair: &KeyPair<'_>,
    endpoint: Option<&str>,
    region: &str,
    timeout: Duration,
) -> Answer {
    use aws_sdk_sts::config::{
        retry::RetryConfig, timeout::TimeoutConfig, BehaviorVersion, Credentials, Region,
    };
    use aws_sdk_sts::error::ProvideErrorMetadata;

    let credentials = Credentials::new(
        pair.key_id,
        pair.secret,
        pair.session_token.map(str::to_string),
        None,
        "trustmap-verify",
    );
    let mut conf = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .credentials_provider(credentials)
        // One request: a retry would double what the issuer sees of us.
        .retry_config(RetryConfig::disabled())
        .timeout_config(TimeoutConfig::builder().operation_timeout(timeout).build());
    if let Some(url) = endpoint {
        conf = conf.endpoint_url(url);
    }
    let client = aws_sdk_sts::Client::from_conf(conf.build());
    match client.get_caller_identity().send().await {
        Ok(out) => Answer::live(out.arn().map(str::to_string)),
        Err(e) => match e
            .code()
            .map(str::to_string)
            .or_else(|| raw_code(&e))
            .as_deref()
        {
            Some(code @ ("InvalidClientTokenId" | "ExpiredToken")) => {
                Answer::revoked(format!("aws: {code}"))
            }
            Some("SignatureDoesNotMatch") => Answer::unknown(
                "aws: the key id is known but the secret beside it is not its secret",
            ),
            Some(code) => Answer::unknown(format!("aws: {}", crate::http::sanitize(code))),
            None => Answer::unknown(match &e {
                aws_sdk_sts::error::SdkError::TimeoutError(_) => {
                    format!("aws: no answer within {} s", timeout.as_secs())
                }
                aws_sdk_sts::error::SdkError::DispatchFailure(_) => {
                    "aws: cannot reach STS".to_string()
                }
                _ => "aws: the request failed".to_string(),
            }),
        },
    }
}

/// The error code of a body the SDK could not parse: STS-compatible servers (moto among them)
/// wrap `<Error>` in `<Errors>`, which the query-protocol parser does not expect.
#[cfg(feature = "aws")]
fn raw_code<E>(
    e: &aws_sdk_sts::error::SdkError<E, aws_sdk_sts::config::http::HttpResponse>,
) -> Option<String> {
    let body = std::str::from_utf8(e.raw_response()?.body().bytes()?).ok()?;
    let start = body.find("<Code>")? + "<Code>".len();
    let len = body[start..].find("</Code>")?;
    Some(body[start..start + len].trim().to_string()).filter(|c| !c.is_empty())
}

#[cfg(not(feature = "aws"))]
pub async fn ask(_: &KeyPair<'_>, _: Option<&str>, _: &str, _: Duration) -> Answer {
    Answer::unknown("aws: this build has no AWS support (feature `aws`)")
}
