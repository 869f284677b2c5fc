//! `trustmap sweep` over a Kubernetes cluster (testkit::k8s's export, Secret data scanned) and
//! the AWS account its workload identity reaches (an offline authorization-details export):
//! the exact findings, among them the cross-cloud chain — the partner's service account that
//! may act as an AWS role with `s3:*` is one finding naming both — and a Google service account
//! no connector sees, which is a note, not a finding.
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use trustmap_testkit::findings::comparable;
use trustmap_testkit::k8s;

fn write_estate(dir: &Path) {
    std::fs::write(dir.join("partners.toml"), k8s::PARTNERS).unwrap();
    std::fs::write(
        dir.join("k8s.json"),
        serde_json::to_vec_pretty(&k8s::export()).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("aws.json"),
        serde_json::to_vec_pretty(&k8s::aws_authorization_details()).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("sweep.toml"),
        format!(
            "[sweep]\npartners = \"partners.toml\"\ninternal = [\"domain:corp.example\"]\nmax_credential_age_days = 365\n\n[[connectors]]\ntype = \"kubernetes\"\nname = \"prod-eu\"\ncluster = \"{}\"\nexport_file = \"k8s.json\"\nscan_secrets = true\noidc_issuer = \"https://oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789\"\n\n[[connectors]]\ntype = \"aws-iam\"\nname = \"aws\"\naccount_id = \"{}\"\nauthorization_details_file = \"aws.json\"\n",
            k8s::CLUSTER,
            k8s::AWS_ACCOUNT
        ),
    )
    .unwrap();
}

fn sweep(dir: &Path) -> (std::process::Output, Vec<Value>) {
    let o = Command::new(env!("CARGO_BIN_EXE_trustmap"))
        .current_dir(dir)
        .args([
            "sweep",
            "--config",
            "sweep.toml",
            "--out",
            "out",
            "--format",
            "jsonl,json,md",
            "--now",
            "2026-11-22",
        ])
        .output()
        .unwrap();
    let findings = std::fs::read_to_string(dir.join("out/findings.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (o, findings)
}

fn expected() -> Vec<String> {
    let mut v: Vec<String> = [
        // A Stripe key in an Opaque Secret's data.
        "leaked_secret critical secret:@k8s:prod-eu/payments/secrets/stripe/config.yaml -",
        // OldCo is revoked; its contractor is still bound to cluster-admin.
        "lingering_access critical k8s:prod-eu:user/contractor@oldco.example oldco",
        "over_scoped critical k8s:prod-eu:user/contractor@oldco.example oldco",
        "missing_governance low partner:acme acme",
        "missing_governance low partner:datapipe datapipe",
        "missing_governance low partner:datapipe datapipe",
        // Acme's subcontractor's user reads our Secrets, though Acme allows no subcontractors.
        "nested_access high k8s:prod-eu:user/ops@datapipe.example datapipe",
        "over_scoped critical k8s:prod-eu:user/ops@datapipe.example datapipe",
        // The cross-cloud chain: Acme's account may act as our AWS role with s3:*.
        "over_scoped critical k8s:prod-eu:sa/acme-etl/etl-runner acme",
        // The role itself: ours, admin, and nobody's.
        "over_scoped high aws:123456789012:role/etl-s3 -",
        "unowned_identity medium aws:123456789012:role/etl-s3 -",
        // A legacy token from 2023, and its account nobody owns.
        "stale_credential high k8s:prod-eu:secret/payments/legacy-ci-token -",
        "unowned_identity medium k8s:prod-eu:sa/payments/legacy-ci -",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect();
    v.sort();
    v
}

#[test]
fn a_cluster_and_the_aws_account_it_reaches() {
    let dir = tempfile::tempdir().unwrap();
    write_estate(dir.path());
    let (out, findings) = sweep(dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.code().is_some_and(|c| c <= 1), "{stderr}");
    assert_eq!(comparable(&findings), expected(), "{stderr}");

    // The chain is one finding that names both ends.
    let chain = findings
        .iter()
        .find(|f| f["subject"]["id"] == "k8s:prod-eu:sa/acme-etl/etl-runner")
        .unwrap();
    assert_eq!(
        chain["title"],
        "acme-etl/etl-runner of Acme Analytics Ltd has permissions beyond what was approved (acting as aws:123456789012:role/etl-s3)"
    );
    assert!(chain["evidence"]["beyond_approved"]
        .as_array()
        .unwrap()
        .contains(&"aws:s3:*".into()));
    // The Google account no connector sees is a note, not a finding.
    assert!(
        stderr.contains(
            "payments/gke-sync may act as gcp:corp-prod:sa/sync@corp-prod.iam.gserviceaccount.com"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("RoleBinding payments/broken: refers to Role missing-role"),
        "{stderr}"
    );
    // The planted key appears nowhere in full.
    for entry in std::fs::read_dir(dir.path().join("out")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains(k8s::STRIPE_KEY));
    }
    // The revoked partner's exit plan removes the contractor from its binding.
    let plan = Command::new(env!("CARGO_BIN_EXE_trustmap"))
        .current_dir(dir.path())
        .args([
            "exit-plan",
            "oldco",
            "--config",
            "sweep.toml",
            "--out",
            "plans",
            "--now",
            "2026-11-22",
        ])
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&plan.stdout);
    assert!(
        md.contains("kubectl --context=prod-eu patch clusterrolebinding oldco-admin --type=json"),
        "{md}\n{}",
        String::from_utf8_lossy(&plan.stderr)
    );
}
