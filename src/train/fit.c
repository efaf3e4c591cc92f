/* fit.c - Keras-style fit over epochs of shuffled mini-batches, and fit's own state: the working
 * row order it shuffles and the staging rows it gathers each batch into, allocated before the
 * first epoch (a step allocates nothing) and freed when fit returns. */
#include "train/train.h"

#include <math.h>
#include <string.h>

#include "core/core.h"
#include "model/model.h"

/* What fit works with: the row order and the staged batch. */
typedef struct fit_state {
    const bnmlp_allocator *allocator; /* the model's */
    size_t *order;                    /* (rows) the row order, shuffled in place every epoch */
    float *batch_x;                   /* (batch_size, x cols) the staged rows of x */
    float *batch_y;                   /* (batch_size, y cols) and of y */
} fit_state;

static void fit_state_free(fit_state *f) {
    bnmlp_release(f->allocator, f->order);
    bnmlp_release(f->allocator, f->batch_x);
    bnmlp_release(f->allocator, f->batch_y);
}

/* Allocates fit's state (f is then to be freed, whatever the outcome) for rows rows of (x cols, y cols) in batches of batch_size, and room in
 * the model for the order a checkpoint saves. The order starts as the one the model saved (a
 * checkpoint or the last fit) when resuming on as many rows, else as 0, 1, ..., rows - 1 (Keras 2
 * keeps one index array and shuffles it in place every epoch). */
static bnmlp_status fit_state_init(fit_state *f, bnmlp_model *model, const bnmlp_tensor *x,
                                   const bnmlp_tensor *y, size_t batch_size, bool resume) {
    *f = (fit_state){.allocator = bnmlp_model_allocator(model)};
    const size_t rows = x->rows;
    const size_t *saved = resume ? bnmlp_model_saved_order(model, rows) : NULL;
    f->order = bnmlp_alloc_zeroed(f->allocator, rows, sizeof *f->order);
    f->batch_x = bnmlp_alloc_zeroed(f->allocator, batch_size, x->cols * sizeof(float));
    f->batch_y = bnmlp_alloc_zeroed(f->allocator, batch_size, y->cols * sizeof(float));
    if (!f->order || !f->batch_x || !f->batch_y || bnmlp_model_reserve_order(model, rows) != BNMLP_OK)
        return BNMLP_ERR_OUT_OF_MEMORY; /* the caller frees what was allocated */
    for (size_t i = 0; i < rows; i++) f->order[i] = saved ? saved[i] : i;
    return BNMLP_OK;
}

/* Copies rows order[0..rows) of (x, y) into the staging rows. */
static void stage_batch(const fit_state *f, const bnmlp_tensor *x, const bnmlp_tensor *y, const size_t *order,
                        size_t rows) {
    for (size_t r = 0; r < rows; r++) {
        memcpy(f->batch_x + r * x->cols, x->data + order[r] * x->cols, x->cols * sizeof(float));
        memcpy(f->batch_y + r * y->cols, y->data + order[r] * y->cols, y->cols * sizeof(float));
    }
}

/* BNMLP_OK when an epoch of fit can train: batch-norm layers that use batch statistics need
 * their minimum rows in a batch of batch_size and in the data (only a smaller trailing batch is
 * skipped). Checked before every epoch, since a callback may unfreeze a layer. */
static bnmlp_status check_epoch_rows(const bnmlp_model *model, size_t rows, size_t batch_size) {
    bnmlp_status status = bnmlp_model_check_training_rows(model, rows);
    if (status == BNMLP_OK) status = bnmlp_model_check_training_rows(model, batch_size);
    /* Under a collective every rank needs a row of each full batch; unsynchronized batch norm
     * needs its minimum in the smallest share. */
    int size;
    bnmlp_model_rank(model, NULL, &size);
    if (status == BNMLP_OK && batch_size < (size_t)size) status = BNMLP_ERR_BATCH_TOO_SMALL;
    if (status == BNMLP_OK && size > 1 && !bnmlp_model_batchnorm_is_synchronized(model))
        status = bnmlp_model_check_training_rows(model, batch_size / (size_t)size);
    return status;
}

/* True when a batch of rows global rows trains: one process needs the minimum rows of batch norm;
 * under a collective every rank needs a row, and unsynchronized batch norm its minimum per share. */
static bool batch_trains(const bnmlp_model *model, size_t rows) {
    int size;
    bnmlp_model_rank(model, NULL, &size);
    const size_t ranks = (size_t)size, least = bnmlp_model_min_training_rows(model);
    if (rows < ranks) return false;
    return bnmlp_model_batchnorm_is_synchronized(model) || ranks == 1 ? rows >= least : rows / ranks >= least;
}

/* A view of this rank's contiguous share of the rows of t (no rows when it has none). */
static bnmlp_tensor share_of(const bnmlp_model *model, const bnmlp_tensor *t) {
    size_t offset, count;
    bnmlp_model_share(model, t->rows, &offset, &count);
    return bnmlp_tensor_view(t->data + offset * t->cols, count, t->cols);
}

