//! Live verification of found secrets (`trustmap scan --verify`, `[sweep] verify = true`):
//! for each secret whose issuer offers a harmless read-only call that needs a valid
//! credential, make that one call to the issuer's own API and record what it said
//! ([`trustmap_model::Verification`]).
//!
//! What it promises: nothing is sent without the flag; a secret goes only to its own issuer
//! (or the endpoint the user named for that issuer); one request per distinct secret and run
//! (answers are cached by digest, and concurrent asks share one request); at most
//! `concurrency` requests at once and `requests_per_second` per issuer; no redirects followed;
//! a network error, a timeout, a throttle or a 5xx is `unknown`, never `revoked`; no answer,
//! error or log line carries the secret.
//!
//! It must not know about findings, partners or output formats: it fills
//! [`SecretMatch::verification`] and nothing else.

mod aws;
mod google;
mod http;

pub use http::{issuer_for, ISSUERS};

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OnceCell, Semaphore};
use trustmap_model::{
    env, redact, Progress, Secret, SecretMatch, Verification, VerificationStatus,
};

use http::Answer;

/// The providers verified outside the HTTP table: the names `[verify.endpoints]` accepts for
/// them.
pub const AWS: &str = "aws";
pub const GOOGLE: &str = "google";

const AWS_KEY_ID_RULE: &str = "aws-access-key-id";
const AWS_SECRET_RULE: &str = "aws-secret-access-key";
const AWS_SESSION_RULE: &str = "aws-session-token";
const GOOGLE_KEY_RULE: &str = "gcp-service-account-key";
/// The hint the service-account key rule sets from the key file.
const GOOGLE_EMAIL_HINT: &str = "client_email";

/// How verification behaves; `[verify]` in sweep.toml, or `trustmap scan --verify-endpoint`.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Issuer name → base URL, replacing the issuer's own (tests, proxies, GitHub Enterprise).
    pub endpoints: BTreeMap<String, String>,
    /// Requests in flight at once, over all issuers.
    pub concurrency: usize,
    /// Requests per second to any one issuer.
    pub requests_per_second: f64,
    /// How long one request may take before its answer is `unknown`.
    pub timeout: Duration,
    /// The AWS region STS is asked in (its global endpoint answers for every region).
    pub aws_region: String,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            endpoints: BTreeMap::new(),
            concurrency: 8,
            requests_per_second: 5.0,
            timeout: Duration::from_secs(10),
            aws_region: "us-east-1".into(),
        }
    }
}

/// Every issuer name `[verify.endpoints]` may name.
pub fn providers() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = ISSUERS.iter().map(|i| i.provider).collect();
    names.extend([AWS, GOOGLE]);
    names.sort_unstable();
    names.dedup();
    names
}

impl VerifyOptions {
    /// Check `endpoints` names known issuers with http(s) URLs; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        let known = providers();
        for (name, url) in &self.endpoints {
            if !known.contains(&name.as_str()) {
                return Err(format!(
                    "endpoints.{name}: not an issuer trustmap verifies (one of: {})",
                    known.join(", ")
                ));
            }
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(format!("endpoints.{name}: {url:?} is not an http(s) URL"));
            }
        }
        if self.concurrency == 0 {
            return Err("concurrency: must be at least 1".into());
        }
        if !self.requests_per_second.is_finite() || self.requests_per_second <= 0.0 {
            return Err("requests_per_second: must be above 0".into());
        }
        Ok(())
    }

    /// The endpoint for `provider`: `[verify.endpoints]` first, then the ecosystem's own
    /// environment variables (`AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`, `GITHUB_API_URL`).
    fn endpoint(&self, provider: &str) -> Option<String> {
        if let Some(url) = self.endpoints.get(provider) {
            return Some(url.clone());
        }
        match provider {
            AWS => {
                env::named(env::AWS_ENDPOINT_URL_STS).or_else(|| env::named(env::AWS_ENDPOINT_URL))
            }
            "github" => env::named(env::GITHUB_API_URL),
            _ => None,
        }
        .filter(|u| !u.is_empty())
    }
}

/// What a run's verification did, for the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    /// Found secrets by answer (an AWS key id and its secret count as two).
    pub live: usize,
    pub revoked: usize,
    pub unknown: usize,
    /// Requests sent to issuers.
    pub requests: usize,
    /// Answers reused for a secret already asked about in this run.
    pub cached: usize,
}

impl Tally {
    fn count(&mut self, status: VerificationStatus) {
        match status {
            VerificationStatus::Live => self.live += 1,
            VerificationStatus::Revoked => self.revoked += 1,
            VerificationStatus::Unknown => self.unknown += 1,
        }
    }

