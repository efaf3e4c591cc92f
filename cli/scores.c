/*
 * scores.c - sets of the library's metric accumulators for the tool. Names, tasks and
 * directions come from the library's metric table: the tool keeps no list of metrics.
 */
#include "scores.h"

#include <stdlib.h>
#include <string.h>

bnmlp_metric_task scores_task(bnmlp_loss loss) {
    if (loss == BNMLP_LOSS_CATEGORICAL_CROSSENTROPY) {
        return BNMLP_METRIC_TASK_MULTICLASS;
    }
    return bnmlp_loss_has_accuracy(loss) ? BNMLP_METRIC_TASK_BINARY : BNMLP_METRIC_TASK_REGRESSION;
}

/* True when kind is a scalar metric of task. */
static bool applies(bnmlp_metric kind, bnmlp_metric_task task, bnmlp_metric_info *info) {
    return bnmlp_metric_describe(kind, info) == BNMLP_OK && (info->tasks & (1u << task)) != 0;
}

/* The task's name for messages. */
static const char *task_name(bnmlp_metric_task task) {
    static const char *const names[] = {"binary (binary_crossentropy)",
                                        "multi-class (categorical_crossentropy)",
                                        "regression (mean_squared_error)"};
    return (size_t)task < sizeof names / sizeof names[0] ? names[task] : "unknown";
}

size_t scores_of_task(bnmlp_metric_task task, bnmlp_metric *kinds, size_t size) {
    size_t count = 0;
    for (size_t k = 0; k < bnmlp_metric_kind_count() && count < size; k++) {
        bnmlp_metric_info info;
        if (applies((bnmlp_metric)k, task, &info) && info.scalar) {
            kinds[count++] = (bnmlp_metric)k;
        }
    }
    return count;
}

bool scores_parse(const char *list, bnmlp_metric_task task, bnmlp_metric *kinds, size_t *count, char *problem,
                  size_t size) {
    *count = 0;
    const char *start = list;
    for (;;) {
        size_t length = strcspn(start, ",");
        char name[64];
        if (length == 0 || length >= sizeof name) {
            snprintf(problem, size, "bad --metrics '%s': an empty or too long name", list);
            return false;
        }
        memcpy(name, start, length);
        name[length] = '\0';
        bnmlp_metric kind;
        bnmlp_metric_info info;
        if (bnmlp_metric_from_name(name, &kind) != BNMLP_OK) {
            char names[512] = "";
            bnmlp_metric known[SCORES_MAX];
            size_t known_count = scores_of_task(task, known, SCORES_MAX);
            for (size_t i = 0; i < known_count; i++) {
                size_t used = strlen(names);
                snprintf(names + used, sizeof names - used, "%s%s", i > 0 ? ", " : "",
                         bnmlp_metric_name(known[i]));
            }
            snprintf(problem, size, "unknown metric '%s' in --metrics (this model's task takes %s)", name,
                     names);
            return false;
        }
        if (!applies(kind, task, &info) || !info.scalar) {
            snprintf(problem, size, "--metrics %s: %s", name,
                     info.scalar ? "not a metric of this model's task" : "not a number (evaluate prints it)");
            if (info.scalar) {
                size_t used = strlen(problem);
                snprintf(problem + used, size - used, ", %s", task_name(task));
            }
            return false;
        }
        for (size_t i = 0; i < *count; i++) {
            if (kinds[i] == kind) {
                snprintf(problem, size, "--metrics names %s twice", bnmlp_metric_name(kind));
                return false;
            }
        }
        if (*count == SCORES_MAX) {
            snprintf(problem, size, "--metrics names more than %d metrics", SCORES_MAX);
            return false;
        }
        kinds[(*count)++] = kind;
        if (start[length] == '\0') {
            return true;
        }
        start += length + 1;
    }
}

/* One accumulator of kind for the set's task. */
static bnmlp_metric_accumulator *create_one(bnmlp_metric kind, bnmlp_metric_task task, size_t outputs,
                                            size_t max_rows, bnmlp_status *status) {
    bnmlp_metric_config config = BNMLP_METRIC_CONFIG_DEFAULT(kind, task, outputs);
    config.max_rows = max_rows > 0 ? max_rows : 1;
    return bnmlp_metric_create(&config, status);
}

bool scores_create(score_set *set, bnmlp_metric_task task, size_t outputs, const bnmlp_metric *kinds,
                   size_t count, bool confusion, size_t max_rows, bnmlp_status *status) {
    *set = (score_set){.task = task};
    if (count > SCORES_MAX) {
        *status = BNMLP_ERR_INVALID_ARGUMENT;
        return false;
    }
    for (size_t i = 0; i < count; i++) {
        set->kinds[i] = kinds[i];
        set->accumulators[i] = create_one(kinds[i], task, outputs, max_rows, status);
        set->count = i + 1;
        if (set->accumulators[i] == NULL) {
            scores_free(set);
            return false;
        }
    }
    if (confusion && task != BNMLP_METRIC_TASK_REGRESSION) {
        set->confusion = create_one(BNMLP_METRIC_CONFUSION_MATRIX, task, outputs, max_rows, status);
        if (set->confusion == NULL) {
            scores_free(set);
            return false;
        }
    }
    return true;
}

void scores_free(score_set *set) {
    for (size_t i = 0; i < set->count; i++) {
        bnmlp_metric_free(set->accumulators[i]);
    }
    bnmlp_metric_free(set->confusion);
    *set = (score_set){.task = set->task};
}

bnmlp_status scores_add(score_set *set, const bnmlp_tensor *outputs, const bnmlp_tensor *targets,
                        bnmlp_error_detail *detail) {
    /* Every accumulator checks the same rows the same way: the first refuses before any counts. */
    for (size_t i = 0; i < set->count; i++) {
        bnmlp_status status = bnmlp_metric_add(set->accumulators[i], outputs, targets, detail);
        if (status != BNMLP_OK) {
            return status;
        }
    }
    return set->confusion != NULL ? bnmlp_metric_add(set->confusion, outputs, targets, detail) : BNMLP_OK;
}

void scores_print_confusion(const score_set *set, FILE *out) {
    size_t classes = 0;
    if (set->confusion == NULL ||
        bnmlp_metric_confusion_matrix(set->confusion, NULL, 0, &classes) != BNMLP_OK) {
        return;
    }
    uint64_t *counts = calloc(classes * classes, sizeof *counts);
    if (counts == NULL ||
        bnmlp_metric_confusion_matrix(set->confusion, counts, classes * classes, NULL) != BNMLP_OK) {
        free(counts);
        return;
    }
    /* Columns as wide as the largest count (at least the class numbers). */
    int width = 4;
    for (size_t i = 0; i < classes * classes; i++) {
        int digits = snprintf(NULL, 0, "%llu", (unsigned long long)counts[i]);
        width = digits + 1 > width ? digits + 1 : width;
    }
    fprintf(out, "confusion matrix (rows: true class, columns: predicted class):\n");
    fprintf(out, "%*s", width, "");
    for (size_t p = 0; p < classes; p++) {
        fprintf(out, " %*zu", width, p);
    }
    fputc('\n', out);
    for (size_t t = 0; t < classes; t++) {
        fprintf(out, "%*zu", width, t);
        for (size_t p = 0; p < classes; p++) {
            fprintf(out, " %*llu", width, (unsigned long long)counts[t * classes + p]);
        }
        fputc('\n', out);
    }
    free(counts);
}
