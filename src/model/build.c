/* build.c - creating a model, adding layers, and planning every buffer at build time. */
#include "model/model.h"

#include <math.h>
#include <string.h>

#include "core/core.h"
#include "layers/layers.h"

bnmlp_model *bnmlp_model_create_with_allocator(size_t input_width, const bnmlp_allocator *allocator,
                                               bnmlp_status *status) {
    if (input_width == 0) {
        bnmlp_set_status(status, BNMLP_ERR_INVALID_ARGUMENT);
        return NULL;
    }
    if (allocator && (!allocator->allocate || !allocator->release)) {
        bnmlp_set_status(status, BNMLP_ERR_NULL_ARGUMENT);
        return NULL;
    }
    bnmlp_model *model = bnmlp_alloc(allocator, sizeof *model);
    if (!model) {
        bnmlp_set_status(status, BNMLP_ERR_OUT_OF_MEMORY);
        return NULL;
    }
    memset(model, 0, sizeof *model);
    model->allocator = allocator ? *allocator : bnmlp_default_allocator;
    model->input_width = input_width;
    model->max_width = input_width;
    bnmlp_set_status(status, BNMLP_OK);
    return model;
}

bnmlp_model *bnmlp_model_create(size_t input_width, bnmlp_status *status) {
    return bnmlp_model_create_with_allocator(input_width, NULL, status);
}

/* Releases the buffers made by build and marks the model unbuilt. */
static void release_buffers(bnmlp_model *model) {
    const bnmlp_allocator *a = &model->allocator;
    float **buffers[] = {&model->params,   &model->grads,    &model->velocity, &model->stats,
                         &model->outputs,  &model->caches,   &model->delta[0], &model->delta[1],
                         &model->batch_x,  &model->batch_y};
    for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; i++) {
        bnmlp_release(a, *buffers[i]);
        *buffers[i] = NULL;
    }
    for (size_t i = 0; i < model->layer_count; i++) {
        model->layers[i].output = NULL;
        model->layers[i].cache = NULL;
    }
    model->built = false;
    model->max_batch = 0;
}

void bnmlp_model_free(bnmlp_model *model) {
    if (!model) return;
    release_buffers(model);
    const bnmlp_allocator allocator = model->allocator;
    bnmlp_release(&allocator, model->layers);
    bnmlp_release(&allocator, model);
}

/* ---- adding layers -------------------------------------------------------------------------- */

/* Checks that the model can take more layers and has room for `more` of them. */
static bnmlp_status reserve_layers(bnmlp_model *model, size_t more) {
    if (model->built) return BNMLP_ERR_ALREADY_BUILT;
    size_t needed;
    if (!bnmlp_size_add(model->layer_count, more, &needed)) return BNMLP_ERR_OVERFLOW;
    if (needed <= model->layer_capacity) return BNMLP_OK;
    size_t capacity = model->layer_capacity ? model->layer_capacity : 4;
    while (capacity < needed) {
        if (!bnmlp_size_mul(capacity, 2, &capacity)) return BNMLP_ERR_OVERFLOW;
    }
    bnmlp_layer *layers = bnmlp_alloc_zeroed(&model->allocator, capacity, sizeof *layers);
    if (!layers) return BNMLP_ERR_OUT_OF_MEMORY;
    if (model->layer_count) memcpy(layers, model->layers, model->layer_count * sizeof *layers);
    bnmlp_release(&model->allocator, model->layers);
    model->layers = layers;
    model->layer_capacity = capacity;
    return BNMLP_OK;
}

/* Width of the last layer's output (the input width with no layers). */
static size_t current_width(const bnmlp_model *model) {
    return model->layer_count ? model->layers[model->layer_count - 1].out : model->input_width;
}

/* Lays out the parameter arrays of a new layer in the arena, in bnmlp_weight order; sizes[k] is
 * the length of array k (0 when absent). Fails without changing the model on overflow. */
static bnmlp_status place_params(bnmlp_model *model, bnmlp_layer *layer, const size_t sizes[4]) {
    size_t offset = model->param_count;
    layer->param_offset = offset;
    for (int k = 0; k < 4; k++) {
        layer->offsets[k] = sizes[k] ? offset : BNMLP_NO_OFFSET;
        if (!bnmlp_size_add(offset, sizes[k], &offset)) return BNMLP_ERR_OVERFLOW;
    }
    layer->param_count = offset - model->param_count;
    return BNMLP_OK;
}

