#!/bin/sh
# bf16 mixed precision against float32 (issue 19: "bf16 test accuracy within one standard
# deviation of fp32 over 10 seeds on circles, moons, breast cancer and digits"). For each set and
# seed, the same run twice, `--precision fp32` and `--precision bf16`: train on NAME-train.csv
# with --standardize, dense:100:relu then the head, adam 0.001, batch 32, --validation-split 0.1,
# --early-stopping 20,0,restore, at most 300 epochs (the runs of tools/measure_sklearn_sets.sh),
# then the test accuracy on NAME-test.csv (evaluate runs in the model's precision). Prints a
# Markdown table (the one in docs/precision.md): mean ± sample sd (min) of each precision, the
# difference of the means in fp32 sds, and whether it is within one.
#
# The sets: circles and moons of tests/fixtures/precision-sets (tools/export_precision_sets.py),
# breast cancer and digits of tests/fixtures/sklearn-sets (tools/export_sklearn_datasets.py).
#
# Usage: sh tools/measure_bf16_accuracy.sh PATH/TO/bnmlp [SEED ...]   (default seeds 1 to 10)
set -eu

bnmlp=${1:?usage: measure_bf16_accuracy.sh PATH/TO/bnmlp [SEED ...]}
shift
case $bnmlp in /*) ;; */*) bnmlp="$PWD/$bnmlp" ;; esac
seeds=${*:-1 2 3 4 5 6 7 8 9 10}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

echo "| set (train / test rows) | fp32 test accuracy, mean ± sd (min) | bf16 test accuracy, mean ± sd (min) | bf16 - fp32, in fp32 sds | within 1 sd |"
echo "|---|---|---|---|---|"
for entry in precision-sets/circles:1:sigmoid precision-sets/moons:1:sigmoid \
    sklearn-sets/breast_cancer:1:sigmoid sklearn-sets/digits:10:softmax; do
    path=${entry%%:*}
    head=${entry#*:}
    name=${path#*/}
    data="$root/tests/fixtures/$path"
    for precision in fp32 bf16; do
        : >"$precision.txt"
        for seed in $seeds; do
            "$bnmlp" train --data "$data-train.csv" --standardize --layers "dense:100:relu,dense:$head" \
                --optimizer adam --lr 0.001 --batch-size 32 --validation-split 0.1 --early-stopping 20,0,restore \
                --epochs 300 --seed "$seed" --precision "$precision" --out m.bnmlp --quiet >train.out
            "$bnmlp" evaluate --model m.bnmlp --data "$data-test.csv" |
                sed -n 's/^loss: [0-9.]*  accuracy: \([0-9.]*\).*/\1/p' >>"$precision.txt"
        done
    done
    rows="$(($(wc -l <"$data-train.csv") - 1)) / $(($(wc -l <"$data-test.csv") - 1))"
    stats='{ s += $1; q += $1 * $1; if (NR == 1 || $1 < m) m = $1 }
        END { sd = NR > 1 ? (q - s * s / NR) / (NR - 1) : 0; sd = sd > 0 ? sqrt(sd) : 0
              printf "%.4f %.4f %.4f\n", s / NR, sd, m }'
    set -- $(awk "$stats" fp32.txt) $(awk "$stats" bf16.txt)
    awk -v name="$name" -v rows="$rows" -v m32="$1" -v s32="$2" -v n32="$3" -v m16="$4" -v s16="$5" -v n16="$6" 'BEGIN {
        d = m16 - m32
        if (s32 > 0) { z = sprintf("%+.2f", d / s32); ok = d >= -s32 && d <= s32 }
        else { z = "(fp32 sd 0)"; ok = d == 0 }
        printf "| %s (%s) | %.4f ± %.4f (%.4f) | %.4f ± %.4f (%.4f) | %s | %s |\n", name, rows, m32, s32, n32,
            m16, s16, n16, z, ok ? "yes" : "no" }'
done
echo
echo "seeds: $seeds"
