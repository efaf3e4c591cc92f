/*
 * experiment.h - running every (variant, seed) pair of the study on a pool of POSIX threads.
 *
 * Each run has its own model and seed and writes only its own slot, so the results are
 * bit-identical whatever the number of threads.
 */
#ifndef CIRCLES_EXPERIMENT_H
#define CIRCLES_EXPERIMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bnmlp.h"
#include "variant.h"

/* What every run shares; read-only while the runs execute. */
typedef struct experiment_setup {
    const bnmlp_tensor *train_x;     /* training inputs, n_train x features */
    const bnmlp_tensor *train_y;     /* training labels, n_train x 1 */
    const bnmlp_tensor *test_x;      /* test inputs (validation after every epoch), n_test x features */
    const bnmlp_tensor *test_y;      /* test labels, n_test x 1 */
    variant variants[VARIANT_COUNT]; /* the variants to run, in order */
    size_t variant_count;            /* entries of variants used */
    size_t repeats;                  /* runs per variant */
    uint32_t seed;                   /* run r uses seed + r (modulo 2^32) */
    size_t epochs;                   /* epochs per run */
    size_t batch_size;               /* rows per SGD step */
    bnmlp_sgd_config optimizer;      /* SGD settings */
    float bn_momentum;               /* batch-norm momentum (momentum0 overrides it with 0) */
    bnmlp_moving_average bn_average; /* how the moving statistics average the batches */
    const char *save_dir;            /* when not NULL: the last run of each variant saves its model
                                    to save_dir/<variant>.bnmlp */
} experiment_setup;

/* The outcome of one run. */
typedef struct run_result {
    bnmlp_epoch_record *history; /* setup.epochs records; the first epochs_run are filled */
    size_t epochs_run;           /* epochs completed (fewer than asked only if training diverged) */
    double train_accuracy;       /* bnmlp_model_evaluate on the training half, inference mode */
    double test_accuracy;        /* bnmlp_model_evaluate on the test half, inference mode */
    double seconds;              /* wall time of the run: build, fit and both evaluations */
    bnmlp_status status;         /* BNMLP_OK; BNMLP_ERR_DIVERGED (the run still counts); or a failure */
} run_result;

/* The outcomes of every run, in a fixed order. */
typedef struct experiment_results {
    run_result *runs;            /* variant_count * repeats; run r of variant index v at v * repeats + r */
    bnmlp_epoch_record *records; /* the arena behind every run's history */
    size_t variant_count;        /* as in the setup */
    size_t repeats;              /* as in the setup */
    size_t epochs;               /* as in the setup */
} experiment_results;

/* Runs every run of the setup on `jobs` threads (the calling thread is one of them) into
 * *results (free with experiment_results_free, also after a failure). Returns BNMLP_OK, or the
 * first failure in run order (a diverged run is not a failure); experiment_find_failure says which. */
bnmlp_status experiment_run(const experiment_setup *setup, size_t jobs, experiment_results *results);

/* The result of run r of variant index v. */
const run_result *experiment_result(const experiment_results *results, size_t v, size_t r);

/* Finds the first failed run (status neither OK nor diverged) in run order; false if none. */
bool experiment_find_failure(const experiment_results *results, size_t *variant_index, size_t *run);

/* Frees the results' memory and zeroes the struct. */
void experiment_results_free(experiment_results *results);

/* Seconds on the monotonic clock (CLOCK_MONOTONIC), for measuring durations. */
double monotonic_seconds(void);

#endif /* CIRCLES_EXPERIMENT_H */
