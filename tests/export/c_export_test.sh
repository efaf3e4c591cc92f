#!/bin/sh
# Compiles and runs exported C models (run by ctest as c_export_compile, so CI runs it with gcc
# and with clang: the compiler that builds the library is the one given).
#
# Usage: sh c_export_test.sh PATH/TO/bnmlp PATH/TO/circles CC
#
# Trains with the bnmlp tool (a few epochs: the weights only need to be trained-looking), exports
# with `bnmlp export --format c --with-test` and compiles NAME.c and NAME_test.c with
# `CC -std=c99 -Wall -Wextra -Wpedantic -Werror` at -O2 and at -Os, then runs the self-test
# (which exits non-zero when an output differs from the library's by more than 1e-5 (1 + |y|)):
#   - the tutorial's model, 2-50(relu)-BN-1(sigmoid), on the tutorial's circles;
#   - 30-64-BN-ReLU-32-ReLU-BN-3-softmax on a 30-feature, 3-class set made here, float32 and int8;
#   - a model with every activation of the library and a standardization (norm) layer, dropout,
#     and batch norm without center and scale.
# Also: exporting twice gives the same bytes. Prints one line per check; exits non-zero when any
# check fails.

set -u

bnmlp=${1:?usage: c_export_test.sh PATH/TO/bnmlp PATH/TO/circles CC}
circles=${2:?usage: c_export_test.sh PATH/TO/bnmlp PATH/TO/circles CC}
cc=${3:?usage: c_export_test.sh PATH/TO/bnmlp PATH/TO/circles CC}
# Relative paths of the programs stay valid after the cd below.
case $bnmlp in /*) ;; *) bnmlp="$PWD/$bnmlp" ;; esac
case $circles in /*) ;; *) circles="$PWD/$circles" ;; esac
passed=0
failed=0

tmp=$(mktemp -d 2>/dev/null) || tmp="${TMPDIR:-/tmp}/bnmlp-c-export-test.$$"
mkdir -p "$tmp" || { echo "cannot create a temporary directory"; exit 1; }
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
cd "$tmp" || exit 1

check() {
    description=$1
    shift
    if "$@" >"$tmp/last.out" 2>&1; then
        passed=$((passed + 1))
        echo "ok      $description"
    else
        failed=$((failed + 1))
        echo "FAILED  $description"
        sed 's/^/        | /' "$tmp/last.out" | head -n 20
    fi
}

# compile_and_run DIR NAME: builds DIR/NAME.c with DIR/NAME_test.c at -O2 and -Os and runs each.
compile_and_run() {
    for level in -O2 -Os; do
        check "$2: $cc -std=c99 -Wall -Wextra -Wpedantic -Werror $level" \
            "$cc" -std=c99 -Wall -Wextra -Wpedantic -Werror $level -o "$1/$2$level" "$1/$2.c" "$1/$2_test.c" -lm
        check "$2 ($level): the self-test passes" "$1/$2$level"
        sed 's/^/        /' "$tmp/last.out"
    done
}

# --- The tutorial's model -----------------------------------------------------------------
check "circles --dump-data" "$circles" --dump-data circles.csv
check "train the tutorial's model" "$bnmlp" train --data circles.csv --layers "dense:50:relu:he_uniform,bn,dense:1:sigmoid" \
    --epochs 10 --lr 0.01 --momentum 0.9 --out tutorial.bnmlp --quiet
check "export the tutorial's model (--out created)" "$bnmlp" export --model tutorial.bnmlp --format c \
    --out out/tutorial --name tutorial --with-test
compile_and_run out/tutorial tutorial
check "export again: the same bytes" sh -c "'$bnmlp' export --model tutorial.bnmlp --format c --out again \
    --name tutorial --with-test && cmp out/tutorial/tutorial.c again/tutorial.c && cmp out/tutorial/tutorial.h \
    again/tutorial.h && cmp out/tutorial/tutorial_test.c again/tutorial_test.c"
check "the tutorial's NAME.c has no stdio and no malloc" sh -c "! grep -q 'stdio\|malloc' out/tutorial/tutorial.c"

# --- 30-64-BN-ReLU-32-ReLU-BN-3-softmax -------------------------------------------------------
# 600 rows of 30 features from a linear congruential generator; the
# class is the largest of three fixed linear scores.
awk 'BEGIN {
    state = 12345
    printf "f0"; for (j = 1; j < 30; j++) printf ",f%d", j; print ",label"
    for (i = 0; i < 600; i++) {
        s0 = 0; s1 = 0; s2 = 0
        for (j = 0; j < 30; j++) {
            state = (state * 1103515245 + 12345) % 2147483648
            x = state / 2147483648 * 6 - 3
            printf "%s%.6f", (j ? "," : ""), x
            s0 += (j % 3 == 0 ? x : 0); s1 += (j % 3 == 1 ? x : 0); s2 += (j % 3 == 2 ? x : -x / 4)
        }
        label = (s0 >= s1 && s0 >= s2) ? 0 : (s1 >= s2 ? 1 : 2)
        print "," label
    }
}' >wide.csv
check "train 30-64-BN-ReLU-32-ReLU-BN-3-softmax" "$bnmlp" train --data wide.csv \
    --layers "dense:64,bn,relu,dense:32:relu,bn,dense:3:softmax" --epochs 5 --out wide.bnmlp --quiet
check "export it" "$bnmlp" export --model wide.bnmlp --format c --out out --name wide --with-test --test-rows 40
compile_and_run out wide
check "export it with --weights int8" "$bnmlp" export --model wide.bnmlp --format c --out out --name wide8 \
    --with-test --weights int8
compile_and_run out wide8

# --- Every activation, normalization, dropout, batch norm without center and scale --------------
check "train a model with every activation" "$bnmlp" train --data circles.csv \
    --layers "norm,dense:8:elu,dense:8:gelu,dense:8:silu,dense:8:tanh,dense:8,leaky_relu:alpha=0.1,dropout:0.2,bn:nocenter:noscale,dense:8:sigmoid,dense:8:linear,relu,dense:1:sigmoid" \
    --epochs 5 --out every.bnmlp --quiet
check "export it" "$bnmlp" export --model every.bnmlp --format c --out out --name every --with-test
compile_and_run out every

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
