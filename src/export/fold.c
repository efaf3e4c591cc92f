/*
 * fold.c - batch norm folded for inference (bnmlp_model_fold; docs/deploy.md, "Folding").
 *
 * The model is read through the model tier, layer by layer, as one of three shapes:
 *   matrix    a dense layer: y = x W + b, W (in, out), b (out) (zeros without a bias);
 *   diagonal  a layer that is one scale and shift per feature in inference mode, y = s x + t
 *             (its row's inference_affine: batch norm with its moving statistics and its own
 *             epsilon, normalization, dropout, a linear activation), s and t computed as the
 *             inference pass computes its factors;
 *   layer     anything else (a nonlinear activation): kept as it is.
 * Then, in double:
 *   1. left to right: an identity diagonal (s = 1, t = 0: dropout, linear) is dropped; a diagonal
 *      right after a matrix folds into it, W' = W diag(s), b' = b s + t (for batch norm,
 *      b' = (b - mean) s + beta, and a dense layer without a bias gains one); a diagonal right
 *      after a diagonal composes with it, s = s1 s2, t = t1 s2 + t2;
 *   2. a diagonal left right before a matrix folds into it, W' = diag(s) W, b' = b + t W, unless
 *      a shift is so large that the folded product would lose precision (FOLD_NEXT_MAX_SHIFT);
 *   3. a diagonal still left (first or after an activation, with no dense layer next) stays:
 *      the original layer itself when it is one layer, else a batch-norm layer of the exact form
 *      y = s x + t (moving mean 0, moving variance 0.5, epsilon 0.5: rstd = 1 exactly).
 * The new model gets the weights rounded once to float, the original's loss, class names,
 * maximum batch and threads setting, and every layer frozen.
 */
#include <math.h>
#include <string.h>

#include "core/core.h"
#include "export/export.h"
#include "model/model.h"

/* The shape of one layer as the fold sees it. */
typedef enum fold_shape {
    FOLD_MATRIX = 0, /* y = x W + b */
    FOLD_DIAGONAL,   /* y = s x + t per feature */
    FOLD_LAYER       /* kept as it is */
} fold_shape;

/* One layer of the fold, in double. */
typedef struct fold_item {
    fold_shape shape;
    size_t source; /* the original layer it is; COMPOSED for a diagonal made of several */
    size_t in;     /* input width */
    size_t out;    /* output width */
    bool bias;     /* matrix: a bias (the original's, or one gained by folding) */
    double *w;     /* matrix: the kernel (in, out) */
    double *b;     /* matrix: the bias (out); diagonal: the shift t (out) */
    double *s;     /* diagonal: the scale (out) */
} fold_item;

/* A diagonal folds into the next dense layer only when no shift exceeds this (in units of the
 * layer's output): there the original subtracts the mean before it scales, the folded product
 * adds x s W and t W, and a shift of 2^8 costs up to 8 of float's 24 bits. A normalization of a
 * constant column (variance 0, mean not 0) has a shift of |mean| / 1e-7: it stays its layer. */
#define FOLD_NEXT_MAX_SHIFT 256.0

/* The source of a diagonal composed of several layers. */
#define COMPOSED SIZE_MAX

/* The composed diagonal's batch-norm form: rstd = 1 / sqrt(0.5 + 0.5) = 1 exactly. */
#define EXACT_VARIANCE 0.5f
#define EXACT_EPSILON 0.5f

/* What one fold works on. */
typedef struct fold_state {
    const bnmlp_model *model;         /* the original */
    const bnmlp_allocator *allocator; /* every allocation of the fold and the new model */
    fold_item *items;                 /* count items, in order */
    size_t count;
    bool into_next; /* step 2 runs (bnmlp_model_fold); off for the int8 form (quantize.c) */
} fold_state;

static void item_release(const fold_state *f, fold_item *item) {
    bnmlp_release(f->allocator, item->w);
    bnmlp_release(f->allocator, item->b);
    bnmlp_release(f->allocator, item->s);
    *item = (fold_item){0};
}

