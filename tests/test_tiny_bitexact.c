/* test_tiny_bitexact.c - pins the exact bits of small models' training, for every instruction
 * set this machine runs: the tutorial's 2-50(relu)-BN-1 sigmoid model and 30-64-BN-ReLU-32-
 * ReLU-BN-1 sigmoid, SGD with momentum, batch 32 steps and a short last batch, then their
 * parameters, moving statistics, velocities, losses and inference outputs; and a short fit with
 * validation (the history and the weights). Each run is hashed (FNV-1a, 64 bits, over the bytes)
 * and compared with the hash the fp32 path gave before the small-width kernels and the per-call
 * savings of issue 19 (computed on main then and committed here): those changes must not move
 * one bit. The existing tests compare kernels with their references and models with PyTorch
 * within tolerances; this one catches any change of summation order or rounding in the whole
 * step. BNMLP_TINY_PRINT=1 prints the hashes instead of failing (to regenerate them on purpose). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/isa.h"
#include "support.h"

/* FNV-1a over bytes, continuing from h. */
static uint64_t fnv(uint64_t h, const void *data, size_t bytes) {
    const unsigned char *p = data;
    for (size_t i = 0; i < bytes; i++) h = (h ^ p[i]) * 1099511628211u;
    return h;
}
#define FNV_START 14695981039346656037u

typedef enum piece {
    PIECE_DENSE_LINEAR,
    PIECE_DENSE_RELU,
    PIECE_DENSE_SIGMOID,
    PIECE_BN,
    PIECE_RELU,
    PIECE_END
} piece;

typedef struct layer_piece {
    piece kind;
    size_t units;
} layer_piece;

static const layer_piece TUTORIAL[] = {
    {PIECE_DENSE_RELU, 50}, {PIECE_BN, 0}, {PIECE_DENSE_SIGMOID, 1}, {PIECE_END, 0}};
static const layer_piece MID[] = {{PIECE_DENSE_LINEAR, 64}, {PIECE_BN, 0},   {PIECE_RELU, 0},
                                  {PIECE_DENSE_LINEAR, 32}, {PIECE_RELU, 0}, {PIECE_BN, 0},
                                  {PIECE_DENSE_SIGMOID, 1}, {PIECE_END, 0}};

static bnmlp_model *make(size_t inputs, const layer_piece *spec, uint32_t seed) {
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(inputs, &status);
    assert_non_null(model);
    for (const layer_piece *p = spec; p->kind != PIECE_END; p++) {
        if (p->kind == PIECE_BN) {
            const bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
            assert_ok(bnmlp_model_add_batchnorm(model, &bn));
        } else if (p->kind == PIECE_RELU) {
            assert_ok(bnmlp_model_add_activation(model, BNMLP_ACTIVATION_RELU, 0.0f));
        } else {
            bnmlp_dense_config dense = BNMLP_DENSE_DEFAULT(p->units);
            dense.activation = p->kind == PIECE_DENSE_RELU      ? BNMLP_ACTIVATION_RELU
                               : p->kind == PIECE_DENSE_SIGMOID ? BNMLP_ACTIVATION_SIGMOID
                                                                : BNMLP_ACTIVATION_LINEAR;
            if (p->kind == PIECE_DENSE_RELU) dense.kernel_initializer = BNMLP_INIT_HE_UNIFORM;
            assert_ok(bnmlp_model_add_dense(model, &dense));
        }
    }
    assert_ok(bnmlp_model_build(model, 32, seed));
    return model;
}

/* rows x inputs values in [-1, 1) and 0/1 labels from a fixed rule of them. */
static void make_data(size_t rows, size_t inputs, uint32_t seed, bnmlp_tensor **x, bnmlp_tensor **y) {
    bnmlp_status status;
    *x = bnmlp_tensor_create(rows, inputs, &status);
    *y = bnmlp_tensor_create(rows, 1, &status);
    assert_non_null(*x);
    assert_non_null(*y);
    bnmlp_test_fill((*x)->data, rows * inputs, seed);
    for (size_t r = 0; r < rows; r++) {
        const float *row = (*x)->data + r * inputs;
        const float radius = row[0] * row[0] + row[inputs - 1] * row[inputs - 1];
        (*y)->data[r] = radius < 0.45f ? 1.0f : 0.0f;
    }
}

