/*
 * test_optimizer_kernels.c - the optimizers' one-pass update: each instruction set's sgd_update,
 * adam_update and rmsprop_update loops give their references' bits (new w and state, and the finiteness answer)
 * for every flag, length and alias; and through a model, a refused one-pass step (spare copies written, never swapped)
 * leaves parameters, optimizer state, kind and steps as they were, also when it would have
 * switched to another kind.
 */
#include "support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"

enum { MAX_N = 133 };

/* Values of every size, a few zeros of both signs, and (when huge) some near FLT_MAX. */
static void fill(float *v, size_t n, uint32_t seed, bool huge) {
    bnmlp_test_fill(v, n, seed);
    for (size_t i = 0; i < n; i++) {
        if (i % 11 == 3) v[i] = i % 2 ? -0.0f : 0.0f;
        if (huge && i % 17 == 5) v[i] = (i % 2 ? -3e38f : 3e38f);
    }
}

static void test_sgd_update_matches_reference(void **state) {
    (void)state;
    static float w[MAX_N], v[MAX_N], g[MAX_N];
    static float w_ref[MAX_N], v_ref[MAX_N], w_out[MAX_N], v_out[MAX_N], w_in[MAX_N], v_in[MAX_N];
    const float rates[] = {0.01f, 0.5f}, momenta[] = {0.0f, 0.9f}, decays[] = {0.0f, 1e-3f};
    for (size_t i = 0; i < bnmlp_isa_count(); i++) {
        const bnmlp_isa *isa = bnmlp_isa_at(i);
        if (!bnmlp_isa_available(isa)) continue;
        const bnmlp_sgd_update_function update = BNMLP_ISA_ENTRY(isa, sgd_update);
        for (int huge = 0; huge < 2; huge++)
            for (size_t n = 0; n <= MAX_N; n += n < 40 ? 1 : 31) {
                fill(w, n, 1 + (uint32_t)n, huge), fill(v, n, 2 + (uint32_t)n, false), fill(g, n, 3, false);
                for (unsigned flags = 0; flags < 32; flags++) {
                    const bnmlp_sgd_step step = {.learning_rate = rates[flags & 1],
                                                 .momentum = momenta[flags >> 1 & 1],
                                                 .decay = decays[flags >> 2 & 1],
                                                 .nesterov = flags >> 3 & 1,
                                                 .fresh = flags >> 4 & 1};
                    const bool expected = bnmlp_sgd_update_reference(w_ref, v_ref, w, v, g, n, &step);
                    memset(w_out, 0xff, sizeof w_out), memset(v_out, 0xff, sizeof v_out);
                    assert_int_equal(update(w_out, v_out, w, v, g, n, &step), expected);
                    assert_memory_equal(w_out, w_ref, n * sizeof *w_ref);
                    assert_memory_equal(v_out, v_ref, n * sizeof *v_ref);
                    /* In place (outputs aliasing inputs): the same bits. */
                    memcpy(w_in, w, sizeof w_in), memcpy(v_in, v, sizeof v_in);
                    assert_int_equal(update(w_in, v_in, w_in, v_in, g, n, &step), expected);
                    assert_memory_equal(w_in, w_ref, n * sizeof *w_ref);
                    assert_memory_equal(v_in, v_ref, n * sizeof *v_ref);
                }
            }
        /* An infinite or NaN new value is reported. */
        float wi[3] = {3e38f, 1.0f, 1.0f}, vi[3] = {0}, gi[3] = {-1e38f, 0.0f, 0.0f}, wo[3], vo[3];
        const bnmlp_sgd_step step = {.learning_rate = 4.0f, .momentum = 0.0f};
        assert_false(update(wo, vo, wi, vi, gi, 3, &step));
        assert_false(bnmlp_sgd_update_reference(wo, vo, wi, vi, gi, 3, &step));
        gi[0] = NAN, wi[0] = 1.0f;
        assert_false(update(wo, vo, wi, vi, gi, 3, &step));
        gi[0] = 1.0f;
        assert_true(update(wo, vo, wi, vi, gi, 3, &step));
    }
}

