/*
 * main.c - the circles example: the tutorial "How to Accelerate Learning of Deep Neural Networks
 * With Batch Normalization" reproduced with libbnmlp, over many seeds.
 *
 * Default run: make_circles(1000, noise 0.1, random_state 1), first half trains, second half
 * tests; variants none, after and before with 30 seeds each; a table on stdout, and
 * summary.csv, history.csv and SVG plots in ./circles-out. See --help.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "bnmlp.h"
#include "cli.h"
#include "data.h"
#include "experiment.h"
#include "outfile.h"
#include "plots.h"
#include "report.h"
#include "stats.h"
#include "variant.h"

/* Longest output path accepted. */
#define PATH_SIZE 4096

/* Everything a study owns, freed by study_free. */
typedef struct study {
    bnmlp_dataset train;                      /* first half of the rows */
    bnmlp_dataset test;                       /* the rest */
    bnmlp_tensor *train_x;                    /* train inputs */
    bnmlp_tensor *train_y;                    /* train labels */
    bnmlp_tensor *test_x;                     /* test inputs */
    bnmlp_tensor *test_y;                     /* test labels */
    experiment_setup setup;                   /* what every run shares */
    experiment_results results;               /* every run's outcome */
    variant_summary summaries[VARIANT_COUNT]; /* per variant index, in setup order */
    accuracy_curves curves[VARIANT_COUNT];    /* per variant index, in setup order */
    char subtitle[160];                       /* the plots' subtitle */
} study;

/* Flushes stdout; 0, or 1 (reported) when standard output could not be written. */
static int finish_stdout(void) {
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "circles: cannot write standard output: %s\n", strerror(errno != 0 ? errno : EIO));
        return 1;
    }
    return 0;
}

/* Creates directory path unless it exists (one level); false (reported) on failure. */
static bool ensure_directory(const char *path) {
    errno = 0;
    if (mkdir(path, 0777) == 0) {
        return true;
    }
    int error = errno;
    struct stat info;
    if (error == EEXIST && stat(path, &info) == 0) {
        if (S_ISDIR(info.st_mode)) {
            return true;
        }
        error = ENOTDIR;
    }
    fprintf(stderr, "circles: cannot create directory %s: %s\n", path, strerror(error));
    return false;
}

/* Writes dir/name into path (PATH_SIZE bytes); false (reported) when it does not fit. */
static bool join_path(char *path, const char *dir, const char *name) {
    int length = snprintf(path, PATH_SIZE, "%s/%s", dir, name);
    if (length < 0 || length >= PATH_SIZE) {
        fprintf(stderr, "circles: cannot write %s/%s: %s\n", dir, name, strerror(ENAMETOOLONG));
        return false;
    }
    return true;
}

/* Says on stdout that path was written, unless --quiet. */
static void report_written(const options *opts, const char *path) {
    if (!opts->quiet) {
        printf("wrote %s\n", path);
    }
}

/* --dump-data and --plot-data: writes the requested files; 0, or 1 when one fails. */
static int write_data_files(const options *opts, const bnmlp_dataset *dataset) {
    if (opts->dump_data_path != NULL) {
        if (!dataset_write_csv(dataset, opts->dump_data_path)) {
            return 1;
        }
        report_written(opts, opts->dump_data_path);
    }
    if (opts->plot_data_path != NULL) {
        char description[160];
        dataset_describe(&opts->data, description, sizeof description);
        if (!plot_dataset(opts->plot_data_path, dataset, dataset_kind_name(opts->data.kind), description)) {
            return 1;
        }
        report_written(opts, opts->plot_data_path);
    }
    return 0;
}

/* Splits the data set in halves and makes the four tensors; false (reported) on failure. */
static bool prepare_tensors(study *s, const bnmlp_dataset *dataset) {
    bnmlp_status status = bnmlp_dataset_split(dataset, dataset->n_samples / 2, &s->train, &s->test);
    if (status == BNMLP_OK) {
        status = bnmlp_dataset_to_tensors(&s->train, &s->train_x, &s->train_y);
    }
    if (status == BNMLP_OK) {
        status = bnmlp_dataset_to_tensors(&s->test, &s->test_x, &s->test_y);
    }
    if (status != BNMLP_OK) {
        fprintf(stderr, "circles: cannot prepare the data: %s\n", bnmlp_status_string(status));
        return false;
    }
    return true;
}

