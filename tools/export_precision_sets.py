#!/usr/bin/python3
"""Exports scikit-learn's make_circles and make_moons as train/test CSV files for the bf16
accuracy runs (tools/measure_bf16_accuracy.sh), beside the breast cancer and digits sets of
tests/fixtures/sklearn-sets.

Run with Debian's interpreter, which has python3-sklearn (the `python3` first on PATH lacks it),
from the repository's root:

    /usr/bin/python3 tools/export_precision_sets.py            # writes tests/fixtures/precision-sets/
    /usr/bin/python3 tools/export_precision_sets.py OUT_DIR    # writes OUT_DIR instead

Deterministic (fixed random_state). The sets:
  - circles: make_circles(n_samples=1000, noise=0.1, factor=0.5, random_state=0) (the tutorial's
    shape: two noisy concentric rings);
  - moons: make_moons(n_samples=1000, noise=0.2, random_state=0);
each split with train_test_split(X, y, test_size=0.25, stratify=y, random_state=0) into
NAME-train.csv and NAME-test.csv: a header f0,f1,label, then one row per sample, the features as
Python's repr of the float64 value, then the class (0 or 1). The format of
tools/export_sklearn_datasets.py's files.
"""
import os
import sys

from sklearn.datasets import make_circles, make_moons
from sklearn.model_selection import train_test_split


def write(path, x, y):
    with open(path, "w") as out:
        out.write(",".join(f"f{i}" for i in range(x.shape[1])) + ",label\n")
        for row, label in zip(x, y):
            out.write(",".join(repr(float(v)) for v in row) + f",{int(label)}\n")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "tests", "fixtures", "precision-sets")
    os.makedirs(out_dir, exist_ok=True)
    sets = {
        "circles": make_circles(n_samples=1000, noise=0.1, factor=0.5, random_state=0),
        "moons": make_moons(n_samples=1000, noise=0.2, random_state=0),
    }
    for name, (x, y) in sets.items():
        x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, stratify=y, random_state=0)
        write(os.path.join(out_dir, f"{name}-train.csv"), x_train, y_train)
        write(os.path.join(out_dir, f"{name}-test.csv"), x_test, y_test)


if __name__ == "__main__":
    main()
