/*
 * loss.c - the losses: binary cross-entropy (Keras's, from probabilities or from logits),
 * categorical cross-entropy, mean squared error, their right-prediction counts and target rules,
 * and the table of loss rows that the model's head, build, the checks and the public name
 * functions read. The only file that knows the kinds of loss one by one.
 */
#include "layers/layers.h"

#include <math.h>
#include <string.h>

#include "core/bytes.h"
#include "core/core.h"
#include "core/file.h"

/* The weight of element i of a batch whose rows hold per_row elements: 1 without weights. */
static inline double weight_of(const float *w, size_t i, size_t per_row) {
    return w ? (double)w[i / per_row] : 1.0;
}

/* Binary cross-entropy from probabilities; w (n / per_row) row weights or NULL (then the plain
 * arithmetic: the sum over n and the gradient over divisor). Returns the (weighted) sum. */
static inline double bce_probabilities(float *dp, const float *p, const float *y, size_t n, double divisor,
                                       const float *w, size_t per_row) {
    const float lo = BNMLP_BCE_CLIP, hi = 1.0f - BNMLP_BCE_CLIP;
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        /* Keras clips p to [1e-7, 1 - 1e-7] before the logs; the clip has zero gradient. */
        const float clipped = p[i] < lo ? lo : (p[i] > hi ? hi : p[i]);
        const double q = (double)clipped, t = (double)y[i];
        if (w)
            total -= weight_of(w, i, per_row) * (t * log(q) + (1.0 - t) * log(1.0 - q));
        else
            total -= t * log(q) + (1.0 - t) * log(1.0 - q);
        if (dp) {
            const int inside = p[i] >= lo && p[i] <= hi;
            const double g = -t / q + (1.0 - t) / (1.0 - q);
            dp[i] = inside ? (float)((w ? weight_of(w, i, per_row) * g : g) / divisor) : 0.0f;
        }
    }
    return total;
}

double bnmlp_bce_probabilities(float *dp, const float *p, const float *y, size_t n, size_t divisor) {
    return bce_probabilities(dp, p, y, n, (double)divisor, NULL, 1) / (double)n;
}

/* log(1 + e) for e = exp(-|v|) in [0, 1], float32: logf(1 + e) where 1 + e keeps e's digits
 * that matter (absolute error below 1e-7), the series e - e^2/2 below 1e-4 (error below 4e-13).
 * Several times faster than log1pf, the loss's most expensive function. */
static float log1p_of_exp(float e) { return e < 1e-4f ? e - 0.5f * e * e : logf(1.0f + e); }

/* Logits per block of bce_logits: its exponentials and logs staged on the stack. */
#define BCE_BLOCK 64

/* Binary cross-entropy from logits; w as bce_probabilities'; s (or NULL) receives sigmoid(z), the
 * sigmoid activation's forward bit for bit (the same e, the same bnmlp_sigmoid_of). Returns the
 * (weighted) sum. By blocks: the library calls first (exp, then log), then the arithmetic in a
 * loop without calls, whose selects on the labels and signs need no branches. */
