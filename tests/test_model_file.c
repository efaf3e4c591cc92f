/*
 * test_model_file.c - model files and checkpoints: save/load round trips that predict bit for
 * bit, a fit resumed from a checkpoint identical to one never interrupted, the atomic write
 * under injected I/O failures, the optimizer's state through the API, and every kind of bad
 * file (each with its status, nothing leaked, nothing left allocated).
 */
#define _POSIX_C_SOURCE 200809L
#include "support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/core.h"
#include "core/file.h"
#include "file_support.h"
#include "model/model.h"

enum { IN = 3, ROWS = 40, MAXB = 8 };

/* 3 -> Dense(6, relu) -> BatchNorm(debiased) -> Dense(4) (frozen) -> BatchNorm(keras2) ->
 * Dense(3, softmax), categorical cross-entropy: every kind of layer and option in one file. */
static bnmlp_model *make_model(uint32_t seed, const bnmlp_allocator *allocator) {
    bnmlp_model *model = bnmlp_model_create_with_allocator(IN, allocator, NULL);
    assert_non_null(model);
    bnmlp_dense_config hidden = BNMLP_DENSE_DEFAULT(6);
    hidden.activation = BNMLP_ACTIVATION_RELU;
    hidden.kernel_initializer = BNMLP_INIT_HE_NORMAL;
    assert_ok(bnmlp_model_add_dense(model, &hidden));
    bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
    bn.moving_average = BNMLP_AVERAGE_DEBIASED;
    assert_ok(bnmlp_model_add_batchnorm(model, &bn));
    bnmlp_dense_config middle = BNMLP_DENSE_DEFAULT(4);
    middle.use_bias = false;
    middle.activation = BNMLP_ACTIVATION_LEAKY_RELU;
    middle.activation_alpha = 0.2f;
    assert_ok(bnmlp_model_add_dense(model, &middle));
    bn = BNMLP_BATCHNORM_DEFAULT;
    bn.moving_variance_estimator = BNMLP_VARIANCE_KERAS2, bn.momentum = 0.9f, bn.epsilon = 1e-4f;
    bn.center = false;
    assert_ok(bnmlp_model_add_batchnorm(model, &bn));
    bnmlp_dense_config head = BNMLP_DENSE_DEFAULT(3);
    head.activation = BNMLP_ACTIVATION_SOFTMAX;
    assert_ok(bnmlp_model_add_dense(model, &head));
    assert_ok(bnmlp_model_set_loss(model, BNMLP_LOSS_CATEGORICAL_CROSSENTROPY));
    assert_ok(bnmlp_model_build(model, MAXB, seed));
    assert_ok(bnmlp_model_set_trainable(model, 2, false));
    return model;
}

/* Deterministic data: 40 rows of 3 features, labels from the first two. */
typedef struct data {
    float x[ROWS * IN], y[ROWS];
    bnmlp_tensor tx, ty;
} data;

static void make_data(data *d) {
    for (size_t r = 0; r < ROWS; r++) {
        for (size_t i = 0; i < IN; i++) d->x[r * IN + i] = sinf((float)(r * IN + i) * 0.7f) * 2.0f;
        d->y[r] = (float)((d->x[r * IN] > 0.0f) + (d->x[r * IN + 1] > 0.5f));
    }
    d->tx = bnmlp_tensor_view(d->x, ROWS, IN);
    d->ty = bnmlp_tensor_view(d->y, ROWS, 1);
}

/* Fits model for epochs [initial + 1, epochs] with validation on the same data. */
static void fit(bnmlp_model *model, data *d, bnmlp_optimizer_kind kind, size_t initial, size_t epochs,
                bnmlp_epoch_record *history) {
    bnmlp_fit_config config = BNMLP_FIT_DEFAULT;
    config.epochs = epochs, config.initial_epoch = initial, config.batch_size = 7;
    config.optimizer.sgd.momentum = 0.9f, config.optimizer.sgd.learning_rate = 0.05f;
    config.optimizer.kind = kind;
    config.optimizer.adam.learning_rate = 0.01f;
    config.validation_x = &d->tx, config.validation_y = &d->ty;
    size_t run = 0;
    assert_ok(bnmlp_model_fit(model, &d->tx, &d->ty, &config, history, &run));
    assert_int_equal(run, epochs - initial);
}

/* Every output of a and b for the data, bit for bit. */
static void assert_same_predictions(bnmlp_model *a, bnmlp_model *b, data *d) {
    float pa[ROWS * 3], pb[ROWS * 3];
    bnmlp_tensor ta = bnmlp_tensor_view(pa, ROWS, 3), tb = bnmlp_tensor_view(pb, ROWS, 3);
    assert_ok(bnmlp_model_predict(a, &d->tx, &ta));
    assert_ok(bnmlp_model_predict(b, &d->tx, &tb));
    assert_memory_equal(pa, pb, sizeof pa);
}

/* The model's file as bytes (from a caller-freed malloc buffer). */
static unsigned char *save_bytes(const bnmlp_model *model, bool checkpoint, size_t *size) {
    assert_ok(bnmlp_model_save_buffer(model, checkpoint, NULL, 0, size));
    unsigned char *bytes = malloc(*size);
    assert_non_null(bytes);
    assert_ok(bnmlp_model_save_buffer(model, checkpoint, bytes, *size, size));
    return bytes;
}

/* ---- round trips ------------------------------------------------------------------------------- */

static void test_save_load_predicts_bit_for_bit(void **state) {
    (void)state;
    data d;
    make_data(&d);
    bnmlp_model *model = make_model(4, NULL);
    fit(model, &d, BNMLP_OPTIMIZER_SGD, 0, 3, NULL);
    char dir[64], path[128];
    test_make_dir(dir, sizeof dir);
    test_path(path, sizeof path, dir, "model.bnmlp");
    assert_ok(bnmlp_model_save(model, path));
    bnmlp_status status = BNMLP_ERR_IO;
    bnmlp_error_detail detail;
    bnmlp_model *loaded = bnmlp_model_load(path, NULL, &detail, &status);
    assert_ok(status);
    assert_non_null(loaded);
    assert_same_predictions(model, loaded, &d);
    /* Structure, configuration and every weight. */
    assert_int_equal(bnmlp_model_layer_count(loaded), bnmlp_model_layer_count(model));
    assert_int_equal(bnmlp_model_max_batch(loaded), MAXB);
    assert_int_equal(bnmlp_model_loss(loaded), BNMLP_LOSS_CATEGORICAL_CROSSENTROPY);
    for (size_t i = 0; i < bnmlp_model_layer_count(model); i++) {
        bnmlp_layer_info a, b;
        assert_ok(bnmlp_model_layer_info(model, i, &a));
        assert_ok(bnmlp_model_layer_info(loaded, i, &b));
        assert_int_equal(a.kind, b.kind);
        assert_int_equal(a.input_width, b.input_width);
        assert_int_equal(a.output_width, b.output_width);
        assert_int_equal(a.trainable_params, b.trainable_params);
        assert_int_equal(a.non_trainable_params, b.non_trainable_params);
        assert_int_equal(a.trainable, b.trainable);
        assert_int_equal(a.activation, b.activation);
        const bnmlp_layer *la = &model->layers[i], *lb = &loaded->layers[i];
        if (la->kind == BNMLP_LAYER_ACTIVATION)
            assert_true(la->config.activation.function == lb->config.activation.function &&
                        la->config.activation.alpha == lb->config.activation.alpha);
        if (la->kind == BNMLP_LAYER_DENSE)
            assert_true(la->config.dense.initializer == lb->config.dense.initializer &&
                        la->config.dense.use_bias == lb->config.dense.use_bias);
        if (la->kind == BNMLP_LAYER_BATCHNORM) {
            const bnmlp_batchnorm_config *ba = &la->config.batchnorm, *bb = &lb->config.batchnorm;
            assert_true(ba->momentum == bb->momentum && ba->epsilon == bb->epsilon);
            assert_true(ba->center == bb->center && ba->scale == bb->scale);
            assert_int_equal(ba->moving_variance_estimator, bb->moving_variance_estimator);
            assert_int_equal(ba->moving_average, bb->moving_average);
        }
        assert_int_equal(la->steps, lb->steps);
    }
    assert_int_equal(loaded->stats_count, model->stats_count);
    assert_memory_equal(loaded->stats, model->stats, model->stats_count * sizeof(float));
    assert_memory_equal(loaded->params, model->params, model->param_count * sizeof(float));
    /* The file's bytes are the buffer's. */
    size_t size, file_size;
    unsigned char *bytes = save_bytes(model, false, &size);
    unsigned char *file = test_read_file(path, &file_size);
    assert_int_equal(size, file_size);
    assert_memory_equal(bytes, file, size);
    bnmlp_model *from_buffer = bnmlp_model_load_buffer(bytes, size, NULL, NULL, &status);
    assert_ok(status);
    assert_same_predictions(model, from_buffer, &d);
    /* Saving the loaded model gives the same bytes again. */
    size_t again_size;
    unsigned char *again = save_bytes(loaded, false, &again_size);
    assert_int_equal(again_size, size);
    assert_memory_equal(again, bytes, size);
    free(bytes), free(file), free(again);
    bnmlp_model_free(model), bnmlp_model_free(loaded), bnmlp_model_free(from_buffer);
    test_remove_dir(dir);
}

