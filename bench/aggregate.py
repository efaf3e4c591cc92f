#!/usr/bin/env python3
"""aggregate.py - bench/run.sh's summary: ratios of PyTorch's time to libbnmlp's, per workload.

Reads the CSV run.sh collects (phase,round + the columns of mlp_step --csv / torch_peer.py --csv),
takes per (phase, impl, workload) the median of the per-round medians and the minimum of the
minima, and prints a Markdown table per phase. For PyTorch on 2 threads the faster of the plain
and the OMP_WAIT_POLICY=PASSIVE configuration (by median) is kept, per workload.
Standard library only.
"""
import csv
import statistics
import sys
from collections import OrderedDict, defaultdict


def fmt(seconds):
    if seconds >= 1.0:
        return "%.3f s" % seconds
    if seconds >= 1e-3:
        return "%.2f ms" % (seconds * 1e3)
    return "%.1f us" % (seconds * 1e6)


def main(path):
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
    for phase in phases:
        n_rounds = len({r for p, r in rounds if p == phase})
        print("### %s thread%s (%d round%s)" % (phase, "" if phase == "1" else "s", n_rounds,
                                               "" if n_rounds == 1 else "s"))
        print()
        print("| workload | unit | libbnmlp median (min) | PyTorch median (min) | PyTorch config | "
              "torch / ours | check ours / torch |")
        print("|---|---|---|---|---|---|---|")
        for workload, unit in workloads.items():
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
            check = lambda k: "%.4g" % statistics.median(checks[k]) if k in checks else "-"  # noqa: E731
            cells.append("%s / %s" % (check(ours), check(best) if best else "-"))
            print("| " + " | ".join(cells) + " |")
        print()
    print("torch / ours > 1: libbnmlp is faster. Medians of per-round medians; min over all samples. "
          "check: last loss (train), first output (infer), final val accuracy (circles).")
    print_folding(phases, medians)
    return 0


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
    sys.exit(main(sys.argv[1]))
