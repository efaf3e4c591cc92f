#!/usr/bin/python3
"""Generate tests/fixtures/torch_training.h: reference values for softmax cross-entropy and MSE
heads, Adam / AdamW / SGD with weight decay / RMSprop, and every batch-norm moving-average flavour.

Run from anywhere with Debian's interpreter (it has python3-torch 1.13 and numpy 1.24):

    /usr/bin/python3 tools/gen_torch_fixtures_training.py

The output is deterministic (fixed seeds, one thread, float32, no timestamps), so running the
script again rewrites the header byte for byte. The helpers (Header, f32, c_float, t) come from
tools/gen_torch_fixtures.py, which must stay beside this file.

Conventions (docs: /work/shared/DESIGN.md, reference/semantics.md sections 1, 2 and 8):
  - Kernels are stored (IN, OUT) row-major, the transpose of torch.nn.Linear.weight (OUT, IN).
  - Parameter vectors are in bnmlp_model_get_params order: layer by layer, each layer's arrays in
    bnmlp_weight order (kernel, bias, gamma, beta).
  - Batch-norm momentum is Keras's m; PyTorch's momentum is 1 - m.
  - Every torch case runs twice, in float32 (the values written) and in float64 from the same
    float32 inputs; the script stops if they disagree by more than the case's cross-check
    tolerance, and the largest gap is written next to the arrays so that a C test can choose a
    tolerance above PyTorch's own float32 rounding.

Sources of the formulas that torch does not provide (checked for this script):
  - Keras Adam: keras-team/keras keras/optimizers.py @2.2.4 lines 474-514 (Adam.get_updates) and
    keras/optimizer_v2/adam.py (tf.keras, _prepare_local / _resource_apply_dense ->
    ResourceApplyAdam, tensorflow/core/kernels/training_ops.cc ApplyAdamNonCuda):
        t = iterations + 1; lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
        m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
        p -= lr_t * m / (sqrt(v) + epsilon)      ("epsilon hat": added to the raw sqrt(v))
    PyTorch instead adds eps to sqrt(v) / sqrt(1 - beta2^t), so Keras's epsilon equals PyTorch's
    eps * sqrt(1 - beta2^t) at step t. Keras's default epsilon is 1e-7 (K.epsilon()).
  - Keras 2.1.3-2.2.5 moving statistics: keras/layers/normalization.py @2.2.4 lines 183-200 and
    keras/backend/tensorflow_backend.py @2.2.4 lines 1002-1014:
        moving_average_update(x, value, momentum) =
            tf.train.assign_moving_average(x, value, momentum, zero_debias=True)
    with value = batch mean, and batch variance (biased, tf.nn.moments) times
    N / (N - (1 + epsilon)) from 2.1.4 on (2.1.3 passes the biased variance). TensorFlow 1.x
    tensorflow/python/training/moving_averages.py, assign_moving_average and _zero_debias:
        decay = 1.0 - momentum                     (a float32 tensor)
        biased -= (biased - value) * decay         (biased starts at 0)
        local_step += 1                            (starts at 0)
        x -= x - biased / (1 - (1 - decay)^local_step)
    so x_t = biased_t / (1 - momentum^t) and the initial x (0 for the mean, 1 for the variance)
    never matters. Written here in float64 (the stored values) and cross-checked against a
    float32 replay of the TensorFlow op sequence.
"""

import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gen_torch_fixtures import Header, c_float, f32, t  # noqa: E402  (shared fixture helpers)

OUTPUT = os.path.join(HERE, "..", "tests", "fixtures", "torch_training.h")

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

GAPS = {}  # case name -> largest float32-vs-float64 gap, written into the header


# ---- helpers ---------------------------------------------------------------------------------


def cross_check(name, single, double, atol, rtol):
    """Stops unless every array of the float32 run is within atol + rtol |float64| of the float64
    run; records and prints the largest absolute and relative gaps."""
    worst, worst_rel = 0.0, 0.0
    for key in single:
        a = np.asarray(single[key], dtype=np.float64).reshape(-1)
        b = np.asarray(double[key], dtype=np.float64).reshape(-1)
        gap = np.abs(a - b)
        worst = max(worst, float(gap.max()))
        worst_rel = max(worst_rel, float((gap / np.maximum(np.abs(b), 1e-30)).max()))
        bad = gap > atol + rtol * np.abs(b)
        if bad.any():
            i = int(np.argmax(bad))
            sys.exit("%s.%s[%d]: float32 %r vs float64 %r" % (name, key, i, a[i], b[i]))
    GAPS[name] = (worst, worst_rel)
    print("%-28s float32 vs float64: max abs %.3g, max rel %.3g" % (name, worst, worst_rel))


def run_both(name, case, inputs, atol=5e-6, rtol=5e-6):
    """Runs case(inputs, dtype) in float32 and float64; returns the float32 results."""
    single = case(inputs, torch.float32)
    double = case(inputs, torch.float64)
    cross_check(name, single, double, atol, rtol)
    return single


def gap_note(h, *names):
    """A comment line with the recorded float32-vs-float64 gaps of the named cases."""
    h.line("/* PyTorch float32 vs float64 (same inputs), largest gap:")
    for n in names:
        h.line(" *   %-28s %.2g abs, %.2g rel" % (n, GAPS[n][0], GAPS[n][1]))
    h.line(" */")
    h.line()


def int_array(h, name, values, comment):
    values = [int(v) for v in np.asarray(values).reshape(-1)]
    h.line("/* %s */" % comment)
    h.line("static const int32_t %s[%d] = {%s};" % (name, len(values), ", ".join(str(v) for v in values)))
    h.line()


def float_define(h, name, value, comment):
    h.line("#define %s %s /* %s */" % (name, c_float(value), comment))


# ---- a. softmax cross-entropy (CrossEntropyLoss, mean) ---------------------------------------

