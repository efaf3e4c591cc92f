#!/usr/bin/python3
"""torch_peer.py - bench/mlp_step's workloads in PyTorch, same hyper-parameters, same output.

Run it with Debian's /usr/bin/python3 (python3-torch 1.13, python3-sklearn). Threads are pinned
twice, as /work/shared/reference/peers.md asks: torch.set_num_threads(n) for torch's own OpenMP
pool, and OpenBLAS's separate pool through OPENBLAS_NUM_THREADS (set here before torch is
imported) and openblas_set_num_threads on the loaded library. --passive sets
OMP_WAIT_POLICY=PASSIVE before the import (PyTorch's best configuration on 2 threads here).

glibc's allocator is set up first (mallopt) so that PyTorch's large tensors stay in the heap: with
glibc's defaults every step of the big MLP hands its 4 MB gradients and activations back to the
kernel (munmap / heap trim) and faults them in again, and PyTorch's step there is bimodal (about 13
or 27 ms on a Zen 5 core; 12.8-15.8 ms with this setting, 25-32 ms without it in the same session).
--default-malloc keeps glibc's defaults (the peer as earlier runs measured it).

Hyper-parameters as the Keras tutorial and libbnmlp: BatchNorm1d(eps=1e-3, momentum=0.01) (Keras
0.99), Glorot-uniform kernels (He-uniform for the tutorial's hidden layer), zero biases,
BCEWithLogitsLoss on the logit of the sigmoid output, SGD(lr=0.01, momentum=0.9); inference is
model.eval() under torch.no_grad() with the sigmoid applied.

A sample runs a workload's unit (one step, one forward, one 100-epoch circles run) as often as
needed to last about --sample-ms; the table gives the median and minimum time per unit.
"""
import argparse
import os
import sys


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=1, help="torch and OpenBLAS threads (default 1)")
    p.add_argument("--passive", action="store_true", help="OMP_WAIT_POLICY=PASSIVE (set before import)")
    p.add_argument("--default-malloc", action="store_true",
                   help="keep glibc's mmap and trim thresholds (default: large tensors stay in the heap)")
    p.add_argument("--reps", type=int, default=7, help="timed samples per workload (default 7)")
    p.add_argument("--filter", default=None,
                   help="comma-separated substrings of workload names (a part ending in $ must end the name)")
    p.add_argument("--csv", action="store_true", help="print CSV instead of the table")
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    p.add_argument("--sample-ms", type=int, default=50, help="target length of one sample (default 50)")
    p.add_argument("--warmup-ms", type=int, default=200, help="minimum warm-up per workload (default 200)")
    a = p.parse_args()
    if a.threads < 1 or a.reps < 1 or a.sample_ms < 1 or a.warmup_ms < 1:
        p.error("--threads, --reps, --sample-ms and --warmup-ms must be positive")
    return a


ARGS = parse_args()

# Before torch (and its OpenMP and OpenBLAS) is loaded.
os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.threads)
os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)
if ARGS.passive:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

import contextlib  # noqa: E402
import ctypes  # noqa: E402

# glibc mallopt parameters (malloc.h)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3


def steady_malloc():
    """Before torch allocates: blocks up to 32 MiB (glibc's largest mmap threshold on 64-bit) come
    from the heap, and the heap is trimmed only past 1 GiB free, so a training loop reuses its
    memory instead of faulting it in every step. Returns a description for the header line."""
    if ARGS.default_malloc:
        return "glibc malloc defaults"
    try:
        libc = ctypes.CDLL(None)
        ok = libc.mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 and libc.mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1
    except (OSError, AttributeError):
        ok = False
    return "mallopt mmap 32 MiB, trim 1 GiB" if ok else "mallopt failed: glibc malloc defaults"


MALLOC = steady_malloc()
import math  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

CIRCLES_EPOCHS = 100
TRAIN_BATCHES = 4

