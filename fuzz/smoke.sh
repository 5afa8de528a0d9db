#!/usr/bin/env bash
# A short run of every fuzz target (60 s each; FUZZ_SECONDS to change), so that no parser path
# lands without being fuzzed at all. `.ci/run` runs it. Needs a nightly toolchain and
# cargo-fuzz: both are installed here when missing. Longer runs: see README.md.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${FUZZ_SECONDS:-60}

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

# The examples (good and broken, the heavy shapes included) seed the cycle target.
mkdir -p corpus/cycle corpus/protocol
cp ../examples/cycles/*.json ../examples/cycles/broken/*.json corpus/cycle/
for target in cycle protocol; do
    echo "== fuzz $target for $seconds s"
    log="target/smoke-$target.log"
    mkdir -p target
    if ! cargo +nightly fuzz run "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -max_len=20000 -print_final_stats=1 >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        echo "FAIL: fuzz $target (a crash leaves its input in fuzz/artifacts/$target/)" >&2
        exit 1
    fi
    grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' "$log"
done
