#!/usr/bin/env python3
"""aggregate.py - bench/run.sh's summary: ratios of PyTorch's time to libbnmlp's, per workload.

Reads the CSV run.sh collects (phase,round + the columns of mlp_step --csv / torch_peer.py --csv),
takes per (phase, impl, workload) the median of the per-round medians and the minimum of the
minima, and prints a Markdown table per phase. For PyTorch on 2 threads the faster of the plain
and the OMP_WAIT_POLICY=PASSIVE configuration (by median) is kept, per workload.

With --peaks FILE (bench/fma_peak --csv: isa,kind,gflops,library_isa; several runs appended to one
file count with the best of each) every row also shows the
rate of each side (the workload's dense-product FLOPs, see workload_flops, over its median time)
and its fraction of the peak: fp32 workloads against the fp32 FMA peak of the instruction set the
library ran (library_isa), *.bf16 against the AVX512_BF16 peak, *.int8 against the best VNNI
peak; on N threads against N times the one-core peak. Then the width sweep (sweep.wW.train) and
the bf16 / int8 comparisons, each left out with a note when its rows are missing.
Standard library only.
"""
import argparse
import csv
import re
import statistics
import sys
from collections import OrderedDict, defaultdict

# Dense layers of each workload family: (inputs, [units of each dense layer], batch).
ARCHITECTURES = {
    "mlp1024": (256, [1024, 1024, 1], 256),
    "mlp64": (30, [64, 32, 1], 32),
    "tutorial": (2, [50, 1], 32),
    "circles": (2, [50, 1], 32),
}
CIRCLES_EPOCHS, CIRCLES_TRAIN_ROWS, CIRCLES_VALIDATION_ROWS = 100, 500, 500


def architecture(workload):
    """(inputs, units, batch) of a workload name, or None when unknown."""
    base = workload.split(".")[0]
    match = re.fullmatch(r"sweep\.w(\d+)\.train", workload)
    if match:
        w = int(match.group(1))
        return (256, [w, w, 1], 256)
    return ARCHITECTURES.get(base)


def workload_flops(workload):
    """FLOPs of one unit: 2 per multiply-add of every dense product it runs. Per row, a forward is
    2 * sum(in * out) over the dense layers; a training step adds the weight-gradient products
    (the same again) and the input-gradient products of every layer but the first. A circles run
    is 100 epochs of 500 training rows and a 500-row validation forward. Batch norm, activations,
    the loss and the optimizer count nothing. None for an unknown workload."""
    arch = architecture(workload)
    if arch is None:
        return None
    inputs, units, batch = arch
    fan_ins = [inputs] + units[:-1]
    products = [i * o for i, o in zip(fan_ins, units)]
    forward = 2 * sum(products)
    train = forward + 2 * sum(products) + 2 * sum(products[1:])
    if workload.startswith("circles."):
        return CIRCLES_EPOCHS * (CIRCLES_TRAIN_ROWS * train + CIRCLES_VALIDATION_ROWS * forward)
    return batch * (train if "train" in workload.split(".") else forward)


def precision_of(workload):
    return "bf16" if workload.endswith(".bf16") else "int8" if workload.endswith(".int8") else "fp32"


