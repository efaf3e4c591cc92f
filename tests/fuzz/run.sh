#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang, ASan + UBSan, coverage-instrumented library) in
# build-fuzz/ and runs each for SECONDS seconds, starting from the committed corpus and
# regressions. Exits non-zero if any harness finds a crash, a leak, a timeout or undefined behavior;
# the failing input is kept in build-fuzz/artifacts/<harness>/.
#
#   bash tests/fuzz/run.sh [--merge] SECONDS
#
# New inputs go to a scratch directory, never into the committed corpus. With --merge, the corpus
# of each harness is replaced by a minimized merge (-merge=1 into a fresh directory) of the
# committed corpus and the new inputs: review and commit it.
set -euo pipefail
cd "$(dirname "$0")/../.."

merge=0
if [ "${1:-}" = "--merge" ]; then
    merge=1
    shift
fi
seconds=${1:?usage: tests/fuzz/run.sh [--merge] SECONDS}
build=build-fuzz
harnesses="csv npy model safetensors"

CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBNMLP_BUILD_FUZZ=ON \
    -DBNMLP_BUILD_TESTS=OFF -DBNMLP_BUILD_EXAMPLES=OFF -DBNMLP_WERROR=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target $(printf 'fuzz_%s ' $harnesses)

export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=0
for h in $harnesses; do
    scratch=$(mktemp -d)
    artifacts="$build/artifacts/$h/"
    mkdir -p "$artifacts"
    echo "=== fuzz_$h for ${seconds}s ==="
    if ! "$build/tests/fuzz/fuzz_$h" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$artifacts" \
        "$scratch" "tests/fuzz/corpus/$h" "tests/fuzz/regressions/$h" 2>"$build/fuzz_$h.log"; then
        tail -n 60 "$build/fuzz_$h.log" >&2
        echo "fuzz_$h FAILED: see $build/fuzz_$h.log and $artifacts" >&2
        failed=1
    else
        grep -E '^(#[0-9]+[[:space:]]+DONE|Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$build/fuzz_$h.log" || true
    fi
    if [ "$merge" = 1 ] && [ "$failed" = 0 ]; then
        fresh=$(mktemp -d)
        "$build/tests/fuzz/fuzz_$h" -merge=1 -rss_limit_mb=2048 "$fresh" "tests/fuzz/corpus/$h" "$scratch" \
            2>>"$build/fuzz_$h.merge.log"
        rm -f "tests/fuzz/corpus/$h"/*
        cp "$fresh"/* "tests/fuzz/corpus/$h/"
        echo "merged: $(ls "tests/fuzz/corpus/$h" | wc -l) inputs in tests/fuzz/corpus/$h"
        rm -rf "$fresh"
    fi
    rm -rf "$scratch"
done
exit "$failed"
