/* test_weight_panels.c - the dense kernels' panels (src/model/panels.c): training with training
 * panels (packed by the optimizer's pass) gives the very bits of training without any panels
 * (parameters, optimizer state, losses, outputs) for SGD with momentum and Adam, float32 and bf16,
 * 1 and 2 threads, odd widths, and batch sizes that change between steps; and after every other
 * way of writing the parameters the panels are never stale: the outputs (and a training pass's
 * gradients) equal those of the same model without panels. Tiny models get no panels. */
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "support.h"

#define MAX_ROWS 64

/* A model in_-h1-BN-ReLU-h2-BN-ReLU-1 sigmoid, built for MAX_ROWS rows (seed 7). */
static bnmlp_model *make_model(size_t in, size_t h1, size_t h2, bnmlp_training_panels training_panels,
                               size_t threads, bnmlp_precision precision) {
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(in, &status);
    assert_non_null(model);
    const size_t units[2] = {h1, h2};
    for (size_t l = 0; l < 2; l++) {
        const bnmlp_dense_config dense = BNMLP_DENSE_DEFAULT(units[l]);
        const bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
        assert_ok(bnmlp_model_add_dense(model, &dense));
        assert_ok(bnmlp_model_add_batchnorm(model, &bn));
        assert_ok(bnmlp_model_add_activation(model, BNMLP_ACTIVATION_RELU, 0.0f));
    }
    const bnmlp_dense_config head = BNMLP_DENSE_DEFAULT(1);
    assert_ok(bnmlp_model_add_dense(model, &head));
    assert_ok(bnmlp_model_add_activation(model, BNMLP_ACTIVATION_SIGMOID, 0.0f));
    assert_ok(bnmlp_model_set_training_panels(model, training_panels));
    assert_ok(bnmlp_model_set_precision(model, precision)); /* before build: it plans the panels */
    assert_ok(bnmlp_model_build(model, MAX_ROWS, 7));
    assert_ok(bnmlp_model_set_threads(model, threads));
    return model;
}

/* A batch of rows rows: x (rows, in) and 0/1 targets, from seed. */
typedef struct batch {
    float x[MAX_ROWS * 512], y[MAX_ROWS];
    bnmlp_tensor tx, ty;
} batch;

static void make_batch(batch *b, size_t rows, size_t in, uint32_t seed) {
    bnmlp_test_fill(b->x, rows * in, seed);
    for (size_t r = 0; r < rows; r++) b->y[r] = (float)((r * 7 + seed) % 3 == 0);
    b->tx = (bnmlp_tensor){.data = b->x, .rows = rows, .cols = in};
    b->ty = (bnmlp_tensor){.data = b->y, .rows = rows, .cols = 1};
}

/* Asserts n floats equal bit for bit. */
static void assert_same_bits(const float *a, const float *b, size_t n, const char *what) {
    if (memcmp(a, b, n * sizeof *a) != 0) {
        for (size_t i = 0; i < n; i++)
            if (memcmp(a + i, b + i, sizeof *a) != 0) {
                print_error("%s differs at %zu: %.9g vs %.9g\n", what, i, (double)a[i], (double)b[i]);
                break;
            }
        fail();
    }
}

/* The model's predictions of x (rows, in) into out. */
static void predict(bnmlp_model *model, const bnmlp_tensor *x, float *out) {
    bnmlp_tensor t = {.data = out, .rows = x->rows, .cols = 1};
    assert_ok(bnmlp_model_predict(model, x, &t));
}

/* Trains a model with training panels and one without panels alike and compares everything
 * after every step. */
