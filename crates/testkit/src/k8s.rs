//! A designed Kubernetes cluster for the kubernetes connector's tests, as the objects the API
//! serves (`kubectl get ... -A -o json` items), and the AWS account its workload identity
//! reaches.
//!
//! The cluster: a revoked partner's contractor bound to `cluster-admin`; a partner's analyst
//! with `view` in our namespace (approved); the partner's own namespace's service account bound
//! into ours to deploy, and annotated to act as an AWS role with `s3:*`; a subcontractor's
//! user who can read our Secrets; `system:masters` and kube-system's controllers (the
//! cluster's own); a binding to an account that does not exist and one to a role that does not
//! exist; an old legacy token; an account annotated to act as a Google service account no
//! connector sees; and a Stripe key in an Opaque Secret.
use base64::Engine as _;
use serde_json::{json, Value};

pub const CLUSTER: &str = "prod-eu";
pub const AWS_ACCOUNT: &str = "123456789012";
/// The Stripe key planted in `payments/stripe` (fabricated).
pub const STRIPE_KEY: &str = "sk_live_51Kq8ZtVb3Rn7Lw2Xc9Md4Pf6Hg";

pub const PARTNERS: &str = r#"
[[partners]]
id = "acme"
name = "Acme Analytics Ltd"
sponsor = "jane@corp.example"
purpose = "Nightly export"
status = "active"
expires = "2099-01-01"
allowed_scopes = ["k8s:get:pods", "k8s:list:pods", "k8s:watch:pods", "k8s:get:services", "k8s:list:services", "k8s:watch:services", "k8s:get:apps/deployments", "k8s:update:apps/deployments", "k8s:patch:apps/deployments", "aws:s3:GetObject"]
[partners.match]
email_domains = ["acme.example"]
name_patterns = ["acme-etl/*"]

[[partners]]
id = "datapipe"
name = "DataPipe LLC"
via = "acme"
sponsor = "jane@corp.example"
purpose = "Acme's ETL subcontractor"
status = "active"
expires = "2099-01-01"
[partners.match]
email_domains = ["datapipe.example"]

[[partners]]
id = "oldco"
name = "OldCo Consulting"
sponsor = "sam@corp.example"
purpose = "Migration (finished)"
status = "revoked"
expires = "2025-01-01"
[partners.match]
email_domains = ["oldco.example"]

[[owners]]
id = "platform"
contact = "platform@corp.example"
[owners.match]
name_patterns = ["gke-sync", "ci-*"]
"#;

fn meta(namespace: Option<&str>, name: &str) -> Value {
    let mut m = json!({"name": name, "uid": format!("uid-{name}"), "creationTimestamp": "2026-06-01T00:00:00Z"});
    if let Some(ns) = namespace {
        m["namespace"] = json!(ns);
    }
    m
}

fn account(ns: &str, name: &str, annotations: Value) -> Value {
    let mut m = meta(Some(ns), name);
    if !annotations.is_null() {
        m["annotations"] = annotations;
    }
    json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": m})
}

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> Value {
    json!({"apiGroups": groups, "resources": resources, "verbs": verbs})
}

fn cluster_role(name: &str, rules: Vec<Value>) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": meta(None, name), "rules": rules})
}

fn role(ns: &str, name: &str, rules: Vec<Value>) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta(Some(ns), name), "rules": rules})
}

fn subject(kind: &str, name: &str, ns: Option<&str>) -> Value {
    let mut s = json!({"kind": kind, "name": name});
    if kind == "ServiceAccount" {
        s["namespace"] = json!(ns.unwrap_or("default"));
    } else {
        s["apiGroup"] = json!("rbac.authorization.k8s.io");
    }
    s
}

