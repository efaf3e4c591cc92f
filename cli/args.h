/*
 * args.h - the bnmlp tool's flags: one options struct for every subcommand, and a table of the
 * flags each subcommand accepts (kind, field, range). Flags take their value as "--flag VALUE"
 * or "--flag=VALUE"; numbers are checked against their range here, names (--loss, --optimizer)
 * and the layer SPEC by the subcommands.
 */
#ifndef BNMLP_CLI_ARGS_H
#define BNMLP_CLI_ARGS_H

#include <stdbool.h>

#include "numbers.h"
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses of the tool. */
enum {
    CLI_EXIT_OK = 0,      /* success */
    CLI_EXIT_FAILURE = 1, /* a runtime failure: a file, divergence (the message names the path or reason) */
    CLI_EXIT_USAGE = 2    /* a usage error: the message names the problem, the usage follows */
};

/* Most flags one command line may give. */
#define MAX_GIVEN_FLAGS 64

/* Everything any subcommand's flags set; each subcommand reads the fields it accepts. */
typedef struct cli_options {
    const char *data;              /* --data FILE (.csv or .npy) */
    const char *labels_path;       /* --labels FILE (train, resume, evaluate): labels of .npy data */
    const char *label_column;      /* --label-column NAME|INDEX; NULL: the last column */
    const char *validation_data;   /* --validation-data FILE */
    const char *validation_labels; /* --validation-labels FILE: labels of .npy validation data */
    double validation_split;       /* --validation-split F in (0, 1): the last fraction validates */
    const char *layers;            /* --layers SPEC (train) */
    const char *from;              /* --from FILE.safetensors (import) */
    size_t epochs;                 /* --epochs N */
    size_t batch_size;             /* --batch-size N. Default 32 */
    const char *loss;              /* --loss NAME (bnmlp_loss_from_name); NULL: from the last layer */
    const char *optimizer;         /* --optimizer NAME (bnmlp_optimizer_from_name); NULL: the
                                           library's default (train) or the checkpoint's (resume) */
    float learning_rate;           /* --lr; used only when given (else the optimizer's default) */
    float momentum;                /* --momentum, when given */
    bool nesterov;                 /* --nesterov */
    float weight_decay;            /* --weight-decay W, when given */
    size_t setting_count;          /* entries of settings */
    struct {
        char flag[40];                  /* the flag as given, e.g. "--rho" */
        char name[40];                  /* the library's setting name, e.g. "rho" */
        double value;                   /* its value (1 for a switch given without one) */
    } settings[16];                     /* the other optimizer settings given (VALUE_SETTING) */
    uint32_t seed;                      /* --seed K. Default 1 */
    size_t threads;                     /* --threads N. Default 0: the library's default, all cores */
    const char *precision;              /* --precision fp32|bf16 (train); NULL: fp32 */
    const char *out;                    /* --out FILE: the model (train, resume; default model.bnmlp) or
                                      the predictions (predict) */
    const char *history;                /* --history FILE.csv */
    const char *plot;                   /* --plot FILE.svg */
    bool plot_log;                      /* --plot-log: a log10 loss axis in the plot */
    size_t checkpoint_every;            /* --checkpoint-every N; 0: no checkpoints */
    const char *checkpoint;             /* --checkpoint FILE: where train writes checkpoints (default
                                      OUT.ckpt); what resume continues (and rewrites) */
    const char *model;                  /* --model FILE (evaluate, predict, summary) */
    bool predict_labels;                /* --classes (predict; --labels, its old name, still works with a
                                      warning): add the predicted class column */
    bool override;                      /* --override (resume): let flags change the checkpoint's settings */
    bool quiet;                         /* --quiet: no progress on stderr */
    bool standardize;                   /* --standardize (train): prepend a norm layer to --layers */
    const char *early_stopping;         /* --early-stopping PATIENCE[,MIN_DELTA][,restore] (train) */
    const char *monitor;                /* --monitor NAME (train); NULL: val_loss, or loss without
                                           validation */
    const char *reduce_lr;              /* --reduce-lr FACTOR,PATIENCE[,MIN_LR] (train) */
    const char *lr_schedule;            /* --lr-schedule KIND[:ARGS] (train) */
    const char *metrics;                /* --metrics NAME,... (train, evaluate): bnmlp_metric_from_name */
    bool save_best;                     /* --save-best (train): keep the best monitored epoch's model */
    const char *format;                 /* --format NAME (export): bnmlp_export_format_name's */
    const char *export_name;            /* --name NAME (export): the exported model's name. Default
                                           "model" */
    bool with_test;                     /* --with-test (export): write the format's self-test too */
    size_t test_rows;                   /* --test-rows N (export): the self-test's rows. Default 16 */
    const char *weights;                /* --weights float32|int8 (export). Default float32 */
    const char *class_weight;           /* --class-weight balanced|CLASS:WEIGHT,... (train) */
    const char *weight_normalization;   /* --weight-normalization NAME (train): batch (default) or sum */
    const char *given[MAX_GIVEN_FLAGS]; /* names of the flags given, in order */
    size_t given_count;                 /* entries of given */
} cli_options;

/* What a flag's value is. */
typedef enum value_kind {
    VALUE_SET_TRUE = 0, /* no value: sets a bool field */
    VALUE_SIZE,         /* decimal integer into a size_t field */
    VALUE_U32,          /* decimal integer into a uint32_t field */
    VALUE_FLOAT,        /* finite real into a float field */
    VALUE_DOUBLE,       /* finite real into a double field */
    VALUE_STRING,       /* non-empty text into a const char * field */
    VALUE_SETTING       /* not a flag itself: the command also takes --NAME for every setting NAME
                           (dashes for underscores) of the library's optimizers, into settings */
} value_kind;

/* One flag a subcommand accepts. */
typedef struct flag_spec {
    const char *name; /* e.g. "--epochs" */
    value_kind kind;  /* what its value is */
    size_t offset;    /* offset of its field in cli_options */
    double min;       /* smallest accepted number (numbers only) */
    double max;       /* largest accepted number (numbers only) */
    int open;         /* CLOSED, or MIN_OPEN / MAX_OPEN bits */
} flag_spec;

/* Offset of a field of cli_options. */
#define FIELD(member) offsetof(cli_options, member)

/* What parsing a subcommand's command line gave. */
typedef enum parse_result {
    PARSE_RUN = 0, /* valid: run the subcommand */
    PARSE_HELP,    /* --help or -h: print its help on stdout, exit 0 */
    PARSE_ERROR    /* a usage error, already reported on stderr: exit 2 */
} parse_result;

/* The defaults of every field. */
void cli_options_default(cli_options *opts);

/* Parses argv[first..argc) against the count flags of table into *opts. Errors name the flag
 * ("bnmlp COMMAND: ...") on stderr. */
parse_result cli_parse(cli_options *opts, const char *command, const flag_spec *table, size_t count,
                       int first, int argc, char **argv);

/* True when the flag name was given on the command line. */
bool cli_given(const cli_options *opts, const char *name);

/* Reports a usage error "bnmlp COMMAND: message" on stderr (the caller prints the usage). */
void cli_usage_error(const char *command, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Reports a runtime failure "bnmlp COMMAND: message" on stderr. */
void cli_failure(const char *command, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif /* BNMLP_CLI_ARGS_H */