static void check_training_bits(size_t in, size_t h1, size_t h2, bnmlp_optimizer_kind kind,
                                bnmlp_precision precision, size_t threads) {
    bnmlp_model *with = make_model(in, h1, h2, BNMLP_TRAINING_PANELS_ON, threads, precision);
    bnmlp_model *without = make_model(in, h1, h2, BNMLP_TRAINING_PANELS_ON, threads, precision);
    assert_non_null(with->panel_block);
    bnmlp_model_use_panels(without, false);
    bnmlp_optimizer_config optimizer;
    assert_ok(bnmlp_optimizer_defaults(kind, &optimizer));
    if (kind == BNMLP_OPTIMIZER_SGD) assert_ok(bnmlp_optimizer_set(&optimizer, "momentum", 0.9));
    assert_ok(bnmlp_optimizer_set(&optimizer, "learning_rate", 0.05));
    static batch b;
    static const size_t rows[] = {MAX_ROWS, MAX_ROWS, 37, MAX_ROWS, 9, 64, 63};
    const size_t count = bnmlp_model_param_count(with);
    const size_t slots = bnmlp_model_optimizer_state_count(with, kind);
    float *p1 = malloc(count * sizeof *p1), *p2 = malloc(count * sizeof *p2);
    float *s1 = malloc(slots * sizeof *s1), *s2 = malloc(slots * sizeof *s2);
    float o1[MAX_ROWS], o2[MAX_ROWS];
    for (size_t step = 0; step < sizeof rows / sizeof rows[0]; step++) {
        make_batch(&b, rows[step], in, (uint32_t)(100 + step));
        float loss1, loss2, acc1, acc2;
        assert_ok(bnmlp_model_train_step(with, &b.tx, &b.ty, &optimizer, &loss1, &acc1));
        assert_ok(bnmlp_model_train_step(without, &b.tx, &b.ty, &optimizer, &loss2, &acc2));
        /* The step packed the next step's panels: they are current. */
        assert_true(bnmlp_model_panels_usable(with, true));
        assert_same_bits(&loss1, &loss2, 1, "loss");
        assert_ok(bnmlp_model_get_params(with, p1, count));
        assert_ok(bnmlp_model_get_params(without, p2, count));
        assert_same_bits(p1, p2, count, "parameters");
        bnmlp_optimizer_kind k1, k2;
        uint64_t t1, t2;
        assert_ok(bnmlp_model_get_optimizer_state(with, &k1, &t1, s1, slots));
        assert_ok(bnmlp_model_get_optimizer_state(without, &k2, &t2, s2, slots));
        assert_same_bits(s1, s2, slots, "optimizer state");
        predict(with, &b.tx, o1);
        predict(without, &b.tx, o2);
        assert_same_bits(o1, o2, rows[step], "outputs");
    }
    free(p1), free(p2), free(s1), free(s2);
    bnmlp_model_free(with);
    bnmlp_model_free(without);
}

static void test_training_with_panels_is_bit_identical(void **state) {
    (void)state;
    const bnmlp_optimizer_kind kinds[] = {BNMLP_OPTIMIZER_SGD, BNMLP_OPTIMIZER_ADAM};
    const bnmlp_precision precisions[] = {BNMLP_PRECISION_FP32, BNMLP_PRECISION_BF16};
    for (size_t k = 0; k < 2; k++)
        for (size_t p = 0; p < 2; p++)
            for (size_t threads = 1; threads <= 2; threads++) {
                /* Odd widths: edge panels, an odd K for bf16. */
                check_training_bits(37, 45, 70, kinds[k], precisions[p], threads);
                /* Wide enough that two threads split the optimizer's pass inside a kernel (mid-row):
                 * only two threads can. */
                if (threads == 2) check_training_bits(301, 331, 47, kinds[k], precisions[p], threads);
            }
}

/* The outputs of x and a training pass's gradients with the model's panels (packed again when
 * needed, or stale if a write forgot to say so) against the same model without panels. */
