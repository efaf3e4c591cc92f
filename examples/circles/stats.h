/*
 * stats.h - statistics over the runs of a variant: accuracy means and standard deviations, the
 * first epoch reaching the target test accuracy, median run time, per-epoch learning curves.
 */
#ifndef CIRCLES_STATS_H
#define CIRCLES_STATS_H

#include <stdbool.h>
#include <stddef.h>

#include "experiment.h"

/* The test accuracy whose first epoch is reported. */
#define TARGET_TEST_ACCURACY 0.80

/* Slack of the ">= target" test: accuracies averaged over chunks can land an ulp below an exact
 * count (399.99999999999994 / 500); real accuracies differ by at least 1 / n_test, far more. */
#define TARGET_TOLERANCE 1e-9

/* Mean of values[0..count); NaN when count is 0. */
double stats_mean(const double *values, size_t count);

/* Sample standard deviation (divisor count - 1) of values[0..count); NaN when count < 2. */
double stats_sample_sd(const double *values, size_t count);

/* Median of values[0..count) (sorts them in place); NaN when count is 0. */
double stats_median(double *values, size_t count);

/* The 1-based first epoch whose validation accuracy is >= TARGET_TEST_ACCURACY (within
 * TARGET_TOLERANCE), or 0 if none. */
size_t first_epoch_reaching_target(const run_result *run);

/* One line of the summary: a variant over its runs. */
typedef struct variant_summary {
    size_t runs;                /* number of runs */
    double train_accuracy_mean; /* mean of the runs' final training accuracy (inference mode) */
    double train_accuracy_sd;   /* its sample standard deviation (NaN for one run) */
    double test_accuracy_mean;  /* mean of the runs' final test accuracy */
    double test_accuracy_sd;    /* its sample standard deviation (NaN for one run) */
    double
        epochs_to_target_mean; /* mean first epoch reaching the target over the runs that do; NaN if none do */
    size_t runs_missing_target; /* runs that never reach the target */
    double seconds_median;      /* median wall seconds per run */
    size_t runs_diverged;       /* runs whose training diverged (their epochs stop early) */
} variant_summary;

/* Summarizes variant index v of the results; false when memory runs out. */
bool summarize_variant(const experiment_results *results, size_t v, variant_summary *out);

/* Per-epoch mean and sample standard deviation over the runs of one variant. Epoch e (1-based)
 * is at index e - 1; a run that stopped early (diverged) counts only for the epochs it ran. */
typedef struct accuracy_curves {
    size_t epochs;      /* points per curve */
    double *epoch;      /* 1, 2, ..., epochs (the x values) */
    double *train_mean; /* training accuracy as fit reports it (training mode, mean over batches) */
    double *train_sd;   /* its sample standard deviation over runs (NaN for fewer than two) */
    double *test_mean;  /* validation (test) accuracy after the epoch, inference mode */
    double *test_sd;    /* its sample standard deviation over runs */
} accuracy_curves;

/* Computes the curves of variant index v into *out (free with accuracy_curves_free); false when
 * memory runs out. */
bool accuracy_curves_compute(const experiment_results *results, size_t v, accuracy_curves *out);

/* Frees the curves' arrays and zeroes the struct. */
void accuracy_curves_free(accuracy_curves *curves);

#endif /* CIRCLES_STATS_H */
