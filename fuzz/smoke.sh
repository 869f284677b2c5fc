#!/bin/sh
# Run every fuzz target for SECONDS each (default 20) from the seed corpora: what CI does on
# each run. Needs the nightly toolchain and cargo-fuzz; longer runs: see fuzz/README.md.
# A development build (-D): it compiles in a third of the time, and a smoke run needs
# coverage of the seeds more than speed.
set -eu
secs=${1:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build -q -p trustmap-cli
fuzz/seed.sh "$root/target/debug/trustmap"
cargo +nightly fuzz build -D -s none
for target in $(cargo +nightly fuzz list); do
    echo "== fuzz $target for ${secs}s" >&2
    cargo +nightly fuzz run -D -s none "$target" "fuzz/corpus/$target" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 2>&1 \
        | grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|==|INFO: seed)|SUMMARY|panicked|Crash|crash-' >&2 || true
    # A crash leaves an artifact and a non-zero exit: fail the run on either.
    if ls "fuzz/artifacts/$target"/crash-* "fuzz/artifacts/$target"/oom-* "fuzz/artifacts/$target"/timeout-* >/dev/null 2>&1; then
        echo "fuzz target $target found a failing input: fuzz/artifacts/$target/" >&2
        exit 1
    fi
done
