/*
 * cli.h - the command line of the circles example.
 */
#ifndef CIRCLES_CLI_H
#define CIRCLES_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "data.h"
#include "variant.h"

/* Everything the command line sets. */
typedef struct options {
    data_options data;          /* the data flags */
    const char *dump_data_path; /* --dump-data FILE: write the data set as CSV and exit; NULL if absent */
    const char *plot_data_path; /* --plot-data FILE.svg: plot the data set and exit; NULL if absent */
    size_t epochs;              /* --epochs: passes over the training half. Default 100 */
    size_t repeats;             /* --repeats: runs (seeds) per variant. Default 30 */
    size_t batch_size;          /* --batch-size: rows per SGD step. Default 32 */
    float learning_rate;        /* --lr: SGD learning rate. Default 0.01 */
    float momentum;             /* --momentum: SGD momentum. Default 0.9 */
    float bn_momentum;          /* --bn-momentum: batch-norm moving-average momentum. Default 0.99 */
    bnmlp_moving_average bn_average; /* --bn-average: exponential (default), debiased or cumulative */
    const char *save_model_dir;      /* --save-model: directory for each variant's last model, or NULL */
    uint32_t seed;                   /* --seed: run r of every variant uses seed + r. Default 1 */
    variant_set variants;            /* --variants: which variants run. Default none,after,before */
    const char *out_dir;             /* --out-dir: where files go. Default "circles-out" */
    bool quiet;                      /* --quiet: print nothing on stdout */
    size_t jobs;                     /* --jobs: worker threads. Default the number of online CPUs */
} options;

/* What the command line asks for. */
typedef enum parse_result {
    PARSE_RUN = 0, /* options are valid: run */
    PARSE_HELP,    /* --help: print the usage on stdout, exit 0 */
    PARSE_ERROR    /* a bad flag or value (already reported): print the usage on stderr, exit 2 */
} parse_result;

/* Fills *opts with the defaults. */
void options_default(options *opts);

/* Parses argv[1..argc) into *opts (which holds the defaults). Errors are reported on stderr. */
parse_result options_parse(options *opts, int argc, char **argv);

/* True when only the data set is wanted (--dump-data or --plot-data): no training. */
bool options_data_only(const options *opts);

/* Prints the usage text to out. */
void print_usage(FILE *out);

#endif /* CIRCLES_CLI_H */
