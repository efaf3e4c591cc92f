#!/usr/bin/python3
"""Writes tests/fixtures/controls_reference.h: the peers' answers for fit's training controls, for
tests/test_controls.c.

Run with Debian's interpreter, which has python3-torch and python3-numpy:

    /usr/bin/python3 tools/gen_controls_fixtures.py            # writes tests/fixtures/controls_reference.h
    /usr/bin/python3 tools/gen_controls_fixtures.py OUT.h      # writes OUT.h instead

The output is deterministic: rerunning rewrites the header byte for byte. It is committed, so
building and testing never need Python.

Where the values come from:
  - torch.optim.lr_scheduler (PyTorch 1.13, Debian's python3-torch): StepLR, MultiStepLR,
    ExponentialLR, CosineAnnealingLR, OneCycleLR. Each runs on an SGD optimizer of one parameter;
    the recorded rate of epoch (or step) t is param_groups[0]["lr"] before the t-th
    scheduler.step(), so t = 0 is the starting rate. ReduceLROnPlateau likewise, fed the scripted
    values (its rate after each step).
  - Keras 3's schedules (keras/src/optimizers/schedules/learning_rate_schedule.py) are not
    installed here: ExponentialDecay, PiecewiseConstantDecay and CosineDecay (with and without
    warmup) are written out below in NumPy float64 from their formulas; Keras evaluates them in
    float32, so they agree with Keras to float32 rounding (about 6e-8 relative).
  - Keras 3's EarlyStopping (keras/src/callbacks/early_stopping.py) and ReduceLROnPlateau
    (keras/src/callbacks/reduce_lr_on_plateau.py) are likewise re-expressed below from their
    on_epoch_end logic and fed scripted histories; the answers (stop epoch, best epoch, rates)
    are also checked by hand in the cases' comments.
"""
import math
import sys

import numpy as np
import torch


def torch_rates(make, base, count, per_step_total=None):
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=base)
    sched = make(opt)
    rates = []
    for _ in range(count):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return rates


def keras_exponential(base, decay_steps, rate, staircase, t):
    p = t / decay_steps
    if staircase:
        p = math.floor(p)
    return base * rate ** p


def keras_piecewise(boundaries, values, t):
    for b, v in zip(boundaries, values):
        if t <= b:
            return v
    return values[-1]


def keras_cosine(base, decay_steps, alpha, t, warmup_target=None, warmup_steps=0):
    def decay(step, from_lr):
        cosine = 0.5 * (1.0 + math.cos(math.pi * (step / decay_steps)))
        return from_lr * ((1 - alpha) * cosine + alpha)

    if warmup_target is None:
        return decay(min(t, decay_steps), base)
    step = min(t, decay_steps + warmup_steps)
    if step < warmup_steps:
        return (warmup_target - base) * (step / warmup_steps) + base
    return decay(step - warmup_steps, warmup_target)


def keras_early_stopping(values, maximize, min_delta, patience, baseline, start_from_epoch):
    """Keras 3 EarlyStopping.on_epoch_end over values; per epoch (stop, best_epoch or -1)."""
    delta = abs(min_delta) * (1 if maximize else -1)
    op = (lambda a, b: a > b) if maximize else (lambda a, b: a < b)
    best = -math.inf if maximize else math.inf
    wait, best_epoch, has_best = 0, -1, False
    out = []
    for epoch, current in enumerate(values):
        stop = False
        if epoch >= start_from_epoch:
            if not has_best:
                has_best, best_epoch = True, epoch
            wait += 1
            if op(current - delta, best):
                best, best_epoch = current, epoch
                if baseline is None or op(current - delta, baseline):
                    wait = 0
            elif wait >= patience and epoch > 0:
                stop = True
        out.append((stop, best_epoch))
        if stop:
            break
    return out


def keras_plateau(values, lr, maximize, factor, patience, min_delta, cooldown, min_lr):
    """Keras 3 ReduceLROnPlateau.on_epoch_end over values; the rate after each epoch."""
    op = (lambda a, b: a > b + min_delta) if maximize else (lambda a, b: a < b - min_delta)
    best = -math.inf if maximize else math.inf
    wait, cooldown_counter, out = 0, 0, []
    for current in values:
        if cooldown_counter > 0:
            cooldown_counter -= 1
            wait = 0
        if op(current, best):
            best, wait = current, 0
        elif not cooldown_counter > 0:
            wait += 1
            if wait >= patience and lr > np.float32(min_lr):
                lr = max(lr * factor, min_lr)
                cooldown_counter, wait = cooldown, 0
        out.append(lr)
    return out


