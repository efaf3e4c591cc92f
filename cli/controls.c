/*
 * controls.c - --early-stopping, --reduce-lr, --lr-schedule, --monitor and --save-best into
 * bnmlp_fit_config. Values are comma-separated (the schedules' arguments colon-separated after
 * the kind); every number is checked here, then the library's own check runs on the result.
 */
#include "controls.h"

#include <stdio.h>
#include <string.h>

#include "numbers.h"

/* Longest control value the tool reads. */
#define VALUE_SIZE_MAX 256

/* Most fields in one value. */
#define MAX_FIELDS (BNMLP_SCHEDULE_MAX_MILESTONES + 2)

/* Splits a copy of text (in buffer) at separator into fields; false when there are too many or
 * the text is too long. Empty fields stay (and fail their number's parse). */
static bool split(const char *text, char separator, char *buffer, size_t size, char **fields, size_t *count) {
    if (strlen(text) >= size) {
        return false;
    }
    snprintf(buffer, size, "%s", text);
    *count = 0;
    char *start = buffer;
    for (;;) {
        if (*count == MAX_FIELDS) {
            return false;
        }
        fields[(*count)++] = start;
        char *end = strchr(start, separator);
        if (end == NULL) {
            return true;
        }
        *end = '\0';
        start = end + 1;
    }
}

/* --early-stopping PATIENCE[,MIN_DELTA][,restore]. */
static bool read_early_stopping(const char *text, bnmlp_early_stopping_config *config, char *problem,
                                size_t size) {
    char buffer[VALUE_SIZE_MAX];
    char *fields[MAX_FIELDS];
    size_t count = 0;
    unsigned long long patience = 0;
    if (!split(text, ',', buffer, sizeof buffer, fields, &count) || count > 3 ||
        !parse_decimal(fields[0], 0, 1000000, &patience)) {
        snprintf(problem, size,
                 "bad --early-stopping '%s' (expected PATIENCE[,MIN_DELTA][,restore], PATIENCE an integer "
                 "from 0 to 1000000, MIN_DELTA a number >= 0)",
                 text);
        return false;
    }
    config->enabled = true;
    config->patience = (size_t)patience;
    for (size_t i = 1; i < count; i++) {
        double min_delta = 0.0;
        if (strcmp(fields[i], "restore") == 0 && i == count - 1) {
            config->restore_best_weights = true;
        } else if (i == 1 && parse_real(fields[i], 0, 1e30, CLOSED, &min_delta)) {
            config->min_delta = min_delta;
        } else {
            snprintf(
                problem, size,
                "bad --early-stopping '%s' at '%s' (expected PATIENCE[,MIN_DELTA][,restore]: MIN_DELTA a "
                "number >= 0, 'restore' last)",
                text, fields[i]);
            return false;
        }
    }
    return true;
}

/* --reduce-lr FACTOR,PATIENCE[,MIN_LR]. */
static bool read_reduce_lr(const char *text, bnmlp_plateau_config *config, char *problem, size_t size) {
    char buffer[VALUE_SIZE_MAX];
    char *fields[MAX_FIELDS];
    size_t count = 0;
    double factor = 0.0;
    double min_lr = 0.0;
    unsigned long long patience = 0;
    if (!split(text, ',', buffer, sizeof buffer, fields, &count) || count < 2 || count > 3 ||
        !parse_real(fields[0], 0, 1, MIN_OPEN | MAX_OPEN, &factor) ||
        !parse_decimal(fields[1], 0, 1000000, &patience) ||
        (count == 3 && !parse_real(fields[2], 0, 1e6, CLOSED, &min_lr))) {
        snprintf(problem, size,
                 "bad --reduce-lr '%s' (expected FACTOR,PATIENCE[,MIN_LR]: FACTOR in (0, 1), PATIENCE an "
                 "integer from 0 to 1000000, MIN_LR a number >= 0)",
                 text);
        return false;
    }
    config->enabled = true;
    config->factor = factor;
    config->patience = (size_t)patience;
    config->min_lr = min_lr;
    return true;
}

/* An optional GAMMA (args[index]) into config->gamma; false when given and bad. */
static bool read_gamma(char **args, size_t count, size_t index, bnmlp_schedule_config *config) {
    return count <= index || parse_real(args[index], 0, 1e6, MIN_OPEN, &config->gamma);
}