/* Appends a fully described layer, accounting for its statistics, caches and buffer widths. */
static bnmlp_status append_layer(bnmlp_model *model, bnmlp_layer layer, const size_t sizes[4]) {
    bnmlp_status status = place_params(model, &layer, sizes);
    if (status != BNMLP_OK) return status;
    size_t stats = model->stats_count, caches = model->cache_count, outputs = model->output_count;
    layer.stats_offset = BNMLP_NO_OFFSET;
    if (layer.kind == BNMLP_LAYER_BATCHNORM) {
        layer.stats_offset = stats;
        size_t two, three;
        if (!bnmlp_size_mul(layer.out, 2, &two) || !bnmlp_size_add(stats, two, &stats) ||
            !bnmlp_size_mul(layer.out, 3, &three) || !bnmlp_size_add(caches, three, &caches))
            return BNMLP_ERR_OVERFLOW;
    }
    if (!bnmlp_size_add(outputs, layer.out, &outputs)) return BNMLP_ERR_OVERFLOW;
    layer.trainable = true;
    model->layers[model->layer_count++] = layer;
    model->param_count = layer.param_offset + layer.param_count;
    model->stats_count = stats;
    model->cache_count = caches;
    model->output_count = outputs;
    if (layer.out > model->max_width) model->max_width = layer.out;
    return BNMLP_OK;
}

static bool valid_activation(bnmlp_activation a) {
    return a == BNMLP_ACTIVATION_LINEAR || a == BNMLP_ACTIVATION_RELU ||
           a == BNMLP_ACTIVATION_LEAKY_RELU || a == BNMLP_ACTIVATION_SIGMOID || a == BNMLP_ACTIVATION_TANH;
}

static bool valid_initializer(bnmlp_initializer i) {
    return i == BNMLP_INIT_GLOROT_UNIFORM || i == BNMLP_INIT_GLOROT_NORMAL || i == BNMLP_INIT_HE_UNIFORM ||
           i == BNMLP_INIT_HE_NORMAL || i == BNMLP_INIT_ZEROS;
}

static bnmlp_layer activation_layer(size_t width, bnmlp_activation activation, float alpha) {
    return (bnmlp_layer){.kind = BNMLP_LAYER_ACTIVATION, .in = width, .out = width,
                         .activation = activation, .alpha = alpha};
}

bnmlp_status bnmlp_model_add_dense(bnmlp_model *model, const bnmlp_dense_config *config) {
    if (!model || !config) return BNMLP_ERR_NULL_ARGUMENT;
    if (model->built) return BNMLP_ERR_ALREADY_BUILT;
    if (config->units == 0 || !valid_initializer(config->kernel_initializer) ||
        !valid_activation(config->activation) || !isfinite(config->activation_alpha))
        return BNMLP_ERR_INVALID_ARGUMENT;
    const bool with_activation = config->activation != BNMLP_ACTIVATION_LINEAR;
    const size_t in = current_width(model);
    size_t sizes[4] = {0, config->use_bias ? config->units : 0, 0, 0};
    if (!bnmlp_size_mul(in, config->units, &sizes[0])) return BNMLP_ERR_OVERFLOW;
    bnmlp_status status = reserve_layers(model, with_activation ? 2 : 1);
    if (status != BNMLP_OK) return status;
    /* Keep both layers or neither: remember the counts, roll back if the second fails. */
    const bnmlp_model saved = *model;
    bnmlp_layer dense = {.kind = BNMLP_LAYER_DENSE, .in = in, .out = config->units,
                         .initializer = config->kernel_initializer};
    status = append_layer(model, dense, sizes);
    if (status == BNMLP_OK && with_activation) {
        const size_t none[4] = {0, 0, 0, 0};
        status = append_layer(model, activation_layer(config->units, config->activation,
                                                      config->activation_alpha), none);
    }
    if (status != BNMLP_OK) *model = saved;
    return status;
}

bnmlp_status bnmlp_model_add_activation(bnmlp_model *model, bnmlp_activation activation, float alpha) {
    if (!model) return BNMLP_ERR_NULL_ARGUMENT;
    if (model->built) return BNMLP_ERR_ALREADY_BUILT;
    if (!valid_activation(activation) || !isfinite(alpha)) return BNMLP_ERR_INVALID_ARGUMENT;
    bnmlp_status status = reserve_layers(model, 1);
    if (status != BNMLP_OK) return status;
    const size_t none[4] = {0, 0, 0, 0};
    return append_layer(model, activation_layer(current_width(model), activation, alpha), none);
}

