/* test_bn_relu_fusion.c - batch norm with a ReLU right after it, run as one pair
 * (bnmlp_layer_ops.fuse_next): which pairs fuse; the fused kernels of every instruction set this
 * machine has against the unfused pair (the row's batch-norm entry then its ReLU loop) and
 * against their references, bit for bit, for odd widths and batches of 1 to 256; and whole
 * models (fp32 and bf16, 1 and 2 threads, training and inference, a frozen batch norm) fused and
 * with the fusion switched off: the same parameters, statistics and outputs, bit for bit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/isa.h"
#include "kernels/kernels.h"
#include "model/model.h"
#include "support.h"

/* ---- the kernels ---------------------------------------------------------------------------------- */

typedef struct shape {
    size_t batch, width, stride;
} shape;

static const shape shapes[] = {
    {1, 1, 1},   {3, 3, 3},   {32, 50, 50},     {3, 50, 57},       {256, 50, 50},   {32, 16, 16},
    {1, 64, 64}, {3, 65, 65}, {32, 100, 100},   {256, 1023, 1023}, {3, 1023, 1024}, {1, 1024, 1024},
    {7, 17, 19}, {256, 2, 2}, {32, 1024, 1024}, {2, 513, 513},
};
#define SHAPE_COUNT (sizeof shapes / sizeof shapes[0])

/* The buffers of one shape, filled so that the ReLU's mask bites: some outputs exactly 0 (x at
 * the mean with beta 0), about half negative, some dz -0.0. */
typedef struct buffers {
    float *x, *dz, *y, *z, *dy, *out, *out_ref, *mean, *rstd, *gamma, *beta;
    double *sums[2], *sums_ref[2];
} buffers;

static buffers make(shape s) {
    const size_t n = s.batch * s.stride, w = s.width;
    buffers b;
    float **floats[] = {&b.x, &b.dz, &b.y, &b.z, &b.dy, &b.out, &b.out_ref};
    for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++) *floats[i] = calloc(n, sizeof(float));
    float **features[] = {&b.mean, &b.rstd, &b.gamma, &b.beta};
    for (size_t i = 0; i < 4; i++) *features[i] = calloc(w, sizeof(float));
    for (size_t i = 0; i < 2; i++)
        b.sums[i] = calloc(w, sizeof(double)), b.sums_ref[i] = calloc(w, sizeof(double));
    bnmlp_test_fill(b.x, n, 21), bnmlp_test_fill(b.dz, n, 22), bnmlp_test_fill(b.mean, w, 23);
    bnmlp_test_fill(b.rstd, w, 24), bnmlp_test_fill(b.gamma, w, 25), bnmlp_test_fill(b.beta, w, 26);
    for (size_t c = 0; c < w; c++) {
        b.rstd[c] = 0.5f + fabsf(b.rstd[c]) * 3.0f;
        if (c % 3 == 0) b.beta[c] = 0.0f;
    }
    for (size_t r = 0; r < s.batch; r++)
        for (size_t c = 0; c < w; c++) {
            if ((r + c) % 5 == 0) b.x[r * s.stride + c] = b.mean[c]; /* y = beta */
            if ((r * 7 + c) % 11 == 0) b.dz[r * s.stride + c] = -0.0f;
        }
    return b;
}

static void release(buffers *b) {
    float *floats[] = {b->x,       b->dz,   b->y,    b->z,     b->dy,  b->out,
                       b->out_ref, b->mean, b->rstd, b->gamma, b->beta};
    for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++) free(floats[i]);
    for (size_t i = 0; i < 2; i++) free(b->sums[i]), free(b->sums_ref[i]);
}

/* Rows of (batch, stride) equal in their first width columns, bit for bit. */
static void assert_rows_equal(const float *a, const float *b, shape s) {
    for (size_t r = 0; r < s.batch; r++)
        assert_memory_equal(a + r * s.stride, b + r * s.stride, s.width * sizeof *a);
}

/* The ReLU's loops of row isa over each row's width columns (y, z or dy, dz as its layer). */
static void relu_forward_rows(const bnmlp_isa *isa, float *z, const float *y, shape s) {
    for (size_t r = 0; r < s.batch; r++) BNMLP_ISA_ENTRY(isa, activation_forward[BNMLP_ACTIVATION_RELU])
    (z + r * s.stride, y + r * s.stride, s.width, 0.0f);
}
static void relu_backward_rows(const bnmlp_isa *isa, float *dy, const float *dz, const float *y, shape s) {
    for (size_t r = 0; r < s.batch; r++) BNMLP_ISA_ENTRY(isa, activation_backward[BNMLP_ACTIVATION_RELU])
    (dy + r * s.stride, dz + r * s.stride, y + r * s.stride, NULL, s.width, 0.0f);
}

