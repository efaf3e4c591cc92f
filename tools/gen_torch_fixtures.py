#!/usr/bin/python3
"""Generate tests/fixtures/torch_reference.h: PyTorch reference values for libbnmlp's layers.

Run from anywhere with Debian's interpreter (it has python3-torch and numpy):

    /usr/bin/python3 tools/gen_torch_fixtures.py

The output is deterministic (fixed seeds, one thread, float32, no timestamps), so running the
script again rewrites the header byte for byte. tests/test_torch_reference.c reads it.

Conventions (docs: /work/shared/DESIGN.md, reference/semantics.md sections 2 and 3):
  - Kernels are stored (IN, OUT) row-major, the transpose of torch.nn.Linear.weight (OUT, IN).
  - Batch-norm momentum is Keras's m; PyTorch's momentum is 1 - m.
  - PyTorch's running_var uses the unbiased batch variance (BNMLP_VARIANCE_UNBIASED); the
    biased and Keras 2 estimators are computed here in float64 numpy by their formula.
  - SGD: torch.optim.SGD(momentum, nesterov, dampening=0) follows the same trajectory as Keras's
    v = m v - lr g; w += v, with v = -lr * torch's momentum buffer.

Every case is computed twice, in float32 (the values written) and in float64 from the same
float32 inputs; the script stops if the two disagree by more than CROSS_CHECK_*, which bounds
how much of a test's tolerance PyTorch's own float32 rounding can use.
"""

import copy
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUT = os.path.join(HERE, "..", "tests", "fixtures", "torch_reference.h")

CROSS_CHECK_ATOL = 5e-6
CROSS_CHECK_RTOL = 5e-6

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


# ---- helpers ---------------------------------------------------------------------------------


def f32(t):
    """A tensor or array as a flat float32 numpy array (a copy: torch buffers change in place)."""
    if isinstance(t, torch.Tensor):
        t = t.detach().cpu().numpy()
    return np.array(t, dtype=np.float32, copy=True).reshape(-1)


def c_float(v):
    """A float32 value as a C float literal that round-trips ("%.9g" + "f")."""
    v = float(np.float32(v))
    if not np.isfinite(v):
        raise ValueError("non-finite value in fixture")
    s = "%.9g" % v
    if "." not in s and "e" not in s:
        s += ".0"
    return s + "f"


class Header:
    def __init__(self):
        self.parts = []

    def line(self, text=""):
        self.parts.append(text + "\n")

    def define(self, name, value, comment):
        self.line("#define %s %d /* %s */" % (name, value, comment))

    def array(self, name, values, comment, per_line=6):
        values = f32(values)
        self.line("/* %s */" % comment)
        self.line("static const float %s[%d] = {" % (name, values.size))
        for i in range(0, values.size, per_line):
            chunk = ", ".join(c_float(v) for v in values[i:i + per_line])
            self.line("    " + chunk + ",")
        self.line("};")
        self.line()

    def text(self):
        return "".join(self.parts)


def cross_check(name, single, double):
    """Stops unless the float32 and float64 computations of a case agree; reports the largest gap."""
    worst, worst_rel = 0.0, 0.0
    for key in single:
        a = np.asarray(single[key], dtype=np.float64).reshape(-1)
        b = np.asarray(double[key], dtype=np.float64).reshape(-1)
        gap = np.abs(a - b)
        worst = max(worst, float(gap.max()))
        worst_rel = max(worst_rel, float((gap / np.maximum(np.abs(b), 1e-30)).max()))
        bad = gap > CROSS_CHECK_ATOL + CROSS_CHECK_RTOL * np.abs(b)
        if bad.any():
            i = int(np.argmax(bad))
            sys.exit("%s.%s[%d]: float32 %r vs float64 %r" % (name, key, i, a[i], b[i]))
    print("%-16s float32 vs float64: max abs %.3g, max rel %.3g" % (name, worst, worst_rel))


def run_both(name, case, inputs):
    """Runs case(inputs, dtype) in float32 and float64; returns the float32 results."""
    single = case(inputs, torch.float32)
    double = case(inputs, torch.float64)
    cross_check(name, single, double)
    return single