static inline double bce_logits(float *dz, float *s, const float *z, const float *y, size_t n, size_t divisor,
                                const float *w, size_t per_row, double weighted_divisor) {
    double total = 0.0; /* the terms in float32, their sum in double, in index order */
    float e[BCE_BLOCK], log1p_e[BCE_BLOCK];
    for (size_t b = 0; b < n; b += BCE_BLOCK) {
        const size_t m = n - b < BCE_BLOCK ? n - b : BCE_BLOCK;
        const float *zb = z + b, *yb = y + b;
        for (size_t i = 0; i < m; i++) e[i] = expf(-fabsf(zb[i]));
        for (size_t i = 0; i < m; i++) log1p_e[i] = log1p_of_exp(e[i]);
        if (!w) {
            /* Unweighted (the tutorial's): the terms, sigmoids and gradients in a loop that
             * vectorizes, then the terms' sum in index order. */
            double terms[BCE_BLOCK];
            for (size_t i = 0; i < m; i++) {
                const float v = zb[i], t = yb[i];
                /* The selects below as masks (random labels and signs defeat a branch): margin is
                 * v with its sign flipped for t = 1 (-v), the hinge margin above 0 else +0, and
                 * sigmoid's numerator 1 for v >= 0 else e, over 1 + e (bnmlp_sigmoid_of's bits). */
                const uint32_t v_bits = bnmlp_float_bits(v), flip = (uint32_t)(t == 1.0f) << 31;
                const float margin = bnmlp_float_from_bits(v_bits ^ flip);
                const float hinge =
                    bnmlp_float_from_bits(bnmlp_float_bits(margin) & (0u - (uint32_t)(margin > 0.0f)));
                terms[i] = (double)hinge + (double)log1p_e[i];
                const uint32_t e_bits = bnmlp_float_bits(e[i]), one_bits = bnmlp_float_bits(1.0f);
                const float numerator =
                    bnmlp_float_from_bits(e_bits ^ ((e_bits ^ one_bits) & (0u - (uint32_t)(v >= 0.0f))));
                const float sigmoid = numerator / (1.0f + e[i]);
                if (s) s[b + i] = sigmoid;
                if (dz) dz[b + i] = (sigmoid - t) / (float)divisor; /* d/dv = (sigmoid(v) - t) / n */
            }
            for (size_t i = 0; i < m; i++) total += terms[i];
            continue;
        }
        for (size_t i = 0; i < m; i++) {
            const float v = zb[i], t = yb[i];
            /* -(t log s(v) + (1-t) log(1-s(v))) = max(v,0) - v t + log(1 + exp(-|v|)) (TF's
             * sigmoid_cross_entropy_with_logits), written per label so that an infinite logit on
             * the right side gives 0 rather than inf - inf: softplus(-v) for t = 1, softplus(v)
             * for t = 0. exp(-|v|) serves both the loss and the sigmoid of the gradient. */
            const float margin = t == 1.0f ? -v : v;
            const double term = (double)(margin > 0.0f ? margin : 0.0f) + (double)log1p_e[i];
            const float sigmoid = bnmlp_sigmoid_of(v, e[i]);
            if (s) s[b + i] = sigmoid;
            const double wi = weight_of(w, b + i, per_row);
            total += wi * term;
            if (dz) dz[b + i] = (float)(wi * (double)(sigmoid - t) / weighted_divisor);
        }
    }
    return total;
}

double bnmlp_bce_logits(float *dz, const float *z, const float *y, size_t n, size_t divisor) {
    return bce_logits(dz, NULL, z, y, n, divisor, NULL, 1, 0.0) / (double)n;
}

size_t bnmlp_binary_correct(const float *p, const float *y, size_t n) {
    size_t correct = 0;
    for (size_t i = 0; i < n; i++) correct += (p[i] > 0.5f) == (y[i] == 1.0f);
    return correct;
}

/* ---- categorical cross-entropy -------------------------------------------------------------- */

/* The target probability of class k in row r: one-hot from a class index (width 1) or the
 * row's probabilities (width = classes). */
static double target_of(const float *y, size_t r, size_t k, size_t classes, size_t width) {
    return width == 1 ? (double)((size_t)y[r] == k) : (double)y[r * classes + k];
}

/* Categorical cross-entropy from logits; w (rows) row weights or NULL. Returns the (weighted)
 * sum over rows. */
static inline double categorical_logits(float *dz, const float *z, const float *y, size_t rows,
                                        size_t classes, size_t width, double divisor, const float *w) {
    double total = 0.0;
    for (size_t r = 0; r < rows; r++) {
        const float *row = z + r * classes;
        /* logsumexp(z) = max + log sum exp(z - max): no exp overflows. */
        double max = (double)row[0], sum = 0.0, dot = 0.0, mass = 0.0;
        for (size_t k = 1; k < classes; k++)
            if ((double)row[k] > max) max = (double)row[k];
        for (size_t k = 0; k < classes; k++) sum += exp((double)row[k] - max);
        const double lse = max + log(sum);
        /* -sum t log softmax = (sum t) lse - sum t z; sum t is 1 for valid targets. */
        for (size_t k = 0; k < classes; k++) {
            const double t = target_of(y, r, k, classes, width);
            dot += t * (double)row[k];
            mass += t;
        }
        total += w ? (double)w[r] * (mass * lse - dot) : mass * lse - dot;
        if (!dz) continue;
        for (size_t k = 0; k < classes; k++) {
            const double softmax = exp((double)row[k] - lse),
                         g = softmax - target_of(y, r, k, classes, width);
            dz[r * classes + k] = (float)((w ? (double)w[r] * g : g) / divisor);
        }
    }
    return total;
}

