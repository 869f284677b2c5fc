//! IAM policy documents: decoding (URL-encoded or plain JSON, string or object), trust
//! principals with their conditions, and permission summaries in the approved-scope
//! vocabulary (`aws:s3:GetObject`, `aws:s3:*`, `aws:*`).
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// A policy document that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("policy document is not UTF-8 after URL-decoding: {0}")]
    NotUtf8(#[from] std::str::Utf8Error),
    #[error("policy document is not JSON: {0}")]
    NotJson(#[from] serde_json::Error),
    #[error("policy document is neither a JSON object nor a string: {0}")]
    WrongType(&'static str),
}

/// A policy document as AWS hands it out: the API returns URL-encoded JSON strings, the CLI
/// and moto return plain JSON (as a string or already an object).
pub fn decode_document(doc: &Value) -> Result<Value, DocumentError> {
    match doc {
        Value::String(s) => {
            let text = if s.trim_start().starts_with('{') {
                s.clone()
            } else {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8()?
                    .into_owned()
            };
            Ok(serde_json::from_str(&text)?)
        }
        Value::Object(_) => Ok(doc.clone()),
        other => Err(DocumentError::WrongType(kind_of(other))),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `Statement` may be one object or an array of them.
fn statements(doc: &Value) -> Vec<&Value> {
    match doc.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    }
}

/// A string or an array of strings (IAM allows both almost everywhere).
fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        Some(Value::Bool(b)) => vec![b.to_string()],
        Some(Value::Number(n)) => vec![n.to_string()],
        _ => Vec::new(),
    }
}

fn is_allow(st: &Value) -> bool {
    st.get("Effect").and_then(Value::as_str) == Some("Allow")
}

/// Who a trust policy lets in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Principal {
    /// `"*"` or `{"AWS": "*"}`: anyone, narrowed only by conditions.
    Anyone,
    /// An account (bare id or its root ARN).
    Account(String),
    /// A specific role or user ARN in `account`.
    Arn { account: String, arn: String },
    /// A web identity or SAML provider: the OIDC issuer host or the provider ARN.
    Federated(String),
    /// An AWS service (`ec2.amazonaws.com`): AWS itself, not an outsider.
    Service(String),
}

/// One `Allow` statement of a trust policy, for one principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trust {
    pub principal: Principal,
    pub actions: Vec<String>,
    /// Condition key → values, with the operator prefixed unless it is `StringEquals`:
    /// `sts:ExternalId → "etl-7f3a"`, `token.actions.githubusercontent.com:sub →
    /// "StringLike: repo:acme/etl:*"`.
    pub conditions: BTreeMap<String, String>,
}

fn conditions_of(st: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(Value::Object(ops)) = st.get("Condition") {
        for (op, keys) in ops {
            if let Value::Object(keys) = keys {
                for (k, v) in keys {
                    let values = strings(Some(v)).join(", ");
                    let value = if op == "StringEquals" {
                        values
                    } else {
                        format!("{op}: {values}")
                    };
                    out.insert(k.clone(), value);
                }
            }
        }
    }
    out
}

/// The account of `arn:aws:iam::123456789012:...`.
pub fn arn_account(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    let (_, _, _, _, account) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    (!account.is_empty()).then_some(account)
}

fn aws_principal(p: &str) -> Principal {
    if p == "*" {
        return Principal::Anyone;
    }
    if p.len() == 12 && p.bytes().all(|b| b.is_ascii_digit()) {
        return Principal::Account(p.to_string());
    }
    match arn_account(p) {
        Some(acct) if p.ends_with(":root") => Principal::Account(acct.to_string()),
        Some(acct) => Principal::Arn {
            account: acct.to_string(),
            arn: p.to_string(),
        },
        // A unique id (AROA..., AIDA...): the principal was deleted and AWS shows its id.
        None => Principal::Arn {
            account: String::new(),
            arn: p.to_string(),
        },
    }
}

/// `arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com` → the issuer host.
fn federated_principal(p: &str) -> Principal {
    let issuer = p
        .split_once(":oidc-provider/")
        .map_or(p, |(_, host)| host)
        .to_string();
    Principal::Federated(issuer)
}

/// Every principal an `Allow` statement of a trust policy lets assume the role.
pub fn trusts(doc: &Value) -> Vec<Trust> {
    let mut out = Vec::new();
    for st in statements(doc).into_iter().filter(|s| is_allow(s)) {
        let actions = strings(st.get("Action"));
        let conditions = conditions_of(st);
        let mut principals = Vec::new();
        match st.get("Principal") {
            Some(Value::String(s)) if s == "*" => principals.push(Principal::Anyone),
            Some(Value::Object(map)) => {
                for (kind, v) in map {
                    for p in strings(Some(v)) {
                        principals.push(match kind.as_str() {
                            "AWS" => aws_principal(&p),
                            "Federated" => federated_principal(&p),
                            "Service" => Principal::Service(p),
                            _ => Principal::Account(p),
                        });
                    }
                }
            }
            _ => {}
        }
        for principal in principals {
            out.push(Trust {
                principal,
                actions: actions.clone(),
                conditions: conditions.clone(),
            });
        }
    }
    out
}

