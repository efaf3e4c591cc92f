/*
 * panels.c - the dense kernels' op(B) packed ahead of their products (gemm.h: panels), as the
 * model plans, validates and refreshes them. The layers' rows say which panels they want and
 * pack them (ops->panel_floats, ops->pack_panels); the model owns the memory, knows whether they
 * hold the current parameters (panels_current), and hands the optimizer a hook that packs the
 * next step's panels from each piece of new parameters right after it is written, while it is
 * still in cache. Every write of the parameters other than a successful optimizer step clears
 * panels_current (bnmlp_model_params_changed); the next forward then packs them all again.
 */
#include "model/model.h"

#include <stdint.h>
#include <string.h>

#include "core/core.h"

/* Floats of 64-byte alignment slack per panel buffer. */
#define PANEL_ALIGN_FLOATS 16u

/* Floats of the kernel one sub-chunk of the optimizer's pass holds at most (unless one unit of
 * NR rows is more): its new values are still in L2 when the layer packs them. */
#define CHUNK_FLOATS ((size_t)1 << 15)

static bool panels_train(const bnmlp_model *model);

/* True when layer i's panels for the input gradient are planned: training reads panels at build
 * (only training computes the input gradient; fp32 models by default do not, and would carry a
 * copy of every large kernel for nothing), and not the first layer (its dx is never computed). A
 * model switched to bf16 after build keeps its forward panels; its input gradients pack w^T
 * themselves, as without panels. */
static bool wants_input_gradient(const bnmlp_model *model, size_t i) { return panels_train(model) && i > 0; }

bool bnmlp_model_plan_panels(bnmlp_model *model, size_t max_batch) {
    size_t total = 0, sizes[2];
    if (model->panels_off) return true; /* bnmlp_model_set_weight_panels(false) before build: none */
    for (size_t pass = 0; pass < 2; pass++) {
        /* First the sizes, then (pass 1) the memory and the pointers. */
        if (pass == 1) {
            if (total == 0) return true;
            if (total > SIZE_MAX / sizeof(float) ||
                !(model->panel_block = bnmlp_alloc_zeroed(&model->allocator, total, sizeof(float))))
                return false;
        }
        size_t at = 0;
        for (size_t i = 0; i < model->layer_count; i++) {
            bnmlp_layer *layer = &model->layers[i];
            for (size_t kind = 0; kind < 2; kind++) {
                sizes[kind] =
                    layer->ops->panel_floats && layer->ops->pack_panels
                        ? layer->ops->panel_floats(layer, &model->kernels.plan, max_batch,
                                                   (bnmlp_panel_kind)kind, wants_input_gradient(model, i))
                        : 0;
                if (sizes[kind] == 0) continue;
                if (pass == 0) {
                    if (sizes[kind] > SIZE_MAX - PANEL_ALIGN_FLOATS - total) return false;
                    total += sizes[kind] + PANEL_ALIGN_FLOATS;
                    continue;
                }
                const uintptr_t start = (uintptr_t)(model->panel_block + at);
                layer->panels[kind] = (float *)((start + 63u) & ~(uintptr_t)63u);
                at += sizes[kind] + PANEL_ALIGN_FLOATS;
            }
        }
    }
    model->panels_current = false;
    return true;
}

void bnmlp_model_replan_panels(bnmlp_model *model) {
    if (!model->built || !model->panel_block) return;
    bool has = false, wants = false;
    for (size_t i = 1; i < model->layer_count; i++) {
        const bnmlp_layer *layer = &model->layers[i];
        has = has || layer->panels[BNMLP_PANEL_INPUT_GRADIENT];
        wants =
            wants || (layer->ops->panel_floats && layer->ops->pack_panels &&
                      layer->ops->panel_floats(layer, &model->kernels.plan, model->max_batch,
                                               BNMLP_PANEL_INPUT_GRADIENT, wants_input_gradient(model, i)));
    }
    if (has == wants) return;
    bnmlp_model_release_panels(model);
    /* Without the memory the products pack their kernels themselves: slower, the same bits. */
    if (!bnmlp_model_plan_panels(model, model->max_batch)) bnmlp_model_release_panels(model);
}

void bnmlp_model_release_panels(bnmlp_model *model) {
    bnmlp_release(&model->allocator, model->panel_block);
    model->panel_block = NULL;
    model->panels_current = model->panels_pending = false;
    for (size_t i = 0; i < model->layer_count; i++)
        model->layers[i].panels[0] = model->layers[i].panels[1] = NULL;
}

/* True when training passes read the panels now (bnmlp_training_panels). */
static bool panels_train(const bnmlp_model *model) {
    return model->panel_use == BNMLP_TRAINING_PANELS_ON ||
           (model->panel_use == BNMLP_TRAINING_PANELS_BF16 && model->precision == BNMLP_PRECISION_BF16);
}

/* True when a pass of mode `training` may read panels once they are current. */
static bool panels_serve(const bnmlp_model *model, bool training) {
    return model->panel_block && !model->panels_off && (!training || panels_train(model));
}

bool bnmlp_model_panels_usable(const bnmlp_model *model, bool training) {
    return panels_serve(model, training) && model->panels_current;
}