/* step:STEP_SIZE[:GAMMA] */
static bool read_step(char **args, size_t count, size_t epochs, bnmlp_schedule_config *config) {
    unsigned long long step_size = 0;
    (void)epochs;
    if (!parse_decimal(args[0], 1, 1e12, &step_size)) {
        return false;
    }
    config->step_size = step_size;
    return read_gamma(args, count, 1, config);
}

/* multistep:M1,M2,...[:GAMMA] (strictly increasing epochs) */
static bool read_multistep(char **args, size_t count, size_t epochs, bnmlp_schedule_config *config) {
    char buffer[VALUE_SIZE_MAX];
    char *milestones[MAX_FIELDS];
    size_t milestone_count = 0;
    (void)epochs;
    if (!split(args[0], ',', buffer, sizeof buffer, milestones, &milestone_count) ||
        milestone_count > BNMLP_SCHEDULE_MAX_MILESTONES) {
        return false;
    }
    for (size_t i = 0; i < milestone_count; i++) {
        unsigned long long milestone = 0;
        if (!parse_decimal(milestones[i], 1, 1e12, &milestone) ||
            (i > 0 && milestone <= config->milestones[i - 1])) {
            return false;
        }
        config->milestones[i] = milestone;
    }
    config->milestone_count = milestone_count;
    return read_gamma(args, count, 1, config);
}

/* exp:GAMMA */
static bool read_exp(char **args, size_t count, size_t epochs, bnmlp_schedule_config *config) {
    (void)epochs;
    return read_gamma(args, count, 0, config);
}

/* cosine[:T_MAX[:ETA_MIN]] (T_MAX defaults to --epochs) */
static bool read_cosine(char **args, size_t count, size_t epochs, bnmlp_schedule_config *config) {
    unsigned long long t_max = epochs;
    if (count >= 1 && !parse_decimal(args[0], 1, 1e12, &t_max)) {
        return false;
    }
    config->t_max = t_max;
    return count < 2 || parse_real(args[1], 0, 1e6, CLOSED, &config->eta_min);
}

/* onecycle:MAX_LR[:PCT_START] (over --epochs epochs) */
static bool read_onecycle(char **args, size_t count, size_t epochs, bnmlp_schedule_config *config) {
    config->total_steps = epochs;
    if (!parse_real(args[0], 0, 1e6, MIN_OPEN, &config->max_lr)) {
        return false;
    }
    return count < 2 || parse_real(args[1], 0, 1, MIN_OPEN | MAX_OPEN, &config->pct_start);
}

/* A schedule's flag value as the tool would write it (for resume's messages). */
static void describe_step(const bnmlp_schedule_config *config, char *text, size_t size) {
    snprintf(text, size, "step:%llu:%g", (unsigned long long)config->step_size, config->gamma);
}

static void describe_multistep(const bnmlp_schedule_config *config, char *text, size_t size) {
    size_t used = (size_t)snprintf(text, size, "multistep:");
    for (size_t i = 0; i < config->milestone_count && used < size; i++) {
        used += (size_t)snprintf(text + used, size - used, "%s%llu", i ? "," : "",
                                 (unsigned long long)config->milestones[i]);
    }
    if (used < size) {
        snprintf(text + used, size - used, ":%g", config->gamma);
    }
}

static void describe_exp(const bnmlp_schedule_config *config, char *text, size_t size) {
    snprintf(text, size, "exp:%g", config->gamma);
}

static void describe_cosine(const bnmlp_schedule_config *config, char *text, size_t size) {
    snprintf(text, size, "cosine:%llu:%g", (unsigned long long)config->t_max, config->eta_min);
}

static void describe_onecycle(const bnmlp_schedule_config *config, char *text, size_t size) {
    snprintf(text, size, "onecycle:%g:%g over %llu epochs", config->max_lr, config->pct_start,
             (unsigned long long)config->total_steps);
}

/* One --lr-schedule kind: the tool's short name, the library's name, the syntax of its
 * arguments, how many it takes (at least, at most), and their reader. */
typedef struct schedule_form {
    const char *name;    /* as given to --lr-schedule */
    const char *library; /* bnmlp_schedule_from_name's name */
    const char *syntax;  /* for messages */
    size_t min_args;     /* colon-separated arguments after the name */
    size_t max_args;
    bool (*read)(char **args, size_t count, size_t epochs, bnmlp_schedule_config *config);
    void (*describe)(const bnmlp_schedule_config *config, char *text, size_t size); /* as a value */
} schedule_form;

