/* metrics.c - the metric table and the accumulator that feeds it chunk by chunk.
 *
 * Two small tables drive everything here. The task table (binary, multiclass, regression) says
 * how a chunk is checked and what every accumulator of that task counts: classification tasks
 * a confusion matrix, regression its sums. The metric table says, per kind, its names, the
 * tasks it applies to, what it keeps beyond that (Keras's AUC buckets, the exact AUC's scores,
 * top-k hits) and the function that turns the state into the value. Formulas and the Keras /
 * scikit-learn conventions they follow: docs/metrics.md. */
#include "metrics/metrics.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* One kept score of the exact ROC AUC: the output and whether its target is 1. */
typedef struct metric_score {
    float score;
    uint32_t positive;
} metric_score;

struct bnmlp_metric_accumulator {
    const bnmlp_metric_row *row;       /* the metric */
    const struct metric_task_row *job; /* its task */
    bnmlp_allocator allocator;         /* what allocated this block */
    size_t outputs;                    /* columns of the outputs (W, or K classes) */
    size_t classes;                    /* rows and columns of the confusion matrix; 0 for regression */
    size_t top_k;                      /* k of top-k accuracy */
    size_t num_thresholds;             /* Keras AUC's thresholds */
    size_t max_scores;                 /* exact AUC: max_rows * outputs */
    size_t rows;                       /* rows added since the last reset */
    size_t score_count;                /* exact AUC: scores kept */
    uint64_t top_k_hits;               /* rows whose target is among the top k outputs */
    double absolute_sum;               /* regression: sum of |o - y| over every element, in order */
    double squared_sum;                /* regression: sum of (o - y)^2 over every element, in order */
    /* Arrays in the same block, after the struct (NULL when the metric does not need them): */
    uint64_t *confusion;    /* (classes, classes): [target][predicted] counts */
    uint64_t *positives_at; /* (num_thresholds): positives whose score falls in each bucket */
    uint64_t *negatives_at; /* (num_thresholds): negatives likewise */
    metric_score *scores;   /* (max_scores): the exact AUC's kept pairs */
    double *target_mean;    /* (outputs): regression, running mean of each target column (Welford) */
    double *target_m2;      /* (outputs): running sum of squared deviations from that mean */
    double *residual_sq;    /* (outputs): sum of (o - y)^2 per column */
    size_t array_bytes;     /* bytes of the arrays above, zeroed by reset */
    void *arrays;           /* where they start */
};

/* ---- error reporting ------------------------------------------------------------------------ */

/* Fills *detail (when given) with the 1-based column and a message; returns status. */
static bnmlp_status fail(bnmlp_error_detail *detail, bnmlp_status status, size_t column, const char *format,
                         ...) {
    if (!detail) return status;
    *detail = (bnmlp_error_detail){.line = 0, .column = column, .offset = 0};
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(detail->message, sizeof detail->message, format, arguments);
    va_end(arguments);
    return status;
}

/* ---- the tasks ------------------------------------------------------------------------------ */

/* A task: the target width it takes, how it checks target values, how it adds a checked chunk.
 * outputs (rows, acc->outputs) and targets (rows, width) are row-major. */
typedef struct metric_task_row {
    bnmlp_metric_task task;
    const char *name;
    bool classification; /* keeps a confusion matrix */
    /* Whether a targets tensor of this width suits an accumulator of acc->outputs columns. */
    bool (*width_ok)(const bnmlp_metric_accumulator *acc, size_t width);
    /* BNMLP_OK, or BNMLP_ERR_LABEL with *detail for the first bad target (see row_number). */
    bnmlp_status (*check_targets)(const bnmlp_metric_accumulator *acc, const float *targets, size_t rows,
                                  size_t width, bnmlp_error_detail *detail);
    void (*add)(bnmlp_metric_accumulator *acc, const float *outputs, const float *targets, size_t rows,
                size_t width);
} metric_task_row;

/* Row number (1-based over every row since the last reset) of row r of the chunk being added. */
static size_t row_number(const bnmlp_metric_accumulator *acc, size_t r) { return acc->rows + r + 1; }

static bool same_width(const bnmlp_metric_accumulator *acc, size_t width) { return width == acc->outputs; }

static bool index_or_row_width(const bnmlp_metric_accumulator *acc, size_t width) {
    return width == 1 || width == acc->outputs;
}

static bnmlp_status binary_check(const bnmlp_metric_accumulator *acc, const float *targets, size_t rows,
                                 size_t width, bnmlp_error_detail *detail) {
    for (size_t i = 0; i < rows * width; i++)
        if (targets[i] != 0.0f && targets[i] != 1.0f)
            return fail(detail, BNMLP_ERR_LABEL, i % width + 1, "target %.9g in row %zu is not 0 or 1",
                        (double)targets[i], row_number(acc, i / width));
    return BNMLP_OK;
}