/* Under a collective: whether any rank's callback asked to stop (every rank then stops). */
static bool agree_stop(bnmlp_model *model, bool stop, bnmlp_status *status) {
    if (!bnmlp_model_is_distributed(model)) return stop;
    double votes = stop ? 1.0 : 0.0;
    *status = bnmlp_model_sum_doubles(model, &votes, 1);
    return votes > 0.0 || *status != BNMLP_OK;
}

/* Checks every argument of fit before anything changes. */
static bnmlp_status check_fit(const bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                              const bnmlp_fit_config *config) {
    if (!x || !y) return BNMLP_ERR_NULL_ARGUMENT;
    bnmlp_status status = bnmlp_model_check_batch(model, x, y, false);
    if (status != BNMLP_OK) return status;
    if (config->epochs == 0 || config->batch_size == 0 || config->initial_epoch >= config->epochs)
        return BNMLP_ERR_INVALID_ARGUMENT;
    if (config->batch_size > bnmlp_model_max_batch(model)) return BNMLP_ERR_BATCH_TOO_LARGE;
    status = bnmlp_optimizer_check(&config->optimizer);
    if (status != BNMLP_OK) return status;
    if (!config->validation_x != !config->validation_y) return BNMLP_ERR_NULL_ARGUMENT;
    if (config->validation_x) {
        status = bnmlp_model_check_batch(model, config->validation_x, config->validation_y, false);
        if (status != BNMLP_OK) return status;
    }
    return check_epoch_rows(model, x->rows, config->batch_size);
}

/* One epoch over the rows in `order`; the record gets the Keras-style training metrics. */
static bnmlp_status run_epoch(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                              const bnmlp_fit_config *config, const fit_state *f,
                              bnmlp_epoch_record *record) {
    double loss_sum = 0.0;
    size_t seen = 0, correct_sum = 0;
    for (size_t start = 0; start < x->rows; start += config->batch_size) {
        const size_t rows = bnmlp_chunk_rows(x->rows, start, config->batch_size);
        if (!batch_trains(model, rows)) continue; /* documented: a trailing batch too small */
        /* This rank's share of the global batch (all of it in one process). */
        size_t offset, share;
        bnmlp_model_share(model, rows, &offset, &share);
        bnmlp_model_set_global_rows(model, rows);
        stage_batch(f, x, y, f->order + start + offset, share);
        double loss;
        size_t correct;
        bnmlp_status status = bnmlp_train_step_checked(model, f->batch_x, f->batch_y, share, y->cols, rows,
                                                       &config->optimizer, false, &loss, &correct);
        if (status != BNMLP_OK) return status;
        /* Keras reports batch-size-weighted means over the epoch (for accuracy: the count of
         * correct predictions over the rows seen, kept exact). */
        loss_sum += loss * (double)rows;
        correct_sum += correct;
        seen += rows;
    }
    record->loss = loss_sum / (double)seen;
    record->accuracy = bnmlp_train_accuracy(model, correct_sum, seen);
    record->val_loss = NAN;
    record->val_accuracy = NAN;
    if (!config->validation_x) return BNMLP_OK;
    /* Each rank evaluates its share of the validation rows; the metrics are summed over ranks. */
    const bnmlp_tensor vx = share_of(model, config->validation_x), vy = share_of(model, config->validation_y);
    return bnmlp_train_evaluate_checked(model, &vx, &vy, &record->val_loss, &record->val_accuracy);
}

bnmlp_status bnmlp_model_fit(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                             const bnmlp_fit_config *config, bnmlp_epoch_record *history,
                             size_t *epochs_run) {
    if (!model) return BNMLP_ERR_NULL_ARGUMENT;
    if (!config) return BNMLP_ERR_NULL_ARGUMENT;
    bnmlp_status status = check_fit(model, x, y, config);
    if (bnmlp_model_is_built(model)) status = bnmlp_model_agree(model, status); /* every rank's checks */
    if (status != BNMLP_OK) return status;
    fit_state f;
    status = bnmlp_model_agree(
        model, fit_state_init(&f, model, x, y, config->batch_size, config->initial_epoch > 0));
    if (status != BNMLP_OK) {
        fit_state_free(&f);
        return status;
    }
    size_t done = 0;
    for (size_t epoch = config->initial_epoch + 1; epoch <= config->epochs; epoch++) {
        status = bnmlp_model_agree(model, check_epoch_rows(model, x->rows, config->batch_size));
        if (status != BNMLP_OK) break;
        if (config->shuffle) bnmlp_random_shuffle(bnmlp_model_random(model), f.order, x->rows);
        /* The model keeps the order for checkpoints (the callback may save one). */
        bnmlp_model_keep_order(model, f.order, x->rows);
        bnmlp_epoch_record record = {.epoch = epoch};
        status = run_epoch(model, x, y, config, &f, &record);
        if (status != BNMLP_OK) break;
        if (history) history[done] = record;
        done++;
        bnmlp_model_count_epoch(model);
        const bool stop = config->on_epoch_end && !config->on_epoch_end(&record, config->callback_context);
        if (agree_stop(model, stop, &status)) break;
    }
    fit_state_free(&f);
    if (epochs_run) *epochs_run = done;
    return status;
}