bnmlp_status bnmlp_model_set_training_panels(bnmlp_model *model, bnmlp_training_panels when) {
    if (model->built) return BNMLP_ERR_ALREADY_BUILT;
    if (when != BNMLP_TRAINING_PANELS_BF16 && when != BNMLP_TRAINING_PANELS_OFF &&
        when != BNMLP_TRAINING_PANELS_ON)
        return BNMLP_ERR_INVALID_ARGUMENT;
    model->panel_use = when;
    return BNMLP_OK;
}

void bnmlp_model_use_panels(bnmlp_model *model, bool use) {
    model->panels_off = !use;
    model->panels_current = false; /* not kept while off: packed again when back on */
}

bnmlp_status bnmlp_model_set_weight_panels(bnmlp_model *model, bool use) {
    if (!model) return BNMLP_ERR_NULL_ARGUMENT;
    bnmlp_model_use_panels(model, use);
    return BNMLP_OK;
}

/* A layer's kernel rows packed again, a piece of NR-row groups per thread. */
typedef struct repack_job {
    const bnmlp_model *model;
    const bnmlp_layer *layer;
    const float *kernel;
    size_t group_rows; /* rows of a group: the plan's NR */
} repack_job;

/* Groups [begin, end) of rows (a bnmlp_range_function). */
static void repack_range(void *arg, size_t begin, size_t end, size_t thread) {
    (void)thread;
    const repack_job *job = arg;
    const bnmlp_layer *layer = job->layer;
    const size_t row_end = end * job->group_rows < layer->in ? end * job->group_rows : layer->in;
    layer->ops->pack_panels(layer, &job->model->kernels.plan, job->kernel,
                            begin * job->group_rows * layer->out, row_end * layer->out);
}

void bnmlp_model_refresh_panels(bnmlp_model *model, bool training) {
    if (!panels_serve(model, training) || model->panels_current) return;
    const size_t nr = model->kernels.plan.nr;
    for (size_t i = 0; i < model->layer_count; i++) {
        const bnmlp_layer *layer = &model->layers[i];
        if (!layer->panels[0] && !layer->panels[1]) continue;
        repack_job job = {
            .model = model, .layer = layer, .kernel = layer->data[BNMLP_ARRAY_KERNEL], .group_rows = nr};
        bnmlp_parallel_for(&model->kernels, (layer->in + nr - 1) / nr, 4, repack_range, &job);
    }
    model->panels_current = true;
}

/* ---- the optimizer's hook -------------------------------------------------------------------- */

/* The kernel of a layer with panels, in the parameter arena: floats [*begin, *end). */
static bool panel_kernel(const bnmlp_layer *layer, size_t *begin, size_t *end) {
    if (!layer->panels[0] && !layer->panels[1]) return false;
    *begin = layer->arrays[BNMLP_ARRAY_KERNEL].offset;
    *end = *begin + layer->arrays[BNMLP_ARRAY_KERNEL].length;
    return true;
}

/* The hook's cut: the next kernel with panels starts a sub-chunk; inside one, sub-chunks are whole
 * groups of NR rows (whole units of every packer: NR-row groups for the transposed panels, pairs
 * of rows for bf16) of about CHUNK_FLOATS floats, counted from the kernel's start. */
static size_t cut_chunk(void *context, size_t from, size_t to) {
    const bnmlp_model *model = context;
    const size_t nr = model->kernels.plan.nr;
    for (size_t i = 0; i < model->layer_count; i++) {
        const bnmlp_layer *layer = &model->layers[i];
        size_t begin, end;
        if (!panel_kernel(layer, &begin, &end) || end <= from) continue;
        if (begin >= to) return to;
        if (from < begin) return begin;
        size_t rows = CHUNK_FLOATS / layer->out / nr * nr;
        if (rows < nr) rows = nr;
        const size_t chunk = rows * layer->out;
        const size_t next = begin + ((from - begin) / chunk + 1) * chunk;
        return next < end && next < to ? next : end < to ? end : to;
    }
    return to;
}

/* The hook's written: packs the panels of every kernel that [from, to) of next_params holds. */
static void pack_written(void *context, const float *next_params, size_t from, size_t to) {
    const bnmlp_model *model = context;
    for (size_t i = 0; i < model->layer_count; i++) {
        const bnmlp_layer *layer = &model->layers[i];
        size_t begin, end;
        if (!panel_kernel(layer, &begin, &end) || end <= from) continue;
        if (begin >= to) return;
        layer->ops->pack_panels(layer, &model->kernels.plan, next_params + begin,
                                (from > begin ? from : begin) - begin, (to < end ? to : end) - begin);
    }
}

void bnmlp_model_panels_hook(bnmlp_model *model, bnmlp_arenas *arenas) {
    /* Only panels that hold the current parameters now can be kept up to date by the step: the
     * kernels outside the trainable segments keep their values, and so their panels. */
    model->panels_pending = bnmlp_model_panels_usable(model, true);
    if (model->panels_pending)
        arenas->hook = (bnmlp_params_hook){.cut = cut_chunk, .written = pack_written, .context = model};
    /* From here until the swap the panels hold neither copy. */
    model->panels_current = false;
}
