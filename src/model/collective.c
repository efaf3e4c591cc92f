/*
 * collective.c - the model's link to the other ranks: agreeing on a status, the global row
 * count, the batch-norm seams, summing gradients and metrics, and bnmlp_model_set_collective.
 * The arithmetic stays in the layers; this file only moves sums between ranks.
 */
#include "model/model.h"

#include <string.h>

#include "core/core.h"

bool bnmlp_model_is_distributed(const bnmlp_model *model) { return model->collective.active; }

bool bnmlp_model_batchnorm_is_synchronized(const bnmlp_model *model) {
    return model->collective.active && !model->collective.unsynchronized;
}

/* Keeps the first transport error of a pass. */
static bnmlp_status note(bnmlp_model *model, bnmlp_status status) {
    if (status != BNMLP_OK && model->collective.failure == BNMLP_OK) model->collective.failure = status;
    return status;
}

bnmlp_status bnmlp_model_agree(bnmlp_model *model, bnmlp_status status) {
    if (!model->collective.active) return status;
    const bnmlp_collective *t = &model->collective.transport;
    int value = (int)status;
    const bnmlp_status sent = t->allreduce_max_int(t->context, &value, 1);
    return sent != BNMLP_OK ? sent : (bnmlp_status)value;
}

bnmlp_status bnmlp_model_begin_batch(bnmlp_model *model, bnmlp_status status, size_t rows,
                                     size_t *global_rows) {
    model->collective.failure = BNMLP_OK;
    status = bnmlp_model_agree(model, status);
    if (status != BNMLP_OK) return status;
    double total = (double)rows; /* exact: row counts are far below 2^53 */
    status = bnmlp_model_sum_doubles(model, &total, 1);
    if (status != BNMLP_OK) return status;
    bnmlp_model_set_global_rows(model, (size_t)total);
    *global_rows = (size_t)total;
    return BNMLP_OK;
}

void bnmlp_model_set_global_rows(bnmlp_model *model, size_t rows) { model->collective.global_rows = rows; }

size_t bnmlp_model_statistics_rows(const bnmlp_model *model, size_t rows) {
    return bnmlp_model_batchnorm_is_synchronized(model) ? model->collective.global_rows : rows;
}

void bnmlp_model_combine_sums(bnmlp_model *model, double *sums, size_t count) {
    if (!bnmlp_model_batchnorm_is_synchronized(model)) return;
    const bnmlp_collective *t = &model->collective.transport;
    note(model, t->allreduce_sum_double(t->context, sums, count));
}

bnmlp_status bnmlp_model_sum_doubles(bnmlp_model *model, double *values, size_t count) {
    if (!model->collective.active) return BNMLP_OK;
    const bnmlp_collective *t = &model->collective.transport;
    return note(model, t->allreduce_sum_double(t->context, values, count));
}

bnmlp_status bnmlp_model_sum_gradients(bnmlp_model *model) {
    if (!model->collective.active || model->param_count == 0) return BNMLP_OK;
    const bnmlp_collective *t = &model->collective.transport;
    return note(model, t->allreduce_sum_float(t->context, model->grads, model->param_count));
}

bnmlp_status bnmlp_model_take_failure(bnmlp_model *model) {
    const bnmlp_status failure = model->collective.failure;
    model->collective.failure = BNMLP_OK;
    return failure;
}

void bnmlp_model_share(const bnmlp_model *model, size_t rows, size_t *offset, size_t *count) {
    if (!model->collective.active) {
        *offset = 0, *count = rows;
        return;
    }
    const size_t size = (size_t)model->collective.transport.size,
                 rank = (size_t)model->collective.transport.rank;
    const size_t base = rows / size, extra = rows % size;
    *count = base + (rank < extra ? 1 : 0);
    *offset = rank * base + (rank < extra ? rank : extra);
}

/* ---- joining the ranks ----------------------------------------------------------------------- */