class Peaks:
    """The one-core peaks fma_peak measured, and the instruction set the library ran."""

    def __init__(self, path):
        self.rates = {}
        self.library_isa = None
        if path is None:
            return
        try:
            with open(path, newline="") as f:
                for row in csv.DictReader(f):
                    if row["isa"] == "isa":  # the header of a second run appended to the file
                        continue
                    key = (row["isa"], row["kind"])  # several runs of fma_peak: the best of each
                    self.rates[key] = max(self.rates.get(key, 0.0), float(row["gflops"]))
                    self.library_isa = row["library_isa"]
        except (OSError, KeyError, ValueError) as e:
            print("(peaks: cannot read %s: %s; no fractions of peak)" % (path, e))
            self.rates = {}

    def fp32(self):
        return self.rates.get((self.library_isa, "fp32_peak"))

    def bf16(self):
        return self.rates.get(("avx512_bf16", "bf16_peak"))

    def int8(self):
        rates = [v for (isa, kind), v in self.rates.items() if kind == "int8_peak"]
        return max(rates) if rates else None

    def int8_isa(self):
        rates = [(v, isa) for (isa, kind), v in self.rates.items() if kind == "int8_peak"]
        return max(rates)[1] if rates else None

    def for_workload(self, workload):
        """[(label, one-core peak)] a workload's rate is compared with."""
        p = precision_of(workload)
        if p == "bf16":
            return [("fp32", self.fp32()), ("bf16", self.bf16())]
        if p == "int8":
            return [("int8", self.int8())]
        return [("fp32", self.fp32())]

    def describe(self):
        if not self.rates:
            return None
        parts = []
        if self.fp32():
            parts.append("fp32 %.1f GFLOP/s (%s FMA, the row the library ran)" % (self.fp32(), self.library_isa))
        if self.bf16():
            parts.append("bf16 %.1f GFLOP/s (vdpbf16ps)" % self.bf16())
        if self.int8():
            parts.append("int8 %.1f GOP/s (%s vpdpbusd)" % (self.int8(), self.int8_isa()))
        return "; ".join(parts)


def rate_cell(workload, seconds, threads, peaks, with_peak=True):
    """'R GFLOP/s (P% fp32, Q% bf16)' for one side of a row, or '-'."""
    flops = workload_flops(workload)
    if not flops or not seconds:
        return "-"
    rate = flops / seconds / 1e9
    def percent(fraction):
        return "%.0f%%" % (100 * fraction) if fraction >= 0.1 else "%.2g%%" % (100 * fraction)
    fractions = ["%s%s" % (percent(rate / (peak * threads)), "" if len(peaks.for_workload(workload)) == 1
                           else " " + label)
                 for label, peak in peaks.for_workload(workload) if peak] if with_peak else []
    return "%s%s" % ("%.1f" % rate if rate >= 10 else "%.2g" % rate, " (%s)" % ", ".join(fractions) if fractions else "")


def fmt(seconds):
    if seconds >= 1.0:
        return "%.3f s" % seconds
    if seconds >= 1e-3:
        return "%.2f ms" % (seconds * 1e3)
    return "%.1f us" % (seconds * 1e6)


def self_test():
    """Checks workload_flops on hand-computed cases; 0 when all pass."""
    cases = [
        ("tutorial.infer", 32 * 2 * (2 * 50 + 50 * 1)),
        ("tutorial.train", 32 * (2 * 2 * 150 + 2 * 50)),  # forward + dw + dx of the second layer
        ("mlp1024.train", 256 * (4 * (256 * 1024 + 1024 * 1024 + 1024) + 2 * (1024 * 1024 + 1024))),
        ("mlp1024.train.bf16", 1880621056),
        ("mlp1024.infer.int8", 256 * 2 * (256 * 1024 + 1024 * 1024 + 1024)),
        ("sweep.w1024.train", 1880621056),
        ("sweep.w64.train", 2 * 256 * (3 * (256 * 64 + 64 * 64 + 64) - 256 * 64)),
        ("mlp64.folded", 32 * 2 * (30 * 64 + 64 * 32 + 32)),
        ("circles.bn", 100 * (500 * 700 + 500 * 300)),
        ("nothing.train", None),
    ]
    failures = [(w, want, workload_flops(w)) for w, want in cases if workload_flops(w) != want]
    for w, want, got in failures:
        print("self-test: workload_flops(%s) = %s, expected %s" % (w, got, want))
    print("self-test: %d of %d cases pass" % (len(cases) - len(failures), len(cases)))
    return 1 if failures else 0