static void fold_release(fold_state *f) {
    for (size_t i = 0; i < f->count; i++) item_release(f, &f->items[i]);
    bnmlp_release(f->allocator, f->items);
    f->items = NULL, f->count = 0;
}

/* True when s = 1 and t = 0 for every feature. */
static bool is_identity(const double *s, const double *t, size_t width) {
    for (size_t c = 0; c < width; c++)
        if (s[c] != 1.0 || t[c] != 0.0) return false;
    return true;
}

/* Reads dense layer index into item (a matrix): kernel and bias through the public accessors. */
static bnmlp_status read_matrix(const fold_state *f, size_t index, fold_item *item) {
    const size_t in = item->in, out = item->out;
    item->shape = FOLD_MATRIX;
    item->bias = bnmlp_model_layer_at(f->model, index)->config.dense.use_bias;
    item->w = bnmlp_alloc_zeroed(f->allocator, in * out, sizeof *item->w);
    item->b = bnmlp_alloc_zeroed(f->allocator, out, sizeof *item->b);
    float *floats = bnmlp_alloc_zeroed(f->allocator, in * out, sizeof *floats);
    bnmlp_status status = item->w && item->b && floats ? BNMLP_OK : BNMLP_ERR_OUT_OF_MEMORY;
    if (status == BNMLP_OK)
        status = bnmlp_model_get_weights(f->model, index, BNMLP_WEIGHT_KERNEL, floats, in * out);
    for (size_t i = 0; status == BNMLP_OK && i < in * out; i++) item->w[i] = (double)floats[i];
    if (status == BNMLP_OK && item->bias)
        status = bnmlp_model_get_weights(f->model, index, BNMLP_WEIGHT_BIAS, floats, out);
    for (size_t j = 0; status == BNMLP_OK && item->bias && j < out; j++) item->b[j] = (double)floats[j];
    bnmlp_release(f->allocator, floats);
    return status;
}

/* Reads every layer of the model into f->items (identities left out). */
static bnmlp_status read_items(fold_state *f) {
    const size_t layers = bnmlp_model_layer_count(f->model);
    f->items = bnmlp_alloc_zeroed(f->allocator, layers, sizeof *f->items);
    if (!f->items) return BNMLP_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; i < layers; i++) {
        bnmlp_layer_info info;
        bnmlp_status status = bnmlp_model_layer_info(f->model, i, &info);
        if (status != BNMLP_OK) return status;
        fold_item *item = &f->items[f->count++];
        *item =
            (fold_item){.shape = FOLD_LAYER, .source = i, .in = info.input_width, .out = info.output_width};
        item->s = bnmlp_alloc_zeroed(f->allocator, item->out, sizeof *item->s);
        item->b = bnmlp_alloc_zeroed(f->allocator, item->out, sizeof *item->b);
        if (!item->s || !item->b) return BNMLP_ERR_OUT_OF_MEMORY;
        if (bnmlp_model_layer_affine(f->model, i, item->s, item->b)) {
            item->shape = FOLD_DIAGONAL;
            if (is_identity(item->s, item->b, item->out)) item_release(f, &f->items[--f->count]);
            continue;
        }
        bnmlp_release(f->allocator, item->s);
        bnmlp_release(f->allocator, item->b);
        item->s = item->b = NULL;
        if (info.kind == BNMLP_LAYER_DENSE) {
            status = read_matrix(f, i, item);
            if (status != BNMLP_OK) return status;
        }
    }
    return BNMLP_OK;
}

/* matrix then diagonal -> matrix: W' = W diag(s), b' = b s + t; the matrix gains a bias. */
static void fold_into_previous(fold_item *matrix, const fold_item *diagonal) {
    const size_t in = matrix->in, out = matrix->out;
    for (size_t i = 0; i < in; i++)
        for (size_t j = 0; j < out; j++) matrix->w[i * out + j] *= diagonal->s[j];
    for (size_t j = 0; j < out; j++) matrix->b[j] = matrix->b[j] * diagonal->s[j] + diagonal->b[j];
    matrix->bias = true;
}