/* One shape on one row, with gamma and beta given or NULL. */
static void check_shape(const bnmlp_isa *isa, shape s, bool affine) {
    buffers b = make(s);
    const float *gamma = affine ? b.gamma : NULL, *beta = affine ? b.beta : NULL;
    const size_t w = s.width;
    /* forward: normalize then relu == normalize_relu == its reference */
    BNMLP_ISA_ENTRY(isa, batchnorm_normalize)(b.y, b.x, b.mean, b.rstd, gamma, beta, s.batch, s.stride, w);
    relu_forward_rows(isa, b.z, b.y, s);
    BNMLP_ISA_ENTRY(isa, batchnorm_normalize_relu)
    (b.out, b.x, b.mean, b.rstd, gamma, beta, s.batch, s.stride, w);
    assert_rows_equal(b.out, b.z, s);
    bnmlp_batchnorm_normalize_relu_reference(b.out_ref, b.x, b.mean, b.rstd, gamma, beta, s.batch, s.stride,
                                             w);
    assert_rows_equal(b.out_ref, b.z, s);
    size_t zeros = 0;
    for (size_t r = 0; r < s.batch; r++)
        for (size_t c = 0; c < w; c++) zeros += b.z[r * s.stride + c] == 0.0f;
    if (s.batch * w >= 16) assert_true(zeros > 0 && zeros < s.batch * w); /* the mask bites */
    /* backward sums: relu backward then the sums == the fused sums, from nonzero starts */
    relu_backward_rows(isa, b.dy, b.dz, b.y, s);
    for (size_t c = 0; c < w; c++)
        for (size_t i = 0; i < 2; i++)
            b.sums[i][c] = b.sums_ref[i][c] = 0.25 * (double)(c % 7) - 0.5 * (double)i;
    BNMLP_ISA_ENTRY(isa, batchnorm_backward_sums)
    (b.sums_ref[0], b.sums_ref[1], b.dy, b.x, b.mean, b.rstd, s.batch, s.stride, w);
    BNMLP_ISA_ENTRY(isa, batchnorm_backward_sums_relu)
    (b.sums[0], b.sums[1], b.dz, b.z, b.x, b.mean, b.rstd, s.batch, s.stride, w);
    for (size_t i = 0; i < 2; i++) assert_memory_equal(b.sums[i], b.sums_ref[i], w * sizeof(double));
    for (size_t c = 0; c < w; c++)
        for (size_t i = 0; i < 2; i++) b.sums[i][c] = 0.25 * (double)(c % 7) - 0.5 * (double)i;
    bnmlp_batchnorm_partial_backward_relu_reference(b.sums[0], b.sums[1], b.dz, b.z, b.x, b.mean, b.rstd,
                                                    s.batch, s.stride, w);
    for (size_t i = 0; i < 2; i++) assert_memory_equal(b.sums[i], b.sums_ref[i], w * sizeof(double));
    /* finish (training mode) and the inference gradient (frozen) */
    const double count = (double)s.batch + 1.0;
    BNMLP_ISA_ENTRY(isa, batchnorm_finish_backward)
    (b.out_ref, b.sums_ref[0], b.sums_ref[1], b.dy, b.x, b.mean, b.rstd, gamma, count, s.batch, s.stride, w);
    BNMLP_ISA_ENTRY(isa, batchnorm_finish_backward_relu)
    (b.out, b.sums_ref[0], b.sums_ref[1], b.dz, b.z, b.x, b.mean, b.rstd, gamma, count, s.batch, s.stride, w);
    assert_rows_equal(b.out, b.out_ref, s);
    bnmlp_batchnorm_finish_backward_relu_reference(b.out, b.sums_ref[0], b.sums_ref[1], b.dz, b.z, b.x,
                                                   b.mean, b.rstd, gamma, count, s.batch, s.stride, w);
    assert_rows_equal(b.out, b.out_ref, s);
    BNMLP_ISA_ENTRY(isa, batchnorm_inference_gradient)(b.out_ref, b.dy, b.rstd, gamma, s.batch, s.stride, w);
    BNMLP_ISA_ENTRY(isa, batchnorm_inference_gradient_relu)
    (b.out, b.dz, b.z, b.rstd, gamma, s.batch, s.stride, w);
    assert_rows_equal(b.out, b.out_ref, s);
    bnmlp_batchnorm_inference_gradient_relu_reference(b.out, b.dz, b.z, b.rstd, gamma, s.batch, s.stride, w);
    assert_rows_equal(b.out, b.out_ref, s);
    release(&b);
}