/* The hash of everything a model holds after training: parameters, the SGD velocities, and each
 * layer's moving statistics (when it has them). */
static uint64_t hash_model(const bnmlp_model *model, uint64_t h) {
    const size_t count = bnmlp_model_param_count(model);
    float *buffer = malloc(count * sizeof *buffer);
    assert_non_null(buffer);
    assert_ok(bnmlp_model_get_params(model, buffer, count));
    h = fnv(h, buffer, count * sizeof *buffer);
    bnmlp_optimizer_kind kind;
    uint64_t steps;
    assert_ok(bnmlp_model_get_optimizer_state(model, &kind, &steps, NULL, 0));
    const size_t state = bnmlp_model_optimizer_state_count(model, kind);
    float *velocity = malloc((state ? state : 1) * sizeof *velocity);
    assert_ok(bnmlp_model_get_optimizer_state(model, &kind, &steps, velocity, state));
    h = fnv(h, velocity, state * sizeof *velocity);
    free(velocity);
    for (size_t i = 0; i < bnmlp_model_layer_count(model); i++) {
        bnmlp_layer_info info;
        assert_ok(bnmlp_model_layer_info(model, i, &info));
        float moving[64];
        if (info.kind == BNMLP_LAYER_BATCHNORM &&
            bnmlp_model_get_weights(model, i, BNMLP_WEIGHT_MOVING_MEAN, moving, info.output_width) ==
                BNMLP_OK)
            h = fnv(h, moving, info.output_width * sizeof *moving);
        if (info.kind == BNMLP_LAYER_BATCHNORM &&
            bnmlp_model_get_weights(model, i, BNMLP_WEIGHT_MOVING_VARIANCE, moving, info.output_width) ==
                BNMLP_OK)
            h = fnv(h, moving, info.output_width * sizeof *moving);
    }
    free(buffer);
    return h;
}

/* Steps of batch 32 and one of 29 rows with SGD (lr 0.05, momentum 0.9), then inference. */
static uint64_t run_steps(size_t inputs, const layer_piece *spec) {
    bnmlp_model *model = make(inputs, spec, 5);
    bnmlp_tensor *x, *y;
    const size_t steps = 12, rows = 32 * steps + 29;
    make_data(rows, inputs, 21, &x, &y);
    bnmlp_optimizer_config sgd = BNMLP_OPTIMIZER_SGD_DEFAULT;
    sgd.sgd.learning_rate = 0.05f;
    sgd.sgd.momentum = 0.9f;
    uint64_t h = FNV_START;
    for (size_t s = 0; s <= steps; s++) {
        const size_t n = s < steps ? 32 : 29;
        bnmlp_tensor bx = {.data = x->data + s * 32 * inputs, .rows = n, .cols = inputs};
        bnmlp_tensor by = {.data = y->data + s * 32, .rows = n, .cols = 1};
        float loss, accuracy;
        assert_ok(bnmlp_model_train_step(model, &bx, &by, &sgd, &loss, &accuracy));
        h = fnv(h, &loss, sizeof loss);
        h = fnv(h, &accuracy, sizeof accuracy);
    }
    h = hash_model(model, h);
    bnmlp_status status;
    bnmlp_tensor *out = bnmlp_tensor_create(rows, 1, &status);
    assert_ok(bnmlp_model_predict(model, x, out));
    h = fnv(h, out->data, rows * sizeof *out->data);
    bnmlp_tensor_free(out);
    bnmlp_tensor_free(x);
    bnmlp_tensor_free(y);
    bnmlp_model_free(model);
    return h;
}

