/*
 * commands.c - train, resume, evaluate, predict and summary: flags, checks, and the calls into
 * libbnmlp (public header only).
 */
#include "commands.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "bnmlp.h"
#include "controls.h"
#include "curves.h"
#include "dataio.h"
#include "export.h"
#include "import.h"
#include "outfile.h"
#include "progress.h"
#include "quantize.h"
#include "safety.h"
#include "scores.h"
#include "spec.h"
#include "usage.h"
#include "weights.h"

/* Most epochs, batch size and threads the flags accept. */
#define MAX_EPOCHS 1000000
#define MAX_BATCH 1000000
#define MAX_THREADS 1024 /* the library's BNMLP_MAX_THREADS */

/* Longest file name the tool builds (OUT.ckpt). */
#define PATH_SIZE 4096

#define COUNT_OF(array) (sizeof(array) / sizeof((array)[0]))

/* ----------------------------------------------------------------------------------------- */
/* Flag tables                                                                               */
/* ----------------------------------------------------------------------------------------- */

#define DATA_FLAGS                                                                                           \
    {"--data", VALUE_STRING, FIELD(data), 0, 0, CLOSED},                                                     \
        {"--labels", VALUE_STRING, FIELD(labels_path), 0, 0, CLOSED}, {                                      \
        "--label-column", VALUE_STRING, FIELD(label_column), 0, 0, CLOSED                                    \
    }

#define FIT_FLAGS                                                                                            \
    {"--epochs", VALUE_SIZE, FIELD(epochs), 1, MAX_EPOCHS, CLOSED},                                          \
        {"--batch-size", VALUE_SIZE, FIELD(batch_size), 1, MAX_BATCH, CLOSED},                               \
        {"--optimizer", VALUE_STRING, FIELD(optimizer), 0, 0, CLOSED},                                       \
        {"--lr", VALUE_FLOAT, FIELD(learning_rate), 0, 1e6, MIN_OPEN},                                       \
        {"--momentum", VALUE_FLOAT, FIELD(momentum), 0, 1, CLOSED},                                          \
        {"--nesterov", VALUE_SET_TRUE, FIELD(nesterov), 0, 0, CLOSED},                                       \
        {"--weight-decay", VALUE_FLOAT, FIELD(weight_decay), 0, 1e6, CLOSED},                                \
        {"--SETTING", VALUE_SETTING, FIELD(settings), 0, 0, CLOSED},                                         \
        {"--threads", VALUE_SIZE, FIELD(threads), 0, MAX_THREADS, CLOSED},                                   \
        {"--validation-data", VALUE_STRING, FIELD(validation_data), 0, 0, CLOSED},                           \
        {"--validation-labels", VALUE_STRING, FIELD(validation_labels), 0, 0, CLOSED},                       \
        {"--validation-split", VALUE_DOUBLE, FIELD(validation_split), 0, 1, MIN_OPEN | MAX_OPEN},            \
        {"--out", VALUE_STRING, FIELD(out), 0, 0, CLOSED},                                                   \
        {"--history", VALUE_STRING, FIELD(history), 0, 0, CLOSED},                                           \
        {"--plot", VALUE_STRING, FIELD(plot), 0, 0, CLOSED},                                                 \
        {"--plot-log", VALUE_SET_TRUE, FIELD(plot_log), 0, 0, CLOSED},                                       \
        {"--checkpoint-every", VALUE_SIZE, FIELD(checkpoint_every), 1, MAX_EPOCHS, CLOSED},                  \
        {"--checkpoint", VALUE_STRING, FIELD(checkpoint), 0, 0, CLOSED}, {                                   \
        "--quiet", VALUE_SET_TRUE, FIELD(quiet), 0, 0, CLOSED                                                \
    }

/* The training controls train and resume take (--standardize: train only). */
#define CONTROL_FLAGS                                                                                        \
    {"--early-stopping", VALUE_STRING, FIELD(early_stopping), 0, 0, CLOSED},                                 \
        {"--monitor", VALUE_STRING, FIELD(monitor), 0, 0, CLOSED},                                           \
        {"--reduce-lr", VALUE_STRING, FIELD(reduce_lr), 0, 0, CLOSED},                                       \
        {"--save-best", VALUE_SET_TRUE, FIELD(save_best), 0, 0, CLOSED}, {                                   \
        "--metrics", VALUE_STRING, FIELD(metrics), 0, 0, CLOSED                                              \
    }

static const flag_spec TRAIN_FLAGS[] = {
    DATA_FLAGS,
    FIT_FLAGS,
    {"--layers", VALUE_STRING, FIELD(layers), 0, 0, CLOSED},
    {"--loss", VALUE_STRING, FIELD(loss), 0, 0, CLOSED},
    {"--seed", VALUE_U32, FIELD(seed), 0, 4294967295.0, CLOSED},
    {"--standardize", VALUE_SET_TRUE, FIELD(standardize), 0, 0, CLOSED},
    {"--precision", VALUE_STRING, FIELD(precision), 0, 0, CLOSED},
    CONTROL_FLAGS,
    {"--lr-schedule", VALUE_STRING, FIELD(lr_schedule), 0, 0, CLOSED},
    {"--class-weight", VALUE_STRING, FIELD(class_weight), 0, 0, CLOSED},
    {"--weight-normalization", VALUE_STRING, FIELD(weight_normalization), 0, 0, CLOSED},
};

static const flag_spec RESUME_FLAGS[] = {
    DATA_FLAGS,
    FIT_FLAGS,
    CONTROL_FLAGS,
    {"--lr-schedule", VALUE_STRING, FIELD(lr_schedule), 0, 0, CLOSED},
    {"--override", VALUE_SET_TRUE, FIELD(override), 0, 0, CLOSED},
};

static const flag_spec EVALUATE_FLAGS[] = {
    DATA_FLAGS,
    {"--model", VALUE_STRING, FIELD(model), 0, 0, CLOSED},
    {"--metrics", VALUE_STRING, FIELD(metrics), 0, 0, CLOSED},
    {"--threads", VALUE_SIZE, FIELD(threads), 0, MAX_THREADS, CLOSED},
};

static const flag_spec PREDICT_FLAGS[] = {
    {"--model", VALUE_STRING, FIELD(model), 0, 0, CLOSED},
    {"--data", VALUE_STRING, FIELD(data), 0, 0, CLOSED},
    {"--label-column", VALUE_STRING, FIELD(label_column), 0, 0, CLOSED},
    {"--out", VALUE_STRING, FIELD(out), 0, 0, CLOSED},
    {"--classes", VALUE_SET_TRUE, FIELD(predict_labels), 0, 0, CLOSED},
    {"--labels", VALUE_SET_TRUE, FIELD(predict_labels), 0, 0, CLOSED}, /* --classes's old name */
    {"--threads", VALUE_SIZE, FIELD(threads), 0, MAX_THREADS, CLOSED},
};

static const flag_spec SUMMARY_FLAGS[] = {
    {"--model", VALUE_STRING, FIELD(model), 0, 0, CLOSED},
};

/* ----------------------------------------------------------------------------------------- */
/* Common checks                                                                             */
/* ----------------------------------------------------------------------------------------- */

/* Two flags that cannot go together; 2 (reported) when both were given. */
static int conflict(const command *cmd, const cli_options *opts, const char *a, const char *b) {
    if (cli_given(opts, a) && cli_given(opts, b)) {
        cli_usage_error(cmd->name, "%s and %s cannot be given together", a, b);
        command_print_usage(cmd);
        return CLI_EXIT_USAGE;
    }
    return -1;
}

/* A flag that needs another; 2 (reported) when it is given alone. */
static int needs(const command *cmd, const cli_options *opts, const char *flag, const char *other) {
    if (cli_given(opts, flag) && !cli_given(opts, other)) {
        cli_usage_error(cmd->name, "%s needs %s", flag, other);
        command_print_usage(cmd);
        return CLI_EXIT_USAGE;
    }
    return -1;
}

/* Applies --threads (0, the default: the library's default, all cores) to a model; 1 (reported)
 * on failure. */
static int apply_threads(const command *cmd, const cli_options *opts, bnmlp_model *model) {
    bnmlp_status status = bnmlp_model_set_threads(model, opts->threads);
    if (status != BNMLP_OK) {
        cli_failure(cmd->name, "cannot use %zu threads: %s", opts->threads, bnmlp_status_string(status));
        return CLI_EXIT_FAILURE;
    }
    return -1;
}

/* Writes the names the library accepts for a loss, "NAME (or ALIAS, ...)", into buffer. */
static void describe_loss(bnmlp_loss loss, char *buffer, size_t size) {
    size_t used = (size_t)snprintf(buffer, size, "%s", bnmlp_loss_name(loss));
    for (size_t i = 1; bnmlp_loss_alias(loss, i) != NULL && used < size; i++) {
        used += (size_t)snprintf(buffer + used, size - used, "%s%s", i == 1 ? " (or " : ", ",
                                 bnmlp_loss_alias(loss, i));
    }
    if (bnmlp_loss_alias(loss, 1) != NULL && used < size) {
        snprintf(buffer + used, size - used, ")");
    }
}

/* Writes every loss's names, "a (or b), c (or d)", into buffer. */
static void list_losses(char *buffer, size_t size) {
    size_t used = 0;
    buffer[0] = '\0';
    for (size_t k = 0; k < bnmlp_loss_count() && used < size; k++) {
        char names[96];
        describe_loss((bnmlp_loss)k, names, sizeof names);
        used += (size_t)snprintf(buffer + used, size - used, "%s%s", k > 0 ? ", " : "", names);
    }
}

/* Writes every optimizer's name, "a, b, c", into buffer. */
static void list_optimizers(char *buffer, size_t size) {
    size_t used = 0;
    buffer[0] = '\0';
    for (size_t k = 0; k < bnmlp_optimizer_count() && used < size; k++) {
        used += (size_t)snprintf(buffer + used, size - used, "%s%s", k > 0 ? ", " : "",
                                 bnmlp_optimizer_name((bnmlp_optimizer_kind)k));
    }
}

/* The optimizer flags with a range of their own and the library's setting each sets
 * (bnmlp_optimizer_set). Every other setting of the library's optimizers is taken as --NAME
 * (VALUE_SETTING), so a new optimizer needs nothing here. */
typedef struct optimizer_flag {
    const char *flag;    /* e.g. "--lr" */
    const char *setting; /* the library's name of the setting */
    size_t offset;       /* its value in cli_options: a float, or a bool for flags without a value */
    bool is_bool;        /* a flag without a value */
} optimizer_flag;

static const optimizer_flag OPTIMIZER_FLAGS[] = {
    {"--lr", "learning_rate", FIELD(learning_rate), false},
    {"--momentum", "momentum", FIELD(momentum), false},
    {"--nesterov", "nesterov", FIELD(nesterov), true},
    {"--weight-decay", "weight_decay", FIELD(weight_decay), false},
};

/* The flag of setting name into buffer: OPTIMIZER_FLAGS's, else --NAME with dashes. */
static const char *setting_flag(const char *name, char *buffer, size_t size) {
    for (size_t i = 0; i < COUNT_OF(OPTIMIZER_FLAGS); i++) {
        if (strcmp(OPTIMIZER_FLAGS[i].setting, name) == 0) {
            return OPTIMIZER_FLAGS[i].flag;
        }
    }
    size_t used = (size_t)snprintf(buffer, size, "--%s", name);
    for (size_t i = 2; i < used && i < size; i++) {
        buffer[i] = buffer[i] == '_' ? '-' : buffer[i];
    }
    return buffer;
}

/* The value a given optimizer flag holds in opts. */
static double flag_value(const cli_options *opts, const optimizer_flag *flag) {
    const char *field = (const char *)opts + flag->offset;
    if (flag->is_bool) {
        return *(const bool *)field ? 1.0 : 0.0;
    }
    return (double)*(const float *)field;
}

