/*
 * test_model_api.c - every bad input of the model and training API.
 *
 * Each case asserts the exact status and that the failed call changed nothing observable:
 * all parameters (bnmlp_model_get_params), all moving statistics (bnmlp_model_get_weights),
 * the structure of the model, and output buffers filled with a sentinel before the call,
 * compared bit for bit afterwards. Where it matters, "nothing changed" also covers the hidden
 * optimizer and random state, observed through a later call compared with a fresh twin model.
 *
 * The helper model is 2 -> Dense(4, relu) -> BatchNorm -> Dense(1, sigmoid), built for batches
 * of up to 8 rows. Its layers are: 0 dense (2 -> 4), 1 relu, 2 batch norm (4), 3 dense (4 -> 1),
 * 4 sigmoid; 8 + 4 + 4 + 4 + 4 + 1 = 25 learnable parameters.
 */
#include "support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* Fixtures                                                                                   */
/* ------------------------------------------------------------------------------------------ */

#define IN 2        /* input width of the helper model */
#define MAXB 8      /* maximum batch of the helper model */
#define SEED 1234u  /* seed of the helper model */
#define N_PARAMS 25 /* learnable parameters of the helper model with batch norm */

#define LAYER_DENSE0 0
#define LAYER_RELU 1
#define LAYER_BN 2
#define LAYER_DENSE1 3
#define LAYER_SIGMOID 4

#define STATUS_SENTINEL ((bnmlp_status)12345)
#define FLOAT_SENTINEL (-12345.678f)
#define DOUBLE_SENTINEL (-98765.4321)
#define SIZE_SENTINEL ((size_t)777)

/* Eight rows of two features and their labels. */
static const float X8[MAXB * IN] = {0.5f,   1.0f,   1.5f, -0.5f, -1.0f, 2.0f, 2.0f,  0.25f,
                                    -0.75f, -1.25f, 0.1f, 0.9f,  1.2f,  1.8f, -2.0f, 0.3f};
static const float Y8[MAXB] = {1, 0, 1, 0, 0, 1, 1, 0};

/* A mutable copy of the data, so that tests can poison single values. */
typedef struct batch {
    float x[4 * MAXB * IN];
    float y[4 * MAXB];
    bnmlp_tensor tx;
    bnmlp_tensor ty;
} batch;

/* rows rows of X8/Y8 (cycled), viewed as tx (rows x IN) and ty (rows x 1). rows <= 4 * MAXB. */
static void batch_init(batch *b, size_t rows) {
    for (size_t r = 0; r < rows; r++) {
        b->x[r * IN] = X8[(r % MAXB) * IN] + 0.01f * (float)(r / MAXB);
        b->x[r * IN + 1] = X8[(r % MAXB) * IN + 1] - 0.02f * (float)(r / MAXB);
        b->y[r] = Y8[r % MAXB];
    }
    b->tx = bnmlp_tensor_view(b->x, rows, IN);
    b->ty = bnmlp_tensor_view(b->y, rows, 1);
}

/* A small model: Dense(4, relu) [-> BatchNorm] -> Dense(1, sigmoid); built when max_batch > 0. */
static bnmlp_model *make_model_with(uint32_t seed, bool with_batchnorm, size_t max_batch,
                                    const bnmlp_allocator *allocator) {
    bnmlp_status status = STATUS_SENTINEL;
    bnmlp_model *model = bnmlp_model_create_with_allocator(IN, allocator, &status);
    assert_non_null(model);
    assert_ok(status);
    bnmlp_dense_config hidden = BNMLP_DENSE_DEFAULT(4);
    hidden.activation = BNMLP_ACTIVATION_RELU;
    assert_ok(bnmlp_model_add_dense(model, &hidden));
    if (with_batchnorm) {
        bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
        assert_ok(bnmlp_model_add_batchnorm(model, &bn));
    }
    bnmlp_dense_config head = BNMLP_DENSE_DEFAULT(1);
    head.activation = BNMLP_ACTIVATION_SIGMOID;
    assert_ok(bnmlp_model_add_dense(model, &head));
    if (max_batch > 0) assert_ok(bnmlp_model_build(model, max_batch, seed));
    return model;
}

static bnmlp_model *make_model(void) { return make_model_with(SEED, true, MAXB, NULL); }

static int setup_built(void **state) {
    *state = make_model();
    return 0;
}

static int setup_unbuilt(void **state) {
    *state = make_model_with(SEED, true, 0, NULL);
    return 0;
}

static int teardown_model(void **state) {
    bnmlp_model_free(*state);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Snapshots of everything a caller can observe                                              */
/* ------------------------------------------------------------------------------------------ */

#define MAX_LAYERS 16

typedef struct snapshot {
    bool built;
    size_t max_batch, layers, input_width, output_width, param_count;
    bnmlp_layer_info info[MAX_LAYERS];
    float *params;   /* param_count floats, or NULL before build */
    float *moving;   /* every batch-norm layer's moving mean then moving variance */
    size_t n_moving; /* floats in moving */
} snapshot;

static void snapshot_take(const bnmlp_model *model, snapshot *s) {
    memset(s, 0, sizeof *s);
    s->built = bnmlp_model_is_built(model);
    s->max_batch = bnmlp_model_max_batch(model);
    s->layers = bnmlp_model_layer_count(model);
    s->input_width = bnmlp_model_input_width(model);
    s->output_width = bnmlp_model_output_width(model);
    s->param_count = bnmlp_model_param_count(model);
    assert_true(s->layers <= MAX_LAYERS);
    for (size_t i = 0; i < s->layers; i++) {
        assert_ok(bnmlp_model_layer_info(model, i, &s->info[i]));
        if (s->info[i].kind == BNMLP_LAYER_BATCHNORM) s->n_moving += 2 * s->info[i].output_width;
    }
    if (!s->built) return;
    s->params = calloc(s->param_count + 1, sizeof(float));
    s->moving = calloc(s->n_moving + 1, sizeof(float));
    assert_non_null(s->params);
    assert_non_null(s->moving);
    assert_ok(bnmlp_model_get_params(model, s->params, s->param_count));
    size_t at = 0;
    for (size_t i = 0; i < s->layers; i++) {
        if (s->info[i].kind != BNMLP_LAYER_BATCHNORM) continue;
        size_t c = s->info[i].output_width;
        assert_ok(bnmlp_model_get_weights(model, i, BNMLP_WEIGHT_MOVING_MEAN, s->moving + at, c));
        assert_ok(bnmlp_model_get_weights(model, i, BNMLP_WEIGHT_MOVING_VARIANCE, s->moving + at + c, c));
        at += 2 * c;
    }
}

static void snapshot_free(snapshot *s) {
    free(s->params);
    free(s->moving);
    s->params = s->moving = NULL;
}

/* Fails unless the model looks exactly as it did when s was taken. */
static void assert_unchanged(const bnmlp_model *model, const snapshot *s) {
    snapshot now;
    snapshot_take(model, &now);
    assert_int_equal(now.built, s->built);
    assert_int_equal(now.max_batch, s->max_batch);
    assert_int_equal(now.layers, s->layers);
    assert_int_equal(now.input_width, s->input_width);
    assert_int_equal(now.output_width, s->output_width);
    assert_int_equal(now.param_count, s->param_count);
    for (size_t i = 0; i < s->layers; i++) {
        assert_int_equal(now.info[i].kind, s->info[i].kind);
        assert_int_equal(now.info[i].input_width, s->info[i].input_width);
        assert_int_equal(now.info[i].output_width, s->info[i].output_width);
        assert_int_equal(now.info[i].trainable_params, s->info[i].trainable_params);
        assert_int_equal(now.info[i].non_trainable_params, s->info[i].non_trainable_params);
        assert_int_equal(now.info[i].trainable, s->info[i].trainable);
    }
    assert_int_equal(now.n_moving, s->n_moving);
    if (s->built) {
        assert_memory_equal(now.params, s->params, s->param_count * sizeof(float));
        assert_memory_equal(now.moving, s->moving, s->n_moving * sizeof(float));
    }
    snapshot_free(&now);
}

/* Fails unless two models hold bit-identical parameters and moving statistics. */
static void assert_same_state(const bnmlp_model *a, const bnmlp_model *b) {
    snapshot sa, sb;
    snapshot_take(a, &sa);
    snapshot_take(b, &sb);
    assert_int_equal(sa.param_count, sb.param_count);
    assert_int_equal(sa.n_moving, sb.n_moving);
    assert_memory_equal(sa.params, sb.params, sa.param_count * sizeof(float));
    assert_memory_equal(sa.moving, sb.moving, sa.n_moving * sizeof(float));
    snapshot_free(&sa);
    snapshot_free(&sb);
}

static void fill_floats(float *p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = FLOAT_SENTINEL;
}

static void assert_floats_sentinel(const float *p, size_t n) {
    const float sentinel = FLOAT_SENTINEL;
    for (size_t i = 0; i < n; i++) assert_memory_equal(&p[i], &sentinel, sizeof sentinel);
}

static void assert_double_sentinel(double d) {
    const double sentinel = DOUBLE_SENTINEL;
    assert_memory_equal(&d, &sentinel, sizeof d);
}

static void fill_history(bnmlp_epoch_record *h, size_t n) {
    for (size_t i = 0; i < n; i++)
        h[i] = (bnmlp_epoch_record){.epoch = SIZE_SENTINEL,
                                    .loss = DOUBLE_SENTINEL,
                                    .accuracy = DOUBLE_SENTINEL,
                                    .val_loss = DOUBLE_SENTINEL,
                                    .val_accuracy = DOUBLE_SENTINEL};
}

static void assert_history_sentinel(const bnmlp_epoch_record *h, size_t n) {
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(h[i].epoch, SIZE_SENTINEL);
        assert_double_sentinel(h[i].loss);
        assert_double_sentinel(h[i].accuracy);
        assert_double_sentinel(h[i].val_loss);
        assert_double_sentinel(h[i].val_accuracy);
    }
}

/* Runs one training step on rows of (X8, Y8) and asserts it succeeds. */
static void train_once(bnmlp_model *model, size_t rows, const bnmlp_sgd_config *optimizer) {
    batch b;
    batch_init(&b, rows);
    assert_ok(bnmlp_model_train_step(model, &b.tx, &b.ty, SGD_CONFIG(optimizer), NULL, NULL));
}

/* ------------------------------------------------------------------------------------------ */
/* A counting allocator with failure injection                                                */
/* ------------------------------------------------------------------------------------------ */

/* counting_allocator and counting_allocator_of live in support.c. */

/* ------------------------------------------------------------------------------------------ */
/* create                                                                                     */
/* ------------------------------------------------------------------------------------------ */

static void test_create_zero_width(void **state) {
    (void)state;
    bnmlp_status status = STATUS_SENTINEL;
    assert_null(bnmlp_model_create(0, &status));
    assert_status(status, BNMLP_ERR_INVALID_ARGUMENT);
    assert_null(bnmlp_model_create(0, NULL));
    status = STATUS_SENTINEL;
    assert_null(bnmlp_model_create_with_allocator(0, NULL, &status));
    assert_status(status, BNMLP_ERR_INVALID_ARGUMENT);
    counting_allocator counter = {0};
    bnmlp_allocator allocator = counting_allocator_of(&counter);
    status = STATUS_SENTINEL;
    assert_null(bnmlp_model_create_with_allocator(0, &allocator, &status));
    assert_status(status, BNMLP_ERR_INVALID_ARGUMENT);
    assert_int_equal(counter.allocations, counter.releases);
}

/* An allocator with a missing function is refused (a required pointer). */
static void test_create_allocator_missing_function(void **state) {
    (void)state;
    counting_allocator counter = {0};
    bnmlp_allocator no_allocate = {.allocate = NULL, .release = counting_release, .context = &counter};
    bnmlp_allocator no_release = {.allocate = counting_allocate, .release = NULL, .context = &counter};
    bnmlp_status status = STATUS_SENTINEL;
    assert_null(bnmlp_model_create_with_allocator(IN, &no_allocate, &status));
    assert_status(status, BNMLP_ERR_NULL_ARGUMENT);
    status = STATUS_SENTINEL;
    assert_null(bnmlp_model_create_with_allocator(IN, &no_release, &status));
    assert_status(status, BNMLP_ERR_NULL_ARGUMENT);
    assert_int_equal(counter.calls, 0);
}

/* A NULL allocator means malloc and free; a NULL status pointer is allowed. */
static void test_create_null_allocator_is_default(void **state) {
    (void)state;
    bnmlp_status status = STATUS_SENTINEL;
    bnmlp_model *model = bnmlp_model_create_with_allocator(IN, NULL, &status);
    assert_non_null(model);
    assert_ok(status);
    bnmlp_model_free(model);
    model = bnmlp_model_create(IN, NULL);
    assert_non_null(model);
    bnmlp_model_free(model);
    bnmlp_model_free(NULL);

    /* The same seed through the NULL allocator and the default constructor gives the same model. */
    bnmlp_model *a = make_model_with(SEED, true, MAXB, NULL);
    bnmlp_model *b = make_model();
    assert_same_state(a, b);
    bnmlp_model_free(a);
    bnmlp_model_free(b);
}

/* Every allocation of a model goes through the caller's allocator and is released by free;
 * forward and train_step allocate nothing. */
static void test_create_custom_allocator_balanced(void **state) {
    (void)state;
    counting_allocator counter = {0};
    bnmlp_allocator allocator = counting_allocator_of(&counter);
    bnmlp_model *model = make_model_with(SEED, true, MAXB, &allocator);
    assert_true(counter.allocations > 0);
    /* The allocator was copied: changing our struct afterwards must not matter. */
    allocator = (bnmlp_allocator){0};

    size_t before = counter.calls;
    batch b;
    batch_init(&b, MAXB);
    float out[MAXB];
    bnmlp_tensor tout = bnmlp_tensor_view(out, MAXB, 1);
    assert_ok(bnmlp_model_forward(model, &b.tx, BNMLP_MODE_TRAINING, &tout));
    assert_ok(bnmlp_model_forward(model, &b.tx, BNMLP_MODE_INFERENCE, &tout));
    bnmlp_sgd_config sgd = BNMLP_SGD_DEFAULT;
    sgd.momentum = 0.9f;
    assert_ok(bnmlp_model_train_step(model, &b.tx, &b.ty, SGD_CONFIG(&sgd), NULL, NULL));
    assert_int_equal(counter.calls, before);

    bnmlp_model_free(model);
    assert_int_equal(counter.allocations, counter.releases);
}

/* ------------------------------------------------------------------------------------------ */
/* Queries                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static void test_queries_null_model(void **state) {
    (void)state;
    assert_false(bnmlp_model_is_built(NULL));
    assert_int_equal(bnmlp_model_max_batch(NULL), 0);
    assert_int_equal(bnmlp_model_layer_count(NULL), 0);
    assert_int_equal(bnmlp_model_input_width(NULL), 0);
    assert_int_equal(bnmlp_model_output_width(NULL), 0);
    assert_int_equal(bnmlp_model_param_count(NULL), 0);
}

static void test_queries_before_and_after_build(void **state) {
    (void)state;
    bnmlp_model *model = bnmlp_model_create(IN, NULL);
    assert_non_null(model);
    assert_int_equal(bnmlp_model_layer_count(model), 0);
    assert_int_equal(bnmlp_model_output_width(model), IN); /* no layers: the input width */
    assert_int_equal(bnmlp_model_input_width(model), IN);
    bnmlp_model_free(model);

    model = make_model_with(SEED, true, 0, NULL);
    assert_false(bnmlp_model_is_built(model));
    assert_int_equal(bnmlp_model_max_batch(model), 0);
    assert_int_equal(bnmlp_model_layer_count(model), 5);
    assert_int_equal(bnmlp_model_input_width(model), IN);
    assert_int_equal(bnmlp_model_output_width(model), 1);
    assert_ok(bnmlp_model_build(model, MAXB, SEED));
    assert_true(bnmlp_model_is_built(model));
    assert_int_equal(bnmlp_model_max_batch(model), MAXB);
    assert_int_equal(bnmlp_model_param_count(model), N_PARAMS);
    bnmlp_model_free(model);
}

/* ------------------------------------------------------------------------------------------ */
/* add_*                                                                                      */
/* ------------------------------------------------------------------------------------------ */