/* fit: 6 epochs of 203 shuffled rows (a last batch of 11), validation on 77 rows each epoch. */
static uint64_t run_fit(size_t inputs, const layer_piece *spec) {
    bnmlp_model *model = make(inputs, spec, 9);
    bnmlp_tensor *x, *y, *vx, *vy;
    make_data(203, inputs, 31, &x, &y);
    make_data(77, inputs, 32, &vx, &vy);
    bnmlp_fit_config config = BNMLP_FIT_DEFAULT;
    config.epochs = 6;
    config.optimizer.sgd.learning_rate = 0.05f;
    config.optimizer.sgd.momentum = 0.9f;
    config.validation_x = vx;
    config.validation_y = vy;
    bnmlp_epoch_record history[6];
    size_t epochs = 0;
    assert_ok(bnmlp_model_fit(model, x, y, &config, history, &epochs));
    assert_int_equal(epochs, 6);
    uint64_t h = FNV_START;
    for (size_t e = 0; e < epochs; e++) {
        const double values[] = {history[e].loss, history[e].accuracy, history[e].val_loss,
                                 history[e].val_accuracy};
        h = fnv(h, values, sizeof values);
    }
    h = hash_model(model, h);
    bnmlp_tensor_free(x), bnmlp_tensor_free(y), bnmlp_tensor_free(vx), bnmlp_tensor_free(vy);
    bnmlp_model_free(model);
    return h;
}

/* The hashes on main's fp32 path before issue 19's tiny-model work, per instruction set. */
typedef struct expected {
    const char *isa;
    uint64_t tutorial_steps, mid_steps, tutorial_fit, mid_fit;
} expected;

static const expected EXPECTED[] = {
    {"avx512", 0x15e4cbff2ed959dcu, 0x49e5c93d437b85fbu, 0x6ca1ec9c36bba5aeu, 0x9f70c8bdf0a7ddc1u},
    {"avx2", 0x15e4cbff2ed959dcu, 0x49e5c93d437b85fbu, 0x6ca1ec9c36bba5aeu, 0x9f70c8bdf0a7ddc1u},
    {"portable", 0x15e4cbff2ed959dcu, 0xe876da7b6d553ea2u, 0x6ca1ec9c36bba5aeu, 0x91cb959cd91f1756u},
};

static void test_bits_unchanged(void **state) {
    (void)state;
    const char *saved = getenv("BNMLP_ISA");
    char *restore = saved ? strdup(saved) : NULL;
    const bool print = getenv("BNMLP_TINY_PRINT") != NULL;
    size_t checked = 0;
    for (size_t i = 0; i < sizeof EXPECTED / sizeof EXPECTED[0]; i++) {
        const bnmlp_isa *isa = bnmlp_isa_find(EXPECTED[i].isa);
        if (!isa || !bnmlp_isa_available(isa)) continue;
        setenv("BNMLP_ISA", EXPECTED[i].isa, 1);
        const uint64_t got[4] = {run_steps(2, TUTORIAL), run_steps(30, MID), run_fit(2, TUTORIAL),
                                 run_fit(30, MID)};
        const uint64_t want[4] = {EXPECTED[i].tutorial_steps, EXPECTED[i].mid_steps, EXPECTED[i].tutorial_fit,
                                  EXPECTED[i].mid_fit};
        if (print) {
            fprintf(stdout, "    {\"%s\", 0x%016llxu, 0x%016llxu, 0x%016llxu, 0x%016llxu},\n",
                    EXPECTED[i].isa, (unsigned long long)got[0], (unsigned long long)got[1],
                    (unsigned long long)got[2], (unsigned long long)got[3]);
            continue;
        }
        for (size_t k = 0; k < 4; k++) {
            if (got[k] != want[k])
                fprintf(stderr, "isa %s run %zu: hash 0x%016llx, expected 0x%016llx\n", EXPECTED[i].isa, k,
                        (unsigned long long)got[k], (unsigned long long)want[k]);
            assert_true(got[k] == want[k]);
        }
        checked++;
    }
    if (restore)
        setenv("BNMLP_ISA", restore, 1);
    else
        unsetenv("BNMLP_ISA");
    free(restore);
    if (!print) assert_true(checked > 0); /* the portable row always runs */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bits_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