CE_B = 7


def ce_inputs(k, seed):
    """Random logits (rows 0-3), then three extreme rows: logits 1e4 apart labelled with the
    largest class (loss 0) and with the smallest (loss 2e4), and a row of equal logits (log K)."""
    g = torch.Generator().manual_seed(seed)
    logits = 2.0 * torch.randn(CE_B, k, generator=g)
    labels = torch.randint(0, k, (CE_B,), generator=g)
    extreme = [1e4, 0.0, -1e4] + ([5e3, -5e3] if k == 5 else [])
    logits[4] = torch.tensor(extreme)
    logits[5] = torch.tensor(extreme)
    logits[6] = 3.25
    labels[4], labels[5], labels[6] = 0, 2, 1
    return {"logits": logits.numpy(), "labels": labels.numpy()}


def ce_case(one_hot):
    def case(inp, dtype):
        z = t(inp["logits"], dtype, grad=True)
        labels = torch.tensor(inp["labels"], dtype=torch.int64)
        k = z.shape[1]
        target = torch.nn.functional.one_hot(labels, k).to(dtype) if one_hot else labels
        loss = torch.nn.CrossEntropyLoss()(z, target)
        loss.backward()
        rows = torch.nn.CrossEntropyLoss(reduction="none")(z.detach(), target)
        return {"loss": f32([float(loss)]), "row_loss": f32(rows), "dlogits": f32(z.grad),
                "softmax": f32(torch.softmax(z.detach(), dim=1))}
    return case


# ---- b. MSE (MSELoss, mean over all elements) ------------------------------------------------

MSE_B = 7


def mse_inputs(width, seed):
    g = torch.Generator().manual_seed(seed)
    return {"pred": torch.randn(MSE_B, width, generator=g).numpy(),
            "target": (1.5 * torch.randn(MSE_B, width, generator=g) + 0.5).numpy()}


def mse_case(inp, dtype):
    pred = t(inp["pred"], dtype, grad=True)
    loss = torch.nn.MSELoss()(pred, t(inp["target"], dtype))
    loss.backward()
    return {"loss": f32([float(loss)]), "dpred": f32(pred.grad)}


# ---- c. optimizers on a fixed gradient sequence ----------------------------------------------

OPT_N, OPT_STEPS, OPT_DECAYED = 10, 20, 6
ADAM_LR, ADAM_BETAS, ADAM_EPS = 1e-2, (0.9, 0.999), 1e-8
ADAM_L2, ADAMW_DECAY = 0.01, 0.1
SGD_LR, SGD_MOMENTUM, SGD_DECAY = 0.05, 0.9, 1e-3
KERAS_EPS = 1e-7  # K.epsilon(), Keras's default Adam epsilon
RMSPROP_LR, RMSPROP_ALPHA, RMSPROP_EPS = 1e-2, 0.99, 1e-8  # torch.optim.RMSprop's defaults but lr
RMSPROP_MOMENTUM, RMSPROP_DECAY = 0.9, 0.01


def opt_inputs():
    """w0 (N) and 20 gradients (STEPS, N): columns 0-6 O(1); columns 7, 8, 9 scaled by 1e-6,
    1e-7, 1e-8, where sqrt(v) is near epsilon (there the epsilon placement decides the step);
    column 9 is exactly 0 in the first 3 steps (v = 0: the step must be 0, not NaN)."""
    g = torch.Generator().manual_seed(606)
    w0 = torch.randn(OPT_N, generator=g)
    grads = torch.randn(OPT_STEPS, OPT_N, generator=g)
    grads[:, 7] *= 1e-6
    grads[:, 8] *= 1e-7
    grads[:, 9] *= 1e-8
    grads[:3, 9] = 0.0
    return {"w0": w0.numpy(), "grads": grads.numpy()}


def make_optimizer(kind, groups):
    """torch optimizer `kind` over param groups [(params, decay_on)]."""
    if kind.startswith("adam"):
        cls = torch.optim.AdamW if kind.startswith("adamw") else torch.optim.Adam
        decay = {"adam": 0.0, "adam_l2": ADAM_L2, "adamw": ADAMW_DECAY, "adamw_masked": ADAMW_DECAY}[kind]
        return cls([{"params": p, "weight_decay": decay if on else 0.0} for p, on in groups],
                   lr=ADAM_LR, betas=ADAM_BETAS, eps=ADAM_EPS)
    if kind.startswith("rmsprop"):
        # torch 1.13 _single_tensor_rmsprop: g += wd w; square_avg = alpha sa + (1 - alpha) g^2;
        # centered: grad_avg = alpha ga + (1 - alpha) g, avg = sqrt(sa - ga^2) + eps, else
        # sqrt(sa) + eps; momentum: buf = momentum buf + g / avg, w -= lr buf; else w -= lr g / avg.
        decay = RMSPROP_DECAY if kind.endswith("_wd") else 0.0
        return torch.optim.RMSprop([{"params": p, "weight_decay": decay if on else 0.0} for p, on in groups],
                                   lr=RMSPROP_LR, alpha=RMSPROP_ALPHA, eps=RMSPROP_EPS,
                                   momentum=RMSPROP_MOMENTUM if "momentum" in kind else 0.0,
                                   centered="centered" in kind)
    momentum = 0.0 if kind == "sgd_wd" else SGD_MOMENTUM
    return torch.optim.SGD([{"params": p, "weight_decay": SGD_DECAY if on else 0.0} for p, on in groups],
                           lr=SGD_LR, momentum=momentum, dampening=0.0, nesterov=kind == "sgd_nesterov_wd")