/* Fills the experiment setup from the options and the tensors. */
static void fill_setup(study *s, const options *opts) {
    experiment_setup *setup = &s->setup;
    *setup = (experiment_setup){.train_x = s->train_x,
                                .train_y = s->train_y,
                                .test_x = s->test_x,
                                .test_y = s->test_y,
                                .repeats = opts->repeats,
                                .seed = opts->seed,
                                .epochs = opts->epochs,
                                .batch_size = opts->batch_size,
                                .bn_momentum = opts->bn_momentum,
                                .bn_average = opts->bn_average,
                                .save_dir = opts->save_model_dir};
    setup->optimizer = BNMLP_SGD_DEFAULT;
    setup->optimizer.learning_rate = opts->learning_rate;
    setup->optimizer.momentum = opts->momentum;
    for (int v = 0; v < VARIANT_COUNT; v++) {
        if (opts->variants & (1u << v)) {
            setup->variants[setup->variant_count++] = (variant)v;
        }
    }
}

/* Runs every run; false (reported, with the first failed run) on failure. */
static bool run_experiment(study *s, size_t jobs) {
    bnmlp_status status = experiment_run(&s->setup, jobs, &s->results);
    if (status == BNMLP_OK) {
        return true;
    }
    size_t v = 0, r = 0;
    if (experiment_find_failure(&s->results, &v, &r)) {
        fprintf(stderr, "circles: run %zu of variant %s (seed %lu) failed: %s\n", r,
                variant_name(s->setup.variants[v]), (unsigned long)(uint32_t)(s->setup.seed + (uint32_t)r),
                bnmlp_status_string(status));
    } else {
        fprintf(stderr, "circles: cannot run the experiment: %s\n", bnmlp_status_string(status));
    }
    return false;
}

/* Computes every variant's summary and curves; false (reported) when memory runs out. */
static bool summarize(study *s) {
    for (size_t v = 0; v < s->setup.variant_count; v++) {
        if (!summarize_variant(&s->results, v, &s->summaries[v]) ||
            !accuracy_curves_compute(&s->results, v, &s->curves[v])) {
            fprintf(stderr, "circles: out of memory while summarizing\n");
            return false;
        }
    }
    return true;
}

/* Writes every variant's curves-<name>.svg into dir; false (reported) on failure. */
static bool write_curve_plots(const study *s, const char *dir) {
    char path[PATH_SIZE], name[64];
    for (size_t v = 0; v < s->setup.variant_count; v++) {
        snprintf(name, sizeof name, "curves-%s.svg", variant_name(s->setup.variants[v]));
        if (!join_path(path, dir, name) ||
            !plot_variant_curves(path, s->setup.variants[v], &s->curves[v], s->subtitle)) {
            return false;
        }
    }
    return true;
}

/* Writes the plots' subtitle: what the means and bands are taken over. */
static void format_subtitle(study *s, const options *opts) {
    uint32_t last_seed = opts->seed + (uint32_t)(opts->repeats - 1);
    snprintf(s->subtitle, sizeof s->subtitle,
             "Mean \xC2\xB1 1 sd over %zu run(s), seeds %lu..%lu; %zu train / %zu test rows", opts->repeats,
             (unsigned long)opts->seed, (unsigned long)last_seed, s->train.n_samples, s->test.n_samples);
}

/* Writes summary.csv, history.csv and the SVG plots into --out-dir; false (reported) on failure. */
static bool write_outputs(const study *s, const options *opts, const bnmlp_dataset *dataset) {
    const char *dir = opts->out_dir;
    const variant *variants = s->setup.variants;
    size_t count = s->setup.variant_count;
    char path[PATH_SIZE], description[160];
    dataset_describe(&opts->data, description, sizeof description);
    return join_path(path, dir, "summary.csv") && write_summary_csv(path, variants, s->summaries, count) &&
           join_path(path, dir, "history.csv") && write_history_csv(path, &s->setup, &s->results) &&
           join_path(path, dir, "dataset.svg") &&
           plot_dataset(path, dataset, dataset_kind_name(opts->data.kind), description) &&
           write_curve_plots(s, dir) && join_path(path, dir, "test-accuracy.svg") &&
           plot_test_overlay(path, variants, s->curves, count, s->subtitle);
}