/* Writes the flags kind takes with their defaults, "--lr 0.01 --momentum 0 ...", into buffer. */
static void describe_optimizer(bnmlp_optimizer_kind kind, char *buffer, size_t size) {
    bnmlp_optimizer_config config;
    size_t used = 0;
    buffer[0] = '\0';
    if (bnmlp_optimizer_defaults(kind, &config) != BNMLP_OK) {
        return;
    }
    const char *name;
    for (size_t i = 0; (name = bnmlp_optimizer_setting(kind, i)) != NULL && used < size; i++) {
        double value = 0.0;
        char flag[48];
        bnmlp_optimizer_get(&config, name, &value);
        if (bnmlp_optimizer_setting_is_switch(kind, i)) {
            used +=
                (size_t)snprintf(buffer + used, size - used, " [%s]", setting_flag(name, flag, sizeof flag));
        } else {
            used += (size_t)snprintf(buffer + used, size - used, " %s %g",
                                     setting_flag(name, flag, sizeof flag), value);
        }
    }
}

/* The activations, "linear, relu, leaky_relu (alpha=0.3), ...", from the library's table. */
static void list_activations(char *buffer, size_t size) {
    size_t used = 0;
    buffer[0] = '\0';
    for (int a = 0; strcmp(bnmlp_activation_name((bnmlp_activation)a), "unknown") != 0 && used < size; a++) {
        const float alpha = bnmlp_activation_default_alpha((bnmlp_activation)a);
        int n = snprintf(buffer + used, size - used, "%s%s", a ? ", " : "",
                         bnmlp_activation_name((bnmlp_activation)a));
        if (n > 0) used += (size_t)n;
        if (!isnan(alpha) && used < size &&
            (n = snprintf(buffer + used, size - used, " (alpha=%g)", (double)alpha)) > 0)
            used += (size_t)n;
    }
}

void command_print_names(FILE *out) {
    char list[512];
    list_activations(list, sizeof list);
    fprintf(out, "\nActivations (--layers): %s.\n", list);
    fprintf(out, "Example: --layers dense:50:%s:he_uniform,bn,dense:1:%s (the tutorial's model)\n",
            bnmlp_activation_name(BNMLP_ACTIVATION_RELU), bnmlp_activation_name(BNMLP_ACTIVATION_SIGMOID));
    list_losses(list, sizeof list);
    fprintf(out, "\nLosses (--loss): %s.\n", list);
    fprintf(out, "Optimizers (--optimizer), the flags each takes and their defaults:\n");
    for (size_t k = 0; k < bnmlp_optimizer_count(); k++) {
        describe_optimizer((bnmlp_optimizer_kind)k, list, sizeof list);
        fprintf(out, "  %-9s%s\n", bnmlp_optimizer_name((bnmlp_optimizer_kind)k), list);
    }
}

/* Sets the optimizer from the flags: --optimizer (NULL: base's kind) and each optimizer flag
 * given, over base (the defaults, or the configuration a checkpoint stored when the kind is the
 * same); -1, or 2 (reported). */
static int optimizer_settings(const command *cmd, const cli_options *opts, const bnmlp_optimizer_config *base,
                              bnmlp_optimizer_config *config) {
    *config = *base;
    if (opts->optimizer != NULL) {
        bnmlp_optimizer_kind kind;
        if (bnmlp_optimizer_from_name(opts->optimizer, &kind) != BNMLP_OK) {
            char names[256];
            list_optimizers(names, sizeof names);
            cli_usage_error(cmd->name, "unknown --optimizer '%s' (expected one of %s)", opts->optimizer,
                            names);
            command_print_usage(cmd);
            return CLI_EXIT_USAGE;
        }
        if (kind != base->kind) {
            bnmlp_optimizer_defaults(kind, config);
        }
    }
    for (size_t i = 0; i < COUNT_OF(OPTIMIZER_FLAGS) + opts->setting_count; i++) {
        const bool fixed = i < COUNT_OF(OPTIMIZER_FLAGS);
        const optimizer_flag *flag = fixed ? &OPTIMIZER_FLAGS[i] : NULL;
        const size_t s = i - (fixed ? 0 : COUNT_OF(OPTIMIZER_FLAGS));
        const char *name = fixed ? flag->setting : opts->settings[s].name;
        const char *given = fixed ? flag->flag : opts->settings[s].flag;
        if (fixed && !cli_given(opts, given)) {
            continue;
        }
        double value = fixed ? flag_value(opts, flag) : opts->settings[s].value;
        if (bnmlp_optimizer_set(config, name, value) != BNMLP_OK) {
            char flags[256];
            describe_optimizer(config->kind, flags, sizeof flags);
            cli_usage_error(cmd->name, "%s does not apply to --optimizer %s (its flags:%s)", given,
                            bnmlp_optimizer_name(config->kind), flags);
            command_print_usage(cmd);
            return CLI_EXIT_USAGE;
        }
        /* The library's range, checked setting by setting to name the flag. */
        bnmlp_optimizer_config alone;
        bnmlp_optimizer_defaults(config->kind, &alone);
        bnmlp_optimizer_set(&alone, name, value);
        if (bnmlp_optimizer_check(&alone) != BNMLP_OK) {
            cli_usage_error(cmd->name, "bad value for %s: %g is out of range for --optimizer %s", given,
                            value, bnmlp_optimizer_name(config->kind));
            command_print_usage(cmd);
            return CLI_EXIT_USAGE;
        }
    }
    /* Each clipping flag is in range alone; the library refuses two at once, as Keras does. Say so
     * (a resumed run counts the checkpoint's). */
    const bnmlp_clip_config *clip = &config->clip;
    if ((clip->clipnorm > 0.0f) + (clip->clipvalue > 0.0f) + (clip->global_clipnorm > 0.0f) > 1) {
        const bool resumed = strcmp(cmd->name, "resume") == 0;
        cli_usage_error(cmd->name,
                        "at most one of --clipnorm, --clipvalue and --global-clipnorm may be non-zero, as in "
                        "Keras (here --clipnorm %g --clipvalue %g --global-clipnorm %g%s)",
                        (double)clip->clipnorm, (double)clip->clipvalue, (double)clip->global_clipnorm,
                        resumed ? ", the checkpoint's included: give its one 0 with --override to change it"
                                : "");
        command_print_usage(cmd);
        return CLI_EXIT_USAGE;
    }
    if (bnmlp_optimizer_check(config) != BNMLP_OK) {
        cli_usage_error(cmd->name, "the settings of --optimizer %s are out of range",
                        bnmlp_optimizer_name(config->kind));
        command_print_usage(cmd);
        return CLI_EXIT_USAGE;
    }
    return -1;
}

/* The flag checks train and resume share; -1, or 2 (reported). */
static int check_fit_flags(const command *cmd, const cli_options *opts) {
    int status;
    if ((status = conflict(cmd, opts, "--validation-data", "--validation-split")) >= 0 ||
        (status = conflict(cmd, opts, "--labels", "--label-column")) >= 0 ||
        (status = needs(cmd, opts, "--validation-labels", "--validation-data")) >= 0 ||
        (status = needs(cmd, opts, "--validation-data", "--data")) >= 0 ||
        (status = needs(cmd, opts, "--plot-log", "--plot")) >= 0) {
        return status;
    }
    if (strcmp(cmd->name, "train") == 0 &&
        (status = needs(cmd, opts, "--checkpoint", "--checkpoint-every")) >= 0) {
        return status;
    }
    if (cli_given(opts, "--label-column") && data_is_npy(opts->data) &&
        !data_column_is_index(opts->label_column)) {
        return command_usage_error(
            cmd, "--label-column must be a 0-based index for .npy data, whose columns have no names", NULL);
    }
    return -1;
}

/* Checks before training that path's directory exists and is writable, so that a long run
 * does not end in an output it cannot write; 1 (reported with the path) if not, else -1. */
static int check_writable(const command *cmd, const char *flag, const char *path) {
    if (path == NULL) {
        return -1;
    }
    char directory[PATH_SIZE];
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        snprintf(directory, sizeof directory, ".");
    } else {
        size_t length = slash == path ? 1 : (size_t)(slash - path);
        snprintf(directory, sizeof directory, "%.*s",
                 (int)(length < sizeof directory ? length : sizeof directory - 1), path);
    }
    errno = 0;
    if (access(directory, W_OK | X_OK) != 0) {
        cli_failure(cmd->name, "cannot write %s %s: directory %s: %s", flag, path, directory,
                    strerror(errno != 0 ? errno : EACCES));
        return CLI_EXIT_FAILURE;
    }
    return -1;
}

/* Checks every output of a fit before it starts; 1 (reported) if one cannot be written. */
static int check_fit_outputs(const command *cmd, const cli_options *opts, const char *checkpoint) {
    int status;
    if ((status = check_writable(cmd, "--out", opts->out)) >= 0 ||
        (status = check_writable(cmd, "--history", opts->history)) >= 0 ||
        (status = check_writable(cmd, "--plot", opts->plot)) >= 0 ||
        (opts->checkpoint_every > 0 && (status = check_writable(cmd, "--checkpoint", checkpoint)) >= 0)) {
        return status;
    }
    return -1;
}

/* ----------------------------------------------------------------------------------------- */
/* Data for fit                                                                              */
/* ----------------------------------------------------------------------------------------- */

/* The tensors of a fit: owned ones and the views fit uses. */
typedef struct fit_data {
    bnmlp_tensor *x, *y;           /* --data (all rows) */
    bnmlp_tensor *vx, *vy;         /* --validation-data, or NULL */
    bnmlp_tensor train_x, train_y; /* the training rows (views) */
    bnmlp_tensor val_x, val_y;     /* the validation rows (views), when has_validation */
    bool has_validation;           /* validation given or split */
    const char *validation_name;   /* the validation data's name for messages */
    bnmlp_class_names *names;      /* --data's class names (a text label column), or NULL */
    bnmlp_class_names *vnames;     /* --validation-data's, or NULL */
} fit_data;

static void fit_data_free(fit_data *d) {
    bnmlp_class_names_free(d->names);
    bnmlp_class_names_free(d->vnames);
    bnmlp_tensor_free(d->x);
    bnmlp_tensor_free(d->y);
    bnmlp_tensor_free(d->vx);
    bnmlp_tensor_free(d->vy);
}

/* Largest feature magnitude the tool trains on: beyond it float32 products overflow within a few
 * layers (and the SGD step with it), so the run would diverge far from the cause. */
#define HUGE_FEATURE 1e15

/* Refuses a feature value above HUGE_FEATURE in magnitude, naming the file, line and feature; 1
 * (reported), else -1. */
static int check_feature_scale(const command *cmd, const char *path, const bnmlp_tensor *x) {
    for (size_t i = 0; x != NULL && i < x->rows * x->cols; i++) {
        if (fabsf(x->data[i]) > (float)HUGE_FEATURE) {
            char where[64];
            data_locate(path, i / x->cols + 1, where, sizeof where);
            cli_failure(cmd->name,
                        "%s: %s: feature %zu is %g, beyond %g in magnitude: unscaled data makes training "
                        "overflow; scale that column (standardize it: subtract its mean, divide by its "
                        "standard deviation)",
                        path, where, i % x->cols + 1, (double)x->data[i], HUGE_FEATURE);
            return CLI_EXIT_FAILURE;
        }
    }
    return -1;
}