def opt_case(kind):
    """The weights after each step; masked kinds decay only w[0:DECAYED]."""
    def case(inp, dtype):
        head = torch.nn.Parameter(t(inp["w0"][:OPT_DECAYED], dtype))
        tail = torch.nn.Parameter(t(inp["w0"][OPT_DECAYED:], dtype))
        masked = kind.endswith("_masked")
        opt = make_optimizer(kind, [([head], True), ([tail], not masked)])
        path = []
        for k in range(OPT_STEPS):
            grad = t(inp["grads"][k], dtype)
            head.grad, tail.grad = grad[:OPT_DECAYED].clone(), grad[OPT_DECAYED:].clone()
            opt.step()
            path.append(np.concatenate([f32(head), f32(tail)]))
        return {"w": np.concatenate(path)}
    return case


def keras_adam(w0, grads, epsilon, dtype):
    """Keras 2.2.4 Adam.get_updates (= tf.keras ResourceApplyAdam) in numpy, every operation in
    dtype, lr 1e-2, beta (0.9, 0.999)."""
    one = dtype(1.0)
    lr, beta1, beta2, eps = dtype(ADAM_LR), dtype(ADAM_BETAS[0]), dtype(ADAM_BETAS[1]), dtype(epsilon)
    p = np.asarray(w0, dtype=dtype).copy()
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    path = []
    for k in range(len(grads)):
        g = np.asarray(grads[k], dtype=dtype)
        step = dtype(k + 1)
        lr_t = lr * (np.sqrt(one - np.power(beta2, step)) / (one - np.power(beta1, step)))
        m = beta1 * m + (one - beta1) * g
        v = beta2 * v + (one - beta2) * np.square(g)
        p = p - lr_t * m / (np.sqrt(v) + eps)
        assert p.dtype == dtype
        path.append(p.copy())
    return {"w": np.concatenate(path)}


OPT_KINDS = [
    ("adam", "torch.optim.Adam(lr=1e-2, betas=(0.9, 0.999), eps=1e-8)"),
    ("adam_l2", "Adam as above, weight_decay=0.01: g += 0.01 w (L2, before the moments)"),
    ("adamw", "AdamW(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)"),
    ("adamw_masked", "AdamW as above, weight_decay only on w[0:DECAYED] (0 on the rest)"),
    ("sgd_wd", "torch.optim.SGD(lr=0.05, weight_decay=1e-3), no momentum"),
    ("sgd_momentum_wd", "torch.optim.SGD(lr=0.05, momentum=0.9, weight_decay=1e-3)"),
    ("sgd_nesterov_wd", "torch.optim.SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)"),
    ("sgd_momentum_wd_masked", "SGD(lr=0.05, momentum=0.9), weight_decay=1e-3 only on w[0:DECAYED]"),
    ("rmsprop", "torch.optim.RMSprop(lr=1e-2, alpha=0.99, eps=1e-8)"),
    ("rmsprop_momentum", "RMSprop as above, momentum=0.9"),
    ("rmsprop_centered", "RMSprop as above, centered=True"),
    ("rmsprop_wd", "RMSprop as above, weight_decay=0.01 (L2: g += 0.01 w)"),
    ("rmsprop_centered_momentum_wd", "RMSprop as above, centered=True, momentum=0.9, weight_decay=0.01"),
]


# ---- d. a model trained by each optimizer ----------------------------------------------------

FIT_IN, FIT_HIDDEN, FIT_B, FIT_STEPS = 4, 6, 8, 20
FIT_EPS, FIT_KERAS_MOMENTUM = 1e-3, 0.99
FIT_MARGIN = 1e-3  # batch-norm outputs (ReLU inputs) stay this far from 0 at every step


def fit_params_count(out):
    return FIT_IN * FIT_HIDDEN + 2 * FIT_HIDDEN + FIT_HIDDEN * out + out


def fit_inputs(out, seed):
    g = torch.Generator().manual_seed(seed)
    inp = {
        "w1": (0.6 * torch.randn(FIT_HIDDEN, FIT_IN, generator=g)).numpy(),  # torch (OUT, IN)
        "gamma": (1.0 + 0.2 * torch.randn(FIT_HIDDEN, generator=g)).numpy(),
        "beta": (0.2 * torch.randn(FIT_HIDDEN, generator=g)).numpy(),
        "w2": (0.5 * torch.randn(out, FIT_HIDDEN, generator=g)).numpy(),
        "b2": (0.1 * torch.randn(out, generator=g)).numpy(),
        "x": (torch.randn(FIT_B, FIT_IN, generator=g) * torch.tensor([1.0, 2.0, 0.5, 1.5])
              + torch.tensor([0.3, -1.0, 2.0, 0.0])).numpy(),
    }
    if out == 1:
        inp["y"] = (1.2 * torch.randn(FIT_B, 1, generator=g) + 0.4).numpy()
    else:
        inp["labels"] = np.array([0, 1, 2, 0, 1, 2, 1, 0], dtype=np.int64)
    return inp


class FitNet(torch.nn.Module):
    """Linear(IN, HIDDEN, bias=False) -> BatchNorm1d -> ReLU -> Linear(HIDDEN, out)."""

    def __init__(self, out):
        super().__init__()
        self.dense1 = torch.nn.Linear(FIT_IN, FIT_HIDDEN, bias=False)
        self.bn = torch.nn.BatchNorm1d(FIT_HIDDEN, eps=FIT_EPS, momentum=1.0 - FIT_KERAS_MOMENTUM)
        self.dense2 = torch.nn.Linear(FIT_HIDDEN, out)

    def forward(self, x):
        return self.dense2(torch.relu(self.bn(self.dense1(x))))


def fit_params(net):
    """bnmlp_model_get_params order: W1 (IN, HIDDEN), gamma, beta, W2 (HIDDEN, OUT), b2."""
    return [net.dense1.weight.t(), net.bn.weight, net.bn.bias, net.dense2.weight.t(), net.dense2.bias]


