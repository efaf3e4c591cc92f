#!/bin/sh
# The accuracy change of `bnmlp export --format c --weights int8` (docs/deploy.md's table).
#
# Usage: sh tools/export_int8_accuracy.sh BUILD_DIR [CC]
#
# Writes breast cancer and digits (scikit-learn, 70/30 stratified split, random_state 0) with
# Debian's /usr/bin/python3 and the tutorial's circles (first half trains, second half tests),
# trains each with the bnmlp tool, exports it as C with float32 and with int8 weights, compiles
# a small driver against each export and prints the test accuracy of both (and the library's,
# from bnmlp evaluate). Works in a temporary directory; needs python3-sklearn and a C compiler.

set -eu
build=$(cd "${1:?usage: export_int8_accuracy.sh BUILD_DIR [CC]}" && pwd)
cc=${2:-cc}
bnmlp="$build/cli/bnmlp"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

/usr/bin/python3 - <<'PY'
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.model_selection import train_test_split
for name, loader in (("breast_cancer", load_breast_cancer), ("digits", load_digits)):
    d = loader()
    xtr, xte, ytr, yte = train_test_split(d.data, d.target, test_size=0.3, random_state=0, stratify=d.target)
    for part, x, y in (("train", xtr, ytr), ("test", xte, yte)):
        with open(f"{name}_{part}.csv", "w") as f:
            f.write(",".join(f"f{j}" for j in range(x.shape[1])) + ",label\n")
            for row, label in zip(x, y):
                f.write(",".join(repr(float(v)) for v in row) + f",{int(label)}\n")
PY
"$build/examples/circles" --dump-data circles.csv >/dev/null
head -n 501 circles.csv >circles_train.csv
{ head -n 1 circles.csv; tail -n 500 circles.csv; } >circles_test.csv

cat >accuracy.c <<'C'
/* Accuracy of an exported model (net.h) on a CSV with a header and the label last. */
#include <stdio.h>
#include <stdlib.h>
#include "net.h"
int main(int argc, char **argv) {
    static char line[1 << 16];
    static float x[net_INPUTS], y[net_OUTPUTS], workspace[net_WORKSPACE_FLOATS];
    size_t rows = 0, right = 0;
    FILE *f = argc > 1 ? fopen(argv[1], "r") : NULL;
    if (!f || !fgets(line, sizeof line, f)) return 2;
    while (fgets(line, sizeof line, f)) {
        char *p = line;
        for (size_t j = 0; j < net_INPUTS; j++) x[j] = strtof(p, &p), p++;
        int label = atoi(p), predicted = 0;
        net_predict(x, 1, y, workspace);
        if (net_OUTPUTS == 1) predicted = y[0] > 0.5f;
        for (int k = 1; k < net_OUTPUTS; k++) predicted = y[k] > y[predicted] ? k : predicted;
        right += predicted == label, rows++;
    }
    printf("%.4f", (double)right / (double)rows);
    return 0;
}
C

"$bnmlp" train --data circles_train.csv --layers dense:50:relu:he_uniform,bn,dense:1:sigmoid --epochs 100 \
    --lr 0.01 --momentum 0.9 --out circles.bnmlp --quiet >/dev/null
"$bnmlp" train --data breast_cancer_train.csv --standardize --layers dense:32:relu,bn,dense:1:sigmoid --epochs 50 \
    --out breast_cancer.bnmlp --quiet >/dev/null
"$bnmlp" train --data digits_train.csv --standardize --layers dense:64:relu,bn,dense:10:softmax --epochs 50 \
    --out digits.bnmlp --quiet >/dev/null

echo "| data set | test rows | library | C float32 | C int8 |"
echo "|---|---|---|---|---|"
for set in circles breast_cancer digits; do
    for w in float32 int8; do
        "$bnmlp" export --model $set.bnmlp --format c --out $set-$w --name net --weights $w
        "$cc" -std=c99 -O2 -I$set-$w accuracy.c $set-$w/net.c -lm -o accuracy-$set-$w
    done
    library=$("$bnmlp" evaluate --model $set.bnmlp --data ${set}_test.csv | sed -n 's/.*accuracy: \([0-9.]*\).*/\1/p' | head -n 1)
    echo "| $set | $(($(wc -l <${set}_test.csv) - 1)) | $library | $(./accuracy-$set-float32 ${set}_test.csv) |" \
        "$(./accuracy-$set-int8 ${set}_test.csv) |"
done
