//! deploy/kubernetes/ offline: every manifest passes Kubernetes' own OpenAPI schemas (PyPI
//! `kubernetes-validate`, strict: unknown fields are errors), a broken one does not, the shard
//! counts agree between the Indexed Jobs and their trustmap arguments, and the ConfigMap's
//! sweep.toml and partners.toml are configurations trustmap accepts.
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use std::path::{Path, PathBuf};
use std::process::Command;

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/kubernetes")
}

fn manifests() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(deploy())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn validate(files: &[PathBuf]) -> std::process::Output {
    Command::new("kubernetes-validate")
        .args(["--strict", "--no-warn"])
        .args(files)
        .output()
        .expect("kubernetes-validate (pip install kubernetes-validate; .ci/run installs it)")
}

fn yaml(name: &str) -> serde_yaml_ng::Value {
    serde_yaml_ng::from_str(&std::fs::read_to_string(deploy().join(name)).unwrap()).unwrap()
}

/// The container's arguments, joined by spaces.
fn args(pod_spec: &serde_yaml_ng::Value) -> String {
    let c = &pod_spec["containers"][0];
    c["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn every_manifest_passes_the_kubernetes_schemas_and_a_broken_one_does_not() {
    let files = manifests();
    assert!(files.len() >= 6, "{files:?}");
    let o = validate(&files);
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yaml");
    let text = std::fs::read_to_string(deploy().join("shards-job.yaml")).unwrap();
    std::fs::write(
        &broken,
        text.replace(
            "completionMode: Indexed",
            "completionMode: Indexed\n  shardCount: 4",
        ),
    )
    .unwrap();
    let o = validate(&[broken]);
    assert!(
        !o.status.success(),
        "an unknown field must fail strict validation"
    );
}

#[test]
fn shard_counts_agree_between_the_jobs_and_their_arguments() {
    let shards = yaml("shards-job.yaml");
    let spec = &shards["spec"];
    assert_eq!(spec["completionMode"].as_str(), Some("Indexed"));
    let n = spec["completions"].as_u64().unwrap();
    assert_eq!(spec["parallelism"].as_u64(), Some(n));
    let shard_args = args(&spec["template"]["spec"]);
    assert!(
        shard_args.contains(&format!("--shard $(JOB_COMPLETION_INDEX)/{n}")),
        "{shard_args}"
    );
    let merge = yaml("merge-job.yaml");
    let merge_args = args(&merge["spec"]["template"]["spec"]);
    assert!(merge_args.contains(&format!("--merge {n}")), "{merge_args}");
    // Both name the same run.
    let run = |doc: &serde_yaml_ng::Value| {
        doc["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "TRUSTMAP_RUN")
            .unwrap()["value"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(run(&shards), run(&merge));

    // The nightly Job: SHARDS shard pods and one more, the merge.
    let nightly = yaml("nightly-cronjob.yaml");
    let job = &nightly["spec"]["jobTemplate"]["spec"];
    assert_eq!(job["completionMode"].as_str(), Some("Indexed"));
    let env = job["template"]["spec"]["containers"][0]["env"]
        .as_sequence()
        .unwrap();
    let count: u64 = env.iter().find(|e| e["name"] == "SHARDS").unwrap()["value"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(job["completions"].as_u64(), Some(count + 1));
    assert_eq!(job["parallelism"].as_u64(), Some(count + 1));
}

#[test]
fn the_configmap_holds_a_configuration_trustmap_accepts() {
    let config = yaml("configmap.yaml");
    let dir = tempfile::tempdir().unwrap();
    for file in ["sweep.toml", "partners.toml"] {
        std::fs::write(
            dir.path().join(file),
            config["data"][file].as_str().unwrap(),
        )
        .unwrap();
    }
    let plan = trustmap_sweep::load_config(&dir.path().join("sweep.toml")).unwrap();
    assert_eq!(plan.connectors.len(), 2);
    assert!(
        plan.connectors.iter().all(|c| c.splits_into_units()),
        "both spread over the shards"
    );
    let o = Command::new(env!("CARGO_BIN_EXE_trustmap"))
        .args(["partners", "check"])
        .arg(dir.path().join("partners.toml"))
        .args(["--now", "2026-12-03"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