static const schedule_form SCHEDULES[] = {
    {"step", "step", "step:STEP_SIZE[:GAMMA]", 1, 2, read_step, describe_step},
    {"multistep", "multistep", "multistep:M1,M2,...[:GAMMA]", 1, 2, read_multistep, describe_multistep},
    {"exp", "exponential_lr", "exp:GAMMA", 1, 1, read_exp, describe_exp},
    {"cosine", "cosine_annealing", "cosine[:T_MAX[:ETA_MIN]]", 0, 2, read_cosine, describe_cosine},
    {"onecycle", "one_cycle", "onecycle:MAX_LR[:PCT_START]", 1, 2, read_onecycle, describe_onecycle},
};

#define SCHEDULE_COUNT (sizeof SCHEDULES / sizeof SCHEDULES[0])

/* --lr-schedule KIND[:ARGS]. */
static bool read_schedule(const char *text, size_t epochs, bnmlp_schedule_config *config, char *problem,
                          size_t size) {
    char buffer[VALUE_SIZE_MAX];
    char *fields[MAX_FIELDS];
    size_t count = 0;
    if (!split(text, ':', buffer, sizeof buffer, fields, &count)) {
        snprintf(problem, size, "bad --lr-schedule '%s' (too long)", text);
        return false;
    }
    const schedule_form *form = NULL;
    for (size_t i = 0; i < SCHEDULE_COUNT; i++) {
        if (strcmp(fields[0], SCHEDULES[i].name) == 0) {
            form = &SCHEDULES[i];
        }
    }
    if (form == NULL) {
        snprintf(problem, size,
                 "unknown --lr-schedule '%s' (expected step, multistep, exp, cosine or onecycle)", fields[0]);
        return false;
    }
    bnmlp_schedule_config candidate = *config;
    if (bnmlp_schedule_from_name(form->library, &candidate.kind) != BNMLP_OK || count - 1 < form->min_args ||
        count - 1 > form->max_args || !form->read(fields + 1, count - 1, epochs, &candidate) ||
        bnmlp_schedule_check(&candidate) != BNMLP_OK) {
        snprintf(problem, size,
                 "bad --lr-schedule '%s' (expected %s; docs/cli.md gives each argument's range%s)", text,
                 form->syntax,
                 form->read == read_onecycle ? ", and onecycle needs PCT_START * --epochs > 1" : "");
        return false;
    }
    *config = candidate;
    return true;
}

/* --monitor NAME or val_NAME for a metric NAME of --metrics (Keras's "auc" / "val_auc") into
 * *monitor and *metric; false (problem) for a name that is neither. */
static bool read_metric_monitor(const char *text, const controls_context *context, bnmlp_monitor *monitor,
                                bnmlp_metric *metric, char *problem, size_t size) {
    const bool validation = strncmp(text, "val_", 4) == 0;
    if (bnmlp_metric_from_name(validation ? text + 4 : text, metric) != BNMLP_OK) {
        snprintf(problem, size,
                 "unknown --monitor '%s' (expected loss, val_loss, accuracy, val_accuracy, or a --metrics "
                 "name with or without val_)",
                 text);
        return false;
    }
    for (size_t i = 0; i < context->metric_count; i++) {
        if (context->metrics[i] == *metric) {
            *monitor = validation ? BNMLP_MONITOR_VAL_METRIC : BNMLP_MONITOR_METRIC;
            return true;
        }
    }
    snprintf(problem, size, "--monitor %s needs %s in --metrics", text, validation ? text + 4 : text);
    return false;
}

/* The monitor of --monitor, or val_loss with validation rows and loss without; *metric the
 * metric it watches (for a metric monitor). */
