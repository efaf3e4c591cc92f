#!/bin/sh
# The ONNX check (ctest's onnx_export_check): tests/onnx/onnx_cases exports models of several
# shapes with their inputs and predictions, and tools/check_onnx.py validates them with Debian's
# python3-onnx and compares a NumPy evaluation of each graph with the library's predictions.
# Exits 77 (ctest's SKIP_RETURN_CODE) when /usr/bin/python3 cannot import onnx and numpy
# (apt-get install python3-onnx python3-numpy); CI installs them and checks that it ran.
# Where node can load onnxruntime-node (optional: an npm package, not installed by CI), the
# exports also run in onnxruntime (tools/check_onnx_runtime.js).
# Usage: run.sh ONNX_CASES CHECK_ONNX_PY
set -eu
python=/usr/bin/python3
if ! "$python" -c 'import onnx, numpy' 2>/dev/null; then
    echo "ONNX check skipped: $python cannot import onnx and numpy (apt-get install python3-onnx python3-numpy)"
    exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$1" "$dir"
"$python" "$2" "$dir"
runtime_check="$(dirname "$2")/check_onnx_runtime.js"
if command -v node >/dev/null 2>&1 && node -e "require('onnxruntime-node')" >/dev/null 2>&1; then
    node "$runtime_check" "$dir"
else
    echo "onnxruntime-node not found: the optional onnxruntime comparison did not run"
fi