/* Interrupted after epoch 3 and resumed from a checkpoint (file, then a new process's load), fit
 * gives the weights, moving statistics and history of an uninterrupted 7-epoch fit, bit for bit;
 * with SGD (momentum) and with Adam. */
static void test_checkpoint_resume_is_exact(void **state) {
    (void)state;
    data d;
    make_data(&d);
    const bnmlp_optimizer_kind kinds[2] = {BNMLP_OPTIMIZER_SGD, BNMLP_OPTIMIZER_ADAM};
    char dir[64], path[128];
    test_make_dir(dir, sizeof dir);
    test_path(path, sizeof path, dir, "checkpoint.bnmlp");
    for (size_t k = 0; k < 2; k++) {
        bnmlp_model *whole = make_model(9, NULL), *first = make_model(9, NULL);
        bnmlp_epoch_record full[7], head[3], tail[4];
        fit(whole, &d, kinds[k], 0, 7, full);
        fit(first, &d, kinds[k], 0, 3, head);
        assert_int_equal(bnmlp_model_epochs_done(first), 3);
        assert_ok(bnmlp_model_save_checkpoint(first, path));
        bnmlp_model_free(first);
        bnmlp_status status;
        bnmlp_model *resumed = bnmlp_model_load(path, NULL, NULL, &status);
        assert_ok(status);
        assert_int_equal(bnmlp_model_epochs_done(resumed), 3);
        fit(resumed, &d, kinds[k], bnmlp_model_epochs_done(resumed), 7, tail);
        assert_memory_equal(head, full, sizeof head);
        assert_memory_equal(tail, full + 3, sizeof tail);
        assert_int_equal(tail[0].epoch, 4);
        assert_memory_equal(resumed->params, whole->params, whole->param_count * sizeof(float));
        assert_memory_equal(resumed->stats, whole->stats, whole->stats_count * sizeof(float));
        assert_same_predictions(whole, resumed, &d);
        /* A plain model file does not carry the training state: resuming from it differs. */
        bnmlp_model *plain_first = make_model(9, NULL);
        fit(plain_first, &d, kinds[k], 0, 3, NULL);
        assert_ok(bnmlp_model_save(plain_first, path));
        bnmlp_model *plain = bnmlp_model_load(path, NULL, NULL, &status);
        assert_int_equal(bnmlp_model_epochs_done(plain), 0);
        fit(plain, &d, kinds[k], 3, 7, tail);
        assert_true(memcmp(plain->params, whole->params, whole->param_count * sizeof(float)) != 0);
        bnmlp_model_free(plain_first), bnmlp_model_free(plain);
        bnmlp_model_free(whole), bnmlp_model_free(resumed);
    }
    test_remove_dir(dir);
}

/* True when two RMSprop configurations hold the same settings (padding aside). */
static bool same_rmsprop(const bnmlp_rmsprop_config *a, const bnmlp_rmsprop_config *b) {
    return a->learning_rate == b->learning_rate && a->alpha == b->alpha && a->epsilon == b->epsilon &&
           a->momentum == b->momentum && a->centered == b->centered && a->weight_decay == b->weight_decay &&
           a->decay_kernels_only == b->decay_kernels_only;
}

/* The clipping settings live in OPTC with each kind's own (named settings, no format change): a
 * checkpoint of a fit with clipnorm gives it back; a file without them (version 1) holds 0. */
static void test_checkpoint_keeps_clipping(void **state) {
    (void)state;
    data d;
    make_data(&d);
    bnmlp_fit_config config = BNMLP_FIT_DEFAULT;
    config.optimizer = BNMLP_OPTIMIZER_ADAM_DEFAULT;
    config.optimizer.clip.clipnorm = 0.25f;
    config.epochs = 1, config.batch_size = 7;
    bnmlp_model *model = make_model(4, NULL);
    assert_ok(bnmlp_model_fit(model, &d.tx, &d.ty, &config, NULL, NULL));
    size_t size = 0;
    assert_ok(bnmlp_model_save_buffer(model, true, NULL, 0, &size));
    unsigned char *bytes = malloc(size);
    assert_non_null(bytes);
    assert_ok(bnmlp_model_save_buffer(model, true, bytes, size, &size));
    bnmlp_status status;
    bnmlp_model *loaded = bnmlp_model_load_buffer(bytes, size, NULL, NULL, &status);
    assert_ok(status);
    bnmlp_optimizer_config held;
    assert_ok(bnmlp_model_optimizer_config(loaded, &held));
    assert_true(held.kind == BNMLP_OPTIMIZER_ADAM && held.clip.clipnorm == 0.25f &&
                held.clip.clipvalue == 0.0f && held.clip.global_clipnorm == 0.0f);
    char path[512];
    snprintf(path, sizeof path, "%s/model-v1/checkpoint.bnmlp", BNMLP_FIXTURES_DIR);
    bnmlp_model *old = bnmlp_model_load(path, NULL, NULL, &status);
    assert_ok(status);
    assert_ok(bnmlp_model_optimizer_config(old, &held));
    assert_true(held.clip.clipnorm == 0.0f && held.clip.clipvalue == 0.0f &&
                held.clip.global_clipnorm == 0.0f);
    free(bytes);
    bnmlp_model_free(old), bnmlp_model_free(loaded), bnmlp_model_free(model);
}

/* A checkpoint stores the optimizer's configuration: fit resumed with the configuration read back
 * (bnmlp_model_optimizer_config) equals an uninterrupted run, here RMSprop with every setting
 * away from its default; the model's configuration follows its last step; a version-1 checkpoint
 * holds its state kind's defaults; a plain model file the default SGD's. */
