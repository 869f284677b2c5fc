#!/usr/bin/env bash
# The scanner benchmark: trustmap beside Kingfisher and detect-secrets on the same inputs.
# Usage: bench/run.sh [--skip-detect-secrets]   (inputs are kept in bench/out between runs)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }
python3 -c 'import kingfisher' 2>/dev/null || pip install -q kingfisher-bin
command -v detect-secrets >/dev/null || pip install -q detect-secrets
cargo build --release -q -p trustmap-cli -p trustmap-bench
exec target/release/trustmap-bench --dir bench/out --trustmap target/release/trustmap "$@"
