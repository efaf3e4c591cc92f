/* schedule.c - learning-rate schedules as a table of rows: each a name, whether its t counts
 * optimizer steps (Keras's schedules) or epochs (PyTorch's schedulers), a range check and lr(t).
 * The only file that walks the list. Rates are computed in double from closed forms; PyTorch's
 * schedulers multiply recursively, which agrees to rounding (tests/test_controls.c holds both to
 * the committed fixtures). */
#include "optim/optim.h"

#include <math.h>
#include <string.h>

static const double pi = 3.14159265358979323846;

static bool positive(double value) { return value > 0.0 && isfinite(value); }

/* ---- constant ------------------------------------------------------------------------------------ */

static bool constant_valid(const bnmlp_schedule_config *c) {
    (void)c;
    return true;
}

static double constant_rate(const bnmlp_schedule_config *c, double base, uint64_t t) {
    (void)c;
    (void)t;
    return base;
}

/* ---- Keras ExponentialDecay: base * rate^(t / decay_steps), floored with staircase --------------- */

static bool exponential_valid(const bnmlp_schedule_config *c) {
    return c->decay_steps > 0 && positive(c->decay_rate);
}

static double exponential_rate(const bnmlp_schedule_config *c, double base, uint64_t t) {
    double p = (double)t / (double)c->decay_steps;
    if (c->staircase) p = floor(p);
    return base * pow(c->decay_rate, p);
}

/* ---- Keras PiecewiseConstantDecay: values[i] while t <= milestones[i] --------------------------- */

static bool increasing_milestones(const bnmlp_schedule_config *c) {
    if (c->milestone_count > BNMLP_SCHEDULE_MAX_MILESTONES) return false;
    for (size_t i = 1; i < c->milestone_count; i++)
        if (c->milestones[i] <= c->milestones[i - 1]) return false;
    return true;
}

static bool piecewise_valid(const bnmlp_schedule_config *c) {
    if (c->milestone_count == 0 || !increasing_milestones(c)) return false;
    for (size_t i = 0; i <= c->milestone_count; i++)
        if (!positive(c->values[i])) return false;
    return true;
}

static double piecewise_rate(const bnmlp_schedule_config *c, double base, uint64_t t) {
    (void)base;
    size_t i = 0;
    while (i < c->milestone_count && t > c->milestones[i]) i++;
    return c->values[i];
}

/* ---- Keras CosineDecay with optional linear warmup ---------------------------------------------- */

static bool cosine_valid(const bnmlp_schedule_config *c) {
    return c->decay_steps > 0 && c->alpha >= 0.0 && c->alpha <= 1.0 &&
           (c->warmup_steps == 0 || positive(c->warmup_target));
}

/* from * ((1 - alpha) * (1 + cos(pi * step / decay_steps)) / 2 + alpha), step <= decay_steps. */
static double cosine_decay(const bnmlp_schedule_config *c, double from, double step) {
    const double cosine = 0.5 * (1.0 + cos(pi * (step / (double)c->decay_steps)));
    return from * ((1.0 - c->alpha) * cosine + c->alpha);
}

static double cosine_rate(const bnmlp_schedule_config *c, double base, uint64_t t) {
    if (c->warmup_steps == 0) return cosine_decay(c, base, fmin((double)t, (double)c->decay_steps));
    const double step = fmin((double)t, (double)c->decay_steps + (double)c->warmup_steps);
    if (step < (double)c->warmup_steps) /* the line from base to warmup_target */
        return (c->warmup_target - base) * (step / (double)c->warmup_steps) + base;
    return cosine_decay(c, c->warmup_target, step - (double)c->warmup_steps);
}

/* ---- PyTorch StepLR, MultiStepLR, ExponentialLR --------------------------------------------------- */

static bool step_valid(const bnmlp_schedule_config *c) { return c->step_size > 0 && positive(c->gamma); }

static double step_rate(const bnmlp_schedule_config *c, double base, uint64_t t) {
    return base * pow(c->gamma, (double)(t / c->step_size));
}

static bool multistep_valid(const bnmlp_schedule_config *c) {
    return increasing_milestones(c) && positive(c->gamma);
}

static double multistep_rate(const bnmlp_schedule_config *c, double base, uint64_t t) {
    size_t passed = 0;
    while (passed < c->milestone_count && c->milestones[passed] <= t) passed++;
    return base * pow(c->gamma, (double)passed);
}

static bool exponential_lr_valid(const bnmlp_schedule_config *c) { return positive(c->gamma); }

static double exponential_lr_rate(const bnmlp_schedule_config *c, double base, uint64_t t) {
    return base * pow(c->gamma, (double)t);
}

/* ---- PyTorch CosineAnnealingLR (closed form) ---------------------------------------------------- */

static bool cosine_annealing_valid(const bnmlp_schedule_config *c) {
    return c->t_max > 0 && c->eta_min >= 0.0 && isfinite(c->eta_min);
}

static double cosine_annealing_rate(const bnmlp_schedule_config *c, double base, uint64_t t) {
    return c->eta_min + (base - c->eta_min) * (1.0 + cos(pi * (double)t / (double)c->t_max)) / 2.0;
}

/* ---- PyTorch OneCycleLR, two phases, cosine annealing ------------------------------------------- */