/* Keras's bucket of a score among n evenly spaced thresholds with epsilon ends, in float32 as
 * Keras computes it: ceil(clip(p, 0, 1) * (n - 1)) - 1, and 0 for the bottom bucket
 * (metrics_utils._update_confusion_matrix_variables_optimized, thresholds_with_epsilon). */
static size_t keras_bucket(float p, size_t num_thresholds) {
    const float clipped = p < 0.0f ? 0.0f : (p > 1.0f ? 1.0f : p);
    const float scaled = clipped * (float)(num_thresholds - 1);
    const float bucket = ceilf(scaled) - 1.0f;
    return bucket < 0.0f ? 0 : (size_t)bucket;
}

static void binary_add(bnmlp_metric_accumulator *acc, const float *outputs, const float *targets, size_t rows,
                       size_t width) {
    const unsigned keeps = acc->row->keeps;
    for (size_t i = 0; i < rows * width; i++) {
        const size_t truth = targets[i] == 1.0f, predicted = outputs[i] > 0.5f;
        acc->confusion[truth * 2 + predicted]++;
        if (keeps & BNMLP_METRIC_KEEPS_THRESHOLDS) {
            uint64_t *bucket_counts = truth ? acc->positives_at : acc->negatives_at;
            bucket_counts[keras_bucket(outputs[i], acc->num_thresholds)]++;
        }
        if (keeps & BNMLP_METRIC_KEEPS_SCORES)
            acc->scores[acc->score_count++] = (metric_score){outputs[i], (uint32_t)truth};
    }
}

/* Index of the first maximum of v (n >= 1), as numpy's argmax. */
static size_t first_argmax(const float *v, size_t n) {
    size_t best = 0;
    for (size_t k = 1; k < n; k++)
        if (v[k] > v[best]) best = k;
    return best;
}

static bnmlp_status multiclass_check(const bnmlp_metric_accumulator *acc, const float *targets, size_t rows,
                                     size_t width, bnmlp_error_detail *detail) {
    const size_t classes = acc->outputs;
    for (size_t r = 0; r < rows; r++) {
        const float *row = targets + r * width;
        if (width == 1) {
            if (!(row[0] >= 0.0f && row[0] < (float)classes && row[0] == floorf(row[0])))
                return fail(detail, BNMLP_ERR_LABEL, 1, "target %.9g in row %zu is not a class index 0..%zu",
                            (double)row[0], row_number(acc, r), classes - 1);
            continue;
        }
        double sum = 0.0; /* a row of class probabilities: >= 0, summing to 1 within 1e-5 */
        for (size_t k = 0; k < width; k++) {
            if (row[k] < 0.0f)
                return fail(detail, BNMLP_ERR_LABEL, k + 1,
                            "target %.9g in row %zu is a negative probability", (double)row[k],
                            row_number(acc, r));
            sum += (double)row[k];
        }
        if (fabs(sum - 1.0) > 1e-5)
            return fail(detail, BNMLP_ERR_LABEL, 0, "targets of row %zu sum to %.9g, not 1",
                        row_number(acc, r), sum);
    }
    return BNMLP_OK;
}

static void multiclass_add(bnmlp_metric_accumulator *acc, const float *outputs, const float *targets,
                           size_t rows, size_t width) {
    const size_t classes = acc->outputs;
    for (size_t r = 0; r < rows; r++) {
        const float *scores = outputs + r * classes;
        const size_t truth = width == 1 ? (size_t)targets[r] : first_argmax(targets + r * width, width);
        acc->confusion[truth * classes + first_argmax(scores, classes)]++;
        if (acc->row->keeps & BNMLP_METRIC_KEEPS_TOP_K) {
            /* Keras's in_top_k: the target is in when its score is >= the k-th largest, i.e.
             * fewer than k scores are strictly greater (ties at the boundary count as in). */
            size_t greater = 0;
            for (size_t k = 0; k < classes; k++) greater += scores[k] > scores[truth];
            acc->top_k_hits += greater < acc->top_k;
        }
    }
}

static bnmlp_status regression_check(const bnmlp_metric_accumulator *acc, const float *targets, size_t rows,
                                     size_t width, bnmlp_error_detail *detail) {
    (void)acc, (void)targets, (void)rows, (void)width, (void)detail; /* any finite value is a target */
    return BNMLP_OK;
}