static bool read_monitor(const cli_options *opts, const controls_context *context, bnmlp_monitor *monitor,
                         bnmlp_metric *metric, char *problem, size_t size) {
    *metric = BNMLP_METRIC_ACCURACY;
    if (opts->monitor == NULL) {
        *monitor = context->has_validation ? BNMLP_MONITOR_VAL_LOSS : BNMLP_MONITOR_LOSS;
        return true;
    }
    /* The library's generic "metric" and "val_metric" are not names here: the metric's are. */
    if ((bnmlp_monitor_from_name(opts->monitor, monitor) != BNMLP_OK || *monitor == BNMLP_MONITOR_METRIC ||
         *monitor == BNMLP_MONITOR_VAL_METRIC) &&
        !read_metric_monitor(opts->monitor, context, monitor, metric, problem, size)) {
        return false;
    }
    const bool wants_validation = *monitor == BNMLP_MONITOR_VAL_LOSS ||
                                  *monitor == BNMLP_MONITOR_VAL_ACCURACY ||
                                  *monitor == BNMLP_MONITOR_VAL_METRIC;
    const bool wants_accuracy = *monitor == BNMLP_MONITOR_ACCURACY || *monitor == BNMLP_MONITOR_VAL_ACCURACY;
    if (wants_validation && !context->has_validation) {
        snprintf(problem, size,
                 "--monitor %s needs validation rows (--validation-data or --validation-split)",
                 opts->monitor);
        return false;
    }
    if (wants_accuracy && !context->has_accuracy) {
        snprintf(problem, size, "--monitor %s needs a loss with an accuracy (not mse)", opts->monitor);
        return false;
    }
    return true;
}

bool controls_apply(const cli_options *opts, const controls_context *context, bnmlp_fit_config *fit,
                    char *problem, size_t size) {
    bnmlp_fit_config candidate = *fit;
    bnmlp_monitor monitor;
    bnmlp_metric metric;
    if (!read_monitor(opts, context, &monitor, &metric, problem, size)) {
        return false;
    }
    if (opts->early_stopping != NULL &&
        !read_early_stopping(opts->early_stopping, &candidate.early_stopping, problem, size)) {
        return false;
    }
    if (opts->save_best) {
        /* Without --early-stopping: patience of all the epochs never stops, and restore puts the
         * best epoch's weights back at the end. */
        if (!candidate.early_stopping.enabled) {
            candidate.early_stopping.enabled = true;
            candidate.early_stopping.patience = context->epochs;
        }
        candidate.early_stopping.restore_best_weights = true;
    }
    candidate.early_stopping.monitor = monitor;
    candidate.early_stopping.metric = metric;
    if (opts->reduce_lr != NULL && !read_reduce_lr(opts->reduce_lr, &candidate.reduce_lr, problem, size)) {
        return false;
    }
    candidate.reduce_lr.monitor = monitor;
    candidate.reduce_lr.metric = metric;
    if (opts->lr_schedule != NULL &&
        !read_schedule(opts->lr_schedule, context->epochs, &candidate.schedule, problem, size)) {
        return false;
    }
    if ((candidate.early_stopping.enabled &&
         bnmlp_early_stopping_check(&candidate.early_stopping) != BNMLP_OK) ||
        (candidate.reduce_lr.enabled && bnmlp_plateau_check(&candidate.reduce_lr) != BNMLP_OK)) {
        snprintf(problem, size, "the training controls are out of range");
        return false;
    }
    *fit = candidate;
    return true;
}

void controls_describe_early_stopping(const bnmlp_early_stopping_config *config, char *text, size_t size) {
    if (!config->enabled) {
        snprintf(text, size, "none");
        return;
    }
    snprintf(text, size, "patience %zu, min_delta %g, monitor %s%s", config->patience, config->min_delta,
             bnmlp_monitor_name(config->monitor), config->restore_best_weights ? ", restore" : "");
}

void controls_describe_plateau(const bnmlp_plateau_config *config, char *text, size_t size) {
    if (!config->enabled) {
        snprintf(text, size, "none");
        return;
    }
    snprintf(text, size, "factor %g, patience %zu, min_lr %g, monitor %s", config->factor, config->patience,
             config->min_lr, bnmlp_monitor_name(config->monitor));
}

void controls_describe_schedule(const bnmlp_schedule_config *config, char *text, size_t size) {
    if (config->kind == BNMLP_SCHEDULE_CONSTANT && config->initial_learning_rate == 0.0) {
        snprintf(text, size, "none");
        return;
    }
    for (size_t i = 0; i < SCHEDULE_COUNT; i++) {
        bnmlp_schedule_kind kind;
        if (bnmlp_schedule_from_name(SCHEDULES[i].library, &kind) == BNMLP_OK && kind == config->kind) {
            SCHEDULES[i].describe(config, text, size);
            return;
        }
    }
    snprintf(text, size, "%s", bnmlp_schedule_name(config->kind)); /* a kind the tool does not write */
}