static void check_not_stale(bnmlp_model *model, const batch *b) {
    const size_t count = bnmlp_model_param_count(model);
    float *g1 = malloc(count * sizeof *g1), *g2 = malloc(count * sizeof *g2);
    float o1[MAX_ROWS], o2[MAX_ROWS], loss1, loss2;
    predict(model, &b->tx, o1);
    assert_ok(bnmlp_model_loss_gradients(model, &b->tx, &b->ty, &loss1, g1, count));
    bnmlp_model_use_panels(model, false);
    predict(model, &b->tx, o2);
    assert_ok(bnmlp_model_loss_gradients(model, &b->tx, &b->ty, &loss2, g2, count));
    bnmlp_model_use_panels(model, true);
    assert_same_bits(o1, o2, b->tx.rows, "outputs");
    assert_same_bits(&loss1, &loss2, 1, "loss");
    assert_same_bits(g1, g2, count, "gradients");
    free(g1), free(g2);
}

/* A model with training panels after 3 steps (panels current), and a batch. */
static bnmlp_model *trained(batch *b, bnmlp_precision precision) {
    bnmlp_model *model = make_model(37, 45, 70, BNMLP_TRAINING_PANELS_ON, 2, precision);
    bnmlp_optimizer_config optimizer;
    assert_ok(bnmlp_optimizer_defaults(BNMLP_OPTIMIZER_SGD, &optimizer));
    assert_ok(bnmlp_optimizer_set(&optimizer, "momentum", 0.9));
    make_batch(b, 40, 37, 5);
    for (size_t step = 0; step < 3; step++)
        assert_ok(bnmlp_model_train_step(model, &b->tx, &b->ty, &optimizer, NULL, NULL));
    assert_true(bnmlp_model_panels_usable(model, true));
    float out[MAX_ROWS];
    predict(model, &b->tx, out); /* inference reads them too */
    return model;
}

/* The parameters scaled by factor (all of them, kernels included). */
static void scale_params(bnmlp_model *model, float factor) {
    const size_t count = bnmlp_model_param_count(model);
    float *p = malloc(count * sizeof *p);
    assert_ok(bnmlp_model_get_params(model, p, count));
    for (size_t i = 0; i < count; i++) p[i] *= factor;
    assert_ok(bnmlp_model_set_params(model, p, count));
    free(p);
}

static void test_set_params(void **state) {
    (void)state;
    static batch b;
    for (size_t p = 0; p < 2; p++) {
        bnmlp_model *model = trained(&b, p ? BNMLP_PRECISION_BF16 : BNMLP_PRECISION_FP32);
        scale_params(model, 0.75f);
        check_not_stale(model, &b);
        bnmlp_model_free(model);
    }
}

static void test_set_weights_and_set_array(void **state) {
    (void)state;
    static batch b;
    bnmlp_model *model = trained(&b, BNMLP_PRECISION_FP32);
    float kernel[45 * 70];
    bnmlp_test_fill(kernel, 45 * 70, 99);
    assert_ok(bnmlp_model_set_weights(model, 3, BNMLP_WEIGHT_KERNEL, kernel, 45 * 70));
    check_not_stale(model, &b);
    bnmlp_test_fill(kernel, 37 * 45, 98);
    assert_ok(bnmlp_model_set_array(model, 0, BNMLP_ARRAY_KERNEL, kernel, 37 * 45));
    check_not_stale(model, &b);
    bnmlp_model_free(model);
}

static void test_snapshot_restore(void **state) {
    (void)state;
    static batch b;
    bnmlp_model *model = trained(&b, BNMLP_PRECISION_FP32);
    float *snapshot = malloc(bnmlp_model_snapshot_floats(model) * sizeof *snapshot);
    bnmlp_model_snapshot_save(model, snapshot);
    bnmlp_optimizer_config optimizer = BNMLP_OPTIMIZER_DEFAULT;
    for (size_t step = 0; step < 2; step++)
        assert_ok(bnmlp_model_train_step(model, &b.tx, &b.ty, &optimizer, NULL, NULL));
    bnmlp_model_snapshot_restore(model, snapshot); /* early stopping's restore_best_weights */
    check_not_stale(model, &b);
    free(snapshot);
    bnmlp_model_free(model);
}