def fit_case(kind, out):
    def case(inp, dtype):
        net = FitNet(out).to(dtype)
        with torch.no_grad():
            net.dense1.weight.copy_(t(inp["w1"], dtype))
            net.bn.weight.copy_(t(inp["gamma"], dtype))
            net.bn.bias.copy_(t(inp["beta"], dtype))
            net.dense2.weight.copy_(t(inp["w2"], dtype))
            net.dense2.bias.copy_(t(inp["b2"], dtype))
        x = t(inp["x"], dtype)
        if out == 1:
            target, loss_fn = t(inp["y"], dtype), torch.nn.MSELoss()
        else:
            target, loss_fn = torch.tensor(inp["labels"]), torch.nn.CrossEntropyLoss()
        # kernels decay; gamma, beta and biases decay too unless the kind is masked
        masked = kind.endswith("_masked")
        groups = [([net.dense1.weight, net.dense2.weight], True),
                  ([net.bn.weight, net.bn.bias, net.dense2.bias], not masked)]
        opt = make_optimizer(kind, groups)
        net.train()
        losses, path, hidden, margin, grads0 = [], [], [], np.inf, None
        for step in range(FIT_STEPS):
            opt.zero_grad()
            h = net.dense1(x)
            hidden.append(np.asarray(f32(h), dtype=np.float64).reshape(FIT_B, FIT_HIDDEN))
            normed = net.bn(h)
            margin = min(margin, float(normed.detach().abs().min()))
            loss = loss_fn(net.dense2(torch.relu(normed)), target)
            loss.backward()
            if step == 0:
                grads0 = np.concatenate([f32(p.grad.t() if p.dim() == 2 else p.grad)
                                         for p in [net.dense1.weight, net.bn.weight, net.bn.bias,
                                                   net.dense2.weight, net.dense2.bias]])
            opt.step()
            losses.append(float(loss))
            path.append(np.concatenate([f32(p) for p in fit_params(net)]))
        if margin < FIT_MARGIN:
            sys.exit("fit %s: a batch-norm output is %g from the ReLU kink" % (kind, margin))
        # moving statistics by formula from the float32 pre-BN activations, float64
        m = FIT_KERAS_MOMENTUM
        mean, unbiased, biased = np.zeros(FIT_HIDDEN), np.ones(FIT_HIDDEN), np.ones(FIT_HIDDEN)
        for h in hidden:
            var = ((h - h.mean(axis=0)) ** 2).mean(axis=0)
            mean = m * mean + (1 - m) * h.mean(axis=0)
            unbiased = m * unbiased + (1 - m) * var * FIT_B / (FIT_B - 1.0)
            biased = m * biased + (1 - m) * var
        return {"losses": f32(losses), "params": np.concatenate(path), "grads0": grads0,
                "moving_mean": f32(net.bn.running_mean), "moving_variance": f32(net.bn.running_var),
                "formula_mean": mean, "formula_unbiased": unbiased, "formula_biased": biased}
    return case


FIT_KINDS = ["adam", "adam_l2", "adamw", "adamw_masked", "sgd_momentum_wd", "sgd_nesterov_wd",
             "sgd_momentum_wd_masked"]
FIT_MSE_KINDS = ["adam", "sgd_momentum_wd"]


# ---- e. the moving statistics over 6 batches: cumulative (torch momentum=None) and Keras 2.2 --

MOV_STEPS, MOV_B, MOV_C, MOV_EPS = 6, 5, 4, 1e-3


def moving_inputs():
    g = torch.Generator().manual_seed(707)
    scales = torch.tensor([1.0, 3.0, 0.2, 0.7])
    offsets = torch.tensor([0.5, -2.0, 1.0, 4.0])
    batches = [(torch.randn(MOV_B, MOV_C, generator=g) * scales * (1.0 + 0.3 * k) + offsets + 0.4 * k).numpy()
               for k in range(MOV_STEPS)]
    return {"batches": batches}


def cumulative_case(inp, dtype):
    bn = torch.nn.BatchNorm1d(MOV_C, eps=MOV_EPS, momentum=None).to(dtype)
    bn.train()
    means, variances = [], []
    with torch.no_grad():
        for batch in inp["batches"]:
            bn(t(batch, dtype))
            means.append(f32(bn.running_mean))
            variances.append(f32(bn.running_var))
    return {"mean": np.concatenate(means), "variance": np.concatenate(variances)}


def batch_stats(batch):
    """Batch mean and biased variance of float32 data, in float64."""
    x = np.asarray(batch, dtype=np.float64)
    mean = x.mean(axis=0)
    return mean, ((x - mean) ** 2).mean(axis=0)


def cumulative_formula(batches, factor):
    """torch's momentum=None update in float64: f = 1/t; r = (1 - f) r + f batch (r_1 = batch_1)."""
    mean, var = np.zeros(MOV_C), np.ones(MOV_C)
    means, variances = [], []
    for step, batch in enumerate(batches, start=1):
        f = 1.0 / step
        bmean, bvar = batch_stats(batch)
        n = batch.shape[0]
        mean = (1.0 - f) * mean + f * bmean
        var = (1.0 - f) * var + f * bvar * factor(n)
        means.append(mean.copy())
        variances.append(var.copy())
    return {"mean": np.concatenate(means), "variance": np.concatenate(variances)}