/* diagonal then matrix -> matrix: b' = b + t W (each b'_j summed over i in order), then
 * W' = diag(s) W; the matrix gains a bias. */
static void fold_into_next(const fold_item *diagonal, fold_item *matrix) {
    const size_t in = matrix->in, out = matrix->out;
    for (size_t i = 0; i < in; i++)
        for (size_t j = 0; j < out; j++) matrix->b[j] += diagonal->b[i] * matrix->w[i * out + j];
    for (size_t i = 0; i < in; i++)
        for (size_t j = 0; j < out; j++) matrix->w[i * out + j] *= diagonal->s[i];
    matrix->bias = true;
}

/* True when diagonal may fold into the next dense layer (see FOLD_NEXT_MAX_SHIFT). */
static bool folds_forward(const fold_item *diagonal) {
    for (size_t c = 0; c < diagonal->out; c++)
        if (!(fabs(diagonal->b[c]) <= FOLD_NEXT_MAX_SHIFT)) return false;
    return true;
}

/* first diagonal then second -> first: s = s1 s2, t = t1 s2 + t2; made of several layers. */
static void compose(fold_item *first, const fold_item *second) {
    for (size_t c = 0; c < first->out; c++) {
        first->b[c] = first->b[c] * second->s[c] + second->b[c];
        first->s[c] *= second->s[c];
    }
    first->source = COMPOSED;
}

/* Steps 1 and 2 of the fold over f->items, in place. */
static void fold_items(fold_state *f) {
    size_t kept = 0;
    for (size_t i = 0; i < f->count; i++) { /* 1: into the previous matrix or diagonal */
        fold_item *item = &f->items[i], *last = kept ? &f->items[kept - 1] : NULL;
        if (item->shape == FOLD_DIAGONAL && last && last->shape == FOLD_MATRIX) {
            fold_into_previous(last, item);
            item_release(f, item);
        } else if (item->shape == FOLD_DIAGONAL && last && last->shape == FOLD_DIAGONAL) {
            compose(last, item);
            item_release(f, item);
        } else {
            f->items[kept++] = *item;
        }
    }
    f->count = kept;
    kept = 0;
    for (size_t i = 0; i < f->count; i++) { /* 2: into the next matrix */
        fold_item *item = &f->items[i];
        if (f->into_next && item->shape == FOLD_DIAGONAL && i + 1 < f->count &&
            f->items[i + 1].shape == FOLD_MATRIX && folds_forward(item)) {
            fold_into_next(item, &f->items[i + 1]);
            item_release(f, item);
        } else {
            f->items[kept++] = *item;
        }
    }
    f->count = kept;
}

/* ---- the new model -------------------------------------------------------------------------- */

/* Appends to folded a frozen layer configured as original layer index (kind, units, settings);
 * use_bias from bias for a dense layer. */
static bnmlp_status append_like(bnmlp_model *folded, const fold_state *f, size_t index, bool bias) {
    const bnmlp_layer *source = bnmlp_model_layer_at(f->model, index);
    bnmlp_layer layer = {.kind = source->kind, .out = source->out, .config = source->config};
    if (layer.kind == BNMLP_LAYER_DENSE) layer.config.dense.use_bias = bias;
    return bnmlp_model_append_layer(folded, layer);
}

/* Appends the layer of item to folded (unbuilt). */
static bnmlp_status append_item(bnmlp_model *folded, const fold_state *f, const fold_item *item) {
    if (item->shape != FOLD_DIAGONAL || item->source != COMPOSED)
        return append_like(folded, f, item->source, item->bias);
    bnmlp_batchnorm_config config = BNMLP_BATCHNORM_DEFAULT;
    config.epsilon = EXACT_EPSILON;
    return bnmlp_model_add_batchnorm(folded, &config);
}

/* Sets array which (count floats) of layer index of folded from values rounded to float;
 * BNMLP_ERR_DIVERGED when one is not finite as a float. floats holds count. */