/* Reads --data and the validation data (file or split); 1 (reported) on failure, else -1. */
static int read_fit_data(const command *cmd, const cli_options *opts, fit_data *d) {
    *d = (fit_data){0};
    data_source source = {.path = opts->data,
                          .labels_path = opts->labels_path,
                          .label_column = opts->label_column,
                          .class_names = &d->names};
    if (!data_read_labelled(cmd->name, &source, &d->x, &d->y)) {
        return CLI_EXIT_FAILURE;
    }
    int status = check_feature_scale(cmd, opts->data, d->x);
    if (status >= 0) {
        return status;
    }
    size_t rows = d->x->rows;
    size_t train_rows = rows;
    if (opts->validation_split > 0.0) {
        /* Keras: the first int(n * (1 - split)) rows train, the last ones validate. */
        train_rows = (size_t)((double)rows * (1.0 - opts->validation_split));
        if (train_rows == 0 || train_rows == rows) {
            cli_failure(cmd->name, "--validation-split %g of the %zu rows of %s leaves an empty part",
                        opts->validation_split, rows, opts->data);
            return CLI_EXIT_FAILURE;
        }
        d->val_x = bnmlp_tensor_view(d->x->data + train_rows * d->x->cols, rows - train_rows, d->x->cols);
        d->val_y = bnmlp_tensor_view(d->y->data + train_rows * d->y->cols, rows - train_rows, d->y->cols);
        d->has_validation = true;
        d->validation_name = opts->data;
    }
    d->train_x = bnmlp_tensor_view(d->x->data, train_rows, d->x->cols);
    d->train_y = bnmlp_tensor_view(d->y->data, train_rows, d->y->cols);
    if (opts->validation_data != NULL) {
        data_source validation = {.path = opts->validation_data,
                                  .labels_path = opts->validation_labels,
                                  .label_column = opts->label_column,
                                  .class_names = &d->vnames};
        if (!data_read_labelled(cmd->name, &validation, &d->vx, &d->vy)) {
            return CLI_EXIT_FAILURE;
        }
        if ((status = check_feature_scale(cmd, opts->validation_data, d->vx)) >= 0) {
            return status;
        }
        if (d->vx->cols != d->x->cols) {
            cli_failure(cmd->name, "%s has %zu feature columns but %s has %zu", opts->validation_data,
                        d->vx->cols, opts->data, d->x->cols);
            return CLI_EXIT_FAILURE;
        }
        d->val_x = *d->vx;
        d->val_y = *d->vy;
        d->val_x.owned = d->val_y.owned = false;
        d->has_validation = true;
        d->validation_name = opts->validation_data;
    }
    return -1;
}

/* Where the model's loss came from, for label messages: set by train when --loss was not given. */
typedef struct loss_origin {
    bool inferred;     /* the loss was inferred from the SPEC's last layer (train without --loss) */
    const char *model; /* the model file the loss was read from (resume, evaluate), or NULL */
} loss_origin;

/* Checks labels y of path against the model's loss through the library; false (reported with
 * the path, the line of the file (CSV, header counted) or row (.npy), the value, and where the
 * loss came from) if bad. */
static bool labels_suit(const command *cmd, const char *path, const bnmlp_tensor *y, const bnmlp_model *model,
                        const loss_origin *origin, bool last_column) {
    bnmlp_error_detail detail = {0};
    bnmlp_loss loss = bnmlp_model_loss(model);
    bnmlp_status status = bnmlp_loss_check_targets(loss, bnmlp_model_output_width(model), y, &detail);
    if (status == BNMLP_OK) {
        return true;
    }
    const char *message = detail.message[0] != '\0' ? detail.message : bnmlp_status_string(status);
    char where[64] = "";
    if (detail.line > 0 && strncmp(message, "row ", 4) == 0 && strstr(message, ": ") != NULL) {
        message = strstr(message, ": ") + 2; /* the library's "row N: " becomes the file's line */
        data_locate(path, detail.line, where, sizeof where);
    }
    char hint[512] = "";
    if (origin != NULL && origin->inferred) {
        char names[400];
        list_losses(names, sizeof names);
        snprintf(hint, sizeof hint, " (loss %s was inferred from the last layer; use --loss NAME: %s)",
                 bnmlp_loss_name(loss), names);
    } else if (origin != NULL && origin->model != NULL) {
        snprintf(hint, sizeof hint, " (the loss of %s is %s)", origin->model, bnmlp_loss_name(loss));
    }
    bool fractional = false; /* a label with a fraction: likely a feature, no label column */
    for (size_t i = 0; i < y->rows * y->cols && !fractional; i++) {
        fractional = y->data[i] != floorf(y->data[i]);
    }
    cli_failure(cmd->name, "%s: %s%s%s%s%s", path, where, where[0] != '\0' ? ": " : "", message, hint,
                status == BNMLP_ERR_LABEL && fractional && last_column
                    ? "; the labels are the last column of the file: if it has no label column, or it is "
                      "another one, see --label-column and --labels"
                    : "");
    return false;
}

/* Text labels: a new model (train) takes the class names of --data (their number must be its class
 * count); then the text labels of every file are mapped onto the model's names (a name it does not
 * know is an error naming it and its line). 1 (reported) if bad, else -1. */
static int apply_class_names(const command *cmd, const cli_options *opts, const fit_data *d,
                             bnmlp_model *model, const loss_origin *origin) {
    if (d->names != NULL && origin->model == NULL && bnmlp_model_class_name(model, 0) == NULL) {
        size_t classes = bnmlp_model_class_count(model);
        if (classes != d->names->count) {
            cli_failure(cmd->name,
                        "%s: the label column names %zu classes (\"%s\" ...); the model (%s, %zu output(s)) "
                        "tells %zu apart: give the last layer %zu outputs with softmax%s",
                        opts->data, d->names->count, d->names->names[0],
                        bnmlp_loss_name(bnmlp_model_loss(model)), bnmlp_model_output_width(model), classes,
                        d->names->count, d->names->count == 2 ? ", or 1 with sigmoid" : "");
            return CLI_EXIT_FAILURE;
        }
        bnmlp_status status = bnmlp_model_set_class_names(model, d->names->names, d->names->count);
        if (status != BNMLP_OK) {
            cli_failure(cmd->name, "cannot name the model's classes: %s", bnmlp_status_string(status));
            return CLI_EXIT_FAILURE;
        }
    }
    if (d->names != NULL && !data_map_class_names(cmd->name, opts->data, d->y, d->names, model)) {
        return CLI_EXIT_FAILURE;
    }
    if (d->vnames != NULL &&
        !data_map_class_names(cmd->name, opts->validation_data, d->vy, d->vnames, model)) {
        return CLI_EXIT_FAILURE;
    }
    return -1;
}

/* Checks the width, then the labels of the training and validation data against the model (the
 * width first: labels read from a file of the wrong width mean nothing); 1 (reported) if bad. */
static int check_fit_labels(const command *cmd, const cli_options *opts, const fit_data *d,
                            bnmlp_model *model, const loss_origin *origin) {
    if (d->x->cols != bnmlp_model_input_width(model)) {
        cli_failure(cmd->name,
                    "%s has %zu feature columns; the model takes %zu (are --data and --label-column right?)",
                    opts->data, d->x->cols, bnmlp_model_input_width(model));
        return CLI_EXIT_FAILURE;
    }
    int mapped = apply_class_names(cmd, opts, d, model, origin);
    if (mapped >= 0) {
        return mapped;
    }
    const char *labels = opts->labels_path != NULL ? opts->labels_path : opts->data;
    const bool last_column = opts->labels_path == NULL && opts->label_column == NULL;
    if (!labels_suit(cmd, labels, d->y, model, origin, last_column)) {
        return CLI_EXIT_FAILURE;
    }
    if (d->vy != NULL) {
        const char *val_labels =
            opts->validation_labels != NULL ? opts->validation_labels : opts->validation_data;
        if (!labels_suit(cmd, val_labels, d->vy, model, origin,
                         opts->validation_labels == NULL && last_column)) {
            return CLI_EXIT_FAILURE;
        }
    }
    return -1;
}

/* Refuses outputs of a fit that alias each other or an input (before anything is read): the
 * model, history, plot and checkpoint (when written) against each other and the data files. For
 * resume the checkpoint is also read: then no other output may be it. */
static bool fit_paths_check(const command *cmd, const cli_options *opts, const char *checkpoint,
                            bool checkpoint_is_input) {
    const path_role roles[] = {
        {"--data", opts->data, false},
        {"--labels", opts->labels_path, false},
        {"--validation-data", opts->validation_data, false},
        {"--validation-labels", opts->validation_labels, false},
        {"--checkpoint", checkpoint_is_input || opts->checkpoint_every > 0 ? checkpoint : NULL,
         !checkpoint_is_input},
        {"--out", opts->out, true},
        {"--history", opts->history, true},
        {"--plot", opts->plot, true},
    };
    return paths_check(cmd->name, roles, COUNT_OF(roles));
}

/* Prints what was read (rows, features, label column, classes and their counts, the training and
 * validation rows) on stderr, unless --quiet, as a check before a long run. */
static void print_data_summary(const cli_options *opts, const fit_data *d, const bnmlp_model *model) {
    if (opts->quiet) {
        return;
    }
    const char *label = opts->labels_path != NULL    ? opts->labels_path
                        : opts->label_column != NULL ? opts->label_column
                                                     : "the last column";
    fprintf(stderr, "Read %s: %zu rows, %zu features, labels from %s%s\n", opts->data, d->x->rows, d->x->cols,
            opts->labels_path != NULL || opts->label_column == NULL ? "" : "column ", label);
    bnmlp_loss loss = bnmlp_model_loss(model);
    if (loss != BNMLP_LOSS_MEAN_SQUARED_ERROR && d->y->cols == 1) {
        size_t classes = loss == BNMLP_LOSS_BINARY_CROSSENTROPY ? 2 : bnmlp_model_output_width(model);
        fprintf(stderr, "Classes (%s):", bnmlp_loss_name(loss));
        for (size_t c = 0; c < classes; c++) {
            size_t count = 0;
            for (size_t r = 0; r < d->y->rows; r++) count += d->y->data[r] == (float)c;
            const char *name = bnmlp_model_class_name(model, c);
            if (name != NULL) {
                fprintf(stderr, "%s %zu \"%s\": %zu rows", c > 0 ? "," : "", c, name, count);
            } else {
                fprintf(stderr, "%s %zu: %zu rows", c > 0 ? "," : "", c, count);
            }
        }
        fputc('\n', stderr);
    } else {
        fprintf(stderr, "Targets (%s): %zu column(s)\n", bnmlp_loss_name(loss), d->y->cols);
    }
    if (d->has_validation) {
        fprintf(stderr, "Training on %zu rows, validating on %zu rows (%s)\n", d->train_x.rows, d->val_x.rows,
                opts->validation_data != NULL ? opts->validation_data : "the last rows of --data");
    } else {
        fprintf(stderr, "Training on %zu rows, no validation\n", d->train_x.rows);
    }
}

/* ----------------------------------------------------------------------------------------- */
/* Fitting, shared by train and resume                                                       */
/* ----------------------------------------------------------------------------------------- */

/* Longest --metrics text of one epoch. */
#define EXTRA_SIZE 384

/* --metrics during fit: the library records them in every epoch's record
 * (bnmlp_fit_config.metrics, Keras's compiled metrics: the training values over the epoch's
 * batches from each step's training-mode outputs, the validation values over the validation rows
 * in inference mode); the tool keeps every epoch's values for the history. */
typedef struct epoch_scores {
    size_t count;                   /* metrics */
    bnmlp_metric kinds[SCORES_MAX]; /* their kinds, as fit takes them */
    bool validation;                /* val_ values are recorded */
    double *values;                 /* per epoch of the model's life (index epoch - 1): count
                                       values, then count val_ ones */
    size_t epochs;                  /* epochs values has room for */
} epoch_scores;

static void epoch_scores_free(epoch_scores *e) {
    free(e->values);
    *e = (epoch_scores){0};
}

/* Plans the values of count metrics for epochs epochs; false (reported). */
static bool epoch_scores_start(const command *cmd, epoch_scores *e, const fit_data *d,
                               const bnmlp_metric *kinds, size_t count, size_t epochs) {
    *e = (epoch_scores){.count = count, .validation = d->has_validation, .epochs = epochs};
    memcpy(e->kinds, kinds, count * sizeof *kinds);
    e->values = malloc(epochs * 2 * count * sizeof *e->values);
    if (e->values == NULL) {
        cli_failure(cmd->name, "cannot plan the --metrics: %s", bnmlp_status_string(BNMLP_ERR_OUT_OF_MEMORY));
        return false;
    }
    for (size_t i = 0; i < epochs * 2 * count; i++) {
        e->values[i] = NAN;
    }
    return true;
}