static void test_add_null_arguments(void **state) {
    bnmlp_model *model = *state; /* unbuilt */
    snapshot s;
    snapshot_take(model, &s);
    bnmlp_dense_config dense = BNMLP_DENSE_DEFAULT(3);
    bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
    assert_status(bnmlp_model_add_dense(NULL, &dense), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_model_add_dense(model, NULL), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_model_add_batchnorm(NULL, &bn), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_model_add_batchnorm(model, NULL), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_model_add_activation(NULL, BNMLP_ACTIVATION_RELU, 0.0f), BNMLP_ERR_NULL_ARGUMENT);
    assert_unchanged(model, &s);
    snapshot_free(&s);
}

static void test_add_dense_zero_units(void **state) {
    bnmlp_model *model = *state;
    snapshot s;
    snapshot_take(model, &s);
    bnmlp_dense_config dense = BNMLP_DENSE_DEFAULT(0);
    assert_status(bnmlp_model_add_dense(model, &dense), BNMLP_ERR_INVALID_ARGUMENT);
    dense.activation = BNMLP_ACTIVATION_RELU;
    assert_status(bnmlp_model_add_dense(model, &dense), BNMLP_ERR_INVALID_ARGUMENT);
    assert_unchanged(model, &s);
    snapshot_free(&s);
}

static void test_add_dense_bad_enums(void **state) {
    bnmlp_model *model = *state;
    snapshot s;
    snapshot_take(model, &s);
    bnmlp_dense_config dense = BNMLP_DENSE_DEFAULT(3);
    dense.activation = (bnmlp_activation)99;
    assert_status(bnmlp_model_add_dense(model, &dense), BNMLP_ERR_INVALID_ARGUMENT);
    dense.activation = (bnmlp_activation)-1;
    assert_status(bnmlp_model_add_dense(model, &dense), BNMLP_ERR_INVALID_ARGUMENT);
    dense = BNMLP_DENSE_DEFAULT(3);
    dense.kernel_initializer = (bnmlp_initializer)99;
    assert_status(bnmlp_model_add_dense(model, &dense), BNMLP_ERR_INVALID_ARGUMENT);
    dense.kernel_initializer = (bnmlp_initializer)(BNMLP_INIT_ZEROS + 1);
    assert_status(bnmlp_model_add_dense(model, &dense), BNMLP_ERR_INVALID_ARGUMENT);
    assert_unchanged(model, &s);
    snapshot_free(&s);
}

/* leaky_relu's alpha must be finite; other activations ignore it. */
static void test_add_leaky_alpha_not_finite(void **state) {
    bnmlp_model *model = *state;
    snapshot s;
    snapshot_take(model, &s);
    const float bad[] = {NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bnmlp_dense_config dense = BNMLP_DENSE_DEFAULT(3);
        dense.activation = BNMLP_ACTIVATION_LEAKY_RELU;
        dense.activation_alpha = bad[i];
        assert_status(bnmlp_model_add_dense(model, &dense), BNMLP_ERR_INVALID_ARGUMENT);
        assert_status(bnmlp_model_add_activation(model, BNMLP_ACTIVATION_LEAKY_RELU, bad[i]),
                      BNMLP_ERR_INVALID_ARGUMENT);
    }
    assert_unchanged(model, &s);
    snapshot_free(&s);
    /* "ignored otherwise": a relu with any finite alpha is a valid layer. (Whether a NaN alpha
     * is also ignored for non-leaky activations is not settled by the header; not tested.) */
    size_t layers = bnmlp_model_layer_count(model);
    assert_ok(bnmlp_model_add_activation(model, BNMLP_ACTIVATION_RELU, -5.0f));
    assert_int_equal(bnmlp_model_layer_count(model), layers + 1);
    assert_ok(bnmlp_model_add_activation(model, BNMLP_ACTIVATION_LEAKY_RELU, 0.2f));
    assert_int_equal(bnmlp_model_layer_count(model), layers + 2);
}

static void test_add_activation_bad_enum(void **state) {
    bnmlp_model *model = *state;
    snapshot s;
    snapshot_take(model, &s);
    assert_status(bnmlp_model_add_activation(model, (bnmlp_activation)99, 0.0f), BNMLP_ERR_INVALID_ARGUMENT);
    assert_status(bnmlp_model_add_activation(model, (bnmlp_activation)-1, 0.0f), BNMLP_ERR_INVALID_ARGUMENT);
    assert_status(bnmlp_model_add_activation(model, (bnmlp_activation)(BNMLP_ACTIVATION_SILU + 1), 0.0f),
                  BNMLP_ERR_INVALID_ARGUMENT);
    assert_unchanged(model, &s);
    snapshot_free(&s);
}

/* Batch-norm momentum in [0, 1]: the ends are accepted, everything else is not. */
static void test_add_batchnorm_momentum(void **state) {
    bnmlp_model *model = *state;
    snapshot s;
    snapshot_take(model, &s);
    const float bad[] = {-0.1f, -0.0001f, 1.0001f, 1.5f, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
        bn.momentum = bad[i];
        assert_status(bnmlp_model_add_batchnorm(model, &bn), BNMLP_ERR_INVALID_ARGUMENT);
    }
    assert_unchanged(model, &s);
    snapshot_free(&s);
    size_t layers = bnmlp_model_layer_count(model);
    bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
    bn.momentum = 0.0f;
    assert_ok(bnmlp_model_add_batchnorm(model, &bn));
    bn.momentum = 1.0f;
    assert_ok(bnmlp_model_add_batchnorm(model, &bn));
    assert_int_equal(bnmlp_model_layer_count(model), layers + 2);
}

/* Batch-norm epsilon > 0 (and a number). */
static void test_add_batchnorm_epsilon(void **state) {
    bnmlp_model *model = *state;
    snapshot s;
    snapshot_take(model, &s);
    const float bad[] = {0.0f, -0.0f, -1e-3f, NAN, -INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
        bn.epsilon = bad[i];
        assert_status(bnmlp_model_add_batchnorm(model, &bn), BNMLP_ERR_INVALID_ARGUMENT);
    }
    assert_unchanged(model, &s);
    snapshot_free(&s);
    bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
    bn.epsilon = 1e-5f; /* PyTorch's */
    assert_ok(bnmlp_model_add_batchnorm(model, &bn));
}

static void test_add_batchnorm_bad_estimator(void **state) {
    bnmlp_model *model = *state;
    snapshot s;
    snapshot_take(model, &s);
    bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
    bn.moving_variance_estimator = (bnmlp_variance_estimator)99;
    assert_status(bnmlp_model_add_batchnorm(model, &bn), BNMLP_ERR_INVALID_ARGUMENT);
    bn.moving_variance_estimator = (bnmlp_variance_estimator)(BNMLP_VARIANCE_KERAS2 + 1);
    assert_status(bnmlp_model_add_batchnorm(model, &bn), BNMLP_ERR_INVALID_ARGUMENT);
    bn.moving_variance_estimator = (bnmlp_variance_estimator)-1;
    assert_status(bnmlp_model_add_batchnorm(model, &bn), BNMLP_ERR_INVALID_ARGUMENT);
    assert_unchanged(model, &s);
    snapshot_free(&s);
}

static void test_add_after_build(void **state) {
    bnmlp_model *model = *state; /* built */
    snapshot s;
    snapshot_take(model, &s);
    bnmlp_dense_config dense = BNMLP_DENSE_DEFAULT(3);
    bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
    assert_status(bnmlp_model_add_dense(model, &dense), BNMLP_ERR_ALREADY_BUILT);
    dense.activation = BNMLP_ACTIVATION_TANH;
    assert_status(bnmlp_model_add_dense(model, &dense), BNMLP_ERR_ALREADY_BUILT);
    assert_status(bnmlp_model_add_batchnorm(model, &bn), BNMLP_ERR_ALREADY_BUILT);
    assert_status(bnmlp_model_add_activation(model, BNMLP_ACTIVATION_TANH, 0.0f), BNMLP_ERR_ALREADY_BUILT);
    assert_unchanged(model, &s);
    snapshot_free(&s);
}

/* ------------------------------------------------------------------------------------------ */
/* build                                                                                      */
/* ------------------------------------------------------------------------------------------ */

static void test_build_null(void **state) {
    (void)state;
    assert_status(bnmlp_model_build(NULL, MAXB, SEED), BNMLP_ERR_NULL_ARGUMENT);
}

/* max_batch 0 is refused and leaves the model buildable. */
static void test_build_max_batch_zero(void **state) {
    bnmlp_model *model = *state; /* unbuilt */
    snapshot s;
    snapshot_take(model, &s);
    assert_status(bnmlp_model_build(model, 0, SEED), BNMLP_ERR_INVALID_ARGUMENT);
    assert_unchanged(model, &s);
    snapshot_free(&s);
    assert_ok(bnmlp_model_build(model, MAXB, SEED));
    bnmlp_model *twin = make_model();
    assert_same_state(model, twin);
    bnmlp_model_free(twin);
}

static void test_build_empty_model(void **state) {
    (void)state;
    bnmlp_model *model = bnmlp_model_create(IN, NULL);
    assert_non_null(model);
    assert_status(bnmlp_model_build(model, MAXB, SEED), BNMLP_ERR_EMPTY_MODEL);
    assert_false(bnmlp_model_is_built(model));
    assert_int_equal(bnmlp_model_max_batch(model), 0);
    /* The model is still usable: adding a layer then building works. */
    bnmlp_dense_config dense = BNMLP_DENSE_DEFAULT(1);
    assert_ok(bnmlp_model_add_dense(model, &dense));
    assert_ok(bnmlp_model_build(model, MAXB, SEED));
    bnmlp_model_free(model);
}

/* A second build (even with another size and seed) fails and changes nothing. */
static void test_build_twice(void **state) {
    bnmlp_model *model = *state; /* built */
    snapshot s;
    snapshot_take(model, &s);
    assert_status(bnmlp_model_build(model, MAXB, SEED), BNMLP_ERR_ALREADY_BUILT);
    assert_status(bnmlp_model_build(model, 2 * MAXB, SEED + 1), BNMLP_ERR_ALREADY_BUILT);
    assert_unchanged(model, &s);
    snapshot_free(&s);
}

/* A maximum batch whose buffers cannot be sized: BNMLP_ERR_OVERFLOW, and the model can still be
 * built afterwards with the same result as a fresh one (the random state was not consumed). */
static void test_build_overflow(void **state) {
    bnmlp_model *model = *state; /* unbuilt */
    snapshot s;
    snapshot_take(model, &s);
    assert_status(bnmlp_model_build(model, SIZE_MAX, SEED), BNMLP_ERR_OVERFLOW);
    assert_status(bnmlp_model_build(model, SIZE_MAX / 2, SEED), BNMLP_ERR_OVERFLOW);
    assert_unchanged(model, &s);
    snapshot_free(&s);
    assert_ok(bnmlp_model_build(model, MAXB, SEED));
    bnmlp_model *twin = make_model();
    assert_same_state(model, twin);
    bnmlp_model_free(twin);
}

/* A maximum batch for which every single buffer row count fits, but the block holding all the
 * layers' outputs (max_batch x 14 floats here: widths 4 + 4 + 4 + 1 + 1) does not fit size_t
 * in bytes: still a size computation that overflows, so BNMLP_ERR_OVERFLOW, not OUT_OF_MEMORY. */
static void test_build_overflow_in_output_block(void **state) {
    bnmlp_model *model = *state;            /* unbuilt */
    const size_t max_batch = SIZE_MAX / 16; /* x 4 floats x 4 bytes fits; x 14 floats x 4 bytes does not */
    snapshot s;
    snapshot_take(model, &s);
    assert_status(bnmlp_model_build(model, max_batch, SEED), BNMLP_ERR_OVERFLOW);
    assert_unchanged(model, &s);
    snapshot_free(&s);
    assert_ok(bnmlp_model_build(model, MAXB, SEED));
}

/* Fails the k-th allocation for k = 1, 2, ... until creating, adding and building all succeed
 * without a failure. Every failing call returns BNMLP_ERR_OUT_OF_MEMORY and changes nothing: a
 * retry (the allocator fails only once) succeeds and yields the same model as a fresh build.
 * Nothing leaks. */
static void test_build_allocation_failures(void **state) {
    (void)state;
    bnmlp_model *reference = make_model();
    size_t failures_in_create = 0, failures_in_add = 0, failures_in_build = 0;
    bool clean_run = false;
    for (size_t k = 1; k <= 1000 && !clean_run; k++) {
        counting_allocator counter = {.fail_at = k};
        bnmlp_allocator allocator = counting_allocator_of(&counter);
        bnmlp_status status = STATUS_SENTINEL;
        bnmlp_model *model = bnmlp_model_create_with_allocator(IN, &allocator, &status);
        if (!model) {
            assert_status(status, BNMLP_ERR_OUT_OF_MEMORY);
            assert_int_equal(counter.allocations, counter.releases);
            failures_in_create++;
            continue;
        }
        assert_ok(status);

        bnmlp_dense_config hidden = BNMLP_DENSE_DEFAULT(4);
        hidden.activation = BNMLP_ACTIVATION_RELU;
        bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
        bnmlp_dense_config head = BNMLP_DENSE_DEFAULT(1);
        head.activation = BNMLP_ACTIVATION_SIGMOID;
        for (int step = 0; step < 3; step++) {
            size_t layers = bnmlp_model_layer_count(model);
            size_t width = bnmlp_model_output_width(model);
            bnmlp_status got = step == 0   ? bnmlp_model_add_dense(model, &hidden)
                               : step == 1 ? bnmlp_model_add_batchnorm(model, &bn)
                                           : bnmlp_model_add_dense(model, &head);
            if (got == BNMLP_OK) continue;
            assert_status(got, BNMLP_ERR_OUT_OF_MEMORY);
            assert_int_equal(bnmlp_model_layer_count(model), layers);
            assert_int_equal(bnmlp_model_output_width(model), width);
            failures_in_add++;
            step--; /* retry: the allocator fails only once */
        }

        bnmlp_status got = bnmlp_model_build(model, MAXB, SEED);
        if (got != BNMLP_OK) {
            assert_status(got, BNMLP_ERR_OUT_OF_MEMORY);
            assert_false(bnmlp_model_is_built(model));
            assert_int_equal(bnmlp_model_max_batch(model), 0);
            assert_int_equal(bnmlp_model_layer_count(model), 5);
            failures_in_build++;
            assert_ok(bnmlp_model_build(model, MAXB, SEED));
        }
        assert_same_state(model, reference);
        clean_run = counter.calls < k; /* the k-th allocation was never reached */
        bnmlp_model_free(model);
        assert_int_equal(counter.allocations, counter.releases);
    }
    assert_true(clean_run);
    /* The model struct itself and the build's buffers come from the allocator. */
    assert_true(failures_in_create >= 1);
    assert_true(failures_in_build >= 1);
    (void)failures_in_add;
    bnmlp_model_free(reference);
}

/* ------------------------------------------------------------------------------------------ */
/* Calls that need a built model                                                              */
/* ------------------------------------------------------------------------------------------ */

static bool stop_immediately(const bnmlp_epoch_record *record, void *context) {
    (void)record;
    (void)context;
    return false;
}

