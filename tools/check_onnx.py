#!/usr/bin/python3
"""Validates libbnmlp's ONNX exports against the library's own predictions.

Usage: /usr/bin/python3 tools/check_onnx.py DIR

DIR holds, for each case NAME, what tests/onnx/onnx_cases writes: NAME.onnx (the export),
NAME.x.npy (random inputs) and NAME.y.npy (bnmlp_model_predict's outputs for them). For each
case this script:
  1. loads the file with Debian's python3-onnx and runs onnx.checker.check_model(full_check=True)
     and strict shape inference, and checks the declared graph: input "input" and output "output"
     of float [N, width] with the batch dimension a parameter, opset 13 of the default domain,
     IR version 7, producer "libbnmlp", the metadata_props keys;
  2. checks that protobuf's own serializer writes the very bytes of the file (our writer is
     canonical: fields in number order, shortest varints);
  3. evaluates the graph with the small NumPy evaluator below (initializers read with
     onnx.numpy_helper, float32 arithmetic as the library's, softmax and erf in double) and
     compares its outputs with the library's: |onnx - library| <= 1e-5 + 1e-5 * |library| for
     every element (absolute plus relative, as numpy.allclose(rtol=1e-5, atol=1e-5));
  4. where onnxruntime can be imported, runs it too and compares with the same tolerance
     (optional: it is not a Debian package).
It prints one line per case and "N passed, M failed" at the end; the exit status is 0 only when
every case passes and at least one case was found. Needs python3-onnx and python3-numpy.
"""
import glob
import math
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

RTOL = 1e-5
ATOL = 1e-5
METADATA_KEYS = {"loss", "layers", "libbnmlp_version"}


def attribute(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def sigmoid(x):
    with np.errstate(over="ignore"):
        e = np.exp(-np.abs(x)).astype(np.float32)
    one = np.float32(1)
    return np.where(x >= 0, one / (one + e), e / (one + e)).astype(np.float32)


def softmax(x, axis):
    d = x.astype(np.float64)
    d = np.exp(d - d.max(axis=axis, keepdims=True))
    return (d / d.sum(axis=axis, keepdims=True)).astype(np.float32)


def erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x.astype(np.float64)).astype(np.float32)


def gemm(node, a, b, c=None):
    if attribute(node, "transA", 0):
        a = a.T
    if attribute(node, "transB", 0):
        b = b.T
    y = np.float32(attribute(node, "alpha", 1.0)) * (a @ b)
    if c is not None:
        y = y + np.float32(attribute(node, "beta", 1.0)) * c
    return y.astype(np.float32)


def leaky_relu(node, x):
    alpha = np.float32(attribute(node, "alpha", 0.01))
    return np.where(x > 0, x, alpha * x).astype(np.float32)


def elu(node, x):
    alpha = np.float32(attribute(node, "alpha", 1.0))
    return np.where(x > 0, x, alpha * np.expm1(x)).astype(np.float32)


# Every operator the exporter may write: op_type -> function(node, *inputs).
OPERATORS = {
    "Gemm": gemm,
    "Relu": lambda node, x: np.maximum(x, np.float32(0)),
    "LeakyRelu": leaky_relu,
    "Sigmoid": lambda node, x: sigmoid(x),
    "Tanh": lambda node, x: np.tanh(x),
    "Softmax": lambda node, x: softmax(x, attribute(node, "axis", -1)),
    "Elu": elu,
    "Erf": lambda node, x: erf(x),
    "Add": lambda node, a, b: (a + b).astype(np.float32),
    "Sub": lambda node, a, b: (a - b).astype(np.float32),
    "Mul": lambda node, a, b: (a * b).astype(np.float32),
    "Div": lambda node, a, b: (a / b).astype(np.float32),
    "Identity": lambda node, x: x,
}


def evaluate(model, x):
    """Runs the graph's nodes in order on input x (float32); returns the graph's output."""
    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    values[model.graph.input[0].name] = x.astype(np.float32)
    for node in model.graph.node:
        if node.domain not in ("", "ai.onnx"):
            raise ValueError(f"node {node.name}: domain {node.domain!r}")
        if node.op_type not in OPERATORS:
            raise ValueError(f"node {node.name}: operator {node.op_type} is not in the evaluator")
        inputs = [values[name] for name in node.input if name]
        result = OPERATORS[node.op_type](node, *inputs)
        if result.dtype != np.float32:
            raise ValueError(f"node {node.name}: {result.dtype} result")
        values[node.output[0]] = result
    return values[model.graph.output[0].name]