/* Keeps the metrics of record's epoch and formats them into text ("  NAME: V ... val_NAME: V"). */
static void epoch_scores_record(epoch_scores *e, const bnmlp_epoch_record *record, char *text, size_t size) {
    text[0] = '\0';
    if (record->epoch == 0 || record->epoch > e->epochs) {
        return;
    }
    double *values = e->values + (record->epoch - 1) * 2 * e->count;
    for (size_t i = 0; i < e->count; i++) {
        values[i] = record->metrics[i];
        values[e->count + i] = record->val_metrics[i];
    }
    size_t used = 0;
    for (size_t pass = 0; pass < (e->validation ? 2u : 1u); pass++) {
        for (size_t i = 0; i < e->count && used < size; i++) {
            int n = snprintf(text + used, size - used, "  %s%s: %.4f", pass == 1 ? "val_" : "",
                             bnmlp_metric_name(e->kinds[i]), values[pass * e->count + i]);
            used += n > 0 ? (size_t)n : 0;
        }
    }
}

/* What the epoch callback needs. */
typedef struct fit_context {
    const command *cmd;          /* for messages */
    bnmlp_model *model;          /* the model being fitted */
    progress display;            /* the progress line */
    size_t checkpoint_every;     /* 0: none */
    const char *checkpoint_path; /* where checkpoints go */
    bool checkpoint_failed;      /* a checkpoint could not be written (reported): fit stopped */
    size_t checkpointed_epoch;   /* the epoch of the last checkpoint written (0: none) */
    int interrupted;             /* the signal that stopped fit after an epoch, or 0 */
    epoch_scores *scores;        /* --metrics, or NULL */
    char extra[EXTRA_SIZE];      /* the last epoch's --metrics text ("  auc: 0.9  val_auc: 0.8") */
    double batch_loss_sum;       /* the epoch's running sums over its batches so far, weighted */
    double batch_accuracy_sum;   /*   by their rows, as Keras's progress bar shows them */
    size_t batch_rows;           /* rows of the epoch's batches so far */
    double last_draw;            /* monotonic seconds of the last per-batch redraw */
    bool signal_noted;           /* the "finishing the epoch" note was printed */
} fit_context;

/* Seconds between two per-batch redraws (Keras's progress bar: 0.05). */
#define BATCH_REDRAW_INTERVAL 0.05

/* Says once, as soon as a batch or an epoch ends after SIGINT / SIGTERM came, that the epoch
 * under way is finished and then saved (unless --quiet). */
static void note_signal(fit_context *ctx, size_t epoch) {
    if (signals_caught() != 0 && !ctx->signal_noted && ctx->display.stream != NULL) {
        ctx->signal_noted = true;
        progress_break(&ctx->display);
        fprintf(ctx->display.stream, "%s received: finishing epoch %zu, then saving\n",
                signals_caught() == SIGINT ? "SIGINT" : "SIGTERM", epoch);
    }
}

/* Writes a checkpoint of the model with SIGINT / SIGTERM deferred, so that no signal lands in the
 * middle of the write (the library's writer then leaves no temporary file); false (reported). */
static bool save_checkpoint(fit_context *ctx, size_t epoch) {
    sigset_t saved;
    signals_defer(&saved);
    bnmlp_status status = bnmlp_model_save_checkpoint(ctx->model, ctx->checkpoint_path);
    signals_resume(&saved);
    if (status != BNMLP_OK) {
        progress_break(&ctx->display);
        cli_failure(ctx->cmd->name, "cannot write checkpoint %s: %s", ctx->checkpoint_path,
                    bnmlp_status_string(status));
        return false;
    }
    ctx->checkpointed_epoch = epoch;
    return true;
}

/* fit's on_epoch_end: progress, a checkpoint every N epochs, then stops fit when SIGINT or
 * SIGTERM came (fit has no per-batch callback yet: the epoch under way is finished first). */
static bool on_epoch_end(const bnmlp_epoch_record *record, void *context) {
    fit_context *ctx = context;
    if (ctx->scores != NULL) {
        epoch_scores_record(ctx->scores, record, ctx->extra, sizeof ctx->extra);
    }
    progress_epoch(&ctx->display, record, ctx->extra);
    if (ctx->checkpoint_every > 0 && record->epoch % ctx->checkpoint_every == 0 &&
        !save_checkpoint(ctx, record->epoch)) {
        ctx->checkpoint_failed = true;
        return false;
    }
    if (signals_caught() != 0) {
        note_signal(ctx, record->epoch);
        ctx->interrupted = signals_caught();
        return false;
    }
    return true;
}

/* fit's on_batch_end: redraws the progress line with the epoch's running loss and accuracy (on
 * a terminal, at most every BATCH_REDRAW_INTERVAL and at the epoch's last batch), and notes a
 * SIGINT / SIGTERM at once. It never stops the epoch: the model saved after a signal must be a
 * full epoch's (a checkpoint continues from an epoch's end), so the epoch under way finishes
 * and on_epoch_end stops fit. */
static bool on_batch_end(const bnmlp_batch_record *record, void *context) {
    fit_context *ctx = context;
    if (record->batch == 0) {
        ctx->batch_loss_sum = 0.0;
        ctx->batch_accuracy_sum = 0.0;
        ctx->batch_rows = 0;
    }
    ctx->batch_loss_sum += record->loss * (double)record->rows;
    ctx->batch_accuracy_sum += record->accuracy * (double)record->rows;
    ctx->batch_rows += record->rows;
    note_signal(ctx, record->epoch);
    const double now = progress_now();
    if (ctx->display.terminal && ctx->batch_rows > 0 &&
        (now - ctx->last_draw >= BATCH_REDRAW_INTERVAL || record->batch + 1 == record->batches)) {
        ctx->last_draw = now;
        progress_batch(&ctx->display, record->epoch, record->batch + 1,
                       ctx->batch_loss_sum / (double)ctx->batch_rows,
                       ctx->batch_accuracy_sum / (double)ctx->batch_rows);
    }
    return true;
}

/* What early stopping watches, as --monitor names it: val_loss, ..., or a metric's name (val_auc). */
static const char *monitor_label(const bnmlp_early_stopping_config *config, char *buffer, size_t size) {
    if (config->monitor != BNMLP_MONITOR_VAL_METRIC && config->monitor != BNMLP_MONITOR_METRIC) {
        return bnmlp_monitor_name(config->monitor);
    }
    snprintf(buffer, size, "%s%s", config->monitor == BNMLP_MONITOR_VAL_METRIC ? "val_" : "",
             bnmlp_metric_name(config->metric));
    return buffer;
}

/* Describes the run for the plot's subtitle. */
static void describe_run(const cli_options *opts, const bnmlp_fit_config *fit, const char *layers,
                         char *buffer, size_t size) {
    double lr = 0.0;
    bnmlp_optimizer_get(&fit->optimizer, "learning_rate", &lr);
    snprintf(buffer, size, "%s%s%s, lr %g, batch %zu", layers != NULL ? layers : "",
             layers != NULL ? ", " : "", bnmlp_optimizer_name(fit->optimizer.kind), lr, opts->batch_size);
}

/* Fits the model on d from epoch initial_epoch + 1 to opts->epochs, with progress, checkpoints
 * and --metrics (scores, or NULL), then saves the model, history and plot; history has room for
 * opts->epochs records, one per epoch of the model's life (index epoch - 1), of which the
 * earlier run's (epochs 1 .. initial_epoch) are filled in when prior is true: the history and
 * the plot then show them too. Returns the exit status. */
static int run_fit_planned(const command *cmd, const cli_options *opts, bnmlp_model *model, const fit_data *d,
                           bnmlp_fit_config *fit, const char *checkpoint_path, const char *layers,
                           bnmlp_epoch_record *history, bool prior, epoch_scores *scores) {
    bool has_accuracy = bnmlp_loss_has_accuracy(bnmlp_model_loss(model));
    size_t steps = (d->train_x.rows + opts->batch_size - 1) / opts->batch_size;
    fit_context ctx = {.cmd = cmd,
                       .model = model,
                       .checkpoint_every = opts->checkpoint_every,
                       .checkpoint_path = checkpoint_path,
                       .scores = scores};
    progress_start(&ctx.display, opts->quiet ? NULL : stderr, opts->epochs, steps, has_accuracy);
    signals_unblock(); /* a signal that came while the data was read is recorded now */
    if (signals_caught() != 0) {
        cli_failure(cmd->name, "interrupted (signal %d) before the first epoch: nothing was trained or saved",
                    signals_caught());
        return CLI_EXIT_SIGNAL(signals_caught());
    }
    fit->epochs = opts->epochs;
    fit->batch_size = opts->batch_size;
    fit->validation_x = d->has_validation ? &d->val_x : NULL;
    fit->validation_y = d->has_validation ? &d->val_y : NULL;
    fit->on_epoch_end = on_epoch_end;
    fit->on_batch_end = on_batch_end;
    fit->callback_context = &ctx;
    fit->metrics = scores != NULL ? scores->kinds : NULL;
    fit->metric_count = scores != NULL ? scores->count : 0;
    size_t epochs_run = 0;
    bnmlp_status status =
        bnmlp_model_fit(model, &d->train_x, &d->train_y, fit, history + fit->initial_epoch, &epochs_run);
    if (ctx.checkpoint_failed) {
        return CLI_EXIT_FAILURE;
    }
    progress_finish(&ctx.display, epochs_run);
    if (status != BNMLP_OK) {
        size_t epoch = fit->initial_epoch + epochs_run + 1;
        if (status == BNMLP_ERR_DIVERGED) {
            cli_failure(cmd->name,
                        "training diverged in epoch %zu (%s); the model is not saved: try a smaller --lr",
                        epoch, bnmlp_status_string(status));
        } else {
            cli_failure(cmd->name, "training failed in epoch %zu: %s", epoch, bnmlp_status_string(status));
        }
        return CLI_EXIT_FAILURE;
    }
    int exit_status = CLI_EXIT_OK;
    size_t last_epoch = fit->initial_epoch + epochs_run;
    bool stopped = ctx.interrupted != 0 && last_epoch < opts->epochs;
    sigset_t mask;
    signals_defer(&mask); /* the outputs are written whole, whatever comes now */
    if (stopped && ctx.checkpoint_every > 0 && ctx.checkpointed_epoch != last_epoch && epochs_run > 0 &&
        !save_checkpoint(&ctx, last_epoch)) {
        exit_status = CLI_EXIT_FAILURE;
    }
    bnmlp_status saved = bnmlp_model_save(model, opts->out);
    if (saved != BNMLP_OK) {
        cli_failure(cmd->name, "cannot write model %s: %s", opts->out, bnmlp_status_string(saved));
        exit_status = CLI_EXIT_FAILURE;
    }
    const char *metric_names[SCORES_MAX];
    for (size_t i = 0; scores != NULL && i < scores->count; i++) {
        metric_names[i] = bnmlp_metric_name(scores->kinds[i]);
    }
    /* The records written: the earlier run's (when read) and this one's. */
    const size_t first = prior ? 0 : fit->initial_epoch;
    const size_t written = last_epoch - first;
    const history_columns extra = {
        .learning_rate = fit->schedule.kind != BNMLP_SCHEDULE_CONSTANT || fit->reduce_lr.enabled,
        .metric_count = scores != NULL ? scores->count : 0,
        .metrics = metric_names,
        .validation = scores != NULL && scores->validation,
        .values = scores != NULL ? scores->values + first * 2 * scores->count : NULL};
    if (opts->history != NULL && !curves_write_history(opts->history, history + first, written, &extra)) {
        exit_status = CLI_EXIT_FAILURE;
    }
    char subtitle[256];
    describe_run(opts, fit, layers, subtitle, sizeof subtitle);
    if (opts->plot != NULL && !curves_write_plot(opts->plot, history + first, written,
                                                 bnmlp_model_loss(model), subtitle, opts->plot_log)) {
        exit_status = CLI_EXIT_FAILURE;
    }
    if (epochs_run > 0) {
        char label[80];
        const bnmlp_epoch_record *last = &history[last_epoch - 1];
        char metrics[160];
        progress_format_metrics(last, has_accuracy, metrics, sizeof metrics);
        printf("epoch %zu/%zu  %s%s\n", last->epoch, opts->epochs, metrics, ctx.extra);
        if (last->stop == BNMLP_STOP_EARLY_STOPPING) {
            printf("early stopping after epoch %zu: no %s improvement in %zu epochs (best: epoch %zu)\n",
                   last->epoch, monitor_label(&fit->early_stopping, label, sizeof label),
                   fit->early_stopping.patience, last->best_epoch);
        }
        if (last->restored_epoch > 0) {
            printf("restored the weights of epoch %zu (best %s); %s holds them\n", last->restored_epoch,
                   monitor_label(&fit->early_stopping, label, sizeof label), opts->out);
        }
    }
    signals_resume(&mask);
    if (stopped) {
        cli_failure(cmd->name,
                    "interrupted by %s after epoch %zu of %zu: saved %s%s%s%s%s%s%s (exit status %d)",
                    ctx.interrupted == SIGINT ? "SIGINT" : "SIGTERM", last_epoch, opts->epochs, opts->out,
                    opts->history != NULL ? ", " : "", opts->history != NULL ? opts->history : "",
                    opts->plot != NULL ? ", " : "", opts->plot != NULL ? opts->plot : "",
                    ctx.checkpoint_every > 0 ? " and the checkpoint " : "",
                    ctx.checkpoint_every > 0 ? ctx.checkpoint_path : "", CLI_EXIT_SIGNAL(ctx.interrupted));
        return exit_status == CLI_EXIT_OK ? CLI_EXIT_SIGNAL(ctx.interrupted) : exit_status;
    }
    return exit_status;
}

