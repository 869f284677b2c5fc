#!/bin/sh
# Seed corpora for the fuzz targets from what the repository already holds: the rule files,
# the demo estate (sweep.toml, partners.toml, the AWS exports, the GitHub inventory, the Entra,
# Google Cloud and Kubernetes exports), the observation examples of docs/observations.md and git's own batch output of this
# repository. Usage: fuzz/seed.sh PATH-TO-TRUSTMAP-BINARY (corpora go to fuzz/corpus/, which
# is not committed).
set -eu
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
corpus=$here/corpus
demo=$(mktemp -d)
trap 'rm -rf "$demo"' EXIT
"$bin" demo --dir "$demo/estate" -q >/dev/null 2>&1
for t in rule_file sweep_toml partners_toml aws_exports github_bodies graph_bodies \
         observations_to_reports git_batch decoders scan_engine gcp_exports kubernetes_export \
         incremental_scan; do
    mkdir -p "$corpus/$t"
done
cp "$root"/rules/*.toml "$corpus/rule_file/"
cp "$demo/estate/sweep.toml" "$corpus/sweep_toml/demo.toml"
cp "$demo/estate/partners.toml" "$corpus/partners_toml/demo.toml"
cp "$demo/estate/aws/authorization-details.json" "$corpus/aws_exports/gaad.json"
{ printf 'report:'; cat "$demo/estate/aws/credential-report.csv"; } > "$corpus/aws_exports/report.csv"
cp "$demo/estate/github/inventory.json" "$corpus/github_bodies/inventory.json"
i=0
for page in servicePrincipals applications oauth2PermissionGrants appRoleAssignments; do
    # The first byte picks the page type (see graph_bodies.rs); the export files are arrays,
    # a Graph page wraps them in "value".
    { printf "\\$(printf '%03o' $i)"; printf '{"value":'; cat "$demo/estate/entra/$page.json"; printf '}'; } \
        > "$corpus/graph_bodies/$page.json"
    i=$((i + 1))
done
i=0
for f in iam-policies service-accounts sa-keys wif-providers workspace-tokens; do
    # The first byte picks the file (see gcp_exports.rs).
    { printf "\\$(printf '%03o' $i)"; cat "$demo/estate/gcp/$f.json"; } > "$corpus/gcp_exports/$f.json"
    i=$((i + 1))
done
cp "$demo/estate/k8s/cluster.json" "$corpus/kubernetes_export/cluster.json"
grep '^{"type"' "$root/docs/observations.md" > "$corpus/observations_to_reports/docs.jsonl"
cd "$root"
git rev-list --objects HEAD -- rules docs | head -40 | cut -d' ' -f1 | git cat-file --batch > "$corpus/git_batch/batch"
cp "$root"/rules/*.toml "$corpus/scan_engine/"
cp "$demo/estate/shared-config/"* "$corpus/scan_engine/"
cp "$root"/rules/*.toml "$corpus/decoders/"
# Two versions of one file: a rule file, and the same file with its first lines edited.
for f in "$root"/rules/*.toml; do
    { cat "$f"; printf '\0'; sed '1,20s/=/ = /' "$f"; } > "$corpus/incremental_scan/$(basename "$f")"
done
cp "$demo/estate/shared-config/"* "$corpus/decoders/"
echo "seeded $(find "$corpus" -type f | wc -l) files into $corpus"