def shape_of(value_info):
    dims = value_info.type.tensor_type.shape.dim
    return [d.dim_param if d.HasField("dim_param") else d.dim_value for d in dims]


def check_declarations(model, x, y):
    graph = model.graph
    problems = []
    if model.ir_version != 7:
        problems.append(f"ir_version {model.ir_version}")
    opsets = {o.domain: o.version for o in model.opset_import}
    if opsets != {"": 13}:
        problems.append(f"opset_import {opsets}")
    if model.producer_name != "libbnmlp" or not model.producer_version:
        problems.append(f"producer {model.producer_name!r} {model.producer_version!r}")
    if [i.name for i in graph.input] != ["input"] or [o.name for o in graph.output] != ["output"]:
        problems.append("graph inputs/outputs are not exactly 'input' / 'output'")
    else:
        for info, data in ((graph.input[0], x), (graph.output[0], y)):
            if info.type.tensor_type.elem_type != onnx.TensorProto.FLOAT:
                problems.append(f"{info.name} is not float")
            if shape_of(info) != ["N", data.shape[1]]:
                problems.append(f"{info.name} has shape {shape_of(info)}, not ['N', {data.shape[1]}]")
    keys = {p.key for p in model.metadata_props}
    if not METADATA_KEYS <= keys:
        problems.append(f"metadata_props {sorted(keys)} lack {sorted(METADATA_KEYS - keys)}")
    for t in graph.initializer:
        if t.data_type != onnx.TensorProto.FLOAT or not t.HasField("raw_data"):
            problems.append(f"initializer {t.name} is not float raw_data")
    return problems


def inferred_output_shape(model):
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    onnx.checker.check_model(inferred, full_check=True)
    return shape_of(inferred.graph.output[0])


def compare(name, got, expected):
    if got.shape != expected.shape:
        return f"{name}: shape {got.shape}, library {expected.shape}"
    error = np.abs(got.astype(np.float64) - expected.astype(np.float64))
    bound = ATOL + RTOL * np.abs(expected.astype(np.float64))
    if not np.all(error <= bound):
        worst = np.unravel_index(np.argmax(error - bound), error.shape)
        return f"{name}: at {worst} {got[worst]!r} vs library {expected[worst]!r} (error {error[worst]:.3g})"
    return None


def onnxruntime_outputs(path, x):
    try:
        import onnxruntime  # optional
    except ImportError:
        return None
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    return session.run(["output"], {"input": x.astype(np.float32)})[0]


def check_case(path):
    base = path[: -len(".onnx")]
    x = np.load(base + ".x.npy")
    y = np.load(base + ".y.npy")
    with open(path, "rb") as f:
        data = f.read()
    model = onnx.load_from_string(data)
    onnx.checker.check_model(model, full_check=True)
    problems = check_declarations(model, x, y)
    output_shape = inferred_output_shape(model)
    if output_shape != ["N", y.shape[1]]:
        problems.append(f"shape inference gives output {output_shape}")
    if model.SerializeToString() != data:
        problems.append("protobuf's serializer does not write the same bytes")
    ours = evaluate(model, x)
    problem = compare("numpy evaluator", ours, y)
    if problem:
        problems.append(problem)
    runtime = onnxruntime_outputs(path, x)
    if runtime is not None:
        problem = compare("onnxruntime", runtime, y)
        if problem:
            problems.append(problem)
    worst = float(np.max(np.abs(ours.astype(np.float64) - y.astype(np.float64)))) if ours.shape == y.shape else math.nan
    ops = sorted({n.op_type for n in model.graph.node})
    return problems, worst, ops, runtime is not None


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    paths = sorted(glob.glob(os.path.join(argv[1], "*.onnx")))
    passed = failed = 0
    for path in paths:
        name = os.path.basename(path)
        try:
            problems, worst, ops, ran_runtime = check_case(path)
        except Exception as error:  # a checker or evaluator failure is this case's failure
            problems, worst, ops, ran_runtime = [f"{type(error).__name__}: {error}"], math.nan, [], False
        if problems:
            failed += 1
            print(f"FAIL {name}: " + "; ".join(problems))
        else:
            passed += 1
            runtime = ", onnxruntime too" if ran_runtime else ""
            print(f"ok   {name}: max |onnx - library| {worst:.3g}{runtime}; ops {' '.join(ops)}")
    if not paths:
        print(f"no .onnx files in {argv[1]}")
    print(f"check_onnx: {passed} passed, {failed} failed")
    return 0 if paths and failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