static void regression_add(bnmlp_metric_accumulator *acc, const float *outputs, const float *targets,
                           size_t rows, size_t width) {
    for (size_t r = 0; r < rows; r++) {
        const double count = (double)(acc->rows + r + 1); /* rows seen so far, this one included */
        for (size_t c = 0; c < width; c++) {
            const double y = (double)targets[r * width + c], d = (double)outputs[r * width + c] - y;
            acc->absolute_sum += fabs(d);
            acc->squared_sum += d * d;
            acc->residual_sq[c] += d * d;
            /* Welford's update, one element at a time so that any chunking adds in the same order:
             * mean += (y - mean) / n; m2 += (y - old mean) * (y - new mean). */
            const double delta = y - acc->target_mean[c];
            acc->target_mean[c] += delta / count;
            acc->target_m2[c] += delta * (y - acc->target_mean[c]);
        }
    }
}

static const metric_task_row metric_tasks[] = {
    {BNMLP_METRIC_TASK_BINARY, "binary", true, same_width, binary_check, binary_add},
    {BNMLP_METRIC_TASK_MULTICLASS, "multiclass", true, index_or_row_width, multiclass_check, multiclass_add},
    {BNMLP_METRIC_TASK_REGRESSION, "regression", false, same_width, regression_check, regression_add},
};

/* ---- how each metric finishes ----------------------------------------------------------------- */

/* a / b, or 0 when b is 0 (Keras's divide_no_nan, scikit-learn's zero_division=0). */
static double ratio_or_zero(double a, double b) { return b == 0.0 ? 0.0 : a / b; }

/* Binary confusion counts: [target][predicted], 1 = positive. */
static double true_positives(const bnmlp_metric_accumulator *acc) { return (double)acc->confusion[3]; }
static double false_positives(const bnmlp_metric_accumulator *acc) { return (double)acc->confusion[1]; }
static double false_negatives(const bnmlp_metric_accumulator *acc) { return (double)acc->confusion[2]; }

static double finish_accuracy(bnmlp_metric_accumulator *acc) {
    uint64_t right = 0, total = 0;
    for (size_t t = 0; t < acc->classes; t++)
        for (size_t p = 0; p < acc->classes; p++) {
            total += acc->confusion[t * acc->classes + p];
            if (t == p) right += acc->confusion[t * acc->classes + p];
        }
    return (double)right / (double)total;
}

static double finish_precision(bnmlp_metric_accumulator *acc) {
    return ratio_or_zero(true_positives(acc), true_positives(acc) + false_positives(acc));
}

static double finish_recall(bnmlp_metric_accumulator *acc) {
    return ratio_or_zero(true_positives(acc), true_positives(acc) + false_negatives(acc));
}

static double finish_f1(bnmlp_metric_accumulator *acc) {
    const double tp = true_positives(acc);
    return ratio_or_zero(2.0 * tp, 2.0 * tp + false_positives(acc) + false_negatives(acc));
}

/* Keras's AUC (ROC, interpolation): with tp_i, fp_i the positives and negatives scored above
 * threshold i (suffix sums of the buckets), recall_i = tp_i / P and fpr_i = fp_i / N (0 when P or
 * N is 0), the area is sum over i < n - 1 of (fpr_i - fpr_{i+1}) (recall_i + recall_{i+1}) / 2.
 * Keras sums in float32; this sums in double (see docs/metrics.md). */
static double finish_keras_auc(bnmlp_metric_accumulator *acc) {
    const size_t n = acc->num_thresholds;
    uint64_t positives = 0, negatives = 0;
    for (size_t i = 0; i < n; i++) positives += acc->positives_at[i], negatives += acc->negatives_at[i];
    double area = 0.0;
    uint64_t tp_above = acc->positives_at[n - 1], fp_above = acc->negatives_at[n - 1]; /* threshold n-1 */
    for (size_t i = n - 1; i-- > 0;) {
        const uint64_t tp = tp_above + acc->positives_at[i], fp = fp_above + acc->negatives_at[i];
        const double fpr_difference =
            ratio_or_zero((double)fp, (double)negatives) - ratio_or_zero((double)fp_above, (double)negatives);
        const double recall_sum =
            ratio_or_zero((double)tp, (double)positives) + ratio_or_zero((double)tp_above, (double)positives);
        area += fpr_difference * recall_sum / 2.0;
        tp_above = tp, fp_above = fp;
    }
    return area;
}

/* Sifts element i of the heap scores[0..n) down: a min-heap on the score, so that the
 * heapsort below leaves the scores in descending order. */
static void sift_down(metric_score *scores, size_t i, size_t n) {
    for (;;) {
        size_t smallest = i;
        const size_t left = 2 * i + 1, right = left + 1;
        if (left < n && scores[left].score < scores[smallest].score) smallest = left;
        if (right < n && scores[right].score < scores[smallest].score) smallest = right;
        if (smallest == i) return;
        const metric_score swap = scores[i];
        scores[i] = scores[smallest], scores[smallest] = swap;
        i = smallest;
    }
}

