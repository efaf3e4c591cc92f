/*
 * cli.c - parsing the command line: a table of flags, each with its kind, field and range.
 * Flags take their value as "--flag VALUE" or "--flag=VALUE".
 */
#include "cli.h"
#include "numbers.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Fewest rows that give both halves at least two rows (batch norm needs two rows per batch). */
#define MIN_TRAINING_SAMPLES 4

/* Most worker threads --jobs accepts. */
#define MAX_JOBS 1024

/* What a flag's value is and where it goes. */
typedef enum value_kind {
    VALUE_SET_TRUE = 0, /* no value: sets a bool field to true */
    VALUE_SET_FALSE,    /* no value: sets a bool field to false */
    VALUE_SIZE,         /* decimal integer into a size_t field */
    VALUE_U32,          /* decimal integer into a uint32_t field */
    VALUE_FLOAT,        /* finite real into a float field */
    VALUE_DOUBLE,       /* finite real into a double field */
    VALUE_STRING,       /* non-empty text into a const char * field */
    VALUE_VARIANTS,     /* "all" or a list of variant names into a variant_set field */
    VALUE_DATASET,      /* "circles" or "moons" into a dataset_kind field */
    VALUE_AVERAGE       /* "exponential", "debiased" or "cumulative" into a bnmlp_moving_average field */
} value_kind;

/* One flag of the command line. */
typedef struct flag_spec {
    const char *name; /* e.g. "--epochs" */
    value_kind kind;  /* what its value is */
    size_t offset;    /* offset of its field in struct options */
    double min;       /* smallest accepted number (numbers only) */
    double max;       /* largest accepted number (numbers only) */
    int open;         /* CLOSED, or MIN_OPEN / MAX_OPEN bits */
} flag_spec;

/* Offset of a field of struct options. */
#define FIELD(member) offsetof(options, member)

/* Every flag but --help. */
static const flag_spec FLAGS[] = {
    {"--epochs", VALUE_SIZE, FIELD(epochs), 1, 1e6, CLOSED},
    {"--repeats", VALUE_SIZE, FIELD(repeats), 1, 1e6, CLOSED},
    {"--batch-size", VALUE_SIZE, FIELD(batch_size), 1, 1e6, CLOSED},
    {"--lr", VALUE_FLOAT, FIELD(learning_rate), 0, 1e6, MIN_OPEN},
    {"--momentum", VALUE_FLOAT, FIELD(momentum), 0, 1, CLOSED},
    {"--bn-momentum", VALUE_FLOAT, FIELD(bn_momentum), 0, 1, CLOSED},
    {"--bn-average", VALUE_AVERAGE, FIELD(bn_average), 0, 0, CLOSED},
    {"--seed", VALUE_U32, FIELD(seed), 0, 4294967295.0, CLOSED},
    {"--variants", VALUE_VARIANTS, FIELD(variants), 0, 0, CLOSED},
    {"--out-dir", VALUE_STRING, FIELD(out_dir), 0, 0, CLOSED},
    {"--save-model", VALUE_STRING, FIELD(save_model_dir), 0, 0, CLOSED},
    {"--quiet", VALUE_SET_TRUE, FIELD(quiet), 0, 0, CLOSED},
    {"--jobs", VALUE_SIZE, FIELD(jobs), 1, MAX_JOBS, CLOSED},
    {"--dump-data", VALUE_STRING, FIELD(dump_data_path), 0, 0, CLOSED},
    {"--plot-data", VALUE_STRING, FIELD(plot_data_path), 0, 0, CLOSED},
    {"--dataset", VALUE_DATASET, FIELD(data.kind), 0, 0, CLOSED},
    {"--n-samples", VALUE_SIZE, FIELD(data.n_samples), 1, 1e8, CLOSED},
    {"--noise", VALUE_DOUBLE, FIELD(data.noise), 0, 1e6, CLOSED},
    {"--random-state", VALUE_U32, FIELD(data.random_state), 0, 4294967295.0, CLOSED},
    {"--factor", VALUE_DOUBLE, FIELD(data.factor), 0, 1, MAX_OPEN},
    {"--no-shuffle", VALUE_SET_FALSE, FIELD(data.shuffle), 0, 0, CLOSED},
};

/* The number of online CPUs, at least 1 and at most MAX_JOBS. */
static size_t online_cpus(void) {
    long count = sysconf(_SC_NPROCESSORS_ONLN);
    if (count < 1) {
        return 1;
    }
    return count > MAX_JOBS ? MAX_JOBS : (size_t)count;
}