static void test_not_built(void **state) {
    bnmlp_model *model = *state; /* unbuilt */
    snapshot s;
    snapshot_take(model, &s);
    batch b;
    batch_init(&b, MAXB);
    float out[MAXB], gradients[N_PARAMS];
    fill_floats(out, MAXB);
    fill_floats(gradients, N_PARAMS);
    bnmlp_tensor tout = bnmlp_tensor_view(out, MAXB, 1);
    bnmlp_sgd_config sgd = BNMLP_SGD_DEFAULT;
    float loss = FLOAT_SENTINEL, accuracy = FLOAT_SENTINEL;
    double dloss = DOUBLE_SENTINEL, daccuracy = DOUBLE_SENTINEL;
    size_t epochs_run = SIZE_SENTINEL;
    bnmlp_epoch_record history[1];
    fill_history(history, 1);
    bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
    fit.batch_size = MAXB;
    fit.on_epoch_end = stop_immediately;

    assert_status(bnmlp_model_forward(model, &b.tx, BNMLP_MODE_INFERENCE, &tout), BNMLP_ERR_NOT_BUILT);
    assert_status(bnmlp_model_forward(model, &b.tx, BNMLP_MODE_TRAINING, &tout), BNMLP_ERR_NOT_BUILT);
    assert_status(bnmlp_model_train_step(model, &b.tx, &b.ty, SGD_CONFIG(&sgd), &loss, &accuracy),
                  BNMLP_ERR_NOT_BUILT);
    assert_status(bnmlp_model_loss_gradients(model, &b.tx, &b.ty, &loss, gradients, N_PARAMS),
                  BNMLP_ERR_NOT_BUILT);
    assert_status(bnmlp_model_evaluate(model, &b.tx, &b.ty, &dloss, &daccuracy), BNMLP_ERR_NOT_BUILT);
    assert_status(bnmlp_model_predict(model, &b.tx, &tout), BNMLP_ERR_NOT_BUILT);
    assert_status(bnmlp_model_fit(model, &b.tx, &b.ty, &fit, history, &epochs_run), BNMLP_ERR_NOT_BUILT);
    assert_status(bnmlp_model_reset_optimizer(model), BNMLP_ERR_NOT_BUILT);
    assert_status(bnmlp_model_get_params(model, gradients, bnmlp_model_param_count(model)),
                  BNMLP_ERR_NOT_BUILT);
    assert_status(bnmlp_model_set_params(model, out, bnmlp_model_param_count(model)), BNMLP_ERR_NOT_BUILT);
    assert_status(bnmlp_model_get_weights(model, LAYER_BN, BNMLP_WEIGHT_MOVING_MEAN, gradients, 4),
                  BNMLP_ERR_NOT_BUILT);
    assert_status(bnmlp_model_set_weights(model, LAYER_BN, BNMLP_WEIGHT_BETA, out, 4), BNMLP_ERR_NOT_BUILT);

    assert_floats_sentinel(out, MAXB);
    assert_floats_sentinel(gradients, N_PARAMS);
    assert_floats_sentinel(&loss, 1);
    assert_floats_sentinel(&accuracy, 1);
    assert_double_sentinel(dloss);
    assert_double_sentinel(daccuracy);
    assert_int_equal(epochs_run, SIZE_SENTINEL);
    assert_history_sentinel(history, 1);
    assert_unchanged(model, &s);
    snapshot_free(&s);
}

/* ------------------------------------------------------------------------------------------ */
/* forward                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* Runs forward in both modes, expecting `expected` and no change to the model or to out. */
static void expect_forward_fails(bnmlp_model *model, const bnmlp_tensor *x, bnmlp_tensor *out,
                                 bnmlp_status expected) {
    snapshot s;
    snapshot_take(model, &s);
    const bnmlp_mode modes[] = {BNMLP_MODE_INFERENCE, BNMLP_MODE_TRAINING};
    for (size_t m = 0; m < 2; m++) {
        if (out && out->data) fill_floats(out->data, out->rows * out->cols);
        assert_status(bnmlp_model_forward(model, x, modes[m], out), expected);
        if (out && out->data) assert_floats_sentinel(out->data, out->rows * out->cols);
    }
    assert_unchanged(model, &s);
    snapshot_free(&s);
}

static void test_forward_null_arguments(void **state) {
    bnmlp_model *model = *state;
    batch b;
    batch_init(&b, MAXB);
    float out[MAXB];
    bnmlp_tensor tout = bnmlp_tensor_view(out, MAXB, 1);
    expect_forward_fails(model, NULL, &tout, BNMLP_ERR_NULL_ARGUMENT);
    expect_forward_fails(model, &b.tx, NULL, BNMLP_ERR_NULL_ARGUMENT);
    bnmlp_tensor no_data = bnmlp_tensor_view(NULL, MAXB, IN);
    expect_forward_fails(model, &no_data, &tout, BNMLP_ERR_NULL_ARGUMENT);
    bnmlp_tensor no_out = bnmlp_tensor_view(NULL, MAXB, 1);
    expect_forward_fails(model, &b.tx, &no_out, BNMLP_ERR_NULL_ARGUMENT);
    fill_floats(out, MAXB);
    assert_status(bnmlp_model_forward(NULL, &b.tx, BNMLP_MODE_INFERENCE, &tout), BNMLP_ERR_NULL_ARGUMENT);
    assert_floats_sentinel(out, MAXB);
}

static void test_forward_x_shape(void **state) {
    bnmlp_model *model = *state;
    float x[MAXB * 3] = {0};
    float out[MAXB];
    bnmlp_tensor tout = bnmlp_tensor_view(out, MAXB, 1);
    bnmlp_tensor three_cols = bnmlp_tensor_view(x, MAXB, 3);
    expect_forward_fails(model, &three_cols, &tout, BNMLP_ERR_SHAPE);
    bnmlp_tensor one_col = bnmlp_tensor_view(x, MAXB, 1);
    expect_forward_fails(model, &one_col, &tout, BNMLP_ERR_SHAPE);
    bnmlp_tensor no_rows = bnmlp_tensor_view(x, 0, IN);
    bnmlp_tensor out_no_rows = bnmlp_tensor_view(out, 0, 1);
    expect_forward_fails(model, &no_rows, &out_no_rows, BNMLP_ERR_SHAPE);
}

static void test_forward_out_shape(void **state) {
    bnmlp_model *model = *state;
    batch b;
    batch_init(&b, 4);
    float out[2 * MAXB];
    bnmlp_tensor rows_short = bnmlp_tensor_view(out, 3, 1);
    expect_forward_fails(model, &b.tx, &rows_short, BNMLP_ERR_SHAPE);
    bnmlp_tensor rows_long = bnmlp_tensor_view(out, 5, 1);
    expect_forward_fails(model, &b.tx, &rows_long, BNMLP_ERR_SHAPE);
    bnmlp_tensor two_cols = bnmlp_tensor_view(out, 4, 2);
    expect_forward_fails(model, &b.tx, &two_cols, BNMLP_ERR_SHAPE);
}

static void test_forward_batch_too_large(void **state) {
    bnmlp_model *model = *state;
    batch b;
    batch_init(&b, MAXB + 1);
    float out[MAXB + 1];
    bnmlp_tensor tout = bnmlp_tensor_view(out, MAXB + 1, 1);
    expect_forward_fails(model, &b.tx, &tout, BNMLP_ERR_BATCH_TOO_LARGE);
}

static void test_forward_not_finite(void **state) {
    bnmlp_model *model = *state;
    const float bad[] = {NAN, INFINITY, -INFINITY};
    const size_t where[] = {0, 5, MAXB * IN - 1};
    float out[MAXB];
    bnmlp_tensor tout = bnmlp_tensor_view(out, MAXB, 1);
    for (size_t i = 0; i < 3; i++) {
        for (size_t j = 0; j < 3; j++) {
            batch b;
            batch_init(&b, MAXB);
            b.x[where[j]] = bad[i];
            expect_forward_fails(model, &b.tx, &tout, BNMLP_ERR_NOT_FINITE);
        }
    }
}

/* Training-mode forward of one row through batch norm: BATCH_TOO_SMALL, moving statistics kept. */
static void test_forward_training_one_row(void **state) {
    bnmlp_model *model = *state;
    batch b;
    batch_init(&b, 1);
    float out[1];
    bnmlp_tensor tout = bnmlp_tensor_view(out, 1, 1);
    snapshot s;
    snapshot_take(model, &s);
    fill_floats(out, 1);
    assert_status(bnmlp_model_forward(model, &b.tx, BNMLP_MODE_TRAINING, &tout), BNMLP_ERR_BATCH_TOO_SMALL);
    assert_floats_sentinel(out, 1);
    assert_unchanged(model, &s);
    snapshot_free(&s);
}

/* Inference with one row is fine and changes nothing; training mode changes the moving
 * statistics (so the snapshot comparison used everywhere here can see such a change). */
static void test_forward_modes(void **state) {
    bnmlp_model *model = *state;
    batch b;
    batch_init(&b, MAXB);
    float out[MAXB];
    snapshot s;
    snapshot_take(model, &s);
    bnmlp_tensor one = bnmlp_tensor_view(b.x, 1, IN);
    bnmlp_tensor tout1 = bnmlp_tensor_view(out, 1, 1);
    fill_floats(out, 1);
    assert_ok(bnmlp_model_forward(model, &one, BNMLP_MODE_INFERENCE, &tout1));
    assert_true(out[0] > 0.0f && out[0] < 1.0f);
    bnmlp_tensor tout = bnmlp_tensor_view(out, MAXB, 1);
    assert_ok(bnmlp_model_forward(model, &b.tx, BNMLP_MODE_INFERENCE, &tout));
    assert_unchanged(model, &s);

    assert_ok(bnmlp_model_forward(model, &b.tx, BNMLP_MODE_TRAINING, &tout));
    snapshot after;
    snapshot_take(model, &after);
    assert_memory_equal(after.params, s.params, N_PARAMS * sizeof(float)); /* forward trains nothing */
    assert_memory_not_equal(after.moving, s.moving, s.n_moving * sizeof(float));
    snapshot_free(&after);
    snapshot_free(&s);
}

static void test_forward_bad_mode(void **state) {
    bnmlp_model *model = *state;
    batch b;
    batch_init(&b, MAXB);
    float out[MAXB];
    bnmlp_tensor tout = bnmlp_tensor_view(out, MAXB, 1);
    snapshot s;
    snapshot_take(model, &s);
    const int modes[] = {2, 99, -1};
    for (size_t i = 0; i < 3; i++) {
        fill_floats(out, MAXB);
        assert_status(bnmlp_model_forward(model, &b.tx, (bnmlp_mode)modes[i], &tout),
                      BNMLP_ERR_INVALID_ARGUMENT);
        assert_floats_sentinel(out, MAXB);
    }
    assert_unchanged(model, &s);
    snapshot_free(&s);
}

/* A frozen batch-norm layer uses its moving statistics, so a one-row training forward works and
 * still updates nothing. */
static void test_forward_frozen_batchnorm_one_row(void **state) {
    bnmlp_model *model = *state;
    assert_ok(bnmlp_model_set_trainable(model, LAYER_BN, false));
    batch b;
    batch_init(&b, 1);
    float out[1];
    bnmlp_tensor tout = bnmlp_tensor_view(out, 1, 1);
    snapshot s;
    snapshot_take(model, &s);
    assert_ok(bnmlp_model_forward(model, &b.tx, BNMLP_MODE_TRAINING, &tout));
    assert_true(out[0] > 0.0f && out[0] < 1.0f);
    assert_unchanged(model, &s);
    snapshot_free(&s);
}

/* ------------------------------------------------------------------------------------------ */
/* train_step                                                                                 */
/* ------------------------------------------------------------------------------------------ */

/* Runs train_step, expecting `expected` and no change to the model or to the metric outputs.
 * (test_train_step_failure_keeps_optimizer_state covers the hidden velocities.) */
static void expect_train_step_fails(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                    const bnmlp_sgd_config *sgd, bnmlp_status expected) {
    snapshot s;
    snapshot_take(model, &s);
    float loss = FLOAT_SENTINEL, accuracy = FLOAT_SENTINEL;
    assert_status(bnmlp_model_train_step(model, x, y, sgd ? SGD_CONFIG(sgd) : NULL, &loss, &accuracy),
                  expected);
    assert_floats_sentinel(&loss, 1);
    assert_floats_sentinel(&accuracy, 1);
    assert_unchanged(model, &s);
    snapshot_free(&s);
}

static void test_train_step_bad_labels(void **state) {
    bnmlp_model *model = *state;
    bnmlp_sgd_config sgd = BNMLP_SGD_DEFAULT;
    const float bad[] = {0.5f, -1.0f, 2.0f, 1e-30f, 0.99999994f, 3.0f};
    const size_t where[] = {0, 3, MAXB - 1};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (size_t j = 0; j < 3; j++) {
            batch b;
            batch_init(&b, MAXB);
            b.y[where[j]] = bad[i];
            expect_train_step_fails(model, &b.tx, &b.ty, &sgd, BNMLP_ERR_LABEL);
        }
    }
}

static void test_train_step_labels_not_finite(void **state) {
    bnmlp_model *model = *state;
    bnmlp_sgd_config sgd = BNMLP_SGD_DEFAULT;
    const float bad[] = {NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < 3; i++) {
        batch b;
        batch_init(&b, MAXB);
        b.y[MAXB - 1] = bad[i];
        expect_train_step_fails(model, &b.tx, &b.ty, &sgd, BNMLP_ERR_NOT_FINITE);
    }
}

static void test_train_step_x_not_finite(void **state) {
    bnmlp_model *model = *state;
    bnmlp_sgd_config sgd = BNMLP_SGD_DEFAULT;
    batch b;
    batch_init(&b, MAXB);
    b.x[MAXB * IN - 1] = NAN;
    expect_train_step_fails(model, &b.tx, &b.ty, &sgd, BNMLP_ERR_NOT_FINITE);
    b.x[MAXB * IN - 1] = INFINITY;
    expect_train_step_fails(model, &b.tx, &b.ty, &sgd, BNMLP_ERR_NOT_FINITE);
}

static void test_train_step_shapes(void **state) {
    bnmlp_model *model = *state;
    bnmlp_sgd_config sgd = BNMLP_SGD_DEFAULT;
    batch b;
    batch_init(&b, MAXB);
    bnmlp_tensor y_short = bnmlp_tensor_view(b.y, MAXB - 1, 1);
    expect_train_step_fails(model, &b.tx, &y_short, &sgd, BNMLP_ERR_SHAPE);
    bnmlp_tensor y_wide = bnmlp_tensor_view(b.y, MAXB / 2, 2);
    bnmlp_tensor x_half = bnmlp_tensor_view(b.x, MAXB / 2, IN);
    expect_train_step_fails(model, &x_half, &y_wide, &sgd, BNMLP_ERR_SHAPE);
    bnmlp_tensor x_wide = bnmlp_tensor_view(b.x, MAXB / 2, IN + 1);
    bnmlp_tensor y_half = bnmlp_tensor_view(b.y, MAXB / 2, 1);
    expect_train_step_fails(model, &x_wide, &y_half, &sgd, BNMLP_ERR_SHAPE);
    batch big;
    batch_init(&big, MAXB + 1);
    expect_train_step_fails(model, &big.tx, &big.ty, &sgd, BNMLP_ERR_BATCH_TOO_LARGE);
}

static void test_train_step_null_arguments(void **state) {
    bnmlp_model *model = *state;
    bnmlp_sgd_config sgd = BNMLP_SGD_DEFAULT;
    batch b;
    batch_init(&b, MAXB);
    expect_train_step_fails(model, NULL, &b.ty, &sgd, BNMLP_ERR_NULL_ARGUMENT);
    expect_train_step_fails(model, &b.tx, NULL, &sgd, BNMLP_ERR_NULL_ARGUMENT);
    expect_train_step_fails(model, &b.tx, &b.ty, NULL, BNMLP_ERR_NULL_ARGUMENT);
    bnmlp_tensor no_y = bnmlp_tensor_view(NULL, MAXB, 1);
    expect_train_step_fails(model, &b.tx, &no_y, &sgd, BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_model_train_step(NULL, &b.tx, &b.ty, SGD_CONFIG(&sgd), NULL, NULL),
                  BNMLP_ERR_NULL_ARGUMENT);
    /* loss and accuracy may be NULL. */
    snapshot s;
    snapshot_take(model, &s);
    assert_ok(bnmlp_model_train_step(model, &b.tx, &b.ty, SGD_CONFIG(&sgd), NULL, NULL));
    snapshot after;
    snapshot_take(model, &after);
    assert_memory_not_equal(after.params, s.params, N_PARAMS * sizeof(float));
    snapshot_free(&after);
    snapshot_free(&s);
}

static void test_train_step_learning_rate(void **state) {
    bnmlp_model *model = *state;
    batch b;
    batch_init(&b, MAXB);
    const float bad[] = {0.0f, -0.0f, -0.01f, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bnmlp_sgd_config sgd = BNMLP_SGD_DEFAULT;
        sgd.learning_rate = bad[i];
        expect_train_step_fails(model, &b.tx, &b.ty, &sgd, BNMLP_ERR_INVALID_ARGUMENT);
    }
}

static void test_train_step_momentum_range(void **state) {
    bnmlp_model *model = *state;
    batch b;
    batch_init(&b, MAXB);
    const float bad[] = {-0.1f, 1.5f, 1.0001f, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bnmlp_sgd_config sgd = BNMLP_SGD_DEFAULT;
        sgd.momentum = bad[i];
        expect_train_step_fails(model, &b.tx, &b.ty, &sgd, BNMLP_ERR_INVALID_ARGUMENT);
        sgd.nesterov = true;
        expect_train_step_fails(model, &b.tx, &b.ty, &sgd, BNMLP_ERR_INVALID_ARGUMENT);
    }
    /* The ends of [0, 1] are accepted, and each step moves the parameters. */
    const float good[] = {0.0f, 1.0f};
    for (size_t i = 0; i < 2; i++) {
        for (int nesterov = 0; nesterov < 2; nesterov++) {
            bnmlp_sgd_config sgd = BNMLP_SGD_DEFAULT;
            sgd.momentum = good[i];
            sgd.nesterov = nesterov != 0;
            snapshot s;
            snapshot_take(model, &s);
            float loss = FLOAT_SENTINEL, accuracy = FLOAT_SENTINEL;
            assert_ok(bnmlp_model_train_step(model, &b.tx, &b.ty, SGD_CONFIG(&sgd), &loss, &accuracy));
            assert_true(isfinite(loss) && loss > 0.0f);
            assert_true(accuracy >= 0.0f && accuracy <= 1.0f);
            snapshot after;
            snapshot_take(model, &after);
            assert_memory_not_equal(after.params, s.params, N_PARAMS * sizeof(float));
            snapshot_free(&after);
            snapshot_free(&s);
        }
    }
}

