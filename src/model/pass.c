/*
 * pass.c - sequencing the layers: forward, backward and the statistics' update. Each layer's
 * row (src/layers/layer.h) does the work; this file resolves the layer's arrays in the model's
 * blocks, hands it its input, output and scratch, and calls it.
 */
#include "model/model.h"

#include <string.h>

#include "core/core.h"

/* The collective seam handed to layers whose statistics are sums over the batch. */
static void combine_sums(void *context, double *sums, size_t count) {
    bnmlp_model_combine_sums(context, sums, count);
}

/* True when layer runs a training-mode pass as training: it is trainable, or its row ignores
 * trainable (a frozen batch norm runs as in inference mode; a frozen dropout still drops). */
static bool trains(const bnmlp_layer *layer) { return layer->trainable || layer->ops->ignores_trainable; }

/* The global index of this process's first row: its offset in the global batch under a
 * collective (each rank holding its bnmlp_model_share, as fit hands them out), else 0. */
static size_t first_row(const bnmlp_model *model) {
    if (!bnmlp_model_is_distributed(model)) return 0;
    size_t offset, count;
    bnmlp_model_share(model, model->collective.global_rows, &offset, &count);
    return offset;
}

/* The fields of a pass every layer of one walk shares (rows rows), resolved once per walk: the
 * collective's offset and rows and the batch-norm seam are the same for every layer of it. */
static inline bnmlp_layer_pass walk_pass(bnmlp_model *model, size_t rows) {
    bnmlp_layer_pass pass = {
        .kernels = &model->kernels,
        .first_row = first_row(model),
        .rows = rows,
        .statistics_rows = bnmlp_model_statistics_rows(model, rows), /* every rank's rows */
        .scratch = model->layer_scratch,
        .combine = bnmlp_model_batchnorm_is_synchronized(model) ? combine_sums : NULL,
        .combine_context = model,
    };
    return pass;
}

/* *pass (from walk_pass) made a pass of layer over input, its arrays and gradients resolved. */
static void layer_pass(bnmlp_layer_pass *pass, const bnmlp_model *model, const bnmlp_layer *layer,
                       const float *input, bool batch_statistics) {
    pass->layer = layer;
    pass->index = (size_t)(layer - model->layers);
    pass->x = input;
    pass->y = layer->output;
    pass->batch_statistics = batch_statistics;
    pass->arrays = layer->data; /* resolved at build */
    pass->grads = layer->grad;
    pass->fused_output = NULL;
}

/* True when layer i's passes run layer i + 1 too (planned at build: bnmlp_layer_ops.fuse_next)
 * in a walk over layers [0, count): both layers are in it. */
static bool fused_pair(const bnmlp_model *model, size_t i, size_t count) {
    return i + 1 < count && model->layers[i].fuses_next;
}

const float *bnmlp_model_run_forward(bnmlp_model *model, const float *x, size_t rows, bnmlp_mode mode,
                                     size_t count) {
    const float *input = x;
    /* The dense kernels' panels, packed again after a write of the parameters. */
    const bool training = mode == BNMLP_MODE_TRAINING;
    if (model->panel_block) bnmlp_model_refresh_panels(model, training); /* (tiny models: none) */
    bnmlp_layer_pass pass = walk_pass(model, rows);
    pass.panels = model->panel_block && bnmlp_model_panels_usable(model, training);
    for (size_t i = 0; i < count; i++) {
        const bnmlp_layer *layer = &model->layers[i];
        /* Batch statistics (dropout's mask) in training mode, unless the layer is frozen. */
        layer_pass(&pass, model, layer, input, mode == BNMLP_MODE_TRAINING && trains(layer));
        if (fused_pair(model, i, count)) {
            /* The pair in one pass: the next layer's output written, this layer's not (only
             * the next layer reads it, and its passes are the fused ones). */
            pass.fused_output = model->layers[++i].output;
            layer->ops->forward(&pass);
            input = pass.fused_output;
            continue;
        }
        layer->ops->forward(&pass);
        input = layer->output;
    }
    return input;
}

const float *bnmlp_model_output(const bnmlp_model *model) {
    return model->layers[model->layer_count - 1].output;
}

/* ---- zeroing the gradient arena, in pieces on the model's threads -------------------------------- */

/* Floats of one piece at least: below twice this a run is zeroed on the calling thread. */
#define ZERO_PIECE ((size_t)1 << 16)

/* Floats [begin, end) of a run of the gradient arena set to zero (a bnmlp_range_function). */
static void zero_range(void *arg, size_t begin, size_t end, size_t thread) {
    (void)thread;
    float *grads = arg;
    memset(grads + begin, 0, (end - begin) * sizeof *grads);
}

/* Zeroes floats [begin, end) of the gradient arena. */
static void zero_run(bnmlp_model *model, size_t begin, size_t end) {
    if (end > begin)
        bnmlp_parallel_for(&model->kernels, end - begin, ZERO_PIECE, zero_range, model->grads + begin);
}

/* Calls run(model, begin, end, context) for every run [begin, end) of adjacent gradient arrays
 * the backward of layers [0, top) adds to: all but the arrays a layer's row writes whole
 * (writes_grads), in arena order. */