WORKLOADS = [
    # name, description, kind, model, inputs, batch
    ("mlp1024.train", "256-1024-1024-1 BN, train step, batch 256", "train", "big", 256, 256),
    ("mlp1024.infer", "256-1024-1024-1 BN, inference forward, batch 256", "infer", "big", 256, 256),
    ("mlp1024.train.adam", "256-1024-1024-1 BN, train step, batch 256, Adam", "train", "big", 256, 256),
    ("mlp1024.folded", "256-1024-1024-1 BN folded, inference, batch 256", "folded", "big", 256, 256),
    ("mlp64.train", "30-64-32-1 BN, train step, batch 32", "train", "mid", 30, 32),
    ("mlp64.infer", "30-64-32-1 BN, inference forward, batch 32", "infer", "mid", 30, 32),
    ("mlp64.folded", "30-64-32-1 BN folded, inference, batch 32", "folded", "mid", 30, 32),
    ("tutorial.train", "2-50-BN-1, train step, batch 32", "train", "tutorial_bn", 2, 32),
    ("tutorial.infer", "2-50-BN-1, inference forward, batch 32", "infer", "tutorial_bn", 2, 32),
    ("tutorial.folded", "2-50-BN-1 folded, inference, batch 32", "folded", "tutorial_bn", 2, 32),
    ("circles.nobn", "circles 100 epochs + val each epoch, no BN", "circles", "tutorial_nobn", 2, 32),
    ("circles.bn", "circles 100 epochs + val each epoch, BN after ReLU", "circles", "tutorial_bn", 2, 32),
    # bf16 autocast (torch.autocast("cpu", dtype=torch.bfloat16)): the peer of libbnmlp's bf16 precision
    ("mlp1024.train.bf16", "256-1024-1024-1 BN, train step, batch 256, bf16 autocast", "train", "big", 256, 256),
    ("mlp1024.infer.bf16", "256-1024-1024-1 BN, inference, batch 256, bf16 autocast", "infer", "big", 256, 256),
] + [
    # the width sweep: 256-W-BN-ReLU-W-BN-ReLU-1, as mlp1024.train with W in place of 1024
    ("sweep.w%d.train" % w, "256-%d-%d-1 BN, train step, batch 256" % (w, w), "train", "wide%d" % w, 256, 256)
    for w in (64, 128, 256, 512, 1024, 2048)
]
UNIT = {"train": "step", "infer": "forward", "folded": "forward", "circles": "run"}


def pin_openblas(n):
    """openblas_set_num_threads(n) on every loaded library that has it; returns a description."""
    found = []
    with open("/proc/self/maps") as maps:
        paths = sorted({os.path.realpath(line.split()[-1]) for line in maps
                        if "blas" in line and line.split()[-1].startswith("/")})
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
            setter = lib.openblas_set_num_threads
        except (OSError, AttributeError):
            continue
        setter.argtypes = [ctypes.c_int]
        setter(n)
        info = os.path.basename(path)
        try:
            lib.openblas_get_num_threads.restype = ctypes.c_int
            lib.openblas_get_corename.restype = ctypes.c_char_p
            info += " (%s, %d threads)" % (lib.openblas_get_corename().decode(), lib.openblas_get_num_threads())
        except AttributeError:
            pass
        found.append(info)
    return ", ".join(found) if found else "no OpenBLAS found in the process"


def bn(features):
    return nn.BatchNorm1d(features, eps=1e-3, momentum=0.01)


def make_model(kind):
    if kind == "big" or kind.startswith("wide"):  # 256-W-BN-ReLU-W-BN-ReLU-1, W = 1024 for "big"
        w = 1024 if kind == "big" else int(kind[len("wide"):])
        layers = [nn.Linear(256, w), bn(w), nn.ReLU(), nn.Linear(w, w), bn(w), nn.ReLU(), nn.Linear(w, 1)]
    elif kind == "mid":
        layers = [nn.Linear(30, 64), bn(64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), bn(32), nn.Linear(32, 1)]
    elif kind == "tutorial_bn":
        layers = [nn.Linear(2, 50), nn.ReLU(), bn(50), nn.Linear(50, 1)]
    elif kind == "tutorial_nobn":
        layers = [nn.Linear(2, 50), nn.ReLU(), nn.Linear(50, 1)]
    else:
        raise ValueError(kind)
    tutorial = kind.startswith("tutorial")
    first = True
    for layer in layers:
        if isinstance(layer, nn.Linear):
            if tutorial and first:  # he_uniform: U(-sqrt(6/fan_in), +)
                nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
            else:  # glorot_uniform, Keras's Dense default
                nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
            first = False
    return nn.Sequential(*layers)