/* Fits the model (see run_fit_planned) with its history and --metrics planned first. */
static int run_fit(const command *cmd, const cli_options *opts, bnmlp_model *model, const fit_data *d,
                   bnmlp_fit_config *fit, const char *checkpoint_path, const char *layers,
                   const bnmlp_metric *kinds, size_t kind_count) {
    bnmlp_epoch_record *history = calloc(opts->epochs, sizeof *history);
    if (history == NULL) {
        cli_failure(cmd->name, "out of memory for %zu epochs of history", opts->epochs);
        return CLI_EXIT_FAILURE;
    }
    epoch_scores scores = {0};
    if (kind_count > 0 && !epoch_scores_start(cmd, &scores, d, kinds, kind_count, opts->epochs)) {
        free(history);
        return CLI_EXIT_FAILURE;
    }
    /* A resumed run continues the history file of the run it resumes (its epochs up to the
     * checkpoint's), so that the history and the plot show the whole training. */
    bool prior = fit->initial_epoch > 0 && opts->history != NULL && access(opts->history, F_OK) == 0;
    if (prior) {
        const char *names[SCORES_MAX];
        for (size_t i = 0; i < kind_count; i++) {
            names[i] = bnmlp_metric_name(kinds[i]);
        }
        const history_columns wanted = {.metric_count = kind_count, .metrics = names};
        char problem[160];
        if (!curves_read_history(opts->history, fit->initial_epoch, &wanted, history,
                                 kind_count > 0 ? scores.values : NULL, problem, sizeof problem)) {
            cli_failure(cmd->name,
                        "--history %s exists but cannot be continued: %s; name another file (the resumed "
                        "run's history continues the interrupted run's)",
                        opts->history, problem);
            epoch_scores_free(&scores);
            free(history);
            return CLI_EXIT_FAILURE;
        }
    }
    int exit_status = run_fit_planned(cmd, opts, model, d, fit, checkpoint_path, layers, history, prior,
                                      kind_count > 0 ? &scores : NULL);
    epoch_scores_free(&scores);
    free(history);
    return exit_status;
}

/* ----------------------------------------------------------------------------------------- */
/* train                                                                                     */
/* ----------------------------------------------------------------------------------------- */

/* The loss from --loss, or from the SPEC's last activation (softmax: softmax, else bce). */
static int choose_loss(const command *cmd, const cli_options *opts, const layer_spec *spec,
                       bnmlp_loss *loss) {
    if (opts->loss == NULL) {
        *loss = spec_last_activation(spec) == BNMLP_ACTIVATION_SOFTMAX ? BNMLP_LOSS_CATEGORICAL_CROSSENTROPY
                                                                       : BNMLP_LOSS_BINARY_CROSSENTROPY;
    } else if (bnmlp_loss_from_name(opts->loss, loss) != BNMLP_OK) {
        char names[512];
        list_losses(names, sizeof names);
        cli_usage_error(cmd->name, "unknown --loss '%s' (expected one of %s)", opts->loss, names);
        command_print_usage(cmd);
        return CLI_EXIT_USAGE;
    }
    if (*loss == BNMLP_LOSS_CATEGORICAL_CROSSENTROPY && spec_output_width(spec) < 2) {
        cli_usage_error(cmd->name,
                        "--loss %s needs a last dense layer of 2 units or more (one per class), e.g. "
                        "dense:3:softmax; this SPEC ends with %zu",
                        opts->loss != NULL ? opts->loss : bnmlp_loss_name(*loss), spec_output_width(spec));
        command_print_usage(cmd);
        return CLI_EXIT_USAGE;
    }
    /* Categorical cross-entropy takes probabilities: a linear (or other) last layer would be
     * read as probabilities, clipped, and train to nonsense. Keras's from_logits is not offered. */
    if (*loss == BNMLP_LOSS_CATEGORICAL_CROSSENTROPY &&
        spec_last_activation(spec) != BNMLP_ACTIVATION_SOFTMAX) {
        cli_usage_error(
            cmd->name,
            "--loss %s needs class probabilities: end SPEC with a softmax, e.g. dense:%zu:%s (this "
            "SPEC ends with %s, whose outputs are not probabilities)",
            opts->loss != NULL ? opts->loss : bnmlp_loss_name(*loss), spec_output_width(spec),
            bnmlp_activation_name(BNMLP_ACTIVATION_SOFTMAX),
            bnmlp_activation_name(spec_last_activation(spec)));
        command_print_usage(cmd);
        return CLI_EXIT_USAGE;
    }
    return -1;
}

/* Creates and builds the model of the SPEC for width inputs; NULL (reported) on failure. */
static bnmlp_model *build_model(const command *cmd, const cli_options *opts, const layer_spec *spec,
                                bnmlp_loss loss, size_t width) {
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(width, &status);
    if (model == NULL) {
        cli_failure(cmd->name, "cannot create the model: %s", bnmlp_status_string(status));
        return NULL;
    }
    if ((status = spec_add_layers(spec, model, opts->seed)) != BNMLP_OK ||
        (status = bnmlp_model_set_loss(model, loss)) != BNMLP_OK ||
        (status = bnmlp_model_build(model, opts->batch_size, opts->seed)) != BNMLP_OK) {
        cli_failure(cmd->name, "cannot build the model of --layers %s: %s", opts->layers,
                    bnmlp_status_string(status));
        bnmlp_model_free(model);
        return NULL;
    }
    return model;
}

/* Adapts a leading norm layer on the training rows (Keras: adapt before fit); 1 (reported) on
 * failure, else -1. */
static int adapt_normalization(const command *cmd, const layer_spec *spec, bnmlp_model *model,
                               const fit_data *d) {
    const bnmlp_status status = spec_adapt(spec, model, &d->train_x);
    if (status != BNMLP_OK) {
        cli_failure(cmd->name, "cannot adapt the norm layer on the training rows: %s",
                    bnmlp_status_string(status));
        return CLI_EXIT_FAILURE;
    }
    return -1;
}

/* The flag checks of the training controls; -1, or 2 (reported). */
static int check_control_flags(const command *cmd, const cli_options *opts) {
    int status;
    if ((status = conflict(cmd, opts, "--reduce-lr", "--lr-schedule")) >= 0) {
        return status;
    }
    if (cli_given(opts, "--monitor") && !cli_given(opts, "--early-stopping") &&
        !cli_given(opts, "--reduce-lr") && !cli_given(opts, "--save-best")) {
        return command_usage_error(cmd, "--monitor needs --early-stopping, --reduce-lr or --save-best", NULL);
    }
    return -1;
}

/* --standardize: the SPEC with a norm layer in front, reparsed into *spec (text in buffer,
 * opts->layers pointed at it); -1, or 2 (reported) when the SPEC already starts with norm. */
static int standardize_spec(const command *cmd, cli_options *opts, layer_spec *spec, char *buffer,
                            size_t size) {
    if (spec->count > 0 && spec->layers[0].kind == SPEC_NORMALIZATION) {
        return command_usage_error(
            cmd, "--standardize adds a norm layer, and --layers already starts with one", NULL);
    }
    spec_error problem;
    if ((size_t)snprintf(buffer, size, "norm,%s", opts->layers) >= size ||
        !spec_parse(buffer, spec, &problem)) {
        return command_usage_error(cmd, "--standardize: --layers is too long for one more layer", NULL);
    }
    opts->layers = buffer;
    return -1;
}

/* The training controls into fit, once the data and loss are known; -1, or 2 (reported). */
static int apply_controls(const command *cmd, const cli_options *opts, const fit_data *d,
                          const bnmlp_model *model, bnmlp_fit_config *fit) {
    /* --metrics, parsed (and checked) before: a --monitor may name one of them. */
    bnmlp_metric kinds[SCORES_MAX];
    size_t kind_count = 0;
    char problem[512];
    if (opts->metrics != NULL && !scores_parse(opts->metrics, scores_task(bnmlp_model_loss(model)), kinds,
                                               &kind_count, problem, sizeof problem)) {
        return command_usage_error(cmd, problem, NULL);
    }
    const controls_context context = {.epochs = opts->epochs,
                                      .has_validation = d->has_validation,
                                      .has_accuracy = bnmlp_loss_has_accuracy(bnmlp_model_loss(model)),
                                      .metrics = kinds,
                                      .metric_count = kind_count};
    if (!controls_apply(opts, &context, fit, problem, sizeof problem)) {
        return command_usage_error(cmd, problem, NULL);
    }
    return -1;
}

/* --class-weight and --weight-normalization into fit (class weights in *storage, freed by the
 * caller), printed after the summary of what was read; -1, or 2 (reported). */
static int apply_class_weights(const command *cmd, const cli_options *opts, const fit_data *d,
                               const bnmlp_model *model, bnmlp_fit_config *fit, float **storage) {
    char problem[768];
    if (!weights_apply(opts, model, &d->train_y, &fit->weights, storage, problem, sizeof problem)) {
        return command_usage_error(cmd, problem, NULL);
    }
    return -1;
}

/* The checkpoint path: --checkpoint, or OUT.ckpt. */
static const char *checkpoint_path(const cli_options *opts, char *buffer, size_t size) {
    if (opts->checkpoint != NULL) {
        return opts->checkpoint;
    }
    snprintf(buffer, size, "%s.ckpt", opts->out);
    return buffer;
}