/* A failed step leaves the velocities alone: after momentum steps interleaved with failing
 * ones, the model matches a twin that ran only the good steps. */
static void test_train_step_failure_keeps_optimizer_state(void **state) {
    bnmlp_model *model = *state;
    bnmlp_model *twin = make_model();
    bnmlp_sgd_config sgd = BNMLP_SGD_DEFAULT;
    sgd.momentum = 0.9f;
    batch b;
    batch_init(&b, MAXB);
    batch bad_label;
    batch_init(&bad_label, MAXB);
    bad_label.y[MAXB - 1] = 0.5f;
    batch bad_x;
    batch_init(&bad_x, MAXB);
    bad_x.x[MAXB * IN - 1] = NAN;
    bnmlp_sgd_config bad_sgd = sgd;
    bad_sgd.learning_rate = -1.0f;
    for (int step = 0; step < 3; step++) {
        assert_ok(bnmlp_model_train_step(model, &b.tx, &b.ty, SGD_CONFIG(&sgd), NULL, NULL));
        assert_ok(bnmlp_model_train_step(twin, &b.tx, &b.ty, SGD_CONFIG(&sgd), NULL, NULL));
        assert_status(
            bnmlp_model_train_step(model, &bad_label.tx, &bad_label.ty, SGD_CONFIG(&sgd), NULL, NULL),
            BNMLP_ERR_LABEL);
        assert_status(bnmlp_model_train_step(model, &bad_x.tx, &bad_x.ty, SGD_CONFIG(&sgd), NULL, NULL),
                      BNMLP_ERR_NOT_FINITE);
        assert_status(bnmlp_model_train_step(model, &b.tx, &b.ty, SGD_CONFIG(&bad_sgd), NULL, NULL),
                      BNMLP_ERR_INVALID_ARGUMENT);
        bnmlp_tensor one_x = bnmlp_tensor_view(b.x, 1, IN);
        bnmlp_tensor one_y = bnmlp_tensor_view(b.y, 1, 1);
        assert_status(bnmlp_model_train_step(model, &one_x, &one_y, SGD_CONFIG(&sgd), NULL, NULL),
                      BNMLP_ERR_BATCH_TOO_SMALL);
    }
    assert_same_state(model, twin);
    bnmlp_model_free(twin);
}

static void test_train_step_one_row_batchnorm(void **state) {
    bnmlp_model *model = *state;
    bnmlp_sgd_config sgd = BNMLP_SGD_DEFAULT;
    batch b;
    batch_init(&b, 1);
    expect_train_step_fails(model, &b.tx, &b.ty, &sgd, BNMLP_ERR_BATCH_TOO_SMALL);
    /* Without batch norm a single row trains. */
    bnmlp_model *plain = make_model_with(SEED, false, MAXB, NULL);
    snapshot s;
    snapshot_take(plain, &s);
    assert_ok(bnmlp_model_train_step(plain, &b.tx, &b.ty, SGD_CONFIG(&sgd), NULL, NULL));
    snapshot after;
    snapshot_take(plain, &after);
    assert_memory_not_equal(after.params, s.params, s.param_count * sizeof(float));
    snapshot_free(&after);
    snapshot_free(&s);
    bnmlp_model_free(plain);
}

/* ------------------------------------------------------------------------------------------ */
/* Divergence                                                                                 */
/* ------------------------------------------------------------------------------------------ */

/* Sets the first kernel to 3e38 everywhere: with positive inputs x W overflows to +inf and the
 * loss becomes NaN or infinite. Returns the original kernel in saved (IN * 4 floats). */
static void poison_first_kernel(bnmlp_model *model, float *saved) {
    assert_ok(bnmlp_model_get_weights(model, LAYER_DENSE0, BNMLP_WEIGHT_KERNEL, saved, IN * 4));
    float huge[IN * 4];
    for (size_t i = 0; i < IN * 4; i++) huge[i] = 3e38f;
    assert_ok(bnmlp_model_set_weights(model, LAYER_DENSE0, BNMLP_WEIGHT_KERNEL, huge, IN * 4));
}

/* Positive inputs, so that every row overflows. */
static void positive_batch(batch *b, size_t rows) {
    batch_init(b, rows);
    for (size_t i = 0; i < rows * IN; i++) b->x[i] = 1.0f + fabsf(b->x[i]);
}

static void test_train_step_diverged(void **state) {
    bnmlp_model *model = *state;
    bnmlp_model *twin = make_model();
    bnmlp_sgd_config sgd = BNMLP_SGD_DEFAULT;
    sgd.momentum = 0.9f;
    batch good;
    batch_init(&good, MAXB);
    /* Give both models a non-zero velocity and moved moving statistics. */
    assert_ok(bnmlp_model_train_step(model, &good.tx, &good.ty, SGD_CONFIG(&sgd), NULL, NULL));
    assert_ok(bnmlp_model_train_step(twin, &good.tx, &good.ty, SGD_CONFIG(&sgd), NULL, NULL));

    float saved[IN * 4];
    poison_first_kernel(model, saved);
    batch b;
    positive_batch(&b, MAXB);
    /* The forward really overflows. */
    float out[MAXB];
    bnmlp_tensor tout = bnmlp_tensor_view(out, MAXB, 1);
    bnmlp_status forward_status = bnmlp_model_forward(model, &b.tx, BNMLP_MODE_INFERENCE, &tout);
    assert_true(forward_status == BNMLP_OK || forward_status == BNMLP_ERR_DIVERGED);
    expect_train_step_fails(model, &b.tx, &b.ty, &sgd, BNMLP_ERR_DIVERGED);
    sgd.nesterov = true;
    expect_train_step_fails(model, &b.tx, &b.ty, &sgd, BNMLP_ERR_DIVERGED);
    sgd.nesterov = false;

    /* Restore the kernel: the velocities must be those of the twin, so the next step matches. */
    assert_ok(bnmlp_model_set_weights(model, LAYER_DENSE0, BNMLP_WEIGHT_KERNEL, saved, IN * 4));
    assert_same_state(model, twin);
    assert_ok(bnmlp_model_train_step(model, &good.tx, &good.ty, SGD_CONFIG(&sgd), NULL, NULL));
    assert_ok(bnmlp_model_train_step(twin, &good.tx, &good.ty, SGD_CONFIG(&sgd), NULL, NULL));
    assert_same_state(model, twin);
    bnmlp_model_free(twin);
}

static void test_fit_diverged(void **state) {
    bnmlp_model *model = *state;
    float saved[IN * 4];
    poison_first_kernel(model, saved);
    batch b;
    positive_batch(&b, 2 * MAXB);
    snapshot s;
    snapshot_take(model, &s);
    bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
    fit.epochs = 3;
    fit.batch_size = MAXB;
    bnmlp_epoch_record history[3];
    fill_history(history, 3);
    size_t epochs_run = SIZE_SENTINEL;
    assert_status(bnmlp_model_fit(model, &b.tx, &b.ty, &fit, history, &epochs_run), BNMLP_ERR_DIVERGED);
    assert_int_equal(epochs_run, 0);
    assert_history_sentinel(history, 3);
    assert_unchanged(model, &s);
    snapshot_free(&s);
}

/* ------------------------------------------------------------------------------------------ */
/* loss_gradients                                                                             */
/* ------------------------------------------------------------------------------------------ */

static void expect_loss_gradients_fails(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                        size_t count, bnmlp_status expected) {
    snapshot s;
    snapshot_take(model, &s);
    float loss = FLOAT_SENTINEL;
    float gradients[N_PARAMS + 1];
    fill_floats(gradients, N_PARAMS + 1);
    assert_status(bnmlp_model_loss_gradients(model, x, y, &loss, gradients, count), expected);
    assert_floats_sentinel(&loss, 1);
    assert_floats_sentinel(gradients, N_PARAMS + 1);
    assert_unchanged(model, &s);
    snapshot_free(&s);
}

static void test_loss_gradients_errors(void **state) {
    bnmlp_model *model = *state;
    batch b;
    batch_init(&b, MAXB);
    expect_loss_gradients_fails(model, &b.tx, &b.ty, N_PARAMS - 1, BNMLP_ERR_SHAPE);
    expect_loss_gradients_fails(model, &b.tx, &b.ty, N_PARAMS + 1, BNMLP_ERR_SHAPE);
    expect_loss_gradients_fails(model, &b.tx, &b.ty, 0, BNMLP_ERR_SHAPE);
    expect_loss_gradients_fails(model, NULL, &b.ty, N_PARAMS, BNMLP_ERR_NULL_ARGUMENT);
    expect_loss_gradients_fails(model, &b.tx, NULL, N_PARAMS, BNMLP_ERR_NULL_ARGUMENT);
    bnmlp_tensor y_short = bnmlp_tensor_view(b.y, MAXB - 1, 1);
    expect_loss_gradients_fails(model, &b.tx, &y_short, N_PARAMS, BNMLP_ERR_SHAPE);
    batch one;
    batch_init(&one, 1);
    expect_loss_gradients_fails(model, &one.tx, &one.ty, N_PARAMS, BNMLP_ERR_BATCH_TOO_SMALL);
    batch big;
    batch_init(&big, MAXB + 1);
    expect_loss_gradients_fails(model, &big.tx, &big.ty, N_PARAMS, BNMLP_ERR_BATCH_TOO_LARGE);
    b.y[2] = 0.25f;
    expect_loss_gradients_fails(model, &b.tx, &b.ty, N_PARAMS, BNMLP_ERR_LABEL);
    b.y[2] = NAN;
    expect_loss_gradients_fails(model, &b.tx, &b.ty, N_PARAMS, BNMLP_ERR_NOT_FINITE);
    b.y[2] = Y8[2];
    b.x[3] = NAN;
    expect_loss_gradients_fails(model, &b.tx, &b.ty, N_PARAMS, BNMLP_ERR_NOT_FINITE);
    float gradients[N_PARAMS];
    assert_status(bnmlp_model_loss_gradients(NULL, &b.tx, &b.ty, NULL, gradients, N_PARAMS),
                  BNMLP_ERR_NULL_ARGUMENT);
}

/* A successful call changes nothing either (moving statistics are not updated), gradients may be
 * NULL with any count, and the loss is the same with or without gradients. */
static void test_loss_gradients_changes_nothing(void **state) {
    bnmlp_model *model = *state;
    batch b;
    batch_init(&b, MAXB);
    snapshot s;
    snapshot_take(model, &s);
    float loss = FLOAT_SENTINEL, loss_alone = FLOAT_SENTINEL;
    float gradients[N_PARAMS];
    fill_floats(gradients, N_PARAMS);
    assert_ok(bnmlp_model_loss_gradients(model, &b.tx, &b.ty, &loss, gradients, N_PARAMS));
    assert_ok(bnmlp_model_loss_gradients(model, &b.tx, &b.ty, &loss_alone, NULL, 12345));
    assert_unchanged(model, &s);
    snapshot_free(&s);
    assert_true(isfinite(loss) && loss > 0.0f);
    assert_memory_equal(&loss, &loss_alone, sizeof loss);
    bool any_nonzero = false;
    for (size_t i = 0; i < N_PARAMS; i++) {
        assert_true(isfinite(gradients[i]));
        if (gradients[i] != 0.0f) any_nonzero = true;
    }
    assert_true(any_nonzero);
}

/* ------------------------------------------------------------------------------------------ */
/* evaluate, predict                                                                          */
/* ------------------------------------------------------------------------------------------ */

static void expect_evaluate_fails(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                  bnmlp_status expected) {
    snapshot s;
    snapshot_take(model, &s);
    double loss = DOUBLE_SENTINEL, accuracy = DOUBLE_SENTINEL;
    assert_status(bnmlp_model_evaluate(model, x, y, &loss, &accuracy), expected);
    assert_double_sentinel(loss);
    assert_double_sentinel(accuracy);
    assert_unchanged(model, &s);
    snapshot_free(&s);
}

static void test_evaluate_errors(void **state) {
    bnmlp_model *model = *state;
    batch b;
    batch_init(&b, 3 * MAXB);
    expect_evaluate_fails(model, NULL, &b.ty, BNMLP_ERR_NULL_ARGUMENT);
    expect_evaluate_fails(model, &b.tx, NULL, BNMLP_ERR_NULL_ARGUMENT);
    bnmlp_tensor y_short = bnmlp_tensor_view(b.y, 3 * MAXB - 1, 1);
    expect_evaluate_fails(model, &b.tx, &y_short, BNMLP_ERR_SHAPE);
    bnmlp_tensor x_wide = bnmlp_tensor_view(b.x, MAXB, IN + 1);
    bnmlp_tensor y8 = bnmlp_tensor_view(b.y, MAXB, 1);
    expect_evaluate_fails(model, &x_wide, &y8, BNMLP_ERR_SHAPE);
    b.y[3 * MAXB - 1] = 2.0f; /* in the last chunk */
    expect_evaluate_fails(model, &b.tx, &b.ty, BNMLP_ERR_LABEL);
    b.y[3 * MAXB - 1] = NAN;
    expect_evaluate_fails(model, &b.tx, &b.ty, BNMLP_ERR_NOT_FINITE);
    b.y[3 * MAXB - 1] = 1.0f;
    b.x[3 * MAXB * IN - 1] = INFINITY;
    expect_evaluate_fails(model, &b.tx, &b.ty, BNMLP_ERR_NOT_FINITE);
    double loss = DOUBLE_SENTINEL;
    assert_status(bnmlp_model_evaluate(NULL, &b.tx, &b.ty, &loss, NULL), BNMLP_ERR_NULL_ARGUMENT);
    assert_double_sentinel(loss);
}

/* Any number of rows (more than the maximum batch, and one), outputs may be NULL, nothing changes. */
static void test_evaluate_any_rows(void **state) {
    bnmlp_model *model = *state;
    batch b;
    batch_init(&b, 3 * MAXB + 1);
    snapshot s;
    snapshot_take(model, &s);
    double loss = DOUBLE_SENTINEL, accuracy = DOUBLE_SENTINEL;
    assert_ok(bnmlp_model_evaluate(model, &b.tx, &b.ty, &loss, &accuracy));
    assert_true(isfinite(loss) && loss > 0.0);
    assert_true(accuracy >= 0.0 && accuracy <= 1.0);
    assert_ok(bnmlp_model_evaluate(model, &b.tx, &b.ty, NULL, NULL));
    bnmlp_tensor one_x = bnmlp_tensor_view(b.x, 1, IN);
    bnmlp_tensor one_y = bnmlp_tensor_view(b.y, 1, 1);
    assert_ok(bnmlp_model_evaluate(model, &one_x, &one_y, &loss, NULL));
    assert_unchanged(model, &s);
    snapshot_free(&s);
}

static void expect_predict_fails(bnmlp_model *model, const bnmlp_tensor *x, bnmlp_tensor *out,
                                 bnmlp_status expected) {
    snapshot s;
    snapshot_take(model, &s);
    if (out && out->data) fill_floats(out->data, out->rows * out->cols);
    assert_status(bnmlp_model_predict(model, x, out), expected);
    if (out && out->data) assert_floats_sentinel(out->data, out->rows * out->cols);
    assert_unchanged(model, &s);
    snapshot_free(&s);
}