static void test_file_load(void **state) {
    (void)state;
    static batch b;
    bnmlp_model *model = trained(&b, BNMLP_PRECISION_BF16);
    size_t size;
    assert_ok(bnmlp_model_save_buffer(model, true, NULL, 0, &size));
    void *bytes = malloc(size);
    assert_ok(bnmlp_model_save_buffer(model, true, bytes, size, &size));
    bnmlp_status status;
    bnmlp_model *loaded = bnmlp_model_load_buffer(bytes, size, NULL, NULL, &status);
    assert_non_null(loaded);
    float o1[MAX_ROWS], o2[MAX_ROWS];
    predict(loaded, &b.tx, o1);
    bnmlp_model_use_panels(model, false);
    predict(model, &b.tx, o2);
    assert_same_bits(o1, o2, b.tx.rows, "loaded outputs");
    check_not_stale(loaded, &b);
    free(bytes);
    bnmlp_model_free(loaded);
    bnmlp_model_free(model);
}

static void test_precision_change(void **state) {
    (void)state;
    static batch b;
    bnmlp_model *model = trained(&b, BNMLP_PRECISION_FP32);
    assert_ok(bnmlp_model_set_precision(model, BNMLP_PRECISION_BF16));
    check_not_stale(model, &b);
    assert_ok(bnmlp_model_set_precision(model, BNMLP_PRECISION_FP32));
    check_not_stale(model, &b);
    bnmlp_model_free(model);
}

static void test_refused_step(void **state) {
    (void)state;
    static batch b;
    bnmlp_model *model = trained(&b, BNMLP_PRECISION_FP32);
    const size_t count = bnmlp_model_param_count(model);
    float *before = malloc(count * sizeof *before), *after = malloc(count * sizeof *after);
    assert_ok(bnmlp_model_get_params(model, before, count));
    bnmlp_optimizer_config optimizer;
    assert_ok(bnmlp_optimizer_defaults(BNMLP_OPTIMIZER_SGD, &optimizer));
    assert_ok(bnmlp_optimizer_set(&optimizer, "learning_rate", 1e30));
    assert_ok(bnmlp_optimizer_set(&optimizer, "weight_decay", 1e30)); /* lr (g + decay w) overflows */
    /* The pass wrote the panels from the refused values before it refused them. */
    assert_status(bnmlp_model_train_step(model, &b.tx, &b.ty, &optimizer, NULL, NULL), BNMLP_ERR_DIVERGED);
    assert_ok(bnmlp_model_get_params(model, after, count));
    assert_same_bits(before, after, count, "parameters after a refused step");
    assert_false(bnmlp_model_panels_usable(model, false));
    check_not_stale(model, &b);
    free(before), free(after);
    bnmlp_model_free(model);
}

/* A one-rank transport whose broadcast of the parameters hands out other values (what rank 0
 * holds); the sums are the identity. */
typedef struct fake_rank {
    size_t param_bytes;
    float factor;
} fake_rank;

static bnmlp_status sum_doubles(void *context, double *values, size_t count) {
    (void)context, (void)values, (void)count;
    return BNMLP_OK;
}
static bnmlp_status sum_floats(void *context, float *values, size_t count) {
    (void)context, (void)values, (void)count;
    return BNMLP_OK;
}
static bnmlp_status max_ints(void *context, int *values, size_t count) {
    (void)context, (void)values, (void)count;
    return BNMLP_OK;
}
static bnmlp_status broadcast(void *context, void *bytes, size_t size, int root) {
    (void)root;
    const fake_rank *rank = context;
    if (size == rank->param_bytes) {
        float *p = bytes;
        for (size_t i = 0; i < size / sizeof *p; i++) p[i] *= rank->factor;
    }
    return BNMLP_OK;
}