def keras22_formula(batches, momentum, bessel):
    """Keras 2.1.3-2.2.5 + TF 1.x zero-debiased moving statistics in float64 (see the docstring):
    biased_t = biased_{t-1} - (biased_{t-1} - value_t) (1 - momentum), biased_0 = 0;
    moving_t = biased_t / (1 - momentum^t). value = batch mean, and the biased batch variance
    times N / (N - (1 + eps)) when bessel (2.1.4-2.2.5) or unchanged (2.1.3)."""
    decay = 1.0 - momentum
    biased_mean, biased_var = np.zeros(MOV_C), np.zeros(MOV_C)
    means, variances = [], []
    for step, batch in enumerate(batches, start=1):
        n = batch.shape[0]
        bmean, bvar = batch_stats(batch)
        if bessel:
            bvar = bvar * (n / (n - (1.0 + MOV_EPS)))
        biased_mean -= (biased_mean - bmean) * decay
        biased_var -= (biased_var - bvar) * decay
        means.append(biased_mean / (1.0 - momentum ** step))
        variances.append(biased_var / (1.0 - momentum ** step))
    return {"mean": np.concatenate(means), "variance": np.concatenate(variances)}


def keras22_replay_float32(batches, momentum, bessel):
    """The same in float32, op by op as Keras 2.2.4 on TF 1.x: tf.nn.moments, the Bessel factor
    with a float32 sample size, decay = float32(1.0 - momentum), and the assign_sub of
    _zero_debias's delta x - biased / (1 - (1 - decay)^step). The moving variables start at
    0 (mean) and 1 (variance) as Keras initializes them."""
    f = np.float32
    decay = f(1.0 - momentum)
    moving_mean, moving_var = np.zeros(MOV_C, f), np.ones(MOV_C, f)
    biased_mean, biased_var = np.zeros(MOV_C, f), np.zeros(MOV_C, f)
    local_step = f(0.0)
    means, variances = [], []
    for batch in batches:
        x = np.asarray(batch, dtype=f)
        bmean = x.mean(axis=0, dtype=f)
        bvar = np.square(x - bmean).mean(axis=0, dtype=f)
        if bessel:
            n = f(x.shape[0])
            bvar = bvar * (n / (n - f(1.0 + MOV_EPS)))
        biased_mean = biased_mean - (biased_mean - bmean) * decay
        biased_var = biased_var - (biased_var - bvar) * decay
        local_step = local_step + f(1.0)
        factor = f(1.0) - np.power(f(1.0) - decay, local_step)
        moving_mean = moving_mean - (moving_mean - biased_mean / factor)
        moving_var = moving_var - (moving_var - biased_var / factor)
        assert moving_mean.dtype == f and moving_var.dtype == f
        means.append(moving_mean.copy())
        variances.append(moving_var.copy())
    return {"mean": np.concatenate(means), "variance": np.concatenate(variances)}


# ---- the header ------------------------------------------------------------------------------


def section_ce(h):
    h.line("/* ---- a. softmax cross-entropy: torch.nn.CrossEntropyLoss() (mean over rows) ----")
    h.line(" * loss = mean_r (logsumexp(z_r) - z_r[y_r]); dloss/dz = (softmax(z) - onehot(y)) / B.")
    h.line(" * Rows 0-3 random; row 4 = extreme logits (1e4, 0, -1e4[, 5e3, -5e3]) labelled 0 (loss 0);")
    h.line(" * row 5 = the same logits labelled 2 (loss 2e4, gradient (1, 0, -1, 0, 0) / B); row 6 all")
    h.line(" * logits 3.25, label 1 (loss log K, softmax 1/K). The one-hot versions pass")
    h.line(" * F.one_hot(labels).float() as class-probability targets (PyTorch >= 1.10): same values. */")
    h.define("TORCH_CE_BATCH", CE_B, "B, rows of every cross-entropy case")
    h.line()
    for k, seed in ((3, 808), (5, 809)):
        inp = ce_inputs(k, seed)
        sparse = run_both("ce%d" % k, ce_case(False), inp)
        onehot = run_both("ce%d_onehot" % k, ce_case(True), inp)
        for key in sparse:
            if np.abs(sparse[key] - onehot[key]).max() > 1e-6 * max(1.0, np.abs(sparse[key]).max()):
                sys.exit("ce%d: one-hot %s differs from integer labels" % (k, key))
        p = "torch_ce%d_" % k
        h.line("/* K = %d classes */" % k)
        h.define("TORCH_CE%d_CLASSES" % k, k, "K")
        h.line()
        h.array(p + "logits", inp["logits"], "logits z (B, K)")
        int_array(h, p + "labels", inp["labels"], "integer labels (B), in [0, K)")
        h.array(p + "onehot", np.eye(k, dtype=np.float32)[inp["labels"]], "one-hot targets (B, K)")
        h.array(p + "softmax", sparse["softmax"], "softmax(z) per row (B, K)")
        h.array(p + "row_loss", sparse["row_loss"], "per-row loss, reduction='none' (B)")
        h.array(p + "loss", sparse["loss"], "mean loss (1)")
        h.array(p + "dlogits", sparse["dlogits"], "d mean loss / d z (B, K)")
        h.array(p + "onehot_loss", onehot["loss"], "one-hot targets: mean loss (1)")
        h.array(p + "onehot_dlogits", onehot["dlogits"], "one-hot targets: d mean loss / d z (B, K)")
        gap_note(h, "ce%d" % k, "ce%d_onehot" % k)


def section_mse(h):
    h.line("/* ---- b. mean squared error: torch.nn.MSELoss() (mean over all B x W elements) ----")
    h.line(" * loss = sum (pred - target)^2 / (B W); dloss/dpred = 2 (pred - target) / (B W). */")
    h.define("TORCH_MSE_BATCH", MSE_B, "B")
    h.line()
    for width, seed in ((1, 810), (3, 811)):
        inp = mse_inputs(width, seed)
        out = run_both("mse%d" % width, mse_case, inp)
        p = "torch_mse%d_" % width
        h.define("TORCH_MSE%d_WIDTH" % width, width, "W, outputs per row")
        h.line()
        h.array(p + "pred", inp["pred"], "predictions (B, W)")
        h.array(p + "target", inp["target"], "targets (B, W)")
        h.array(p + "loss", out["loss"], "mean loss (1)")
        h.array(p + "dpred", out["dpred"], "d loss / d pred (B, W)")
        gap_note(h, "mse%d" % width)


