#!/usr/bin/python3
"""Writes tests/fixtures/numpy_reference.h: reference values from numpy's legacy RandomState and
scikit-learn's make_circles / make_moons / train_test_split, for tests/test_random.c and
tests/test_datasets.c.

Run with Debian's interpreter, which has python3-numpy and python3-sklearn:

    /usr/bin/python3 tools/gen_numpy_fixtures.py            # writes tests/fixtures/numpy_reference.h
    /usr/bin/python3 tools/gen_numpy_fixtures.py OUT.h      # writes OUT.h instead

The header is committed, so building and testing never need Python. Data-set coordinates are
numpy's float64 values rounded once to float32; numpy's sin/cos may use SVML (AVX-512), which can
differ from glibc's in the last bit of the double, so the tests allow 1 float32 ulp there.
"""
import os
import sys

import numpy as np
import sklearn
from sklearn.datasets import make_circles, make_moons
from sklearn.model_selection import train_test_split

SEEDS = [0, 1, 42, 4294967295]
RAW_COUNT = 1000
DOUBLE_COUNT = 500
NORMAL_COUNT = 501  # odd, so the cached second normal is used across the boundary
NORMAL_LOC = 0.3
NORMAL_SCALE = 2.5
SHUFFLE_COUNT = 777
INTERVAL_COUNT = 64
# random_interval(max) checks: (seed, max). RandomState.randint(0, max + 1, dtype=uint64) draws
# with the same masked rejection (32-bit words up to 0xffffffff, 64-bit words above).
INTERVAL_CASES = [
    (0, 1), (0, 6), (1, 7), (42, 100), (0, 0x7FFFFFFF), (1, 0xFFFFFFFE), (42, 0xFFFFFFFF),
    (0, 0x100000000), (1, (1 << 40) + 12345), (42, (1 << 63) + 1), (4294967295, (1 << 64) - 1),
]

CIRCLE_SIZES = [1000, 101, 100, 7, 2, 1]
MOON_SIZES = [100, 101, 52, 7, 2, 1]  # 52: (26 - 1) * (pi / 25) != pi, so the last point must be pi
NOISES_CIRCLES = [None, 0.1]
NOISES_MOONS = [None, 0.2]
SHUFFLES = [True, False]
STATES = [1, 0, 42]
FACTORS = [0.8, 0.5, 0.0]

# train_test_split cases: (make_moons n_samples, noise, random_state, test_size, split seed).
SPLIT_CASES = [(20, 0.2, 3, 6, 7), (101, 0.1, 0, 33, 42)]

# Argument sets that make scikit-learn raise (the C functions must return an error for them).
ERROR_CASES = [
    ("circles", dict(n_samples=10, factor=1.0)),
    ("circles", dict(n_samples=10, factor=1.5)),
    ("circles", dict(n_samples=10, factor=-0.1)),
    ("circles", dict(n_samples=10, noise=-0.1, random_state=0)),
    ("moons", dict(n_samples=10, noise=-0.1, random_state=0)),
]


def c_double(value):
    """A C literal that parses back to exactly this float64."""
    return repr(float(value))


def c_float(value):
    """A C float literal with 9 significant digits (round-trips a float32)."""
    text = "%.9g" % float(np.float32(value))
    if "e" not in text and "." not in text and "inf" not in text and "nan" not in text:
        text += ".0"
    return text + "f"


def c_array(ctype, name, values, per_line, fmt):
    """A static const C array, per_line items to a line."""
    lines = []
    for start in range(0, len(values), per_line):
        lines.append("    " + ", ".join(fmt(v) for v in values[start:start + per_line]) + ",")
    return "static const %s %s[%d] = {\n%s\n};\n" % (ctype, name, len(values), "\n".join(lines))


def u32(v):
    return "%uU" % int(v)


def u64(v):
    return "UINT64_C(%u)" % int(v)


def i32(v):
    return "%d" % int(v)