/* Sorts scores[0..n) by descending score in place, allocating nothing (heapsort; the order of
 * equal scores does not matter to the area below). */
static void sort_descending(metric_score *scores, size_t n) {
    for (size_t i = n / 2; i-- > 0;) sift_down(scores, i, n);
    for (size_t end = n; end > 1; end--) {
        const metric_score smallest = scores[0];
        scores[0] = scores[end - 1], scores[end - 1] = smallest;
        sift_down(scores, 0, end - 1);
    }
}

/* scikit-learn's roc_auc_score: the ROC curve has one point per distinct score (all pairs of a
 * tie enter together), and the area under its straight segments is summed as trapezoids:
 * sum over groups of (fp_after - fp_before) (tp_before + tp_after) / 2, over P N. Counts are
 * integers, so the sum is exact until it passes 2^53. NaN when P or N is 0 (sklearn raises). */
static double finish_exact_auc(bnmlp_metric_accumulator *acc) {
    metric_score *scores = acc->scores;
    const size_t n = acc->score_count;
    sort_descending(scores, n);
    uint64_t tp = 0, fp = 0;
    double twice_area = 0.0;
    for (size_t i = 0; i < n;) {
        uint64_t group_tp = 0, group_fp = 0;
        const float score = scores[i].score;
        for (; i < n && scores[i].score == score; i++) {
            group_tp += scores[i].positive;
            group_fp += !scores[i].positive;
        }
        twice_area += (double)group_fp * (double)(2 * tp + group_tp);
        tp += group_tp, fp += group_fp;
    }
    if (tp == 0 || fp == 0) return NAN;
    return twice_area / 2.0 / ((double)tp * (double)fp);
}

static double finish_top_k(bnmlp_metric_accumulator *acc) {
    return (double)acc->top_k_hits / (double)acc->rows;
}

/* Per-class F1 = 2 tp / (2 tp + fp + fn) = 2 tp / (support + predicted), over the classes that
 * appear in the targets or the predictions (scikit-learn's labels = unique_labels(y_true,
 * y_pred)); weighted by support (the class's count in the targets) or not. */
static double f1_average(const bnmlp_metric_accumulator *acc, bool weighted) {
    const size_t classes = acc->classes;
    double sum = 0.0, weights = 0.0;
    for (size_t c = 0; c < classes; c++) {
        uint64_t support = 0, predicted = 0;
        for (size_t k = 0; k < classes; k++) {
            support += acc->confusion[c * classes + k];
            predicted += acc->confusion[k * classes + c];
        }
        if (support + predicted == 0) continue; /* absent from both: not one of sklearn's labels */
        const double f1 = 2.0 * (double)acc->confusion[c * classes + c] / (double)(support + predicted);
        const double weight = weighted ? (double)support : 1.0;
        sum += weight * f1;
        weights += weight;
    }
    return ratio_or_zero(sum, weights);
}

static double finish_f1_macro(bnmlp_metric_accumulator *acc) { return f1_average(acc, false); }
static double finish_f1_weighted(bnmlp_metric_accumulator *acc) { return f1_average(acc, true); }

static double elements(const bnmlp_metric_accumulator *acc) {
    return (double)acc->rows * (double)acc->outputs;
}

static double finish_mae(bnmlp_metric_accumulator *acc) { return acc->absolute_sum / elements(acc); }
static double finish_rmse(bnmlp_metric_accumulator *acc) { return sqrt(acc->squared_sum / elements(acc)); }

/* scikit-learn's r2_score (force_finite=True, multioutput="uniform_average"). */
static double finish_r2(bnmlp_metric_accumulator *acc) {
    if (acc->rows < 2) return NAN; /* "not well-defined with less than two samples" */
    double sum = 0.0;
    for (size_t c = 0; c < acc->outputs; c++) {
        const double residual = acc->residual_sq[c], total = acc->target_m2[c];
        if (residual == 0.0)
            sum += 1.0; /* perfect, even for a constant target */
        else if (total != 0.0)
            sum += 1.0 - residual / total;
        /* else a constant target predicted with errors: 0 */
    }
    return sum / (double)acc->outputs;
}

/* ---- the metric table --------------------------------------------------------------------------- */

#define BINARY (1u << BNMLP_METRIC_TASK_BINARY)
#define MULTICLASS (1u << BNMLP_METRIC_TASK_MULTICLASS)
#define REGRESSION (1u << BNMLP_METRIC_TASK_REGRESSION)