static void test_checkpoint_keeps_optimizer_config(void **state) {
    (void)state;
    data d;
    make_data(&d);
    bnmlp_fit_config config = BNMLP_FIT_DEFAULT;
    config.optimizer = BNMLP_OPTIMIZER_RMSPROP_DEFAULT;
    config.optimizer.rmsprop = (bnmlp_rmsprop_config){.learning_rate = 0.003f,
                                                      .alpha = 0.9f,
                                                      .epsilon = 1e-6f,
                                                      .momentum = 0.5f,
                                                      .centered = true,
                                                      .weight_decay = 1e-3f,
                                                      .decay_kernels_only = true};
    config.epochs = 6, config.batch_size = 7;
    bnmlp_model *whole = make_model(4, NULL), *first = make_model(4, NULL);
    bnmlp_optimizer_config held;
    assert_ok(bnmlp_model_optimizer_config(first, &held));
    assert_int_equal(held.kind, BNMLP_OPTIMIZER_SGD); /* a new model: the default */
    assert_ok(bnmlp_model_fit(whole, &d.tx, &d.ty, &config, NULL, NULL));
    config.epochs = 2;
    assert_ok(bnmlp_model_fit(first, &d.tx, &d.ty, &config, NULL, NULL));
    assert_ok(bnmlp_model_optimizer_config(first, &held));
    assert_true(same_rmsprop(&held.rmsprop, &config.optimizer.rmsprop));
    size_t size = 0;
    assert_ok(bnmlp_model_save_buffer(first, true, NULL, 0, &size));
    unsigned char *bytes = malloc(size);
    assert_non_null(bytes);
    assert_ok(bnmlp_model_save_buffer(first, true, bytes, size, &size));
    assert_int_equal(bnmlp_load_le32(bytes + 8), 2); /* a checkpoint of version 2 */
    bnmlp_status status;
    bnmlp_model *resumed = bnmlp_model_load_buffer(bytes, size, NULL, NULL, &status);
    assert_ok(status);
    bnmlp_fit_config rest = config;
    rest.epochs = 6, rest.initial_epoch = bnmlp_model_epochs_done(resumed);
    rest.optimizer = BNMLP_OPTIMIZER_DEFAULT; /* only what the file holds */
    assert_ok(bnmlp_model_optimizer_config(resumed, &rest.optimizer));
    assert_int_equal(rest.optimizer.kind, BNMLP_OPTIMIZER_RMSPROP);
    assert_true(same_rmsprop(&rest.optimizer.rmsprop, &config.optimizer.rmsprop));
    assert_ok(bnmlp_model_fit(resumed, &d.tx, &d.ty, &rest, NULL, NULL));
    assert_memory_equal(resumed->params, whole->params, whole->param_count * sizeof(float));
    assert_memory_equal(resumed->optimizer.slots, whole->optimizer.slots,
                        BNMLP_OPTIMIZER_MAX_SLOTS * whole->param_count * sizeof(float));
    /* A step with another optimizer makes its configuration the held one; so does setting state
     * of another kind (with that kind's defaults). */
    bnmlp_optimizer_config adam = BNMLP_OPTIMIZER_ADAM_DEFAULT;
    adam.adam.learning_rate = 0.02f;
    bnmlp_tensor x8 = bnmlp_tensor_view(d.x, MAXB, IN), y8 = bnmlp_tensor_view(d.y, MAXB, 1);
    assert_ok(bnmlp_model_train_step(resumed, &x8, &y8, &adam, NULL, NULL));
    assert_ok(bnmlp_model_optimizer_config(resumed, &held));
    assert_true(held.kind == BNMLP_OPTIMIZER_ADAM && held.adam.learning_rate == 0.02f);
    const size_t count = bnmlp_model_optimizer_state_count(resumed, BNMLP_OPTIMIZER_SGD);
    float *zeros = calloc(count, sizeof *zeros);
    assert_non_null(zeros);
    assert_ok(bnmlp_model_set_optimizer_state(resumed, BNMLP_OPTIMIZER_SGD, 0, zeros, count));
    assert_ok(bnmlp_model_optimizer_config(resumed, &held));
    assert_true(held.kind == BNMLP_OPTIMIZER_SGD && held.sgd.learning_rate == 0.01f);
    /* A plain model file keeps no optimizer: the default SGD. */
    assert_ok(bnmlp_model_save_buffer(first, false, bytes, size, &size));
    assert_int_equal(bnmlp_load_le32(bytes + 8), 2); /* the current version */
    bnmlp_model *plain = bnmlp_model_load_buffer(bytes, size, NULL, NULL, &status);
    assert_ok(status);
    assert_ok(bnmlp_model_optimizer_config(plain, &held));
    assert_int_equal(held.kind, BNMLP_OPTIMIZER_SGD);
    /* The version-1 checkpoint (Adam, lr 0.005) holds Adam's defaults: it stored no settings. */
    char path[512];
    snprintf(path, sizeof path, "%s/model-v1/checkpoint.bnmlp", BNMLP_FIXTURES_DIR);
    bnmlp_model *old = bnmlp_model_load(path, NULL, NULL, &status);
    assert_ok(status);
    assert_ok(bnmlp_model_optimizer_config(old, &held));
    assert_true(held.kind == BNMLP_OPTIMIZER_ADAM && held.adam.learning_rate == 0.001f);
    assert_status(bnmlp_model_optimizer_config(old, NULL), BNMLP_ERR_NULL_ARGUMENT);
    free(zeros), free(bytes);
    bnmlp_model_free(old), bnmlp_model_free(plain), bnmlp_model_free(resumed);
    bnmlp_model_free(first), bnmlp_model_free(whole);
}

/* ---- the atomic write ---------------------------------------------------------------------------- */

/* A write that fails midway (after any number of bytes, at the flush or at the rename) returns
 * BNMLP_ERR_IO, leaves the previous file whole under its name and no temporary file behind. */
static void test_atomic_write_under_io_failure(void **state) {
    (void)state;
    data d;
    make_data(&d);
    bnmlp_model *old = make_model(1, NULL), *model = make_model(2, NULL);
    fit(model, &d, BNMLP_OPTIMIZER_SGD, 0, 1, NULL);
    char dir[64], path[128];
    test_make_dir(dir, sizeof dir);
    test_path(path, sizeof path, dir, "model.bnmlp");
    assert_ok(bnmlp_model_save(old, path));
    size_t old_size;
    unsigned char *old_bytes = test_read_file(path, &old_size);
    const size_t size = bnmlp_model_file_size(model, true);
    const uint64_t limits[] = {0, 1, 8, 23, 24, 100, size / 2, size - 5, size - 1};
    for (size_t k = 0; k < sizeof limits / sizeof limits[0] + 2; k++) {
        bnmlp_file_fault fault = test_fault(limits, sizeof limits / sizeof limits[0], k);
        assert_status(bnmlp_model_save_with_fault(model, path, true, &fault), BNMLP_ERR_IO);
        size_t now_size;
        unsigned char *now = test_read_file(path, &now_size);
        assert_int_equal(now_size, old_size);
        assert_memory_equal(now, old_bytes, old_size);
        free(now);
        assert_int_equal(test_count_files(dir), 1);
        bnmlp_status status;
        bnmlp_model *still = bnmlp_model_load(path, NULL, NULL, &status);
        assert_ok(status);
        assert_same_predictions(old, still, &d);
        bnmlp_model_free(still);
    }
    /* A directory that does not exist, and a load of a missing file. */
    char missing[160];
    test_path(missing, sizeof missing, dir, "no/such/dir/model.bnmlp");
    assert_status(bnmlp_model_save(model, missing), BNMLP_ERR_FILE_OPEN);
    bnmlp_status status;
    bnmlp_error_detail detail;
    assert_null(bnmlp_model_load(missing, NULL, &detail, &status));
    assert_status(status, BNMLP_ERR_FILE_OPEN);
    assert_non_null(strstr(detail.message, "model.bnmlp"));
    free(old_bytes);
    bnmlp_model_free(old), bnmlp_model_free(model);
    test_remove_dir(dir);
}

/* ---- bad files ------------------------------------------------------------------------------------ */

/* Where a section's payload starts in a file, found by walking the sections. */
static size_t section_payload(const unsigned char *bytes, size_t size, const char tag[4]) {
    size_t at = 24;
    while (at + 12 <= size - 4) {
        const uint64_t length = bnmlp_load_le64(bytes + at + 4);
        if (memcmp(bytes + at, tag, 4) == 0) return at + 12;
        at += 12 + (size_t)length;
    }
    fail_msg("no section %.4s", tag);
    return 0;
}

/* Rewrites the CRC so that a patched file passes the checksum and meets the deeper checks. */
static void fix_crc(unsigned char *bytes, size_t size) {
    bnmlp_store_le32(bytes + size - 4, bnmlp_crc32_update(0, bytes, size - 4));
}

