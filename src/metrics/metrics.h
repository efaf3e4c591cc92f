/*
 * metrics.h - internal: the metric table. Each metric kind is one row (its names, the tasks it
 * applies to, what it accumulates beyond the task's own counts, how it finishes); each task
 * (binary, multiclass, regression) is one row too (how it checks a chunk and how it adds one).
 * The metrics tier sits beside src/optim, below src/train, and calls only src/core.
 * Not part of the public API.
 */
#ifndef BNMLP_METRICS_H
#define BNMLP_METRICS_H

#include "core/core.h"

/* What an accumulator keeps beyond its task's own counts (bits of bnmlp_metric_row.keeps). */
enum {
    BNMLP_METRIC_KEEPS_THRESHOLDS = 1, /* per-threshold bucket counts of positives and negatives
                                          (Keras's AUC: num_thresholds of each) */
    BNMLP_METRIC_KEEPS_SCORES = 2,     /* a copy of every (score, label) pair (exact ROC AUC:
                                          max_rows * outputs of them) */
    BNMLP_METRIC_KEEPS_TOP_K = 4,      /* the number of rows whose target is in the top k */
    BNMLP_METRIC_KEEPS_MOMENTS = 8     /* reads the targets' running moments (Welford's mean and
                                          M2 per column, which every regression accumulator
                                          keeps): they do not combine by summing */
};

/* The keeps bits whose state does not combine over ranks by summing (the exact AUC's scores, the
 * running moments): an accumulator of such a kind has no summable state. */
#define BNMLP_METRIC_KEEPS_UNSUMMABLE (BNMLP_METRIC_KEEPS_SCORES | BNMLP_METRIC_KEEPS_MOMENTS)

/* One metric kind. */
typedef struct bnmlp_metric_row {
    bnmlp_metric kind;      /* the row's kind: rows are in enum order */
    const char *name;       /* canonical name (Keras's where Keras has the metric) */
    const char *alias;      /* a second accepted name, or NULL */
    unsigned tasks;         /* bit (1u << task) for each task it applies to */
    unsigned keeps;         /* BNMLP_METRIC_KEEPS_* bits */
    bool greater_is_better; /* a score (true) or an error (false) */
    /* The value from the accumulated state (rows > 0); NULL when the metric is not a scalar. */
    double (*finish)(bnmlp_metric_accumulator *accumulator);
    const char *description; /* one English sentence */
} bnmlp_metric_row;

/* The row of kind, or NULL for a value outside the table. */
const bnmlp_metric_row *bnmlp_metric_row_of(bnmlp_metric kind);

/* True when accumulators of kind combine over ranks by summing their states (a kind in the
 * table whose keeps has no BNMLP_METRIC_KEEPS_UNSUMMABLE bit). */
bool bnmlp_metric_is_summable(bnmlp_metric kind);

/* The summable state of an accumulator of a summable kind, as doubles (every count is exact
 * there: an accumulator holds at most 2^53 values): its rows, top-k hits, sums of errors,
 * confusion counts, threshold buckets and per-column squared residuals. Summing the states of
 * accumulators fed disjoint rows, element by element, gives the state of one accumulator fed all
 * of them (its sums added in another order). */
size_t bnmlp_metric_state_size(const bnmlp_metric_accumulator *accumulator);

/* Copies the summable state into state (bnmlp_metric_state_size doubles). */
void bnmlp_metric_state_get(const bnmlp_metric_accumulator *accumulator, double *state);

/* Replaces the summable state by state (bnmlp_metric_state_size doubles, counts that are
 * integers in range, as a sum of bnmlp_metric_state_get's gives). */
void bnmlp_metric_state_set(bnmlp_metric_accumulator *accumulator, const double *state);

#endif /* BNMLP_METRICS_H */