def t(array, dtype, grad=False):
    return torch.tensor(np.asarray(array, dtype=np.float32), dtype=dtype, requires_grad=grad)


# ---- a. Linear ------------------------------------------------------------------------------

LIN_B, LIN_IN, LIN_OUT = 5, 3, 4


def linear_inputs():
    g = torch.Generator().manual_seed(101)
    return {
        "x": torch.randn(LIN_B, LIN_IN, generator=g).numpy(),
        "weight": (0.5 * torch.randn(LIN_OUT, LIN_IN, generator=g)).numpy(),  # torch (OUT, IN)
        "bias": (0.3 * torch.randn(LIN_OUT, generator=g)).numpy(),
        "dy": torch.randn(LIN_B, LIN_OUT, generator=g).numpy(),
    }


def linear_case(use_bias):
    def case(inp, dtype):
        layer = torch.nn.Linear(LIN_IN, LIN_OUT, bias=use_bias).to(dtype)
        with torch.no_grad():
            layer.weight.copy_(t(inp["weight"], dtype))
            if use_bias:
                layer.bias.copy_(t(inp["bias"], dtype))
        x = t(inp["x"], dtype, grad=True)
        y = layer(x)
        y.backward(t(inp["dy"], dtype))
        out = {"y": f32(y), "dx": f32(x.grad), "dw": f32(layer.weight.grad.t())}  # dW as (IN, OUT)
        if use_bias:
            out["db"] = f32(layer.bias.grad)
        return out
    return case


# ---- b. BatchNorm1d: training, inference, no affine --------------------------------------

BN_B, BN_C = 6, 4
BN_EPS = 1e-3
BN_KERAS_MOMENTUM = 0.99


def batchnorm_inputs():
    g = torch.Generator().manual_seed(202)
    z = torch.randn(BN_B, BN_C, generator=g)
    scales = torch.tensor([1.0, 25.0, 0.02, 3.0])     # 0.02: variance far below epsilon
    offsets = torch.tensor([0.5, -40.0, -0.3, 10.0])
    return {
        "x": (z * scales + offsets).numpy(),
        "gamma": torch.tensor([1.5, -0.7, 2.0, 0.3]).numpy(),
        "beta": torch.tensor([0.1, -0.4, 0.25, 1.2]).numpy(),
        "dy": torch.randn(BN_B, BN_C, generator=g).numpy(),
        # eval mode: moving statistics near but not equal to the batch's
        "moving_mean": torch.tensor([0.2, -35.0, -0.29, 9.0]).numpy(),
        "moving_variance": torch.tensor([1.3, 500.0, 0.0002, 6.0]).numpy(),
    }


def batchnorm_case(training, affine):
    def case(inp, dtype):
        bn = torch.nn.BatchNorm1d(BN_C, eps=BN_EPS, momentum=1.0 - BN_KERAS_MOMENTUM,
                                  affine=affine).to(dtype)
        with torch.no_grad():
            if affine:
                bn.weight.copy_(t(inp["gamma"], dtype))
                bn.bias.copy_(t(inp["beta"], dtype))
            if not training:
                bn.running_mean.copy_(t(inp["moving_mean"], dtype))
                bn.running_var.copy_(t(inp["moving_variance"], dtype))
        bn.train(training)
        x = t(inp["x"], dtype, grad=True)
        y = bn(x)
        y.backward(t(inp["dy"], dtype))
        out = {"y": f32(y), "dx": f32(x.grad)}
        if affine:
            out["dgamma"] = f32(bn.weight.grad)
            out["dbeta"] = f32(bn.bias.grad)
        return out
    return case


def batch_moments(x):
    """Batch mean, biased variance and rstd of float32 x, in float64 (the forward's caches)."""
    x64 = np.asarray(x, dtype=np.float64)
    mean = x64.mean(axis=0)
    variance = ((x64 - mean) ** 2).mean(axis=0)
    rstd = 1.0 / np.sqrt(variance + float(np.float32(BN_EPS)))
    return mean, variance, rstd


# ---- c. moving statistics over several batches -------------------------------------------

MOV_C = 3
MOV_EPS = 1e-3
MOV_KERAS_MOMENTUM = 0.9
MOV_SIZES = [8, 8, 5, 8, 2]