fn binding(
    ns: Option<&str>,
    name: &str,
    role_kind: &str,
    role: &str,
    subjects: Vec<Value>,
) -> Value {
    let kind = if ns.is_some() {
        "RoleBinding"
    } else {
        "ClusterRoleBinding"
    };
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta(ns, name),
           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
           "subjects": subjects})
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// The cluster's objects, in the order `kubectl get serviceaccounts,secrets,roles,rolebindings,
/// clusterroles,clusterrolebindings -A -o json` lists them.
#[allow(clippy::too_many_lines)] // one object per line: the cluster as data
pub fn objects() -> Vec<Value> {
    let mut token = json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
        "metadata": meta(Some("payments"), "legacy-ci-token"),
        "data": {"token": b64("eyJhbGciOiJSUzI1NiJ9.e30.c2ln"), "namespace": b64("payments")}});
    token["metadata"]["creationTimestamp"] = json!("2023-03-01T00:00:00Z");
    token["metadata"]["annotations"] = json!({"kubernetes.io/service-account.name": "legacy-ci"});
    token["metadata"]["labels"] = json!({"kubernetes.io/legacy-token-last-used": "2023-04-02"});
    let stripe = json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": meta(Some("payments"), "stripe"),
        "data": {"config.yaml": b64(&format!("stripe:\n  secret_key: {STRIPE_KEY}\n"))}});
    vec![
        account("payments", "default", Value::Null),
        account("payments", "legacy-ci", Value::Null),
        account(
            "payments",
            "gke-sync",
            json!({"iam.gke.io/gcp-service-account": "sync@corp-prod.iam.gserviceaccount.com"}),
        ),
        account(
            "acme-etl",
            "etl-runner",
            json!({"eks.amazonaws.com/role-arn": format!("arn:aws:iam::{AWS_ACCOUNT}:role/etl/etl-s3")}),
        ),
        account("kube-system", "replicaset-controller", Value::Null),
        token,
        stripe,
        role(
            "payments",
            "deployer",
            vec![rule(
                &["apps"],
                &["deployments"],
                &["get", "update", "patch"],
            )],
        ),
        role(
            "payments",
            "secret-reader",
            vec![rule(&[""], &["secrets"], &["get", "list"])],
        ),
        binding(
            Some("payments"),
            "acme-read",
            "ClusterRole",
            "view",
            vec![subject("User", "analyst@acme.example", None)],
        ),
        binding(
            Some("payments"),
            "vendor-deploy",
            "Role",
            "deployer",
            vec![subject("ServiceAccount", "etl-runner", Some("acme-etl"))],
        ),
        binding(
            Some("payments"),
            "datapipe-debug",
            "Role",
            "secret-reader",
            vec![subject("User", "ops@datapipe.example", None)],
        ),
        binding(
            Some("payments"),
            "ghost",
            "Role",
            "deployer",
            vec![subject("ServiceAccount", "ghost", Some("payments"))],
        ),
        binding(
            Some("payments"),
            "broken",
            "Role",
            "missing-role",
            vec![subject("User", "dev@corp.example", None)],
        ),
        binding(
            Some("payments"),
            "ci",
            "Role",
            "deployer",
            vec![
                subject("ServiceAccount", "legacy-ci", Some("payments")),
                subject("User", "dev@corp.example", None),
            ],
        ),
        cluster_role("cluster-admin", vec![rule(&["*"], &["*"], &["*"])]),
        cluster_role(
            "view",
            vec![rule(
                &[""],
                &["pods", "services"],
                &["get", "list", "watch"],
            )],
        ),
        binding(
            None,
            "oldco-admin",
            "ClusterRole",
            "cluster-admin",
            vec![subject("User", "contractor@oldco.example", None)],
        ),
        binding(
            None,
            "cluster-admin",
            "ClusterRole",
            "cluster-admin",
            vec![subject("Group", "system:masters", None)],
        ),
        binding(
            None,
            "system:controller:replicaset-controller",
            "ClusterRole",
            "cluster-admin",
            vec![subject(
                "ServiceAccount",
                "replicaset-controller",
                Some("kube-system"),
            )],
        ),
    ]
}

/// The cluster as `kubectl get ... -A -o json` prints it.
pub fn export() -> Value {
    json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": objects()})
}