def main(argv):
    parser = argparse.ArgumentParser(description="bench/run.sh's summary tables")
    parser.add_argument("results", nargs="?", help="run.sh's all.csv")
    parser.add_argument("--peaks", help="bench/fma_peak --csv output: adds rates and fractions of peak")
    parser.add_argument("--self-test", action="store_true", help="check the FLOP counts and exit")
    args = parser.parse_args(argv)
    if args.self_test:
        return self_test()
    if args.results is None:
        parser.error("the results CSV is required")
    peaks = Peaks(args.peaks)
    path = args.results
    medians = defaultdict(list)
    minima = defaultdict(list)
    threads_of = {}
    checks = defaultdict(list)
    workloads = OrderedDict()
    phases = OrderedDict()
    rounds = set()
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            key = (row["phase"], row["impl"], row["workload"])
            medians[key].append(float(row["median_s"]))
            minima[key].append(float(row["min_s"]))
            checks[key].append(float(row["check"]))
            threads_of[key] = row["threads"]
            workloads[row["workload"]] = row["unit"]
            phases[row["phase"]] = True
            rounds.add((row["phase"], row["round"]))
    if not medians:
        print("no results")
        return 1
    if peaks.describe():
        print("Peaks (bench/fma_peak, one core): %s. On N threads a fraction is of N times these." %
              peaks.describe())
        print()
    for phase in phases:
        n_rounds = len({r for p, r in rounds if p == phase})
        print("### %s thread%s (%d round%s)" % (phase, "" if phase == "1" else "s", n_rounds,
                                               "" if n_rounds == 1 else "s"))
        print()
        print("| workload | unit | libbnmlp median (min) | PyTorch median (min) | PyTorch config | "
              "torch / ours | ours GFLOP/s (of peak) | PyTorch GFLOP/s (of peak) | check ours / torch |")
        print("|---|---|---|---|---|---|---|---|---|")
        for workload, unit in workloads.items():
            if workload.startswith("sweep."):  # their own table below
                continue
            ours = (phase, "bnmlp", workload)
            torch_keys = [(phase, impl, workload) for impl in ("torch", "torch-passive")
                          if (phase, impl, workload) in medians]
            if ours not in medians and not torch_keys:
                continue
            cells = [workload, unit]
            ours_median = None
            if ours in medians:
                ours_median = statistics.median(medians[ours])
                note = "" if threads_of[ours] == phase else " [%s thr]" % threads_of[ours]
                cells.append("%s (%s)%s" % (fmt(ours_median), fmt(min(minima[ours])), note))
            else:
                cells.append("-")
            best = None
            if torch_keys:
                best = min(torch_keys, key=lambda k: statistics.median(medians[k]))
                torch_median = statistics.median(medians[best])
                cells.append("%s (%s)" % (fmt(torch_median), fmt(min(minima[best]))))
                cells.append("passive" if best[1] == "torch-passive" else "default")
            else:
                cells += ["-", "-"]
            if ours_median and best:
                cells.append("**%.3g**" % (torch_median / ours_median))
            else:
                cells.append("-")
            cells.append(rate_cell(workload, ours_median, int(phase), peaks))
            cells.append(rate_cell(workload, torch_median if best else None, int(phase), peaks))
            check = lambda k: "%.4g" % statistics.median(checks[k]) if k in checks else "-"  # noqa: E731
            cells.append("%s / %s" % (check(ours), check(best) if best else "-"))
            print("| " + " | ".join(cells) + " |")
        print()
    print("torch / ours > 1: libbnmlp is faster. Medians of per-round medians; min over all samples. "
          "The sweep.* workloads are in their own table below. GFLOP/s: the dense products' FLOPs per unit over the median (int8: GOP/s); of peak: see above. "
          "check: last loss (train), first output (infer), final val accuracy (circles).")
    print_folding(phases, medians)
    print_sweep(phases, medians, peaks)
    print_precision(phases, medians, peaks)
    return 0


