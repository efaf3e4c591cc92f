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
    bnmlp_kernel_context_init(&model->kernels);
    model->loss = BNMLP_LOSS_BINARY_CROSSENTROPY;
    model->optimizer.kind = BNMLP_OPTIMIZER_SGD;
    model->optimizer.config = BNMLP_OPTIMIZER_DEFAULT;
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
    void **buffers[] = {
        (void **)&model->params,        (void **)&model->grads,       (void **)&model->optimizer.slots,
        (void **)&model->stats,         (void **)&model->outputs,     (void **)&model->caches,
        (void **)&model->delta[0],      (void **)&model->delta[1],    (void **)&model->loss_gradient,
        (void **)&model->layer_scratch, (void **)&model->segments,    (void **)&model->row_weights,
        (void **)&model->spare_params,  (void **)&model->spare_slots, (void **)&model->zero_runs,
        (void **)&model->staged_stats,
    };
    for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; i++) {
        bnmlp_release(a, *buffers[i]);
        *buffers[i] = NULL;
    }
    bnmlp_model_release_panels(model);
    for (size_t i = 0; i < model->layer_count; i++) {
        bnmlp_layer *layer = &model->layers[i];
        layer->output = NULL;
        for (size_t k = 0; k < BNMLP_ARRAY_COUNT; k++) layer->data[k] = layer->grad[k] = NULL;
    }
    bnmlp_release(a, model->kernels.scratch);
    bnmlp_threadpool_free(model->kernels.pool);
    model->kernels.scratch = NULL, model->kernels.pool = NULL, model->kernels.scratch_floats = 0;
    model->segment_count = 0;
    model->zero_run_count = 0;
    model->built = false;
    model->max_batch = 0;
}