/* Loads bytes through a counting allocator: expects status, a NULL model and no leak. */
static void expect_load_fails(const unsigned char *bytes, size_t size, bnmlp_status expected,
                              const char *what) {
    counting_allocator counter = {0};
    bnmlp_allocator allocator = counting_allocator_of(&counter);
    bnmlp_status status = BNMLP_OK;
    bnmlp_error_detail detail = {0};
    bnmlp_model *model = bnmlp_model_load_buffer(bytes, size, &allocator, &detail, &status);
    if (status != expected || model) {
        print_error("%s: got %s (%s), expected %s\n", what, bnmlp_status_string(status), detail.message,
                    bnmlp_status_string(expected));
        fail();
    }
    assert_true(strlen(detail.message) > 0);
    assert_int_equal(counter.allocations, counter.releases);
}

/* A patched copy of the file: patch(copy) then the CRC fixed (or not), loaded, expected. */
typedef void (*patch_function)(unsigned char *bytes, size_t size);

static void expect_patch_fails(const unsigned char *bytes, size_t size, patch_function patch, bool crc,
                               bnmlp_status expected, const char *what) {
    unsigned char *copy = malloc(size);
    assert_non_null(copy);
    memcpy(copy, bytes, size);
    patch(copy, size);
    if (crc) fix_crc(copy, size);
    expect_load_fails(copy, size, expected, what);
    free(copy);
}

static void patch_magic(unsigned char *b, size_t n) { (void)n, b[1] = 'X'; }
static void patch_version(unsigned char *b, size_t n) { (void)n, bnmlp_store_le32(b + 8, 99); }
static void patch_flags(unsigned char *b, size_t n) { (void)n, bnmlp_store_le32(b + 12, 6); }
static void patch_first_param_nan(unsigned char *b, size_t n) {
    bnmlp_store_le32(b + section_payload(b, n, "PARM") + 8, bnmlp_float_bits(NAN));
}
static void patch_last_param_inf(unsigned char *b, size_t n) {
    const size_t at = section_payload(b, n, "STAT") - 12 - 4;
    bnmlp_store_le32(b + at, bnmlp_float_bits(INFINITY));
}
static void patch_stat_nan(unsigned char *b, size_t n) {
    bnmlp_store_le32(b + section_payload(b, n, "STAT") + 8, bnmlp_float_bits(NAN));
}
/* Layer 1 (batch norm, 6 features): its moving variance follows its mean: stats[6]. */
static void patch_negative_variance(unsigned char *b, size_t n) {
    bnmlp_store_le32(b + section_payload(b, n, "STAT") + 8 + 6 * 4, bnmlp_float_bits(-0.5f));
}
static void patch_param_count(unsigned char *b, size_t n) {
    const size_t at = section_payload(b, n, "PARM");
    bnmlp_store_le64(b + at, bnmlp_load_le64(b + at) - 1);
}
/* ARCH payload: input width (8), max batch (8), loss (4), layer count (8), then the layer
 * records: kind (4), out (8), field count (4), and each field as name length (4), name, value
 * length (4), value. */
static size_t arch(unsigned char *b, size_t n) { return section_payload(b, n, "ARCH"); }
/* Where record `index` starts. */
static size_t record(unsigned char *b, size_t n, size_t index) {
    size_t at = arch(b, n) + 28;
    for (size_t i = 0; i < index; i++) {
        const uint32_t fields = bnmlp_load_le32(b + at + 12);
        at += 16;
        for (uint32_t f = 0; f < fields; f++) {
            at += 4 + bnmlp_load_le32(b + at);
            at += 4 + bnmlp_load_le32(b + at);
        }
    }
    return at;
}
/* Where the value of field `name` of record `index` starts. */
static size_t field(unsigned char *b, size_t n, size_t index, const char *name) {
    size_t at = record(b, n, index);
    const uint32_t fields = bnmlp_load_le32(b + at + 12);
    at += 16;
    for (uint32_t f = 0; f < fields; f++) {
        const uint32_t length = bnmlp_load_le32(b + at);
        const bool found = length == strlen(name) && memcmp(b + at + 4, name, length) == 0;
        at += 4 + length;
        if (found) return at + 4;
        at += 4 + bnmlp_load_le32(b + at);
    }
    fail_msg("no field %s in record %zu", name, index);
    return 0;
}
static void patch_huge_width(unsigned char *b, size_t n) {
    bnmlp_store_le64(b + record(b, n, 0) + 4, (uint64_t)1 << 40);
}
static void patch_zero_width(unsigned char *b, size_t n) { bnmlp_store_le64(b + record(b, n, 0) + 4, 0); }
static void patch_huge_input(unsigned char *b, size_t n) { bnmlp_store_le64(b + arch(b, n), UINT64_MAX); }
static void patch_zero_input(unsigned char *b, size_t n) { bnmlp_store_le64(b + arch(b, n), 0); }
static void patch_huge_batch(unsigned char *b, size_t n) {
    bnmlp_store_le64(b + arch(b, n) + 8, (uint64_t)1 << 33);
}
static void patch_batch_times_width(unsigned char *b, size_t n) {
    bnmlp_store_le64(b + arch(b, n) + 8, (uint64_t)1 << 24);
    bnmlp_store_le64(b + arch(b, n), (uint64_t)1 << 20); /* 2^24 rows x 2^20 inputs */
}
static void patch_huge_layers(unsigned char *b, size_t n) { bnmlp_store_le64(b + arch(b, n) + 20, 1u << 20); }
static void patch_more_layers(unsigned char *b, size_t n) { bnmlp_store_le64(b + arch(b, n) + 20, 9); }
static void patch_fewer_layers(unsigned char *b, size_t n) { bnmlp_store_le64(b + arch(b, n) + 20, 2); }
static void patch_loss(unsigned char *b, size_t n) { bnmlp_store_le32(b + arch(b, n) + 16, 77); }
static void patch_layer_kind(unsigned char *b, size_t n) { bnmlp_store_le32(b + record(b, n, 0), 9); }
static void patch_flag_byte(unsigned char *b, size_t n) { b[field(b, n, 0, "trainable")] = 2; }
static void patch_initializer(unsigned char *b, size_t n) {
    bnmlp_store_le32(b + field(b, n, 0, "kernel_initializer"), 40);
}
/* Layer 1 is an activation (relu), layer 2 batch norm. */
static void patch_activation(unsigned char *b, size_t n) {
    bnmlp_store_le32(b + field(b, n, 1, "activation"), 99);
}
static void patch_alpha(unsigned char *b, size_t n) {
    bnmlp_store_le32(b + field(b, n, 1, "alpha"), bnmlp_float_bits(NAN));
}
static void patch_activation_width(unsigned char *b, size_t n) {
    bnmlp_store_le64(b + record(b, n, 1) + 4, 5);
}
static void patch_momentum(unsigned char *b, size_t n) {
    bnmlp_store_le32(b + field(b, n, 2, "momentum"), bnmlp_float_bits(1.5f));
}
static void patch_epsilon(unsigned char *b, size_t n) {
    bnmlp_store_le32(b + field(b, n, 2, "epsilon"), bnmlp_float_bits(-1.0f));
}
/* A field whose value has another size than its type's. */
static void patch_field_size(unsigned char *b, size_t n) {
    bnmlp_store_le32(b + field(b, n, 2, "center") - 4, 4);
}
/* A field name longer than any a record may hold. */
static void patch_field_name(unsigned char *b, size_t n) {
    bnmlp_store_le32(b + field(b, n, 2, "center") - 4 - 6 - 4, 65);
}
static void patch_section_tag(unsigned char *b, size_t n) {
    memcpy(b + section_payload(b, n, "STAT") - 12, "STAX", 4);
}
static void patch_section_length(unsigned char *b, size_t n) {
    const size_t at = section_payload(b, n, "PARM") - 8;
    bnmlp_store_le64(b + at, bnmlp_load_le64(b + at) + 4);
}
static void patch_huge_section(unsigned char *b, size_t n) {
    bnmlp_store_le64(b + section_payload(b, n, "PARM") - 8, UINT64_MAX - 3);
}
static void patch_sections_longer(unsigned char *b, size_t n) { bnmlp_store_le64(b + 16, n); }
static void patch_sections_shorter(unsigned char *b, size_t n) { bnmlp_store_le64(b + 16, n - 32); }
static void patch_rng_position(unsigned char *b, size_t n) {
    bnmlp_store_le32(b + section_payload(b, n, "RAND") + 624 * 4, 625);
}
static void patch_rng_gauss(unsigned char *b, size_t n) {
    bnmlp_store_le64(b + section_payload(b, n, "RAND") + 624 * 4 + 8, 0x7FF0000000000000ull);
}
static void patch_order_duplicate(unsigned char *b, size_t n) {
    const size_t at = section_payload(b, n, "TRAN") + 16;
    memcpy(b + at + 8, b + at, 8);
}
static void patch_order_range(unsigned char *b, size_t n) {
    bnmlp_store_le64(b + section_payload(b, n, "TRAN") + 16, ROWS);
}
static void patch_order_count(unsigned char *b, size_t n) {
    bnmlp_store_le64(b + section_payload(b, n, "TRAN") + 8, UINT64_MAX / 2);
}
static void patch_optimizer_kind(unsigned char *b, size_t n) {
    bnmlp_store_le32(b + section_payload(b, n, "OPTM"), 9);
}
static void patch_config_kind(unsigned char *b, size_t n) {
    bnmlp_store_le32(b + section_payload(b, n, "OPTC"), 9);
}
static void patch_config_count(unsigned char *b, size_t n) {
    bnmlp_store_le32(b + section_payload(b, n, "OPTC") + 4, 2);
}
static void patch_config_rate(unsigned char *b, size_t n) { /* the first setting: the learning rate */
    bnmlp_store_le32(b + section_payload(b, n, "OPTC") + 8, bnmlp_float_bits(-0.5f));
}
static void patch_second_moment(unsigned char *b, size_t n) {
    const size_t at = section_payload(b, n, "OPTM") + 4 + 8 + 8;
    const size_t count = bnmlp_load_le64(b + at - 8) / 2;
    bnmlp_store_le32(b + at + count * 4, bnmlp_float_bits(-1.0f));
}
static void patch_optimizer_nan(unsigned char *b, size_t n) {
    bnmlp_store_le32(b + section_payload(b, n, "OPTM") + 20, bnmlp_float_bits(NAN));
}

