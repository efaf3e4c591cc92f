#!/bin/sh
# The accuracy change of `bnmlp quantize` (the library's int8 model; docs/deploy.md, "int8").
#
# Usage: sh tools/quantize_accuracy.sh BUILD_DIR [SEEDS]
#
# On breast cancer and digits (the committed scikit-learn splits in tests/fixtures/sklearn-sets/)
# and the tutorial's circles (first half trains, second half tests), trains each with the bnmlp
# tool (seeds 1..SEEDS, default 5), quantizes it with its training rows as calibration, and
# prints the test accuracy of the float and the int8 model, averaged over the seeds, and their
# largest difference. Works in a temporary directory; needs only the build.

set -eu
build=$(cd "${1:?usage: quantize_accuracy.sh BUILD_DIR [SEEDS]}" && pwd)
seeds=${2:-5}
bnmlp="$build/cli/bnmlp"
sets=$(cd "$(dirname "$0")/../tests/fixtures/sklearn-sets" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

"$build/examples/circles" --dump-data circles.csv >/dev/null
head -n 501 circles.csv >circles-train.csv
{ head -n 1 circles.csv; tail -n 500 circles.csv; } >circles-test.csv
cp "$sets/breast_cancer-train.csv" "$sets/breast_cancer-test.csv" "$sets/digits-train.csv" "$sets/digits-test.csv" .

# accuracy MODEL DATA: the accuracy bnmlp evaluate prints.
accuracy() {
    "$bnmlp" evaluate --model "$1" --data "$2" | sed -n 's/.*accuracy: \([0-9.]*\).*/\1/p' | head -n 1
}

echo "| data set | test rows | seeds | float32 accuracy | int8 accuracy | mean change (points) | largest change (points) |"
echo "|---|---|---|---|---|---|---|"
for set in circles breast_cancer digits; do
    case $set in
    circles) args="--layers dense:50:relu:he_uniform,bn,dense:1:sigmoid --epochs 100 --lr 0.01 --momentum 0.9" ;;
    breast_cancer) args="--standardize --layers dense:32:relu,bn,dense:1:sigmoid --epochs 50" ;;
    digits) args="--standardize --layers dense:64:relu,bn,dense:10:softmax --epochs 50" ;;
    esac
    : >results-$set.txt
    seed=1
    while [ "$seed" -le "$seeds" ]; do
        # shellcheck disable=SC2086
        "$bnmlp" train --data $set-train.csv $args --seed $seed --out $set-$seed.bnmlp --quiet >/dev/null
        "$bnmlp" quantize --model $set-$seed.bnmlp --calibration $set-train.csv --out $set-$seed-int8.bnmlp --quiet
        echo "$(accuracy $set-$seed.bnmlp $set-test.csv) $(accuracy $set-$seed-int8.bnmlp $set-test.csv)" >>results-$set.txt
        seed=$((seed + 1))
    done
    awk -v set=$set -v rows=$(($(wc -l <$set-test.csv) - 1)) -v seeds="$seeds" '
        { f += $1; q += $2; d = ($2 - $1) * 100; s += d; if (d < 0) d = -d; if (d > worst) worst = d }
        END { printf "| %s | %d | %d | %.4f | %.4f | %+.2f | %.2f |\n", set, rows, seeds, f / NR, q / NR, s / NR, worst }
    ' results-$set.txt
done
