#!/bin/sh
# Measures the bnmlp tool against scikit-learn's MLPClassifier on the breast cancer, wine and
# digits sets of tests/fixtures/sklearn-sets (written by tools/export_sklearn_datasets.py):
# for every seed, the run of tests/cli/sklearn_sets_test.sh (train on NAME-train.csv with
# --standardize, dense:100:relu, adam 0.001, batch 32, --validation-split 0.1,
# --early-stopping 20,0,restore, at most 300 epochs), then its test accuracy on NAME-test.csv.
# Prints a Markdown table (the one in docs/training.md): our mean +- sample sd and minimum over
# the seeds, scikit-learn's from reference.txt, and the mean epochs run.
#
# Usage: sh tools/measure_sklearn_sets.sh PATH/TO/bnmlp [SEED ...]   (default seeds 1 to 10)
set -eu

bnmlp=${1:?usage: measure_sklearn_sets.sh PATH/TO/bnmlp [SEED ...]}
shift
case $bnmlp in /*) ;; */*) bnmlp="$PWD/$bnmlp" ;; esac
seeds=${*:-1 2 3 4 5 6 7 8 9 10}
sets=$(cd "$(dirname "$0")/../tests/fixtures/sklearn-sets" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

echo "| set (train / test rows) | bnmlp test accuracy, mean ± sd (min) | epochs run (restored), mean | scikit-learn $(awk '$1 == "sklearn_version" { print $2 }' "$sets/reference.txt") MLPClassifier, mean ± sd (min) |"
echo "|---|---|---|---|"
for entry in breast_cancer:1:sigmoid wine:3:softmax digits:10:softmax; do
    name=${entry%%:*}
    head=${entry#*:}
    : >acc.txt
    for seed in $seeds; do
        "$bnmlp" train --data "$sets/$name-train.csv" --standardize --layers "dense:100:relu,dense:$head" \
            --optimizer adam --lr 0.001 --batch-size 32 --validation-split 0.1 --early-stopping 20,0,restore \
            --epochs 300 --seed "$seed" --out m.bnmlp --quiet >train.out
        accuracy=$("$bnmlp" evaluate --model m.bnmlp --data "$sets/$name-test.csv" |
            sed -n 's/^loss: [0-9.]*  accuracy: \([0-9.]*\).*/\1/p')
        epochs=$(sed -n 's/^epoch \([0-9]*\)\/.*/\1/p' train.out)
        restored=$(sed -n 's/^restored the weights of epoch \([0-9]*\).*/\1/p' train.out)
        echo "$accuracy $epochs $restored" >>acc.txt
    done
    rows="$(($(wc -l <"$sets/$name-train.csv") - 1)) / $(($(wc -l <"$sets/$name-test.csv") - 1))"
    ours=$(awk '{ s += $1; q += $1 * $1; e += $2; r += $3; if (NR == 1 || $1 < m) m = $1 }
        END { sd = NR > 1 ? sqrt((q - s * s / NR) / (NR - 1)) : 0; if (sd != sd) sd = 0
              printf "%.4f ± %.4f (%.4f) | %.0f (%.0f)", s / NR, sd, m, e / NR, r / NR }' acc.txt)
    theirs=$(awk -v n="$name" '$1 == n && $2 == "mean" { mean = $3 } $1 == n && $2 == "sd" { sd = $3 }
        $1 == n && $2 == "seed" { if (m == "" || $4 < m) m = $4 }
        END { printf "%.4f ± %.4f (%.4f)", mean, sd, m }' "$sets/reference.txt")
    echo "| $name ($rows) | $ours | $theirs |"
done
echo
echo "bnmlp seeds: $seeds; scikit-learn random_state: $(awk '$2 == "seed" { print $3 }' "$sets/reference.txt" | sort -un | tr '\n' ' ')"