    /// `3 live, 1 revoked, 2 unknown (6 requests)`.
    pub fn line(&self) -> String {
        format!(
            "{} live, {} revoked, {} unknown ({} requests, {} answered from this run's cache)",
            self.live, self.revoked, self.unknown, self.requests, self.cached
        )
    }
}

/// One question to one issuer: the matches it answers for and how to ask.
enum Job {
    Http(&'static http::Issuer, usize),
    Aws {
        key_id: usize,
        secret: usize,
        session: Option<usize>,
    },
    Google(usize),
    /// Verifiable in principle, but what it needs is not beside it.
    Unpaired(usize, &'static str, &'static str),
}

impl Job {
    /// The matches that share its answer.
    fn members(&self) -> Vec<usize> {
        match *self {
            Job::Http(_, i) | Job::Google(i) | Job::Unpaired(i, ..) => vec![i],
            Job::Aws { key_id, secret, .. } => vec![key_id, secret],
        }
    }

    fn provider(&self) -> &'static str {
        match self {
            Job::Http(i, _) => i.provider,
            Job::Aws { .. } => AWS,
            Job::Google(_) => GOOGLE,
            Job::Unpaired(_, p, _) => p,
        }
    }
}

/// Asks issuers; one per run, shared by every connector of a sweep so its cache and bounds
/// hold across them.
pub struct Verifier {
    client: reqwest::Client,
    options: VerifyOptions,
    answers: Mutex<HashMap<String, Arc<OnceCell<Answer>>>>,
    in_flight: Semaphore,
    next_slot: Mutex<HashMap<&'static str, Instant>>,
    tally: Mutex<Tally>,
    progress: Arc<dyn Progress>,
}

impl Verifier {
    pub fn new(options: VerifyOptions, progress: Arc<dyn Progress>) -> Result<Self, String> {
        options.validate()?;
        let client = reqwest::Client::builder()
            .timeout(options.timeout)
            // A redirect could carry a header credential to another host.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(
                "trustmap/",
                env!("CARGO_PKG_VERSION"),
                " (secret verification)"
            ))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {}", describe(&e)))?;
        Ok(Verifier {
            client,
            in_flight: Semaphore::new(options.concurrency),
            options,
            answers: Mutex::default(),
            next_slot: Mutex::default(),
            tally: Mutex::default(),
            progress,
        })
    }

    pub fn tally(&self) -> Tally {
        self.tally.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// Verify every match whose issuer it knows, in place.
    pub async fn verify_all(&self, matches: &mut [SecretMatch]) {
        let jobs = plan(matches);
        if jobs.is_empty() {
            return;
        }
        self.progress.add_total(jobs.len() as u64);
        let asked = futures::future::join_all(jobs.iter().map(|j| self.answer(matches, j))).await;
        let checked_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        for (job, answer) in jobs.iter().zip(asked) {
            let members = job.members();
            for &i in &members {
                let secret = matches[i].secret.clone();
                let paired_with = members
                    .iter()
                    .find(|&&j| j != i)
                    .map(|&j| matches[j].secret.digest());
                matches[i].verification = Some(Verification {
                    status: answer.status,
                    checked_at: checked_at.clone(),
                    provider: job.provider().to_string(),
                    identity: answer.identity.as_deref().map(|s| scrub(s, &secret)),
                    scopes: answer.scopes.iter().map(|s| scrub(s, &secret)).collect(),
                    detail: answer.detail.as_deref().map(|s| scrub(s, &secret)),
                    paired_with,
                });
            }
        }
    }

    /// The answer for one job: from the cache when the same secret was asked about before.
    async fn answer(&self, matches: &[SecretMatch], job: &Job) -> Answer {
        let cell = {
            let key = cache_key(matches, job);
            let mut answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
            answers.entry(key).or_default().clone()
        };
        let mut fresh = false;
        let answer = cell
            .get_or_init(|| {
                fresh = true;
                self.ask(matches, job)
            })
            .await
            .clone();
        if let Ok(mut t) = self.tally.lock() {
            // Counted by found secret: an AWS pair is two findings sharing one answer.
            for _ in job.members() {
                t.count(answer.status);
            }
            if !fresh {
                t.cached += 1;
            }
            self.progress.advance(1);
            self.progress.message(&format!(
                "verify: {} live, {} revoked, {} unknown",
                t.live, t.revoked, t.unknown
            ));
        }
        answer
    }

    async fn ask(&self, matches: &[SecretMatch], job: &Job) -> Answer {
        if let Job::Unpaired(_, _, why) = job {
            return Answer::unknown(*why);
        }
        let Ok(_permit) = self.in_flight.acquire().await else {
            return Answer::unknown("verification stopped");
        };
        self.wait_turn(job.provider()).await;
        if let Ok(mut t) = self.tally.lock() {
            t.requests += 1;
        }
        let endpoint = self.options.endpoint(job.provider());
        match *job {
            Job::Http(issuer, i) => {
                self.ask_http(issuer, &matches[i], endpoint.as_deref())
                    .await
            }
            Job::Aws {
                key_id,
                secret,
                session,
            } => {
                let pair = aws::KeyPair {
                    key_id: matches[key_id].secret.expose(),
                    secret: matches[secret].secret.expose(),
                    session_token: session.map(|s| matches[s].secret.expose()),
                };
                aws::ask(
                    &pair,
                    endpoint.as_deref(),
                    &self.options.aws_region,
                    self.options.timeout,
                )
                .await
            }
            Job::Google(i) => {
                let url = endpoint.map_or_else(
                    || google::TOKEN_URL.to_string(),
                    |b| format!("{}/token", b.trim_end_matches('/')),
                );
                let m = &matches[i];
                let email = m.hints.get(GOOGLE_EMAIL_HINT).map(String::as_str);
                google::ask(&self.client, m.secret.expose(), email, &url).await
            }
            // Answered before a permit is taken; kept total so nothing here can panic.
            Job::Unpaired(_, _, why) => Answer::unknown(why),
        }
    }

    async fn ask_http(
        &self,
        issuer: &'static http::Issuer,
        m: &SecretMatch,
        endpoint: Option<&str>,
    ) -> Answer {
        let request = match http::request(&self.client, issuer, m, endpoint) {
            Ok(r) => r,
            Err(answer) => return answer,
        };
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return Answer::unknown(format!("{}: {}", issuer.provider, describe(&e))),
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        match response.bytes().await {
            Ok(body) => http::read_answer(issuer, status, &headers, &body),
            Err(e) => Answer::unknown(format!("{}: {}", issuer.provider, describe(&e))),
        }
    }

    /// Space requests to one issuer `1 / requests_per_second` apart.
    async fn wait_turn(&self, provider: &'static str) {
        let gap = Duration::from_secs_f64(1.0 / self.options.requests_per_second);
        let slot = {
            let mut next = self.next_slot.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let slot = next
                .get(provider)
                .copied()
                .filter(|t| *t > now)
                .unwrap_or(now);
            next.insert(provider, slot + gap);
            slot
        };
        tokio::time::sleep_until(slot.into()).await;
    }
}