def best_median(medians, phase, impls, workload):
    """The smallest median of per-round medians among impls (None when none ran)."""
    keys = [(phase, impl, workload) for impl in impls if (phase, impl, workload) in medians]
    return min((statistics.median(medians[k]) for k in keys), default=None)


OURS, TORCH = ("bnmlp",), ("torch", "torch-passive")


def print_sweep(phases, medians, peaks):
    """The width sweep: sweep.wW.train per W, both sides, the ratio and the fractions of peak."""
    widths = sorted({int(m.group(1)) for (_, _, w) in medians for m in [re.fullmatch(r"sweep\.w(\d+)\.train", w)]
                     if m})
    if not widths:
        return
    print()
    print("### Width sweep: 256-W-BN-ReLU-W-BN-ReLU-1 training step, batch 256")
    print()
    print("| threads | W | GFLOP per step | libbnmlp | PyTorch | torch / ours | ours GFLOP/s (of peak) | "
          "PyTorch GFLOP/s (of peak) |")
    print("|---|---|---|---|---|---|---|---|")
    for phase in phases:
        for w in widths:
            name = "sweep.w%d.train" % w
            ours, torch = best_median(medians, phase, OURS, name), best_median(medians, phase, TORCH, name)
            if ours is None and torch is None:
                continue
            print("| %s | %d | %.3f | %s | %s | %s | %s | %s |" % (
                phase, w, workload_flops(name) / 1e9, fmt(ours) if ours else "-", fmt(torch) if torch else "-",
                "**%.3g**" % (torch / ours) if ours and torch else "-", rate_cell(name, ours, int(phase), peaks),
                rate_cell(name, torch, int(phase), peaks)))
    print()
    print("Medians of per-round medians. GFLOP per step: 2 x 256 x (3 x sum(in x out) - 256 x W) (forward, "
          "weight gradients, input gradients of every layer but the first).")


# (label, our workload, peer impls, peer workload, target or None): each row of the bf16 / int8 table.
PRECISION_ROWS = [
    ("bf16 step vs our fp32 step", "mlp1024.train.bf16", OURS, "mlp1024.train", 1.6),
    ("bf16 step vs PyTorch fp32 step", "mlp1024.train.bf16", TORCH, "mlp1024.train", 2.5),
    ("bf16 step vs PyTorch bf16 autocast step", "mlp1024.train.bf16", TORCH, "mlp1024.train.bf16", None),
    ("bf16 inference vs our fp32 inference", "mlp1024.infer.bf16", OURS, "mlp1024.infer", None),
    ("bf16 inference vs PyTorch fp32 inference", "mlp1024.infer.bf16", TORCH, "mlp1024.infer", None),
    ("bf16 inference vs PyTorch bf16 autocast inference", "mlp1024.infer.bf16", TORCH, "mlp1024.infer.bf16",
     None),
    ("int8 inference vs our fp32 inference", "mlp1024.infer.int8", OURS, "mlp1024.infer", 2.5),
    ("int8 inference vs PyTorch fp32 inference", "mlp1024.infer.int8", TORCH, "mlp1024.infer", None),
]