static int run_train(const command *cmd, int argc, char **argv, int first) {
    cli_options opts;
    int status = command_parse_flags(cmd, TRAIN_FLAGS, COUNT_OF(TRAIN_FLAGS), &opts, argc, argv, first);
    static const char *const required[] = {"--data", "--layers", "--epochs", NULL};
    if (status >= 0 || (status = command_require_flags(cmd, &opts, required)) >= 0 ||
        (status = check_fit_flags(cmd, &opts)) >= 0) {
        return status;
    }
    bnmlp_precision precision = BNMLP_PRECISION_FP32;
    if (opts.precision != NULL && bnmlp_precision_from_name(opts.precision, &precision) != BNMLP_OK) {
        cli_usage_error(cmd->name, "--precision %s: expected fp32 or bf16", opts.precision);
        command_print_usage(cmd);
        return CLI_EXIT_USAGE;
    }
    if (opts.out == NULL) {
        opts.out = "model.bnmlp";
    }
    char buffer[PATH_SIZE];
    const char *checkpoint = checkpoint_path(&opts, buffer, sizeof buffer);
    if (!fit_paths_check(cmd, &opts, checkpoint, false)) {
        return CLI_EXIT_FAILURE;
    }
    if ((status = check_control_flags(cmd, &opts)) >= 0) {
        return status;
    }
    signals_install(); /* before the model (and its threads) exist */
    static layer_spec spec;
    spec_error spec_problem;
    if (!spec_parse(opts.layers, &spec, &spec_problem)) {
        spec_print_error(stderr, cmd->name, opts.layers, &spec_problem);
        command_print_usage(cmd);
        return CLI_EXIT_USAGE;
    }
    static char standardized[PATH_SIZE];
    if (opts.standardize &&
        (status = standardize_spec(cmd, &opts, &spec, standardized, sizeof standardized)) >= 0) {
        return status;
    }
    bnmlp_loss loss;
    bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
    const bnmlp_optimizer_config defaults = BNMLP_OPTIMIZER_DEFAULT;
    if ((status = choose_loss(cmd, &opts, &spec, &loss)) >= 0 ||
        (status = optimizer_settings(cmd, &opts, &defaults, &fit.optimizer)) >= 0) {
        return status;
    }
    bnmlp_metric kinds[SCORES_MAX];
    size_t kind_count = 0;
    char problem[512];
    if (opts.metrics != NULL &&
        !scores_parse(opts.metrics, scores_task(loss), kinds, &kind_count, problem, sizeof problem)) {
        return command_usage_error(cmd, problem, NULL);
    }
    fit_data d;
    if ((status = read_fit_data(cmd, &opts, &d)) >= 0) {
        fit_data_free(&d);
        return status;
    }
    bnmlp_model *model = build_model(cmd, &opts, &spec, loss, d.x->cols);
    if (model == NULL) {
        fit_data_free(&d);
        return CLI_EXIT_FAILURE;
    }
    const loss_origin origin = {.inferred = opts.loss == NULL};
    float *class_weights = NULL;
    (void)bnmlp_model_set_precision(model, precision); /* a known value: cannot fail */
    if ((status = apply_threads(cmd, &opts, model)) < 0 &&
        (status = check_fit_labels(cmd, &opts, &d, model, &origin)) < 0 &&
        (status = check_fit_outputs(cmd, &opts, checkpoint)) < 0 &&
        (status = adapt_normalization(cmd, &spec, model, &d)) < 0 &&
        (status = apply_controls(cmd, &opts, &d, model, &fit)) < 0 &&
        (status = apply_class_weights(cmd, &opts, &d, model, &fit, &class_weights)) < 0) {
        print_data_summary(&opts, &d, model);
        if (!opts.quiet) {
            weights_print(stderr, opts.class_weight, &fit.weights, model);
        }
        status = run_fit(cmd, &opts, model, &d, &fit, checkpoint, opts.layers, kinds, kind_count);
    }
    free(class_weights);
    bnmlp_model_free(model);
    fit_data_free(&d);
    return status;
}

/* ----------------------------------------------------------------------------------------- */
/* Loading a model                                                                           */
/* ----------------------------------------------------------------------------------------- */

/* ----------------------------------------------------------------------------------------- */
/* resume                                                                                    */
/* ----------------------------------------------------------------------------------------- */

/* The optimizer of a resumed run: the configuration the checkpoint stored (its state kind's
 * defaults for a checkpoint of format version 1), changed by the optimizer flags given; -1, or 2
 * (reported) when --optimizer names another kind than the checkpoint's state belongs to. */
static int resume_optimizer(const command *cmd, const cli_options *opts, const bnmlp_model *model,
                            bnmlp_optimizer_config *config) {
    bnmlp_optimizer_config stored;
    bnmlp_optimizer_kind kind = BNMLP_OPTIMIZER_SGD;
    uint64_t steps = 0;
    bnmlp_model_optimizer_config(model, &stored);
    bnmlp_model_get_optimizer_state(model, &kind, &steps, NULL, 0);
    int status = optimizer_settings(cmd, opts, &stored, config);
    if (status < 0 && steps > 0 && kind != config->kind) {
        cli_usage_error(
            cmd->name,
            "%s was trained with --optimizer %s, not %s: leave out --optimizer to continue with the "
            "checkpoint's optimizer",
            opts->checkpoint, bnmlp_optimizer_name(kind), bnmlp_optimizer_name(config->kind));
        command_print_usage(cmd);
        return CLI_EXIT_USAGE;
    }
    return status;
}

/* Refuses training rows other than those of the checkpoint's fit (a changed --validation-split or
 * --data: the row order the checkpoint stored would not continue) unless --override; -1, or 2
 * (reported). */
static int check_resume_rows(const command *cmd, const cli_options *opts, const bnmlp_model *model,
                             const fit_data *d) {
    const uint64_t rows = bnmlp_model_order_rows(model);
    if (rows == 0 || rows == (uint64_t)d->train_x.rows) {
        return -1;
    }
    if (!opts->override) {
        cli_usage_error(
            cmd->name,
            "%s was trained on %llu rows, but --data %s with these flags gives %zu training rows: "
            "give the interrupted run's --validation-split (or --validation-data) and data, or "
            "add --override to train on these rows (the stored row order then starts afresh)",
            opts->checkpoint, (unsigned long long)rows, opts->data, d->train_x.rows);
        command_print_usage(cmd);
        return CLI_EXIT_USAGE;
    }
    fprintf(stderr,
            "bnmlp %s: warning: training on %zu rows instead of the %llu of %s (--override): the row order "
            "starts afresh\n",
            cmd->name, d->train_x.rows, (unsigned long long)rows, opts->checkpoint);
    return -1;
}

/* Refuses a flag that changes a setting the checkpoint stored unless --override is given (then
 * warns); -1 to go on, else 2 (reported). what names the setting, stored and wanted its values. */
static int changed_setting(const command *cmd, const cli_options *opts, const char *flag, const char *what,
                           double stored, double wanted) {
    if (stored == wanted) {
        return -1;
    }
    if (!opts->override) {
        cli_usage_error(cmd->name,
                        "%s %g changes %s's %s (%g): leave %s out to continue as the checkpoint was "
                        "trained, or add --override to change it",
                        flag, wanted, opts->checkpoint, what, stored, flag);
        command_print_usage(cmd);
        return CLI_EXIT_USAGE;
    }
    fprintf(stderr, "bnmlp %s: warning: %s %g replaces %s's %s %g (--override)\n", cmd->name, flag, wanted,
            opts->checkpoint, what, stored);
    return -1;
}

/* The settings of a resumed run against the checkpoint's: the batch size (the one the model was
 * built for, which train builds for its --batch-size) and every optimizer setting it stored (a
 * version-1 checkpoint stored none: its flags are taken as given). -1, or 2 (reported). */
static int check_resume_settings(const command *cmd, cli_options *opts, const bnmlp_model *model,
                                 const bnmlp_optimizer_config *config) {
    size_t built = bnmlp_model_max_batch(model);
    int status =
        changed_setting(cmd, opts, "--batch-size", "batch size", (double)built, (double)opts->batch_size);
    if (status >= 0 || bnmlp_model_file_version(model) < 2) {
        return status;
    }
    bnmlp_optimizer_config stored;
    bnmlp_model_optimizer_config(model, &stored);
    const char *name;
    for (size_t i = 0; (name = bnmlp_optimizer_setting(config->kind, i)) != NULL; i++) {
        double before = 0.0, after = 0.0;
        char flag[48];
        bnmlp_optimizer_get(&stored, name, &before);
        bnmlp_optimizer_get(config, name, &after);
        if ((status = changed_setting(cmd, opts, setting_flag(name, flag, sizeof flag), name, before,
                                      after)) >= 0) {
            return status;
        }
    }
    return -1;
}

/* A control a flag sets on resume against the checkpoint's: the same is fine; another is refused
 * unless --override (then a warning names both: the control's state starts afresh). flag is the
 * flag given, what the control, stored and wanted their settings in words. -1, or 2 (reported). */
static int changed_control(const command *cmd, const cli_options *opts, bool same, const char *flag,
                           const char *what, const char *stored, const char *wanted) {
    if (same) {
        return -1;
    }
    if (!opts->override) {
        cli_usage_error(cmd->name,
                        "%s (%s) changes %s's %s (%s): leave %s out to continue as the checkpoint was "
                        "trained, or add --override to change it",
                        flag, wanted, opts->checkpoint, what, stored, flag);
        command_print_usage(cmd);
        return CLI_EXIT_USAGE;
    }
    fprintf(stderr,
            "bnmlp %s: warning: %s (%s) replaces %s's %s (%s) (--override): its state starts afresh\n",
            cmd->name, flag, wanted, opts->checkpoint, what, stored);
    return -1;
}

/* The first of the flags given (NULL-terminated list), or NULL. */
static const char *first_given(const cli_options *opts, const char *const *flags) {
    for (size_t i = 0; flags[i] != NULL; i++) {
        if (cli_given(opts, flags[i])) {
            return flags[i];
        }
    }
    return NULL;
}

/* The training controls of a resumed run: the checkpoint's (bnmlp_model_fit_resume_config: their
 * settings and state continue), each one a flag sets compared with it (changed_control). -1, or 2
 * (reported), or 1 when the checkpoint's controls are not valid. */
static int resume_controls(const command *cmd, const cli_options *opts, const fit_data *d,
                           const bnmlp_model *model, bnmlp_fit_config *fit) {
    bnmlp_fit_config stored = *fit;
    if (bnmlp_model_fit_resume_config(model, &stored) != BNMLP_OK) {
        cli_failure(cmd->name, "the training controls stored in %s are not valid", opts->checkpoint);
        return CLI_EXIT_FAILURE;
    }
    bnmlp_fit_config given = *fit; /* the flags over the defaults, as train reads them */
    int status = apply_controls(cmd, opts, d, model, &given);
    if (status >= 0) {
        return status;
    }
    char before[160];
    char after[160];
    static const char *const early_flags[] = {"--early-stopping", "--save-best", NULL};
    static const char *const plateau_flags[] = {"--reduce-lr", NULL};
    static const char *const schedule_flags[] = {"--lr-schedule", NULL};
    const char *flag = first_given(opts, early_flags);
    fit->early_stopping = flag != NULL ? given.early_stopping : stored.early_stopping;
    controls_describe_early_stopping(&stored.early_stopping, before, sizeof before);
    controls_describe_early_stopping(&fit->early_stopping, after, sizeof after);
    if ((status = changed_control(cmd, opts,
                                  bnmlp_early_stopping_equal(&stored.early_stopping, &fit->early_stopping),
                                  flag, "early stopping", before, after)) >= 0) {
        return status;
    }
    flag = first_given(opts, plateau_flags);
    fit->reduce_lr = flag != NULL ? given.reduce_lr : stored.reduce_lr;
    controls_describe_plateau(&stored.reduce_lr, before, sizeof before);
    controls_describe_plateau(&fit->reduce_lr, after, sizeof after);
    if ((status = changed_control(cmd, opts, bnmlp_plateau_equal(&stored.reduce_lr, &fit->reduce_lr), flag,
                                  "reduce-LR-on-plateau", before, after)) >= 0) {
        return status;
    }
    flag = first_given(opts, schedule_flags);
    fit->schedule = flag != NULL ? given.schedule : stored.schedule;
    controls_describe_schedule(&stored.schedule, before, sizeof before);
    controls_describe_schedule(&fit->schedule, after, sizeof after);
    return changed_control(cmd, opts, bnmlp_schedule_equal(&stored.schedule, &fit->schedule), flag,
                           "learning-rate schedule", before, after);
}

