#!/usr/bin/python3
"""Exports scikit-learn's bundled breast cancer, wine and digits sets as train/test CSV files and
records scikit-learn's MLPClassifier test accuracy on them, for tests/cli/sklearn_sets_test.sh
(issue 17: `bnmlp train --standardize --early-stopping 20,0,restore` must reach within 1 point
of scikit-learn's MLPClassifier).

Run with Debian's interpreter, which has python3-sklearn (the `python3` first on PATH lacks it),
from the repository's root:

    /usr/bin/python3 tools/export_sklearn_datasets.py                 # writes tests/fixtures/sklearn-sets/
    /usr/bin/python3 tools/export_sklearn_datasets.py OUT_DIR         # writes OUT_DIR instead

Deterministic (fixed random_state everywhere); committed, so tests never need Python. It takes
about half a minute (30 MLPClassifier fits).

For each set NAME (breast_cancer, wine, digits) it writes:
  - NAME-train.csv, NAME-test.csv: a stratified split, train_test_split(X, y, test_size=0.25,
    stratify=y, random_state=SPLIT_SEED); a header f0,...,f{d-1},label, then one row per sample:
    the raw (unscaled) features as Python's repr of the float64 value (the shortest text that
    reads back to the same double; integral values without ".0"), then the class index
    0..K-1 (sklearn's targets) in the last column;
and once:
  - reference.txt: scikit-learn's version, then for every set the test accuracy of
    MLPClassifier with its defaults (hidden_layer_sizes=(100,), relu, adam, learning_rate_init
    1e-3, alpha 1e-4, batch_size min(200, n), max_iter 200, tol 1e-4 with
    n_iter_no_change 10, no early stopping) trained on StandardScaler(train) features, for each
    random_state in SEEDS, and their mean and sample standard deviation. Lines (whitespace
    separated): "NAME seed S ACCURACY", "NAME mean ACCURACY", "NAME sd SD"; comments start
    with "#".
"""
import os
import statistics
import sys
import warnings

import sklearn
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

SPLIT_SEED = 0
TEST_SIZE = 0.25
SEEDS = list(range(10))
SETS = [("breast_cancer", load_breast_cancer), ("wine", load_wine), ("digits", load_digits)]


def text(value):
    """The shortest text that reads back as the same double; integral values as integers."""
    v = float(value)
    if v.is_integer() and abs(v) < 1e15:
        return "%d" % int(v)
    return repr(v)


def write_csv(path, x, y):
    with open(path, "w", newline="\n") as f:
        f.write(",".join(["f%d" % j for j in range(x.shape[1])] + ["label"]) + "\n")
        for row, label in zip(x, y):
            f.write(",".join(text(v) for v in row) + ",%d\n" % int(label))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join("tests", "fixtures", "sklearn-sets")
    os.makedirs(out, exist_ok=True)
    lines = [
        "# scikit-learn %s MLPClassifier (defaults: hidden (100,), relu, adam lr 1e-3, alpha 1e-4," % sklearn.__version__,
        "# batch min(200, n), max_iter 200, tol 1e-4, n_iter_no_change 10) on StandardScaler'd",
        "# features; stratified split test_size %g, random_state %d; written by" % (TEST_SIZE, SPLIT_SEED),
        "# tools/export_sklearn_datasets.py. Test accuracy per MLPClassifier random_state, mean, sample sd.",
        "sklearn_version %s" % sklearn.__version__,
    ]
    for name, load in SETS:
        x, y = load(return_X_y=True)
        x_train, x_test, y_train, y_test = train_test_split(
            x, y, test_size=TEST_SIZE, stratify=y, random_state=SPLIT_SEED)
        write_csv(os.path.join(out, name + "-train.csv"), x_train, y_train)
        write_csv(os.path.join(out, name + "-test.csv"), x_test, y_test)
        scaler = StandardScaler().fit(x_train)
        s_train, s_test = scaler.transform(x_train), scaler.transform(x_test)
        accuracies = []
        for seed in SEEDS:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model = MLPClassifier(random_state=seed).fit(s_train, y_train)
            accuracy = model.score(s_test, y_test)
            accuracies.append(accuracy)
            lines.append("%s seed %d %.6f" % (name, seed, accuracy))
            print("%s seed %d: %.4f (%d iterations)" % (name, seed, accuracy, model.n_iter_))
        lines.append("%s mean %.6f" % (name, statistics.mean(accuracies)))
        lines.append("%s sd %.6f" % (name, statistics.stdev(accuracies)))
        print("%s: %d train, %d test rows, %d features, %d classes; mean %.4f" %
              (name, len(y_train), len(y_test), x.shape[1], len(set(y)), statistics.mean(accuracies)))
    with open(os.path.join(out, "reference.txt"), "w", newline="\n") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
