#!/bin/sh
# Run every fuzz target for SECONDS (default 60) each, starting from the seed
# corpus kept in git; the grown corpus stays in corpus/ (not in git).
set -eu
cd "$(dirname "$0")"
secs=${1:-60}
for t in spec_parse channel_decode mount_options path_relative; do
    mkdir -p "corpus/$t"
    cp -n corpus-seed/"$t"/* "corpus/$t/" 2>/dev/null || true
    cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10
done