def section_optimizers(h):
    h.line("/* ---- c. optimizers on a fixed gradient sequence (gradients independent of w) ----")
    h.line(" * Every array torch_opt_<kind>_w is (STEPS, N): row k is w after step k + 1, starting from")
    h.line(" * torch_opt_w0, step k using gradient row k of torch_opt_grads. Optimizer state starts at 0.")
    h.line(" * Gradient columns 7, 8, 9 are scaled by 1e-6, 1e-7, 1e-8 (sqrt(v) near epsilon, where")
    h.line(" * PyTorch's and Keras's epsilon placements differ); column 9 is exactly 0 in steps 1-3")
    h.line(" * (v = 0 there: the Adam step is 0, weight decay still acts). The _masked kinds apply weight")
    h.line(" * decay to w[0:DECAYED] only (param groups with weight_decay 0 for the rest). */")
    h.define("TORCH_OPT_N", OPT_N, "N, parameters")
    h.define("TORCH_OPT_STEPS", OPT_STEPS, "STEPS")
    h.define("TORCH_OPT_DECAYED", OPT_DECAYED, "masked kinds: w[0:DECAYED] decays, the rest does not")
    float_define(h, "TORCH_OPT_ADAM_LR", ADAM_LR, "Adam / AdamW / Keras Adam learning rate")
    float_define(h, "TORCH_OPT_ADAM_BETA1", ADAM_BETAS[0], "beta_1")
    float_define(h, "TORCH_OPT_ADAM_BETA2", ADAM_BETAS[1], "beta_2")
    float_define(h, "TORCH_OPT_ADAM_EPS", ADAM_EPS, "PyTorch eps (added to sqrt(v_hat))")
    float_define(h, "TORCH_OPT_ADAM_L2", ADAM_L2, "Adam weight_decay (L2: g += wd w)")
    float_define(h, "TORCH_OPT_ADAMW_DECAY", ADAMW_DECAY, "AdamW weight_decay (w *= 1 - lr wd)")
    float_define(h, "TORCH_OPT_SGD_LR", SGD_LR, "SGD learning rate")
    float_define(h, "TORCH_OPT_SGD_MOMENTUM", SGD_MOMENTUM, "SGD momentum (dampening 0)")
    float_define(h, "TORCH_OPT_SGD_DECAY", SGD_DECAY, "SGD weight_decay (g += wd w)")
    float_define(h, "TORCH_OPT_KERAS_EPS", KERAS_EPS, "Keras Adam epsilon default (added to sqrt(v))")
    float_define(h, "TORCH_OPT_RMSPROP_LR", RMSPROP_LR, "RMSprop learning rate")
    float_define(h, "TORCH_OPT_RMSPROP_ALPHA", RMSPROP_ALPHA, "RMSprop alpha (Keras's rho)")
    float_define(h, "TORCH_OPT_RMSPROP_EPS", RMSPROP_EPS, "RMSprop eps (added to the root)")
    float_define(h, "TORCH_OPT_RMSPROP_MOMENTUM", RMSPROP_MOMENTUM, "RMSprop momentum of the _momentum kinds")
    float_define(h, "TORCH_OPT_RMSPROP_DECAY", RMSPROP_DECAY, "RMSprop weight_decay of the _wd kinds (L2)")
    h.line()
    inp = opt_inputs()
    h.array("torch_opt_w0", inp["w0"], "w before the first step (N)")
    h.array("torch_opt_grads", inp["grads"], "gradient of each step (STEPS, N)")
    for kind, what in OPT_KINDS:
        out = run_both("opt_" + kind, opt_case(kind), inp, atol=1e-6, rtol=1e-6)
        h.array("torch_opt_%s_w" % kind, out["w"], what + ": w after each step (STEPS, N)")
    for name, eps in (("keras_adam", KERAS_EPS), ("keras_adam_eps1e8", ADAM_EPS)):
        single = keras_adam(inp["w0"], inp["grads"], eps, np.float32)
        double = keras_adam(inp["w0"], inp["grads"], eps, np.float64)
        cross_check("opt_" + name, single, double, 1e-6, 1e-6)
        h.array("torch_opt_%s_w" % name, single["w"],
                "Keras Adam formula, numpy float32, epsilon %g: w after each step (STEPS, N)" % eps)
    h.line("/* float32 vs float64 (torch, and numpy for Keras), largest gap per kind:")
    for kind in [k for k, _ in OPT_KINDS] + ["keras_adam", "keras_adam_eps1e8"]:
        h.line(" *   %-24s %.2g abs, %.2g rel" % (kind, GAPS["opt_" + kind][0], GAPS["opt_" + kind][1]))
    h.line(" */")
    h.line()