static const bnmlp_metric_row metric_rows[] = {
    {BNMLP_METRIC_ACCURACY, "accuracy", "acc", BINARY | MULTICLASS, 0, true, finish_accuracy,
     "fraction of predictions that are right (binary: p > 0.5 is class 1; multiclass: the argmax)"},
    {BNMLP_METRIC_PRECISION, "precision", NULL, BINARY, 0, true, finish_precision,
     "TP / (TP + FP) at threshold 0.5, 0 when nothing is predicted positive"},
    {BNMLP_METRIC_RECALL, "recall", NULL, BINARY, 0, true, finish_recall,
     "TP / (TP + FN) at threshold 0.5, 0 when there are no positives"},
    {BNMLP_METRIC_F1, "f1_score", "f1", BINARY, 0, true, finish_f1,
     "2 TP / (2 TP + FP + FN) at threshold 0.5, 0 when TP is 0"},
    {BNMLP_METRIC_AUC, "auc", NULL, BINARY, BNMLP_METRIC_KEEPS_THRESHOLDS, true, finish_keras_auc,
     "Keras's ROC AUC: evenly spaced thresholds, interpolated Riemann sum"},
    {BNMLP_METRIC_ROC_AUC, "roc_auc", "auc_exact", BINARY, BNMLP_METRIC_KEEPS_SCORES, true, finish_exact_auc,
     "exact ROC AUC as scikit-learn's roc_auc_score (keeps every score)"},
    {BNMLP_METRIC_CONFUSION_MATRIX, "confusion_matrix", NULL, BINARY | MULTICLASS, 0, true, NULL,
     "counts of (target class, predicted class) pairs"},
    {BNMLP_METRIC_TOP_K_ACCURACY, "top_k_categorical_accuracy", "top_k_accuracy", MULTICLASS,
     BNMLP_METRIC_KEEPS_TOP_K, true, finish_top_k,
     "fraction of rows whose class is among the k highest outputs"},
    {BNMLP_METRIC_F1_MACRO, "f1_macro", NULL, MULTICLASS, 0, true, finish_f1_macro,
     "unweighted mean of the per-class F1 over the classes present"},
    {BNMLP_METRIC_F1_WEIGHTED, "f1_weighted", NULL, MULTICLASS, 0, true, finish_f1_weighted,
     "per-class F1 weighted by each class's count in the targets"},
    {BNMLP_METRIC_MEAN_ABSOLUTE_ERROR, "mean_absolute_error", "mae", REGRESSION, 0, false, finish_mae,
     "mean of |output - target| over every element"},
    {BNMLP_METRIC_RMSE, "root_mean_squared_error", "rmse", REGRESSION, 0, false, finish_rmse,
     "square root of the mean of (output - target)^2 over every element"},
    {BNMLP_METRIC_R2, "r2_score", "r2", REGRESSION, BNMLP_METRIC_KEEPS_MOMENTS, true, finish_r2,
     "coefficient of determination, uniform mean over outputs"},
};

#define METRIC_KINDS (sizeof metric_rows / sizeof metric_rows[0])

const bnmlp_metric_row *bnmlp_metric_row_of(bnmlp_metric kind) {
    return (size_t)kind < METRIC_KINDS ? &metric_rows[kind] : NULL;
}

size_t bnmlp_metric_kind_count(void) { return METRIC_KINDS; }

const char *bnmlp_metric_name(bnmlp_metric kind) {
    const bnmlp_metric_row *row = bnmlp_metric_row_of(kind);
    return row ? row->name : "unknown";
}

bnmlp_status bnmlp_metric_from_name(const char *name, bnmlp_metric *kind) {
    if (!name || !kind) return BNMLP_ERR_NULL_ARGUMENT;
    for (size_t i = 0; i < METRIC_KINDS; i++)
        if (strcmp(name, metric_rows[i].name) == 0 ||
            (metric_rows[i].alias && strcmp(name, metric_rows[i].alias) == 0)) {
            *kind = metric_rows[i].kind;
            return BNMLP_OK;
        }
    return BNMLP_ERR_INVALID_ARGUMENT;
}

bnmlp_status bnmlp_metric_describe(bnmlp_metric kind, bnmlp_metric_info *info) {
    if (!info) return BNMLP_ERR_NULL_ARGUMENT;
    const bnmlp_metric_row *row = bnmlp_metric_row_of(kind);
    if (!row) return BNMLP_ERR_INVALID_ARGUMENT;
    *info = (bnmlp_metric_info){.name = row->name,
                                .alias = row->alias,
                                .tasks = row->tasks,
                                .greater_is_better = row->greater_is_better,
                                .scalar = row->finish != NULL,
                                .description = row->description};
    return BNMLP_OK;
}

/* ---- the accumulator ---------------------------------------------------------------------------- */

/* Sizes of the arrays an accumulator needs, in elements. */
typedef struct metric_plan {
    size_t confusion, thresholds, scores, columns;
} metric_plan;