def moving_inputs():
    g = torch.Generator().manual_seed(303)
    scales = torch.tensor([1.0, 4.0, 0.3])
    offsets = torch.tensor([2.0, -1.0, 0.5])
    batches = []
    for k, n in enumerate(MOV_SIZES):
        drift = 0.5 * k  # the statistics move from batch to batch
        batches.append((torch.randn(n, MOV_C, generator=g) * scales + offsets + drift).numpy())
    return {"batches": batches}


def moving_case(inp, dtype):
    bn = torch.nn.BatchNorm1d(MOV_C, eps=MOV_EPS, momentum=1.0 - MOV_KERAS_MOMENTUM).to(dtype)
    bn.train()
    means, variances = [], []
    with torch.no_grad():
        for batch in inp["batches"]:
            bn(t(batch, dtype))
            means.append(f32(bn.running_mean))
            variances.append(f32(bn.running_var))
    return {"mean": np.concatenate(means), "variance_unbiased": np.concatenate(variances)}


def moving_formula(batches, factor):
    """Moving variance by the formula in float64: m*moving + (1-m)*var_biased*factor(N)."""
    m = MOV_KERAS_MOMENTUM
    moving = np.ones(MOV_C)
    out = []
    for batch in batches:
        n = batch.shape[0]
        _, variance, _ = batch_moments(batch)
        moving = m * moving + (1.0 - m) * variance * factor(n)
        out.append(moving.copy())
    return np.concatenate(out)


# ---- d. SGD trajectories -----------------------------------------------------------------

SGD_N, SGD_STEPS, SGD_LR = 10, 6, 0.05


def sgd_inputs():
    g = torch.Generator().manual_seed(404)
    return {
        "w0": torch.randn(SGD_N, generator=g).numpy(),
        "grads": torch.randn(SGD_STEPS, SGD_N, generator=g).numpy(),
    }


def sgd_case(momentum, nesterov):
    def case(inp, dtype):
        w = torch.nn.Parameter(t(inp["w0"], dtype))
        opt = torch.optim.SGD([w], lr=SGD_LR, momentum=momentum, nesterov=nesterov, dampening=0)
        path = []
        for k in range(SGD_STEPS):
            w.grad = t(inp["grads"][k], dtype)  # independent of w: replayable in C
            opt.step()
            path.append(f32(w))
        return {"w": np.concatenate(path)}
    return case


# ---- e. a whole model ---------------------------------------------------------------------

MOD_IN, MOD_HIDDEN, MOD_B, MOD_B2, MOD_STEPS = 2, 5, 8, 4, 3
MOD_LR, MOD_SGD_MOMENTUM = 0.1, 0.9
MOD_EPS, MOD_KERAS_MOMENTUM = 1e-3, 0.99
RELU_MARGIN = 1e-2  # hidden pre-activations stay this far from ReLU's kink in every step


def model_inputs():
    g = torch.Generator().manual_seed(505)
    return {
        "w1": (0.8 * torch.randn(MOD_HIDDEN, MOD_IN, generator=g)).numpy(),  # torch (OUT, IN)
        "b1": (0.3 * torch.randn(MOD_HIDDEN, generator=g) + 0.4).numpy(),
        "gamma": (1.0 + 0.3 * torch.randn(MOD_HIDDEN, generator=g)).numpy(),
        "beta": (0.2 * torch.randn(MOD_HIDDEN, generator=g)).numpy(),
        "moving_mean": (0.3 * torch.rand(MOD_HIDDEN, generator=g)).numpy(),
        "moving_variance": (0.5 + torch.rand(MOD_HIDDEN, generator=g)).numpy(),
        "w2": (0.7 * torch.randn(1, MOD_HIDDEN, generator=g)).numpy(),
        "b2": torch.tensor([0.1]).numpy(),
        "x": torch.randn(MOD_B, MOD_IN, generator=g).numpy(),
        "y": torch.tensor([[1.0], [0.0], [1.0], [1.0], [0.0], [0.0], [1.0], [0.0]]).numpy(),
        "x2": torch.randn(MOD_B2, MOD_IN, generator=g).numpy(),
    }


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.dense1 = torch.nn.Linear(MOD_IN, MOD_HIDDEN)
        self.bn = torch.nn.BatchNorm1d(MOD_HIDDEN, eps=MOD_EPS, momentum=1.0 - MOD_KERAS_MOMENTUM)
        self.dense2 = torch.nn.Linear(MOD_HIDDEN, 1)

    def logits(self, x):
        return self.dense2(self.bn(torch.relu(self.dense1(x))))


