/*
 * stats.c - means, sample standard deviations and medians over runs, and learning curves.
 */
#include "stats.h"

#include <math.h>
#include <stdlib.h>

double stats_mean(const double *values, size_t count) {
    if (count == 0) {
        return NAN;
    }
    double sum = 0.0;
    for (size_t i = 0; i < count; i++) {
        sum += values[i];
    }
    return sum / (double)count;
}

double stats_sample_sd(const double *values, size_t count) {
    if (count < 2) {
        return NAN;
    }
    double mean = stats_mean(values, count);
    double squares = 0.0;
    for (size_t i = 0; i < count; i++) {
        squares += (values[i] - mean) * (values[i] - mean);
    }
    return sqrt(squares / (double)(count - 1));
}

/* qsort comparison of two doubles, ascending. */
static int compare_doubles(const void *left, const void *right) {
    double a = *(const double *)left;
    double b = *(const double *)right;
    return (a > b) - (a < b);
}

double stats_median(double *values, size_t count) {
    if (count == 0) {
        return NAN;
    }
    qsort(values, count, sizeof *values, compare_doubles);
    if (count % 2 == 1) {
        return values[count / 2];
    }
    return 0.5 * (values[count / 2 - 1] + values[count / 2]);
}

size_t first_epoch_reaching_target(const run_result *run) {
    for (size_t e = 0; e < run->epochs_run; e++) {
        if (run->history[e].val_accuracy >= TARGET_TEST_ACCURACY - TARGET_TOLERANCE) {
            return e + 1;
        }
    }
    return 0;
}

/* Fills the summary's epochs-to-target fields and diverged count from the runs of variant v. */
static void summarize_target(const experiment_results *results, size_t v, variant_summary *out) {
    double epoch_sum = 0.0;
    size_t reaching = 0;
    out->runs_diverged = 0;
    for (size_t r = 0; r < results->repeats; r++) {
        const run_result *run = experiment_result(results, v, r);
        size_t epoch = first_epoch_reaching_target(run);
        epoch_sum += (double)epoch;
        reaching += epoch != 0;
        out->runs_diverged += run->status == BNMLP_ERR_DIVERGED;
    }
    out->runs_missing_target = results->repeats - reaching;
    out->epochs_to_target_mean = reaching == 0 ? NAN : epoch_sum / (double)reaching;
}

bool summarize_variant(const experiment_results *results, size_t v, variant_summary *out) {
    size_t runs = results->repeats;
    double *values = malloc(runs * sizeof *values);
    if (values == NULL) {
        return false;
    }
    out->runs = runs;
    for (size_t r = 0; r < runs; r++) {
        values[r] = experiment_result(results, v, r)->train_accuracy;
    }
    out->train_accuracy_mean = stats_mean(values, runs);
    out->train_accuracy_sd = stats_sample_sd(values, runs);
    for (size_t r = 0; r < runs; r++) {
        values[r] = experiment_result(results, v, r)->test_accuracy;
    }
    out->test_accuracy_mean = stats_mean(values, runs);
    out->test_accuracy_sd = stats_sample_sd(values, runs);
    for (size_t r = 0; r < runs; r++) {
        values[r] = experiment_result(results, v, r)->seconds;
    }
    out->seconds_median = stats_median(values, runs);
    summarize_target(results, v, out);
    free(values);
    return true;
}

/* Mean and sample sd at epoch index e over the runs of variant v that reached it; test selects
 * validation accuracy, otherwise training accuracy. values has room for repeats doubles. */
static void epoch_statistics(const experiment_results *results, size_t v, size_t e, bool test, double *values,
                             double *mean, double *sd) {
    size_t count = 0;
    for (size_t r = 0; r < results->repeats; r++) {
        const run_result *run = experiment_result(results, v, r);
        if (e < run->epochs_run) {
            values[count++] = test ? run->history[e].val_accuracy : run->history[e].accuracy;
        }
    }
    *mean = stats_mean(values, count);
    *sd = stats_sample_sd(values, count);
}

/* Allocates the curves' five arrays of `epochs` doubles; false when memory runs out. */
static bool allocate_curves(accuracy_curves *curves, size_t epochs) {
    *curves = (accuracy_curves){.epochs = epochs};
    curves->epoch = malloc(epochs * sizeof(double));
    curves->train_mean = malloc(epochs * sizeof(double));
    curves->train_sd = malloc(epochs * sizeof(double));
    curves->test_mean = malloc(epochs * sizeof(double));
    curves->test_sd = malloc(epochs * sizeof(double));
    return curves->epoch != NULL && curves->train_mean != NULL && curves->train_sd != NULL &&
           curves->test_mean != NULL && curves->test_sd != NULL;
}

bool accuracy_curves_compute(const experiment_results *results, size_t v, accuracy_curves *out) {
    *out = (accuracy_curves){0};
    double *values = malloc(results->repeats * sizeof *values);
    if (values == NULL || !allocate_curves(out, results->epochs)) {
        free(values);
        accuracy_curves_free(out);
        return false;
    }
    for (size_t e = 0; e < results->epochs; e++) {
        out->epoch[e] = (double)(e + 1);
        epoch_statistics(results, v, e, false, values, &out->train_mean[e], &out->train_sd[e]);
        epoch_statistics(results, v, e, true, values, &out->test_mean[e], &out->test_sd[e]);
    }
    free(values);
    return true;
}

void accuracy_curves_free(accuracy_curves *curves) {
    free(curves->epoch);
    free(curves->train_mean);
    free(curves->train_sd);
    free(curves->test_mean);
    free(curves->test_sd);
    *curves = (accuracy_curves){0};
}
