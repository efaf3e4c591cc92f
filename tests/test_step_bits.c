/*
 * test_step_bits.c - the fp32 training step's bits are pinned: a few steps of BN/ReLU models
 * with every optimizer leave parameters, optimizer state, moving statistics and the next loss
 * gradients whose bytes hash to values computed before the step was made faster (a one-pass
 * optimizer, dense kernel gradients written instead of zeroed and accumulated). Any change of
 * a single bit anywhere in those arrays changes the hash. The hashes hold for every instruction
 * thread count (1 and 3 here); they are kept per micro-kernel family (the portable row sums a
 * tile's products in another order than the FMA rows avx2 and avx512, which agree), and ctest
 * reruns this under each instruction set.
 *
 * The models' products are big enough to take the packed GEMM path with partial tiles (48
 * rows, 72 units), a few inputs are always zero (their kernel gradients are sums of signed
 * zeros), and one dense layer is frozen in one case.
 */
#include "support.h"

#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"

enum { IN = 40, HIDDEN = 72, ROWS = 48, STEPS = 5 };

static float x[ROWS * IN], y[ROWS];

static void make_data(void) {
    bnmlp_random rng;
    bnmlp_random_seed(&rng, 11);
    for (size_t i = 0; i < ROWS * IN; i++) x[i] = (float)bnmlp_random_gauss(&rng);
    for (size_t r = 0; r < ROWS; r++) {
        x[r * IN + 3] = 0.0f, x[r * IN + 7] = -0.0f; /* two dead inputs */
        y[r] = x[r * IN] - x[r * IN + 1] > 0.0f ? 1.0f : 0.0f;
    }
}

/* IN -> Dense(HIDDEN) -> BN -> ReLU -> Dense(HIDDEN) -> BN -> ReLU -> Dense(1, sigmoid). */
static bnmlp_model *make_model(size_t threads, bool freeze_first) {
    bnmlp_model *model = bnmlp_model_create(IN, NULL);
    assert_non_null(model);
    for (int k = 0; k < 2; k++) {
        bnmlp_dense_config hidden = BNMLP_DENSE_DEFAULT(HIDDEN);
        assert_ok(bnmlp_model_add_dense(model, &hidden));
        assert_ok(bnmlp_model_add_batchnorm(model, &BNMLP_BATCHNORM_DEFAULT));
        assert_ok(bnmlp_model_add_activation(model, BNMLP_ACTIVATION_RELU, 0.0f));
    }
    bnmlp_dense_config head = BNMLP_DENSE_DEFAULT(1);
    head.activation = BNMLP_ACTIVATION_SIGMOID;
    assert_ok(bnmlp_model_add_dense(model, &head));
    assert_ok(bnmlp_model_build(model, ROWS, 23));
    assert_ok(bnmlp_model_set_threads(model, threads));
    if (freeze_first) assert_ok(bnmlp_model_set_trainable(model, 0, false));
    return model;
}

/* FNV-1a over bytes, continuing from hash. */
static uint64_t fnv1a(uint64_t hash, const void *bytes, size_t n) {
    const unsigned char *p = bytes;
    for (size_t i = 0; i < n; i++) hash = (hash ^ p[i]) * 0x100000001b3u;
    return hash;
}

/* The hash of everything a step leaves: parameters, optimizer state, moving statistics, and the
 * loss gradients of the next batch. */
static uint64_t state_hash(bnmlp_model *model) {
    const size_t count = bnmlp_model_param_count(model);
    bnmlp_optimizer_kind kind;
    uint64_t steps;
    assert_ok(bnmlp_model_get_optimizer_state(model, &kind, &steps, NULL, 0));
    const size_t slots = bnmlp_model_optimizer_state_count(model, kind);
    float *buffer = malloc((count + slots + 4 * HIDDEN) * sizeof *buffer);
    assert_non_null(buffer);
    uint64_t hash = 0xcbf29ce484222325u;
    assert_ok(bnmlp_model_get_params(model, buffer, count));
    hash = fnv1a(hash, buffer, count * sizeof *buffer);
    assert_ok(bnmlp_model_get_optimizer_state(model, &kind, &steps, buffer, slots));
    hash = fnv1a(hash, buffer, slots * sizeof *buffer);
    for (size_t layer = 1; layer <= 4; layer += 3) {
        assert_ok(bnmlp_model_get_weights(model, layer, BNMLP_WEIGHT_MOVING_MEAN, buffer, HIDDEN));
        assert_ok(
            bnmlp_model_get_weights(model, layer, BNMLP_WEIGHT_MOVING_VARIANCE, buffer + HIDDEN, HIDDEN));
        hash = fnv1a(hash, buffer, 2 * HIDDEN * sizeof *buffer);
    }
    bnmlp_tensor tx = bnmlp_tensor_view(x, ROWS, IN), ty = bnmlp_tensor_view(y, ROWS, 1);
    float loss;
    assert_ok(bnmlp_model_loss_gradients(model, &tx, &ty, &loss, buffer, count));
    hash = fnv1a(hash, &loss, sizeof loss);
    hash = fnv1a(hash, buffer, count * sizeof *buffer);
    free(buffer);
    return hash;
}