def model_params(net):
    """The parameters in bnmlp_model_get_params order: W1 (IN, OUT), b1, gamma, beta, W2, b2."""
    return [net.dense1.weight.t(), net.dense1.bias, net.bn.weight, net.bn.bias,
            net.dense2.weight.t(), net.dense2.bias]


def model_grads(net):
    return [net.dense1.weight.grad.t(), net.dense1.bias.grad, net.bn.weight.grad, net.bn.bias.grad,
            net.dense2.weight.grad.t(), net.dense2.bias.grad]


def model_case(inp, dtype):
    net = Net().to(dtype)
    with torch.no_grad():
        net.dense1.weight.copy_(t(inp["w1"], dtype))
        net.dense1.bias.copy_(t(inp["b1"], dtype))
        net.bn.weight.copy_(t(inp["gamma"], dtype))
        net.bn.bias.copy_(t(inp["beta"], dtype))
        net.bn.running_mean.copy_(t(inp["moving_mean"], dtype))
        net.bn.running_var.copy_(t(inp["moving_variance"], dtype))
        net.dense2.weight.copy_(t(inp["w2"], dtype))
        net.dense2.bias.copy_(t(inp["b2"], dtype))
    x, y, x2 = t(inp["x"], dtype), t(inp["y"], dtype), t(inp["x2"], dtype)
    bce = torch.nn.BCEWithLogitsLoss()

    # Loss and gradients at the start, on a copy (our loss_gradients leaves the model as it is).
    probe = copy.deepcopy(net).train()
    loss0 = bce(probe.logits(x), y)
    loss0.backward()
    grads = np.concatenate([f32(g) for g in model_grads(probe)])

    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=MOD_LR, momentum=MOD_SGD_MOMENTUM)
    losses, accuracies, min_margin = [], [], np.inf
    for _ in range(MOD_STEPS):
        with torch.no_grad():
            pre = net.dense1(x)
            min_margin = min(min_margin, float(pre.abs().min()))
            if (pre > 0).sum(dim=0).min() < 2:
                sys.exit("model fixture: a hidden unit is active in fewer than 2 rows")
        opt.zero_grad()
        z = net.logits(x)
        loss = bce(z, y)
        loss.backward()
        opt.step()
        losses.append(float(loss))
        accuracies.append(float(((torch.sigmoid(z) > 0.5).to(dtype) == y).to(dtype).mean()))
    if min_margin < RELU_MARGIN:
        sys.exit("model fixture: a pre-activation is %g from the ReLU kink" % min_margin)

    net.eval()
    with torch.no_grad():
        out2 = torch.sigmoid(net.logits(x2))
    return {
        "loss0": f32([float(loss0)]),
        "grads": grads,
        "losses": f32(losses),
        "accuracies": f32(accuracies),
        "params_after": np.concatenate([f32(p) for p in model_params(net)]),
        "moving_mean_after": f32(net.bn.running_mean),
        "moving_variance_after": f32(net.bn.running_var),
        "inference_out": f32(out2),
    }


# ---- the header -------------------------------------------------------------------------


