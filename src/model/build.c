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
        (void **)&model->params,   (void **)&model->grads,    (void **)&model->optimizer.slots,
        (void **)&model->stats,    (void **)&model->outputs,  (void **)&model->caches,
        (void **)&model->delta[0], (void **)&model->delta[1], (void **)&model->loss_gradient,
        (void **)&model->sums,     (void **)&model->rstd,     (void **)&model->segments,
        (void **)&model->batch_x,  (void **)&model->batch_y,
    };
    for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; i++) {
        bnmlp_release(a, *buffers[i]);
        *buffers[i] = NULL;
    }
    for (size_t i = 0; i < model->layer_count; i++) model->layers[i].output = NULL;
    bnmlp_release(a, model->kernels.scratch);
    bnmlp_threadpool_free(model->kernels.pool);
    model->kernels.scratch = NULL, model->kernels.pool = NULL, model->kernels.scratch_floats = 0;
    model->segment_count = 0;
    model->built = false;
    model->max_batch = 0;
}

void bnmlp_model_free(bnmlp_model *model) {
    if (!model) return;
    release_buffers(model);
    const bnmlp_allocator allocator = model->allocator;
    bnmlp_release(&allocator, model->order);
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

size_t bnmlp_model_output_width(const bnmlp_model *model) {
    if (!model) return 0;
    return model->layer_count ? model->layers[model->layer_count - 1].out : model->input_width;
}

/* The next length floats of a block whose used part ends at *end; false on overflow. */
static bool place(size_t *end, size_t length, bnmlp_slice *slice) {
    *slice = (bnmlp_slice){.offset = *end, .length = length};
    return bnmlp_size_add(*end, length, end);
}

/* Appends a described layer (its array lengths in the slices' length fields), placing its
 * arrays in the model's blocks. Fails without changing the model on overflow. */
static bnmlp_status append_layer(bnmlp_model *model, bnmlp_layer layer) {
    size_t params = model->param_count, stats = model->stats_count, caches = model->cache_count;
    size_t outputs = model->output_count;
    const size_t start = params;
    /* Parameter arrays in bnmlp_weight order: kernel, bias, gamma, beta. */
    bnmlp_slice *arrays[] = {&layer.kernel, &layer.bias, &layer.gamma, &layer.beta};
    bool ok = true;
    for (size_t k = 0; k < 4; k++) ok = ok && place(&params, arrays[k]->length, arrays[k]);
    const size_t statistics = layer.kind == BNMLP_LAYER_BATCHNORM ? layer.out : 0;
    const size_t accumulators = layer.batchnorm.moving_average == BNMLP_AVERAGE_DEBIASED ? statistics : 0;
    ok = ok && place(&stats, statistics, &layer.moving_mean) &&
         place(&stats, statistics, &layer.moving_variance) &&
         place(&stats, accumulators, &layer.biased_mean) &&
         place(&stats, accumulators, &layer.biased_variance) &&
         place(&caches, statistics, &layer.batch_mean) && place(&caches, statistics, &layer.batch_variance) &&
         place(&caches, statistics, &layer.batch_rstd) && bnmlp_size_add(outputs, layer.out, &outputs);
    if (!ok) return BNMLP_ERR_OVERFLOW;
    layer.params = (bnmlp_slice){.offset = start, .length = params - start};
    layer.trainable = true;
    model->layers[model->layer_count++] = layer;
    model->param_count = params;
    model->stats_count = stats;
    model->cache_count = caches;
    model->output_count = outputs;
    if (layer.out > model->max_width) model->max_width = layer.out;
    return BNMLP_OK;
}

static bool valid_initializer(bnmlp_initializer i) {
    return i == BNMLP_INIT_GLOROT_UNIFORM || i == BNMLP_INIT_GLOROT_NORMAL || i == BNMLP_INIT_HE_UNIFORM ||
           i == BNMLP_INIT_HE_NORMAL || i == BNMLP_INIT_ZEROS;
}

static bnmlp_layer activation_layer(size_t width, bnmlp_activation activation, float alpha) {
    return (bnmlp_layer){
        .kind = BNMLP_LAYER_ACTIVATION, .in = width, .out = width, .activation = activation, .alpha = alpha};
}

bnmlp_status bnmlp_model_add_dense(bnmlp_model *model, const bnmlp_dense_config *config) {
    if (!model || !config) return BNMLP_ERR_NULL_ARGUMENT;
    if (model->built) return BNMLP_ERR_ALREADY_BUILT;
    if (config->units == 0 || !valid_initializer(config->kernel_initializer) ||
        !bnmlp_activation_is_valid(config->activation) || !isfinite(config->activation_alpha))
        return BNMLP_ERR_INVALID_ARGUMENT;
    const bool with_activation = config->activation != BNMLP_ACTIVATION_LINEAR;
    const size_t in = bnmlp_model_output_width(model);
    size_t kernel;
    if (!bnmlp_size_mul(in, config->units, &kernel)) return BNMLP_ERR_OVERFLOW;
    bnmlp_status status = reserve_layers(model, with_activation ? 2 : 1);
    if (status != BNMLP_OK) return status;
    /* Keep both layers or neither: remember the counts, roll back if the second fails. */
    const bnmlp_model saved = *model;
    bnmlp_layer dense = {.kind = BNMLP_LAYER_DENSE,
                         .in = in,
                         .out = config->units,
                         .initializer = config->kernel_initializer,
                         .kernel.length = kernel,
                         .bias.length = config->use_bias ? config->units : 0};
    status = append_layer(model, dense);
    if (status == BNMLP_OK && with_activation)
        status = append_layer(model,
                              activation_layer(config->units, config->activation, config->activation_alpha));
    if (status != BNMLP_OK) *model = saved;
    return status;
}

bnmlp_status bnmlp_model_add_activation(bnmlp_model *model, bnmlp_activation activation, float alpha) {
    if (!model) return BNMLP_ERR_NULL_ARGUMENT;
    if (model->built) return BNMLP_ERR_ALREADY_BUILT;
    if (!bnmlp_activation_is_valid(activation) || !isfinite(alpha)) return BNMLP_ERR_INVALID_ARGUMENT;
    bnmlp_status status = reserve_layers(model, 1);
    if (status != BNMLP_OK) return status;
    return append_layer(model, activation_layer(bnmlp_model_output_width(model), activation, alpha));
}

bnmlp_status bnmlp_model_add_batchnorm(bnmlp_model *model, const bnmlp_batchnorm_config *config) {
    if (!model || !config) return BNMLP_ERR_NULL_ARGUMENT;
    if (model->built) return BNMLP_ERR_ALREADY_BUILT;
    const bnmlp_variance_estimator e = config->moving_variance_estimator;
    const bnmlp_moving_average a = config->moving_average;
    if (!(config->momentum >= 0.0f && config->momentum <= 1.0f) || !(config->epsilon > 0.0f) ||
        !isfinite(config->epsilon) ||
        !(e == BNMLP_VARIANCE_BIASED || e == BNMLP_VARIANCE_UNBIASED || e == BNMLP_VARIANCE_KERAS2) ||
        !(a == BNMLP_AVERAGE_EXPONENTIAL || a == BNMLP_AVERAGE_DEBIASED || a == BNMLP_AVERAGE_CUMULATIVE) ||
        (a == BNMLP_AVERAGE_DEBIASED && config->momentum == 1.0f)) /* 1 - 1^t would divide by 0 */
        return BNMLP_ERR_INVALID_ARGUMENT;
    bnmlp_status status = reserve_layers(model, 1);
    if (status != BNMLP_OK) return status;
    const size_t width = bnmlp_model_output_width(model);
    bnmlp_layer layer = {.kind = BNMLP_LAYER_BATCHNORM,
                         .in = width,
                         .out = width,
                         .batchnorm = *config,
                         .gamma.length = config->scale ? width : 0,
                         .beta.length = config->center ? width : 0};
    return append_layer(model, layer);
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

/* Fills a freshly allocated model with its initial weights and statistics. */
static void initialize_weights(bnmlp_model *model) {
    for (size_t i = 0; i < model->layer_count; i++) {
        const bnmlp_layer *layer = &model->layers[i];
        if (layer->kind == BNMLP_LAYER_DENSE) {
            /* Kernel from the initializer; the bias stays zero (Keras's "zeros"). */
            bnmlp_initialize_kernel(bnmlp_slice_in(model->params, layer->kernel), layer->in, layer->out,
                                    layer->initializer, &model->rng);
        } else if (layer->kind == BNMLP_LAYER_BATCHNORM) {
            float *gamma = bnmlp_slice_in(model->params, layer->gamma);
            float *moving_variance = bnmlp_slice_in(model->stats, layer->moving_variance);
            for (size_t c = 0; c < layer->out; c++) {
                if (gamma) gamma[c] = 1.0f; /* beta stays 0 */
                moving_variance[c] = 1.0f;  /* the moving mean stays 0 */
            }
        }
    }
}

void bnmlp_model_refresh_segments(bnmlp_model *model) {
    model->segment_count = 0;
    if (!model->built) return;
    for (size_t i = 0; i < model->layer_count; i++) {
        const bnmlp_layer *layer = &model->layers[i];
        const bnmlp_slice arrays[] = {layer->kernel, layer->bias, layer->gamma, layer->beta};
        if (!layer->trainable) continue;
        for (size_t k = 0; k < 4; k++)
            if (arrays[k].length)
                model->segments[model->segment_count++] =
                    (bnmlp_segment){.offset = arrays[k].offset, .length = arrays[k].length, .kernel = k == 0};
    }
}

/* *floats = the GEMM scratch the dense layers' three products need at max_batch rows on threads
 * threads (0 without dense layers); false on size_t overflow. */
static bool kernel_scratch(const bnmlp_model *model, size_t max_batch, size_t threads, size_t *floats) {
    *floats = 0;
    for (size_t i = 0; i < model->layer_count; i++) {
        const bnmlp_layer *layer = &model->layers[i];
        if (layer->kind != BNMLP_LAYER_DENSE) continue;
        /* y = x w (B, OUT, IN); dw += x^T dy (IN, OUT, B); dx = dy w^T (B, IN, OUT). */
        const size_t shapes[3][3] = {{max_batch, layer->out, layer->in},
                                     {layer->in, layer->out, max_batch},
                                     {max_batch, layer->in, layer->out}};
        for (size_t k = 0; k < 3; k++) {
            const size_t need = bnmlp_gemm_scratch_floats(&model->kernels.plan, shapes[k][0], shapes[k][1],
                                                          shapes[k][2], threads);
            if (need == 0) return false; /* only on overflow */
            if (need > *floats) *floats = need;
        }
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
    if (threads > 1024) return BNMLP_ERR_INVALID_ARGUMENT;
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
    return bnmlp_size_mul(BNMLP_OPTIMIZER_SLOTS, model->param_count, &state) &&
           alloc_block(model, &model->params, model->param_count, 1, sizeof(float)) &&
           alloc_block(model, &model->grads, model->param_count, 1, sizeof(float)) &&
           alloc_block(model, &model->optimizer.slots, state, 1, sizeof(float)) &&
           alloc_block(model, &model->stats, model->stats_count, 1, sizeof(float)) &&
           alloc_block(model, &model->caches, model->cache_count, 1, sizeof(float)) &&
           alloc_block(model, &model->outputs, max_batch, model->output_count, sizeof(float)) &&
           alloc_block(model, &model->delta[0], max_batch, width, sizeof(float)) &&
           alloc_block(model, &model->delta[1], max_batch, width, sizeof(float)) &&
           alloc_block(model, &model->loss_gradient, max_batch, bnmlp_model_output_width(model),
                       sizeof(float)) &&
           alloc_block(model, &model->sums, 4, width, sizeof(double)) &&
           alloc_block(model, &model->rstd, width, 1, sizeof(float)) &&
           alloc_block(model, &model->segments, model->layer_count, 4, sizeof(bnmlp_segment)) &&
           alloc_block(model, &model->batch_x, max_batch, model->input_width, sizeof(float)) &&
           alloc_block(model, &model->batch_y, max_batch, bnmlp_model_output_width(model), sizeof(float));
}

bnmlp_status bnmlp_model_set_loss(bnmlp_model *model, bnmlp_loss loss) {
    if (!model) return BNMLP_ERR_NULL_ARGUMENT;
    if (model->built) return BNMLP_ERR_ALREADY_BUILT;
    if (loss != BNMLP_LOSS_BINARY_CROSSENTROPY && loss != BNMLP_LOSS_CATEGORICAL_CROSSENTROPY &&
        loss != BNMLP_LOSS_MEAN_SQUARED_ERROR)
        return BNMLP_ERR_INVALID_ARGUMENT;
    model->loss = loss;
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_build(bnmlp_model *model, size_t max_batch, uint32_t seed) {
    if (!model) return BNMLP_ERR_NULL_ARGUMENT;
    if (model->built) return BNMLP_ERR_ALREADY_BUILT;
    if (model->layer_count == 0) return BNMLP_ERR_EMPTY_MODEL;
    if (max_batch == 0) return BNMLP_ERR_INVALID_ARGUMENT;
    /* Categorical cross-entropy chooses among 2 classes or more. */
    if (model->loss == BNMLP_LOSS_CATEGORICAL_CROSSENTROPY && bnmlp_model_output_width(model) < 2)
        return BNMLP_ERR_INVALID_ARGUMENT;
    /* The largest blocks are all outputs and a delta buffer, max_batch rows each. */
    size_t outputs, deltas;
    if (!bnmlp_size_mul(max_batch, model->output_count, &outputs) || outputs > SIZE_MAX / sizeof(float) ||
        !bnmlp_size_mul(max_batch, model->max_width, &deltas) || deltas > SIZE_MAX / sizeof(float))
        return BNMLP_ERR_OVERFLOW;
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
    /* Hand out the slices of the output block. */
    float *output = model->outputs;
    for (size_t i = 0; i < model->layer_count; i++) {
        model->layers[i].output = output;
        output += max_batch * model->layers[i].out;
    }
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
                          .grads = model->grads,
                          .count = model->param_count,
                          .segments = model->segments,
                          .segment_count = model->segment_count,
                          .state = &model->optimizer,
                          .pool = model->kernels.pool};
}

void bnmlp_model_stage_batch(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                             const size_t *order, size_t rows, const float **bx, const float **by) {
    for (size_t r = 0; r < rows; r++) {
        memcpy(model->batch_x + r * x->cols, x->data + order[r] * x->cols, x->cols * sizeof(float));
        memcpy(model->batch_y + r * y->cols, y->data + order[r] * y->cols, y->cols * sizeof(float));
    }
    *bx = model->batch_x;
    *by = model->batch_y;
}

bnmlp_random *bnmlp_model_random(bnmlp_model *model) { return &model->rng; }

size_t *bnmlp_model_fit_order(bnmlp_model *model, size_t rows, bool resume) {
    if (resume && model->order_count == rows) return model->order;
    if (model->order_count != rows) {
        size_t *order = bnmlp_alloc_zeroed(&model->allocator, rows, sizeof *order);
        if (!order) return NULL;
        bnmlp_release(&model->allocator, model->order);
        model->order = order;
        model->order_count = rows;
    }
    for (size_t i = 0; i < rows; i++) model->order[i] = i;
    return model->order;
}

void bnmlp_model_count_epoch(bnmlp_model *model) { model->epochs_done++; }