/// What a set of permission policies allows, for the over-scope checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permissions {
    /// Allowed actions as scopes: `aws:s3:GetObject`, `aws:s3:*`, `aws:*`.
    pub scopes: BTreeSet<String>,
    /// Some `Allow` has `Resource: "*"` (or `NotResource`).
    pub any_resource: bool,
    /// `Action: "*"` on `Resource: "*"`, or `NotAction` on `*`: administrator.
    pub admin: bool,
}

/// `s3:GetObject` → `aws:s3:GetObject`; `*` → `aws:*`.
pub fn scope_of(action: &str) -> String {
    if action == "*" {
        "aws:*".to_string()
    } else {
        format!("aws:{action}")
    }
}

impl Permissions {
    /// Add the `Allow` statements of one permission policy document.
    pub fn add_document(&mut self, doc: &Value) {
        for st in statements(doc).into_iter().filter(|s| is_allow(s)) {
            let resources = strings(st.get("Resource"));
            let any_resource =
                resources.iter().any(|r| r == "*") || st.get("NotResource").is_some();
            self.any_resource |= any_resource;
            if st.get("NotAction").is_some() {
                // "Everything except ...": as broad as a wildcard for review purposes.
                self.scopes.insert("aws:*".into());
                self.admin |= any_resource;
                continue;
            }
            for a in strings(st.get("Action")) {
                if a == "*" && any_resource {
                    self.admin = true;
                }
                self.scopes.insert(scope_of(&a));
            }
        }
    }

    pub fn merge(&mut self, other: &Permissions) {
        self.scopes.extend(other.scopes.iter().cloned());
        self.any_resource |= other.any_resource;
        self.admin |= other.admin;
    }
}

/// A managed policy whose document the export does not carry: the well-known AWS ones by name.
pub fn known_managed_policy(name: &str) -> Option<Permissions> {
    let (scopes, admin): (&[&str], bool) = match name {
        "AdministratorAccess" => (&["aws:*"], true),
        "PowerUserAccess" => (&["aws:*"], true),
        "IAMFullAccess" => (&["aws:iam:*"], false),
        "AmazonS3FullAccess" => (&["aws:s3:*"], false),
        "AmazonS3ReadOnlyAccess" => (&["aws:s3:Get*", "aws:s3:List*"], false),
        "ReadOnlyAccess" => (&["aws:*:Get*", "aws:*:List*", "aws:*:Describe*"], false),
        _ => return None,
    };
    Some(Permissions {
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        any_resource: true,
        admin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_url_encoded_and_plain_documents() {
        let plain = json!({"Version": "2012-10-17", "Statement": []});
        let encoded = Value::String(
            "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D".into(),
        );
        assert_eq!(decode_document(&encoded).unwrap(), plain);
        assert_eq!(
            decode_document(&Value::String(plain.to_string())).unwrap(),
            plain
        );
        assert_eq!(decode_document(&plain).unwrap(), plain);
        let err = decode_document(&Value::String("not json".into()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not JSON"), "{err}");
    }

    #[test]
    fn principal_forms_and_conditions() {
        let doc = json!({"Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ["111122223333", "arn:aws:iam::444455556666:root",
                "arn:aws:iam::777788889999:role/etl"]}, "Action": "sts:AssumeRole",
             "Condition": {"StringEquals": {"sts:ExternalId": "x-1"}}},
            {"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com"},
             "Action": "sts:AssumeRoleWithWebIdentity",
             "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": ["repo:acme/etl:*", "repo:acme/web:ref:refs/heads/main"]}}},
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"},
            {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"},
            {"Effect": "Deny", "Principal": {"AWS": "999999999999"}, "Action": "sts:AssumeRole"}
        ]});
        let t = trusts(&doc);
        let principals: Vec<_> = t.iter().map(|t| t.principal.clone()).collect();
        assert_eq!(
            principals,
            vec![
                Principal::Account("111122223333".into()),
                Principal::Account("444455556666".into()),
                Principal::Arn {
                    account: "777788889999".into(),
                    arn: "arn:aws:iam::777788889999:role/etl".into()
                },
                Principal::Federated("token.actions.githubusercontent.com".into()),
                Principal::Service("ec2.amazonaws.com".into()),
                Principal::Anyone,
            ]
        );
        assert_eq!(t[0].conditions["sts:ExternalId"], "x-1");
        assert_eq!(
            t[3].conditions["token.actions.githubusercontent.com:sub"],
            "StringLike: repo:acme/etl:*, repo:acme/web:ref:refs/heads/main"
        );
    }

    #[test]
    fn permissions_summary() {
        let mut p = Permissions::default();
        p.add_document(&json!({"Statement": {"Effect": "Allow", "Action": ["s3:GetObject", "s3:List*"], "Resource": "arn:aws:s3:::b/*"}}));
        assert!(!p.admin && !p.any_resource);
        assert_eq!(
            p.scopes.iter().collect::<Vec<_>>(),
            vec!["aws:s3:GetObject", "aws:s3:List*"]
        );
        p.add_document(
            &json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
        );
        assert!(p.admin && p.scopes.contains("aws:*"));
        let mut q = Permissions::default();
        q.add_document(
            &json!({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}),
        );
        assert!(q.admin);
    }
}