static bnmlp_status check_config(const bnmlp_metric_config *config, const bnmlp_metric_row **row,
                                 const metric_task_row **job) {
    *row = bnmlp_metric_row_of(config->kind);
    if (!*row || (size_t)config->task >= sizeof metric_tasks / sizeof metric_tasks[0])
        return BNMLP_ERR_INVALID_ARGUMENT;
    *job = &metric_tasks[config->task];
    if (!((*row)->tasks & (1u << config->task)) || config->outputs == 0) return BNMLP_ERR_INVALID_ARGUMENT;
    if (config->task == BNMLP_METRIC_TASK_MULTICLASS && config->outputs < 2)
        return BNMLP_ERR_INVALID_ARGUMENT;
    const unsigned keeps = (*row)->keeps;
    if ((keeps & BNMLP_METRIC_KEEPS_TOP_K) && config->top_k == 0) return BNMLP_ERR_INVALID_ARGUMENT;
    if ((keeps & BNMLP_METRIC_KEEPS_THRESHOLDS) &&
        (config->num_thresholds < 2 || config->num_thresholds > ((size_t)1 << 24)))
        return BNMLP_ERR_INVALID_ARGUMENT;
    if ((keeps & BNMLP_METRIC_KEEPS_SCORES) && config->max_rows == 0) return BNMLP_ERR_INVALID_ARGUMENT;
    return BNMLP_OK;
}

/* Element counts of every array, or BNMLP_ERR_OVERFLOW; *bytes the whole block. */
static bnmlp_status plan_sizes(const bnmlp_metric_config *config, const bnmlp_metric_row *row,
                               const metric_task_row *job, metric_plan *plan, size_t *bytes) {
    *plan = (metric_plan){0};
    const size_t classes = config->task == BNMLP_METRIC_TASK_BINARY ? 2 : config->outputs;
    if (job->classification && !bnmlp_size_mul(classes, classes, &plan->confusion)) return BNMLP_ERR_OVERFLOW;
    if (row->keeps & BNMLP_METRIC_KEEPS_THRESHOLDS) plan->thresholds = config->num_thresholds;
    if ((row->keeps & BNMLP_METRIC_KEEPS_SCORES) &&
        !bnmlp_size_mul(config->max_rows, config->outputs, &plan->scores))
        return BNMLP_ERR_OVERFLOW;
    if (!job->classification) plan->columns = config->outputs;
    /* Every element is 8 bytes: the struct, then each array, stay 8-byte aligned. */
    size_t words = 0, part;
    const size_t parts[] = {plan->confusion, plan->thresholds, plan->thresholds, plan->scores,
                            plan->columns,   plan->columns,    plan->columns};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (!bnmlp_size_add(words, parts[i], &words)) return BNMLP_ERR_OVERFLOW;
    const size_t head = (sizeof(bnmlp_metric_accumulator) + 7) / 8 * 8;
    if (!bnmlp_size_mul(words, 8, &part) || !bnmlp_size_add(head, part, bytes)) return BNMLP_ERR_OVERFLOW;
    return BNMLP_OK;
}

/* The next count 8-byte elements of the block at *next (advanced past them), or NULL for none. */
static void *take(unsigned char **next, size_t count) {
    if (count == 0) return NULL;
    void *start = *next;
    *next += count * 8;
    return start;
}

bnmlp_metric_accumulator *bnmlp_metric_create(const bnmlp_metric_config *config, bnmlp_status *status) {
    if (!config || !bnmlp_allocator_is_valid(config->allocator)) {
        bnmlp_set_status(status, BNMLP_ERR_NULL_ARGUMENT);
        return NULL;
    }
    const bnmlp_metric_row *row;
    const metric_task_row *job;
    metric_plan plan;
    size_t bytes;
    bnmlp_status checked = check_config(config, &row, &job);
    if (checked == BNMLP_OK) checked = plan_sizes(config, row, job, &plan, &bytes);
    if (checked != BNMLP_OK) {
        bnmlp_set_status(status, checked);
        return NULL;
    }
    const bnmlp_allocator *allocator = bnmlp_allocator_or_default(config->allocator);
    unsigned char *block = bnmlp_alloc(allocator, bytes);
    if (!block) {
        bnmlp_set_status(status, BNMLP_ERR_OUT_OF_MEMORY);
        return NULL;
    }
    bnmlp_metric_accumulator *acc = (bnmlp_metric_accumulator *)block;
    const size_t head = (sizeof *acc + 7) / 8 * 8;
    const size_t classes = config->task == BNMLP_METRIC_TASK_BINARY ? 2 : config->outputs;
    *acc = (bnmlp_metric_accumulator){.row = row,
                                      .job = job,
                                      .allocator = *allocator,
                                      .outputs = config->outputs,
                                      .classes = job->classification ? classes : 0,
                                      .top_k = config->top_k,
                                      .num_thresholds = config->num_thresholds,
                                      .max_scores = plan.scores,
                                      .array_bytes = bytes - head,
                                      .arrays = block + head};
    unsigned char *next = block + head;
    acc->confusion = take(&next, plan.confusion);
    acc->positives_at = take(&next, plan.thresholds);
    acc->negatives_at = take(&next, plan.thresholds);
    acc->scores = take(&next, plan.scores);
    acc->target_mean = take(&next, plan.columns);
    acc->target_m2 = take(&next, plan.columns);
    acc->residual_sq = take(&next, plan.columns);
    bnmlp_metric_reset(acc);
    bnmlp_set_status(status, BNMLP_OK);
    return acc;
}