double bnmlp_categorical_logits(float *dz, const float *z, const float *y, size_t rows, size_t classes,
                                size_t width, size_t divisor) {
    return categorical_logits(dz, z, y, rows, classes, width, (double)divisor, NULL) / (double)rows;
}

/* Keras's categorical cross-entropy from probabilities; w (rows) row weights or NULL. Returns
 * the (weighted) sum over rows. */
static inline double categorical_probabilities(float *dp, const float *p, const float *y, size_t rows,
                                               size_t classes, size_t width, double divisor, const float *w) {
    const double lo = (double)BNMLP_BCE_CLIP, hi = 1.0 - (double)BNMLP_BCE_CLIP;
    double total = 0.0;
    for (size_t r = 0; r < rows; r++) {
        const float *row = p + r * classes;
        /* Keras: q = p / sum(p), clipped to [1e-7, 1 - 1e-7], loss -sum t log q. */
        double scale = 0.0, inside_mass = 0.0, row_loss = 0.0;
        for (size_t k = 0; k < classes; k++) scale += (double)row[k];
        for (size_t k = 0; k < classes; k++) {
            const double q = (double)row[k] / scale, t = target_of(y, r, k, classes, width);
            const double clipped = q < lo ? lo : (q > hi ? hi : q);
            if (w)
                row_loss -= t * log(clipped);
            else
                total -= t * log(clipped);
            if (q >= lo && q <= hi) inside_mass += t; /* sum over unclipped j of t_j q_j / q_j */
        }
        if (w) total += (double)w[r] * row_loss;
        if (!dp) continue;
        /* d/dp_k = (-t_k / q_k [k unclipped] + sum_j unclipped t_j) / scale, per row, over rows. */
        for (size_t k = 0; k < classes; k++) {
            const double q = (double)row[k] / scale, t = target_of(y, r, k, classes, width);
            const double own = q >= lo && q <= hi ? -t / q : 0.0;
            dp[r * classes + k] = w ? (float)((double)w[r] * ((own + inside_mass) / scale) / divisor)
                                    : (float)((own + inside_mass) / scale / divisor);
        }
    }
    return total;
}

double bnmlp_categorical_probabilities(float *dp, const float *p, const float *y, size_t rows, size_t classes,
                                       size_t width, size_t divisor) {
    return categorical_probabilities(dp, p, y, rows, classes, width, (double)divisor, NULL) / (double)rows;
}

size_t bnmlp_categorical_correct(const float *p, const float *y, size_t rows, size_t classes, size_t width) {
    size_t correct = 0;
    for (size_t r = 0; r < rows; r++) {
        const float *row = p + r * classes;
        size_t predicted = 0, truth = 0;
        for (size_t k = 1; k < classes; k++) {
            if (row[k] > row[predicted]) predicted = k; /* the first maximum, as numpy's argmax */
            if (width > 1 && y[r * classes + k] > y[r * classes + truth]) truth = k;
        }
        if (width == 1) truth = (size_t)y[r];
        correct += predicted == truth;
    }
    return correct;
}

/* ---- mean squared error ---------------------------------------------------------------------------- */

/* Squared error; w (n / per_row) row weights or NULL. Returns the (weighted) sum. */
static inline double mse(float *dout, const float *out, const float *y, size_t n, double divisor,
                         const float *w, size_t per_row) {
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double d = (double)out[i] - (double)y[i];
        if (w) {
            const double wi = weight_of(w, i, per_row);
            total += wi * (d * d);
            if (dout) dout[i] = (float)(wi * (2.0 * d) / divisor);
        } else {
            total += d * d;
            if (dout) dout[i] = (float)(2.0 * d / divisor);
        }
    }
    return total;
}

double bnmlp_mse(float *dout, const float *out, const float *y, size_t n, size_t divisor) {
    return mse(dout, out, y, n, (double)divisor, NULL, 1) / (double)n;
}

/* ---- the rows' functions ----------------------------------------------------------------------- */

/* A target column count of exactly the outputs (binary cross-entropy, mean squared error). */
static bool width_is_outputs(size_t width, size_t outputs) { return width == outputs; }

/* Class indices (one column) or class probabilities (one per output). */
static bool width_is_index_or_outputs(size_t width, size_t outputs) { return width == 1 || width == outputs; }