def torch_plateau(values, lr, **kwargs):
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    out = []
    for v in values:
        sched.step(v)
        out.append(opt.param_groups[0]["lr"])
    return out


def c_doubles(values):
    return ", ".join(repr(float(v)) for v in values)


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/controls_reference.h"
    sched = torch.optim.lr_scheduler
    schedules = []  # (source, config initializer, base, rates)

    def add(source, config, base, rates):
        schedules.append((source, config, base, rates))

    add("torch StepLR(step_size=3, gamma=0.5), lr 0.1", ".kind = BNMLP_SCHEDULE_STEP, .step_size = 3, .gamma = 0.5",
        0.1, torch_rates(lambda o: sched.StepLR(o, step_size=3, gamma=0.5), 0.1, 12))
    add("torch MultiStepLR(milestones=[2, 5, 9], gamma=0.3), lr 0.05",
        ".kind = BNMLP_SCHEDULE_MULTISTEP, .milestones = {2, 5, 9}, .milestone_count = 3, .gamma = 0.3", 0.05,
        torch_rates(lambda o: sched.MultiStepLR(o, milestones=[2, 5, 9], gamma=0.3), 0.05, 12))
    add("torch ExponentialLR(gamma=0.9), lr 0.01", ".kind = BNMLP_SCHEDULE_EXPONENTIAL_LR, .gamma = 0.9", 0.01,
        torch_rates(lambda o: sched.ExponentialLR(o, gamma=0.9), 0.01, 15))
    add("torch CosineAnnealingLR(T_max=7, eta_min=0.001), lr 0.1",
        ".kind = BNMLP_SCHEDULE_COSINE_ANNEALING, .t_max = 7, .eta_min = 0.001", 0.1,
        torch_rates(lambda o: sched.CosineAnnealingLR(o, T_max=7, eta_min=0.001), 0.1, 20))
    add("torch OneCycleLR(max_lr=0.2, total_steps=25)",
        ".kind = BNMLP_SCHEDULE_ONE_CYCLE, .max_lr = 0.2, .total_steps = 25, .pct_start = 0.3, "
        ".div_factor = 25.0, .final_div_factor = 1e4", 0.2,
        torch_rates(lambda o: sched.OneCycleLR(o, max_lr=0.2, total_steps=25, cycle_momentum=False), 0.2, 25))
    add("torch OneCycleLR(max_lr=1.0, total_steps=40, pct_start=0.25, div_factor=10, final_div_factor=100)",
        ".kind = BNMLP_SCHEDULE_ONE_CYCLE, .max_lr = 1.0, .total_steps = 40, .pct_start = 0.25, "
        ".div_factor = 10.0, .final_div_factor = 100.0", 1.0,
        torch_rates(lambda o: sched.OneCycleLR(o, max_lr=1.0, total_steps=40, pct_start=0.25, div_factor=10,
                                               final_div_factor=100, cycle_momentum=False), 1.0, 40))
    add("Keras ExponentialDecay(0.1, decay_steps=5, decay_rate=0.5)",
        ".kind = BNMLP_SCHEDULE_EXPONENTIAL, .decay_steps = 5, .decay_rate = 0.5", 0.1,
        [keras_exponential(0.1, 5, 0.5, False, t) for t in range(16)])
    add("Keras ExponentialDecay(0.1, decay_steps=5, decay_rate=0.5, staircase=True)",
        ".kind = BNMLP_SCHEDULE_EXPONENTIAL, .decay_steps = 5, .decay_rate = 0.5, .staircase = true", 0.1,
        [keras_exponential(0.1, 5, 0.5, True, t) for t in range(16)])
    add("Keras PiecewiseConstantDecay([3, 7], [0.1, 0.05, 0.01])",
        ".kind = BNMLP_SCHEDULE_PIECEWISE, .milestones = {3, 7}, .milestone_count = 2, "
        ".values = {0.1, 0.05, 0.01}", 1.0, [keras_piecewise([3, 7], [0.1, 0.05, 0.01], t) for t in range(11)])
    add("Keras CosineDecay(0.1, decay_steps=10, alpha=0.1)",
        ".kind = BNMLP_SCHEDULE_COSINE, .decay_steps = 10, .alpha = 0.1", 0.1,
        [keras_cosine(0.1, 10, 0.1, t) for t in range(15)])
    add("Keras CosineDecay(0.01, decay_steps=8, warmup_target=0.2, warmup_steps=4)",
        ".kind = BNMLP_SCHEDULE_COSINE, .decay_steps = 8, .warmup_steps = 4, .warmup_target = 0.2", 0.01,
        [keras_cosine(0.01, 8, 0.0, t, 0.2, 4) for t in range(16)])

    val_loss = [0.9, 0.7, 0.65, 0.66, 0.64, 0.649, 0.70, 0.62, 0.63, 0.64, 0.65, 0.66]
    val_acc = [0.5, 0.6, 0.6, 0.7, 0.69, 0.7, 0.71, 0.705, 0.70, 0.69]
    stopping = []  # (source, config, values, results)

    def add_stop(source, config, values, **kw):
        stopping.append((source, config, values, keras_early_stopping(values, **kw)))

    add_stop("patience 0 on val_loss", ".monitor = BNMLP_MONITOR_VAL_LOSS, .patience = 0", val_loss,
             maximize=False, min_delta=0.0, patience=0, baseline=None, start_from_epoch=0)
    add_stop("patience 2 on val_loss", ".monitor = BNMLP_MONITOR_VAL_LOSS, .patience = 2", val_loss,
             maximize=False, min_delta=0.0, patience=2, baseline=None, start_from_epoch=0)
    add_stop("patience 3, min_delta 0.02 on val_loss",
             ".monitor = BNMLP_MONITOR_VAL_LOSS, .patience = 3, .min_delta = 0.02", val_loss,
             maximize=False, min_delta=0.02, patience=3, baseline=None, start_from_epoch=0)
    add_stop("patience 2, baseline 0.6 on val_loss",
             ".monitor = BNMLP_MONITOR_VAL_LOSS, .patience = 2, .has_baseline = true, .baseline = 0.6", val_loss,
             maximize=False, min_delta=0.0, patience=2, baseline=0.6, start_from_epoch=0)
    add_stop("patience 1, start_from_epoch 3 on val_loss",
             ".monitor = BNMLP_MONITOR_VAL_LOSS, .patience = 1, .start_from_epoch = 3", val_loss,
             maximize=False, min_delta=0.0, patience=1, baseline=None, start_from_epoch=3)
    add_stop("patience 2 on val_accuracy (auto: max)", ".monitor = BNMLP_MONITOR_VAL_ACCURACY, .patience = 2",
             val_acc, maximize=True, min_delta=0.0, patience=2, baseline=None, start_from_epoch=0)
    add_stop("patience 1, mode min on val_accuracy",
             ".monitor = BNMLP_MONITOR_VAL_ACCURACY, .mode = BNMLP_DIRECTION_MIN, .patience = 1", val_acc,
             maximize=False, min_delta=0.0, patience=1, baseline=None, start_from_epoch=0)

    plateau_values = [1.0, 0.9, 0.9, 0.9, 0.89995, 0.9, 0.85, 0.85, 0.86, 0.87, 0.88, 0.84, 0.84, 0.84, 0.84,
                      0.84, 0.84, 0.84]
    plateaus = []  # (source, config, start rate, values, rates)
    plateaus.append(("Keras ReduceLROnPlateau(factor=0.5, patience=2)",
                     ".style = BNMLP_PLATEAU_KERAS, .factor = 0.5, .patience = 2, .threshold = 1e-4, .eps = 1e-8",
                     0.1, plateau_values,
                     keras_plateau(plateau_values, 0.1, False, 0.5, 2, 1e-4, 0, 0.0)))
    plateaus.append(("Keras ReduceLROnPlateau(factor=0.1, patience=1, cooldown=2, min_lr=0.0005)",
                     ".style = BNMLP_PLATEAU_KERAS, .factor = 0.1, .patience = 1, .threshold = 1e-4, "
                     ".cooldown = 2, .min_lr = 0.0005", 0.1, plateau_values,
                     keras_plateau(plateau_values, 0.1, False, 0.1, 1, 1e-4, 2, 0.0005)))
    plateaus.append(("torch ReduceLROnPlateau(factor=0.5, patience=2) (threshold 1e-4 rel)",
                     ".style = BNMLP_PLATEAU_PYTORCH, .mode = BNMLP_DIRECTION_MIN, .factor = 0.5, .patience = 2, "
                     ".threshold = 1e-4, .threshold_mode = BNMLP_THRESHOLD_REL, .eps = 1e-8", 0.1, plateau_values,
                     torch_plateau(plateau_values, 0.1, factor=0.5, patience=2)))
    plateaus.append(("torch ReduceLROnPlateau(factor=0.1, patience=1, cooldown=2, min_lr=0.0005, "
                     "threshold=0.01, threshold_mode='abs')",
                     ".style = BNMLP_PLATEAU_PYTORCH, .mode = BNMLP_DIRECTION_MIN, .factor = 0.1, .patience = 1, "
                     ".threshold = 0.01, .threshold_mode = BNMLP_THRESHOLD_ABS, .cooldown = 2, .min_lr = 0.0005, "
                     ".eps = 1e-8", 0.1, plateau_values,
                     torch_plateau(plateau_values, 0.1, factor=0.1, patience=1, cooldown=2, min_lr=0.0005,
                                   threshold=0.01, threshold_mode="abs")))
    plateaus.append(("torch ReduceLROnPlateau(mode='max', factor=0.5, patience=0, eps=0.01)",
                     ".style = BNMLP_PLATEAU_PYTORCH, .mode = BNMLP_DIRECTION_MAX, .factor = 0.5, .patience = 0, "
                     ".threshold = 1e-4, .threshold_mode = BNMLP_THRESHOLD_REL, .eps = 0.01", 0.1, plateau_values,
                     torch_plateau(plateau_values, 0.1, mode="max", factor=0.5, patience=0, eps=0.01)))

    lines = ["/* Generated by tools/gen_controls_fixtures.py with torch %s and numpy %s; do not edit. */"
             % (torch.__version__, np.__version__),
             "#ifndef BNMLP_CONTROLS_REFERENCE_H", "#define BNMLP_CONTROLS_REFERENCE_H", "",
             "#include <stddef.h>", "#include \"bnmlp.h\"", ""]
    lines.append("/* Learning-rate sequences: rates[t] for t = 0, 1, ... (base: the starting rate). */")
    lines.append("typedef struct schedule_fixture {\n    const char *source;\n    bnmlp_schedule_config config;\n"
                 "    double base;\n    size_t count;\n    const double *rates;\n} schedule_fixture;\n")
    for i, (_, _, _, rates) in enumerate(schedules):
        lines.append("static const double schedule_rates_%d[] = {%s};" % (i, c_doubles(rates)))
    lines.append("\nstatic const schedule_fixture schedule_fixtures[] = {")
    for i, (source, config, base, rates) in enumerate(schedules):
        lines.append('    {"%s", {%s}, %r, %d, schedule_rates_%d},' % (source, config, base, len(rates), i))
    lines.append("};\n")

    lines.append("/* Early stopping over scripted monitor values: stop[e] and best[e] (0-based best epoch) after\n"
                 " * epoch e; count epochs were run (the last one stopped, when stop[count - 1]). */")
    lines.append("typedef struct stopping_fixture {\n    const char *source;\n    bnmlp_early_stopping_config config;\n"
                 "    const double *values;\n    size_t count;\n    const int *stop;\n    const int *best;\n"
                 "} stopping_fixture;\n")
    for i, (_, _, values, results) in enumerate(stopping):
        lines.append("static const double stopping_values_%d[] = {%s};" % (i, c_doubles(values)))
        lines.append("static const int stopping_stop_%d[] = {%s};" % (i, ", ".join(str(int(s)) for s, _ in results)))
        lines.append("static const int stopping_best_%d[] = {%s};" % (i, ", ".join(str(b) for _, b in results)))
    lines.append("\nstatic const stopping_fixture stopping_fixtures[] = {")
    for i, (source, config, values, results) in enumerate(stopping):
        lines.append('    {"%s", {.enabled = true, %s}, stopping_values_%d, %d, stopping_stop_%d, stopping_best_%d},'
                     % (source, config, i, len(results), i, i))
    lines.append("};\n")

    lines.append("/* Reduce-LR-on-plateau over scripted monitor values: the rate after each epoch. */")
    lines.append("typedef struct plateau_fixture {\n    const char *source;\n    bnmlp_plateau_config config;\n"
                 "    double start;\n    size_t count;\n    const double *values;\n    const double *rates;\n"
                 "} plateau_fixture;\n")
    for i, (_, _, _, values, rates) in enumerate(plateaus):
        lines.append("static const double plateau_values_%d[] = {%s};" % (i, c_doubles(values)))
        lines.append("static const double plateau_rates_%d[] = {%s};" % (i, c_doubles(rates)))
    lines.append("\nstatic const plateau_fixture plateau_fixtures[] = {")
    for i, (source, config, start, values, _) in enumerate(plateaus):
        lines.append('    {"%s", {.enabled = true, .monitor = BNMLP_MONITOR_VAL_LOSS, %s}, %r, %d, plateau_values_%d, '
                     'plateau_rates_%d},' % (source, config, start, len(values), i, i))
    lines.append("};\n")
    lines.append("#endif /* BNMLP_CONTROLS_REFERENCE_H */")
    with open(out_path, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
