#!/usr/bin/python3
"""Writes tests/fixtures/metrics_reference.h: the peers' values of every metric for tests/test_metrics.c.

Run with Debian's interpreter, which has python3-numpy and python3-sklearn:

    /usr/bin/python3 tools/gen_metrics_fixtures.py            # writes tests/fixtures/metrics_reference.h
    /usr/bin/python3 tools/gen_metrics_fixtures.py OUT.h      # writes OUT.h instead

The output is deterministic (fixed seeds, no timestamps): rerunning rewrites the header byte for
byte. It is committed, so building and testing never need Python.

Where the values come from:
  - scikit-learn 1.2 for accuracy_score, precision_score, recall_score, f1_score (binary, and
    average="macro" / "weighted", all with zero_division=0), confusion_matrix, roc_auc_score,
    top_k_accuracy_score (cross-check only, see below), mean_absolute_error, mean_squared_error
    (RMSE = its square root) and r2_score. Inputs are the float32 values widened to float64, so
    the references are computed in double as the library computes them.
  - Keras's AUC (num_thresholds=200, curve="ROC", summation_method="interpolation") is not
    installed here: keras_auc() below reimplements its algorithm in NumPy from the Keras 3
    sources, keras/src/metrics/confusion_metrics.py (class AUC: thresholds
    [(i + 1) / (n - 1) for i in range(n - 2)] with end points -1e-7 and 1 + 1e-7; result():
    recall = divide_no_nan(tp, tp + fn), fp_rate = divide_no_nan(fp, fp + tn), heights =
    (y[:-1] + y[1:]) / 2, sum((x[:-1] - x[1:]) * heights)) and keras/src/metrics/metrics_utils.py
    (_update_confusion_matrix_variables_optimized: y_pred clipped to [0, 1], bucket =
    ceil(y_pred * (n - 1)) - 1 in float32, relu'd because the thresholds carry epsilon ends,
    then reversed cumulative sums of the per-bucket counts). Keras sums in float32; this sums the
    same exact counts in float64, as the library does.
  - Keras's top_k_categorical_accuracy (keras/src/metrics/accuracy_metrics.py, in_top_k of
    keras/src/backend/numpy/math.py: the target is in when its score is >= the k-th largest, so
    ties at the boundary count as in) is reimplemented in NumPy; on cases without ties it must
    equal sklearn's top_k_accuracy_score, which the script asserts.
"""
import math
import os
import sys
import warnings

import numpy as np
import sklearn
from sklearn.metrics import (accuracy_score, confusion_matrix, f1_score, mean_absolute_error,
                             mean_squared_error, precision_score, r2_score, recall_score, roc_auc_score,
                             top_k_accuracy_score)

KERAS_EPSILON = 1e-7


def keras_auc(y_true, y_pred, num_thresholds=200):
    """Keras 3's AUC() on flattened data, by its bucket algorithm, summed in float64."""
    p = np.clip(np.asarray(y_pred, dtype=np.float32).ravel(), np.float32(0.0), np.float32(1.0))
    bucket = np.ceil(p * np.float32(num_thresholds - 1)) - np.float32(1.0)  # float32 throughout
    bucket = np.maximum(bucket, np.float32(0.0)).astype(np.int64)
    positive = np.asarray(y_true).ravel() == 1
    tp = np.cumsum(np.bincount(bucket[positive], minlength=num_thresholds)[::-1])[::-1].astype(np.float64)
    fp = np.cumsum(np.bincount(bucket[~positive], minlength=num_thresholds)[::-1])[::-1].astype(np.float64)
    fn = positive.sum() - tp
    tn = (~positive).sum() - fp

    def divide_no_nan(a, b):
        return np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b))

    recall = divide_no_nan(tp, tp + fn)
    fp_rate = divide_no_nan(fp, fp + tn)
    return float(np.sum((fp_rate[:-1] - fp_rate[1:]) * (recall[:-1] + recall[1:]) / 2.0))


def keras_auc_naive_counts(y_true, y_pred, num_thresholds=200):
    """tp per threshold by direct comparison y_pred > threshold (Keras's unoptimized path)."""
    inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    thresholds = np.array([0.0 - KERAS_EPSILON] + inner + [1.0 + KERAS_EPSILON], dtype=np.float32)
    p = np.asarray(y_pred, dtype=np.float32).ravel()
    positive = np.asarray(y_true).ravel() == 1
    return np.array([np.sum((p > t) & positive) for t in thresholds])