void options_default(options *opts) {
    *opts = (options){
        .data = DATA_OPTIONS_DEFAULT,
        .dump_data_path = NULL,
        .plot_data_path = NULL,
        .epochs = 100,
        .repeats = 30,
        .batch_size = 32,
        .learning_rate = 0.01f,
        .momentum = 0.9f,
        .bn_momentum = 0.99f,
        .bn_average = BNMLP_AVERAGE_EXPONENTIAL,
        .seed = 1,
        .variants = VARIANT_SET_DEFAULT,
        .out_dir = "circles-out",
        .save_model_dir = NULL,
        .quiet = false,
        .jobs = online_cpus(),
    };
}

bool options_data_only(const options *opts) {
    return opts->dump_data_path != NULL || opts->plot_data_path != NULL;
}

void print_usage(FILE *out) {
    fputs("Usage: circles [OPTION]...\n"
          "Reproduces the batch-normalization case study on make_circles: trains every variant with\n"
          "several seeds, prints a table and writes CSV files and SVG plots into --out-dir.\n"
          "\n"
          "Experiment:\n"
          "  --variants LIST      comma-separated variants, or 'all' (default none,after,before):\n"
          "                       none, after (BN after ReLU), before (BN before ReLU),\n"
          "                       nogammabeta (after, no center/scale), momentum0 (after, BN momentum 0),\n"
          "                       input (BN on the raw input)\n"
          "  --repeats R          runs per variant; run r (0-based) uses seed + r (default 30)\n"
          "  --seed S             seed of run 0: weight initialization and shuffling (default 1)\n"
          "  --epochs E           training epochs (default 100)\n"
          "  --batch-size B       rows per SGD step (default 32)\n"
          "  --lr LR              SGD learning rate (default 0.01)\n"
          "  --momentum M         SGD momentum (default 0.9)\n"
          "  --bn-momentum M      batch-norm moving-average momentum, Keras's (default 0.99)\n"
          "  --bn-average A       how the moving statistics average the batches: exponential\n"
          "                       (default), debiased (Keras 2.1.3-2.2.5's zero-debias) or\n"
          "                       cumulative (PyTorch's momentum=None)\n"
          "  --jobs N             worker threads; results do not depend on it (default: online CPUs)\n"
          "  --out-dir DIR        output directory, created if missing (default circles-out)\n"
          "  --save-model DIR     save the last run's model of each variant as DIR/<variant>.bnmlp\n"
          "                       (created if missing; load with bnmlp_model_load)\n"
          "  --quiet              print nothing on standard output\n"
          "\n"
          "Data (the first half of the rows trains, the rest tests):\n"
          "  --dataset NAME       circles or moons (default circles)\n"
          "  --n-samples N        number of rows (default 1000)\n"
          "  --noise S            Gaussian noise standard deviation, 0 for none (default 0.1)\n"
          "  --random-state K     generator seed (default 1)\n"
          "  --factor F           inner/outer radius of circles, in [0, 1) (default 0.8)\n"
          "  --no-shuffle         keep the generator's row order\n"
          "  --dump-data FILE     write the data set as CSV (x0,x1,label) and exit without training\n"
          "  --plot-data FILE     write the data set's scatter plot as SVG and exit without training\n"
          "\n"
          "  --help               print this help and exit\n"
          "\n"
          "Exit status: 0 on success, 1 when a file cannot be written or a run fails,\n"
          "2 for an unknown option or a bad value.\n",
          out);
}

/* Parses a moving-average name into *out; false for an unknown name. */
static bool average_from_name(const char *name, bnmlp_moving_average *out) {
    static const char *const names[] = {[BNMLP_AVERAGE_EXPONENTIAL] = "exponential",
                                        [BNMLP_AVERAGE_DEBIASED] = "debiased",
                                        [BNMLP_AVERAGE_CUMULATIVE] = "cumulative"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (bnmlp_moving_average)i;
            return true;
        }
    }
    return false;
}