static int run_resume(const command *cmd, int argc, char **argv, int first) {
    cli_options opts;
    int status = command_parse_flags(cmd, RESUME_FLAGS, COUNT_OF(RESUME_FLAGS), &opts, argc, argv, first);
    static const char *const required[] = {"--checkpoint", "--data", "--epochs", NULL};
    if (status >= 0 || (status = command_require_flags(cmd, &opts, required)) >= 0 ||
        (status = check_fit_flags(cmd, &opts)) >= 0 || (status = check_control_flags(cmd, &opts)) >= 0) {
        return status;
    }
    if (opts.out == NULL) {
        opts.out = "model.bnmlp";
    }
    if (!fit_paths_check(cmd, &opts, opts.checkpoint, true)) {
        return CLI_EXIT_FAILURE;
    }
    signals_install(); /* before the model (and its threads) exist */
    bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
    bnmlp_model *model = command_load_model(cmd, opts.checkpoint, "checkpoint");
    if (model == NULL) {
        return CLI_EXIT_FAILURE;
    }
    if (bnmlp_model_is_quantized(model)) {
        cli_failure(cmd->name,
                    "%s is an int8 (quantized) model: it runs inference only and cannot be trained",
                    opts.checkpoint);
        bnmlp_model_free(model);
        return CLI_EXIT_FAILURE;
    }
    if (!bnmlp_model_is_checkpoint(model)) {
        cli_usage_error(
            cmd->name,
            "%s is a model file, not a checkpoint: it holds no optimizer state, random generator, "
            "row order or epoch count to continue from (bnmlp train --checkpoint-every N writes "
            "checkpoints, to OUT.ckpt by default)",
            opts.checkpoint);
        command_print_usage(cmd);
        bnmlp_model_free(model);
        return CLI_EXIT_USAGE;
    }
    if ((status = resume_optimizer(cmd, &opts, model, &fit.optimizer)) >= 0) {
        bnmlp_model_free(model);
        return status;
    }
    if (!cli_given(&opts, "--batch-size")) {
        opts.batch_size = bnmlp_model_max_batch(model); /* the checkpoint's: train built it for that */
    }
    size_t done = bnmlp_model_epochs_done(model);
    if (opts.epochs <= done) {
        cli_usage_error(cmd->name,
                        "--epochs %zu: %s has already done %zu epochs; --epochs is the total to reach",
                        opts.epochs, opts.checkpoint, done);
        command_print_usage(cmd);
        bnmlp_model_free(model);
        return CLI_EXIT_USAGE;
    }
    if (opts.batch_size > bnmlp_model_max_batch(model)) {
        cli_usage_error(cmd->name, "--batch-size %zu: %s was built for batches of at most %zu",
                        opts.batch_size, opts.checkpoint, bnmlp_model_max_batch(model));
        command_print_usage(cmd);
        bnmlp_model_free(model);
        return CLI_EXIT_USAGE;
    }
    if ((status = check_resume_settings(cmd, &opts, model, &fit.optimizer)) >= 0) {
        bnmlp_model_free(model);
        return status;
    }
    fit.initial_epoch = done;
    bnmlp_metric kinds[SCORES_MAX];
    size_t kind_count = 0;
    char problem[512];
    if (opts.metrics != NULL && !scores_parse(opts.metrics, scores_task(bnmlp_model_loss(model)), kinds,
                                              &kind_count, problem, sizeof problem)) {
        bnmlp_model_free(model);
        return command_usage_error(cmd, problem, NULL);
    }
    fit_data d = {0};
    const loss_origin origin = {.model = opts.checkpoint};
    if ((status = read_fit_data(cmd, &opts, &d)) < 0 &&
        (status = check_resume_rows(cmd, &opts, model, &d)) < 0 &&
        (status = apply_threads(cmd, &opts, model)) < 0 &&
        (status = check_fit_labels(cmd, &opts, &d, model, &origin)) < 0 &&
        (status = check_fit_outputs(cmd, &opts, opts.checkpoint)) < 0 &&
        (status = resume_controls(cmd, &opts, &d, model, &fit)) < 0) {
        print_data_summary(&opts, &d, model);
        /* The class weights the checkpoint stored: the interrupted run's, continued. */
        bnmlp_model_fit_weights(model, &fit.weights);
        if (!opts.quiet) {
            weights_print(stderr, "from the checkpoint", &fit.weights, model);
        }
        status = run_fit(cmd, &opts, model, &d, &fit, opts.checkpoint, NULL, kinds, kind_count);
    }
    bnmlp_model_free(model);
    fit_data_free(&d);
    return status;
}

/* ----------------------------------------------------------------------------------------- */
/* evaluate                                                                                  */
/* ----------------------------------------------------------------------------------------- */

/* The metrics of --metrics for the model's task, else every scalar metric of it, into kinds
 * (SCORES_MAX); -1, or 2 (reported) for a bad --metrics. */
static int choose_scores(const command *cmd, const cli_options *opts, const bnmlp_model *model,
                         bnmlp_metric *kinds, size_t *count) {
    const bnmlp_metric_task task = scores_task(bnmlp_model_loss(model));
    char problem[512];
    if (opts->metrics == NULL) {
        *count = scores_of_task(task, kinds, SCORES_MAX);
    } else if (!scores_parse(opts->metrics, task, kinds, count, problem, sizeof problem)) {
        return command_usage_error(cmd, problem, NULL);
    }
    return -1;
}

/* Prints the metrics (--metrics, else every scalar metric of the model's task: the library's
 * bnmlp_model_evaluate_metrics over all of d's rows) and, for a classifier, the confusion matrix
 * of the model's outputs over them; the exit status (a failure reported). */
static int print_scores(const command *cmd, const cli_options *opts, bnmlp_model *model, const fit_data *d,
                        const bnmlp_metric *kinds, size_t count) {
    double values[BNMLP_FIT_MAX_METRICS];
    bnmlp_status status = count > BNMLP_FIT_MAX_METRICS ? BNMLP_ERR_INVALID_ARGUMENT : BNMLP_OK;
    if (status == BNMLP_OK && count > 0) {
        status = bnmlp_model_evaluate_metrics(model, d->x, d->y, kinds, count, values);
    }
    if (status != BNMLP_OK) {
        cli_failure(cmd->name, "cannot compute the metrics of %s on %s: %s", opts->model, opts->data,
                    bnmlp_status_string(status));
        return CLI_EXIT_FAILURE;
    }
    for (size_t i = 0; i < count; i++) {
        printf("%s%s: %.4f", i > 0 ? "  " : "", bnmlp_metric_name(kinds[i]), values[i]);
    }
    if (count > 0) {
        printf("\n");
    }
    const bnmlp_metric_task task = scores_task(bnmlp_model_loss(model));
    if (task == BNMLP_METRIC_TASK_REGRESSION) {
        return CLI_EXIT_OK;
    }
    /* The confusion matrix is not a scalar: an accumulator of the model's outputs. */
    score_set set;
    if (!scores_create(&set, task, bnmlp_model_output_width(model), NULL, 0, true, d->x->rows, &status)) {
        cli_failure(cmd->name, "cannot create the confusion matrix: %s", bnmlp_status_string(status));
        return CLI_EXIT_FAILURE;
    }
    bnmlp_tensor *outputs = bnmlp_tensor_create(d->x->rows, bnmlp_model_output_width(model), &status);
    bnmlp_error_detail detail = {0};
    if (outputs == NULL || (status = bnmlp_model_predict(model, d->x, outputs)) != BNMLP_OK ||
        (status = scores_add(&set, outputs, d->y, &detail)) != BNMLP_OK) {
        cli_failure(cmd->name, "cannot compute the confusion matrix of %s on %s: %s%s%s", opts->model,
                    opts->data, bnmlp_status_string(status), detail.message[0] != '\0' ? ": " : "",
                    detail.message);
        bnmlp_tensor_free(outputs);
        scores_free(&set);
        return CLI_EXIT_FAILURE;
    }
    scores_print_confusion(&set, stdout);
    bnmlp_tensor_free(outputs);
    scores_free(&set);
    return CLI_EXIT_OK;
}

static int run_evaluate(const command *cmd, int argc, char **argv, int first) {
    cli_options opts;
    int status = command_parse_flags(cmd, EVALUATE_FLAGS, COUNT_OF(EVALUATE_FLAGS), &opts, argc, argv, first);
    static const char *const required[] = {"--model", "--data", NULL};
    if (status >= 0 || (status = command_require_flags(cmd, &opts, required)) >= 0 ||
        (status = conflict(cmd, &opts, "--labels", "--label-column")) >= 0) {
        return status;
    }
    bnmlp_model *model = command_load_model(cmd, opts.model, "model");
    if (model == NULL) {
        return CLI_EXIT_FAILURE;
    }
    bnmlp_metric kinds[SCORES_MAX];
    size_t kind_count = 0;
    if ((status = choose_scores(cmd, &opts, model, kinds, &kind_count)) >= 0) {
        bnmlp_model_free(model);
        return status;
    }
    fit_data d = {0};
    data_source source = {.path = opts.data,
                          .labels_path = opts.labels_path,
                          .label_column = opts.label_column,
                          .class_names = &d.names};
    status = CLI_EXIT_FAILURE;
    if (data_read_labelled(cmd->name, &source, &d.x, &d.y) &&
        (status = apply_threads(cmd, &opts, model)) < 0 &&
        (status = check_fit_labels(cmd, &opts, &d, model, &(loss_origin){.model = opts.model})) < 0) {
        double loss = NAN, accuracy = NAN;
        bnmlp_status result = bnmlp_model_evaluate(model, d.x, d.y, &loss, &accuracy);
        if (result != BNMLP_OK) {
            cli_failure(cmd->name, "cannot evaluate %s on %s: %s", opts.model, opts.data,
                        bnmlp_status_string(result));
            status = CLI_EXIT_FAILURE;
        } else {
            printf("loss: %.4f", loss);
            if (bnmlp_loss_has_accuracy(bnmlp_model_loss(model))) {
                printf("  accuracy: %.4f", accuracy);
            }
            printf("  (%zu rows)\n", d.x->rows);
            status = print_scores(cmd, &opts, model, &d, kinds, kind_count);
        }
    }
    bnmlp_model_free(model);
    fit_data_free(&d);
    return status;
}

/* ----------------------------------------------------------------------------------------- */
/* predict                                                                                   */
/* ----------------------------------------------------------------------------------------- */

/* The predicted labels: p > 0.5 for one BCE output, the argmax for softmax. */
static void predicted_labels(const bnmlp_tensor *outputs, bnmlp_loss loss, bnmlp_tensor *labels) {
    for (size_t r = 0; r < outputs->rows; r++) {
        const float *row = outputs->data + r * outputs->cols;
        if (loss == BNMLP_LOSS_BINARY_CROSSENTROPY) {
            labels->data[r] = row[0] > 0.5f ? 1.0f : 0.0f;
            continue;
        }
        size_t best = 0;
        for (size_t c = 1; c < outputs->cols; c++) {
            best = row[c] > row[best] ? c : best;
        }
        labels->data[r] = (float)best;
    }
}

/* Column names of the predictions file: p (one BCE output), p0.. (several), output0.. (MSE),
 * then label. Returns the names (freed by the caller with free_names) or NULL. */
static char **column_names(size_t outputs, bnmlp_loss loss, bool with_label) {
    char **names = calloc(outputs + 1, sizeof *names);
    for (size_t c = 0; names != NULL && c < outputs; c++) {
        names[c] = malloc(32);
        if (names[c] == NULL) {
            return names; /* the caller sees a NULL entry */
        }
        if (loss == BNMLP_LOSS_MEAN_SQUARED_ERROR) {
            snprintf(names[c], 32, outputs == 1 ? "output" : "output%zu", c);
        } else {
            snprintf(names[c], 32, outputs == 1 ? "p" : "p%zu", c);
        }
    }
    if (names != NULL && with_label) {
        names[outputs] = malloc(8);
        if (names[outputs] != NULL) {
            strcpy(names[outputs], "label");
        }
    }
    return names;
}

static void free_names(char **names, size_t count) {
    for (size_t i = 0; names != NULL && i < count; i++) {
        free(names[i]);
    }
    free(names);
}

/* Writes the predictions (and labels) to stdout as bnmlp_csv_write writes a file: a header, then
 * "%.9g" values; the exit status (a write error is reported by main's final flush). */
