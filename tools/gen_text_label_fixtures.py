#!/usr/bin/python3
"""Writes tests/fixtures/text_labels_reference.h: a CSV file with a text label column and the
classes scikit-learn's LabelEncoder gives it, for tests/test_csv.c.

Run with Debian's interpreter, which has python3-numpy and python3-sklearn:

    /usr/bin/python3 tools/gen_text_label_fixtures.py          # writes tests/fixtures/text_labels_reference.h
    /usr/bin/python3 tools/gen_text_label_fixtures.py OUT.h    # writes OUT.h instead

Deterministic (fixed list, fixed seed); committed, so tests never need Python. LabelEncoder.fit
sorts the distinct labels with numpy (np.unique on a str array: Unicode code point order, which
is the byte order of their UTF-8); transform gives each row its index. The names mix ASCII case,
digits (as text: "10" before "2"), a prefix of another name, multi-byte UTF-8 and the empty name.
"""
import sys

import numpy as np
from sklearn.preprocessing import LabelEncoder

NAMES = ["setosa", "Versicolor", "virginica", "10", "2", "a", "ab", "b", "\u00e9t\u00e9", "\u00df",
         "\u65e5\u672c", "Z", "", "a b", "\u00c9"]


def c_string(text):
    out = []
    for byte in text.encode("utf-8"):
        ch = chr(byte)
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif 0x20 <= byte < 0x7F:
            out.append(ch)
        else:
            out.append("\\%03o" % byte)
    return '"' + "".join(out) + '"'


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/text_labels_reference.h"
    rng = np.random.default_rng(17)
    rows = [NAMES[i % len(NAMES)] for i in range(3 * len(NAMES))]
    rows = [rows[i] for i in rng.permutation(len(rows))]
    encoder = LabelEncoder().fit(np.array(rows, dtype=str))
    codes = encoder.transform(np.array(rows, dtype=str))
    lines = ["f0,label\n"]
    for i, name in enumerate(rows):
        lines.append("%d,\"%s\"\n" % (i, name))
    text = "".join(lines)
    with open(path, "w", encoding="ascii") as out:
        out.write("/* text_labels_reference.h - written by tools/gen_text_label_fixtures.py (numpy %s,\n"
                  " * scikit-learn LabelEncoder); do not edit. */\n" % np.__version__)
        out.write("#define TEXT_LABELS_ROWS %d\n#define TEXT_LABELS_CLASSES %d\n" % (len(rows), len(encoder.classes_)))
        out.write("static const char TEXT_LABELS_CSV[] =\n")
        for line in lines:
            out.write("    %s\n" % c_string(line))
        out.write("    ;\n")
        out.write("static const char *const TEXT_LABELS_NAMES[TEXT_LABELS_CLASSES] = {\n")
        for name in encoder.classes_:
            out.write("    %s,\n" % c_string(str(name)))
        out.write("};\n")
        out.write("static const float TEXT_LABELS_Y[TEXT_LABELS_ROWS] = {%s};\n" % ", ".join("%d" % c for c in codes))


if __name__ == "__main__":
    main()