#[async_trait::async_trait]
impl trustmap_connector::SecretVerifier for Verifier {
    async fn verify(&self, matches: &mut [SecretMatch]) {
        self.verify_all(matches).await;
    }
}

/// The questions to ask about `matches`: one per verifiable secret; an AWS secret key with
/// the key id found nearest to it in the same file or blob (and its session token).
fn plan(matches: &[SecretMatch]) -> Vec<Job> {
    let mut jobs = Vec::new();
    let mut paired_ids = std::collections::HashSet::new();
    for (i, m) in matches.iter().enumerate() {
        match m.rule_id.as_str() {
            AWS_SECRET_RULE => match nearest(matches, i, AWS_KEY_ID_RULE) {
                Some(key_id) => {
                    paired_ids.insert(key_id);
                    let temporary = matches[key_id].secret.expose().starts_with("ASIA");
                    let session = nearest(matches, i, AWS_SESSION_RULE);
                    if temporary && session.is_none() {
                        jobs.push(Job::Unpaired(
                            i,
                            AWS,
                            "aws: a temporary (ASIA) key without its session token beside it",
                        ));
                    } else {
                        jobs.push(Job::Aws {
                            key_id,
                            secret: i,
                            session: session.filter(|_| temporary),
                        });
                    }
                }
                None => jobs.push(Job::Unpaired(
                    i,
                    AWS,
                    "aws: no access key id beside it to sign with",
                )),
            },
            GOOGLE_KEY_RULE => jobs.push(Job::Google(i)),
            rule => {
                if let Some(issuer) = issuer_for(rule) {
                    jobs.push(Job::Http(issuer, i));
                }
            }
        }
    }
    for (i, m) in matches.iter().enumerate() {
        if m.rule_id == AWS_KEY_ID_RULE && !paired_ids.contains(&i) {
            jobs.push(Job::Unpaired(
                i,
                AWS,
                "aws: no secret access key beside it to sign with",
            ));
        }
    }
    jobs
}

