#!/usr/bin/python3
"""Writes the .npy fixtures of tests/test_npy.c with numpy itself.

Run with Debian's Python, which has numpy 1.24 (the python3 first on PATH may lack numpy):

    /usr/bin/python3 tools/gen_npy_fixtures.py

Writes tests/fixtures/npy/*.npy and tests/fixtures/npy_fixtures.h, a table of every file with the
status the reader must return and, for good files, the expected float32 tensor (row-major, as hex
float literals, so exact). Both are committed: CI has no Python.
"""
import io
import os
import struct

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "npy")
HEADER = os.path.join(ROOT, "tests", "fixtures", "npy_fixtures.h")

cases = []  # (file name, status, expected float32 2-D array or None, what)


def npy_bytes(array, version=None):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=version, allow_pickle=False)
    return buffer.getvalue()


def save(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def good(name, array, version=None, what=""):
    """A file numpy writes from array; the reader must give array as float32, 1-D as a column."""
    save(name, npy_bytes(array, version))
    expected = np.asarray(array).astype(np.float32)
    if expected.ndim == 1:
        expected = expected.reshape(-1, 1)
    cases.append((name, "BNMLP_OK", np.ascontiguousarray(expected), what))


def bad(name, data, status, what):
    save(name, data)
    cases.append((name, status, None, what))


def raw_header(dict_text, version=(1, 0)):
    """Preamble + header as numpy pads it (to 64 bytes, '\n' last), for hand-made dicts."""
    header = dict_text.encode("latin1")
    fmt = "<H" if version == (1, 0) else "<I"
    prefix_len = 6 + 2 + struct.calcsize(fmt)
    hlen = len(header) + 1
    pad = 64 - (prefix_len + hlen) % 64
    return (b"\x93NUMPY" + bytes(version) + struct.pack(fmt, hlen + pad) + header + b" " * pad + b"\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        if old.endswith(".npy"):
            os.remove(os.path.join(OUT, old))
    rng = np.random.RandomState(7)

    # Every element type, 1-D and 2-D, format 1.0 unless said.
    f4 = np.array([[1.5, -2.25], [3.0e-39, 0.0], [-0.0, 3.4028235e38]], dtype=np.float32)
    good("f4_2d.npy", f4, what="float32 3x2 incl. a subnormal, -0 and FLT_MAX")
    good("f4_1d.npy", np.array([0.1, 0.2, 0.3, -7.0], dtype=np.float32), what="float32 (4,)")
    good("f8_2d.npy", np.array([[0.1, 1e-3, -2.5], [1e30, -1e-40, 123456789.123]], dtype=np.float64),
         what="float64 rounded once to float32")
    good("f8_1d.npy", rng.standard_normal(6), what="float64 (6,)")
    good("i4_2d.npy", np.array([[1, -2, 3], [2147483647, -2147483648, 0]], dtype=np.int32), what="int32 2x3")
    good("i4_1d.npy", np.arange(-3, 4, dtype=np.int32), what="int32 (7,)")
    good("i8_2d.npy", np.array([[2**24 + 1, -(2**40) - 3], [9223372036854775807, 5]], dtype=np.int64),
         what="int64 beyond 2^24: rounded to nearest float32")
    good("i8_1d.npy", np.array([0, 1, -1, 16777217], dtype=np.int64), what="int64 (4,)")
    good("u1_2d.npy", np.array([[0, 255], [7, 128]], dtype=np.uint8), what="uint8 2x2")
    good("u1_1d.npy", np.array([1, 2, 3], dtype=np.uint8), what="uint8 (3,)")
    good("i1_2d.npy", np.array([[-128, 127, 0]], dtype=np.int8), what="int8 1x3")
    good("b1_1d.npy", np.array([True, False, True, True]), what="bool (4,)")
    good("b1_2d.npy", np.array([[True, False], [False, True]]), what="bool 2x2")
    # Format versions.
    good("f4_2d_v2.npy", f4, version=(2, 0), what="format 2.0")
    good("i4_1d_v2.npy", np.arange(5, dtype=np.int32), version=(2, 0), what="format 2.0, 1-D")
    good("f4_2d_v3.npy", f4, version=(3, 0), what="format 3.0 (utf-8 header)")
    # Fortran order and big-endian.
    good("f4_fortran.npy", np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4)), what="Fortran order")
    good("i8_fortran.npy", np.asfortranarray(np.arange(6, dtype=np.int64).reshape(2, 3) * -5), what="Fortran int64")
    good("f8_big.npy", np.array([[1.25, -3.5], [1e-3, 7.0]], dtype=">f8"), what="big-endian float64")
    good("i4_big.npy", np.array([[1, -2, 70000]], dtype=">i4"), what="big-endian int32")
    good("f4_big_fortran.npy", np.asfortranarray(np.arange(6, dtype=">f4").reshape(2, 3)), what="big-endian Fortran")
    good("f4_wide.npy", rng.standard_normal((2, 40)).astype(np.float32), what="2x40 random float32")
    # Hand-made but valid: another key order, no trailing comma, double quotes, no padding.
    body = np.array([[1.0, 2.0], [3.0, 4.0]], dtype="<f4").tobytes()
    data = raw_header("{'shape': (2, 2), 'fortran_order': False, 'descr': '<f4'}") + body
    save("keys_reordered.npy", data)
    cases.append(("keys_reordered.npy", "BNMLP_OK", np.array([[1, 2], [3, 4]], np.float32), "keys in another order"))
    header = b"{\"descr\":\"<f4\",\"fortran_order\":False,\"shape\":(2,2)}\n"
    save("unpadded.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + body)
    cases.append(("unpadded.npy", "BNMLP_OK", np.array([[1, 2], [3, 4]], np.float32), "no 64-byte padding"))

    # Shapes and types that cannot become a tensor.
    bad("f4_3d.npy", npy_bytes(np.zeros((2, 2, 2), np.float32)), "BNMLP_ERR_UNSUPPORTED", "3-D array")
    bad("f4_0d.npy", npy_bytes(np.array(1.5, np.float32)), "BNMLP_ERR_UNSUPPORTED", "0-D array (shape ())")
    bad("f4_empty.npy", npy_bytes(np.zeros((0, 3), np.float32)), "BNMLP_ERR_UNSUPPORTED", "shape (0, 3)")
    bad("c8.npy", npy_bytes(np.zeros((2, 2), np.complex64)), "BNMLP_ERR_UNSUPPORTED", "complex64")
    bad("u2.npy", npy_bytes(np.zeros((2, 2), np.uint16)), "BNMLP_ERR_UNSUPPORTED", "uint16")
    bad("f2.npy", npy_bytes(np.zeros((2, 2), np.float16)), "BNMLP_ERR_UNSUPPORTED", "float16")
    bad("unicode.npy", npy_bytes(np.array(["ab", "cd"])), "BNMLP_ERR_UNSUPPORTED", "unicode strings")
    bad("structured.npy", npy_bytes(np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")])), "BNMLP_ERR_UNSUPPORTED",
        "structured dtype")
    # Values that are not finite floats.
    bad("f8_nan.npy", npy_bytes(np.array([[1.0, np.nan]])), "BNMLP_ERR_NOT_FINITE", "float64 NaN")
    bad("f4_inf.npy", npy_bytes(np.array([1.0, -np.inf], np.float32)), "BNMLP_ERR_NOT_FINITE", "float32 -inf")
    bad("f8_huge.npy", npy_bytes(np.array([1e300])), "BNMLP_ERR_NOT_FINITE", "float64 beyond float32 range")
    # Broken files.
    good_bytes = npy_bytes(np.arange(6, dtype=np.float32).reshape(2, 3))
    bad("truncated_data.npy", good_bytes[:-3], "BNMLP_ERR_TRUNCATED", "data 3 bytes short")
    bad("trailing_bytes.npy", good_bytes + b"\x00\x00\x00\x00", "BNMLP_ERR_FORMAT", "4 bytes after the data")
    bad("truncated_header.npy", good_bytes[:40], "BNMLP_ERR_TRUNCATED", "ends inside the header")
    bad("truncated_preamble.npy", good_bytes[:7], "BNMLP_ERR_TRUNCATED", "ends inside the preamble")
    bad("bad_magic.npy", b"\x93NUMPZ" + good_bytes[6:], "BNMLP_ERR_FORMAT", "wrong magic")
    bad("empty.npy", b"", "BNMLP_ERR_TRUNCATED", "empty file")
    bad("version_4.npy", good_bytes[:6] + b"\x04\x00" + good_bytes[8:], "BNMLP_ERR_VERSION", "format 4.0")
    bad("version_1_1.npy", good_bytes[:6] + b"\x01\x01" + good_bytes[8:], "BNMLP_ERR_VERSION", "format 1.1")
    body6 = np.zeros(6, "<f4").tobytes()
    bad("extra_key.npy", raw_header("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'x': 1, }") + body6,
        "BNMLP_ERR_FORMAT", "an unknown key")
    bad("missing_key.npy", raw_header("{'descr': '<f4', 'shape': (6,), }") + body6, "BNMLP_ERR_FORMAT",
        "no fortran_order")
    bad("duplicate_key.npy", raw_header("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,)}")
        + body6, "BNMLP_ERR_FORMAT", "descr twice")
    bad("shape_no_comma.npy", raw_header("{'descr': '<f4', 'fortran_order': False, 'shape': (6), }") + body6,
        "BNMLP_ERR_FORMAT", "(6) is not a tuple")
    bad("shape_negative.npy", raw_header("{'descr': '<f4', 'fortran_order': False, 'shape': (-6,), }") + body6,
        "BNMLP_ERR_FORMAT", "negative dimension")
    bad("fortran_yes.npy", raw_header("{'descr': '<f4', 'fortran_order': yes, 'shape': (6,), }") + body6,
        "BNMLP_ERR_FORMAT", "fortran_order not a bool")
    bad("not_a_dict.npy", raw_header("['descr', '<f4']") + body6, "BNMLP_ERR_FORMAT", "a list, not a dict")
    bad("huge_shape.npy", raw_header("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }")
        + body6, "BNMLP_ERR_OVERFLOW", "rows * cols * 8 overflows 64 bits")
    bad("big_shape.npy", raw_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000), }")
        + body6, "BNMLP_ERR_TRUNCATED", "4 GB announced, 24 bytes present")
    header_long = good_bytes[:8] + struct.pack("<H", 60000) + good_bytes[10:]
    bad("header_too_long.npy", header_long, "BNMLP_ERR_TRUNCATED", "header length beyond the file")

    write_header()


