#!/usr/bin/env bash
# conformance.sh: husk's own conformance suite (integration/tests/*.rs), run
# file by file and summed up by the spec document each file checks
# (docs/CONFORMANCE.md maps every statement to its test). Fetches nothing.
#
#   RUNTIME=/path/to/runtime hack/conformance.sh     (default target/debug/husk)
#
# Prints one line per section, "section: N passed, N failed" (plus ignored
# tests, which check statements husk does not meet yet), and last
# "N passed, N failed". Exit status 1 if anything failed. Must run as root.
set -u
cd "$(dirname "$0")/.."
export RUNTIME=${RUNTIME:-$PWD/target/debug/husk}
CARGO=${CARGO:-cargo}

# Spec document of each test file; files not listed count as "other".
section_of() {
    case $1 in
        lifecycle|state|kill|errors|spec_runtime) echo "runtime.md" ;;
        config|process|mounts|hooks|spec_config) echo "config.md" ;;
        linux_*|spec_linux|userns) echo "config-linux.md" ;;
        spec_features) echo "features.md" ;;
        *) echo "other (runc CLI, hardening, robustness)" ;;
    esac
}

order=("runtime.md" "config.md" "config-linux.md" "features.md" "other (runc CLI, hardening, robustness)")
declare -A pass fail ign
for s in "${order[@]}"; do pass[$s]=0; fail[$s]=0; ign[$s]=0; done

log=$(mktemp)
trap 'rm -f "$log"' EXIT
for f in integration/tests/*.rs; do
    t=$(basename "$f" .rs)
    s=$(section_of "$t")
    "$CARGO" test -q -p integration --test "$t" -- --test-threads=2 >"$log" 2>&1
    rc=$?
    line=$(grep -E '^test result:' "$log" | tail -1)
    if [ -z "$line" ]; then
        echo "$t: no test result (exit $rc):" >&2
        tail -20 "$log" >&2
        fail[$s]=$((fail[$s] + 1))
        continue
    fi
    p=$(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"$line")
    x=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
    i=$(sed -E 's/.* ([0-9]+) ignored.*/\1/' <<<"$line")
    pass[$s]=$((pass[$s] + p)); fail[$s]=$((fail[$s] + x)); ign[$s]=$((ign[$s] + i))
    if [ "$x" != 0 ] || [ "$rc" != 0 ]; then
        echo "$t: $line" >&2
        grep -E '^    [a-z_0-9]+$|^---- ' "$log" >&2
        [ "$x" = 0 ] && fail[$s]=$((fail[$s] + 1))  # e.g. a cleanup panic after the tests
    fi
done

tp=0; tf=0
for s in "${order[@]}"; do
    extra=""
    [ "${ign[$s]}" != 0 ] && extra=" (${ign[$s]} ignored)"
    echo "$s: ${pass[$s]} passed, ${fail[$s]} failed$extra"
    tp=$((tp + pass[$s])); tf=$((tf + fail[$s]))
done
echo "$tp passed, $tf failed"
[ "$tf" = 0 ]