static void test_predict_errors(void **state) {
    bnmlp_model *model = *state;
    batch b;
    batch_init(&b, 3 * MAXB);
    float out[3 * MAXB * 2];
    bnmlp_tensor tout = bnmlp_tensor_view(out, 3 * MAXB, 1);
    expect_predict_fails(model, NULL, &tout, BNMLP_ERR_NULL_ARGUMENT);
    expect_predict_fails(model, &b.tx, NULL, BNMLP_ERR_NULL_ARGUMENT);
    bnmlp_tensor rows_short = bnmlp_tensor_view(out, 3 * MAXB - 1, 1);
    expect_predict_fails(model, &b.tx, &rows_short, BNMLP_ERR_SHAPE);
    bnmlp_tensor two_cols = bnmlp_tensor_view(out, 3 * MAXB, 2);
    expect_predict_fails(model, &b.tx, &two_cols, BNMLP_ERR_SHAPE);
    bnmlp_tensor x_wide = bnmlp_tensor_view(b.x, MAXB, IN + 1);
    bnmlp_tensor out8 = bnmlp_tensor_view(out, MAXB, 1);
    expect_predict_fails(model, &x_wide, &out8, BNMLP_ERR_SHAPE);
    b.x[3 * MAXB * IN - 1] = NAN; /* in the last chunk */
    expect_predict_fails(model, &b.tx, &tout, BNMLP_ERR_NOT_FINITE);
    fill_floats(out, 3 * MAXB);
    assert_status(bnmlp_model_predict(NULL, &b.tx, &tout), BNMLP_ERR_NULL_ARGUMENT);
    assert_floats_sentinel(out, 3 * MAXB);
}

/* predict takes any number of rows and agrees with inference-mode forward chunk by chunk. */
static void test_predict_matches_forward(void **state) {
    bnmlp_model *model = *state;
    /* Move the moving statistics away from their initial values first. */
    const bnmlp_sgd_config sgd = BNMLP_SGD_DEFAULT;
    train_once(model, MAXB, &sgd);
    const size_t rows = 2 * MAXB + 3;
    batch b;
    batch_init(&b, rows);
    float predicted[2 * MAXB + 3], forwarded[2 * MAXB + 3];
    bnmlp_tensor tpred = bnmlp_tensor_view(predicted, rows, 1);
    snapshot s;
    snapshot_take(model, &s);
    assert_ok(bnmlp_model_predict(model, &b.tx, &tpred));
    for (size_t start = 0; start < rows; start += MAXB) {
        size_t n = rows - start < MAXB ? rows - start : MAXB;
        bnmlp_tensor x = bnmlp_tensor_view(b.x + start * IN, n, IN);
        bnmlp_tensor out = bnmlp_tensor_view(forwarded + start, n, 1);
        assert_ok(bnmlp_model_forward(model, &x, BNMLP_MODE_INFERENCE, &out));
    }
    assert_floats_close(predicted, forwarded, rows, 1e-6, 1e-5);
    assert_unchanged(model, &s);
    snapshot_free(&s);
}

/* ------------------------------------------------------------------------------------------ */
/* fit                                                                                        */
/* ------------------------------------------------------------------------------------------ */

/* Runs fit expecting `expected` with no change to the model, history or epochs_run; then checks
 * that the random state was not consumed either: a good fit afterwards matches a fresh twin's. */
static void expect_fit_fails(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                             const bnmlp_fit_config *config, bnmlp_status expected) {
    snapshot s;
    snapshot_take(model, &s);
    bnmlp_epoch_record history[4];
    fill_history(history, 4);
    size_t epochs_run = SIZE_SENTINEL;
    assert_status(bnmlp_model_fit(model, x, y, config, history, &epochs_run), expected);
    assert_int_equal(epochs_run, SIZE_SENTINEL);
    assert_history_sentinel(history, 4);
    assert_unchanged(model, &s);
    snapshot_free(&s);
}

static bnmlp_fit_config small_fit(size_t epochs) {
    bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
    fit.epochs = epochs;
    fit.batch_size = 4;
    fit.optimizer.sgd.learning_rate = 0.1f;
    return fit;
}

/* After failing fits, a good fit must give what a fresh twin's fit gives (weights, moving
 * statistics, history): no random numbers were drawn, no velocity changed. */
static void assert_fit_like_fresh_twin(bnmlp_model *model) {
    bnmlp_model *twin = make_model();
    batch b;
    batch_init(&b, 2 * MAXB);
    bnmlp_fit_config fit = small_fit(2);
    fit.optimizer.sgd.momentum = 0.9f;
    bnmlp_epoch_record h1[2], h2[2];
    assert_ok(bnmlp_model_fit(model, &b.tx, &b.ty, &fit, h1, NULL));
    assert_ok(bnmlp_model_fit(twin, &b.tx, &b.ty, &fit, h2, NULL));
    assert_same_state(model, twin);
    for (size_t i = 0; i < 2; i++) {
        assert_memory_equal(&h1[i].loss, &h2[i].loss, sizeof(double));
        assert_memory_equal(&h1[i].accuracy, &h2[i].accuracy, sizeof(double));
    }
    bnmlp_model_free(twin);
}

static void test_fit_null_arguments(void **state) {
    bnmlp_model *model = *state;
    batch b;
    batch_init(&b, 2 * MAXB);
    bnmlp_fit_config fit = small_fit(2);
    expect_fit_fails(model, NULL, &b.ty, &fit, BNMLP_ERR_NULL_ARGUMENT);
    expect_fit_fails(model, &b.tx, NULL, &fit, BNMLP_ERR_NULL_ARGUMENT);
    expect_fit_fails(model, &b.tx, &b.ty, NULL, BNMLP_ERR_NULL_ARGUMENT);
    bnmlp_tensor no_x = bnmlp_tensor_view(NULL, 2 * MAXB, IN);
    expect_fit_fails(model, &no_x, &b.ty, &fit, BNMLP_ERR_NULL_ARGUMENT);
    size_t epochs_run = SIZE_SENTINEL;
    assert_status(bnmlp_model_fit(NULL, &b.tx, &b.ty, &fit, NULL, &epochs_run), BNMLP_ERR_NULL_ARGUMENT);
    assert_int_equal(epochs_run, SIZE_SENTINEL);
    assert_fit_like_fresh_twin(model);
}

static void test_fit_epochs_zero(void **state) {
    bnmlp_model *model = *state;
    batch b;
    batch_init(&b, 2 * MAXB);
    bnmlp_fit_config fit = small_fit(0);
    expect_fit_fails(model, &b.tx, &b.ty, &fit, BNMLP_ERR_INVALID_ARGUMENT);
    assert_fit_like_fresh_twin(model);
}

/* batch_size must be in [1, built maximum]: 0 is INVALID_ARGUMENT; above the maximum the
 * library answers BATCH_TOO_LARGE (the header's field comment would also allow INVALID_ARGUMENT;
 * the more specific code is the one tested). */
static void test_fit_batch_size(void **state) {
    bnmlp_model *model = *state;
    batch b;
    batch_init(&b, 2 * MAXB);
    bnmlp_fit_config fit = small_fit(2);
    fit.batch_size = 0;
    expect_fit_fails(model, &b.tx, &b.ty, &fit, BNMLP_ERR_INVALID_ARGUMENT);
    fit.batch_size = MAXB + 1;
    expect_fit_fails(model, &b.tx, &b.ty, &fit, BNMLP_ERR_BATCH_TOO_LARGE);
    fit.batch_size = SIZE_MAX;
    expect_fit_fails(model, &b.tx, &b.ty, &fit, BNMLP_ERR_BATCH_TOO_LARGE);
    assert_fit_like_fresh_twin(model);
    /* The maximum itself is fine. */
    fit.batch_size = MAXB;
    assert_ok(bnmlp_model_fit(model, &b.tx, &b.ty, &fit, NULL, NULL));
}

static void test_fit_shapes(void **state) {
    bnmlp_model *model = *state;
    batch b;
    batch_init(&b, 2 * MAXB);
    bnmlp_fit_config fit = small_fit(2);
    bnmlp_tensor y_short = bnmlp_tensor_view(b.y, 2 * MAXB - 1, 1);
    expect_fit_fails(model, &b.tx, &y_short, &fit, BNMLP_ERR_SHAPE);
    bnmlp_tensor y_wide = bnmlp_tensor_view(b.y, MAXB, 2);
    bnmlp_tensor x_half = bnmlp_tensor_view(b.x, MAXB, IN);
    expect_fit_fails(model, &x_half, &y_wide, &fit, BNMLP_ERR_SHAPE);
    bnmlp_tensor x_wide = bnmlp_tensor_view(b.x, MAXB, IN + 1);
    bnmlp_tensor y_half = bnmlp_tensor_view(b.y, MAXB, 1);
    expect_fit_fails(model, &x_wide, &y_half, &fit, BNMLP_ERR_SHAPE);
    assert_fit_like_fresh_twin(model);
}

/* Labels and inputs are checked before anything is trained: the bad value is in the last row,
 * which a lazy check would reach only after training on the others. */
static void test_fit_bad_data(void **state) {
    bnmlp_model *model = *state;
    bnmlp_fit_config fit = small_fit(2);
    fit.shuffle = false;
    const float bad_labels[] = {0.5f, -1.0f, 2.0f};
    for (size_t i = 0; i < 3; i++) {
        batch b;
        batch_init(&b, 2 * MAXB);
        b.y[2 * MAXB - 1] = bad_labels[i];
        expect_fit_fails(model, &b.tx, &b.ty, &fit, BNMLP_ERR_LABEL);
    }
    batch b;
    batch_init(&b, 2 * MAXB);
    b.y[2 * MAXB - 1] = NAN;
    expect_fit_fails(model, &b.tx, &b.ty, &fit, BNMLP_ERR_NOT_FINITE);
    batch_init(&b, 2 * MAXB);
    b.x[2 * MAXB * IN - 1] = NAN;
    expect_fit_fails(model, &b.tx, &b.ty, &fit, BNMLP_ERR_NOT_FINITE);
    b.x[2 * MAXB * IN - 1] = -INFINITY;
    expect_fit_fails(model, &b.tx, &b.ty, &fit, BNMLP_ERR_NOT_FINITE);
    assert_fit_like_fresh_twin(model);
}

static void test_fit_bad_optimizer(void **state) {
    bnmlp_model *model = *state;
    batch b;
    batch_init(&b, 2 * MAXB);
    bnmlp_fit_config fit = small_fit(2);
    fit.optimizer.sgd.learning_rate = 0.0f;
    expect_fit_fails(model, &b.tx, &b.ty, &fit, BNMLP_ERR_INVALID_ARGUMENT);
    fit.optimizer.sgd.learning_rate = NAN;
    expect_fit_fails(model, &b.tx, &b.ty, &fit, BNMLP_ERR_INVALID_ARGUMENT);
    fit = small_fit(2);
    fit.optimizer.sgd.momentum = 1.5f;
    expect_fit_fails(model, &b.tx, &b.ty, &fit, BNMLP_ERR_INVALID_ARGUMENT);
    fit.optimizer.sgd.momentum = -0.1f;
    expect_fit_fails(model, &b.tx, &b.ty, &fit, BNMLP_ERR_INVALID_ARGUMENT);
    assert_fit_like_fresh_twin(model);
}

/* validation_x and validation_y come together. The header does not name the status for one
 * without the other; a missing required pointer is BNMLP_ERR_NULL_ARGUMENT. */
static void test_fit_validation_half_given(void **state) {
    bnmlp_model *model = *state;
    batch b, v;
    batch_init(&b, 2 * MAXB);
    batch_init(&v, MAXB);
    bnmlp_fit_config fit = small_fit(2);
    fit.validation_x = &v.tx;
    expect_fit_fails(model, &b.tx, &b.ty, &fit, BNMLP_ERR_NULL_ARGUMENT);
    fit.validation_x = NULL;
    fit.validation_y = &v.ty;
    expect_fit_fails(model, &b.tx, &b.ty, &fit, BNMLP_ERR_NULL_ARGUMENT);
    assert_fit_like_fresh_twin(model);
}

static void test_fit_validation_bad(void **state) {
    bnmlp_model *model = *state;
    batch b, v;
    batch_init(&b, 2 * MAXB);
    batch_init(&v, 3 * MAXB);
    bnmlp_fit_config fit = small_fit(2);
    bnmlp_tensor vy_short = bnmlp_tensor_view(v.y, 3 * MAXB - 1, 1);
    fit.validation_x = &v.tx;
    fit.validation_y = &vy_short;
    expect_fit_fails(model, &b.tx, &b.ty, &fit, BNMLP_ERR_SHAPE);
    bnmlp_tensor vx_wide = bnmlp_tensor_view(v.x, MAXB, IN + 1);
    bnmlp_tensor vy8 = bnmlp_tensor_view(v.y, MAXB, 1);
    fit.validation_x = &vx_wide;
    fit.validation_y = &vy8;
    expect_fit_fails(model, &b.tx, &b.ty, &fit, BNMLP_ERR_SHAPE);
    bnmlp_tensor vy_wide = bnmlp_tensor_view(v.y, MAXB, 2);
    bnmlp_tensor vx8 = bnmlp_tensor_view(v.x, MAXB, IN);
    fit.validation_x = &vx8;
    fit.validation_y = &vy_wide;
    expect_fit_fails(model, &b.tx, &b.ty, &fit, BNMLP_ERR_SHAPE);
    bnmlp_tensor v_no_data = bnmlp_tensor_view(NULL, MAXB, 1);
    fit.validation_y = &v_no_data;
    expect_fit_fails(model, &b.tx, &b.ty, &fit, BNMLP_ERR_NULL_ARGUMENT);

    fit.validation_x = &v.tx;
    fit.validation_y = &v.ty;
    v.y[3 * MAXB - 1] = 0.5f;
    expect_fit_fails(model, &b.tx, &b.ty, &fit, BNMLP_ERR_LABEL);
    v.y[3 * MAXB - 1] = NAN;
    expect_fit_fails(model, &b.tx, &b.ty, &fit, BNMLP_ERR_NOT_FINITE);
    v.y[3 * MAXB - 1] = 1.0f;
    v.x[0] = INFINITY;
    expect_fit_fails(model, &b.tx, &b.ty, &fit, BNMLP_ERR_NOT_FINITE);
    assert_fit_like_fresh_twin(model);
}

static void test_fit_history_null_allowed(void **state) {
    bnmlp_model *model = *state;
    batch b;
    batch_init(&b, 2 * MAXB);
    bnmlp_fit_config fit = small_fit(3);
    snapshot s;
    snapshot_take(model, &s);
    size_t epochs_run = SIZE_SENTINEL;
    assert_ok(bnmlp_model_fit(model, &b.tx, &b.ty, &fit, NULL, &epochs_run));
    assert_int_equal(epochs_run, 3);
    assert_ok(bnmlp_model_fit(model, &b.tx, &b.ty, &fit, NULL, NULL));
    snapshot after;
    snapshot_take(model, &after);
    assert_memory_not_equal(after.params, s.params, N_PARAMS * sizeof(float));
    snapshot_free(&after);
    snapshot_free(&s);
}

typedef struct callback_log {
    size_t calls;
    size_t stop_after; /* return false on this epoch */
    size_t epochs[8];
} callback_log;

static bool stop_after_epoch(const bnmlp_epoch_record *record, void *context) {
    callback_log *log = context;
    assert_non_null(record);
    if (log->calls < 8) log->epochs[log->calls] = record->epoch;
    log->calls++;
    return record->epoch < log->stop_after;
}

/* The callback returning false after epoch 2 stops there: BNMLP_OK, two records, the rest of
 * history untouched. */
static void test_fit_callback_stops(void **state) {
    bnmlp_model *model = *state;
    batch b;
    batch_init(&b, 2 * MAXB);
    bnmlp_fit_config fit = small_fit(5);
    callback_log log = {.stop_after = 2};
    fit.on_epoch_end = stop_after_epoch;
    fit.callback_context = &log;
    bnmlp_epoch_record history[5];
    fill_history(history, 5);
    size_t epochs_run = SIZE_SENTINEL;
    assert_ok(bnmlp_model_fit(model, &b.tx, &b.ty, &fit, history, &epochs_run));
    assert_int_equal(epochs_run, 2);
    assert_int_equal(log.calls, 2);
    assert_int_equal(log.epochs[0], 1);
    assert_int_equal(log.epochs[1], 2);
    assert_int_equal(history[0].epoch, 1);
    assert_int_equal(history[1].epoch, 2);
    assert_history_sentinel(history + 2, 3);

    /* Without a stop the callback sees every epoch. */
    callback_log all = {.stop_after = 100};
    fit.callback_context = &all;
    fit.epochs = 3;
    assert_ok(bnmlp_model_fit(model, &b.tx, &b.ty, &fit, NULL, &epochs_run));
    assert_int_equal(epochs_run, 3);
    assert_int_equal(all.calls, 3);
    assert_int_equal(all.epochs[2], 3);
}

/* The history records epochs 1..n with finite metrics; without validation the validation
 * metrics are NaN; with validation they are finite and the last one agrees with evaluate. */