def fold_sequential(model):
    """The eval-mode model with every BatchNorm1d folded into a Linear beside it, as
    bnmlp_model_fold folds (docs/deploy.md): Linear -> BN into that Linear, BN -> Linear (after an
    activation) into the next one. The peer of the *.folded workloads."""
    layers = list(model)
    out = []
    with torch.no_grad():
        for layer in layers:
            if isinstance(layer, nn.BatchNorm1d):
                s = layer.weight / torch.sqrt(layer.running_var + layer.eps)
                t = layer.bias - layer.running_mean * s
                if out and isinstance(out[-1], nn.Linear):
                    out[-1].weight.mul_(s[:, None])
                    out[-1].bias.mul_(s).add_(t)
                    continue
            out.append(layer)
        folded = []
        for i, layer in enumerate(out):
            if isinstance(layer, nn.BatchNorm1d) and i + 1 < len(out) and isinstance(out[i + 1], nn.Linear):
                s = layer.weight / torch.sqrt(layer.running_var + layer.eps)
                t = layer.bias - layer.running_mean * s
                nxt = out[i + 1]
                nxt.bias.add_(nxt.weight @ t)
                nxt.weight.mul_(s[None, :])
                continue
            folded.append(layer)
    return nn.Sequential(*folded).eval()


def autocast(bf16):
    """torch.autocast("cpu", dtype=torch.bfloat16) for the *.bf16 workloads, else a no-op context. Seen
    with torch 1.13 on Zen 5 (ONEDNN_VERBOSE=1): all six products of a step run as oneDNN matmuls
    brg:avx512_core_bf16 (bf16 in and out); BatchNorm1d takes and returns bf16 activations (its
    parameters stay fp32); BCEWithLogitsLoss runs in fp32; weights, gradients and SGD stay fp32."""
    if bf16:
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


class Context:
    def __init__(self, kind, model_kind, inputs, batch, bf16=False, adam=False):
        self.kind = kind
        self.bf16 = bf16
        self.model_kind = model_kind
        self.check = float("nan")
        self.loss_fn = nn.BCEWithLogitsLoss()
        torch.manual_seed(1)
        if kind == "circles":
            from sklearn.datasets import make_circles
            x, y = make_circles(n_samples=1000, noise=0.1, random_state=1)
            x = torch.from_numpy(x.astype(np.float32))
            y = torch.from_numpy(y.astype(np.float32)).reshape(-1, 1)
            self.train_x, self.test_x = x[:500], x[500:]
            self.train_y, self.test_y = y[:500], y[500:]
            return
        self.model = make_model(model_kind)
        gen = torch.Generator().manual_seed(42)
        self.x = [torch.randn(batch, inputs, generator=gen) for _ in range(TRAIN_BATCHES)]
        self.y = [torch.randint(0, 2, (batch, 1), generator=gen).float() for _ in range(TRAIN_BATCHES)]
        self.next = 0
        if kind == "train" or kind == "folded":
            self.model.train()
            if adam:  # the *.adam workloads: torch.optim.Adam's defaults (lr 1e-3), as mlp_step's
                self.opt = torch.optim.Adam(self.model.parameters())
            else:
                self.opt = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9)
        if kind == "folded":  # a few steps, as mlp_step does, then the folded eval model
            for b in range(TRAIN_BATCHES):
                self.opt.zero_grad()
                self.loss_fn(self.model(self.x[b]), self.y[b]).backward()
                self.opt.step()
            self.model = fold_sequential(self.model.eval())
        elif kind != "train":
            self.model.eval()

    def unit(self):
        if self.kind == "train":
            b = self.next
            self.next = (b + 1) % TRAIN_BATCHES
            self.opt.zero_grad()
            with autocast(self.bf16):  # forward and loss only; backward and SGD as usual
                loss = self.loss_fn(self.model(self.x[b]), self.y[b])
            loss.backward()
            self.opt.step()
            self.last = loss
        elif self.kind in ("infer", "folded"):
            with torch.no_grad(), autocast(self.bf16):
                self.last = torch.sigmoid(self.model(self.x[0]))
        else:
            self.circles_run()

    def finish_sample(self):
        if self.kind == "train":
            self.check = self.last.item()
        elif self.kind in ("infer", "folded"):
            self.check = self.last[0, 0].float().item()

    def circles_run(self):
        """One tutorial run: build (seed 1), 100 epochs of reshuffled batches of 32, Keras-style
        training metrics, then eval-mode validation on the test half after every epoch."""
        torch.manual_seed(1)
        model = make_model(self.model_kind)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        loss_fn = self.loss_fn
        x, y = self.train_x, self.train_y
        n = x.shape[0]
        val_acc = float("nan")
        for _ in range(CIRCLES_EPOCHS):
            model.train()
            perm = torch.randperm(n)
            total_loss, correct = 0.0, 0.0
            for start in range(0, n, 32):
                idx = perm[start:start + 32]
                xb, yb = x[idx], y[idx]
                opt.zero_grad()
                logits = model(xb)
                loss = loss_fn(logits, yb)
                loss.backward()
                opt.step()
                total_loss += loss.item() * len(idx)
                correct += ((logits > 0).float() == yb).sum().item()
            model.eval()
            with torch.no_grad():
                logits = model(self.test_x)
                self.val_loss = loss_fn(logits, self.test_y).item()  # Keras computes it too
                val_acc = ((logits > 0).float() == self.test_y).float().mean().item()
        self.check = val_acc