static bool one_cycle_valid(const bnmlp_schedule_config *c) {
    return positive(c->max_lr) && c->total_steps > 1 && c->pct_start > 0.0 && c->pct_start < 1.0 &&
           c->pct_start * (double)c->total_steps > 1.0 && positive(c->div_factor) &&
           positive(c->final_div_factor);
}

/* PyTorch's _annealing_cos: from start (pct 0) to end (pct 1). */
static double annealing_cos(double start, double end, double pct) {
    return end + (start - end) / 2.0 * (cos(pi * pct) + 1.0);
}

static double one_cycle_rate(const bnmlp_schedule_config *c, double base, uint64_t t) {
    (void)base;
    const double initial = c->max_lr / c->div_factor, final = initial / c->final_div_factor;
    const double rise_end = c->pct_start * (double)c->total_steps - 1.0, end = (double)c->total_steps - 1.0;
    const double step = fmin((double)t, end);
    if (step <= rise_end) return annealing_cos(initial, c->max_lr, step / rise_end);
    return annealing_cos(c->max_lr, final, (step - rise_end) / (end - rise_end));
}

/* ---- the table ---------------------------------------------------------------------------------- */

static const bnmlp_schedule_row schedules[] = {
    {BNMLP_SCHEDULE_CONSTANT, "constant", true, constant_valid, constant_rate},
    {BNMLP_SCHEDULE_EXPONENTIAL, "exponential", true, exponential_valid, exponential_rate},
    {BNMLP_SCHEDULE_PIECEWISE, "piecewise", true, piecewise_valid, piecewise_rate},
    {BNMLP_SCHEDULE_COSINE, "cosine", true, cosine_valid, cosine_rate},
    {BNMLP_SCHEDULE_STEP, "step", false, step_valid, step_rate},
    {BNMLP_SCHEDULE_MULTISTEP, "multistep", false, multistep_valid, multistep_rate},
    {BNMLP_SCHEDULE_EXPONENTIAL_LR, "exponential_lr", false, exponential_lr_valid, exponential_lr_rate},
    {BNMLP_SCHEDULE_COSINE_ANNEALING, "cosine_annealing", false, cosine_annealing_valid,
     cosine_annealing_rate},
    {BNMLP_SCHEDULE_ONE_CYCLE, "one_cycle", false, one_cycle_valid, one_cycle_rate},
};

#define SCHEDULE_COUNT (sizeof schedules / sizeof schedules[0])

const bnmlp_schedule_row *bnmlp_schedule_row_of(bnmlp_schedule_kind kind) {
    const size_t index = (size_t)kind;
    return index < SCHEDULE_COUNT ? &schedules[index] : NULL;
}

size_t bnmlp_schedule_count(void) { return SCHEDULE_COUNT; }

const char *bnmlp_schedule_name(bnmlp_schedule_kind kind) {
    const bnmlp_schedule_row *row = bnmlp_schedule_row_of(kind);
    return row ? row->name : "unknown";
}

bnmlp_status bnmlp_schedule_from_name(const char *name, bnmlp_schedule_kind *kind) {
    if (!name || !kind) return BNMLP_ERR_NULL_ARGUMENT;
    for (size_t i = 0; i < SCHEDULE_COUNT; i++)
        if (strcmp(schedules[i].name, name) == 0) {
            *kind = schedules[i].kind;
            return BNMLP_OK;
        }
    return BNMLP_ERR_INVALID_ARGUMENT;
}

bool bnmlp_schedule_counts_steps(bnmlp_schedule_kind kind) {
    const bnmlp_schedule_row *row = bnmlp_schedule_row_of(kind);
    return row && row->per_step;
}

bool bnmlp_schedule_per_step(const bnmlp_schedule_config *config) {
    if (config->unit == BNMLP_SCHEDULE_UNIT_STEP) return true;
    if (config->unit == BNMLP_SCHEDULE_UNIT_EPOCH) return false;
    return bnmlp_schedule_counts_steps(config->kind);
}

bnmlp_status bnmlp_schedule_check(const bnmlp_schedule_config *config) {
    if (!config) return BNMLP_ERR_NULL_ARGUMENT;
    const bnmlp_schedule_row *row = bnmlp_schedule_row_of(config->kind);
    if (!row || (size_t)config->unit > (size_t)BNMLP_SCHEDULE_UNIT_EPOCH) return BNMLP_ERR_INVALID_ARGUMENT;
    if (config->initial_learning_rate != 0.0 && !positive(config->initial_learning_rate))
        return BNMLP_ERR_INVALID_ARGUMENT;
    return row->valid(config) ? BNMLP_OK : BNMLP_ERR_INVALID_ARGUMENT;
}

bnmlp_status bnmlp_schedule_value(const bnmlp_schedule_config *config, double base, uint64_t t,
                                  double *learning_rate) {
    if (!config || !learning_rate) return BNMLP_ERR_NULL_ARGUMENT;
    bnmlp_status status = bnmlp_schedule_check(config);
    if (status != BNMLP_OK) return status;
    if (config->initial_learning_rate > 0.0) base = config->initial_learning_rate;
    if (!positive(base)) return BNMLP_ERR_INVALID_ARGUMENT;
    *learning_rate = bnmlp_schedule_row_of(config->kind)->rate(config, base, t);
    return BNMLP_OK;
}