static void test_adam_update_matches_reference(void **state) {
    (void)state;
    static float w[MAX_N], m[MAX_N], v[MAX_N], g[MAX_N];
    static float w_ref[MAX_N], m_ref[MAX_N], v_ref[MAX_N], w_out[MAX_N], m_out[MAX_N], v_out[MAX_N];
    static float w_in[MAX_N], m_in[MAX_N], v_in[MAX_N];
    for (size_t i = 0; i < bnmlp_isa_count(); i++) {
        const bnmlp_isa *isa = bnmlp_isa_at(i);
        if (!bnmlp_isa_available(isa)) continue;
        const bnmlp_adam_update_function update = BNMLP_ISA_ENTRY(isa, adam_update);
        for (int huge = 0; huge < 2; huge++)
            for (size_t n = 0; n <= MAX_N; n += n < 40 ? 1 : 31) {
                fill(w, n, 1 + (uint32_t)n, huge), fill(m, n, 2 + (uint32_t)n, false), fill(g, n, 3, huge);
                fill(v, n, 4 + (uint32_t)n, false);
                for (size_t k = 0; k < n; k++) v[k] = v[k] * v[k]; /* second moments: >= 0 */
                for (unsigned flags = 0; flags < 32; flags++) {
                    /* Step 3's constants of lr 1e-3 (PyTorch: lr / (1 - 0.9^3), sqrt(1 - 0.999^3));
                     * with and without decoupled or L2 decay. */
                    const bnmlp_adam_step step = {.beta1 = 0.9f,
                                                  .beta2 = 0.999f,
                                                  .epsilon = flags & 1 ? 1e-7f : 1e-8f,
                                                  .step_size = flags & 1 ? 2.8638e-3f : 3.6900e-3f,
                                                  .correction2_sqrt = 0.0547449f,
                                                  .l2 = flags >> 1 & 1 ? 1e-2f : 0.0f,
                                                  .shrink = flags >> 2 & 1 ? 0.99999f : 1.0f,
                                                  .pytorch_epsilon = flags >> 3 & 1,
                                                  .fresh = flags >> 4 & 1};
                    const bool expected =
                        bnmlp_adam_update_reference(w_ref, m_ref, v_ref, w, m, v, g, n, &step);
                    memset(w_out, 0xff, sizeof w_out), memset(m_out, 0xff, sizeof m_out);
                    memset(v_out, 0xff, sizeof v_out);
                    assert_int_equal(update(w_out, m_out, v_out, w, m, v, g, n, &step), expected);
                    assert_memory_equal(w_out, w_ref, n * sizeof *w_ref);
                    assert_memory_equal(m_out, m_ref, n * sizeof *m_ref);
                    assert_memory_equal(v_out, v_ref, n * sizeof *v_ref);
                    memcpy(w_in, w, sizeof w_in), memcpy(m_in, m, sizeof m_in), memcpy(v_in, v, sizeof v_in);
                    assert_int_equal(update(w_in, m_in, v_in, w_in, m_in, v_in, g, n, &step), expected);
                    assert_memory_equal(w_in, w_ref, n * sizeof *w_ref);
                    assert_memory_equal(m_in, m_ref, n * sizeof *m_ref);
                    assert_memory_equal(v_in, v_ref, n * sizeof *v_ref);
                }
            }
        /* An infinite or NaN new value is reported: an overflowing second moment, a NaN gradient. */
        float wi[3] = {1.0f, 1.0f, 1.0f}, mi[3] = {0}, vi[3] = {0}, gi[3] = {3e38f, 0.0f, 0.0f};
        float wo[3], mo[3], vo[3];
        const bnmlp_adam_step step = {.beta1 = 0.9f,
                                      .beta2 = 0.5f,
                                      .epsilon = 1e-8f,
                                      .step_size = 1e-3f,
                                      .correction2_sqrt = 1.0f,
                                      .shrink = 1.0f,
                                      .pytorch_epsilon = true};
        assert_false(update(wo, mo, vo, wi, mi, vi, gi, 3, &step));
        assert_false(bnmlp_adam_update_reference(wo, mo, vo, wi, mi, vi, gi, 3, &step));
        gi[0] = NAN;
        assert_false(update(wo, mo, vo, wi, mi, vi, gi, 3, &step));
        gi[0] = 1.0f;
        assert_true(update(wo, mo, vo, wi, mi, vi, gi, 3, &step));
    }
}