void bnmlp_metric_free(bnmlp_metric_accumulator *accumulator) {
    if (!accumulator) return;
    const bnmlp_allocator allocator = accumulator->allocator; /* the struct goes with the block */
    bnmlp_release(&allocator, accumulator);
}

bnmlp_status bnmlp_metric_reset(bnmlp_metric_accumulator *accumulator) {
    if (!accumulator) return BNMLP_ERR_NULL_ARGUMENT;
    accumulator->rows = 0;
    accumulator->score_count = 0;
    accumulator->top_k_hits = 0;
    accumulator->absolute_sum = 0.0;
    accumulator->squared_sum = 0.0;
    if (accumulator->array_bytes) memset(accumulator->arrays, 0, accumulator->array_bytes);
    return BNMLP_OK;
}

size_t bnmlp_metric_rows(const bnmlp_metric_accumulator *accumulator) {
    return accumulator ? accumulator->rows : 0;
}

/* The first NaN or infinity of a (rows, width) tensor, reported through *detail. */
static bnmlp_status check_finite(const bnmlp_metric_accumulator *acc, const bnmlp_tensor *t, const char *what,
                                 bnmlp_error_detail *detail) {
    const size_t n = t->rows * t->cols;
    if (bnmlp_all_finite(t->data, n)) return BNMLP_OK;
    size_t i = 0;
    while (!bnmlp_not_finite(t->data[i])) i++;
    return fail(detail, BNMLP_ERR_NOT_FINITE, i % t->cols + 1, "%s %.9g in row %zu is not finite", what,
                (double)t->data[i], row_number(acc, i / t->cols));
}

/* Everything about a chunk except its values. */
static bnmlp_status check_chunk_shape(const bnmlp_metric_accumulator *acc, const bnmlp_tensor *outputs,
                                      const bnmlp_tensor *targets, bnmlp_error_detail *detail) {
    bnmlp_status status = bnmlp_tensor_check_shape(outputs, 0, acc->outputs);
    if (status == BNMLP_ERR_SHAPE)
        return fail(detail, status, 0, "outputs are %zu x %zu; the accumulator takes rows of %zu columns",
                    outputs->rows, outputs->cols, acc->outputs);
    if (status != BNMLP_OK) return fail(detail, status, 0, "bad outputs tensor");
    status = bnmlp_tensor_check_shape(targets, outputs->rows, 0);
    if (status == BNMLP_ERR_SHAPE)
        return fail(detail, status, 0, "targets have %zu rows, outputs %zu", targets->rows, outputs->rows);
    if (status != BNMLP_OK) return fail(detail, status, 0, "bad targets tensor");
    if (!acc->job->width_ok(acc, targets->cols))
        return fail(detail, BNMLP_ERR_SHAPE, 0,
                    "targets have %zu columns, which does not suit %zu %s outputs", targets->cols,
                    acc->outputs, acc->job->name);
    size_t total, count;
    if (!bnmlp_size_add(acc->rows, outputs->rows, &total) || !bnmlp_size_mul(total, acc->outputs, &count) ||
        count > ((size_t)1 << 53))
        return fail(detail, BNMLP_ERR_OVERFLOW, 0, "more than 2^53 values since the last reset");
    if (acc->scores && count > acc->max_scores)
        return fail(detail, BNMLP_ERR_BATCH_TOO_LARGE, 0,
                    "roc_auc keeps at most %zu rows: %zu added since the last reset, %zu more given",
                    acc->max_scores / acc->outputs, acc->rows, outputs->rows);
    return BNMLP_OK;
}