static bnmlp_status check_binary(const float *y, size_t rows, size_t width, size_t outputs,
                                 bnmlp_error_detail *detail) {
    (void)outputs;
    /* One branch-free sweep (it vectorizes); only a bad batch looks for its first bad label. */
    int bad = 0;
    for (size_t i = 0; i < rows * width; i++) bad |= (y[i] != 0.0f) & (y[i] != 1.0f);
    for (size_t i = 0; bad && i < rows * width; i++)
        if (y[i] != 0.0f && y[i] != 1.0f) {
            bnmlp_detail_set(detail, i / width + 1, i % width + 1, 0,
                             "row %zu: label %g is not 0 or 1 (binary_crossentropy)", i / width + 1,
                             (double)y[i]);
            return BNMLP_ERR_LABEL;
        }
    return BNMLP_OK;
}

/* Class indices 0..outputs-1 (width 1), or rows of probabilities >= 0 summing to 1 within 1e-5. */
static bnmlp_status check_categorical(const float *y, size_t rows, size_t width, size_t outputs,
                                      bnmlp_error_detail *detail) {
    for (size_t r = 0; r < rows; r++) {
        const float *row = y + r * width;
        if (width == 1) {
            if (!(row[0] >= 0.0f && row[0] < (float)outputs && row[0] == floorf(row[0]))) {
                bnmlp_detail_set(
                    detail, r + 1, 1, 0,
                    "row %zu: label %g is not a class index from 0 to %zu (categorical_crossentropy)", r + 1,
                    (double)row[0], outputs - 1);
                return BNMLP_ERR_LABEL;
            }
            continue;
        }
        double sum = 0.0;
        for (size_t k = 0; k < width; k++) {
            if (row[k] < 0.0f) {
                bnmlp_detail_set(detail, r + 1, k + 1, 0,
                                 "row %zu: class probability %g is negative (categorical_crossentropy)",
                                 r + 1, (double)row[k]);
                return BNMLP_ERR_LABEL;
            }
            sum += (double)row[k];
        }
        if (fabs(sum - 1.0) > 1e-5) {
            bnmlp_detail_set(detail, r + 1, 0, 0,
                             "row %zu: class probabilities sum to %g, not 1 (categorical_crossentropy)",
                             r + 1, sum);
            return BNMLP_ERR_LABEL;
        }
    }
    return BNMLP_OK;
}

/* Any finite target (checked before) suits mean squared error. */
static bnmlp_status check_any(const float *y, size_t rows, size_t width, size_t outputs,
                              bnmlp_error_detail *detail) {
    (void)y, (void)rows, (void)width, (void)outputs, (void)detail;
    return BNMLP_OK;
}

/* The rows' losses: without weights the kernels above (the mean, the gradient over divisor_rows);
 * with them, sum w l / weight_divisor (per row, an output's mean) and its gradient. */
static double loss_binary(const bnmlp_loss_batch *b) {
    const size_t n = b->rows * b->outputs, divisor = b->divisor_rows * b->outputs;
    if (b->weights) {
        const double d = b->weight_divisor * (double)b->outputs;
        return (b->logits ? bce_logits(b->gradient, b->fused_output, b->logits, b->y, n, divisor, b->weights,
                                       b->outputs, d)
                          : bce_probabilities(b->gradient, b->output, b->y, n, d, b->weights, b->outputs)) /
               d;
    }
    return b->logits ? bce_logits(b->gradient, b->fused_output, b->logits, b->y, n, divisor, NULL, 1, 0.0) /
                           (double)n
                     : bnmlp_bce_probabilities(b->gradient, b->output, b->y, n, divisor);
}

static size_t correct_binary(const bnmlp_loss_batch *b) {
    return bnmlp_binary_correct(b->output, b->y, b->rows * b->outputs);
}

static double loss_categorical(const bnmlp_loss_batch *b) {
    if (b->weights) {
        const double d = b->weight_divisor;
        return (b->logits ? categorical_logits(b->gradient, b->logits, b->y, b->rows, b->outputs, b->width, d,
                                               b->weights)
                          : categorical_probabilities(b->gradient, b->output, b->y, b->rows, b->outputs,
                                                      b->width, d, b->weights)) /
               d;
    }
    return b->logits ? bnmlp_categorical_logits(b->gradient, b->logits, b->y, b->rows, b->outputs, b->width,
                                                b->divisor_rows)
                     : bnmlp_categorical_probabilities(b->gradient, b->output, b->y, b->rows, b->outputs,
                                                       b->width, b->divisor_rows);
}