def stream_section(out):
    """Raw words, doubles, normals and a shuffle for every seed, plus random_interval draws."""
    rows = []
    for seed in SEEDS:
        raw = np.random.RandomState(seed)._bit_generator.random_raw(RAW_COUNT)
        doubles = np.random.RandomState(seed).random_sample(DOUBLE_COUNT)
        normals = np.random.RandomState(seed).normal(NORMAL_LOC, NORMAL_SCALE, NORMAL_COUNT)
        shuffled = np.arange(SHUFFLE_COUNT)
        np.random.RandomState(seed).shuffle(shuffled)
        tag = "seed%u" % seed
        out.append(c_array("uint32_t", "numpy_ref_raw_" + tag, list(raw), 6, u32))
        out.append(c_array("double", "numpy_ref_double_" + tag, list(doubles), 3, c_double))
        out.append(c_array("double", "numpy_ref_normal_" + tag, list(normals), 3, c_double))
        out.append(c_array("uint32_t", "numpy_ref_shuffle_" + tag, list(shuffled), 12, u32))
        rows.append("    {%uU, numpy_ref_raw_%s, numpy_ref_double_%s, numpy_ref_normal_%s, numpy_ref_shuffle_%s},"
                    % (seed, tag, tag, tag, tag))
    out.append("/* Every stream of one seed, each from a fresh RandomState(seed). */\n"
               "typedef struct numpy_ref_stream {\n"
               "    uint32_t seed;          /* RandomState(seed) */\n"
               "    const uint32_t *raw;    /* NUMPY_REF_RAW_COUNT words of random_raw */\n"
               "    const double *doubles;  /* NUMPY_REF_DOUBLE_COUNT random_sample() */\n"
               "    const double *normals;  /* NUMPY_REF_NORMAL_COUNT normal(LOC, SCALE) */\n"
               "    const uint32_t *shuffle; /* shuffle(arange(NUMPY_REF_SHUFFLE_COUNT)) */\n"
               "} numpy_ref_stream;\n\n"
               "static const numpy_ref_stream numpy_ref_streams[] = {\n%s\n};\n" % "\n".join(rows))
    out.append("#define NUMPY_REF_STREAM_COUNT (sizeof numpy_ref_streams / sizeof numpy_ref_streams[0])\n")

    rows = []
    for index, (seed, max_value) in enumerate(INTERVAL_CASES):
        values = np.random.RandomState(seed).randint(0, max_value + 1, INTERVAL_COUNT, dtype=np.uint64)
        name = "numpy_ref_interval_%d" % index
        out.append(c_array("uint64_t", name, list(values), 3, u64))
        rows.append("    {%uU, %s, %s}," % (seed, u64(max_value), name))
    out.append("/* NUMPY_REF_INTERVAL_COUNT successive random_interval(max) draws from RandomState(seed)\n"
               " * (obtained as randint(0, max + 1, dtype=uint64), which uses the same masked rejection). */\n"
               "typedef struct numpy_ref_interval {\n"
               "    uint32_t seed;          /* RandomState(seed) */\n"
               "    uint64_t max;           /* inclusive upper bound */\n"
               "    const uint64_t *values; /* the draws */\n"
               "} numpy_ref_interval;\n\n"
               "static const numpy_ref_interval numpy_ref_intervals[] = {\n%s\n};\n" % "\n".join(rows))
    out.append("#define NUMPY_REF_INTERVAL_CASES (sizeof numpy_ref_intervals / sizeof numpy_ref_intervals[0])\n")


def dataset_arrays(out, name, x, y):
    """Emits the float32 coordinates and int labels of one data set; returns the array names."""
    out.append(c_array("float", name + "_x", list(np.asarray(x, dtype=np.float64).ravel()), 4, c_float))
    out.append(c_array("int32_t", name + "_y", list(y), 25, i32))
    return name + "_x", name + "_y"


def dataset_grid():
    """(kind, n, shuffle, noise, state, factor) of every make_circles and make_moons case."""
    for n in CIRCLE_SIZES:
        for noise in NOISES_CIRCLES:
            for shuffle in SHUFFLES:
                for state in STATES:
                    for factor in FACTORS:
                        yield ("circles", n, shuffle, noise, state, factor)
    for n in MOON_SIZES:
        for noise in NOISES_MOONS:
            for shuffle in SHUFFLES:
                for state in STATES:
                    yield ("moons", n, shuffle, noise, state, None)