bnmlp_status bnmlp_model_add_batchnorm(bnmlp_model *model, const bnmlp_batchnorm_config *config) {
    if (!model || !config) return BNMLP_ERR_NULL_ARGUMENT;
    if (model->built) return BNMLP_ERR_ALREADY_BUILT;
    const bnmlp_variance_estimator e = config->moving_variance_estimator;
    if (!(config->momentum >= 0.0f && config->momentum <= 1.0f) || !(config->epsilon > 0.0f) ||
        !isfinite(config->epsilon) ||
        !(e == BNMLP_VARIANCE_BIASED || e == BNMLP_VARIANCE_UNBIASED || e == BNMLP_VARIANCE_KERAS2))
        return BNMLP_ERR_INVALID_ARGUMENT;
    bnmlp_status status = reserve_layers(model, 1);
    if (status != BNMLP_OK) return status;
    const size_t width = current_width(model);
    const size_t sizes[4] = {0, 0, config->scale ? width : 0, config->center ? width : 0};
    bnmlp_layer layer = {.kind = BNMLP_LAYER_BATCHNORM, .in = width, .out = width, .batchnorm = *config};
    return append_layer(model, layer, sizes);
}

/* ---- build -------------------------------------------------------------------------------- */

/* count floats from the model's allocator, zeroed; false on overflow or failure. */
static bool alloc_floats(bnmlp_model *model, float **out, size_t rows, size_t cols) {
    size_t count;
    if (!bnmlp_size_mul(rows, cols, &count)) return false;
    if (count == 0) return true; /* nothing to hold (e.g. no parameters at all) */
    *out = bnmlp_alloc_zeroed(&model->allocator, count, sizeof(float));
    return *out != NULL;
}

/* Fills a freshly allocated model with its initial weights and statistics. */
static void initialize_weights(bnmlp_model *model) {
    for (size_t i = 0; i < model->layer_count; i++) {
        const bnmlp_layer *layer = &model->layers[i];
        if (layer->kind == BNMLP_LAYER_DENSE) {
            /* Kernel from the initializer; the bias stays zero (Keras's "zeros"). */
            bnmlp_initialize_kernel(model->params + layer->offsets[BNMLP_WEIGHT_KERNEL], layer->in,
                                    layer->out, layer->initializer, &model->rng);
        } else if (layer->kind == BNMLP_LAYER_BATCHNORM) {
            if (layer->offsets[BNMLP_WEIGHT_GAMMA] != BNMLP_NO_OFFSET) {
                float *gamma = model->params + layer->offsets[BNMLP_WEIGHT_GAMMA];
                for (size_t c = 0; c < layer->out; c++) gamma[c] = 1.0f; /* beta stays 0 */
            }
            float *moving_variance = model->stats + layer->stats_offset + layer->out;
            for (size_t c = 0; c < layer->out; c++) moving_variance[c] = 1.0f; /* mean stays 0 */
        }
    }
}

bnmlp_status bnmlp_model_build(bnmlp_model *model, size_t max_batch, uint32_t seed) {
    if (!model) return BNMLP_ERR_NULL_ARGUMENT;
    if (model->built) return BNMLP_ERR_ALREADY_BUILT;
    if (model->layer_count == 0) return BNMLP_ERR_EMPTY_MODEL;
    if (max_batch == 0) return BNMLP_ERR_INVALID_ARGUMENT;
    /* The largest blocks are all outputs and a delta buffer, max_batch rows each. */
    size_t outputs, deltas;
    if (!bnmlp_size_mul(max_batch, model->output_count, &outputs) || outputs > SIZE_MAX / sizeof(float) ||
        !bnmlp_size_mul(max_batch, model->max_width, &deltas) || deltas > SIZE_MAX / sizeof(float))
        return BNMLP_ERR_OVERFLOW;
    bool ok = alloc_floats(model, &model->params, model->param_count, 1) &&
              alloc_floats(model, &model->grads, model->param_count, 1) &&
              alloc_floats(model, &model->velocity, model->param_count, 1) &&
              alloc_floats(model, &model->stats, model->stats_count, 1) &&
              alloc_floats(model, &model->caches, model->cache_count, 1) &&
              alloc_floats(model, &model->outputs, max_batch, model->output_count) &&
              alloc_floats(model, &model->delta[0], max_batch, model->max_width) &&
              alloc_floats(model, &model->delta[1], max_batch, model->max_width) &&
              alloc_floats(model, &model->batch_x, max_batch, model->input_width) &&
              alloc_floats(model, &model->batch_y, max_batch, current_width(model));
    if (!ok) {
        release_buffers(model);
        return BNMLP_ERR_OUT_OF_MEMORY;
    }
    /* Hand out the slices of the output and cache blocks. */
    float *output = model->outputs, *cache = model->caches;
    for (size_t i = 0; i < model->layer_count; i++) {
        bnmlp_layer *layer = &model->layers[i];
        layer->output = output;
        output += max_batch * layer->out;
        if (layer->kind == BNMLP_LAYER_BATCHNORM) {
            layer->cache = cache;
            cache += 3 * layer->out;
        }
    }
    bnmlp_random_seed(&model->rng, seed);
    initialize_weights(model);
    model->max_batch = max_batch;
    model->built = true;
    return BNMLP_OK;
}