static size_t correct_categorical(const bnmlp_loss_batch *b) {
    return bnmlp_categorical_correct(b->output, b->y, b->rows, b->outputs, b->width);
}

static double loss_squared(const bnmlp_loss_batch *b) {
    if (b->weights) {
        const double d = b->weight_divisor * (double)b->outputs;
        return mse(b->gradient, b->output, b->y, b->rows * b->outputs, d, b->weights, b->outputs) / d;
    }
    return bnmlp_mse(b->gradient, b->output, b->y, b->rows * b->outputs, b->divisor_rows * b->outputs);
}

/* A binary target's class: its label, 0 or 1 (one output). */
static size_t class_binary(const float *y, size_t width, size_t outputs) {
    (void)width, (void)outputs;
    return y[0] == 1.0f ? 1 : 0;
}

/* A categorical target's class: its index, or its probabilities' first maximum. */
static size_t class_categorical(const float *y, size_t width, size_t outputs) {
    if (width == 1) return (size_t)y[0];
    size_t best = 0;
    for (size_t k = 1; k < outputs; k++)
        if (y[k] > y[best]) best = k;
    return best;
}

static size_t correct_none(const bnmlp_loss_batch *b) {
    (void)b;
    return 0;
}

/* ---- the table ------------------------------------------------------------------------------------- */

/* Every loss, in the order of bnmlp_loss. */
static const bnmlp_loss_row losses[] = {
    {.kind = BNMLP_LOSS_BINARY_CROSSENTROPY,
     .names = {"binary_crossentropy", "bce", NULL},
     .description = "binary cross-entropy",
     .min_outputs = 1,
     .has_accuracy = true,
     .per_row = false,
     .fused = BNMLP_ACTIVATION_SIGMOID,
     .computes_fused = true,
     .width_ok = width_is_outputs,
     .check = check_binary,
     .loss = loss_binary,
     .correct = correct_binary,
     .target_class = class_binary,
     .metric_task = BNMLP_METRIC_TASK_BINARY},
    {.kind = BNMLP_LOSS_CATEGORICAL_CROSSENTROPY,
     .names = {"categorical_crossentropy", "softmax", NULL},
     .description = "categorical cross-entropy",
     .min_outputs = 2,
     .has_accuracy = true,
     .per_row = true,
     .fused = BNMLP_ACTIVATION_SOFTMAX,
     .computes_fused = false,
     .width_ok = width_is_index_or_outputs,
     .check = check_categorical,
     .loss = loss_categorical,
     .correct = correct_categorical,
     .target_class = class_categorical,
     .metric_task = BNMLP_METRIC_TASK_MULTICLASS},
    {.kind = BNMLP_LOSS_MEAN_SQUARED_ERROR,
     .names = {"mean_squared_error", "mse", NULL},
     .description = "mean squared error",
     .min_outputs = 1,
     .has_accuracy = false,
     .per_row = false,
     .fused = BNMLP_ACTIVATION_LINEAR,
     .computes_fused = false,
     .width_ok = width_is_outputs,
     .check = check_any,
     .loss = loss_squared,
     .correct = correct_none,
     .target_class = NULL,
     .metric_task = BNMLP_METRIC_TASK_REGRESSION},
};

#define LOSS_COUNT (sizeof losses / sizeof losses[0])

const bnmlp_loss_row *bnmlp_loss_row_of(bnmlp_loss loss) {
    const size_t index = (size_t)loss;
    return index < LOSS_COUNT ? &losses[index] : NULL;
}

/* ---- the public calls ---------------------------------------------------------------------------- */

size_t bnmlp_loss_count(void) { return LOSS_COUNT; }

const char *bnmlp_loss_name(bnmlp_loss loss) {
    const bnmlp_loss_row *row = bnmlp_loss_row_of(loss);
    return row ? row->names[0] : "unknown";
}

const char *bnmlp_loss_alias(bnmlp_loss loss, size_t index) {
    const bnmlp_loss_row *row = bnmlp_loss_row_of(loss);
    if (!row) return NULL;
    for (size_t i = 0; i < sizeof row->names / sizeof row->names[0] && row->names[i]; i++)
        if (i == index) return row->names[i];
    return NULL;
}