static void test_rmsprop_update_matches_reference(void **state) {
    (void)state;
    enum { ARRAYS = 4 }; /* w, s, a, b */
    static float in[ARRAYS][MAX_N], g[MAX_N], ref[ARRAYS][MAX_N], out[ARRAYS][MAX_N], alias[ARRAYS][MAX_N];
    for (size_t i = 0; i < bnmlp_isa_count(); i++) {
        const bnmlp_isa *isa = bnmlp_isa_at(i);
        if (!bnmlp_isa_available(isa)) continue;
        const bnmlp_rmsprop_update_function update = BNMLP_ISA_ENTRY(isa, rmsprop_update);
        for (int huge = 0; huge < 2; huge++)
            for (size_t n = 0; n <= MAX_N; n += n < 40 ? 1 : 31) {
                for (size_t k = 0; k < ARRAYS; k++) fill(in[k], n, 1 + (uint32_t)(n + 7 * k), huge && k == 0);
                fill(g, n, 3, huge);
                /* s >= a^2 as the averages keep it (s: squares of g's, a: g's), so the centered
                 * root is real; some entries break it, for NaN. */
                for (size_t k = 0; k < n; k++) in[1][k] = in[2][k] * in[2][k] + (k % 13 == 7 ? -1.0f : 0.5f);
                for (unsigned flags = 0; flags < 32; flags++) {
                    const bnmlp_rmsprop_step step = {.learning_rate = flags & 1 ? 0.01f : 0.5f,
                                                     .alpha = 0.99f,
                                                     .epsilon = 1e-8f,
                                                     .momentum = flags >> 1 & 1 ? 0.9f : 0.0f,
                                                     .decay = flags >> 2 & 1 ? 1e-3f : 0.0f,
                                                     .centered = flags >> 3 & 1,
                                                     .fresh = flags >> 4 & 1};
                    const bool expected = bnmlp_rmsprop_update_reference(
                        ref[0], ref[1], ref[2], ref[3], in[0], in[1], in[2], in[3], g, n, &step);
                    memset(out, 0xff, sizeof out);
                    assert_int_equal(
                        update(out[0], out[1], out[2], out[3], in[0], in[1], in[2], in[3], g, n, &step),
                        expected);
                    for (size_t k = 0; k < ARRAYS; k++) assert_memory_equal(out[k], ref[k], n * sizeof **ref);
                    memcpy(alias, in, sizeof alias);
                    assert_int_equal(update(alias[0], alias[1], alias[2], alias[3], alias[0], alias[1],
                                            alias[2], alias[3], g, n, &step),
                                     expected);
                    for (size_t k = 0; k < ARRAYS; k++)
                        assert_memory_equal(alias[k], ref[k], n * sizeof **ref);
                }
            }
        /* An infinite or NaN new value is reported. */
        float w[3] = {1.0f, 1.0f, 1.0f}, z[3] = {0}, gi[3] = {3e38f, 0.0f, 0.0f}, o[4][3];
        const bnmlp_rmsprop_step step = {.learning_rate = 0.01f, .alpha = 0.5f, .epsilon = 1e-8f};
        assert_false(update(o[0], o[1], o[2], o[3], w, z, z, z, gi, 3, &step));
        assert_false(bnmlp_rmsprop_update_reference(o[0], o[1], o[2], o[3], w, z, z, z, gi, 3, &step));
        gi[0] = NAN;
        assert_false(update(o[0], o[1], o[2], o[3], w, z, z, z, gi, 3, &step));
        gi[0] = 1.0f;
        assert_true(update(o[0], o[1], o[2], o[3], w, z, z, z, gi, 3, &step));
    }
}

enum { IN = 24, HIDDEN = 40, ROWS = 32 };

static bnmlp_model *make_model(void) {
    bnmlp_model *model = bnmlp_model_create(IN, NULL);
    assert_non_null(model);
    bnmlp_dense_config hidden = BNMLP_DENSE_DEFAULT(HIDDEN);
    assert_ok(bnmlp_model_add_dense(model, &hidden));
    assert_ok(bnmlp_model_add_batchnorm(model, &BNMLP_BATCHNORM_DEFAULT));
    assert_ok(bnmlp_model_add_activation(model, BNMLP_ACTIVATION_RELU, 0.0f));
    assert_ok(bnmlp_model_add_dense(model, &hidden));
    bnmlp_dense_config head = BNMLP_DENSE_DEFAULT(1);
    head.activation = BNMLP_ACTIVATION_SIGMOID;
    assert_ok(bnmlp_model_add_dense(model, &head));
    assert_ok(bnmlp_model_build(model, ROWS, 3));
    assert_ok(bnmlp_model_set_trainable(model, 3, false)); /* a gap the pass copies */
    return model;
}

/* Parameters and every slot of the held kind, with kind and steps. */
typedef struct snapshot {
    float params[4096], slots[3 * 4096];
    bnmlp_optimizer_kind kind;
    uint64_t steps;
} snapshot;

