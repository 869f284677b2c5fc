//! How connectors show HTTP trouble in errors and gaps: URLs without their query, a body's
//! first words, an error with its causes. Shared so every connector says it the same way.

/// A URL as errors show it: without the query (long `$select` and page-token lists say
/// nothing, and a query may carry what should not be repeated).
pub fn shown(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// The first 120 characters of a body, on one line.
pub fn excerpt(body: &str) -> String {
    body.trim()
        .chars()
        .take(120)
        .collect::<String>()
        .replace('\n', " ")
}

/// `what` followed by each cause of `e` (`cannot connect: tcp connect error: Connection
/// refused`): client libraries' own text often repeats the URL and hides the cause.
pub fn with_causes(what: &str, e: &dyn std::error::Error) -> String {
    let mut msg = what.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}
