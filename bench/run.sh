#!/usr/bin/env bash
# The scanner benchmarks: trustmap beside Kingfisher (and detect-secrets) on the same inputs.
# Usage: bench/run.sh [--skip-detect-secrets] [--history PATH | --history-blobs N] [--skip-history]
#   --history PATH      the git history row on any local clone (a long real history);
#                       without it, a generated history of --history-blobs blobs (default 1,000,000)
#   --skip-history      only the directory and the small planted history
# Inputs are kept in bench/out between runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scanner_args=()
history_args=()
run_history=1
while [ $# -gt 0 ]; do
  case "$1" in
    --history) history_args+=(--repo "$2"); shift 2 ;;
    --history-blobs) history_args+=(--blobs "$2"); shift 2 ;;
    --skip-history) run_history=0; shift ;;
    *) scanner_args+=("$1"); shift ;;
  esac
done
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }
python3 -c 'import kingfisher' 2>/dev/null || pip install -q kingfisher-bin
command -v detect-secrets >/dev/null || pip install -q detect-secrets
cargo build --release -q -p trustmap-cli -p trustmap-bench
target/release/trustmap-bench --dir bench/out --trustmap target/release/trustmap "${scanner_args[@]}"
if [ "$run_history" = 1 ]; then
  target/release/trustmap-history-bench --dir bench/out --trustmap target/release/trustmap "${history_args[@]}"
fi