static void test_fit_history_records(void **state) {
    bnmlp_model *model = *state;
    batch b;
    batch_init(&b, 2 * MAXB);
    bnmlp_fit_config fit = small_fit(4);
    bnmlp_epoch_record history[4];
    fill_history(history, 4);
    size_t epochs_run = SIZE_SENTINEL;
    assert_ok(bnmlp_model_fit(model, &b.tx, &b.ty, &fit, history, &epochs_run));
    assert_int_equal(epochs_run, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(history[i].epoch, i + 1);
        assert_true(isfinite(history[i].loss) && history[i].loss > 0.0);
        assert_true(history[i].accuracy >= 0.0 && history[i].accuracy <= 1.0);
        assert_true(isnan(history[i].val_loss));
        assert_true(isnan(history[i].val_accuracy));
    }

    batch v;
    batch_init(&v, 3 * MAXB + 2); /* more rows than the maximum batch */
    fit.validation_x = &v.tx;
    fit.validation_y = &v.ty;
    fill_history(history, 4);
    assert_ok(bnmlp_model_fit(model, &b.tx, &b.ty, &fit, history, &epochs_run));
    assert_int_equal(epochs_run, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(history[i].epoch, i + 1);
        assert_true(isfinite(history[i].loss) && history[i].loss > 0.0);
        assert_true(isfinite(history[i].val_loss) && history[i].val_loss > 0.0);
        assert_true(history[i].val_accuracy >= 0.0 && history[i].val_accuracy <= 1.0);
    }
    double loss = DOUBLE_SENTINEL, accuracy = DOUBLE_SENTINEL;
    assert_ok(bnmlp_model_evaluate(model, &v.tx, &v.ty, &loss, &accuracy));
    assert_true(fabs(loss - history[3].val_loss) <= 1e-6 * fabs(loss) + 1e-7);
    assert_true(fabs(accuracy - history[3].val_accuracy) <= 1e-12);
}

/* A trailing one-row batch is skipped when a trainable batch norm needs its statistics: with
 * shuffle off, fit over 9 rows in batches of 8 equals one train_step on the first 8 rows. */
static void test_fit_trailing_one_row_batchnorm(void **state) {
    bnmlp_model *model = *state;
    bnmlp_model *twin = make_model();
    batch b;
    batch_init(&b, MAXB + 1);
    bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
    fit.batch_size = MAXB;
    fit.shuffle = false;
    fit.optimizer.sgd.learning_rate = 0.1f;
    bnmlp_epoch_record history[1];
    size_t epochs_run = SIZE_SENTINEL;
    assert_ok(bnmlp_model_fit(model, &b.tx, &b.ty, &fit, history, &epochs_run));
    assert_int_equal(epochs_run, 1);
    assert_true(isfinite(history[0].loss));

    bnmlp_tensor x8 = bnmlp_tensor_view(b.x, MAXB, IN);
    bnmlp_tensor y8 = bnmlp_tensor_view(b.y, MAXB, 1);
    float loss = FLOAT_SENTINEL;
    assert_ok(bnmlp_model_train_step(twin, &x8, &y8, &fit.optimizer, &loss, NULL));
    assert_same_state(model, twin);
    /* The epoch's loss is that of the one batch trained on. */
    assert_true(fabs(history[0].loss - (double)loss) <= 1e-6 * fabs((double)loss));
    bnmlp_model_free(twin);
}

/* Without batch norm the trailing row is trained on: fit equals two train_steps (8 rows, 1 row). */
static void test_fit_trailing_one_row_plain(void **state) {
    (void)state;
    bnmlp_model *model = make_model_with(SEED, false, MAXB, NULL);
    bnmlp_model *twin = make_model_with(SEED, false, MAXB, NULL);
    bnmlp_model *eight_only = make_model_with(SEED, false, MAXB, NULL);
    batch b;
    batch_init(&b, MAXB + 1);
    bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
    fit.batch_size = MAXB;
    fit.shuffle = false;
    fit.optimizer.sgd.learning_rate = 0.1f;
    bnmlp_epoch_record history[1];
    size_t epochs_run = SIZE_SENTINEL;
    assert_ok(bnmlp_model_fit(model, &b.tx, &b.ty, &fit, history, &epochs_run));
    assert_int_equal(epochs_run, 1);

    bnmlp_tensor x8 = bnmlp_tensor_view(b.x, MAXB, IN);
    bnmlp_tensor y8 = bnmlp_tensor_view(b.y, MAXB, 1);
    bnmlp_tensor x1 = bnmlp_tensor_view(b.x + MAXB * IN, 1, IN);
    bnmlp_tensor y1 = bnmlp_tensor_view(b.y + MAXB, 1, 1);
    float loss8 = FLOAT_SENTINEL, loss1 = FLOAT_SENTINEL;
    assert_ok(bnmlp_model_train_step(twin, &x8, &y8, &fit.optimizer, &loss8, NULL));
    assert_ok(bnmlp_model_train_step(twin, &x1, &y1, &fit.optimizer, &loss1, NULL));
    assert_same_state(model, twin);
    double expected = (8.0 * loss8 + 1.0 * loss1) / 9.0; /* batch-size-weighted mean */
    assert_true(fabs(history[0].loss - expected) <= 1e-6 * fabs(expected));

    /* and that differs from training on the first 8 rows only (the test can fail). */
    assert_ok(bnmlp_model_train_step(eight_only, &x8, &y8, &fit.optimizer, NULL, NULL));
    snapshot a, c;
    snapshot_take(model, &a);
    snapshot_take(eight_only, &c);
    assert_memory_not_equal(a.params, c.params, a.param_count * sizeof(float));
    snapshot_free(&a);
    snapshot_free(&c);
    bnmlp_model_free(model);
    bnmlp_model_free(twin);
    bnmlp_model_free(eight_only);
}

/* Training-mode batch norm needs 2 rows per batch: fit with batch_size 1, or with a single row,
 * cannot train a trainable batch-norm layer (BATCH_TOO_SMALL); with the layer frozen it can. */
static void test_fit_batchnorm_needs_two_rows(void **state) {
    bnmlp_model *model = *state;
    batch b;
    batch_init(&b, 2 * MAXB);
    bnmlp_fit_config fit = small_fit(2);
    fit.batch_size = 1;
    expect_fit_fails(model, &b.tx, &b.ty, &fit, BNMLP_ERR_BATCH_TOO_SMALL);
    batch one;
    batch_init(&one, 1);
    fit.batch_size = MAXB;
    expect_fit_fails(model, &one.tx, &one.ty, &fit, BNMLP_ERR_BATCH_TOO_SMALL);
    assert_fit_like_fresh_twin(model);

    assert_ok(bnmlp_model_set_trainable(model, LAYER_BN, false));
    size_t epochs_run = SIZE_SENTINEL;
    assert_ok(bnmlp_model_fit(model, &one.tx, &one.ty, &fit, NULL, &epochs_run));
    assert_int_equal(epochs_run, 2);
    fit.batch_size = 1;
    assert_ok(bnmlp_model_fit(model, &b.tx, &b.ty, &fit, NULL, &epochs_run));
    assert_int_equal(epochs_run, 2);
}

/* fit's own allocation failing: OUT_OF_MEMORY and nothing changed (nor the random state). */
static void test_fit_out_of_memory(void **state) {
    (void)state;
    counting_allocator counter = {0};
    bnmlp_allocator allocator = counting_allocator_of(&counter);
    bnmlp_model *model = make_model_with(SEED, true, MAXB, &allocator);
    batch b;
    batch_init(&b, 2 * MAXB);
    bnmlp_fit_config fit = small_fit(2);
    bool failed_once = false;
    /* Fail each of the next few allocations in turn; stop at the first fit that succeeds. */
    for (size_t k = 1; k <= 8; k++) {
        counter.fail_at = counter.calls + k;
        snapshot s;
        snapshot_take(model, &s);
        size_t epochs_run = SIZE_SENTINEL;
        bnmlp_status got = bnmlp_model_fit(model, &b.tx, &b.ty, &fit, NULL, &epochs_run);
        if (got == BNMLP_OK) {
            snapshot_free(&s);
            break;
        }
        assert_status(got, BNMLP_ERR_OUT_OF_MEMORY);
        assert_int_equal(epochs_run, SIZE_SENTINEL);
        assert_unchanged(model, &s);
        snapshot_free(&s);
        failed_once = true;
    }
    counter.fail_at = 0;
    if (failed_once) {
        /* The model trained once, after the failures, like a twin that never failed. */
        bnmlp_model *twin = make_model();
        assert_ok(bnmlp_model_fit(twin, &b.tx, &b.ty, &fit, NULL, NULL));
        assert_same_state(model, twin);
        bnmlp_model_free(twin);
    }
    bnmlp_model_free(model);
    assert_int_equal(counter.allocations, counter.releases);
}

/* Divergence in the second epoch: DIVERGED, one record, the weights after the first epoch's
 * step. A plain model with a learning rate of 1e30 gets kernels near 1e29 after one step, so
 * the next logits overflow. */
static void test_fit_diverges_in_second_epoch(void **state) {
    (void)state;
    bnmlp_model *model = make_model_with(SEED, false, MAXB, NULL);
    bnmlp_model *twin = make_model_with(SEED, false, MAXB, NULL);
    batch b;
    positive_batch(&b, MAXB);
    bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
    fit.epochs = 3;
    fit.batch_size = MAXB;
    fit.shuffle = false;
    fit.optimizer.sgd.learning_rate = 1e30f;
    /* The twin shows the mechanism step by step. */
    assert_ok(bnmlp_model_train_step(twin, &b.tx, &b.ty, &fit.optimizer, NULL, NULL));
    assert_status(bnmlp_model_train_step(twin, &b.tx, &b.ty, &fit.optimizer, NULL, NULL), BNMLP_ERR_DIVERGED);

    bnmlp_epoch_record history[3];
    fill_history(history, 3);
    size_t epochs_run = SIZE_SENTINEL;
    assert_status(bnmlp_model_fit(model, &b.tx, &b.ty, &fit, history, &epochs_run), BNMLP_ERR_DIVERGED);
    assert_int_equal(epochs_run, 1);
    assert_int_equal(history[0].epoch, 1);
    assert_true(isfinite(history[0].loss));
    assert_history_sentinel(history + 1, 2);
    assert_same_state(model, twin);
    bnmlp_model_free(model);
    bnmlp_model_free(twin);
}

/* ------------------------------------------------------------------------------------------ */
/* Layers and weights                                                                         */
/* ------------------------------------------------------------------------------------------ */

static void test_layer_info(void **state) {
    bnmlp_model *model = *state;
    const struct {
        bnmlp_layer_kind kind;
        size_t in, out, trainable, non_trainable;
    } expected[] = {
        {BNMLP_LAYER_DENSE, 2, 4, 12, 0},     {BNMLP_LAYER_ACTIVATION, 4, 4, 0, 0},
        {BNMLP_LAYER_BATCHNORM, 4, 4, 8, 8},  {BNMLP_LAYER_DENSE, 4, 1, 5, 0},
        {BNMLP_LAYER_ACTIVATION, 1, 1, 0, 0},
    };
    for (size_t i = 0; i < 5; i++) {
        bnmlp_layer_info info;
        memset(&info, 0xA5, sizeof info);
        assert_ok(bnmlp_model_layer_info(model, i, &info));
        assert_int_equal(info.kind, expected[i].kind);
        assert_int_equal(info.input_width, expected[i].in);
        assert_int_equal(info.output_width, expected[i].out);
        assert_int_equal(info.trainable_params, expected[i].trainable);
        assert_int_equal(info.non_trainable_params, expected[i].non_trainable);
        assert_true(info.trainable);
    }
    bnmlp_layer_info info;
    assert_ok(bnmlp_model_layer_info(model, LAYER_RELU, &info));
    assert_int_equal(info.activation, BNMLP_ACTIVATION_RELU);
    assert_ok(bnmlp_model_layer_info(model, LAYER_SIGMOID, &info));
    assert_int_equal(info.activation, BNMLP_ACTIVATION_SIGMOID);

    bnmlp_layer_info untouched, sentinel;
    memset(&untouched, 0x5A, sizeof untouched);
    memcpy(&sentinel, &untouched, sizeof sentinel);
    assert_status(bnmlp_model_layer_info(model, 5, &untouched), BNMLP_ERR_INVALID_ARGUMENT);
    assert_status(bnmlp_model_layer_info(model, SIZE_MAX, &untouched), BNMLP_ERR_INVALID_ARGUMENT);
    assert_status(bnmlp_model_layer_info(NULL, 0, &untouched), BNMLP_ERR_NULL_ARGUMENT);
    assert_memory_equal(&untouched, &sentinel, sizeof sentinel);
    assert_status(bnmlp_model_layer_info(model, 0, NULL), BNMLP_ERR_NULL_ARGUMENT);
}

static void test_set_trainable_errors(void **state) {
    bnmlp_model *model = *state;
    snapshot s;
    snapshot_take(model, &s);
    assert_status(bnmlp_model_set_trainable(model, 5, false), BNMLP_ERR_INVALID_ARGUMENT);
    assert_status(bnmlp_model_set_trainable(model, SIZE_MAX, false), BNMLP_ERR_INVALID_ARGUMENT);
    assert_status(bnmlp_model_set_trainable(NULL, 0, false), BNMLP_ERR_NULL_ARGUMENT);
    assert_unchanged(model, &s);
    snapshot_free(&s);
}

/* Freezing moves a layer's parameters to the non-trainable count; unfreezing moves them back. */
static void test_set_trainable_counts(void **state) {
    bnmlp_model *model = *state;
    bnmlp_layer_info info;
    assert_ok(bnmlp_model_set_trainable(model, LAYER_BN, false));
    assert_ok(bnmlp_model_layer_info(model, LAYER_BN, &info));
    assert_false(info.trainable);
    assert_int_equal(info.trainable_params, 0);
    assert_int_equal(info.non_trainable_params, 16);
    assert_int_equal(bnmlp_model_param_count(model), N_PARAMS); /* frozen or not */
    assert_ok(bnmlp_model_set_trainable(model, LAYER_DENSE0, false));
    assert_ok(bnmlp_model_layer_info(model, LAYER_DENSE0, &info));
    assert_false(info.trainable);
    assert_int_equal(info.trainable_params, 0);
    assert_int_equal(info.non_trainable_params, 12);
    assert_ok(bnmlp_model_set_trainable(model, LAYER_BN, true));
    assert_ok(bnmlp_model_layer_info(model, LAYER_BN, &info));
    assert_true(info.trainable);
    assert_int_equal(info.trainable_params, 8);
    assert_int_equal(info.non_trainable_params, 8);
}

static void expect_get_weights_fails(const bnmlp_model *model, size_t index, bnmlp_weight which, size_t count,
                                     bnmlp_status expected) {
    float dst[32];
    fill_floats(dst, 32);
    assert_true(count <= 32);
    assert_status(bnmlp_model_get_weights(model, index, which, dst, count), expected);
    assert_floats_sentinel(dst, 32);
}