bnmlp_status bnmlp_loss_from_name(const char *name, bnmlp_loss *loss) {
    if (!name || !loss) return BNMLP_ERR_NULL_ARGUMENT;
    for (size_t k = 0; k < LOSS_COUNT; k++)
        for (size_t i = 0; bnmlp_loss_alias(losses[k].kind, i); i++)
            if (strcmp(bnmlp_loss_alias(losses[k].kind, i), name) == 0) {
                *loss = losses[k].kind;
                return BNMLP_OK;
            }
    return BNMLP_ERR_INVALID_ARGUMENT;
}

bnmlp_status bnmlp_loss_metric_task(bnmlp_loss loss, bnmlp_metric_task *task) {
    if (!task) return BNMLP_ERR_NULL_ARGUMENT;
    const bnmlp_loss_row *row = bnmlp_loss_row_of(loss);
    if (!row) return BNMLP_ERR_INVALID_ARGUMENT;
    *task = row->metric_task;
    return BNMLP_OK;
}

bool bnmlp_loss_has_accuracy(bnmlp_loss loss) {
    const bnmlp_loss_row *row = bnmlp_loss_row_of(loss);
    return row && row->has_accuracy;
}

bnmlp_status bnmlp_loss_check_targets(bnmlp_loss loss, size_t outputs, const bnmlp_tensor *y,
                                      bnmlp_error_detail *detail) {
    if (!y) return BNMLP_ERR_NULL_ARGUMENT;
    const bnmlp_loss_row *row = bnmlp_loss_row_of(loss);
    if (!row || outputs < row->min_outputs) return BNMLP_ERR_INVALID_ARGUMENT;
    bnmlp_status status = bnmlp_tensor_check_shape(y, 0, 0);
    if (status != BNMLP_OK) return status;
    if (!row->width_ok(y->cols, outputs)) {
        bnmlp_detail_set(detail, 0, 0, 0, "%zu target column(s) per row; %s with %zu output(s) needs %s%zu",
                         y->cols, row->names[0], outputs,
                         outputs > 1 && row->width_ok(1, outputs) ? "1 or " : "", outputs);
        return BNMLP_ERR_SHAPE;
    }
    /* bnmlp_all_finite's sweep; only a bad batch looks for its first non-finite target. */
    const bool finite = bnmlp_all_finite(y->data, y->rows * y->cols);
    for (size_t i = 0; !finite && i < y->rows * y->cols; i++)
        if (bnmlp_not_finite(y->data[i])) {
            bnmlp_detail_set(detail, i / y->cols + 1, i % y->cols + 1, 0, "row %zu: target %g is not finite",
                             i / y->cols + 1, (double)y->data[i]);
            return BNMLP_ERR_NOT_FINITE;
        }
    return row->check(y->data, y->rows, y->cols, outputs, detail);
}

/* ---- class weights ------------------------------------------------------------------------------- */

/* The class of row r of y (index or first maximum), or classes when it is no valid index. */
static size_t class_of(const bnmlp_tensor *y, size_t r, size_t classes) {
    const float *row = y->data + r * y->cols;
    if (y->cols == 1) {
        const float v = row[0];
        return v >= 0.0f && v < (float)classes && v == floorf(v) ? (size_t)v : classes;
    }
    size_t best = 0;
    for (size_t k = 1; k < classes; k++)
        if (row[k] > row[best]) best = k;
    return best;
}

/* The rows of y of class c (exact: counted, not summed in floats). */
static size_t class_count(const bnmlp_tensor *y, size_t c, size_t classes) {
    size_t count = 0;
    for (size_t r = 0; r < y->rows; r++) count += class_of(y, r, classes) == c;
    return count;
}

bnmlp_status bnmlp_class_weights_balanced(const bnmlp_tensor *y, size_t classes, float *out) {
    if (!y || !out || !y->data) return BNMLP_ERR_NULL_ARGUMENT;
    if (classes < 2) return BNMLP_ERR_INVALID_ARGUMENT;
    if (y->rows == 0 || (y->cols != 1 && y->cols != classes)) return BNMLP_ERR_SHAPE;
    /* Every row checked first, and each class seen, so that a refused call writes nothing. */
    for (size_t r = 0; r < y->rows; r++)
        if (class_of(y, r, classes) == classes) return BNMLP_ERR_LABEL;
    for (size_t c = 0; c < classes; c++)
        if (class_count(y, c, classes) == 0) return BNMLP_ERR_INVALID_ARGUMENT;
    for (size_t c = 0; c < classes; c++)
        out[c] = (float)((double)y->rows / ((double)classes * (double)class_count(y, c, classes)));
    return BNMLP_OK;
}