static void walk_zero_runs(bnmlp_model *model, size_t top, void (*run)(bnmlp_model *, size_t, size_t, void *),
                           void *context) {
    size_t begin = 0, end = 0; /* the run being collected */
    for (size_t i = 0; i < model->layer_count; i++) {
        const bnmlp_layer *layer = &model->layers[i];
        const unsigned written = i < top ? layer->ops->writes_grads : 0u;
        for (size_t k = 0; k < BNMLP_ARRAY_COUNT; k++) {
            if (!layer->grad[k] || layer->arrays[k].length == 0) continue;
            const size_t from = (size_t)(layer->grad[k] - model->grads), to = from + layer->arrays[k].length;
            if (written >> k & 1u) continue;
            if (from != end) {
                if (end > begin) run(model, begin, end, context);
                begin = from;
            }
            end = to;
        }
    }
    if (end > begin) run(model, begin, end, context);
}

/* A walk_zero_runs sink: zeroes the run. */
static void zero_now(bnmlp_model *model, size_t begin, size_t end, void *context) {
    (void)context;
    zero_run(model, begin, end);
}

/* A walk_zero_runs sink: appends the run to the model's planned runs. */
static void keep_run(bnmlp_model *model, size_t begin, size_t end, void *context) {
    (void)context;
    model->zero_runs[model->zero_run_count++] = (bnmlp_slice){.offset = begin, .length = end - begin};
}

void bnmlp_model_plan_zero_runs(bnmlp_model *model, size_t top) {
    model->zero_run_count = 0;
    model->zero_runs_top = top;
    walk_zero_runs(model, model->zero_runs_top, keep_run, NULL);
}

/* Zeroes every gradient the backward of layers [0, top) adds to: the runs planned at build for
 * the head's top (every training step's backward, e.g. below a final sigmoid that binary
 * cross-entropy folds in), else the walk. */
static void zero_gradients(bnmlp_model *model, size_t top) {
    if (top != model->zero_runs_top) {
        walk_zero_runs(model, top, zero_now, NULL);
        return;
    }
    for (size_t r = 0; r < model->zero_run_count; r++) {
        const bnmlp_slice run = model->zero_runs[r];
        zero_run(model, run.offset, run.offset + run.length);
    }
}

void bnmlp_model_run_backward(bnmlp_model *model, const float *x, size_t rows, const float *delta,
                              size_t top) {
    zero_gradients(model, top);
    const float *dy = delta;
    int next = 0; /* which ping-pong buffer receives the next input gradient */
    bnmlp_layer_pass pass = walk_pass(model, rows);
    pass.panels = model->panel_block && bnmlp_model_panels_usable(model, true);
    for (size_t i = top; i-- > 0;) {
        /* The second layer of a fused pair: the first one's backward runs it (dy stays its dy). */
        if (i > 0 && fused_pair(model, i - 1, top)) continue;
        const bnmlp_layer *layer = &model->layers[i];
        const float *input = i ? model->layers[i - 1].output : x;
        /* Backward follows a training-mode forward: batch statistics unless frozen. */
        layer_pass(&pass, model, layer, input, trains(layer));
        if (fused_pair(model, i, top)) pass.fused_output = model->layers[i + 1].output;
        pass.dy = dy;
        pass.dx = i ? model->delta[next] : NULL; /* the first layer's input gradient is never needed */
        layer->ops->backward(&pass);
        dy = pass.dx;
        next ^= 1;
    }
}

/* ---- the statistics' update ------------------------------------------------------------------- */

/* Stages every training layer's statistics update after a training-mode forward of rows rows:
 * the moving statistics are copied to model->staged_stats and each update applied there (the
 * current statistics are only read); true when every new value is finite. */
static bool stage_statistics(bnmlp_model *model, size_t rows) {
    if (model->stats_count)
        memcpy(model->staged_stats, model->stats, model->stats_count * sizeof *model->stats);
    bnmlp_layer_pass pass = walk_pass(model, rows);
    pass.statistics_rows = rows;
    for (size_t i = 0; i < model->layer_count; i++) {
        const bnmlp_layer *layer = &model->layers[i];
        if (!layer->ops->update_statistics || !trains(layer)) continue;
        layer_pass(&pass, model, layer, NULL, true);
        float *arrays[BNMLP_ARRAY_COUNT]; /* the layer's arrays, its statistics in the staging copy */
        for (size_t k = 0; k < BNMLP_ARRAY_COUNT; k++)
            arrays[k] = bnmlp_arrays[k].block == BNMLP_BLOCK_STATS
                            ? bnmlp_slice_in(model->staged_stats, layer->arrays[k])
                            : layer->data[k];
        pass.arrays = arrays;
        if (!layer->ops->update_statistics(&pass, true)) return false;
    }
    return true;
}

bnmlp_status bnmlp_model_check_statistics(const bnmlp_model *model, size_t rows) {
    /* Only the staging copy is written: the model's observable state does not change. */
    return stage_statistics((bnmlp_model *)model, rows) ? BNMLP_OK : BNMLP_ERR_DIVERGED;
}

void bnmlp_model_commit_statistics(bnmlp_model *model, size_t rows) {
    (void)rows; /* staged by the check of the same rows */
    /* A copy, not a swap: swapping would rebind every layer's statistics arrays, a walk over
     * every layer x every array costlier than copying a tiny model's few hundred floats. */
    if (model->stats_count)
        memcpy(model->stats, model->staged_stats, model->stats_count * sizeof *model->stats);
    for (size_t i = 0; i < model->layer_count; i++) {
        bnmlp_layer *layer = &model->layers[i];
        if (layer->ops->update_statistics && trains(layer)) layer->steps++;
    }
}