/* Arrays the layer lacks, indices out of range, bad enums: INVALID_ARGUMENT; wrong counts: SHAPE. */
static void test_get_weights_errors(void **state) {
    bnmlp_model *model = *state;
    expect_get_weights_fails(model, 5, BNMLP_WEIGHT_KERNEL, 8, BNMLP_ERR_INVALID_ARGUMENT);
    expect_get_weights_fails(model, SIZE_MAX, BNMLP_WEIGHT_KERNEL, 8, BNMLP_ERR_INVALID_ARGUMENT);
    expect_get_weights_fails(model, LAYER_DENSE0, BNMLP_WEIGHT_GAMMA, 4, BNMLP_ERR_INVALID_ARGUMENT);
    expect_get_weights_fails(model, LAYER_DENSE0, BNMLP_WEIGHT_BETA, 4, BNMLP_ERR_INVALID_ARGUMENT);
    expect_get_weights_fails(model, LAYER_DENSE0, BNMLP_WEIGHT_MOVING_MEAN, 4, BNMLP_ERR_INVALID_ARGUMENT);
    expect_get_weights_fails(model, LAYER_DENSE0, BNMLP_WEIGHT_MOVING_VARIANCE, 4,
                             BNMLP_ERR_INVALID_ARGUMENT);
    expect_get_weights_fails(model, LAYER_BN, BNMLP_WEIGHT_KERNEL, 4, BNMLP_ERR_INVALID_ARGUMENT);
    expect_get_weights_fails(model, LAYER_BN, BNMLP_WEIGHT_BIAS, 4, BNMLP_ERR_INVALID_ARGUMENT);
    expect_get_weights_fails(model, LAYER_RELU, BNMLP_WEIGHT_KERNEL, 4, BNMLP_ERR_INVALID_ARGUMENT);
    expect_get_weights_fails(model, LAYER_RELU, BNMLP_WEIGHT_BIAS, 4, BNMLP_ERR_INVALID_ARGUMENT);
    expect_get_weights_fails(model, LAYER_DENSE0, (bnmlp_weight)99, 8, BNMLP_ERR_INVALID_ARGUMENT);
    expect_get_weights_fails(model, LAYER_BN, (bnmlp_weight)-1, 4, BNMLP_ERR_INVALID_ARGUMENT);
    expect_get_weights_fails(model, LAYER_DENSE0, BNMLP_WEIGHT_KERNEL, 7, BNMLP_ERR_SHAPE);
    expect_get_weights_fails(model, LAYER_DENSE0, BNMLP_WEIGHT_KERNEL, 9, BNMLP_ERR_SHAPE);
    expect_get_weights_fails(model, LAYER_DENSE0, BNMLP_WEIGHT_KERNEL, 0, BNMLP_ERR_SHAPE);
    expect_get_weights_fails(model, LAYER_DENSE0, BNMLP_WEIGHT_BIAS, 3, BNMLP_ERR_SHAPE);
    expect_get_weights_fails(model, LAYER_BN, BNMLP_WEIGHT_MOVING_VARIANCE, 5, BNMLP_ERR_SHAPE);
    expect_get_weights_fails(model, LAYER_DENSE1, BNMLP_WEIGHT_KERNEL, 8, BNMLP_ERR_SHAPE);
    expect_get_weights_fails(NULL, 0, BNMLP_WEIGHT_KERNEL, 8, BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_model_get_weights(model, LAYER_DENSE0, BNMLP_WEIGHT_KERNEL, NULL, 8),
                  BNMLP_ERR_NULL_ARGUMENT);
}

/* The initial values the header promises: zero biases and betas, unit gammas, moving mean 0 and
 * moving variance 1 (Keras), a non-zero kernel. */
static void test_get_weights_initial_values(void **state) {
    bnmlp_model *model = *state;
    float v[8];
    const float zeros[4] = {0, 0, 0, 0}, ones[4] = {1, 1, 1, 1};
    assert_ok(bnmlp_model_get_weights(model, LAYER_DENSE0, BNMLP_WEIGHT_BIAS, v, 4));
    assert_floats_close(v, zeros, 4, 0.0, 0.0);
    assert_ok(bnmlp_model_get_weights(model, LAYER_BN, BNMLP_WEIGHT_GAMMA, v, 4));
    assert_floats_close(v, ones, 4, 0.0, 0.0);
    assert_ok(bnmlp_model_get_weights(model, LAYER_BN, BNMLP_WEIGHT_BETA, v, 4));
    assert_floats_close(v, zeros, 4, 0.0, 0.0);
    assert_ok(bnmlp_model_get_weights(model, LAYER_BN, BNMLP_WEIGHT_MOVING_MEAN, v, 4));
    assert_floats_close(v, zeros, 4, 0.0, 0.0);
    assert_ok(bnmlp_model_get_weights(model, LAYER_BN, BNMLP_WEIGHT_MOVING_VARIANCE, v, 4));
    assert_floats_close(v, ones, 4, 0.0, 0.0);
    assert_ok(bnmlp_model_get_weights(model, LAYER_DENSE0, BNMLP_WEIGHT_KERNEL, v, 8));
    const double limit = sqrt(6.0 / (2.0 + 4.0)); /* glorot_uniform */
    bool any_nonzero = false;
    for (size_t i = 0; i < 8; i++) {
        assert_true(fabs((double)v[i]) <= limit);
        if (v[i] != 0.0f) any_nonzero = true;
    }
    assert_true(any_nonzero);
}

/* Arrays switched off by configuration do not exist: BIAS without use_bias, GAMMA without scale,
 * BETA without center; the moving statistics always exist. */
static void test_weights_missing_by_config(void **state) {
    (void)state;
    bnmlp_model *model = bnmlp_model_create(IN, NULL);
    assert_non_null(model);
    bnmlp_dense_config dense = BNMLP_DENSE_DEFAULT(3);
    dense.use_bias = false;
    assert_ok(bnmlp_model_add_dense(model, &dense));
    bnmlp_batchnorm_config no_scale = BNMLP_BATCHNORM_DEFAULT;
    no_scale.scale = false;
    assert_ok(bnmlp_model_add_batchnorm(model, &no_scale));
    bnmlp_batchnorm_config no_center = BNMLP_BATCHNORM_DEFAULT;
    no_center.center = false;
    assert_ok(bnmlp_model_add_batchnorm(model, &no_center));
    assert_ok(bnmlp_model_build(model, MAXB, SEED));
    assert_int_equal(bnmlp_model_layer_count(model), 3);
    assert_int_equal(bnmlp_model_param_count(model), 6 + 3 + 3);

    snapshot s;
    snapshot_take(model, &s);
    expect_get_weights_fails(model, 0, BNMLP_WEIGHT_BIAS, 3, BNMLP_ERR_INVALID_ARGUMENT);
    expect_get_weights_fails(model, 1, BNMLP_WEIGHT_GAMMA, 3, BNMLP_ERR_INVALID_ARGUMENT);
    expect_get_weights_fails(model, 2, BNMLP_WEIGHT_BETA, 3, BNMLP_ERR_INVALID_ARGUMENT);
    const float values[3] = {0.5f, 0.25f, 0.125f};
    assert_status(bnmlp_model_set_weights(model, 0, BNMLP_WEIGHT_BIAS, values, 3),
                  BNMLP_ERR_INVALID_ARGUMENT);
    assert_status(bnmlp_model_set_weights(model, 1, BNMLP_WEIGHT_GAMMA, values, 3),
                  BNMLP_ERR_INVALID_ARGUMENT);
    assert_status(bnmlp_model_set_weights(model, 2, BNMLP_WEIGHT_BETA, values, 3),
                  BNMLP_ERR_INVALID_ARGUMENT);
    assert_unchanged(model, &s);
    snapshot_free(&s);

    float v[3];
    assert_ok(bnmlp_model_get_weights(model, 1, BNMLP_WEIGHT_BETA, v, 3));
    assert_ok(bnmlp_model_get_weights(model, 2, BNMLP_WEIGHT_GAMMA, v, 3));
    assert_ok(bnmlp_model_get_weights(model, 1, BNMLP_WEIGHT_MOVING_MEAN, v, 3));
    assert_ok(bnmlp_model_get_weights(model, 2, BNMLP_WEIGHT_MOVING_VARIANCE, v, 3));
    bnmlp_layer_info info;
    assert_ok(bnmlp_model_layer_info(model, 0, &info));
    assert_int_equal(info.trainable_params, 6);
    assert_ok(bnmlp_model_layer_info(model, 1, &info));
    assert_int_equal(info.trainable_params, 3);
    assert_int_equal(info.non_trainable_params, 6);
    bnmlp_model_free(model);
}

static void expect_set_weights_fails(bnmlp_model *model, size_t index, bnmlp_weight which, const float *src,
                                     size_t count, bnmlp_status expected) {
    snapshot s;
    snapshot_take(model, &s);
    assert_status(bnmlp_model_set_weights(model, index, which, src, count), expected);
    assert_unchanged(model, &s);
    snapshot_free(&s);
}

static void test_set_weights_errors(void **state) {
    bnmlp_model *model = *state;
    float v[16];
    for (size_t i = 0; i < 16; i++) v[i] = 0.125f * (float)(i + 1);
    expect_set_weights_fails(model, 5, BNMLP_WEIGHT_KERNEL, v, 8, BNMLP_ERR_INVALID_ARGUMENT);
    expect_set_weights_fails(model, SIZE_MAX, BNMLP_WEIGHT_KERNEL, v, 8, BNMLP_ERR_INVALID_ARGUMENT);
    expect_set_weights_fails(model, LAYER_DENSE0, BNMLP_WEIGHT_GAMMA, v, 4, BNMLP_ERR_INVALID_ARGUMENT);
    expect_set_weights_fails(model, LAYER_RELU, BNMLP_WEIGHT_KERNEL, v, 4, BNMLP_ERR_INVALID_ARGUMENT);
    expect_set_weights_fails(model, LAYER_BN, BNMLP_WEIGHT_KERNEL, v, 4, BNMLP_ERR_INVALID_ARGUMENT);
    expect_set_weights_fails(model, LAYER_BN, (bnmlp_weight)99, v, 4, BNMLP_ERR_INVALID_ARGUMENT);
    expect_set_weights_fails(model, LAYER_DENSE0, BNMLP_WEIGHT_KERNEL, v, 7, BNMLP_ERR_SHAPE);
    expect_set_weights_fails(model, LAYER_DENSE0, BNMLP_WEIGHT_KERNEL, v, 9, BNMLP_ERR_SHAPE);
    expect_set_weights_fails(model, LAYER_BN, BNMLP_WEIGHT_GAMMA, v, 3, BNMLP_ERR_SHAPE);
    expect_set_weights_fails(model, LAYER_DENSE0, BNMLP_WEIGHT_KERNEL, NULL, 8, BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_model_set_weights(NULL, 0, BNMLP_WEIGHT_KERNEL, v, 8), BNMLP_ERR_NULL_ARGUMENT);

    const float bad[] = {NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < 3; i++) {
        float w[8];
        memcpy(w, v, sizeof w);
        w[7] = bad[i];
        expect_set_weights_fails(model, LAYER_DENSE0, BNMLP_WEIGHT_KERNEL, w, 8, BNMLP_ERR_NOT_FINITE);
        expect_set_weights_fails(model, LAYER_BN, BNMLP_WEIGHT_BETA, w + 4, 4, BNMLP_ERR_NOT_FINITE);
        expect_set_weights_fails(model, LAYER_BN, BNMLP_WEIGHT_MOVING_MEAN, w + 4, 4, BNMLP_ERR_NOT_FINITE);
        expect_set_weights_fails(model, LAYER_BN, BNMLP_WEIGHT_MOVING_VARIANCE, w + 4, 4,
                                 BNMLP_ERR_NOT_FINITE);
    }
    const float negative_variance[4] = {1.0f, 0.5f, -1e-6f, 2.0f};
    expect_set_weights_fails(model, LAYER_BN, BNMLP_WEIGHT_MOVING_VARIANCE, negative_variance, 4,
                             BNMLP_ERR_INVALID_ARGUMENT);
    /* A negative moving mean is fine, and a moving variance of exactly 0 ("must be >= 0"). */
    const float negative_mean[4] = {-1.0f, -0.5f, 0.0f, 2.0f};
    assert_ok(bnmlp_model_set_weights(model, LAYER_BN, BNMLP_WEIGHT_MOVING_MEAN, negative_mean, 4));
    const float zero_variance[4] = {0.0f, 0.5f, -0.0f, 2.0f};
    assert_ok(bnmlp_model_set_weights(model, LAYER_BN, BNMLP_WEIGHT_MOVING_VARIANCE, zero_variance, 4));
}

/* set then get returns the values bit for bit, and get_params concatenates the arrays layer by
 * layer in bnmlp_weight order. */
static void test_weights_roundtrip_and_param_order(void **state) {
    bnmlp_model *model = *state;
    float kernel0[8], bias0[4], gamma[4], beta[4], kernel1[4], bias1[1];
    float *arrays[] = {kernel0, bias0, gamma, beta, kernel1, bias1};
    const size_t sizes[] = {8, 4, 4, 4, 4, 1};
    const size_t layers[] = {LAYER_DENSE0, LAYER_DENSE0, LAYER_BN, LAYER_BN, LAYER_DENSE1, LAYER_DENSE1};
    const bnmlp_weight which[] = {BNMLP_WEIGHT_KERNEL, BNMLP_WEIGHT_BIAS,   BNMLP_WEIGHT_GAMMA,
                                  BNMLP_WEIGHT_BETA,   BNMLP_WEIGHT_KERNEL, BNMLP_WEIGHT_BIAS};
    float expected[N_PARAMS];
    size_t at = 0;
    for (size_t a = 0; a < 6; a++) {
        for (size_t i = 0; i < sizes[a]; i++) arrays[a][i] = (float)(at + i + 1) * 0.01f - 0.1f;
        assert_ok(bnmlp_model_set_weights(model, layers[a], which[a], arrays[a], sizes[a]));
        memcpy(expected + at, arrays[a], sizes[a] * sizeof(float));
        at += sizes[a];
    }
    assert_int_equal(at, N_PARAMS);
    for (size_t a = 0; a < 6; a++) {
        float got[8];
        fill_floats(got, 8);
        assert_ok(bnmlp_model_get_weights(model, layers[a], which[a], got, sizes[a]));
        assert_memory_equal(got, arrays[a], sizes[a] * sizeof(float));
    }
    float params[N_PARAMS];
    assert_ok(bnmlp_model_get_params(model, params, N_PARAMS));
    assert_memory_equal(params, expected, sizeof params);

    const float moving_mean[4] = {0.5f, -0.5f, 1.5f, 0.0f}, moving_variance[4] = {2.0f, 0.5f, 1.0f, 3.0f};
    assert_ok(bnmlp_model_set_weights(model, LAYER_BN, BNMLP_WEIGHT_MOVING_MEAN, moving_mean, 4));
    assert_ok(bnmlp_model_set_weights(model, LAYER_BN, BNMLP_WEIGHT_MOVING_VARIANCE, moving_variance, 4));
    float got[4];
    assert_ok(bnmlp_model_get_weights(model, LAYER_BN, BNMLP_WEIGHT_MOVING_MEAN, got, 4));
    assert_memory_equal(got, moving_mean, sizeof got);
    assert_ok(bnmlp_model_get_weights(model, LAYER_BN, BNMLP_WEIGHT_MOVING_VARIANCE, got, 4));
    assert_memory_equal(got, moving_variance, sizeof got);
    /* Moving statistics are not parameters. */
    assert_ok(bnmlp_model_get_params(model, params, N_PARAMS));
    assert_memory_equal(params, expected, sizeof params);
}

static void test_params_errors(void **state) {
    bnmlp_model *model = *state;
    float dst[N_PARAMS + 1];
    const size_t counts[] = {0, N_PARAMS - 1, N_PARAMS + 1};
    for (size_t i = 0; i < 3; i++) {
        fill_floats(dst, N_PARAMS + 1);
        assert_status(bnmlp_model_get_params(model, dst, counts[i]), BNMLP_ERR_SHAPE);
        assert_floats_sentinel(dst, N_PARAMS + 1);
    }
    fill_floats(dst, N_PARAMS + 1);
    assert_status(bnmlp_model_get_params(NULL, dst, N_PARAMS), BNMLP_ERR_NULL_ARGUMENT);
    assert_floats_sentinel(dst, N_PARAMS + 1);
    assert_status(bnmlp_model_get_params(model, NULL, N_PARAMS), BNMLP_ERR_NULL_ARGUMENT);

    snapshot s;
    snapshot_take(model, &s);
    float src[N_PARAMS + 1];
    for (size_t i = 0; i < N_PARAMS + 1; i++) src[i] = 0.5f;
    for (size_t i = 0; i < 3; i++)
        assert_status(bnmlp_model_set_params(model, src, counts[i]), BNMLP_ERR_SHAPE);
    assert_status(bnmlp_model_set_params(NULL, src, N_PARAMS), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_model_set_params(model, NULL, N_PARAMS), BNMLP_ERR_NULL_ARGUMENT);
    src[N_PARAMS - 1] = NAN; /* "NaN or infinity in ... weights given to the call" */
    assert_status(bnmlp_model_set_params(model, src, N_PARAMS), BNMLP_ERR_NOT_FINITE);
    src[N_PARAMS - 1] = INFINITY;
    assert_status(bnmlp_model_set_params(model, src, N_PARAMS), BNMLP_ERR_NOT_FINITE);
    assert_unchanged(model, &s);
    snapshot_free(&s);

    /* The round trip. */
    src[N_PARAMS - 1] = -0.25f;
    assert_ok(bnmlp_model_set_params(model, src, N_PARAMS));
    assert_ok(bnmlp_model_get_params(model, dst, N_PARAMS));
    assert_memory_equal(dst, src, N_PARAMS * sizeof(float));
}