/* A 30-bit digest of what must match on every rank: sizes, the loss and every layer's shape. */
static int architecture_digest(const bnmlp_model *model) {
    uint64_t words[6] = {model->input_width, model->layer_count, model->param_count,
                         model->stats_count, model->max_batch,   (uint64_t)model->loss};
    uint32_t crc = bnmlp_crc32_update(0, words, sizeof words);
    for (size_t i = 0; i < model->layer_count; i++) {
        const bnmlp_layer *layer = &model->layers[i];
        const uint64_t shape[3] = {(uint64_t)layer->kind, layer->in, layer->out};
        crc = bnmlp_crc32_update(crc, shape, sizeof shape);
    }
    return (int)(crc & 0x3fffffffu);
}

/* Broadcasts from rank 0 everything the ranks must share: parameters, moving statistics,
 * optimizer state, the generator and the counters of the moving averages and of fit. */
static bnmlp_status broadcast_state(bnmlp_model *model, const bnmlp_collective *t) {
    const size_t n = model->param_count;
    bnmlp_status status = BNMLP_OK;
    if (n) status = t->broadcast(t->context, model->params, n * sizeof *model->params, 0);
    bnmlp_model_params_changed(model); /* rank 0's parameters (or, after an error, anything) */
    if (status == BNMLP_OK && n)
        status = t->broadcast(t->context, model->optimizer.slots,
                              BNMLP_OPTIMIZER_MAX_SLOTS * n * sizeof *model->optimizer.slots, 0);
    if (status == BNMLP_OK)
        status = t->broadcast(t->context, &model->optimizer.config, sizeof model->optimizer.config, 0);
    if (status == BNMLP_OK && model->stats_count)
        status = t->broadcast(t->context, model->stats, model->stats_count * sizeof *model->stats, 0);
    if (status == BNMLP_OK) status = t->broadcast(t->context, &model->rng, sizeof model->rng, 0);
    uint64_t counters[3] = {(uint64_t)model->optimizer.kind, model->optimizer.steps, model->epochs_done};
    if (status == BNMLP_OK) status = t->broadcast(t->context, counters, sizeof counters, 0);
    for (size_t i = 0; status == BNMLP_OK && i < model->layer_count; i++)
        status = t->broadcast(t->context, &model->layers[i].steps, sizeof(uint64_t), 0);
    if (status != BNMLP_OK) return status;
    model->optimizer.kind = (bnmlp_optimizer_kind)counters[0];
    model->optimizer.steps = counters[1];
    model->epochs_done = counters[2];
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_set_collective(bnmlp_model *model, const bnmlp_collective *collective) {
    if (!model) return BNMLP_ERR_NULL_ARGUMENT;
    if (!collective) {
        model->collective.active = false;
        return BNMLP_OK;
    }
    const bnmlp_collective t = *collective;
    if (!t.allreduce_sum_double || !t.allreduce_sum_float || !t.allreduce_max_int || !t.broadcast)
        return BNMLP_ERR_INVALID_ARGUMENT;
    if (t.size < 1 || t.rank < 0 || t.rank >= t.size) return BNMLP_ERR_INVALID_ARGUMENT;
    /* From here on every rank communicates, whatever its own state, so that none waits forever. */
    const int digest = model->built ? architecture_digest(model) : 0;
    int agreed[3] = {(int)(model->built ? BNMLP_OK : BNMLP_ERR_NOT_BUILT), digest, -digest};
    bnmlp_status status = t.allreduce_max_int(t.context, agreed, 3);
    if (status != BNMLP_OK) return status;
    if (agreed[0] != BNMLP_OK) return (bnmlp_status)agreed[0];
    if (agreed[1] != -agreed[2]) return BNMLP_ERR_SHAPE; /* the largest digest is not the smallest */
    status = broadcast_state(model, &t);
    if (status != BNMLP_OK) return status;
    model->collective.transport = t;
    model->collective.active = true;
    model->collective.failure = BNMLP_OK;
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_set_batchnorm_sync(bnmlp_model *model, bool synchronized) {
    if (!model) return BNMLP_ERR_NULL_ARGUMENT;
    model->collective.unsynchronized = !synchronized;
    return BNMLP_OK;
}

void bnmlp_model_rank(const bnmlp_model *model, int *rank, int *size) {
    const bool active = model && model->collective.active;
    if (rank) *rank = active ? model->collective.transport.rank : 0;
    if (size) *size = active ? model->collective.transport.size : 1;
}