def main():
    h = Header()
    h.line("/*")
    h.line(" * torch_reference.h - PyTorch reference values for tests/test_torch_reference.c.")
    h.line(" *")
    h.line(" * GENERATED by tools/gen_torch_fixtures.py with PyTorch %s and numpy %s; do not edit."
           % (torch.__version__, np.__version__))
    h.line(" * Regenerate (deterministic, byte-identical): /usr/bin/python3 tools/gen_torch_fixtures.py")
    h.line(" *")
    h.line(" * Kernels are (IN, OUT) row-major (torch's Linear.weight transposed). Batch-norm momenta are")
    h.line(" * Keras's (PyTorch's momentum = 1 - ours). Values computed in float32 by PyTorch on one")
    h.line(" * thread; each case was checked against the same computation in float64 to within")
    h.line(" * %g + %g * |value|." % (CROSS_CHECK_ATOL, CROSS_CHECK_RTOL))
    h.line(" */")
    h.line("#ifndef BNMLP_TORCH_REFERENCE_H")
    h.line("#define BNMLP_TORCH_REFERENCE_H")
    h.line()
    h.line("#include <stddef.h>")
    h.line()

    # a. Linear
    h.line("/* ---- a. Linear(%d, %d): y = x W + b ---- */" % (LIN_IN, LIN_OUT))
    h.define("TORCH_LINEAR_BATCH", LIN_B, "B")
    h.define("TORCH_LINEAR_IN", LIN_IN, "IN")
    h.define("TORCH_LINEAR_OUT", LIN_OUT, "OUT")
    h.line()
    inp = linear_inputs()
    with_bias = run_both("linear", linear_case(True), inp)
    without_bias = run_both("linear_nobias", linear_case(False), inp)
    h.array("torch_linear_x", inp["x"], "x (B, IN)")
    h.array("torch_linear_w", inp["weight"].T, "W (IN, OUT): torch weight transposed")
    h.array("torch_linear_b", inp["bias"], "b (OUT)")
    h.array("torch_linear_dy", inp["dy"], "upstream gradient dy (B, OUT)")
    h.array("torch_linear_y", with_bias["y"], "y (B, OUT) = x W + b")
    h.array("torch_linear_dx", with_bias["dx"], "dx (B, IN)")
    h.array("torch_linear_dw", with_bias["dw"], "dW (IN, OUT)")
    h.array("torch_linear_db", with_bias["db"], "db (OUT)")
    h.array("torch_linear_nobias_y", without_bias["y"], "bias=False: y (B, OUT) = x W")
    h.array("torch_linear_nobias_dx", without_bias["dx"], "bias=False: dx (B, IN)")
    h.array("torch_linear_nobias_dw", without_bias["dw"], "bias=False: dW (IN, OUT)")

    # b. BatchNorm1d
    h.line("/* ---- b. BatchNorm1d(%d, eps=%g, momentum=%g) = our momentum %g ---- */"
           % (BN_C, BN_EPS, 1.0 - BN_KERAS_MOMENTUM, BN_KERAS_MOMENTUM))
    h.define("TORCH_BN_BATCH", BN_B, "B")
    h.define("TORCH_BN_CHANNELS", BN_C, "C")
    h.line("#define TORCH_BN_EPSILON %s /* epsilon, inside the square root */" % c_float(BN_EPS))
    h.line()
    inp = batchnorm_inputs()
    train = run_both("bn_train", batchnorm_case(True, True), inp)
    infer = run_both("bn_eval", batchnorm_case(False, True), inp)
    plain = run_both("bn_noaffine", batchnorm_case(True, False), inp)
    mean, variance, rstd = batch_moments(inp["x"])
    h.array("torch_bn_x", inp["x"], "x (B, C): features of different scales and offsets")
    h.array("torch_bn_gamma", inp["gamma"], "gamma (C)")
    h.array("torch_bn_beta", inp["beta"], "beta (C)")
    h.array("torch_bn_dy", inp["dy"], "upstream gradient dy (B, C)")
    h.array("torch_bn_batch_mean", mean, "batch mean (C), numpy float64")
    h.array("torch_bn_batch_variance", variance, "biased batch variance (C), numpy float64")
    h.array("torch_bn_batch_rstd", rstd, "1 / sqrt(variance + epsilon) (C), numpy float64")
    h.array("torch_bn_train_y", train["y"], "training mode: y (B, C)")
    h.array("torch_bn_train_dx", train["dx"], "training mode: dx (B, C)")
    h.array("torch_bn_train_dgamma", train["dgamma"], "training mode: dgamma (C)")
    h.array("torch_bn_train_dbeta", train["dbeta"], "training mode: dbeta (C)")
    h.array("torch_bn_moving_mean", inp["moving_mean"], "inference mode: running_mean (C)")
    h.array("torch_bn_moving_variance", inp["moving_variance"], "inference mode: running_var (C)")
    h.array("torch_bn_eval_y", infer["y"], "inference mode (eval()): y (B, C)")
    h.array("torch_bn_eval_dx", infer["dx"], "inference mode: dx (B, C)")
    h.array("torch_bn_eval_dgamma", infer["dgamma"], "inference mode: dgamma (C)")
    h.array("torch_bn_eval_dbeta", infer["dbeta"], "inference mode: dbeta (C)")
    h.array("torch_bn_noaffine_y", plain["y"], "affine=False (center, scale off), training: y (B, C)")
    h.array("torch_bn_noaffine_dx", plain["dx"], "affine=False, training: dx (B, C)")

    # c. moving statistics
    h.line("/* ---- c. BatchNorm1d(%d, eps=%g, momentum=%g) = our momentum %g, training on %d"
           " batches ---- */" % (MOV_C, MOV_EPS, 1.0 - MOV_KERAS_MOMENTUM, MOV_KERAS_MOMENTUM,
                                 len(MOV_SIZES)))
    h.define("TORCH_MOVING_CHANNELS", MOV_C, "C")
    h.define("TORCH_MOVING_STEPS", len(MOV_SIZES), "number of batches")
    h.define("TORCH_MOVING_ROWS", sum(MOV_SIZES), "rows of all batches together")
    h.line("#define TORCH_MOVING_MOMENTUM %s /* our (Keras) momentum */" % c_float(MOV_KERAS_MOMENTUM))
    h.line("#define TORCH_MOVING_EPSILON %s /* epsilon */" % c_float(MOV_EPS))
    h.line("/* rows of each batch */")
    h.line("static const size_t torch_moving_sizes[%d] = {%s};"
           % (len(MOV_SIZES), ", ".join(str(n) for n in MOV_SIZES)))
    h.line()
    inp = moving_inputs()
    moving = run_both("moving", moving_case, inp)
    eps32 = float(np.float32(MOV_EPS))
    biased = moving_formula(inp["batches"], lambda n: 1.0)
    unbiased = moving_formula(inp["batches"], lambda n: n / (n - 1.0))
    keras2 = moving_formula(inp["batches"], lambda n: n / (n - 1.0 - eps32))
    cross_check("moving_formula", {"v": moving["variance_unbiased"]}, {"v": unbiased})
    h.array("torch_moving_x", np.concatenate(inp["batches"]), "the batches one after another (ROWS, C)")
    h.array("torch_moving_mean", moving["mean"], "running_mean after each step (STEPS, C); starts at 0")
    h.array("torch_moving_variance_unbiased", moving["variance_unbiased"],
            "PyTorch's running_var after each step (STEPS, C), starts at 1: BNMLP_VARIANCE_UNBIASED")
    h.array("torch_moving_variance_biased", biased,
            "formula, float64: moving variance with factor 1 (STEPS, C): BNMLP_VARIANCE_BIASED")
    h.array("torch_moving_variance_keras2", keras2,
            "formula, float64: factor N/(N-1-eps) (STEPS, C): BNMLP_VARIANCE_KERAS2")

    # d. SGD
    h.line("/* ---- d. torch.optim.SGD(lr=%g) trajectories, gradients fixed in advance ---- */" % SGD_LR)
    h.define("TORCH_SGD_N", SGD_N, "parameters")
    h.define("TORCH_SGD_STEPS", SGD_STEPS, "steps")
    h.line("#define TORCH_SGD_LR %s /* learning rate */" % c_float(SGD_LR))
    h.line()
    inp = sgd_inputs()
    plain = run_both("sgd", sgd_case(0.0, False), inp)
    mom = run_both("sgd_momentum", sgd_case(0.9, False), inp)
    nest = run_both("sgd_nesterov", sgd_case(0.9, True), inp)
    h.array("torch_sgd_w0", inp["w0"], "w before the first step (N)")
    h.array("torch_sgd_grads", inp["grads"], "gradient of each step (STEPS, N)")
    h.array("torch_sgd_plain_w", plain["w"], "momentum 0: w after each step (STEPS, N)")
    h.array("torch_sgd_momentum_w", mom["w"], "momentum 0.9: w after each step (STEPS, N)")
    h.array("torch_sgd_nesterov_w", nest["w"], "momentum 0.9, nesterov: w after each step (STEPS, N)")

    # e. model
    h.line("/* ---- e. Linear(2,5) -> ReLU -> BatchNorm1d(5, eps 1e-3, momentum 0.01) -> Linear(5,1)"
           " -> sigmoid,")
    h.line(" * BCEWithLogitsLoss; SGD(lr %g, momentum %g) for %d steps on the same batch ---- */"
           % (MOD_LR, MOD_SGD_MOMENTUM, MOD_STEPS))
    h.define("TORCH_MODEL_IN", MOD_IN, "input width")
    h.define("TORCH_MODEL_HIDDEN", MOD_HIDDEN, "hidden width")
    h.define("TORCH_MODEL_BATCH", MOD_B, "rows of x")
    h.define("TORCH_MODEL_BATCH2", MOD_B2, "rows of x2")
    h.define("TORCH_MODEL_STEPS", MOD_STEPS, "training steps")
    h.define("TORCH_MODEL_PARAMS", MOD_IN * MOD_HIDDEN + 3 * MOD_HIDDEN + MOD_HIDDEN + 1,
             "learnable parameters")
    h.line("#define TORCH_MODEL_LR %s /* SGD learning rate */" % c_float(MOD_LR))
    h.line("#define TORCH_MODEL_SGD_MOMENTUM %s /* SGD momentum */" % c_float(MOD_SGD_MOMENTUM))
    h.line("#define TORCH_MODEL_BN_MOMENTUM %s /* our batch-norm momentum */" % c_float(MOD_KERAS_MOMENTUM))
    h.line("#define TORCH_MODEL_BN_EPSILON %s /* batch-norm epsilon */" % c_float(MOD_EPS))
    h.line()
    inp = model_inputs()
    model = run_both("model", model_case, inp)
    h.array("torch_model_w1", inp["w1"].T, "W1 (IN, HIDDEN)")
    h.array("torch_model_b1", inp["b1"], "b1 (HIDDEN)")
    h.array("torch_model_gamma", inp["gamma"], "gamma (HIDDEN)")
    h.array("torch_model_beta", inp["beta"], "beta (HIDDEN)")
    h.array("torch_model_moving_mean", inp["moving_mean"], "initial running_mean (HIDDEN)")
    h.array("torch_model_moving_variance", inp["moving_variance"], "initial running_var (HIDDEN)")
    h.array("torch_model_w2", inp["w2"].T, "W2 (HIDDEN, 1)")
    h.array("torch_model_b2", inp["b2"], "b2 (1)")
    h.array("torch_model_x", inp["x"], "x (BATCH, IN)")
    h.array("torch_model_y", inp["y"], "labels y (BATCH, 1)")
    h.array("torch_model_x2", inp["x2"], "x2 (BATCH2, IN), for inference after training")
    h.array("torch_model_loss0", model["loss0"], "BCE loss of (x, y) before training, training mode")
    h.array("torch_model_grads", model["grads"],
            "its gradient (PARAMS): W1 (IN, HIDDEN), b1, gamma, beta, W2 (HIDDEN, 1), b2")
    h.array("torch_model_losses", model["losses"], "loss of each training step, before its update (STEPS)")
    h.array("torch_model_accuracies", model["accuracies"], "accuracy (p > 0.5) of each step (STEPS)")
    h.array("torch_model_params_after", model["params_after"],
            "parameters after the steps (PARAMS), same order as torch_model_grads")
    h.array("torch_model_moving_mean_after", model["moving_mean_after"],
            "running_mean after the steps (HIDDEN)")
    h.array("torch_model_moving_variance_after", model["moving_variance_after"],
            "running_var after the steps (HIDDEN), unbiased: BNMLP_VARIANCE_UNBIASED")
    h.array("torch_model_inference_out", model["inference_out"],
            "sigmoid output for x2 in inference mode after the steps (BATCH2, 1)")

    h.line("#endif /* BNMLP_TORCH_REFERENCE_H */")

    os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
    with open(OUTPUT, "w", encoding="ascii") as f:
        f.write(h.text())
    print("wrote %s" % os.path.normpath(OUTPUT))


if __name__ == "__main__":
    main()