/* ------------------------------------------------------------------------------------------ */
/* summary                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static void test_summary_null(void **state) {
    bnmlp_model *model = *state;
    assert_status(bnmlp_model_summary(model, NULL), BNMLP_ERR_NULL_ARGUMENT);
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_status(bnmlp_model_summary(NULL, f), BNMLP_ERR_NULL_ARGUMENT);
    assert_int_equal(ftell(f), 0);
    fclose(f);
}

static void test_summary_writes(void **state) {
    bnmlp_model *model = *state;
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_ok(bnmlp_model_summary(model, f));
    long size = ftell(f);
    assert_true(size > 0);
    rewind(f);
    char *text = calloc((size_t)size + 1, 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    /* Keras counts the moving statistics as non-trainable parameters: 25 + 8. */
    assert_non_null(strstr(text, "Total params: 33"));
    assert_non_null(strstr(text, "Trainable params: 25"));
    assert_non_null(strstr(text, "Non-trainable params: 8"));
    free(text);

    /* A frozen batch-norm layer moves its gamma and beta to the non-trainable count. */
    assert_ok(bnmlp_model_set_trainable(model, LAYER_BN, false));
    f = tmpfile();
    assert_non_null(f);
    assert_ok(bnmlp_model_summary(model, f));
    size = ftell(f);
    rewind(f);
    text = calloc((size_t)size + 1, 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    assert_non_null(strstr(text, "Total params: 33"));
    assert_non_null(strstr(text, "Trainable params: 17"));
    assert_non_null(strstr(text, "Non-trainable params: 16"));
    free(text);
}

/* An unbuilt model can be summarized too (its layers and counts are known). */
static void test_summary_unbuilt(void **state) {
    bnmlp_model *model = *state;
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_ok(bnmlp_model_summary(model, f));
    assert_true(ftell(f) > 0);
    fclose(f);
}

static void test_summary_io_error(void **state) {
    bnmlp_model *model = *state;
    FILE *f = fopen("/dev/full", "w");
    if (!f) {
        skip();
        return;
    }
    assert_int_equal(setvbuf(f, NULL, _IONBF, 0), 0);
    snapshot s;
    snapshot_take(model, &s);
    assert_status(bnmlp_model_summary(model, f), BNMLP_ERR_IO);
    assert_unchanged(model, &s);
    snapshot_free(&s);
    fclose(f);

    /* Fully buffered: the summary fits in the buffer, so only a flush (or ferror) can tell. */
    f = fopen("/dev/full", "w");
    assert_non_null(f);
    static char buffer[1 << 16];
    assert_int_equal(setvbuf(f, buffer, _IOFBF, sizeof buffer), 0);
    assert_status(bnmlp_model_summary(model, f), BNMLP_ERR_IO);
    fclose(f);
}

/* ------------------------------------------------------------------------------------------ */
/* Seeds                                                                                      */
/* ------------------------------------------------------------------------------------------ */

static void test_same_seed_same_params(void **state) {
    (void)state;
    bnmlp_model *a = make_model_with(7, true, MAXB, NULL);
    bnmlp_model *b = make_model_with(7, true, 2 * MAXB, NULL); /* the batch size plays no part */
    assert_same_state(a, b);
    bnmlp_model_free(a);
    bnmlp_model_free(b);
}

static void test_different_seed_different_params(void **state) {
    (void)state;
    bnmlp_model *a = make_model_with(7, true, MAXB, NULL);
    bnmlp_model *b = make_model_with(8, true, MAXB, NULL);
    float pa[N_PARAMS], pb[N_PARAMS];
    assert_ok(bnmlp_model_get_params(a, pa, N_PARAMS));
    assert_ok(bnmlp_model_get_params(b, pb, N_PARAMS));
    assert_memory_not_equal(pa, pb, sizeof pa);
    /* Both kernels differ, not only one. */
    assert_memory_not_equal(pa, pb, 8 * sizeof(float));
    assert_memory_not_equal(pa + 20, pb + 20, 4 * sizeof(float));
    bnmlp_model_free(a);
    bnmlp_model_free(b);
}

static void test_same_seed_same_history(void **state) {
    (void)state;
    bnmlp_model *a = make_model_with(99, true, MAXB, NULL);
    bnmlp_model *b = make_model_with(99, true, MAXB, NULL);
    batch t, v;
    batch_init(&t, 3 * MAXB + 3);
    batch_init(&v, MAXB + 2);
    bnmlp_fit_config fit = small_fit(3);
    fit.optimizer.sgd.momentum = 0.9f;
    fit.validation_x = &v.tx;
    fit.validation_y = &v.ty;
    bnmlp_epoch_record ha[3], hb[3];
    size_t ra = 0, rb = 0;
    assert_ok(bnmlp_model_fit(a, &t.tx, &t.ty, &fit, ha, &ra));
    assert_ok(bnmlp_model_fit(b, &t.tx, &t.ty, &fit, hb, &rb));
    assert_int_equal(ra, 3);
    assert_int_equal(rb, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(ha[i].epoch, hb[i].epoch);
        assert_memory_equal(&ha[i].loss, &hb[i].loss, sizeof(double));
        assert_memory_equal(&ha[i].accuracy, &hb[i].accuracy, sizeof(double));
        assert_memory_equal(&ha[i].val_loss, &hb[i].val_loss, sizeof(double));
        assert_memory_equal(&ha[i].val_accuracy, &hb[i].val_accuracy, sizeof(double));
    }
    assert_same_state(a, b);

    /* Another seed shuffles and initializes differently: the history differs. */
    bnmlp_model *c = make_model_with(100, true, MAXB, NULL);
    bnmlp_epoch_record hc[3];
    assert_ok(bnmlp_model_fit(c, &t.tx, &t.ty, &fit, hc, NULL));
    assert_memory_not_equal(&ha[0].loss, &hc[0].loss, sizeof(double));
    bnmlp_model_free(a);
    bnmlp_model_free(b);
    bnmlp_model_free(c);
}

/* Shuffling is seeded: the same seed with shuffle on and off gives different results. */
static void test_shuffle_changes_training(void **state) {
    (void)state;
    bnmlp_model *a = make_model_with(5, true, MAXB, NULL);
    bnmlp_model *b = make_model_with(5, true, MAXB, NULL);
    batch t;
    batch_init(&t, 3 * MAXB);
    bnmlp_fit_config fit = small_fit(2);
    assert_ok(bnmlp_model_fit(a, &t.tx, &t.ty, &fit, NULL, NULL));
    fit.shuffle = false;
    assert_ok(bnmlp_model_fit(b, &t.tx, &t.ty, &fit, NULL, NULL));
    float pa[N_PARAMS], pb[N_PARAMS];
    assert_ok(bnmlp_model_get_params(a, pa, N_PARAMS));
    assert_ok(bnmlp_model_get_params(b, pb, N_PARAMS));
    assert_memory_not_equal(pa, pb, sizeof pa);
    bnmlp_model_free(a);
    bnmlp_model_free(b);
}

/* ------------------------------------------------------------------------------------------ */
/* Frozen layers                                                                              */
/* ------------------------------------------------------------------------------------------ */

/* A frozen batch-norm layer keeps gamma, beta and its moving statistics through fit while the
 * dense layers train. */
static void test_frozen_batchnorm_fit(void **state) {
    bnmlp_model *model = *state;
    /* Distinctive statistics, so that a reset would show too. */
    const float moving_mean[4] = {0.1f, 0.2f, 0.3f, 0.4f}, moving_variance[4] = {1.5f, 2.5f, 0.5f, 1.25f};
    assert_ok(bnmlp_model_set_weights(model, LAYER_BN, BNMLP_WEIGHT_MOVING_MEAN, moving_mean, 4));
    assert_ok(bnmlp_model_set_weights(model, LAYER_BN, BNMLP_WEIGHT_MOVING_VARIANCE, moving_variance, 4));
    assert_ok(bnmlp_model_set_trainable(model, LAYER_BN, false));
    snapshot s;
    snapshot_take(model, &s);

    batch t;
    batch_init(&t, 3 * MAXB + 1); /* trailing one-row batch: frozen batch norm needs no statistics */
    bnmlp_fit_config fit = small_fit(3);
    fit.optimizer.sgd.momentum = 0.5f;
    size_t epochs_run = 0;
    assert_ok(bnmlp_model_fit(model, &t.tx, &t.ty, &fit, NULL, &epochs_run));
    assert_int_equal(epochs_run, 3);

    snapshot after;
    snapshot_take(model, &after);
    /* params: dense0 kernel 0..7, bias 8..11, gamma 12..15, beta 16..19, dense1 20..24 */
    assert_memory_equal(after.params + 12, s.params + 12, 8 * sizeof(float));
    assert_memory_equal(after.moving, s.moving, s.n_moving * sizeof(float));
    assert_memory_not_equal(after.params, s.params, 8 * sizeof(float));
    assert_memory_not_equal(after.params + 20, s.params + 20, 4 * sizeof(float));
    snapshot_free(&after);

    /* A train_step leaves it alone too. */
    train_once(model, MAXB, &fit.optimizer.sgd);
    snapshot_take(model, &after);
    assert_memory_equal(after.params + 12, s.params + 12, 8 * sizeof(float));
    assert_memory_equal(after.moving, s.moving, s.n_moving * sizeof(float));
    snapshot_free(&after);
    snapshot_free(&s);

    bnmlp_layer_info info;
    assert_ok(bnmlp_model_layer_info(model, LAYER_BN, &info));
    assert_false(info.trainable);
    assert_int_equal(info.trainable_params, 0);
    assert_int_equal(info.non_trainable_params, 16);
}

/* The same fit with the layer trainable changes gamma, beta and the moving statistics (the
 * frozen test above could fail). */
static void test_unfrozen_batchnorm_fit(void **state) {
    bnmlp_model *model = *state;
    snapshot s;
    snapshot_take(model, &s);
    batch t;
    batch_init(&t, 3 * MAXB);
    bnmlp_fit_config fit = small_fit(3);
    assert_ok(bnmlp_model_fit(model, &t.tx, &t.ty, &fit, NULL, NULL));
    snapshot after;
    snapshot_take(model, &after);
    assert_memory_not_equal(after.params + 12, s.params + 12, 4 * sizeof(float)); /* gamma */
    assert_memory_not_equal(after.params + 16, s.params + 16, 4 * sizeof(float)); /* beta */
    assert_memory_not_equal(after.moving, s.moving, 4 * sizeof(float));           /* moving mean */
    assert_memory_not_equal(after.moving + 4, s.moving + 4, 4 * sizeof(float));   /* moving variance */
    snapshot_free(&after);
    snapshot_free(&s);
}

/* reset_optimizer: NULL is refused; after a reset a momentum step matches a fresh twin's first. */
static void test_reset_optimizer(void **state) {
    bnmlp_model *model = *state;
    assert_status(bnmlp_model_reset_optimizer(NULL), BNMLP_ERR_NULL_ARGUMENT);
    bnmlp_sgd_config sgd = BNMLP_SGD_DEFAULT;
    sgd.momentum = 0.9f;
    train_once(model, MAXB, &sgd);
    float params[N_PARAMS];
    assert_ok(bnmlp_model_get_params(model, params, N_PARAMS));
    float moving[8];
    assert_ok(bnmlp_model_get_weights(model, LAYER_BN, BNMLP_WEIGHT_MOVING_MEAN, moving, 4));
    assert_ok(bnmlp_model_get_weights(model, LAYER_BN, BNMLP_WEIGHT_MOVING_VARIANCE, moving + 4, 4));

    bnmlp_model *twin = make_model();
    assert_ok(bnmlp_model_set_params(twin, params, N_PARAMS));
    assert_ok(bnmlp_model_set_weights(twin, LAYER_BN, BNMLP_WEIGHT_MOVING_MEAN, moving, 4));
    assert_ok(bnmlp_model_set_weights(twin, LAYER_BN, BNMLP_WEIGHT_MOVING_VARIANCE, moving + 4, 4));
    assert_ok(bnmlp_model_reset_optimizer(model));
    assert_same_state(model, twin);
    train_once(model, MAXB, &sgd);
    train_once(twin, MAXB, &sgd);
    assert_same_state(model, twin);
    bnmlp_model_free(twin);
}

/* ------------------------------------------------------------------------------------------ */

#define BUILT(f) cmocka_unit_test_setup_teardown(f, setup_built, teardown_model)
#define UNBUILT(f) cmocka_unit_test_setup_teardown(f, setup_unbuilt, teardown_model)

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_zero_width),
        cmocka_unit_test(test_create_allocator_missing_function),
        cmocka_unit_test(test_create_null_allocator_is_default),
        cmocka_unit_test(test_create_custom_allocator_balanced),
        cmocka_unit_test(test_queries_null_model),
        cmocka_unit_test(test_queries_before_and_after_build),
        UNBUILT(test_add_null_arguments),
        UNBUILT(test_add_dense_zero_units),
        UNBUILT(test_add_dense_bad_enums),
        UNBUILT(test_add_leaky_alpha_not_finite),
        UNBUILT(test_add_activation_bad_enum),
        UNBUILT(test_add_batchnorm_momentum),
        UNBUILT(test_add_batchnorm_epsilon),
        UNBUILT(test_add_batchnorm_bad_estimator),
        BUILT(test_add_after_build),
        cmocka_unit_test(test_build_null),
        UNBUILT(test_build_max_batch_zero),
        cmocka_unit_test(test_build_empty_model),
        BUILT(test_build_twice),
        UNBUILT(test_build_overflow),
        UNBUILT(test_build_overflow_in_output_block),
        cmocka_unit_test(test_build_allocation_failures),
        UNBUILT(test_not_built),
        BUILT(test_forward_null_arguments),
        BUILT(test_forward_x_shape),
        BUILT(test_forward_out_shape),
        BUILT(test_forward_batch_too_large),
        BUILT(test_forward_not_finite),
        BUILT(test_forward_training_one_row),
        BUILT(test_forward_modes),
        BUILT(test_forward_bad_mode),
        BUILT(test_forward_frozen_batchnorm_one_row),
        BUILT(test_train_step_bad_labels),
        BUILT(test_train_step_labels_not_finite),
        BUILT(test_train_step_x_not_finite),
        BUILT(test_train_step_shapes),
        BUILT(test_train_step_null_arguments),
        BUILT(test_train_step_learning_rate),
        BUILT(test_train_step_momentum_range),
        BUILT(test_train_step_failure_keeps_optimizer_state),
        BUILT(test_train_step_one_row_batchnorm),
        BUILT(test_train_step_diverged),
        BUILT(test_fit_diverged),
        BUILT(test_loss_gradients_errors),
        BUILT(test_loss_gradients_changes_nothing),
        BUILT(test_evaluate_errors),
        BUILT(test_evaluate_any_rows),
        BUILT(test_predict_errors),
        BUILT(test_predict_matches_forward),
        BUILT(test_fit_null_arguments),
        BUILT(test_fit_epochs_zero),
        BUILT(test_fit_batch_size),
        BUILT(test_fit_shapes),
        BUILT(test_fit_bad_data),
        BUILT(test_fit_bad_optimizer),
        BUILT(test_fit_validation_half_given),
        BUILT(test_fit_validation_bad),
        BUILT(test_fit_history_null_allowed),
        BUILT(test_fit_callback_stops),
        BUILT(test_fit_history_records),
        BUILT(test_fit_trailing_one_row_batchnorm),
        cmocka_unit_test(test_fit_trailing_one_row_plain),
        BUILT(test_fit_batchnorm_needs_two_rows),
        cmocka_unit_test(test_fit_out_of_memory),
        cmocka_unit_test(test_fit_diverges_in_second_epoch),
        BUILT(test_layer_info),
        BUILT(test_set_trainable_errors),
        BUILT(test_set_trainable_counts),
        BUILT(test_get_weights_errors),
        BUILT(test_get_weights_initial_values),
        cmocka_unit_test(test_weights_missing_by_config),
        BUILT(test_set_weights_errors),
        BUILT(test_weights_roundtrip_and_param_order),
        BUILT(test_params_errors),
        BUILT(test_summary_null),
        BUILT(test_summary_writes),
        UNBUILT(test_summary_unbuilt),
        BUILT(test_summary_io_error),
        cmocka_unit_test(test_same_seed_same_params),
        cmocka_unit_test(test_different_seed_different_params),
        cmocka_unit_test(test_same_seed_same_history),
        cmocka_unit_test(test_shuffle_changes_training),
        BUILT(test_frozen_batchnorm_fit),
        BUILT(test_unfrozen_batchnorm_fit),
        BUILT(test_reset_optimizer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