def print_precision(phases, medians, peaks):
    """The bf16 and int8 rows of the big MLP against our fp32 and PyTorch (fp32 and bf16 autocast);
    a comparison one of whose sides did not run is left out, with a note."""
    names = {w for (_, _, w) in medians}
    if not any(w.endswith(".bf16") or w.endswith(".int8") for w in names):
        return
    print()
    print("### bf16 and int8: the big MLP (256-1024-BN-ReLU-1024-BN-ReLU-1, batch 256)")
    print()
    lines = []
    missing = OrderedDict()
    for phase in phases:
        for label, ours_name, peer_impls, peer_name, target in PRECISION_ROWS:
            ours = best_median(medians, phase, OURS, ours_name)
            peer = best_median(medians, phase, peer_impls, peer_name)
            if ours is None or peer is None:
                side = "libbnmlp " + ours_name if ours is None else \
                    ("PyTorch " if peer_impls == TORCH else "libbnmlp ") + peer_name
                missing.setdefault(side, []).append(label)
                continue
            ratio = peer / ours
            verdict = "-" if target is None else ">= %.3g%s" % (target, (": met" if ratio >= target else ": NOT met")
                                                                  if phase == "1" else " on 1 thread")
            lines.append("| %s | %s | %s | %s | **%.3g** | %s | %s |" % (
                phase, label, fmt(ours), fmt(peer), ratio, verdict, rate_cell(ours_name, ours, int(phase), peaks)))
    if lines:
        print("| threads | comparison | libbnmlp | peer | peer / ours | target | ours GFLOP/s (of peak) |")
        print("|---|---|---|---|---|---|---|")
        print("\n".join(lines))
    else:
        print("(no comparison has both of its sides in this run)")
    print()
    print("peer / ours > 1: libbnmlp's bf16 / int8 is faster. Targets from issue 19 (one thread, on a CPU "
          "with AVX512_BF16 / AVX512_VNNI).")
    for side, labels in missing.items():
        print("- left out (%s did not run: not built or not merged yet): %s" % (side, "; ".join(
            sorted(set(labels), key=labels.index))))


def print_folding(phases, medians):
    """Per phase, each X.folded workload: libbnmlp's folded forward and its unfolded model timed in
    the same samples (impl bnmlp-unfolded: the two take turns within every sample), the median
    over rounds of mlp_step's median ratio over paired pieces (impl bnmlp-fold-speedup), and PyTorch's eval() of the unfolded model (X.infer, its
    better configuration) and of its own folded model (X.folded) against ours folded."""
    bases = OrderedDict((w[:-len(".folded")], True) for (_, _, w) in medians if w.endswith(".folded"))
    if not bases:
        return
    print()
    print("### Inference: folded (bnmlp_model_fold) vs unfolded vs PyTorch eval()")
    print()
    print("| threads | model | ours unfolded | ours folded | unfolded / folded | PyTorch eval() | "
          "PyTorch eval() / ours folded | PyTorch folded | PyTorch folded / ours folded |")
    print("|---|---|---|---|---|---|---|---|---|")
    for phase in phases:
        for base in bases:
            def median_of(impls, workload):
                keys = [(phase, impl, workload) for impl in impls if (phase, impl, workload) in medians]
                return min((statistics.median(medians[k]) for k in keys), default=None)
            folded_key, unfolded_key = (phase, "bnmlp", base + ".folded"), (phase, "bnmlp-unfolded", base + ".folded")
            folded = median_of(("bnmlp",), base + ".folded")
            unfolded = median_of(("bnmlp-unfolded",), base + ".folded")
            speedup_key = (phase, "bnmlp-fold-speedup", base + ".folded")
            paired = statistics.median(medians[speedup_key]) if speedup_key in medians else None
            if paired is None and folded_key in medians and unfolded_key in medians:
                paired = statistics.median(u / f for u, f in zip(medians[unfolded_key], medians[folded_key]))
            torch_eval = median_of(("torch", "torch-passive"), base + ".infer")
            torch_folded = median_of(("torch", "torch-passive"), base + ".folded")
            cell = lambda v: fmt(v) if v else "-"  # noqa: E731
            ratio = lambda a, b: "**%.3g**" % (a / b) if a and b else "-"  # noqa: E731
            print("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                phase, base, cell(unfolded), cell(folded), "**%.3g**" % paired if paired else "-",
                cell(torch_eval), ratio(torch_eval, folded), cell(torch_folded), ratio(torch_folded, folded)))
    print()
    print("unfolded / folded > 1: folding made libbnmlp's forward faster: the median over rounds of "
          "mlp_step's median over paired pieces (the two models take turns within every sample, 16 pieces "
          "each) of the unfolded time over the folded time. Times: medians of per-round medians.")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