def section_fit(h, out, kinds, seed):
    tag = "fit" if out == 3 else "fit_mse"
    up = tag.upper()
    params = fit_params_count(out)
    h.define("TORCH_%s_OUT" % up, out, "output width")
    h.define("TORCH_%s_PARAMS" % up, params, "learnable parameters, PARAMS")
    h.line()
    inp = fit_inputs(out, seed)
    h.array("torch_%s_w1" % tag, inp["w1"].T, "initial W1 (IN, HIDDEN)")
    h.array("torch_%s_gamma" % tag, inp["gamma"], "initial gamma (HIDDEN)")
    h.array("torch_%s_beta" % tag, inp["beta"], "initial beta (HIDDEN)")
    h.array("torch_%s_w2" % tag, inp["w2"].T, "initial W2 (HIDDEN, OUT)")
    h.array("torch_%s_b2" % tag, inp["b2"], "initial b2 (OUT)")
    init = np.concatenate([f32(inp["w1"].T), f32(inp["gamma"]), f32(inp["beta"]), f32(inp["w2"].T),
                           f32(inp["b2"])])
    h.array("torch_%s_params0" % tag, init, "the same as one vector (PARAMS): W1, gamma, beta, W2, b2")
    h.array("torch_%s_x" % tag, inp["x"], "x (BATCH, IN), the batch of every step")
    if out == 1:
        h.array("torch_%s_y" % tag, inp["y"], "regression targets (BATCH, 1)")
    else:
        int_array(h, "torch_%s_labels" % tag, inp["labels"], "class labels (BATCH), in [0, OUT)")
    names = []
    for kind in kinds:
        name = "%s_%s" % (tag, kind)
        res = run_both(name, fit_case(kind, out), inp, atol=2e-5, rtol=2e-5)
        cross_check(name + "_formula", {"m": res["moving_mean"], "v": res["moving_variance"]},
                    {"m": res["formula_mean"], "v": res["formula_unbiased"]}, 1e-6, 1e-6)
        names.append(name)
        p = "torch_%s_%s_" % (tag, kind)
        if kind == kinds[0]:
            h.array("torch_%s_grads0" % tag, res["grads0"],
                    "gradient of the loss at params0, training mode (PARAMS), the same for every kind")
        h.array(p + "losses", res["losses"], kind + ": loss of each step before its update (STEPS)")
        h.array(p + "params", res["params"], kind + ": parameters after each step (STEPS, PARAMS)")
        h.array(p + "moving_mean", res["moving_mean"], kind + ": running_mean after STEPS steps (HIDDEN)")
        h.array(p + "moving_variance_unbiased", res["moving_variance"],
                kind + ": PyTorch running_var after STEPS steps (HIDDEN), unbiased")
        h.array(p + "moving_variance_biased", res["formula_biased"],
                kind + ": formula, float64: moving variance, biased estimator (HIDDEN)")
    gap_note(h, *names)


def section_moving(h):
    h.line("/* ---- e. moving statistics over %d training batches of %d rows, %d features ----"
           % (MOV_STEPS, MOV_B, MOV_C))
    h.line(" * Arrays (STEPS, C): row k holds the statistic after training batch k + 1. torch_moving6_x")
    h.line(" * is the batches one after another: rows [k B, (k + 1) B) are batch k. */")
    h.define("TORCH_MOVING6_STEPS", MOV_STEPS, "STEPS, batches")
    h.define("TORCH_MOVING6_BATCH", MOV_B, "B, rows per batch")
    h.define("TORCH_MOVING6_CHANNELS", MOV_C, "C, features")
    float_define(h, "TORCH_MOVING6_EPSILON", MOV_EPS, "batch-norm epsilon (enters only the Keras 2 factor)")
    h.line()
    inp = moving_inputs()
    h.array("torch_moving6_x", np.concatenate(inp["batches"]), "the batches (STEPS * B, C)")

    h.line("/* Cumulative moving average, torch.nn.BatchNorm1d(C, eps=1e-3, momentum=None):")
    h.line(" * f = 1 / t at step t (num_batches_tracked); moving = (1 - f) moving + f batch, so moving_t")
    h.line(" * is the plain mean of the first t batch statistics and the initial 0 / 1 never counts. */")
    cum = run_both("cumulative", cumulative_case, inp)
    unbiased = cumulative_formula(inp["batches"], lambda n: n / (n - 1.0))
    biased = cumulative_formula(inp["batches"], lambda n: 1.0)
    cross_check("cumulative_formula", cum, unbiased, 1e-6, 1e-6)
    h.array("torch_cumavg_mean", cum["mean"], "running_mean after each step (STEPS, C)")
    h.array("torch_cumavg_variance_unbiased", cum["variance"],
            "PyTorch running_var (batch variance x N/(N-1)) after each step (STEPS, C)")
    h.array("torch_cumavg_variance_biased", biased["variance"],
            "formula, float64: the same average of the biased batch variances (STEPS, C)")
    gap_note(h, "cumulative", "cumulative_formula")

    h.line("/* Keras 2.1.3-2.2.5 (TensorFlow backend, TF 1.x) zero-debiased moving average,")
    h.line(" * K.moving_average_update = tf.train.assign_moving_average(x, value, momentum,")
    h.line(" * zero_debias=True) (keras/backend/tensorflow_backend.py @2.2.4 lines 1002-1014; TF 1.x")
    h.line(" * tensorflow/python/training/moving_averages.py, assign_moving_average and _zero_debias):")
    h.line(" *     biased_0 = 0;  biased_t = biased_{t-1} - (biased_{t-1} - value_t) (1 - momentum)")
    h.line(" *     moving_t = biased_t / (1 - momentum^t)        (moving_1 = value_1)")
    h.line(" * The initial moving_mean 0 and moving_variance 1 are overwritten at the first step. value is")
    h.line(" * the batch mean, and for the variance the biased batch variance (tf.nn.moments) times")
    h.line(" * N / (N - (1 + epsilon)) in Keras 2.1.4-2.2.5 (keras/layers/normalization.py @2.2.4 line")
    h.line(" * 193: BNMLP_VARIANCE_KERAS2), the biased variance itself in 2.1.3 (_keras213 arrays).")
    h.line(" * Computed in float64 by this formula; cross-checked against a float32 replay of the")
    h.line(" * TensorFlow op sequence (moving -= moving - biased / (1 - (1 - decay)^step)). */")
    notes = []
    for momentum in (0.99, 0.9):
        tag = "m%02d" % round(momentum * 100)
        float_define(h, "KERAS22_MOMENTUM_%s" % tag.upper(), momentum,
                     "Keras momentum of the _%s arrays" % tag)
        h.line()
        for bessel, suffix in ((True, ""), (False, "_keras213")):
            formula = keras22_formula(inp["batches"], momentum, bessel)
            replay = keras22_replay_float32(inp["batches"], momentum, bessel)
            name = "keras22_%s%s" % (tag, suffix)
            cross_check(name, replay, formula, 2e-6, 5e-6)
            notes.append(name)
            if bessel:
                h.array("keras22_debias_%s_mean" % tag, formula["mean"],
                        "momentum %g: zero-debiased moving_mean after each step (STEPS, C)" % momentum)
            h.array("keras22_debias_%s_variance%s" % (tag, suffix), formula["variance"],
                    "momentum %g: zero-debiased moving_variance (STEPS, C), value %s"
                    % (momentum, "var x N/(N-1-eps)" if bessel else "biased var (2.1.3)"))
    h.line("/* float32 TensorFlow replay vs the float64 formula, largest gap:")
    for n in notes:
        h.line(" *   %-28s %.2g abs, %.2g rel" % (n, GAPS[n][0], GAPS[n][1]))
    h.line(" */")
    h.line()


