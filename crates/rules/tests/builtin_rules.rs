//! The shipped rules: they compile, there are enough of them, and each one finds its examples
//! and none of its negative examples.
use trustmap_rules::{check_examples, Engine};

#[test]
fn builtin_rules_compile_and_cover_the_families() {
    let engine = Engine::builtin().expect("built-in rules compile");
    assert!(
        engine.rules().len() >= 100,
        "only {} rules",
        engine.rules().len()
    );
    for id in [
        "aws-access-key-id",
        "aws-secret-access-key",
        "gcp-service-account-key",
        "azure-storage-connection-string",
        "github-pat-classic",
        "github-fine-grained-pat",
        "gitlab-pat",
        "slack-webhook-url",
        "stripe-secret-key",
        "openai-api-key",
        "anthropic-api-key",
        "npm-access-token",
        "private-key-openssh",
        "pgp-private-key",
        "putty-private-key",
        "age-secret-key",
        "jwt",
        "postgres-uri",
        "kubeconfig-client-key",
        "netrc-password",
        "generic-password",
    ] {
        assert!(
            engine.rules().iter().any(|r| r.id == id),
            "missing rule {id}"
        );
    }
}

#[test]
fn every_rule_passes_its_examples() {
    let engine = Engine::builtin().expect("built-in rules compile");
    let failures = check_examples(&engine);
    let report: Vec<String> = failures.iter().map(ToString::to_string).collect();
    assert!(
        failures.is_empty(),
        "{} example failures:\n{}",
        failures.len(),
        report.join("\n")
    );
}