def keras_in_top_k(truth, scores, k):
    """Keras's in_top_k: fewer than k scores strictly above the target's."""
    target = scores[np.arange(len(truth)), truth]
    return (scores > target[:, None]).sum(axis=1) < k


# ---- the cases -------------------------------------------------------------------------------


def binary_cases():
    rs = np.random.RandomState(17)
    cases = []
    # random: scores correlated with the labels
    y = rs.randint(0, 2, size=200)
    p = np.clip(0.35 * y + 0.65 * rs.rand(200), 0.0, 1.0)
    cases.append(("random", p.reshape(-1, 1), y.reshape(-1, 1)))
    # ties: five distinct scores, 0.5 exactly (not positive), 0 and 1 exactly
    y = rs.randint(0, 2, size=120)
    p = rs.choice([0.0, 0.25, 0.5, 0.75, 1.0], size=120)
    cases.append(("ties", p.reshape(-1, 1), y.reshape(-1, 1)))
    # all one class: roc_auc undefined, Keras's auc 0
    p = rs.rand(40)
    cases.append(("all_positive", p.reshape(-1, 1), np.ones((40, 1))))
    cases.append(("all_negative", p.reshape(-1, 1), np.zeros((40, 1))))
    # perfect separation
    y = np.array([0, 1] * 25)
    p = np.where(y == 1, 0.6 + 0.4 * rs.rand(50), 0.4 * rs.rand(50))
    cases.append(("perfect", p.reshape(-1, 1), y.reshape(-1, 1)))
    # nothing predicted positive: precision and F1 by zero_division
    y = rs.randint(0, 2, size=30)
    p = 0.5 * rs.rand(30)
    cases.append(("none_predicted", p.reshape(-1, 1), y.reshape(-1, 1)))
    # multi-label (3 sigmoid outputs): every element one prediction
    y = rs.randint(0, 2, size=(60, 3))
    p = np.clip(0.3 * y + 0.7 * rs.rand(60, 3), 0.0, 1.0)
    cases.append(("multilabel", p, y))
    # scores on Keras's thresholds (float32 k / 199) and just beside them: bucket edges
    grid = np.array([k / 199.0 for k in range(200)], dtype=np.float32)
    beside = np.concatenate([grid, np.nextafter(grid, np.float32(2)), np.nextafter(grid, np.float32(-1))])
    y = rs.randint(0, 2, size=beside.size)
    cases.append(("threshold_edges", beside.reshape(-1, 1), y.reshape(-1, 1)))
    # scores outside [0, 1] (logits): Keras's auc clips them, roc_auc ranks them as they are
    y = rs.randint(0, 2, size=80)
    p = 3.0 * (y - 0.5) + 2.0 * rs.randn(80)
    cases.append(("logits", p.reshape(-1, 1), y.reshape(-1, 1)))
    return cases