static void test_collective_broadcast(void **state) {
    (void)state;
    static batch b;
    bnmlp_model *model = trained(&b, BNMLP_PRECISION_FP32);
    fake_rank rank = {.param_bytes = bnmlp_model_param_count(model) * sizeof(float), .factor = 0.5f};
    const bnmlp_collective collective = {.allreduce_sum_double = sum_doubles,
                                         .allreduce_sum_float = sum_floats,
                                         .allreduce_max_int = max_ints,
                                         .broadcast = broadcast,
                                         .context = &rank,
                                         .rank = 0,
                                         .size = 1};
    assert_ok(bnmlp_model_set_collective(model, &collective));
    check_not_stale(model, &b);
    bnmlp_model_free(model);
}

static void test_default_policy_trains_bf16_with_panels(void **state) {
    (void)state;
    static batch b;
    make_batch(&b, 40, 37, 3);
    bnmlp_optimizer_config optimizer = BNMLP_OPTIMIZER_DEFAULT;
    /* Built bf16: the input gradient's panels are planned; built fp32 (the default), only the
     * forward's (an fp32 step would never read the others). */
    bnmlp_model *built_bf16 = make_model(37, 45, 70, BNMLP_TRAINING_PANELS_BF16, 1, BNMLP_PRECISION_BF16);
    assert_non_null(built_bf16->layers[3].panels[BNMLP_PANEL_INPUT_GRADIENT]);
    bnmlp_model_free(built_bf16);
    bnmlp_model *model = make_model(37, 45, 70, BNMLP_TRAINING_PANELS_BF16, 1, BNMLP_PRECISION_FP32);
    assert_non_null(model->layers[3].panels[BNMLP_PANEL_FORWARD]);
    assert_null(model->layers[3].panels[BNMLP_PANEL_INPUT_GRADIENT]);
    /* fp32: the step packs nothing, the products pack as without panels; inference packs them. */
    assert_ok(bnmlp_model_train_step(model, &b.tx, &b.ty, &optimizer, NULL, NULL));
    assert_false(bnmlp_model_panels_usable(model, false));
    float out[MAX_ROWS];
    predict(model, &b.tx, out);
    assert_true(bnmlp_model_panels_usable(model, false));
    assert_false(bnmlp_model_panels_usable(model, true));
    /* Switched to bf16 after build: the input gradient's panels are planned then, training reads
     * them and the step packs the next ones; back to fp32, they go again. */
    assert_ok(bnmlp_model_set_precision(model, BNMLP_PRECISION_BF16));
    assert_non_null(model->layers[3].panels[BNMLP_PANEL_INPUT_GRADIENT]);
    assert_ok(bnmlp_model_set_precision(model, BNMLP_PRECISION_FP32));
    assert_null(model->layers[3].panels[BNMLP_PANEL_INPUT_GRADIENT]);
    assert_ok(bnmlp_model_set_precision(model, BNMLP_PRECISION_BF16));
    assert_non_null(model->layers[3].panels[BNMLP_PANEL_INPUT_GRADIENT]);
    assert_ok(bnmlp_model_train_step(model, &b.tx, &b.ty, &optimizer, NULL, NULL));
    assert_true(bnmlp_model_panels_usable(model, true));
    check_not_stale(model, &b);
    bnmlp_model_free(model);
}