static int print_predictions(char **names, size_t count, const bnmlp_tensor *outputs,
                             const bnmlp_tensor *labels) {
    for (size_t c = 0; c < count; c++) {
        printf("%s%s", c > 0 ? "," : "", names[c]);
    }
    putchar('\n');
    for (size_t r = 0; r < outputs->rows; r++) {
        for (size_t c = 0; c < outputs->cols; c++) {
            printf("%s%.9g", c > 0 ? "," : "", (double)outputs->data[r * outputs->cols + c]);
        }
        if (labels != NULL) {
            printf(",%.9g", (double)labels->data[r]);
        }
        putchar('\n');
    }
    return CLI_EXIT_OK;
}

/* Writes the predictions (and labels) as CSV to path ("-": stdout); the exit status. */
static int write_predictions(const command *cmd, const char *path, const bnmlp_tensor *outputs,
                             const bnmlp_tensor *labels, bnmlp_loss loss) {
    size_t count = outputs->cols + (labels != NULL ? 1 : 0);
    char **names = column_names(outputs->cols, loss, labels != NULL);
    bool names_ok = names != NULL;
    for (size_t i = 0; names_ok && i < count; i++) {
        names_ok = names[i] != NULL;
    }
    if (!names_ok) {
        free_names(names, count);
        cli_failure(cmd->name, "out of memory");
        return CLI_EXIT_FAILURE;
    }
    if (strcmp(path, "-") == 0) {
        int status = print_predictions(names, count, outputs, labels);
        free_names(names, count);
        return status;
    }
    bnmlp_csv_write_config config = BNMLP_CSV_WRITE_DEFAULT;
    config.column_names = (const char *const *)names;
    bnmlp_error_detail detail = {0};
    bnmlp_status status = bnmlp_csv_write(path, outputs, labels, &config, &detail);
    free_names(names, count);
    if (status != BNMLP_OK) {
        cli_failure(cmd->name, "cannot write %s: %s", path,
                    detail.message[0] != '\0' ? detail.message : bnmlp_status_string(status));
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

/* Writes name as a CSV field: quoted (with "" for ") when it holds a separator, a quote, a line
 * break or blanks at either end, as the reader would otherwise read it differently. */
static void put_csv_name(out_file *out, const char *name) {
    size_t n = strlen(name);
    bool quote = strpbrk(name, ",\"\r\n") != NULL || n == 0 ||
                 (n > 0 && (name[0] == ' ' || name[0] == '\t' || name[n - 1] == ' ' || name[n - 1] == '\t'));
    if (!quote) {
        out_printf(out, "%s", name);
        return;
    }
    out_printf(out, "\"");
    for (const char *p = name; *p != '\0'; p++) {
        out_printf(out, *p == '"' ? "\"\"" : "%c", *p);
    }
    out_printf(out, "\"");
}

/* Writes the predictions with the label column as the model's class names (to path, through a
 * temporary file renamed over it, or "-": stdout); the exit status. */
static int write_named_predictions(const command *cmd, const char *path, const bnmlp_tensor *outputs,
                                   const bnmlp_tensor *labels, const bnmlp_model *model) {
    bool to_stdout = strcmp(path, "-") == 0;
    char temporary[PATH_SIZE];
    if (!to_stdout &&
        snprintf(temporary, sizeof temporary, "%s.%ld.tmp", path, (long)getpid()) >= PATH_SIZE) {
        cli_failure(cmd->name, "--out %s: the path is too long", path);
        return CLI_EXIT_FAILURE;
    }
    out_file out = {.stream = stdout, .path = "standard output", .error = 0};
    if (!to_stdout && !out_open(&out, temporary)) {
        return CLI_EXIT_FAILURE;
    }
    for (size_t c = 0; c < outputs->cols; c++) { /* a classifier's columns, as column_names names them */
        out_printf(&out, outputs->cols == 1 ? "%sp" : "%sp%zu", c > 0 ? "," : "", c);
    }
    out_printf(&out, ",label\n");
    for (size_t r = 0; r < outputs->rows; r++) {
        for (size_t c = 0; c < outputs->cols; c++) {
            out_printf(&out, "%s%.9g", c > 0 ? "," : "", (double)outputs->data[r * outputs->cols + c]);
        }
        out_printf(&out, ",");
        put_csv_name(&out, bnmlp_model_class_name(model, (size_t)labels->data[r]));
        out_printf(&out, "\n");
    }
    if (to_stdout) {
        return CLI_EXIT_OK; /* a write error is reported by main's final flush */
    }
    if (!out_close(&out)) {
        remove(temporary);
        return CLI_EXIT_FAILURE;
    }
    if (rename(temporary, path) != 0) {
        cli_failure(cmd->name, "cannot write %s: %s", path, strerror(errno));
        remove(temporary);
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

/* Runs the model on x and writes the file; the exit status. */
static int predict_to_file(const command *cmd, const cli_options *opts, bnmlp_model *model,
                           const bnmlp_tensor *x) {
    bnmlp_status status;
    bnmlp_loss loss = bnmlp_model_loss(model);
    bnmlp_tensor *outputs = bnmlp_tensor_create(x->rows, bnmlp_model_output_width(model), &status);
    bnmlp_tensor *labels =
        outputs != NULL && opts->predict_labels ? bnmlp_tensor_create(x->rows, 1, &status) : NULL;
    if (outputs == NULL || (opts->predict_labels && labels == NULL)) {
        cli_failure(cmd->name, "cannot allocate the predictions: %s", bnmlp_status_string(status));
        bnmlp_tensor_free(outputs);
        return CLI_EXIT_FAILURE;
    }
    int exit_status = CLI_EXIT_FAILURE;
    status = bnmlp_model_predict(model, x, outputs);
    if (status != BNMLP_OK) {
        cli_failure(cmd->name, "cannot predict %s: %s", opts->data, bnmlp_status_string(status));
    } else {
        if (labels != NULL) {
            predicted_labels(outputs, loss, labels);
        }
        if (labels != NULL && bnmlp_model_class_name(model, 0) != NULL) {
            exit_status = write_named_predictions(cmd, opts->out, outputs, labels, model);
        } else {
            exit_status = write_predictions(cmd, opts->out, outputs, labels, loss);
        }
    }
    bnmlp_tensor_free(outputs);
    bnmlp_tensor_free(labels);
    return exit_status;
}

static int run_predict(const command *cmd, int argc, char **argv, int first) {
    cli_options opts;
    int status = command_parse_flags(cmd, PREDICT_FLAGS, COUNT_OF(PREDICT_FLAGS), &opts, argc, argv, first);
    static const char *const required[] = {"--model", "--data", "--out", NULL};
    if (status >= 0 || (status = command_require_flags(cmd, &opts, required)) >= 0) {
        return status;
    }
    const path_role roles[] = {{"--model", opts.model, false},
                               {"--data", opts.data, false},
                               {"--out", strcmp(opts.out, "-") == 0 ? NULL : opts.out, true}};
    if (!paths_check(cmd->name, roles, COUNT_OF(roles))) {
        return CLI_EXIT_FAILURE;
    }
    if (cli_given(&opts, "--labels")) {
        fprintf(stderr, "bnmlp predict: warning: predict's --labels is now --classes (--labels FILE names a "
                        "labels file in train, resume and evaluate)\n");
    }
    bnmlp_model *model = command_load_model(cmd, opts.model, "model");
    if (model == NULL) {
        return CLI_EXIT_FAILURE;
    }
    bnmlp_loss loss = bnmlp_model_loss(model);
    size_t outputs = bnmlp_model_output_width(model);
    if (opts.predict_labels &&
        (loss == BNMLP_LOSS_MEAN_SQUARED_ERROR || (loss == BNMLP_LOSS_BINARY_CROSSENTROPY && outputs != 1))) {
        cli_usage_error(cmd->name,
                        "%s needs a classifier with one binary output or a softmax; %s has %zu %s "
                        "output(s)",
                        cli_given(&opts, "--labels") ? "--labels" : "--classes", opts.model, outputs,
                        bnmlp_loss_name(loss));
        command_print_usage(cmd);
        bnmlp_model_free(model);
        return CLI_EXIT_USAGE;
    }
    data_source source = {.path = opts.data, .label_column = opts.label_column};
    bnmlp_tensor *x = NULL;
    status = CLI_EXIT_FAILURE;
    if (data_read_features(cmd->name, &source, bnmlp_model_input_width(model), &x) &&
        (status = apply_threads(cmd, &opts, model)) < 0) {
        status = predict_to_file(cmd, &opts, model, x);
    }
    bnmlp_tensor_free(x);
    bnmlp_model_free(model);
    return status;
}

/* ----------------------------------------------------------------------------------------- */
/* summary                                                                                   */
/* ----------------------------------------------------------------------------------------- */

static int run_summary(const command *cmd, int argc, char **argv, int first) {
    cli_options opts;
    int status = command_parse_flags(cmd, SUMMARY_FLAGS, COUNT_OF(SUMMARY_FLAGS), &opts, argc, argv, first);
    static const char *const required[] = {"--model", NULL};
    if (status >= 0 || (status = command_require_flags(cmd, &opts, required)) >= 0) {
        return status;
    }
    bnmlp_model *model = command_load_model(cmd, opts.model, "model");
    if (model == NULL) {
        return CLI_EXIT_FAILURE;
    }
    bnmlp_status result = bnmlp_model_summary(model, stdout);
    if (result == BNMLP_OK) {
        printf("Loss: %s; built for batches of up to %zu rows", bnmlp_loss_name(bnmlp_model_loss(model)),
               bnmlp_model_max_batch(model));
        if (bnmlp_model_epochs_done(model) > 0) {
            printf("; checkpoint after %zu epochs", bnmlp_model_epochs_done(model));
        }
        printf("\n");
    } else {
        cli_failure(cmd->name, "cannot print the summary of %s: %s", opts.model, bnmlp_status_string(result));
    }
    bnmlp_model_free(model);
    return result == BNMLP_OK ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

/* ----------------------------------------------------------------------------------------- */
/* The table                                                                                 */
/* ----------------------------------------------------------------------------------------- */

/* What train's help adds: the controls, clipping and the library's losses and optimizers. */
static void train_more_help(FILE *out) {
    fputs(TRAIN_CONTROLS_HELP, out);
    fputs(CLIP_HELP, out);
    command_print_names(out);
}

/* What resume's help adds: clipping and the library's losses and optimizers. */
static void resume_more_help(FILE *out) {
    fputs(CLIP_HELP, out);
    command_print_names(out);
}

const command COMMANDS[] = {
    {"train", "train a model on a data file and save it", TRAIN_USAGE, TRAIN_HELP, train_more_help,
     run_train},
    {"resume", "continue an interrupted training from its checkpoint", RESUME_USAGE, RESUME_HELP,
     resume_more_help, run_resume},
    {"evaluate", "loss and accuracy of a saved model on a data file", EVALUATE_USAGE, EVALUATE_HELP, NULL,
     run_evaluate},
    {"predict", "write a saved model's outputs for a data file as CSV", PREDICT_USAGE, PREDICT_HELP, NULL,
     run_predict},
    {"summary", "print a saved model's layers and parameter counts", SUMMARY_USAGE, SUMMARY_HELP, NULL,
     run_summary},
    {"export", "write a saved model as C source (or another format) for inference elsewhere", EXPORT_USAGE,
     EXPORT_HELP, export_print_formats, run_export},
    {"quantize", "write a saved model's int8 inference form, calibrated on data rows", QUANTIZE_USAGE,
     QUANTIZE_HELP, NULL, run_quantize},
    {"import", "read a safetensors file (PyTorch's nn.Sequential names) into a model file", IMPORT_USAGE,
     IMPORT_HELP, NULL, run_import},
};

const size_t COMMAND_COUNT = COUNT_OF(COMMANDS);

const command *command_find(const char *name) {
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        if (strcmp(COMMANDS[i].name, name) == 0) {
            return &COMMANDS[i];
        }
    }
    return NULL;
}