def c_float(value):
    value = float(value)
    if value == 0.0:
        return "-0.0f" if np.signbit(value) else "0.0f"
    return value.hex() + "f"


def write_header():
    lines = [
        "/* npy_fixtures.h - generated by tools/gen_npy_fixtures.py with numpy %s; do not edit. */" % np.__version__,
        "#ifndef BNMLP_NPY_FIXTURES_H",
        "#define BNMLP_NPY_FIXTURES_H",
        "",
        "#include <stddef.h>",
        "",
        '#include "bnmlp.h"',
        "",
        "/* One file of tests/fixtures/npy and what the reader must make of it. */",
        "typedef struct npy_fixture {",
        "    const char *file;     /* name in tests/fixtures/npy */",
        "    bnmlp_status status;  /* what bnmlp_npy_read returns */",
        "    size_t rows, cols;    /* the tensor's shape (BNMLP_OK only) */",
        "    const float *values;  /* rows * cols floats, row-major (BNMLP_OK only) */",
        "    const char *what;     /* what the file is */",
        "} npy_fixture;",
        "",
    ]
    for name, status, expected, what in cases:
        if expected is None:
            continue
        ident = "npy_values_" + name[:-4]
        values = ", ".join(c_float(v) for v in expected.ravel())
        lines.append("static const float %s[] = {%s};" % (ident, values))
    lines.append("")
    lines.append("static const npy_fixture npy_fixtures[] = {")
    for name, status, expected, what in cases:
        if expected is None:
            lines.append('    {"%s", %s, 0, 0, NULL, "%s"},' % (name, status, what))
        else:
            lines.append('    {"%s", %s, %d, %d, npy_values_%s, "%s"},'
                         % (name, status, expected.shape[0], expected.shape[1], name[:-4], what))
    lines.append("};")
    lines.append("")
    lines.append("#endif /* BNMLP_NPY_FIXTURES_H */")
    with open(HEADER, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