/* A field this library does not know (written by a later version) is skipped, and a field the
 * record lacks takes its default: layer 5's momentum (0.9) renamed "momentun" loads as 0.99, and
 * everything else as saved. The field table is the one docs/model-format.md shows. */
static void test_fields_skipped_and_defaulted(void **state) {
    (void)state;
    bnmlp_model *model = make_model(5, NULL);
    size_t size;
    unsigned char *bytes = save_bytes(model, false, &size);
    const size_t momentum = field(bytes, size, 5, "momentum");
    memcpy(bytes + momentum - 4 - 8, "momentun", 8);
    fix_crc(bytes, size);
    bnmlp_status status;
    bnmlp_model *loaded = bnmlp_model_load_buffer(bytes, size, NULL, NULL, &status);
    assert_ok(status);
    assert_non_null(loaded);
    assert_true(model->layers[5].config.batchnorm.momentum == 0.9f);
    assert_true(loaded->layers[5].config.batchnorm.momentum == 0.99f);
    assert_true(loaded->layers[5].config.batchnorm.epsilon == 1e-4f);
    assert_true(loaded->layers[2].config.batchnorm.momentum == 0.99f);
    assert_memory_equal(loaded->params, model->params, model->param_count * sizeof(float));
    bnmlp_model_free(loaded);
    free(bytes);
    bnmlp_model_free(model);
#if defined(BNMLP_DOCS_DIR)
    /* docs/model-format.md holds the table the rows make, between its two markers. */
    char table[4096];
    const size_t length = bnmlp_file_fields_document(table, sizeof table);
    assert_true(length < sizeof table);
    FILE *doc = fopen(BNMLP_DOCS_DIR "/model-format.md", "rb");
    assert_non_null(doc);
    static char text[65536];
    const size_t read = fread(text, 1, sizeof text - 1, doc);
    fclose(doc);
    text[read] = '\0';
    const char *begin = strstr(text, "<!-- layer-fields -->\n");
    assert_non_null(begin);
    begin += strlen("<!-- layer-fields -->\n");
    const char *end = strstr(begin, "<!-- /layer-fields -->");
    assert_non_null(end);
    if ((size_t)(end - begin) != length || memcmp(begin, table, length) != 0)
        fail_msg("docs/model-format.md's field table differs from the rows; it should read:\n%s", table);
#endif
}