bnmlp_status bnmlp_metric_add(bnmlp_metric_accumulator *accumulator, const bnmlp_tensor *outputs,
                              const bnmlp_tensor *targets, bnmlp_error_detail *detail) {
    if (!accumulator || !outputs || !targets)
        return fail(detail, BNMLP_ERR_NULL_ARGUMENT, 0, "a NULL argument");
    bnmlp_status status = check_chunk_shape(accumulator, outputs, targets, detail);
    if (status == BNMLP_OK) status = check_finite(accumulator, outputs, "output", detail);
    if (status == BNMLP_OK) status = check_finite(accumulator, targets, "target", detail);
    if (status == BNMLP_OK)
        status =
            accumulator->job->check_targets(accumulator, targets->data, targets->rows, targets->cols, detail);
    if (status != BNMLP_OK) return status;
    accumulator->job->add(accumulator, outputs->data, targets->data, outputs->rows, targets->cols);
    accumulator->rows += outputs->rows;
    return BNMLP_OK;
}

bnmlp_status bnmlp_metric_value(bnmlp_metric_accumulator *accumulator, double *value) {
    if (!accumulator || !value) return BNMLP_ERR_NULL_ARGUMENT;
    if (!accumulator->row->finish) return BNMLP_ERR_INVALID_ARGUMENT;
    *value = accumulator->rows == 0 ? NAN : accumulator->row->finish(accumulator);
    return BNMLP_OK;
}

/* ---- the summable state (combining accumulators over ranks) --------------------------------------- */

bool bnmlp_metric_is_summable(bnmlp_metric kind) {
    const bnmlp_metric_row *row = bnmlp_metric_row_of(kind);
    return row && !(row->keeps & BNMLP_METRIC_KEEPS_UNSUMMABLE);
}

/* The state's scalars: rows, top-k hits, the sums of absolute and squared errors. */
#define STATE_SCALARS 4

/* Counts and columns of the state's arrays, in the order they are stored after the scalars. */
static size_t state_counts(const bnmlp_metric_accumulator *acc) {
    const size_t confusion = acc->confusion ? acc->classes * acc->classes : 0;
    const size_t thresholds = acc->positives_at ? 2 * acc->num_thresholds : 0;
    return confusion + thresholds;
}

size_t bnmlp_metric_state_size(const bnmlp_metric_accumulator *accumulator) {
    const size_t columns = accumulator->residual_sq ? accumulator->outputs : 0;
    return STATE_SCALARS + state_counts(accumulator) + columns;
}

/* Copies n counts to doubles (exact: each is at most 2^53). */
static void counts_out(double *dst, const uint64_t *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = (double)src[i];
}

static void counts_in(uint64_t *dst, const double *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = (uint64_t)src[i];
}

void bnmlp_metric_state_get(const bnmlp_metric_accumulator *acc, double *state) {
    state[0] = (double)acc->rows;
    state[1] = (double)acc->top_k_hits;
    state[2] = acc->absolute_sum;
    state[3] = acc->squared_sum;
    double *next = state + STATE_SCALARS;
    if (acc->confusion) {
        counts_out(next, acc->confusion, acc->classes * acc->classes);
        next += acc->classes * acc->classes;
    }
    if (acc->positives_at) {
        counts_out(next, acc->positives_at, acc->num_thresholds);
        counts_out(next + acc->num_thresholds, acc->negatives_at, acc->num_thresholds);
        next += 2 * acc->num_thresholds;
    }
    if (acc->residual_sq) memcpy(next, acc->residual_sq, acc->outputs * sizeof *next);
}

void bnmlp_metric_state_set(bnmlp_metric_accumulator *acc, const double *state) {
    acc->rows = (size_t)state[0];
    acc->top_k_hits = (uint64_t)state[1];
    acc->absolute_sum = state[2];
    acc->squared_sum = state[3];
    const double *next = state + STATE_SCALARS;
    if (acc->confusion) {
        counts_in(acc->confusion, next, acc->classes * acc->classes);
        next += acc->classes * acc->classes;
    }
    if (acc->positives_at) {
        counts_in(acc->positives_at, next, acc->num_thresholds);
        counts_in(acc->negatives_at, next + acc->num_thresholds, acc->num_thresholds);
        next += 2 * acc->num_thresholds;
    }
    if (acc->residual_sq) memcpy(acc->residual_sq, next, acc->outputs * sizeof *next);
}

bnmlp_status bnmlp_metric_confusion_matrix(const bnmlp_metric_accumulator *accumulator, uint64_t *counts,
                                           size_t count, size_t *classes) {
    if (!accumulator || (!counts && count != 0)) return BNMLP_ERR_NULL_ARGUMENT;
    if (!accumulator->confusion) return BNMLP_ERR_INVALID_ARGUMENT;
    const size_t cells = accumulator->classes * accumulator->classes;
    if (counts && count != cells) return BNMLP_ERR_SHAPE;
    if (counts) memcpy(counts, accumulator->confusion, cells * sizeof *counts);
    if (classes) *classes = accumulator->classes;
    return BNMLP_OK;
}