/* STEPS steps with config on batches cut from the data (rows shifted each step). */
static uint64_t run(const bnmlp_optimizer_config *config, size_t threads, bool freeze_first) {
    bnmlp_model *model = make_model(threads, freeze_first);
    for (int s = 0; s < STEPS; s++) {
        const size_t rows = ROWS - 4 * (size_t)s;
        bnmlp_tensor tx = bnmlp_tensor_view(x + 4 * (size_t)s * IN, rows, IN),
                     ty = bnmlp_tensor_view(y + 4 * (size_t)s, rows, 1);
        assert_ok(bnmlp_model_train_step(model, &tx, &ty, config, NULL, NULL));
    }
    const uint64_t hash = state_hash(model);
    bnmlp_model_free(model);
    return hash;
}

typedef struct bits_case {
    const char *name;
    bnmlp_optimizer_config config;
    bool freeze_first;
    uint64_t expected[2]; /* [0] portable, [1] avx2 and avx512: computed on main before the
                             faster step (2026-12-05) */
} bits_case;

static bnmlp_optimizer_config sgd(float momentum, bool nesterov, float decay, float clipnorm) {
    bnmlp_optimizer_config c = BNMLP_OPTIMIZER_SGD_DEFAULT;
    c.sgd.learning_rate = 0.05f, c.sgd.momentum = momentum, c.sgd.nesterov = nesterov;
    c.sgd.weight_decay = decay, c.clip.clipnorm = clipnorm;
    return c;
}

static bnmlp_optimizer_config with_kind(bnmlp_optimizer_config c) { return c; }

static void test_step_bits_pinned(void **state) {
    (void)state;
    make_data();
    bnmlp_optimizer_config rmsprop = BNMLP_OPTIMIZER_RMSPROP_DEFAULT;
    rmsprop.rmsprop.momentum = 0.5f, rmsprop.rmsprop.centered = true;
    bnmlp_optimizer_config adam_clipped = BNMLP_OPTIMIZER_ADAM_DEFAULT;
    adam_clipped.clip.clipvalue = 0.01f;
    const bits_case cases[] = {
        {"sgd momentum", sgd(0.9f, false, 0.0f, 0.0f), false, {0x914a43f8ab8ae26bu, 0x84721ab42d2c946eu}},
        {"sgd plain", sgd(0.0f, false, 0.0f, 0.0f), false, {0x3756714a06b41616u, 0xc1ffb9b3b064c834u}},
        {"sgd nesterov decay",
         sgd(0.9f, true, 1e-3f, 0.0f),
         false,
         {0xe8e65422d67e15d2u, 0x26b583685bd51799u}},
        {"sgd clipnorm", sgd(0.9f, false, 0.0f, 0.5f), false, {0xcabd72227c4db9a7u, 0xb9aab999edfccaceu}},
        {"sgd frozen first", sgd(0.9f, false, 0.0f, 0.0f), true, {0x2e34fd98f76f56d6u, 0x6659f676e288f89fu}},
        {"adam", with_kind(BNMLP_OPTIMIZER_ADAM_DEFAULT), false, {0x6f3eb3ca8604ddb5u, 0x28d0ef75de4ac3c0u}},
        {"adam clipvalue", adam_clipped, false, {0xd0974a9e7fee6af8u, 0x6ac3fb15a1c3bf51u}},
        {"adamw",
         with_kind(BNMLP_OPTIMIZER_ADAMW_DEFAULT),
         false,
         {0x44148cb5e2e5e513u, 0x8ee2c1ab02389b5du}},
        {"rmsprop centered momentum", rmsprop, false, {0x9817f1d2834691c7u, 0x8479f3e0c12765aeu}},
    };
    const size_t family = strcmp(bnmlp_isa_name(bnmlp_kernel_isa(bnmlp_test_kernels())), "portable") ? 1 : 0;
    int failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (size_t threads = 1; threads <= 3; threads += 2) {
            const uint64_t got = run(&cases[i].config, threads, cases[i].freeze_first);
            if (got != cases[i].expected[family]) {
                print_message("%s, %zu threads: hash 0x%016llxu, expected 0x%016llxu\n", cases[i].name,
                              threads, (unsigned long long)got,
                              (unsigned long long)cases[i].expected[family]);
                failed = 1;
            }
        }
    assert_false(failed);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_step_bits_pinned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