/// The match of `rule` in the same file or blob as `matches[i]`, nearest by line.
fn nearest(matches: &[SecretMatch], i: usize, rule: &str) -> Option<usize> {
    let me = &matches[i];
    matches
        .iter()
        .enumerate()
        .filter(|(_, m)| m.rule_id == rule && m.path == me.path && m.commit == me.commit)
        .min_by_key(|(_, m)| m.line.abs_diff(me.line))
        .map(|(j, _)| j)
}

/// The cache key of a job: the digest of what is sent, so the same secret found in many
/// places is asked about once.
fn cache_key(matches: &[SecretMatch], job: &Job) -> String {
    let value = |i: usize| matches[i].secret.expose().to_string();
    let sent = match *job {
        Job::Http(_, i) | Job::Google(i) => value(i),
        Job::Aws {
            key_id,
            secret,
            session,
        } => format!(
            "{}\0{}\0{}",
            value(key_id),
            value(secret),
            session.map(value).unwrap_or_default()
        ),
        Job::Unpaired(i, ..) => format!("unpaired\0{}", value(i)),
    };
    format!("{}:{}", job.provider(), Secret::new(sent).digest())
}

/// `text` with the secret replaced by its redacted form: issuers echo what they were sent.
fn scrub(text: &str, secret: &Secret) -> String {
    let value = secret.expose();
    if value.len() >= 4 && text.contains(value) {
        text.replace(value, &redact(value))
    } else {
        text.to_string()
    }
}

/// A transport error in words that never include the URL (a Telegram token rides in it).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "no answer in time".into()
    } else if e.is_connect() {
        "cannot connect".into()
    } else if e.is_redirect() {
        "redirected (not followed)".into()
    } else if e.is_body() || e.is_decode() {
        "the answer could not be read".into()
    } else {
        "the request failed".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(rule: &str, value: &str, path: &str, line: u64) -> SecretMatch {
        SecretMatch {
            rule_id: rule.into(),
            rule_name: rule.into(),
            severity: trustmap_model::Severity::High,
            secret: Secret::new(value),
            path: path.into(),
            line,
            column: 1,
            commit: None,
            commit_date: None,
            also_seen_in: Vec::new(),
            encoding: None,
            hints: BTreeMap::new(),
            entropy: 4.0,
            remediation: None,
            verification: None,
        }
    }

    #[test]
    fn aws_secrets_pair_with_the_nearest_key_id_of_the_same_file() {
        let ms = vec![
            found(AWS_KEY_ID_RULE, "AKIAAAAAAAAAAAAAAAAA", "a/creds", 1),
            found(AWS_SECRET_RULE, "s1", "a/creds", 2),
            found(AWS_KEY_ID_RULE, "AKIABBBBBBBBBBBBBBBB", "a/creds", 10),
            found(AWS_SECRET_RULE, "s2", "a/creds", 11),
            found(AWS_SECRET_RULE, "s3", "b/other", 1),
            found(AWS_KEY_ID_RULE, "AKIACCCCCCCCCCCCCCCC", "c/lonely", 1),
        ];
        let jobs = plan(&ms);
        let pairs: Vec<(usize, usize)> = jobs
            .iter()
            .filter_map(|j| match j {
                Job::Aws { key_id, secret, .. } => Some((*key_id, *secret)),
                _ => None,
            })
            .collect();
        assert_eq!(pairs, vec![(0, 1), (2, 3)]);
        let unpaired: Vec<usize> = jobs
            .iter()
            .filter_map(|j| match j {
                Job::Unpaired(i, ..) => Some(*i),
                _ => None,
            })
            .collect();
        assert_eq!(unpaired, vec![4, 5]);
    }

    #[test]
    fn a_temporary_key_needs_its_session_token() {
        let ms = vec![
            found(AWS_KEY_ID_RULE, "ASIAAAAAAAAAAAAAAAAA", "x", 1),
            found(AWS_SECRET_RULE, "s1", "x", 2),
        ];
        assert!(matches!(plan(&ms)[..], [Job::Unpaired(1, ..)]));
    }

    #[test]
    fn options_name_the_bad_key() {
        let mut o = VerifyOptions::default();
        o.endpoints.insert("gitbub".into(), "http://x".into());
        assert!(o.validate().unwrap_err().starts_with("endpoints.gitbub"));
        let mut o = VerifyOptions::default();
        o.endpoints.insert("slack".into(), "ftp://x".into());
        assert!(o.validate().unwrap_err().contains("not an http(s) URL"));
    }

    #[test]
    fn at_least_fifteen_issuers() {
        assert!(providers().len() >= 15, "{:?}", providers());
    }
}