def main():
    h = Header()
    h.line("/*")
    h.line(" * torch_training.h - reference values for softmax cross-entropy and MSE heads, Adam, AdamW,")
    h.line(" * SGD with weight decay, and the batch-norm moving-average flavours.")
    h.line(" *")
    h.line(" * GENERATED by tools/gen_torch_fixtures_training.py with PyTorch %s and numpy %s; do not"
           % (torch.__version__, np.__version__))
    h.line(" * edit. Regenerate (deterministic, byte-identical), from anywhere:")
    h.line(" *     /usr/bin/python3 tools/gen_torch_fixtures_training.py")
    h.line(" *")
    h.line(" * Kernels are (IN, OUT) row-major (torch's Linear.weight transposed); parameter vectors are in")
    h.line(" * bnmlp_model_get_params order. Batch-norm momenta are Keras's (PyTorch's momentum = 1 - ours).")
    h.line(" * PyTorch values are float32 on one thread; each case was rerun in float64 from the same")
    h.line(" * float32 inputs and the largest gap is noted after its arrays.")
    h.line(" *")
    h.line(" * Formulas not taken from PyTorch (sources in the generator's docstring):")
    h.line(" *  - Keras Adam (keras 2.2.4 optimizers.py Adam.get_updates; tf.keras ResourceApplyAdam):")
    h.line(" *      lr_t = lr sqrt(1 - b2^t) / (1 - b1^t); m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;")
    h.line(" *      w -= lr_t m / (sqrt(v) + epsilon)   (PyTorch: w -= lr/(1-b1^t) m / (sqrt(v/(1-b2^t)) + eps))")
    h.line(" *  - Keras 2.1.3-2.2.5 zero-debiased moving statistics (TF 1.x assign_moving_average with")
    h.line(" *    zero_debias=True): moving_t = biased_t / (1 - momentum^t), biased_t = momentum biased_{t-1}")
    h.line(" *    + (1 - momentum) value_t, biased_0 = 0; value = batch mean, and batch variance x")
    h.line(" *    N/(N-1-eps) (2.1.4-2.2.5) or the biased batch variance (2.1.3). See section e.")
    h.line(" */")
    h.line("#ifndef BNMLP_TORCH_TRAINING_H")
    h.line("#define BNMLP_TORCH_TRAINING_H")
    h.line()
    h.line("#include <stdint.h>")
    h.line()

    section_ce(h)
    section_mse(h)
    section_optimizers(h)

    h.line("/* ---- d. x (BATCH, IN) -> Linear(IN, HIDDEN, bias=False) -> BatchNorm1d(HIDDEN, eps 1e-3,")
    h.line(" * torch momentum 0.01 = ours 0.99, affine) -> ReLU -> Linear(HIDDEN, OUT), trained STEPS steps on")
    h.line(" * the same batch by each optimizer of section c (same hyperparameters; the _masked kinds decay")
    h.line(" * only the kernels W1 and W2, not gamma, beta or b2). The first Linear has no bias: batch norm")
    h.line(" * removes its effect, so its true gradient is 0 and Adam would turn float32 rounding noise")
    h.line(" * (about 1e-9) into steps of size lr. Moving statistics start at 0 / 1. The parameter order")
    h.line(" * (bnmlp_model_get_params) is W1 (IN, HIDDEN), gamma, beta, W2 (HIDDEN, OUT), b2. Every")
    h.line(" * batch-norm output (ReLU input) stays at least %g from 0 in every step. */" % FIT_MARGIN)
    h.define("TORCH_FIT_IN", FIT_IN, "IN")
    h.define("TORCH_FIT_HIDDEN", FIT_HIDDEN, "HIDDEN")
    h.define("TORCH_FIT_BATCH", FIT_B, "BATCH")
    h.define("TORCH_FIT_STEPS", FIT_STEPS, "STEPS")
    float_define(h, "TORCH_FIT_BN_MOMENTUM", FIT_KERAS_MOMENTUM, "our batch-norm momentum")
    float_define(h, "TORCH_FIT_BN_EPSILON", FIT_EPS, "batch-norm epsilon")
    h.line()
    h.line("/* d1. OUT = 3 classes, torch.nn.CrossEntropyLoss() with integer labels */")
    section_fit(h, 3, FIT_KINDS, 1089)
    h.line("/* d2. OUT = 1, torch.nn.MSELoss() on regression targets */")
    section_fit(h, 1, FIT_MSE_KINDS, 968)

    section_moving(h)

    h.line("#endif /* BNMLP_TORCH_TRAINING_H */")
    os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
    with open(OUTPUT, "w", encoding="ascii") as f:
        f.write(h.text())
    print("wrote %s" % os.path.normpath(OUTPUT))


if __name__ == "__main__":
    main()