/* Parses a number value into its field; false when it is malformed or out of range. */
static bool apply_number(options *opts, const flag_spec *spec, const char *value) {
    void *field = (char *)opts + spec->offset;
    unsigned long long integer = 0;
    double real = 0.0;
    bool is_integer = spec->kind == VALUE_SIZE || spec->kind == VALUE_U32;
    bool parsed = is_integer ? parse_decimal(value, spec->min, spec->max, &integer)
                             : parse_real(value, spec->min, spec->max, spec->open, &real);
    if (!parsed) {
        return false;
    }
    switch (spec->kind) {
    case VALUE_SIZE: *(size_t *)field = (size_t)integer; return true;
    case VALUE_U32: *(uint32_t *)field = (uint32_t)integer; return true;
    case VALUE_FLOAT: *(float *)field = (float)real; return true;
    case VALUE_DOUBLE: *(double *)field = real; return true;
    default: return false;
    }
}

/* Stores a flag's value (NULL for flags without one) into its field; false for a bad value. */
static bool apply_flag(options *opts, const flag_spec *spec, const char *value) {
    void *field = (char *)opts + spec->offset;
    switch (spec->kind) {
    case VALUE_SET_TRUE:
    case VALUE_SET_FALSE: *(bool *)field = spec->kind == VALUE_SET_TRUE; return true;
    case VALUE_STRING: *(const char **)field = value; return value[0] != '\0';
    case VALUE_VARIANTS: return variant_set_parse(value, (variant_set *)field);
    case VALUE_DATASET: return dataset_kind_from_name(value, (dataset_kind *)field);
    case VALUE_AVERAGE: return average_from_name(value, (bnmlp_moving_average *)field);
    default: return apply_number(opts, spec, value);
    }
}

/* True for flags that take a value. */
static bool takes_value(const flag_spec *spec) {
    return spec->kind != VALUE_SET_TRUE && spec->kind != VALUE_SET_FALSE;
}

/* Finds the flag arg names ("--name" or "--name=value"); *inline_value gets the text after '='
 * or NULL. Returns NULL for an unknown flag. */
static const flag_spec *find_flag(const char *arg, const char **inline_value) {
    size_t name_length = strcspn(arg, "=");
    for (size_t i = 0; i < sizeof FLAGS / sizeof FLAGS[0]; i++) {
        if (strlen(FLAGS[i].name) == name_length && strncmp(arg, FLAGS[i].name, name_length) == 0) {
            *inline_value = arg[name_length] == '=' ? arg + name_length + 1 : NULL;
            return &FLAGS[i];
        }
    }
    return NULL;
}

/* Checks what depends on several flags at once. */
static parse_result check_combination(const options *opts) {
    if (!options_data_only(opts) && opts->data.n_samples < MIN_TRAINING_SAMPLES) {
        fprintf(stderr, "circles: training needs --n-samples of at least %d\n", MIN_TRAINING_SAMPLES);
        return PARSE_ERROR;
    }
    bool batch_norm = (opts->variants & ~(variant_set)(1u << VARIANT_NONE)) != 0;
    if (!options_data_only(opts) && batch_norm && opts->batch_size < 2) {
        fprintf(stderr, "circles: batch normalization needs --batch-size of at least 2\n");
        return PARSE_ERROR;
    }
    return PARSE_RUN;
}

/* Handles argv[*index] (and its value, advancing *index past it). */
static parse_result parse_argument(options *opts, int argc, char **argv, int *index) {
    const char *arg = argv[*index];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
        return PARSE_HELP;
    }
    const char *value = NULL;
    const flag_spec *spec = find_flag(arg, &value);
    if (spec == NULL) {
        fprintf(stderr, "circles: unknown option '%s'\n", arg);
        return PARSE_ERROR;
    }
    if (takes_value(spec) && value == NULL) {
        if (*index + 1 >= argc) {
            fprintf(stderr, "circles: option %s needs a value\n", spec->name);
            return PARSE_ERROR;
        }
        value = argv[++*index];
    } else if (!takes_value(spec) && value != NULL) {
        fprintf(stderr, "circles: option %s takes no value\n", spec->name);
        return PARSE_ERROR;
    }
    if (!apply_flag(opts, spec, value)) {
        fprintf(stderr, "circles: bad value for %s: '%s'\n", spec->name, value);
        return PARSE_ERROR;
    }
    return PARSE_RUN;
}

parse_result options_parse(options *opts, int argc, char **argv) {
    for (int index = 1; index < argc; index++) {
        parse_result result = parse_argument(opts, argc, argv, &index);
        if (result != PARSE_RUN) {
            return result;
        }
    }
    return check_combination(opts);
}