static void test_bad_files(void **state) {
    (void)state;
    data d;
    make_data(&d);
    bnmlp_model *model = make_model(3, NULL);
    fit(model, &d, BNMLP_OPTIMIZER_ADAM, 0, 1, NULL);
    size_t size;
    unsigned char *plain = save_bytes(model, false, &size);
    size_t checkpoint_size;
    unsigned char *checkpoint = save_bytes(model, true, &checkpoint_size);
    static const struct {
        patch_function patch;
        bool crc;
        bnmlp_status expected;
        const char *what;
        bool checkpoint;
    } cases[] = {
        {patch_magic, false, BNMLP_ERR_FORMAT, "wrong magic", false},
        {patch_version, false, BNMLP_ERR_VERSION, "unknown version", false},
        {patch_version, true, BNMLP_ERR_VERSION, "unknown version, CRC right", false},
        {patch_flags, true, BNMLP_ERR_FORMAT, "unknown flags", false},
        {patch_first_param_nan, false, BNMLP_ERR_CHECKSUM, "a changed parameter, CRC not updated", false},
        {patch_first_param_nan, true, BNMLP_ERR_NOT_FINITE, "NaN parameter", false},
        {patch_last_param_inf, true, BNMLP_ERR_NOT_FINITE, "infinite parameter", false},
        {patch_stat_nan, true, BNMLP_ERR_NOT_FINITE, "NaN moving mean", false},
        {patch_negative_variance, true, BNMLP_ERR_FORMAT, "negative moving variance", false},
        {patch_param_count, true, BNMLP_ERR_FORMAT, "parameter count off by one", false},
        {patch_field_size, true, BNMLP_ERR_FORMAT, "a field value of the wrong size", false},
        {patch_field_name, true, BNMLP_ERR_FORMAT, "a field name too long", false},
        {patch_huge_width, true, BNMLP_ERR_UNSUPPORTED, "absurd layer width", false},
        {patch_zero_width, true, BNMLP_ERR_UNSUPPORTED, "zero layer width", false},
        {patch_huge_input, true, BNMLP_ERR_UNSUPPORTED, "absurd input width", false},
        {patch_zero_input, true, BNMLP_ERR_FORMAT, "zero input width", false},
        {patch_huge_batch, true, BNMLP_ERR_UNSUPPORTED, "absurd maximum batch", false},
        {patch_batch_times_width, true, BNMLP_ERR_UNSUPPORTED, "batch times widths beyond the limits", false},
        {patch_huge_layers, true, BNMLP_ERR_UNSUPPORTED, "absurd layer count", false},
        {patch_more_layers, true, BNMLP_ERR_FORMAT, "more layers than described", false},
        {patch_fewer_layers, true, BNMLP_ERR_FORMAT, "fewer layers than described", false},
        {patch_loss, true, BNMLP_ERR_FORMAT, "unknown loss", false},
        {patch_layer_kind, true, BNMLP_ERR_FORMAT, "unknown layer kind", false},
        {patch_flag_byte, true, BNMLP_ERR_FORMAT, "trainable byte 2", false},
        {patch_initializer, true, BNMLP_ERR_FORMAT, "unknown initializer", false},
        {patch_activation, true, BNMLP_ERR_FORMAT, "unknown activation", false},
        {patch_alpha, true, BNMLP_ERR_FORMAT, "NaN leaky slope", false},
        {patch_activation_width, true, BNMLP_ERR_FORMAT, "activation width differs", false},
        {patch_momentum, true, BNMLP_ERR_FORMAT, "batch-norm momentum 1.5", false},
        {patch_epsilon, true, BNMLP_ERR_FORMAT, "negative epsilon", false},
        {patch_section_tag, true, BNMLP_ERR_FORMAT, "a wrong section tag", false},
        {patch_section_length, true, BNMLP_ERR_FORMAT, "a section length off", false},
        {patch_huge_section, true, BNMLP_ERR_FORMAT, "a section longer than the file", false},
        {patch_sections_longer, true, BNMLP_ERR_TRUNCATED, "sections longer than the file", false},
        {patch_sections_shorter, true, BNMLP_ERR_FORMAT, "bytes after the model", false},
        {patch_rng_position, true, BNMLP_ERR_FORMAT, "generator position 625", true},
        {patch_rng_gauss, true, BNMLP_ERR_FORMAT, "infinite cached normal", true},
        {patch_order_duplicate, true, BNMLP_ERR_FORMAT, "row order with a duplicate", true},
        {patch_order_range, true, BNMLP_ERR_FORMAT, "row order out of range", true},
        {patch_order_count, true, BNMLP_ERR_FORMAT, "absurd row count", true},
        {patch_optimizer_kind, true, BNMLP_ERR_FORMAT, "unknown optimizer", true},
        {patch_second_moment, true, BNMLP_ERR_FORMAT, "negative second moment", true},
        {patch_optimizer_nan, true, BNMLP_ERR_NOT_FINITE, "NaN velocity", true},
        {patch_config_kind, true, BNMLP_ERR_FORMAT, "unknown optimizer configuration", true},
        {patch_config_count, true, BNMLP_ERR_FORMAT, "another number of settings", true},
        {patch_config_rate, true, BNMLP_ERR_FORMAT, "a negative learning rate", true},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        expect_patch_fails(cases[k].checkpoint ? checkpoint : plain,
                           cases[k].checkpoint ? checkpoint_size : size, cases[k].patch, cases[k].crc,
                           cases[k].expected, cases[k].what);
    /* Every prefix: truncated (or, inside the magic, not a model file at all). */
    for (size_t n = 0; n < size; n++) expect_load_fails(plain, n, BNMLP_ERR_TRUNCATED, "a prefix");
    /* A flipped bit anywhere: never loads. */
    for (size_t bit = 0; bit < 8 * size; bit++) {
        plain[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        bnmlp_status status = BNMLP_OK;
        bnmlp_model *bad = bnmlp_model_load_buffer(plain, size, NULL, NULL, &status);
        assert_null(bad);
        assert_true(status == BNMLP_ERR_CHECKSUM || status == BNMLP_ERR_FORMAT ||
                    status == BNMLP_ERR_VERSION || status == BNMLP_ERR_TRUNCATED);
        plain[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
    /* Arguments. */
    bnmlp_status status;
    assert_null(bnmlp_model_load_buffer(NULL, 10, NULL, NULL, &status));
    assert_status(status, BNMLP_ERR_NULL_ARGUMENT);
    assert_null(bnmlp_model_load(NULL, NULL, NULL, &status));
    assert_status(status, BNMLP_ERR_NULL_ARGUMENT);
    assert_null(bnmlp_model_load_buffer(NULL, 0, NULL, NULL, &status));
    assert_status(status, BNMLP_ERR_TRUNCATED); /* an empty file */
    size_t needed;
    assert_status(bnmlp_model_save_buffer(model, false, plain, size - 1, &needed), BNMLP_ERR_SHAPE);
    assert_status(bnmlp_model_save_buffer(NULL, false, NULL, 0, &needed), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_model_save(model, NULL), BNMLP_ERR_NULL_ARGUMENT);
    bnmlp_model *unbuilt = bnmlp_model_create(2, NULL);
    assert_status(bnmlp_model_save_buffer(unbuilt, false, NULL, 0, &needed), BNMLP_ERR_NOT_BUILT);
    bnmlp_model_free(unbuilt);
    free(plain), free(checkpoint);
    bnmlp_model_free(model);
}

/* A failure at any allocation of a load returns OUT_OF_MEMORY and leaves nothing allocated. */
static void test_load_allocation_failures(void **state) {
    (void)state;
    data d;
    make_data(&d);
    bnmlp_model *model = make_model(3, NULL);
    fit(model, &d, BNMLP_OPTIMIZER_SGD, 0, 1, NULL);
    size_t size;
    unsigned char *bytes = save_bytes(model, true, &size);
    size_t total = 0;
    for (size_t fail_at = 0; fail_at == 0 || fail_at <= total; fail_at++) {
        counting_allocator counter = {.fail_at = fail_at};
        bnmlp_allocator allocator = counting_allocator_of(&counter);
        bnmlp_status status;
        bnmlp_model *loaded = bnmlp_model_load_buffer(bytes, size, &allocator, NULL, &status);
        if (fail_at == 0) {
            assert_ok(status);
            total = counter.calls;
            assert_same_predictions(model, loaded, &d);
            bnmlp_model_free(loaded);
        } else {
            assert_null(loaded);
            assert_status(status, BNMLP_ERR_OUT_OF_MEMORY);
        }
        assert_int_equal(counter.allocations, counter.releases);
    }
    free(bytes);
    bnmlp_model_free(model);
}

/* ---- the optimizer's state through the API ---------------------------------------------------------- */

/* Read from one model and written into a twin, the state makes the twin continue exactly; bad
 * state is refused with nothing changed. */
static void test_optimizer_state_api(void **state_) {
    (void)state_;
    data d;
    make_data(&d);
    bnmlp_model *model = make_model(5, NULL), *twin = make_model(5, NULL);
    fit(model, &d, BNMLP_OPTIMIZER_ADAM, 0, 2, NULL);
    bnmlp_optimizer_kind kind;
    uint64_t steps;
    assert_ok(bnmlp_model_get_optimizer_state(model, &kind, &steps, NULL, 0));
    assert_int_equal(kind, BNMLP_OPTIMIZER_ADAM);
    assert_int_equal(steps, 2 * 6); /* 40 rows in batches of 7: 6 steps an epoch */
    const size_t count = bnmlp_model_optimizer_state_count(model, kind);
    assert_int_equal(count, 2 * bnmlp_model_param_count(model));
    float *moments = malloc(count * sizeof *moments);
    assert_ok(bnmlp_model_get_optimizer_state(model, &kind, &steps, moments, count));
    assert_status(bnmlp_model_get_optimizer_state(model, &kind, &steps, moments, count - 1), BNMLP_ERR_SHAPE);
    /* The twin takes the weights, statistics and state, then both continue alike. */
    memcpy(twin->params, model->params, model->param_count * sizeof(float));
    memcpy(twin->stats, model->stats, model->stats_count * sizeof(float));
    for (size_t i = 0; i < model->layer_count; i++) twin->layers[i].steps = model->layers[i].steps;
    moments[model->param_count] = -1.0f; /* a negative second moment */
    assert_status(bnmlp_model_set_optimizer_state(twin, kind, steps, moments, count),
                  BNMLP_ERR_INVALID_ARGUMENT);
    moments[model->param_count] = model->optimizer.slots[model->param_count];
    moments[0] = NAN;
    assert_status(bnmlp_model_set_optimizer_state(twin, kind, steps, moments, count), BNMLP_ERR_NOT_FINITE);
    moments[0] = model->optimizer.slots[0];
    assert_status(bnmlp_model_set_optimizer_state(twin, kind, steps, moments, count / 2), BNMLP_ERR_SHAPE);
    assert_status(bnmlp_model_set_optimizer_state(twin, (bnmlp_optimizer_kind)7, steps, moments, count),
                  BNMLP_ERR_INVALID_ARGUMENT);
    assert_int_equal(twin->optimizer.steps, 0);
    assert_ok(bnmlp_model_set_optimizer_state(twin, kind, steps, moments, count));
    bnmlp_optimizer_config adam = BNMLP_OPTIMIZER_DEFAULT;
    adam.kind = BNMLP_OPTIMIZER_ADAM, adam.adam.learning_rate = 0.01f;
    bnmlp_tensor bx = bnmlp_tensor_view(d.x, 7, IN), by = bnmlp_tensor_view(d.y, 7, 1);
    assert_ok(bnmlp_model_train_step(model, &bx, &by, &adam, NULL, NULL));
    assert_ok(bnmlp_model_train_step(twin, &bx, &by, &adam, NULL, NULL));
    assert_memory_equal(model->params, twin->params, model->param_count * sizeof(float));
    /* SGD's velocities are one block. */
    assert_int_equal(bnmlp_model_optimizer_state_count(model, BNMLP_OPTIMIZER_SGD), model->param_count);
    assert_ok(bnmlp_model_set_optimizer_state(twin, BNMLP_OPTIMIZER_SGD, 0, moments, model->param_count));
    free(moments);
    bnmlp_model_free(model), bnmlp_model_free(twin);
}

/* ---- files written by format version 1 ------------------------------------------------------------ */

/* A float tensor read from one of the fixtures' CSV files (every column; no label). */
static bnmlp_tensor *read_fixture(const char *name, bool labelled, bnmlp_tensor **labels) {
    char path[512];
    snprintf(path, sizeof path, "%s/model-v1/%s", BNMLP_FIXTURES_DIR, name);
    bnmlp_csv_read_config config = BNMLP_CSV_READ_DEFAULT;
    if (!labelled) config.label = BNMLP_CSV_LABEL_NONE;
    bnmlp_tensor *x = NULL;
    assert_ok(bnmlp_csv_read(path, &config, &x, labels, NULL));
    return x;
}

/* The model and the checkpoint main wrote before the format grew (tests/fixtures/model-v1)
 * still load, and predict what they predicted then; saved again (as version 2), they load and
 * predict the same. */
static void test_version1_files_load(void **state) {
    (void)state;
    bnmlp_tensor *y = NULL;
    bnmlp_tensor *x = read_fixture("data.csv", true, &y);
    const char *files[2][2] = {{"model.bnmlp", "model-predictions.csv"},
                               {"checkpoint.bnmlp", "checkpoint-predictions.csv"}};
    for (size_t k = 0; k < 2; k++) {
        char path[512];
        snprintf(path, sizeof path, "%s/model-v1/%s", BNMLP_FIXTURES_DIR, files[k][0]);
        bnmlp_status status;
        bnmlp_error_detail detail;
        bnmlp_model *model = bnmlp_model_load(path, NULL, &detail, &status);
        assert_ok(status);
        assert_non_null(model);
        assert_int_equal(bnmlp_model_epochs_done(model), k == 0 ? 0 : 2);
        bnmlp_tensor *expected = read_fixture(files[k][1], false, NULL);
        bnmlp_tensor *out = bnmlp_tensor_create(x->rows, 1, NULL);
        assert_non_null(out);
        assert_ok(bnmlp_model_predict(model, x, out));
        assert_int_equal(expected->rows, x->rows);
        /* Exact with the compiler that wrote them (gcc); another may round the last bit apart. */
        for (size_t r = 0; r < x->rows; r++) assert_true(fabsf(out->data[r] - expected->data[r]) <= 1e-6f);
        /* Saved again, it is a version-2 file that loads and predicts the very same values. */
        size_t size = 0;
        assert_ok(bnmlp_model_save_buffer(model, k == 1, NULL, 0, &size));
        unsigned char *bytes = malloc(size);
        assert_non_null(bytes);
        assert_ok(bnmlp_model_save_buffer(model, k == 1, bytes, size, &size));
        assert_int_equal(bnmlp_load_le32(bytes + 8), 2);
        bnmlp_model *again = bnmlp_model_load_buffer(bytes, size, NULL, NULL, &status);
        assert_ok(status);
        bnmlp_tensor *out2 = bnmlp_tensor_create(x->rows, 1, NULL);
        assert_non_null(out2);
        assert_ok(bnmlp_model_predict(again, x, out2));
        assert_memory_equal(out2->data, out->data, x->rows * sizeof(float));
        bnmlp_tensor_free(out2);
        bnmlp_model_free(again);
        free(bytes);
        bnmlp_tensor_free(out);
        bnmlp_tensor_free(expected);
        bnmlp_model_free(model);
    }
    bnmlp_tensor_free(x);
    bnmlp_tensor_free(y);
}

/* Every activation of the table as a layer of a saved model: it loads back as the same kind
 * and alpha and predicts bit for bit (the file stores the kind's value; the reader validates it
 * through the table). */
static void test_every_activation_round_trips(void **state) {
    (void)state;
    data d;
    make_data(&d);
    size_t kinds = 0;
    for (int k = 0; strcmp(bnmlp_activation_name((bnmlp_activation)k), "unknown") != 0; k++, kinds++) {
        bnmlp_model *model = bnmlp_model_create(IN, NULL);
        assert_non_null(model);
        bnmlp_dense_config hidden = BNMLP_DENSE_DEFAULT(5);
        assert_ok(bnmlp_model_add_dense(model, &hidden));
        assert_ok(bnmlp_model_add_activation(model, (bnmlp_activation)k, 0.7f));
        bnmlp_dense_config head = BNMLP_DENSE_DEFAULT(3);
        head.activation = BNMLP_ACTIVATION_SOFTMAX;
        assert_ok(bnmlp_model_add_dense(model, &head));
        assert_ok(bnmlp_model_set_loss(model, BNMLP_LOSS_CATEGORICAL_CROSSENTROPY));
        assert_ok(bnmlp_model_build(model, MAXB, 11));
        size_t size;
        unsigned char *bytes = save_bytes(model, false, &size);
        bnmlp_status status = BNMLP_ERR_IO;
        bnmlp_model *loaded = bnmlp_model_load_buffer(bytes, size, NULL, NULL, &status);
        assert_ok(status);
        assert_non_null(loaded);
        bnmlp_layer_info info;
        assert_ok(bnmlp_model_layer_info(loaded, 1, &info));
        assert_int_equal(info.activation, k);
        assert_true(loaded->layers[1].config.activation.alpha == 0.7f);
        assert_same_predictions(model, loaded, &d);
        free(bytes);
        bnmlp_model_free(loaded);
        bnmlp_model_free(model);
    }
    assert_true(kinds >= 9);
}

/* ---- class names ---------------------------------------------------------------------------------- */

static void test_class_names_api(void **state) {
    (void)state;
    bnmlp_model *model = make_model(5, NULL);
    assert_int_equal(bnmlp_model_class_count(model), 3);
    assert_null(bnmlp_model_class_name(model, 0));
    const char *names[] = {"setosa", "versicolor", "virginica"};
    /* Every bad call, each leaving the model without names. */
    const struct {
        const char *const *names;
        size_t count;
        bnmlp_status status;
    } bad[] = {
        {NULL, 3, BNMLP_ERR_NULL_ARGUMENT},
        {names, 2, BNMLP_ERR_SHAPE},
        {names, 0, BNMLP_ERR_INVALID_ARGUMENT},
        {(const char *[]){"a", NULL, "c"}, 3, BNMLP_ERR_NULL_ARGUMENT},
        {(const char *[]){"a", "b", "a"}, 3, BNMLP_ERR_INVALID_ARGUMENT},
        {(const char *[]){"a", "b",
                          "c"
                          "0123456789012345678901234567890123456789012345678901234567890123"
                          "0123456789012345678901234567890123456789012345678901234567890123"
                          "0123456789012345678901234567890123456789012345678901234567890123"
                          "0123456789012345678901234567890123456789012345678901234567890123"},
         3, BNMLP_ERR_INVALID_ARGUMENT},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_status(bnmlp_model_set_class_names(model, bad[i].names, bad[i].count), bad[i].status);
        assert_null(bnmlp_model_class_name(model, 0));
    }
    assert_status(bnmlp_model_set_class_names(NULL, names, 3), BNMLP_ERR_NULL_ARGUMENT);
    assert_ok(bnmlp_model_set_class_names(model, names, 3));
    assert_string_equal(bnmlp_model_class_name(model, 2), "virginica");
    assert_null(bnmlp_model_class_name(model, 3));
    assert_null(bnmlp_model_class_name(NULL, 0));
    /* A failed call keeps the names set before. */
    assert_status(bnmlp_model_set_class_names(model, (const char *[]){"x", "x", "y"}, 3),
                  BNMLP_ERR_INVALID_ARGUMENT);
    assert_string_equal(bnmlp_model_class_name(model, 0), "setosa");
    assert_ok(bnmlp_model_set_class_names(model, NULL, 0));
    assert_null(bnmlp_model_class_name(model, 0));
    bnmlp_model_free(model);
    /* Binary with one output: 2 classes; regression: none. */
    bnmlp_model *binary = bnmlp_model_create(2, NULL);
    bnmlp_dense_config one = BNMLP_DENSE_DEFAULT(1);
    one.activation = BNMLP_ACTIVATION_SIGMOID;
    assert_ok(bnmlp_model_add_dense(binary, &one));
    assert_int_equal(bnmlp_model_class_count(binary), 2);
    assert_ok(bnmlp_model_set_class_names(binary, (const char *[]){"no", "yes"}, 2));
    assert_ok(bnmlp_model_set_loss(binary, BNMLP_LOSS_MEAN_SQUARED_ERROR));
    assert_int_equal(bnmlp_model_class_count(binary), 0);
    assert_status(bnmlp_model_set_class_names(binary, (const char *[]){"no", "yes"}, 2),
                  BNMLP_ERR_INVALID_ARGUMENT);
    bnmlp_model_free(binary);
    assert_int_equal(bnmlp_model_class_count(NULL), 0);
}

/* Names survive a save and load (model and checkpoint); a file without them loads without them
 * and is byte for byte the file of before (no CLAS section). */
static void test_class_names_round_trip(void **state) {
    (void)state;
    bnmlp_model *model = make_model(6, NULL);
    size_t plain_size = 0;
    unsigned char *plain = save_bytes(model, false, &plain_size);
    bnmlp_status status = BNMLP_OK;
    bnmlp_model *back = bnmlp_model_load_buffer(plain, plain_size, NULL, NULL, &status);
    assert_ok(status);
    assert_null(bnmlp_model_class_name(back, 0));
    bnmlp_model_free(back);
    const char *names[] = {"", "caf\xc3\xa9", "a,\"b\"\nc"};
    assert_ok(bnmlp_model_set_class_names(model, names, 3));
    for (int checkpoint = 0; checkpoint < 2; checkpoint++) {
        size_t size = 0;
        unsigned char *bytes = save_bytes(model, checkpoint, &size);
        if (!checkpoint) {
            assert_int_equal(size, plain_size + 12 + 4 + 3 * 4 + 0 + 5 + 7);
            assert_memory_equal(bytes + 8, plain + 8, 4); /* still version 2 */
        }
        counting_allocator counter = {0};
        bnmlp_allocator allocator = counting_allocator_of(&counter);
        back = bnmlp_model_load_buffer(bytes, size, &allocator, NULL, &status);
        assert_ok(status);
        for (size_t i = 0; i < 3; i++) assert_string_equal(bnmlp_model_class_name(back, i), names[i]);
        size_t again_size = 0;
        unsigned char *again = save_bytes(back, checkpoint, &again_size);
        assert_int_equal(again_size, size);
        assert_memory_equal(again, bytes, size);
        free(again);
        bnmlp_model_free(back);
        assert_int_equal(counter.allocations, counter.releases);
        free(bytes);
    }
    free(plain);
    bnmlp_model_free(model);
}

/* The names section of a saved file, patched: each bad content is refused without a leak. */
static void patch_class_count(unsigned char *b, size_t n) {
    bnmlp_store_le32(b + section_payload(b, n, "CLAS"), 2);
}
static void patch_class_zero(unsigned char *b, size_t n) {
    bnmlp_store_le32(b + section_payload(b, n, "CLAS"), 0);
}
static void patch_class_nul(unsigned char *b, size_t n) { b[section_payload(b, n, "CLAS") + 8] = 0; }
static void patch_class_duplicate(unsigned char *b, size_t n) {
    b[section_payload(b, n, "CLAS") + 4 + 4 + 1 + 4] = 'a'; /* "a", "b", "c" -> "a", "a", "c" */
}
static void patch_class_length(unsigned char *b, size_t n) {
    bnmlp_store_le32(b + section_payload(b, n, "CLAS") + 4, 2); /* runs into the next name */
}
static void patch_class_long(unsigned char *b, size_t n) {
    bnmlp_store_le32(b + section_payload(b, n, "CLAS") + 4, BNMLP_CLASS_NAME_MAX_BYTES + 1);
}
static void patch_class_tag(unsigned char *b, size_t n) {
    memcpy(b + section_payload(b, n, "CLAS") - 12, "CLAZ", 4);
}

static void test_class_names_bad_files(void **state) {
    (void)state;
    bnmlp_model *model = make_model(7, NULL);
    assert_ok(bnmlp_model_set_class_names(model, (const char *[]){"a", "b", "c"}, 3));
    size_t size = 0;
    unsigned char *bytes = save_bytes(model, false, &size);
    expect_patch_fails(bytes, size, patch_class_count, true, BNMLP_ERR_FORMAT, "class count");
    expect_patch_fails(bytes, size, patch_class_zero, true, BNMLP_ERR_FORMAT, "no classes");
    expect_patch_fails(bytes, size, patch_class_nul, true, BNMLP_ERR_FORMAT, "NUL in a name");
    expect_patch_fails(bytes, size, patch_class_duplicate, true, BNMLP_ERR_FORMAT, "equal names");
    expect_patch_fails(bytes, size, patch_class_length, true, BNMLP_ERR_FORMAT, "name length");
    expect_patch_fails(bytes, size, patch_class_long, true, BNMLP_ERR_FORMAT, "name too long");
    expect_patch_fails(bytes, size, patch_class_tag, true, BNMLP_ERR_FORMAT, "unknown last section");
    expect_patch_fails(bytes, size, patch_class_count, false, BNMLP_ERR_CHECKSUM, "class count, no CRC fix");
    for (size_t cut = 1; cut < 20; cut++) expect_load_fails(bytes, size - cut, BNMLP_ERR_TRUNCATED, "cut");
    /* Every allocation of a load with names failing in turn. */
    size_t total = 0;
    for (size_t fail_at = 0; fail_at == 0 || fail_at <= total; fail_at++) {
        counting_allocator counter = {.fail_at = fail_at};
        bnmlp_allocator allocator = counting_allocator_of(&counter);
        bnmlp_status status = BNMLP_OK;
        bnmlp_model *back = bnmlp_model_load_buffer(bytes, size, &allocator, NULL, &status);
        if (fail_at == 0) {
            assert_ok(status);
            total = counter.calls;
            bnmlp_model_free(back);
        } else {
            assert_status(status, BNMLP_ERR_OUT_OF_MEMORY);
            assert_null(back);
        }
        assert_int_equal(counter.allocations, counter.releases);
    }
    free(bytes);
    bnmlp_model_free(model);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_save_load_predicts_bit_for_bit),
        cmocka_unit_test(test_checkpoint_resume_is_exact),
        cmocka_unit_test(test_checkpoint_keeps_optimizer_config),
        cmocka_unit_test(test_checkpoint_keeps_clipping),
        cmocka_unit_test(test_atomic_write_under_io_failure),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_fields_skipped_and_defaulted),
        cmocka_unit_test(test_load_allocation_failures),
        cmocka_unit_test(test_optimizer_state_api),
        cmocka_unit_test(test_version1_files_load),
        cmocka_unit_test(test_every_activation_round_trips),
        cmocka_unit_test(test_class_names_api),
        cmocka_unit_test(test_class_names_round_trip),
        cmocka_unit_test(test_class_names_bad_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