static void test_fused_kernels_match_the_unfused_pair(void **state) {
    (void)state;
    size_t rows = 0;
    for (size_t k = 0; k < bnmlp_isa_count(); k++) {
        const bnmlp_isa *isa = bnmlp_isa_at(k);
        if (!bnmlp_isa_available(isa)) continue;
        rows++;
        for (size_t i = 0; i < SHAPE_COUNT; i++) {
            check_shape(isa, shapes[i], true);
            check_shape(isa, shapes[i], false);
        }
    }
    assert_true(rows >= 1);
}

/* ---- which pairs fuse ------------------------------------------------------------------------------ */

/* A model 4 -> dense 6 (linear) -> batch norm -> [activation] -> dense 1 over layers given as
 * activation kinds after the batch norm (-1: none, then the dense). */
typedef struct pair_case {
    int after;       /* the activation after the batch norm, or -1 */
    bool fuses;      /* the batch norm fuses it */
    const char *why; /* for a failure */
} pair_case;

static void test_which_pairs_fuse(void **state) {
    (void)state;
    static const pair_case cases[] = {
        {BNMLP_ACTIVATION_RELU, true, "relu"},
        {BNMLP_ACTIVATION_LEAKY_RELU, false, "leaky relu: another kernel"},
        {BNMLP_ACTIVATION_SIGMOID, false, "sigmoid"},
        {BNMLP_ACTIVATION_LINEAR, false, "linear"},
        {-1, false, "a dense layer"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bnmlp_status status;
        bnmlp_model *model = bnmlp_model_create(4, &status);
        assert_ok(status);
        bnmlp_dense_config dense = BNMLP_DENSE_DEFAULT(6);
        dense.activation = BNMLP_ACTIVATION_LINEAR;
        assert_ok(bnmlp_model_add_dense(model, &dense));
        const bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
        assert_ok(bnmlp_model_add_batchnorm(model, &bn));
        if (cases[i].after >= 0)
            assert_ok(bnmlp_model_add_activation(model, (bnmlp_activation)cases[i].after, 0.3f));
        dense.units = 1;
        assert_ok(bnmlp_model_add_dense(model, &dense));
        assert_ok(bnmlp_model_set_loss(model, BNMLP_LOSS_MEAN_SQUARED_ERROR));
        assert_ok(bnmlp_model_build(model, 4, 3));
        size_t fused = 0;
        for (size_t l = 0; l < model->layer_count; l++) fused += model->layers[l].fuses_next;
        if (fused != (cases[i].fuses ? 1u : 0u)) fail_msg("case %s: %zu fused pairs", cases[i].why, fused);
        if (cases[i].fuses) assert_true(model->layers[1].fuses_next);
        bnmlp_model_free(model);
    }
    /* A batch norm last (nothing after it) and a relu first (no batch norm before it). */
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(4, &status);
    assert_ok(status);
    assert_ok(bnmlp_model_add_activation(model, BNMLP_ACTIVATION_RELU, 0.0f));
    const bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
    assert_ok(bnmlp_model_add_batchnorm(model, &bn));
    assert_ok(bnmlp_model_set_loss(model, BNMLP_LOSS_MEAN_SQUARED_ERROR));
    assert_ok(bnmlp_model_build(model, 4, 3));
    assert_false(model->layers[0].fuses_next);
    assert_false(model->layers[1].fuses_next);
    bnmlp_model_free(model);
}

/* ---- whole models: fused against unfused ---------------------------------------------------------- */

/* in -> [dense(width, linear) -> batch norm -> relu] x 2 -> dense 1 (MSE), SGD with momentum. */
static bnmlp_model *bn_relu_model(size_t in, size_t width, size_t max_batch, bnmlp_precision precision,
                                  size_t threads, bool fused) {
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(in, &status);
    assert_ok(status);
    for (int k = 0; k < 2; k++) {
        bnmlp_dense_config dense = BNMLP_DENSE_DEFAULT(width);
        dense.activation = BNMLP_ACTIVATION_LINEAR;
        assert_ok(bnmlp_model_add_dense(model, &dense));
        bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
        bn.momentum = 0.9f;
        assert_ok(bnmlp_model_add_batchnorm(model, &bn));
        assert_ok(bnmlp_model_add_activation(model, BNMLP_ACTIVATION_RELU, 0.0f));
    }
    bnmlp_dense_config last = BNMLP_DENSE_DEFAULT(1);
    last.activation = BNMLP_ACTIVATION_LINEAR;
    assert_ok(bnmlp_model_add_dense(model, &last));
    assert_ok(bnmlp_model_set_loss(model, BNMLP_LOSS_MEAN_SQUARED_ERROR));
    assert_ok(bnmlp_model_set_threads(model, threads));
    assert_ok(bnmlp_model_set_precision(model, precision));
    assert_ok(bnmlp_model_build(model, max_batch, 11));
    size_t pairs = 0;
    for (size_t i = 0; i < model->layer_count; i++) {
        pairs += model->layers[i].fuses_next;
        if (!fused) model->layers[i].fuses_next = false; /* the layers' own passes, one by one */
    }
    assert_int_equal(pairs, 2);
    return model;
}

/* Everything observable of a model after some steps: parameters, moving statistics, and the
 * outputs of an inference forward of x. */
typedef struct snapshot {
    float *params, *stats, *outputs;
    size_t param_count, stats_count, rows;
} snapshot;

static snapshot take(bnmlp_model *model, const float *x, size_t rows, size_t in) {
    snapshot s = {
        .param_count = bnmlp_model_param_count(model), .stats_count = model->stats_count, .rows = rows};
    s.params = malloc(s.param_count * sizeof(float));
    s.stats = malloc((s.stats_count ? s.stats_count : 1) * sizeof(float));
    s.outputs = malloc(rows * sizeof(float));
    assert_ok(bnmlp_model_get_params(model, s.params, s.param_count));
    if (s.stats_count) memcpy(s.stats, model->stats, s.stats_count * sizeof(float));
    bnmlp_tensor xs = bnmlp_tensor_view((float *)x, rows, in), out = bnmlp_tensor_view(s.outputs, rows, 1);
    assert_ok(bnmlp_model_predict(model, &xs, &out));
    return s;
}

static void assert_same(const snapshot *a, const snapshot *b) {
    assert_int_equal(a->param_count, b->param_count);
    assert_memory_equal(a->params, b->params, a->param_count * sizeof(float));
    assert_memory_equal(a->stats, b->stats, a->stats_count * sizeof(float));
    assert_memory_equal(a->outputs, b->outputs, a->rows * sizeof(float));
}

static void drop(snapshot *s) { free(s->params), free(s->stats), free(s->outputs); }

/* Steps of training (a frozen second batch norm when frozen) and an inference forward of x's
 * first `infer_rows` rows: unfused on 1 thread, fused on 1 and on 2 threads, all the same. */
static void check_model(size_t in, size_t width, size_t batch, size_t infer_rows, bnmlp_precision precision,
                        bool frozen) {
    float *x = malloc(batch * in * sizeof *x), *y = malloc(batch * sizeof *y);
    bnmlp_test_fill(x, batch * in, 31), bnmlp_test_fill(y, batch, 32);
    static const struct {
        bool fused;
        size_t threads;
    } runs[] = {{false, 1}, {true, 1}, {true, 2}, {false, 2}};
    snapshot s[4];
    for (size_t k = 0; k < 4; k++) {
        bnmlp_model *model = bn_relu_model(in, width, batch, precision, runs[k].threads, runs[k].fused);
        if (frozen) assert_ok(bnmlp_model_set_trainable(model, 4, false)); /* the second batch norm */
        bnmlp_optimizer_config sgd = BNMLP_OPTIMIZER_SGD_DEFAULT;
        sgd.sgd.momentum = 0.9f;
        sgd.sgd.learning_rate = 0.05f;
        bnmlp_tensor xs = bnmlp_tensor_view(x, batch, in), ys = bnmlp_tensor_view(y, batch, 1);
        for (int step = 0; step < 3; step++) {
            float loss;
            assert_ok(bnmlp_model_train_step(model, &xs, &ys, &sgd, &loss, NULL));
            assert_true(isfinite(loss));
        }
        s[k] = take(model, x, infer_rows, in);
        bnmlp_model_free(model);
        if (k) assert_same(&s[0], &s[k]);
    }
    for (size_t k = 0; k < 4; k++) drop(&s[k]);
    free(x), free(y);
}

static void test_models_fp32(void **state) {
    (void)state;
    check_model(5, 50, 3, 1, BNMLP_PRECISION_FP32, false);
    check_model(5, 50, 32, 3, BNMLP_PRECISION_FP32, false);
    check_model(7, 1023, 32, 32, BNMLP_PRECISION_FP32, false);
    check_model(5, 50, 32, 1, BNMLP_PRECISION_FP32, true);
}

static void test_models_bf16(void **state) {
    (void)state;
    check_model(5, 50, 32, 3, BNMLP_PRECISION_BF16, false);
    check_model(7, 1023, 3, 1, BNMLP_PRECISION_BF16, false);
    check_model(5, 50, 32, 32, BNMLP_PRECISION_BF16, true);
}

/* A big batch through the fused pair split over two threads (features in groups). */
static void test_model_batch_256(void **state) {
    (void)state;
    check_model(9, 100, 256, 256, BNMLP_PRECISION_FP32, false);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fused_kernels_match_the_unfused_pair),
        cmocka_unit_test(test_which_pairs_fuse),
        cmocka_unit_test(test_models_fp32),
        cmocka_unit_test(test_models_bf16),
        cmocka_unit_test(test_model_batch_256),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