/* Prints what is being run: data, model, training and runs. */
static void print_preamble(const study *s, const options *opts) {
    char description[160];
    dataset_describe(&opts->data, description, sizeof description);
    printf("data:     %s; first %zu rows train, last %zu test\n", description, s->train.n_samples,
           s->test.n_samples);
    printf(
        "model:    Dense(%d, relu, he_uniform) -> [batch norm] -> Dense(1, sigmoid, glorot_uniform), BCE\n",
        VARIANT_HIDDEN_UNITS);
    static const char *const averages[] = {[BNMLP_AVERAGE_EXPONENTIAL] = "exponential",
                                           [BNMLP_AVERAGE_DEBIASED] = "debiased",
                                           [BNMLP_AVERAGE_CUMULATIVE] = "cumulative"};
    printf("training: SGD(lr=%g, momentum=%g), batch %zu, %zu epochs, test accuracy after every epoch;"
           " batch-norm momentum %g, %s average\n",
           (double)opts->learning_rate, (double)opts->momentum, opts->batch_size, opts->epochs,
           (double)opts->bn_momentum, averages[opts->bn_average]);
    printf("runs:     %zu per variant, run r uses seed %lu + r; %zu thread(s)\n\n", opts->repeats,
           (unsigned long)opts->seed, opts->jobs);
}

/* Prints the table and the timing at its end. */
static void print_results(const study *s, const options *opts, double training_seconds,
                          double total_seconds) {
    print_preamble(s, opts);
    print_summary_table(stdout, s->setup.variants, s->summaries, s->setup.variant_count);
    printf(
        "\nfiles:    %s/{summary.csv, history.csv, dataset.svg, test-accuracy.svg, curves-<variant>.svg}\n",
        opts->out_dir);
    printf("total:    %.3f s wall (training %.3f s: %zu variant(s) x %zu run(s) x %zu epochs on %zu "
           "thread(s))\n",
           total_seconds, training_seconds, s->setup.variant_count, opts->repeats, opts->epochs, opts->jobs);
}

/* Frees everything the study owns. */
static void study_free(study *s) {
    for (size_t v = 0; v < VARIANT_COUNT; v++) {
        accuracy_curves_free(&s->curves[v]);
    }
    experiment_results_free(&s->results);
    bnmlp_tensor_free(s->train_x);
    bnmlp_tensor_free(s->train_y);
    bnmlp_tensor_free(s->test_x);
    bnmlp_tensor_free(s->test_y);
    bnmlp_dataset_free(&s->train);
    bnmlp_dataset_free(&s->test);
}

/* The study: train every run, summarize, write the files, print the table. 0, or 1 on failure. */
static int run_study(const options *opts, const bnmlp_dataset *dataset, double start) {
    study s = {0};
    bool ok = ensure_directory(opts->out_dir) &&
              (opts->save_model_dir == NULL || ensure_directory(opts->save_model_dir)) &&
              prepare_tensors(&s, dataset);
    double training_start = monotonic_seconds();
    if (ok) {
        fill_setup(&s, opts);
        ok = run_experiment(&s, opts->jobs);
    }
    double training_seconds = monotonic_seconds() - training_start;
    ok = ok && summarize(&s);
    if (ok) {
        format_subtitle(&s, opts);
        ok = write_outputs(&s, opts, dataset);
    }
    if (ok && !opts->quiet) {
        print_results(&s, opts, training_seconds, monotonic_seconds() - start);
    }
    study_free(&s);
    return ok ? 0 : 1;
}

int main(int argc, char **argv) {
    double start = monotonic_seconds();
    out_set_program_name("circles");
    options opts;
    options_default(&opts);
    parse_result parsed = options_parse(&opts, argc, argv);
    if (parsed == PARSE_HELP) {
        print_usage(stdout);
        return finish_stdout();
    }
    if (parsed == PARSE_ERROR) {
        print_usage(stderr);
        return 2;
    }
    bnmlp_dataset dataset = {0};
    if (!dataset_generate(&opts.data, &dataset)) {
        return 1;
    }
    int status =
        options_data_only(&opts) ? write_data_files(&opts, &dataset) : run_study(&opts, &dataset, start);
    bnmlp_dataset_free(&dataset);
    return status == 0 ? finish_stdout() : status;
}