static void test_public_switch(void **state) {
    (void)state;
    assert_status(bnmlp_model_set_weight_panels(NULL, false), BNMLP_ERR_NULL_ARGUMENT);
    /* Off before build: none planned; the same training as a model with them. */
    bnmlp_status status;
    bnmlp_model *models[2];
    for (size_t i = 0; i < 2; i++) {
        models[i] = bnmlp_model_create(37, &status);
        const bnmlp_dense_config hidden = BNMLP_DENSE_DEFAULT(45), head = BNMLP_DENSE_DEFAULT(1);
        assert_ok(bnmlp_model_add_dense(models[i], &hidden));
        assert_ok(bnmlp_model_add_dense(models[i], &hidden));
        assert_ok(bnmlp_model_add_dense(models[i], &head));
        assert_ok(bnmlp_model_set_weight_panels(models[i], i == 1));
        assert_ok(bnmlp_model_build(models[i], MAX_ROWS, 3));
        assert_ok(bnmlp_model_set_precision(models[i], BNMLP_PRECISION_BF16));
    }
    assert_null(models[0]->panel_block);
    assert_non_null(models[1]->panel_block);
    static batch b;
    make_batch(&b, 50, 37, 8);
    bnmlp_optimizer_config optimizer = BNMLP_OPTIMIZER_DEFAULT;
    float loss[2], out[2][MAX_ROWS];
    for (size_t step = 0; step < 3; step++)
        for (size_t i = 0; i < 2; i++)
            assert_ok(bnmlp_model_train_step(models[i], &b.tx, &b.ty, &optimizer, &loss[i], NULL));
    assert_true(bnmlp_model_panels_usable(models[1], true));
    for (size_t i = 0; i < 2; i++) predict(models[i], &b.tx, out[i]);
    assert_same_bits(&loss[0], &loss[1], 1, "loss");
    assert_same_bits(out[0], out[1], b.tx.rows, "outputs");
    /* Off after build: not used; back on: packed again. */
    assert_ok(bnmlp_model_set_weight_panels(models[1], false));
    assert_false(bnmlp_model_panels_usable(models[1], false));
    predict(models[1], &b.tx, out[1]);
    assert_false(bnmlp_model_panels_usable(models[1], false));
    assert_ok(bnmlp_model_set_weight_panels(models[1], true));
    predict(models[1], &b.tx, out[1]);
    assert_true(bnmlp_model_panels_usable(models[1], false));
    assert_same_bits(out[0], out[1], b.tx.rows, "outputs");
    for (size_t i = 0; i < 2; i++) bnmlp_model_free(models[i]);
}

static void test_tiny_models_get_no_panels(void **state) {
    (void)state;
    /* The tutorial's 2-50-BN-1 at batch 32: every product is direct. */
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(2, &status);
    const bnmlp_dense_config hidden = BNMLP_DENSE_DEFAULT(50), head = BNMLP_DENSE_DEFAULT(1);
    const bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
    assert_ok(bnmlp_model_add_dense(model, &hidden));
    assert_ok(bnmlp_model_add_batchnorm(model, &bn));
    assert_ok(bnmlp_model_add_activation(model, BNMLP_ACTIVATION_RELU, 0.0f));
    assert_ok(bnmlp_model_add_dense(model, &head));
    assert_ok(bnmlp_model_set_training_panels(model, BNMLP_TRAINING_PANELS_ON));
    assert_status(bnmlp_model_set_training_panels(model, (bnmlp_training_panels)7),
                  BNMLP_ERR_INVALID_ARGUMENT);
    assert_ok(bnmlp_model_build(model, 32, 1));
    assert_null(model->panel_block);
    assert_status(bnmlp_model_set_training_panels(model, BNMLP_TRAINING_PANELS_OFF), BNMLP_ERR_ALREADY_BUILT);
    bnmlp_model_free(model);
    /* Training panels off: only the forward's panels, none for the input gradient. */
    model = make_model(37, 45, 70, BNMLP_TRAINING_PANELS_OFF, 1, BNMLP_PRECISION_FP32);
    for (size_t i = 0; i < model->layer_count; i++)
        assert_null(model->layers[i].panels[BNMLP_PANEL_INPUT_GRADIENT]);
    assert_non_null(model->layers[3].panels[BNMLP_PANEL_FORWARD]);
    bnmlp_model_free(model);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_training_with_panels_is_bit_identical),
        cmocka_unit_test(test_set_params),
        cmocka_unit_test(test_set_weights_and_set_array),
        cmocka_unit_test(test_snapshot_restore),
        cmocka_unit_test(test_file_load),
        cmocka_unit_test(test_precision_change),
        cmocka_unit_test(test_refused_step),
        cmocka_unit_test(test_collective_broadcast),
        cmocka_unit_test(test_default_policy_trains_bf16_with_panels),
        cmocka_unit_test(test_public_switch),
        cmocka_unit_test(test_tiny_models_get_no_panels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