/// The AWS account's authorization details (`aws iam get-account-authorization-details`): the
/// role the partner's service account may act as, trusting the cluster's OIDC issuer.
pub fn aws_authorization_details() -> Value {
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::{AWS_ACCOUNT}:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789")},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {"oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789:sub": "system:serviceaccount:acme-etl:etl-runner"}}}]});
    json!({
        "UserDetailList": [], "GroupDetailList": [], "Policies": [],
        "RoleDetailList": [{
            "Path": "/etl/", "RoleName": "etl-s3", "RoleId": "AROAEXAMPLEETLS3000001",
            "Arn": format!("arn:aws:iam::{AWS_ACCOUNT}:role/etl/etl-s3"),
            "CreateDate": "2026-01-10T00:00:00Z",
            "AssumeRolePolicyDocument": trust,
            "InstanceProfileList": [], "RolePolicyList": [{"PolicyName": "s3-all", "PolicyDocument": {
                "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}}],
            "AttachedManagedPolicies": [], "Tags": [],
            "RoleLastUsed": {"LastUsedDate": "2026-11-30T00:00:00Z", "Region": "eu-west-1"}
        }]
    })
}

/// A generated cluster for the benchmark: `namespaces` namespaces, `accounts` service accounts
/// spread over them (one in ten with a legacy token, one in twenty annotated with an AWS
/// role), a few roles per namespace, and `bindings` RoleBindings, each binding one subject: an
/// account of its namespace, of another namespace, or an identity-provider user of a partner's
/// or our own domain. One ClusterRoleBinding in a thousand is to `cluster-admin`.
pub fn generated(namespaces: usize, accounts: usize, bindings: usize) -> Value {
    let namespaces = namespaces.max(1);
    let ns = |i: usize| format!("team-{:03}", i % namespaces);
    let mut items = vec![
        cluster_role("cluster-admin", vec![rule(&["*"], &["*"], &["*"])]),
        cluster_role(
            "view",
            vec![rule(
                &[""],
                &["pods", "services", "configmaps"],
                &["get", "list", "watch"],
            )],
        ),
    ];
    for i in 0..namespaces {
        items.push(role(
            &ns(i),
            "deployer",
            vec![rule(
                &["apps"],
                &["deployments", "replicasets"],
                &["get", "list", "update", "patch"],
            )],
        ));
        items.push(role(
            &ns(i),
            "secret-reader",
            vec![rule(&[""], &["secrets"], &["get", "list"])],
        ));
    }
    for a in 0..accounts {
        let annotations = if a % 20 == 0 {
            json!({"eks.amazonaws.com/role-arn": format!("arn:aws:iam::{AWS_ACCOUNT}:role/app-{a}")})
        } else {
            Value::Null
        };
        items.push(account(&ns(a), &format!("app-{a:05}"), annotations));
        if a % 10 == 0 {
            let mut t = json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
                "metadata": meta(Some(&ns(a)), &format!("app-{a:05}-token")), "data": {"token": b64("x")}});
            t["metadata"]["annotations"] =
                json!({"kubernetes.io/service-account.name": format!("app-{a:05}")});
            items.push(t);
        }
    }
    items.extend(generated_bindings(namespaces, accounts, bindings));
    json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items})
}

/// The generated cluster's bindings (see [`generated`]).
fn generated_bindings(namespaces: usize, accounts: usize, bindings: usize) -> Vec<Value> {
    let ns = |i: usize| format!("team-{:03}", i % namespaces);
    let mut items = Vec::with_capacity(bindings);
    for b in 0..bindings {
        let n = ns(b);
        let subject = match b % 10 {
            0..=5 => subject(
                "ServiceAccount",
                &format!("app-{:05}", (b * 7) % accounts.max(1)),
                Some(&ns((b * 7) % accounts.max(1))),
            ),
            6 | 7 => subject("User", &format!("dev{}@corp.example", b % 500), None),
            8 => subject(
                "User",
                &format!("eng{}@partner{}.example", b % 300, b % 30),
                None,
            ),
            _ => subject("Group", &format!("oidc:team-{}", b % 50), None),
        };
        let role = if b % 3 == 0 {
            ("ClusterRole", "view")
        } else if b % 3 == 1 {
            ("Role", "deployer")
        } else {
            ("Role", "secret-reader")
        };
        if b % 1000 == 999 {
            items.push(binding(
                None,
                &format!("admin-{b}"),
                "ClusterRole",
                "cluster-admin",
                vec![subject],
            ));
        } else {
            items.push(binding(
                Some(&n),
                &format!("b-{b}"),
                role.0,
                role.1,
                vec![subject],
            ));
        }
    }
    items
}