static void take(const bnmlp_model *model, snapshot *s) {
    const size_t n = bnmlp_model_param_count(model);
    assert_true(n <= 4096);
    memset(s, 0, sizeof *s);
    assert_ok(bnmlp_model_get_params(model, s->params, n));
    assert_ok(bnmlp_model_get_optimizer_state(model, &s->kind, &s->steps, NULL, 0));
    assert_ok(bnmlp_model_get_optimizer_state(model, &s->kind, &s->steps, s->slots,
                                              bnmlp_model_optimizer_state_count(model, s->kind)));
}

static void test_refused_one_pass_step_changes_nothing(void **state) {
    (void)state;
    static float x[ROWS * IN], y[ROWS], g[4096], crafted[4096];
    bnmlp_test_fill(x, ROWS * IN, 9);
    for (size_t r = 0; r < ROWS; r++) y[r] = x[r * IN] > 0.0f ? 1.0f : 0.0f;
    bnmlp_tensor tx = bnmlp_tensor_view(x, ROWS, IN), ty = bnmlp_tensor_view(y, ROWS, 1);
    const bnmlp_sgd_config normal = {.learning_rate = 0.05f, .momentum = 0.9f};
    bnmlp_optimizer_config rmsprop = BNMLP_OPTIMIZER_RMSPROP_DEFAULT;
    rmsprop.rmsprop.momentum = 0.5f;
    bnmlp_optimizer_config huge_rmsprop = rmsprop;
    huge_rmsprop.rmsprop.learning_rate = 3e38f;
    const bnmlp_sgd_config huge = {.learning_rate = 3e38f, .momentum = 1.0f};
    bnmlp_model *model = make_model(), *twin = make_model();
    const size_t n = bnmlp_model_param_count(model);
    static snapshot original, before, after, other;
    for (int round = 0; round < 2; round++) {
        /* A few good steps (the copies swap each time). */
        for (int s = 0; s < 3; s++) {
            assert_ok(bnmlp_model_train_step(model, &tx, &ty, SGD_CONFIG(&normal), NULL, NULL));
            assert_ok(bnmlp_model_train_step(twin, &tx, &ty, SGD_CONFIG(&normal), NULL, NULL));
        }
        take(model, &original);
        /* Velocities of 3.4e38 against each gradient: the next SGD step overflows them. */
        float loss;
        assert_ok(bnmlp_model_loss_gradients(model, &tx, &ty, &loss, g, n));
        for (size_t i = 0; i < n; i++) crafted[i] = g[i] > 0.0f ? -3.4e38f : 3.4e38f;
        assert_ok(bnmlp_model_set_optimizer_state(model, BNMLP_OPTIMIZER_SGD, original.steps, crafted, n));
        take(model, &before);
        /* Refused steps of the same kind and of another one (from zero state): nothing moves. */
        assert_status(bnmlp_model_train_step(model, &tx, &ty, SGD_CONFIG(&huge), NULL, NULL),
                      BNMLP_ERR_DIVERGED);
        assert_status(bnmlp_model_train_step(model, &tx, &ty, &huge_rmsprop, NULL, NULL), BNMLP_ERR_DIVERGED);
        take(model, &after);
        assert_memory_equal(&before, &after, sizeof before);
        /* Back to the state before: the model is its untouched twin's bit for bit. */
        assert_ok(
            bnmlp_model_set_optimizer_state(model, BNMLP_OPTIMIZER_SGD, original.steps, original.slots, n));
        take(model, &after);
        take(twin, &other);
        assert_memory_equal(&after, &other, sizeof after);
    }
    /* Switching kind: RMSprop from zero state on both, and back to SGD from zero state. */
    for (int s = 0; s < 2; s++) {
        assert_ok(bnmlp_model_train_step(model, &tx, &ty, &rmsprop, NULL, NULL));
        assert_ok(bnmlp_model_train_step(twin, &tx, &ty, &rmsprop, NULL, NULL));
    }
    assert_ok(bnmlp_model_train_step(model, &tx, &ty, SGD_CONFIG(&normal), NULL, NULL));
    assert_ok(bnmlp_model_train_step(twin, &tx, &ty, SGD_CONFIG(&normal), NULL, NULL));
    take(model, &after);
    take(twin, &other);
    assert_memory_equal(&after, &other, sizeof after);
    assert_int_equal(after.kind, BNMLP_OPTIMIZER_SGD);
    assert_int_equal(after.steps, 1);
    bnmlp_model_free(model);
    bnmlp_model_free(twin);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd_update_matches_reference),
        cmocka_unit_test(test_adam_update_matches_reference),
        cmocka_unit_test(test_rmsprop_update_matches_reference),
        cmocka_unit_test(test_refused_one_pass_step_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