def time_workload(kind, model_kind, inputs, batch, bf16, adam=False):
    ctx = Context(kind, model_kind, inputs, batch, bf16, adam)
    warm, start = 0, time.perf_counter()
    elapsed = 0.0
    while warm < 2 or elapsed < ARGS.warmup_ms / 1000.0:
        ctx.unit()
        warm += 1
        elapsed = time.perf_counter() - start
    ctx.finish_sample()
    per_call = elapsed / warm
    calls = max(1, math.ceil(ARGS.sample_ms / 1000.0 / max(per_call, 1e-9)))
    samples = []
    for _ in range(ARGS.reps):
        t0 = time.perf_counter()
        for _ in range(calls):
            ctx.unit()
        ctx.finish_sample()
        samples.append((time.perf_counter() - t0) / calls)
    samples.sort()
    k = len(samples)
    median = samples[k // 2] if k % 2 else 0.5 * (samples[k // 2 - 1] + samples[k // 2])
    return median, samples[0], calls, ctx.check


def format_time(s):
    if s >= 1.0:
        return "%.3f s" % s
    if s >= 1e-3:
        return "%.3f ms" % (s * 1e3)
    return "%.2f us" % (s * 1e6)


def matches(name, filt):
    """Whether name contains one of filt's comma-separated parts; a part ending in $ must end the
    name (mlp1024.train$), as bench/mlp_step's --filter."""
    if not filt:
        return True
    for part in filt.split(","):
        if part.endswith("$") and len(part) > 1 and name.endswith(part[:-1]):
            return True
        if part and not part.endswith("$") and part in name:
            return True
    return False


def main():
    if ARGS.list:
        for w in WORKLOADS:
            print("%-18s %s" % (w[0], w[1]))
        return 0
    torch.set_num_threads(ARGS.threads)
    blas = pin_openblas(ARGS.threads)
    impl = "torch-passive" if ARGS.passive else "torch"
    if ARGS.csv:
        print("impl,threads,workload,unit,median_s,min_s,samples,calls,check")
    else:
        print("torch %s, threads %d (torch %d; %s), OMP_WAIT_POLICY=%s, %s, %d samples per workload "
              "(medians and minima per unit)" % (torch.__version__, ARGS.threads, torch.get_num_threads(), blas,
                                                 os.environ.get("OMP_WAIT_POLICY", "unset"), MALLOC, ARGS.reps))
        print("%-18s %-58s %-8s %12s %12s %6s %9s" % ("workload", "what", "unit", "median", "min", "calls", "check"))
    sys.stdout.flush()
    ran = 0
    for name, desc, kind, model_kind, inputs, batch in WORKLOADS:
        if not matches(name, ARGS.filter):
            continue
        ran += 1
        median, minimum, calls, check = time_workload(kind, model_kind, inputs, batch, name.endswith(".bf16"),
                                                        name.endswith(".adam"))
        if ARGS.csv:
            print("%s,%d,%s,%s,%.9g,%.9g,%d,%d,%.6g" % (impl, ARGS.threads, name, UNIT[kind], median, minimum,
                                                        ARGS.reps, calls, check))
        else:
            print("%-18s %-58s %-8s %12s %12s %6d %9.4g" % (name, desc, UNIT[kind], format_time(median),
                                                            format_time(minimum), calls, check))
        sys.stdout.flush()
    if ran == 0:
        print("torch_peer: no workload matches --filter %s (see --list)" % ARGS.filter, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