def dataset_section(out):
    """Every make_circles / make_moons case of the grid, then the table of cases."""
    rows = []
    for index, (kind, n, shuffle, noise, state, factor) in enumerate(dataset_grid()):
        if kind == "circles":
            x, y = make_circles(n, shuffle=shuffle, noise=noise, random_state=state, factor=factor)
            call = "make_circles(%d, shuffle=%s, noise=%s, random_state=%d, factor=%s)" % (
                n, shuffle, noise, state, factor)
        else:
            x, y = make_moons(n, shuffle=shuffle, noise=noise, random_state=state)
            call = "make_moons(%d, shuffle=%s, noise=%s, random_state=%d)" % (n, shuffle, noise, state)
        xname, yname = dataset_arrays(out, "numpy_ref_case%d" % index, x, y)
        rows.append('    {"%s", NUMPY_REF_%s, %d, %s, %s, %dU, %s, %s, %s},' % (
            call, kind.upper(), n, "true" if shuffle else "false", c_double(noise or 0.0), state,
            c_double(factor or 0.0), xname, yname))
    out.append("/* One call of make_circles or make_moons (noise None is 0.0 here). */\n"
               "typedef struct numpy_ref_dataset {\n"
               "    const char *call;      /* the scikit-learn call */\n"
               "    int kind;              /* NUMPY_REF_CIRCLES or NUMPY_REF_MOONS */\n"
               "    size_t n_samples;      /* rows */\n"
               "    bool shuffle;          /* shuffle argument */\n"
               "    double noise;          /* noise argument (0.0 for None) */\n"
               "    uint32_t random_state; /* random_state argument */\n"
               "    double factor;         /* make_circles' factor (0.0 for moons) */\n"
               "    const float *x;        /* n_samples x 2, float64 rounded to float32 */\n"
               "    const int32_t *labels; /* n_samples labels */\n"
               "} numpy_ref_dataset;\n\n"
               "static const numpy_ref_dataset numpy_ref_datasets[] = {\n%s\n};\n" % "\n".join(rows))
    out.append("#define NUMPY_REF_DATASET_COUNT (sizeof numpy_ref_datasets / sizeof numpy_ref_datasets[0])\n")


def split_section(out):
    """train_test_split of float32 make_moons data: the source and both parts."""
    rows = []
    for index, (n, noise, state, n_test, seed) in enumerate(SPLIT_CASES):
        x, y = make_moons(n, noise=noise, random_state=state)
        x = x.astype(np.float32)
        x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=n_test, random_state=seed)
        tag = "numpy_ref_split%d" % index
        src = dataset_arrays(out, tag + "_source", x, y)
        train = dataset_arrays(out, tag + "_train", x_train, y_train)
        test = dataset_arrays(out, tag + "_test", x_test, y_test)
        call = "train_test_split(X, y, test_size=%d, random_state=%d) of make_moons(%d, noise=%s, random_state=%d)" % (
            n_test, seed, n, noise, state)
        rows.append('    {"%s", %d, %d, %dU, %s, %s, %s, %s, %s, %s},' % (
            call, n, n_test, seed, src[0], src[1], train[0], train[1], test[0], test[1]))
    out.append("/* One train_test_split(X, y, test_size=n_test, random_state=seed) of float32 data. */\n"
               "typedef struct numpy_ref_split {\n"
               "    const char *call;            /* the scikit-learn calls */\n"
               "    size_t n_samples;            /* rows of the source */\n"
               "    size_t n_test;               /* rows of the test part */\n"
               "    uint32_t seed;               /* random_state of the split */\n"
               "    const float *x;              /* source, n_samples x 2 */\n"
               "    const int32_t *labels;       /* source labels */\n"
               "    const float *train_x;        /* (n_samples - n_test) x 2 */\n"
               "    const int32_t *train_labels; /* n_samples - n_test labels */\n"
               "    const float *test_x;         /* n_test x 2 */\n"
               "    const int32_t *test_labels;  /* n_test labels */\n"
               "} numpy_ref_split;\n\n"
               "static const numpy_ref_split numpy_ref_splits[] = {\n%s\n};\n" % "\n".join(rows))
    out.append("#define NUMPY_REF_SPLIT_COUNT (sizeof numpy_ref_splits / sizeof numpy_ref_splits[0])\n")