def multiclass_cases():
    rs = np.random.RandomState(29)
    cases = []

    def softmax(z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    y = rs.randint(0, 4, size=300)
    z = rs.randn(300, 4) + 1.5 * np.eye(4)[y]
    p = softmax(z)
    cases.append(("random_index", p, y.reshape(-1, 1), 2))
    cases.append(("random_onehot", p, np.eye(4)[y], 2))
    # ties: outputs on a coarse grid, so argmax and the k-th value tie often
    y = rs.randint(0, 5, size=150)
    p = rs.randint(0, 3, size=(150, 5)) / 2.0
    cases.append(("ties", p, y.reshape(-1, 1), 2))
    cases.append(("ties_k3", p, y.reshape(-1, 1), 3))
    # an empty class: class 4 of 5 never a target, never predicted
    y = rs.randint(0, 4, size=100)
    z = rs.randn(100, 5) + 2.0 * np.eye(5)[y]
    z[:, 4] = -10.0
    cases.append(("empty_class", softmax(z), y.reshape(-1, 1), 2))
    # a class predicted but never a target (support 0, F1 0, counted by macro)
    y = rs.randint(0, 3, size=90)
    z = rs.randn(90, 4) + 1.0 * np.eye(4)[y]
    z[::7, 3] = 10.0
    cases.append(("predicted_not_target", softmax(z), y.reshape(-1, 1), 2))
    # perfect predictions, k = 1
    y = rs.randint(0, 3, size=45)
    cases.append(("perfect", softmax(5.0 * np.eye(3)[y] + 0.1 * rs.randn(45, 3)), y.reshape(-1, 1), 1))
    # k >= K always hits
    y = rs.randint(0, 3, size=20)
    cases.append(("k_at_least_classes", softmax(rs.randn(20, 3)), y.reshape(-1, 1), 3))
    # logits (negative values), two classes
    y = rs.randint(0, 2, size=64)
    cases.append(("logits_two_classes", rs.randn(64, 2) - 3.0 + np.eye(2)[y], y.reshape(-1, 1), 1))
    # soft target rows: the class is their argmax
    y = rs.randint(0, 3, size=50)
    soft = 0.7 * np.eye(3)[y] + 0.1
    cases.append(("soft_targets", softmax(rs.randn(50, 3) + np.eye(3)[y]), soft, 2))
    return cases


def regression_cases():
    rs = np.random.RandomState(41)
    cases = []
    y = rs.randn(100, 1)
    cases.append(("random", y + 0.3 * rs.randn(100, 1), y))
    y = rs.randn(80, 3) * np.array([1.0, 10.0, 0.1]) + np.array([0.0, 5.0, -1.0])
    cases.append(("multi_output", y + 0.5 * rs.randn(80, 3), y))
    # a constant target column predicted with errors (R^2 0 for it) beside a normal one
    y = np.column_stack([np.full(30, 2.5), rs.randn(30)])
    cases.append(("constant_target", y + 0.2 * rs.randn(30, 2), y))
    # a constant target predicted exactly: R^2 1
    y = np.full((25, 1), -0.75)
    cases.append(("constant_exact", y.copy(), y))
    # perfect predictions
    y = rs.randn(40, 2)
    cases.append(("perfect", y.copy(), y))
    # one row: R^2 undefined (NaN)
    cases.append(("one_row", np.array([[1.5, -2.0]]), np.array([[1.0, 0.5]])))
    # large offset: the mean is far from 0 (Welford keeps SS_tot accurate)
    y = 1000.0 + rs.randn(200, 1)
    cases.append(("large_offset", y + 0.1 * rs.randn(200, 1), y))
    return cases


# ---- references ----------------------------------------------------------------------------------


def binary_reference(p32, y):
    p, t = p32.astype(np.float64).ravel(), y.astype(np.int64).ravel()
    pred = (p32.ravel() > np.float32(0.5)).astype(np.int64)
    ref = {
        "accuracy": accuracy_score(t, pred),
        "precision": precision_score(t, pred, zero_division=0),
        "recall": recall_score(t, pred, zero_division=0),
        "f1": f1_score(t, pred, zero_division=0),
        "auc": keras_auc(t, p32),
        "confusion": confusion_matrix(t, pred, labels=[0, 1]).ravel().tolist(),
    }
    try:
        ref["roc_auc"] = roc_auc_score(t, p)
    except ValueError:  # one class only
        ref["roc_auc"] = math.nan
    return ref


def multiclass_reference(p32, y, k):
    scores = p32.astype(np.float64)
    truth = y.ravel().astype(np.int64) if y.shape[1] == 1 else np.argmax(y, axis=1)
    pred = np.argmax(p32, axis=1)  # numpy: the first maximum
    classes = p32.shape[1]
    hits = keras_in_top_k(truth, p32, k)
    ref = {
        "accuracy": accuracy_score(truth, pred),
        "top_k": float(hits.mean()),
        "f1_macro": f1_score(truth, pred, average="macro", zero_division=0),
        "f1_weighted": f1_score(truth, pred, average="weighted", zero_division=0),
        "confusion": confusion_matrix(truth, pred, labels=list(range(classes))).ravel().tolist(),
    }
    ties = any(len(set(row.tolist())) < classes for row in p32)
    if not ties and classes > 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # k >= n_classes warns
            sk = top_k_accuracy_score(truth, scores, k=k, labels=list(range(classes)))
        assert abs(sk - ref["top_k"]) < 1e-12, (sk, ref["top_k"])
    return ref


def regression_reference(o32, y32):
    o, y = o32.astype(np.float64), y32.astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # r2_score on one row warns and returns nan
        r2 = r2_score(y, o)
    return {
        "mae": mean_absolute_error(y, o),
        "rmse": math.sqrt(mean_squared_error(y, o)),
        "r2": float(r2),
    }


# ---- C output -------------------------------------------------------------------------------------


def c_double(value):
    """A C literal that parses back to exactly this float64 (NaN as 0.0: a flag says undefined)."""
    return "0.0" if math.isnan(value) else repr(float(value))


def c_float(value):
    """A C float literal with 9 significant digits (round-trips a float32)."""
    text = "%.9g" % float(np.float32(value))
    if "e" not in text and "." not in text:
        text += ".0"
    return text + "f"


def c_array(ctype, name, values, per_line, fmt):
    lines = []
    for start in range(0, len(values), per_line):
        lines.append("    " + ", ".join(fmt(v) for v in values[start:start + per_line]) + ",")
    return "static const %s %s[%d] = {\n%s\n};\n" % (ctype, name, len(values), "\n".join(lines))


def header():
    out = ["/*\n"
           " * metrics_reference.h - GENERATED by tools/gen_metrics_fixtures.py; do not edit by hand.\n"
           " * Regenerate from the repository root with Debian's interpreter (deterministic,\n"
           " * byte-identical):\n"
           " *     /usr/bin/python3 tools/gen_metrics_fixtures.py\n"
           " * numpy %s, scikit-learn %s; Keras's AUC and top-k rule reimplemented in NumPy (see the\n"
           " * script for the Keras source files read). Data are float32; references are computed\n"
           " * in float64 from those float32 values. A *_defined flag of false means the peer gives\n"
           " * NaN (undefined) there.\n"
           " */\n"
           "#ifndef BNMLP_METRICS_REFERENCE_H\n#define BNMLP_METRICS_REFERENCE_H\n\n"
           "#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n\n"
           % (np.__version__, sklearn.__version__)]
    out.append("""/* A binary case: outputs and targets (rows, width), flattened for every metric. */
typedef struct metrics_binary_case {
    const char *name;
    size_t rows, width;
    const float *outputs, *targets;
    double accuracy, precision, recall, f1; /* sklearn, threshold p > 0.5, zero_division=0 */
    double auc;                             /* Keras AUC(), 200 thresholds (NumPy reimplementation) */
    double roc_auc;                         /* sklearn roc_auc_score */
    bool roc_auc_defined;                   /* false: one class only (sklearn raises) */
    uint64_t confusion[4];                  /* sklearn confusion_matrix, labels [0, 1]: TN FP FN TP */
} metrics_binary_case;

/* A multiclass case: outputs (rows, classes), targets (rows, 1) indices or (rows, classes) rows. */
typedef struct metrics_multiclass_case {
    const char *name;
    size_t rows, classes, target_width, top_k;
    const float *outputs, *targets;
    double accuracy;        /* sklearn accuracy_score of the argmax (numpy's first maximum) */
    double top_k_accuracy;  /* Keras's in_top_k rule (NumPy); equal to sklearn's where no ties */
    double f1_macro, f1_weighted; /* sklearn f1_score, zero_division=0 */
    const uint64_t *confusion;    /* sklearn confusion_matrix, labels 0..classes-1, row-major */
} metrics_multiclass_case;

/* A regression case: outputs and targets (rows, width). */
typedef struct metrics_regression_case {
    const char *name;
    size_t rows, width;
    const float *outputs, *targets;
    double mae;       /* sklearn mean_absolute_error */
    double rmse;      /* sqrt of sklearn mean_squared_error (uniform average = over all elements) */
    double r2;        /* sklearn r2_score (force_finite, uniform average) */
    bool r2_defined;  /* false: fewer than two rows (sklearn returns nan) */
} metrics_regression_case;

""")
    rows = []
    for index, (name, p, y) in enumerate(binary_cases()):
        p32, y32 = np.asarray(p, dtype=np.float32), np.asarray(y, dtype=np.float32)
        ref = binary_reference(p32, y32)
        if name == "random":  # the bucket shortcut must agree with direct comparisons
            positive = y32.ravel() == 1
            p_clipped = np.clip(p32.ravel(), 0, 1)
            bucket = np.maximum(np.ceil(p_clipped * np.float32(199)) - 1, 0).astype(int)
            optimized = np.cumsum(np.bincount(bucket[positive], minlength=200)[::-1])[::-1]
            assert (optimized == keras_auc_naive_counts(y32, p32)).all()
        out.append("/* binary %s */\n" % name)
        out.append(c_array("float", "metrics_binary_%d_outputs" % index, p32.ravel().tolist(), 6, c_float))
        out.append(c_array("float", "metrics_binary_%d_targets" % index, y32.ravel().tolist(), 12, c_float))
        out.append("\n")
        rows.append("    {\"%s\", %d, %d, metrics_binary_%d_outputs, metrics_binary_%d_targets, %s, %s, %s, %s, "
                    "%s, %s, %s, {%s}},\n"
                    % (name, p32.shape[0], p32.shape[1], index, index, c_double(ref["accuracy"]),
                       c_double(ref["precision"]), c_double(ref["recall"]), c_double(ref["f1"]),
                       c_double(ref["auc"]), c_double(ref["roc_auc"]),
                       "false" if math.isnan(ref["roc_auc"]) else "true",
                       ", ".join("%d" % v for v in ref["confusion"])))
    out.append("static const metrics_binary_case metrics_binary_cases[] = {\n%s};\n\n" % "".join(rows))

    rows = []
    for index, (name, p, y, k) in enumerate(multiclass_cases()):
        p32, y32 = np.asarray(p, dtype=np.float32), np.asarray(y, dtype=np.float32)
        ref = multiclass_reference(p32, y32, k)
        out.append("/* multiclass %s */\n" % name)
        out.append(c_array("float", "metrics_multiclass_%d_outputs" % index, p32.ravel().tolist(), 6, c_float))
        out.append(c_array("float", "metrics_multiclass_%d_targets" % index, y32.ravel().tolist(), 8, c_float))
        out.append(c_array("uint64_t", "metrics_multiclass_%d_confusion" % index, ref["confusion"], 12,
                           lambda v: "%d" % v))
        out.append("\n")
        rows.append("    {\"%s\", %d, %d, %d, %d, metrics_multiclass_%d_outputs, metrics_multiclass_%d_targets, "
                    "%s, %s, %s, %s, metrics_multiclass_%d_confusion},\n"
                    % (name, p32.shape[0], p32.shape[1], y32.shape[1], k, index, index, c_double(ref["accuracy"]),
                       c_double(ref["top_k"]), c_double(ref["f1_macro"]), c_double(ref["f1_weighted"]), index))
    out.append("static const metrics_multiclass_case metrics_multiclass_cases[] = {\n%s};\n\n" % "".join(rows))

    rows = []
    for index, (name, o, y) in enumerate(regression_cases()):
        o32, y32 = np.asarray(o, dtype=np.float32), np.asarray(y, dtype=np.float32)
        ref = regression_reference(o32, y32)
        out.append("/* regression %s */\n" % name)
        out.append(c_array("float", "metrics_regression_%d_outputs" % index, o32.ravel().tolist(), 6, c_float))
        out.append(c_array("float", "metrics_regression_%d_targets" % index, y32.ravel().tolist(), 6, c_float))
        out.append("\n")
        rows.append("    {\"%s\", %d, %d, metrics_regression_%d_outputs, metrics_regression_%d_targets, %s, %s, %s, "
                    "%s},\n"
                    % (name, o32.shape[0], o32.shape[1], index, index, c_double(ref["mae"]), c_double(ref["rmse"]),
                       c_double(ref["r2"]), "false" if math.isnan(ref["r2"]) else "true"))
    out.append("static const metrics_regression_case metrics_regression_cases[] = {\n%s};\n\n" % "".join(rows))
    out.append("#endif /* BNMLP_METRICS_REFERENCE_H */\n")
    return "".join(out)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tests", "fixtures", "metrics_reference.h")
    with open(path, "w") as f:
        f.write(header())


if __name__ == "__main__":
    main()
