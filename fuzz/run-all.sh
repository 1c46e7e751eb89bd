#!/bin/sh
# Run every fuzz target for SECONDS (default 60) each on the corpus kept in
# git (corpus/<target>); new inputs libFuzzer finds are added there.
#
# The machine has one (stable) toolchain: cargo-fuzz needs nightly-only
# compiler flags (-Zsanitizer, coverage), which RUSTC_BOOTSTRAP=1 unlocks on
# stable. Only this fuzz crate is built that way, in its own target dir.
set -eu
cd "$(dirname "$0")"
secs=${1:-60}
mkdir -p target
export RUSTC_BOOTSTRAP=1
for t in spec_parse channel_decode mount_options path_relative; do
    mkdir -p "corpus/$t"
    # libFuzzer's last line is "Done N runs in S second(s)"; keep it per target.
    cargo fuzz run "$t" "corpus/$t" -- -max_total_time="$secs" \
        -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 2>&1 |
        tee "target/fuzz-$t.log" | grep -E '^(Done|==[0-9]+==|SUMMARY)' || true
    grep -q '^Done ' "target/fuzz-$t.log" || { echo "fuzz target $t failed" >&2; tail -30 "target/fuzz-$t.log" >&2; exit 1; }
done