def error_section(out):
    """Argument sets for which scikit-learn raises, with its message."""
    rows = []
    for kind, kwargs in ERROR_CASES:
        function = make_circles if kind == "circles" else make_moons
        try:
            function(**kwargs)
        except ValueError as error:
            message = str(error).replace("\\", "\\\\").replace('"', '\\"')
        else:
            raise SystemExit("expected %s(%s) to raise" % (function.__name__, kwargs))
        rows.append('    {NUMPY_REF_%s, %d, %s, %s, "%s"},' % (
            kind.upper(), kwargs["n_samples"], c_double(kwargs.get("noise") or 0.0),
            c_double(kwargs.get("factor", 0.8)), message))
    out.append("/* Arguments for which scikit-learn raises ValueError (message kept for the reader). */\n"
               "typedef struct numpy_ref_error {\n"
               "    int kind;              /* NUMPY_REF_CIRCLES or NUMPY_REF_MOONS */\n"
               "    size_t n_samples;      /* n_samples argument */\n"
               "    double noise;          /* noise argument (0.0 for None) */\n"
               "    double factor;         /* make_circles' factor (0.8, the default, otherwise) */\n"
               "    const char *message;   /* what scikit-learn says */\n"
               "} numpy_ref_error;\n\n"
               "static const numpy_ref_error numpy_ref_errors[] = {\n%s\n};\n" % "\n".join(rows))
    out.append("#define NUMPY_REF_ERROR_COUNT (sizeof numpy_ref_errors / sizeof numpy_ref_errors[0])\n")


def header():
    """The whole header as a string."""
    out = ["/*\n"
           " * numpy_reference.h - GENERATED by tools/gen_numpy_fixtures.py; do not edit by hand.\n"
           " * Regenerate from the repository root with Debian's interpreter:\n"
           " *     /usr/bin/python3 tools/gen_numpy_fixtures.py\n"
           " * numpy %s, scikit-learn %s (legacy np.random.RandomState). Data-set coordinates are\n"
           " * float64 values rounded to float32; numpy's sin/cos may come from SVML, so they can\n"
           " * differ from glibc's by 1 ulp of the double (and rarely 1 ulp of the float32).\n"
           " */\n"
           "#ifndef BNMLP_NUMPY_REFERENCE_H\n#define BNMLP_NUMPY_REFERENCE_H\n\n"
           "#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n\n"
           "#define NUMPY_REF_RAW_COUNT %d\n#define NUMPY_REF_DOUBLE_COUNT %d\n"
           "#define NUMPY_REF_NORMAL_COUNT %d\n#define NUMPY_REF_NORMAL_LOC %s\n"
           "#define NUMPY_REF_NORMAL_SCALE %s\n#define NUMPY_REF_SHUFFLE_COUNT %d\n"
           "#define NUMPY_REF_INTERVAL_COUNT %d\n"
           "#define NUMPY_REF_CIRCLES 0\n#define NUMPY_REF_MOONS 1\n"
           % (np.__version__, sklearn.__version__, RAW_COUNT, DOUBLE_COUNT, NORMAL_COUNT,
              c_double(NORMAL_LOC), c_double(NORMAL_SCALE), SHUFFLE_COUNT, INTERVAL_COUNT)]
    stream_section(out)
    dataset_section(out)
    split_section(out)
    error_section(out)
    out.append("#endif /* BNMLP_NUMPY_REFERENCE_H */\n")
    return "\n".join(out)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tests", "fixtures", "numpy_reference.h")
    text = header()
    with open(path, "w") as handle:
        handle.write(text)
    print("wrote %s (%d bytes)" % (path, len(text)))


if __name__ == "__main__":
    main()