void bnmlp_model_free(bnmlp_model *model) {
    if (!model) return;
    release_buffers(model);
    const bnmlp_allocator allocator = model->allocator;
    bnmlp_class_names_free(model->class_names);
    bnmlp_model_release_fit_weights(model);
    bnmlp_release(&allocator, model->order);
    bnmlp_release(&allocator, model->fit_record.best_weights);
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

bool bnmlp_model_ends_in(const bnmlp_model *model, bnmlp_activation activation) {
    const bnmlp_layer *last = &model->layers[model->layer_count - 1];
    return activation != BNMLP_ACTIVATION_LINEAR && last->kind == BNMLP_LAYER_ACTIVATION &&
           last->config.activation.function == activation;
}

size_t bnmlp_model_head_top(const bnmlp_model *model) {
    return model->layer_count - (bnmlp_model_ends_in(model, bnmlp_loss_row_of(model->loss)->fused) ? 1 : 0);
}

size_t bnmlp_model_output_width(const bnmlp_model *model) {
    if (!model) return 0;
    return model->layer_count ? model->layers[model->layer_count - 1].out : model->input_width;
}

/* The next length floats of a block whose used part ends at *end; false on overflow. */
static bool place(size_t *end, size_t length, bnmlp_slice *slice) {
    *slice = (bnmlp_slice){.offset = *end, .length = length};
    return bnmlp_size_add(*end, length, end);
}

bnmlp_status bnmlp_model_append_layer(bnmlp_model *model, bnmlp_layer layer) {
    if (model->built) return BNMLP_ERR_ALREADY_BUILT;
    const bnmlp_layer_ops *ops = bnmlp_layer_ops_of(layer.kind);
    if (!ops) return BNMLP_ERR_INVALID_ARGUMENT;
    layer.ops = ops;
    layer.in = bnmlp_model_output_width(model);
    bnmlp_status status = ops->check(&layer);
    if (status != BNMLP_OK) return status;
    size_t lengths[BNMLP_ARRAY_COUNT] = {0};
    if (!layer.ops->plan(&layer, &layer.out, lengths)) return BNMLP_ERR_OVERFLOW;
    size_t ends[3] = {model->param_count, model->stats_count, model->cache_count};
    size_t outputs = model->output_count;
    const size_t start = model->param_count;
    /* Each array at the end of its block, in bnmlp_array order (parameters in bnmlp_weight
     * order: kernel, bias, gamma, beta). */
    bool ok = true;
    for (size_t k = 0; k < BNMLP_ARRAY_COUNT; k++)
        ok = ok && place(&ends[bnmlp_arrays[k].block], lengths[k], &layer.arrays[k]);
    ok = ok && bnmlp_size_add(outputs, layer.out, &outputs);
    if (!ok) return BNMLP_ERR_OVERFLOW;
    status = reserve_layers(model, 1);
    if (status != BNMLP_OK) return status;
    layer.params = (bnmlp_slice){.offset = start, .length = ends[BNMLP_BLOCK_PARAMS] - start};
    model->layers[model->layer_count++] = layer;
    model->param_count = ends[BNMLP_BLOCK_PARAMS];
    model->stats_count = ends[BNMLP_BLOCK_STATS];
    model->cache_count = ends[BNMLP_BLOCK_CACHES];
    model->output_count = outputs;
    if (layer.out > model->max_width) model->max_width = layer.out;
    return BNMLP_OK;
}

/* A new layer of kind taking the model's current output. */
static bnmlp_layer new_layer(const bnmlp_model *model, bnmlp_layer_kind kind) {
    return (bnmlp_layer){.kind = kind, .in = bnmlp_model_output_width(model), .trainable = true};
}

/* An activation layer of width `width`. */
static bnmlp_layer activation_layer(size_t width, bnmlp_activation activation, float alpha) {
    bnmlp_layer layer = {.kind = BNMLP_LAYER_ACTIVATION, .in = width, .trainable = true};
    layer.config.activation.function = activation;
    layer.config.activation.alpha = alpha;
    return layer;
}

bnmlp_status bnmlp_model_add_dense(bnmlp_model *model, const bnmlp_dense_config *config) {
    if (!model || !config) return BNMLP_ERR_NULL_ARGUMENT;
    if (model->built) return BNMLP_ERR_ALREADY_BUILT;
    bnmlp_layer dense = new_layer(model, BNMLP_LAYER_DENSE);
    dense.out = config->units;
    dense.config.dense.use_bias = config->use_bias;
    dense.config.dense.initializer = config->kernel_initializer;
    dense.config.dense.precision = model->precision;
    const bool with_activation = config->activation != BNMLP_ACTIVATION_LINEAR;
    const bnmlp_layer activation =
        activation_layer(config->units, config->activation, config->activation_alpha);
    /* Both layers checked before either is added. */
    bnmlp_status status = bnmlp_dense_ops.check(&dense);
    if (status == BNMLP_OK) status = bnmlp_activation_ops.check(&activation);
    if (status != BNMLP_OK) return status;
    status = reserve_layers(model, with_activation ? 2 : 1);
    if (status != BNMLP_OK) return status;
    /* Keep both layers or neither: remember the counts, roll back if the second fails. */
    const bnmlp_model saved = *model;
    status = bnmlp_model_append_layer(model, dense);
    if (status == BNMLP_OK && with_activation) status = bnmlp_model_append_layer(model, activation);
    if (status != BNMLP_OK) *model = saved;
    return status;
}

bnmlp_status bnmlp_model_add_activation(bnmlp_model *model, bnmlp_activation activation, float alpha) {
    if (!model) return BNMLP_ERR_NULL_ARGUMENT;
    if (model->built) return BNMLP_ERR_ALREADY_BUILT;
    return bnmlp_model_append_layer(model,
                                    activation_layer(bnmlp_model_output_width(model), activation, alpha));
}

bnmlp_status bnmlp_model_add_batchnorm(bnmlp_model *model, const bnmlp_batchnorm_config *config) {
    if (!model || !config) return BNMLP_ERR_NULL_ARGUMENT;
    if (model->built) return BNMLP_ERR_ALREADY_BUILT;
    bnmlp_layer layer = new_layer(model, BNMLP_LAYER_BATCHNORM);
    layer.config.batchnorm = *config;
    return bnmlp_model_append_layer(model, layer);
}

bnmlp_status bnmlp_model_add_normalization(bnmlp_model *model) {
    if (!model) return BNMLP_ERR_NULL_ARGUMENT;
    return bnmlp_model_append_layer(model, new_layer(model, BNMLP_LAYER_NORMALIZATION));
}

bnmlp_status bnmlp_model_add_dropout(bnmlp_model *model, float rate, uint64_t seed) {
    if (!model) return BNMLP_ERR_NULL_ARGUMENT;
    bnmlp_layer layer = new_layer(model, BNMLP_LAYER_DROPOUT);
    layer.config.dropout.rate = rate;
    layer.config.dropout.seed = seed;
    return bnmlp_model_append_layer(model, layer);
}

/* ---- build -------------------------------------------------------------------------------- */

/* rows * cols zeroed elements of size bytes from the model's allocator into *out; false on
 * overflow or failure. Nothing to hold (e.g. no parameters at all) leaves *out NULL. */
static bool alloc_block(bnmlp_model *model, void *out, size_t rows, size_t cols, size_t size) {
    size_t count;
    if (!bnmlp_size_mul(rows, cols, &count)) return false;
    if (count == 0) return true;
    void *block = bnmlp_alloc_zeroed(&model->allocator, count, size);
    memcpy(out, &block, sizeof block);
    return block != NULL;
}

/* Fills a freshly allocated model with its initial weights and statistics, layer by layer in
 * order (they draw from the model's generator in that order). */
static void initialize_weights(bnmlp_model *model) {
    for (size_t i = 0; i < model->layer_count; i++) {
        const bnmlp_layer *layer = &model->layers[i];
        if (layer->ops->initialize) layer->ops->initialize(layer, layer->data, &model->rng);
    }
}

void bnmlp_model_refresh_segments(bnmlp_model *model) {
    model->segment_count = 0;
    if (!model->built) return;
    for (size_t i = 0; i < model->layer_count; i++) {
        const bnmlp_layer *layer = &model->layers[i];
        if (!layer->trainable) continue;
        for (size_t k = 0; k < BNMLP_ARRAY_COUNT; k++) {
            const bnmlp_slice array = layer->arrays[k];
            if (bnmlp_arrays[k].block != BNMLP_BLOCK_PARAMS || !array.length) continue;
            model->segments[model->segment_count++] = (bnmlp_segment){
                .offset = array.offset, .length = array.length, .kernel = bnmlp_arrays[k].kernel};
        }
    }
}

/* *floats = the GEMM scratch the layers' products need at max_batch rows on threads threads (0
 * without products); false on size_t overflow. */
static bool kernel_scratch(const bnmlp_model *model, size_t max_batch, size_t threads, size_t *floats) {
    *floats = 0;
    for (size_t i = 0; i < model->layer_count; i++) {
        const bnmlp_layer *layer = &model->layers[i];
        if (!layer->ops->gemm_scratch) continue;
        const size_t need = layer->ops->gemm_scratch(layer, &model->kernels.plan, max_batch, threads);
        if (need == 0) return false; /* only on overflow */
        if (need > *floats) *floats = need;
    }
    return true;
}

/* Makes the pool and the scratch for threads (0: all online cores) at max_batch rows into
 * *pool and *scratch (*floats of it); nothing allocated on failure. */
static bnmlp_status make_kernel_resources(const bnmlp_model *model, size_t max_batch, size_t threads,
                                          bnmlp_threadpool **pool, float **scratch, size_t *floats) {
    const size_t resolved = threads ? threads : bnmlp_online_cores();
    *scratch = NULL;
    *pool = NULL;
    if (!kernel_scratch(model, max_batch, resolved, floats) || *floats > SIZE_MAX / sizeof(float))
        return BNMLP_ERR_OVERFLOW;
    if (*floats && !(*scratch = bnmlp_alloc(&model->allocator, *floats * sizeof(float))))
        return BNMLP_ERR_OUT_OF_MEMORY;
    bnmlp_status status = BNMLP_OK;
    if (resolved > 1 && !(*pool = bnmlp_threadpool_create(resolved, &model->allocator, &status))) {
        bnmlp_release(&model->allocator, *scratch);
        *scratch = NULL;
        return status;
    }
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_set_threads(bnmlp_model *model, size_t threads) {
    if (!model) return BNMLP_ERR_NULL_ARGUMENT;
    if (threads > BNMLP_MAX_THREADS) return BNMLP_ERR_INVALID_ARGUMENT;
    if (model->built) {
        bnmlp_threadpool *pool;
        float *scratch;
        size_t floats;
        const bnmlp_status status =
            make_kernel_resources(model, model->max_batch, threads, &pool, &scratch, &floats);
        if (status != BNMLP_OK) return status;
        bnmlp_release(&model->allocator, model->kernels.scratch);
        bnmlp_threadpool_free(model->kernels.pool);
        model->kernels.pool = pool, model->kernels.scratch = scratch, model->kernels.scratch_floats = floats;
    }
    model->threads = threads;
    return BNMLP_OK;
}

size_t bnmlp_model_threads(const bnmlp_model *model) {
    if (!model) return 0;
    return model->threads ? model->threads : bnmlp_online_cores();
}

/* Allocates every block of a model built for max_batch rows; false (some blocks allocated) on
 * failure. */
static bool allocate_blocks(bnmlp_model *model, size_t max_batch) {
    const size_t width = model->max_width;
    size_t state;
    return bnmlp_size_mul(BNMLP_OPTIMIZER_MAX_SLOTS, model->param_count, &state) &&
           alloc_block(model, &model->params, model->param_count, 1, sizeof(float)) &&
           alloc_block(model, &model->grads, model->param_count, 1, sizeof(float)) &&
           alloc_block(model, &model->optimizer.slots, state, 1, sizeof(float)) &&
           alloc_block(model, &model->spare_params, model->param_count, 1, sizeof(float)) &&
           alloc_block(model, &model->spare_slots, state, 1, sizeof(float)) &&
           alloc_block(model, &model->stats, model->stats_count, 1, sizeof(float)) &&
           alloc_block(model, &model->staged_stats, model->stats_count, 1, sizeof(float)) &&
           alloc_block(model, &model->caches, model->cache_count, 1, sizeof(float)) &&
           alloc_block(model, &model->outputs, max_batch, model->output_count, sizeof(float)) &&
           alloc_block(model, &model->delta[0], max_batch, width, sizeof(float)) &&
           alloc_block(model, &model->delta[1], max_batch, width, sizeof(float)) &&
           alloc_block(model, &model->loss_gradient, max_batch, bnmlp_model_output_width(model),
                       sizeof(float)) &&
           alloc_block(model, &model->row_weights, max_batch, 1, sizeof(float)) &&
           alloc_block(model, &model->layer_scratch, model->layer_scratch_bytes, 1, 1) &&
           alloc_block(model, &model->segments, model->layer_count, BNMLP_ARRAY_COUNT,
                       sizeof(bnmlp_segment)) &&
           alloc_block(model, &model->zero_runs, model->layer_count, BNMLP_ARRAY_COUNT, sizeof(bnmlp_slice));
}

bnmlp_status bnmlp_model_set_loss(bnmlp_model *model, bnmlp_loss loss) {
    if (!model) return BNMLP_ERR_NULL_ARGUMENT;
    if (model->built) return BNMLP_ERR_ALREADY_BUILT;
    if (!bnmlp_loss_row_of(loss)) return BNMLP_ERR_INVALID_ARGUMENT;
    model->loss = loss;
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_build(bnmlp_model *model, size_t max_batch, uint32_t seed) {
    if (!model) return BNMLP_ERR_NULL_ARGUMENT;
    if (model->built) return BNMLP_ERR_ALREADY_BUILT;
    if (model->layer_count == 0) return BNMLP_ERR_EMPTY_MODEL;
    if (max_batch == 0) return BNMLP_ERR_INVALID_ARGUMENT;
    /* E.g. categorical cross-entropy chooses among 2 classes or more. */
    if (bnmlp_model_output_width(model) < bnmlp_loss_row_of(model->loss)->min_outputs)
        return BNMLP_ERR_INVALID_ARGUMENT;
    /* The largest blocks are all outputs and a delta buffer, max_batch rows each. */
    size_t outputs, deltas;
    if (!bnmlp_size_mul(max_batch, model->output_count, &outputs) || outputs > SIZE_MAX / sizeof(float) ||
        !bnmlp_size_mul(max_batch, model->max_width, &deltas) || deltas > SIZE_MAX / sizeof(float))
        return BNMLP_ERR_OVERFLOW;
    model->layer_scratch_bytes = 0;
    for (size_t i = 0; i < model->layer_count; i++) {
        const bnmlp_layer *layer = &model->layers[i];
        const size_t bytes = layer->ops->scratch_bytes ? layer->ops->scratch_bytes(layer) : 0;
        if (bytes > model->layer_scratch_bytes) model->layer_scratch_bytes = bytes;
    }
    if (!allocate_blocks(model, max_batch)) {
        release_buffers(model);
        return BNMLP_ERR_OUT_OF_MEMORY;
    }
    bnmlp_status status = make_kernel_resources(model, max_batch, model->threads, &model->kernels.pool,
                                                &model->kernels.scratch, &model->kernels.scratch_floats);
    if (status != BNMLP_OK) {
        release_buffers(model);
        return status;
    }
    if (!bnmlp_model_plan_panels(model, max_batch)) {
        release_buffers(model);
        return BNMLP_ERR_OUT_OF_MEMORY;
    }
    /* Hand out the slices of the output block, and resolve every named array (and parameter
     * gradient) in its block once: the passes read them from the layer. */
    float *output = model->outputs;
    for (size_t i = 0; i < model->layer_count; i++) {
        bnmlp_layer *layer = &model->layers[i];
        layer->output = output;
        output += max_batch * layer->out;
        for (size_t k = 0; k < BNMLP_ARRAY_COUNT; k++) {
            layer->data[k] = bnmlp_layer_array(model, layer, (bnmlp_array)k);
            const bool parameter = bnmlp_arrays[k].block == BNMLP_BLOCK_PARAMS;
            layer->grad[k] = parameter ? bnmlp_slice_in(model->grads, layer->arrays[k]) : NULL;
        }
    }
    /* The fused pairs: a layer whose row runs the next layer inside its own passes. */
    for (size_t i = 0; i < model->layer_count; i++) {
        bnmlp_layer *layer = &model->layers[i];
        layer->fuses_next = i + 1 < model->layer_count && layer->ops->fuse_next &&
                            layer->ops->fuse_next(layer, &model->layers[i + 1]);
    }
    bnmlp_model_plan_zero_runs(model, bnmlp_model_head_top(model)); /* the gradient arena's layout is final */
    bnmlp_random_seed(&model->rng, seed);
    initialize_weights(model);
    model->max_batch = max_batch;
    model->built = true;
    bnmlp_model_refresh_segments(model);
    return BNMLP_OK;
}

/* ---- what the training tier is handed ------------------------------------------------------- */

bnmlp_arenas bnmlp_model_arenas(bnmlp_model *model) {
    return (bnmlp_arenas){.params = model->params,
                          .next_params = model->spare_params,
                          .grads = model->grads,
                          .count = model->param_count,
                          .segments = model->segments,
                          .segment_count = model->segment_count,
                          .state = &model->optimizer,
                          .next_slots = model->spare_slots,
                          .kernels = &model->kernels};
}

bnmlp_arenas bnmlp_model_step_arenas(bnmlp_model *model) {
    bnmlp_arenas arenas = bnmlp_model_arenas(model);
    bnmlp_model_panels_hook(model, &arenas);
    return arenas;
}

void bnmlp_model_swap_params(bnmlp_model *model) {
    /* The step that wrote the spares wrote the panels from them too (bnmlp_model_step_arenas). */
    model->panels_current = model->panels_pending;
    model->panels_pending = false;
    float *const params = model->spare_params, *const slots = model->spare_slots;
    model->spare_params = model->params, model->spare_slots = model->optimizer.slots;
    model->params = params, model->optimizer.slots = slots;
    /* Only the arrays a layer has in the parameter block move (bnmlp_layer_array's pointer). */
    for (size_t i = 0; i < model->layer_count; i++) {
        bnmlp_layer *layer = &model->layers[i];
        for (size_t k = 0; k < BNMLP_ARRAY_COUNT; k++)
            if (layer->data[k] && bnmlp_arrays[k].block == BNMLP_BLOCK_PARAMS)
                layer->data[k] = params + layer->arrays[k].offset;
    }
}

bnmlp_random *bnmlp_model_random(bnmlp_model *model) { return &model->rng; }

const bnmlp_allocator *bnmlp_model_allocator(const bnmlp_model *model) { return &model->allocator; }

bnmlp_status bnmlp_model_reserve_order(bnmlp_model *model, size_t rows) {
    if (model->order_count == rows) return BNMLP_OK;
    size_t *order = bnmlp_alloc_zeroed(&model->allocator, rows, sizeof *order);
    if (!order) return BNMLP_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; i < rows; i++) order[i] = i;
    bnmlp_release(&model->allocator, model->order);
    model->order = order;
    model->order_count = rows;
    return BNMLP_OK;
}

const size_t *bnmlp_model_saved_order(const bnmlp_model *model, size_t rows) {
    return rows && model->order_count == rows ? model->order : NULL;
}

void bnmlp_model_keep_order(bnmlp_model *model, const size_t *order, size_t rows) {
    if (rows && model->order_count == rows) memcpy(model->order, order, rows * sizeof *order);
}

void bnmlp_model_count_epoch(bnmlp_model *model) { model->epochs_done++; }