static bnmlp_status set_rounded(bnmlp_model *folded, size_t index, bnmlp_weight which, const double *values,
                                size_t count, float *floats) {
    for (size_t i = 0; i < count; i++) {
        floats[i] = (float)values[i];
        if (bnmlp_not_finite(floats[i])) return BNMLP_ERR_DIVERGED;
    }
    return bnmlp_model_set_weights(folded, index, which, floats, count);
}

/* Copies every public array of original layer source into layer index of folded. floats holds
 * the largest. */
static bnmlp_status copy_arrays(bnmlp_model *folded, size_t index, const fold_state *f, size_t source,
                                float *floats) {
    const bnmlp_layer *layer = bnmlp_model_layer_at(f->model, source);
    for (int which = BNMLP_WEIGHT_KERNEL; which <= BNMLP_WEIGHT_MOVING_VARIANCE; which++) {
        const size_t count = which == BNMLP_WEIGHT_KERNEL ? layer->in * layer->out : layer->out;
        bnmlp_status status = bnmlp_model_get_weights(f->model, source, (bnmlp_weight)which, floats, count);
        if (status == BNMLP_ERR_INVALID_ARGUMENT) continue; /* the layer has no such array */
        if (status == BNMLP_OK)
            status = bnmlp_model_set_weights(folded, index, (bnmlp_weight)which, floats, count);
        if (status != BNMLP_OK) return status;
    }
    return BNMLP_OK;
}

/* Sets the arrays of layer index of folded (built) from item. */
static bnmlp_status set_item(bnmlp_model *folded, size_t index, const fold_state *f, const fold_item *item,
                             float *floats) {
    const size_t out = item->out;
    if (item->shape == FOLD_MATRIX) {
        bnmlp_status status =
            set_rounded(folded, index, BNMLP_WEIGHT_KERNEL, item->w, item->in * out, floats);
        if (status == BNMLP_OK && item->bias)
            status = set_rounded(folded, index, BNMLP_WEIGHT_BIAS, item->b, out, floats);
        return status;
    }
    if (item->shape == FOLD_LAYER || item->source != COMPOSED)
        return copy_arrays(folded, index, f, item->source, floats);
    /* y = s * ((x - 0) * 1) + t: exactly s x + t. */
    bnmlp_status status = set_rounded(folded, index, BNMLP_WEIGHT_GAMMA, item->s, out, floats);
    if (status == BNMLP_OK) status = set_rounded(folded, index, BNMLP_WEIGHT_BETA, item->b, out, floats);
    for (size_t c = 0; c < out; c++) floats[c] = 0.0f;
    if (status == BNMLP_OK)
        status = bnmlp_model_set_weights(folded, index, BNMLP_WEIGHT_MOVING_MEAN, floats, out);
    for (size_t c = 0; c < out; c++) floats[c] = EXACT_VARIANCE;
    if (status == BNMLP_OK)
        status = bnmlp_model_set_weights(folded, index, BNMLP_WEIGHT_MOVING_VARIANCE, floats, out);
    return status;
}

/* Gives folded the original's class names, if they name every class (names set before the last
 * layer or the loss changed the class count are stale: the model file leaves them out too). */
static bnmlp_status copy_class_names(bnmlp_model *folded, const fold_state *f) {
    const size_t classes = bnmlp_model_class_count(f->model);
    size_t named = 0;
    while (bnmlp_model_class_name(f->model, named)) named++;
    if (classes == 0 || named != classes) return BNMLP_OK;
    const char **names = bnmlp_alloc_zeroed(f->allocator, classes, sizeof *names);
    if (!names) return BNMLP_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; i < classes; i++) names[i] = bnmlp_model_class_name(f->model, i);
    const bnmlp_status status = bnmlp_model_set_class_names(folded, names, classes);
    bnmlp_release(f->allocator, (void *)names);
    return status;
}

/* The floats the largest array of the original holds (every array of the fold is as large or
 * smaller); 0 on overflow. */
static size_t largest_array(const bnmlp_model *model) {
    size_t largest = 1;
    for (size_t i = 0; i < bnmlp_model_layer_count(model); i++) {
        const bnmlp_layer *layer = bnmlp_model_layer_at(model, i);
        size_t kernel;
        if (!bnmlp_size_mul(layer->in, layer->out, &kernel)) return 0;
        if (kernel > largest) largest = kernel;
    }
    return largest;
}

/* Builds the new model from f->items into *out. */
static bnmlp_status make_model(const fold_state *f, bnmlp_model **out) {
    bnmlp_status status = BNMLP_OK;
    bnmlp_model *folded =
        bnmlp_model_create_with_allocator(bnmlp_model_input_width(f->model), f->allocator, &status);
    if (!folded) return status;
    status = bnmlp_model_set_loss(folded, bnmlp_model_loss(f->model));
    for (size_t i = 0; status == BNMLP_OK && i < f->count; i++) status = append_item(folded, f, &f->items[i]);
    if (status == BNMLP_OK && f->count == 0) /* only identities: one is left */
        status = bnmlp_model_add_activation(folded, BNMLP_ACTIVATION_LINEAR, 0.0f);
    for (size_t i = 0; status == BNMLP_OK && i < bnmlp_model_layer_count(folded); i++)
        status = bnmlp_model_set_trainable(folded, i, false);
    if (status == BNMLP_OK) status = copy_class_names(folded, f);
    if (status == BNMLP_OK) status = bnmlp_model_set_threads(folded, bnmlp_model_threads_setting(f->model));
    /* The original's precision for every dense layer (a layer folding made too). */
    if (status == BNMLP_OK) status = bnmlp_model_set_precision(folded, bnmlp_model_precision(f->model));
    if (status == BNMLP_OK) status = bnmlp_model_build(folded, bnmlp_model_max_batch(f->model), 0);
    const size_t largest = largest_array(f->model);
    float *floats =
        status == BNMLP_OK && largest ? bnmlp_alloc_zeroed(f->allocator, largest, sizeof *floats) : NULL;
    if (status == BNMLP_OK && !floats) status = largest ? BNMLP_ERR_OUT_OF_MEMORY : BNMLP_ERR_OVERFLOW;
    for (size_t i = 0; status == BNMLP_OK && i < f->count; i++)
        status = set_item(folded, i, f, &f->items[i], floats);
    bnmlp_release(f->allocator, floats);
    if (status != BNMLP_OK) {
        bnmlp_model_free(folded);
        return status;
    }
    *out = folded;
    return BNMLP_OK;
}

bnmlp_model *bnmlp_export_fold(const bnmlp_model *model, const bnmlp_allocator *allocator, bool into_next,
                               bnmlp_status *status) {
    if (!model || (allocator && (!allocator->allocate || !allocator->release))) {
        bnmlp_set_status(status, BNMLP_ERR_NULL_ARGUMENT);
        return NULL;
    }
    if (!bnmlp_model_is_built(model)) {
        bnmlp_set_status(status, BNMLP_ERR_NOT_BUILT);
        return NULL;
    }
    if (bnmlp_model_is_quantized(model)) { /* its int8 layers are not dense layers to fold */
        bnmlp_set_status(status, BNMLP_ERR_UNSUPPORTED);
        return NULL;
    }
    fold_state f = {.model = model,
                    .allocator = allocator ? allocator : bnmlp_model_allocator(model),
                    .into_next = into_next};
    bnmlp_model *folded = NULL;
    bnmlp_status result = read_items(&f);
    if (result == BNMLP_OK) {
        fold_items(&f);
        result = make_model(&f, &folded);
    }
    fold_release(&f);
    bnmlp_set_status(status, result);
    return folded;
}

bnmlp_model *bnmlp_model_fold(const bnmlp_model *model, const bnmlp_allocator *allocator,
                              bnmlp_status *status) {
    return bnmlp_export_fold(model, allocator, true, status);
}
