/*
 * test_clip.c - gradient clipping (bnmlp_clip_config): one SGD step after clipping against
 * PyTorch's clip_grad_norm_ / clip_grad_value_ and a per-tensor (Keras clipnorm) reimplementation
 * (tests/fixtures/clip_reference.h, from tools/gen_clip_fixtures.py), the gradient arena left
 * alone, the same bits for every thread count, the settings by name, and bad values refused;
 * and Keras's l2 kernel regularizer as weight decay (BNMLP_KERAS_L2_DECAY).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#include "fixtures/clip_reference.h"
#include "kernels/kernels.h"
#include "optim/optim.h"

#define CLIP_COUNT 20
#define CLIP_TENSORS 3

/* One step of config over the fixture's weights and gradients (segment i = tensor i; the first
 * is a kernel), into w; the state is fresh. */
static bnmlp_status clip_step(const bnmlp_optimizer_config *config, float *w, float *g, float *slots) {
    bnmlp_segment segments[CLIP_TENSORS];
    size_t offset = 0;
    for (size_t i = 0; i < CLIP_TENSORS; i++) {
        segments[i] = (bnmlp_segment){.offset = offset, .length = clip_lengths[i], .kernel = i == 0};
        offset += clip_lengths[i];
    }
    memcpy(w, clip_weights, sizeof clip_weights);
    memcpy(g, clip_grads, sizeof clip_grads);
    memset(slots, 0, BNMLP_OPTIMIZER_MAX_SLOTS * CLIP_COUNT * sizeof *slots);
    bnmlp_optimizer_state state = {.slots = slots, .kind = config->kind, .config = *config};
    const bnmlp_arenas arenas = {.params = w,
                                 .grads = g,
                                 .count = CLIP_COUNT,
                                 .segments = segments,
                                 .segment_count = CLIP_TENSORS,
                                 .state = &state};
    return bnmlp_optimizer_step(config, &arenas);
}

/* Every fixture case, set by name, matches PyTorch's step within float32 rounding; the gradient
 * arena is unchanged. */
static void test_clip_against_pytorch(void **unused) {
    (void)unused;
    for (size_t c = 0; c < sizeof clip_cases / sizeof clip_cases[0]; c++) {
        const clip_case *k = &clip_cases[c];
        bnmlp_optimizer_config config = BNMLP_OPTIMIZER_SGD_DEFAULT;
        config.sgd.learning_rate = CLIP_LR;
        config.sgd.weight_decay = k->weight_decay;
        assert_ok(bnmlp_optimizer_set(&config, k->setting, k->limit));
        assert_ok(bnmlp_optimizer_check(&config));
        float w[CLIP_COUNT], g[CLIP_COUNT], slots[BNMLP_OPTIMIZER_MAX_SLOTS * CLIP_COUNT];
        assert_ok(clip_step(&config, w, g, slots));
        assert_floats_close(w, k->after, CLIP_COUNT, 1e-6, 1e-5);
        assert_memory_equal(g, clip_grads, sizeof clip_grads);
    }
}

/* Clipping changes the step (so the fixtures test something): without it the weights differ. */
static void test_clip_off_is_plain_sgd(void **unused) {
    (void)unused;
    bnmlp_optimizer_config config = BNMLP_OPTIMIZER_SGD_DEFAULT;
    config.sgd.learning_rate = CLIP_LR;
    float w[CLIP_COUNT], g[CLIP_COUNT], slots[BNMLP_OPTIMIZER_MAX_SLOTS * CLIP_COUNT];
    assert_ok(clip_step(&config, w, g, slots));
    for (size_t i = 0; i < CLIP_COUNT; i++) assert_true(w[i] == clip_weights[i] - CLIP_LR * clip_grads[i]);
    /* The global case's loose limit (1e3) leaves every gradient as it is: the same bits. */
    float w2[CLIP_COUNT];
    config.clip.global_clipnorm = 1e3f;
    assert_ok(clip_step(&config, w2, g, slots));
    assert_memory_equal(w, w2, sizeof w);
}

/* Every kind takes the three settings by name (after its own), with the defaults 0. */
static void test_clip_settings(void **unused) {
    (void)unused;
    const char *names[] = {"clipnorm", "clipvalue", "global_clipnorm"};
    for (size_t kind = 0; kind < bnmlp_optimizer_count(); kind++) {
        bnmlp_optimizer_config config;
        assert_ok(bnmlp_optimizer_defaults((bnmlp_optimizer_kind)kind, &config));
        size_t count = 0;
        while (bnmlp_optimizer_setting((bnmlp_optimizer_kind)kind, count)) count++;
        assert_true(count >= 3);
        for (size_t i = 0; i < 3; i++) {
            assert_string_equal(bnmlp_optimizer_setting((bnmlp_optimizer_kind)kind, count - 3 + i), names[i]);
            assert_false(bnmlp_optimizer_setting_is_switch((bnmlp_optimizer_kind)kind, count - 3 + i));
            double value = -1.0;
            assert_ok(bnmlp_optimizer_get(&config, names[i], &value));
            assert_true(value == 0.0);
            assert_ok(bnmlp_optimizer_set(&config, names[i], 2.5));
            assert_ok(bnmlp_optimizer_get(&config, names[i], &value));
            assert_true(value == 2.5);
            assert_ok(bnmlp_optimizer_check(&config));
            assert_ok(bnmlp_optimizer_set(&config, names[i], 0.0));
        }
    }
}

/* Bad values: negative, not finite, two set together. */
static void test_clip_bad_settings(void **unused) {
    (void)unused;
    const struct {
        bnmlp_clip_config clip;
    } cases[] = {
        {{.clipnorm = -1.0f}},
        {{.clipvalue = -0.5f}},
        {{.global_clipnorm = -2.0f}},
        {{.clipnorm = INFINITY}},
        {{.clipvalue = NAN}},
        {{.global_clipnorm = INFINITY}},
        {{.clipnorm = 1.0f, .clipvalue = 1.0f}},
        {{.clipnorm = 1.0f, .global_clipnorm = 1.0f}},
        {{.clipvalue = 1.0f, .global_clipnorm = 1.0f}},
    };
    for (size_t kind = 0; kind < bnmlp_optimizer_count(); kind++)
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            bnmlp_optimizer_config config;
            assert_ok(bnmlp_optimizer_defaults((bnmlp_optimizer_kind)kind, &config));
            config.clip = cases[c].clip;
            assert_status(bnmlp_optimizer_check(&config), BNMLP_ERR_INVALID_ARGUMENT);
        }
}

/* A large step split over threads gives the bits of one thread, for each clipping and kind. */
static void test_clip_threads_bit_identical(void **unused) {
    (void)unused;
    enum { N = 300000, SEGMENTS = 3 };
    const bnmlp_segment segments[SEGMENTS] = {
        {.offset = 0, .length = 200000, .kernel = true},
        {.offset = 200000, .length = 1000, .kernel = false},
        {.offset = 201000, .length = 99000, .kernel = true},
    };
    float *g = malloc(N * sizeof *g), *w[2], *slots[2];
    assert_non_null(g);
    for (size_t i = 0; i < N; i++) g[i] = (float)sin((double)i * 0.37) * 3.0f;
    bnmlp_status status = BNMLP_OK;
    bnmlp_threadpool *pool = bnmlp_threadpool_create(2, NULL, &status);
    assert_non_null(pool);
    bnmlp_kernel_context threaded;
    bnmlp_kernel_context_init(&threaded);
    threaded.pool = pool;
    const bnmlp_clip_config clips[] = {{.clipnorm = 10.0f}, {.clipvalue = 0.5f}, {.global_clipnorm = 20.0f}};
    for (size_t kind = 0; kind < bnmlp_optimizer_count(); kind++)
        for (size_t c = 0; c < sizeof clips / sizeof clips[0]; c++) {
            bnmlp_optimizer_config config;
            assert_ok(bnmlp_optimizer_defaults((bnmlp_optimizer_kind)kind, &config));
            config.clip = clips[c];
            for (int run = 0; run < 2; run++) {
                w[run] = malloc(N * sizeof(float));
                slots[run] = calloc(BNMLP_OPTIMIZER_MAX_SLOTS * (size_t)N, sizeof(float));
                assert_non_null(w[run]);
                assert_non_null(slots[run]);
                for (size_t i = 0; i < N; i++) w[run][i] = (float)cos((double)i * 0.11);
                bnmlp_optimizer_state state = {.slots = slots[run], .kind = config.kind, .config = config};
                const bnmlp_arenas arenas = {.params = w[run],
                                             .grads = g,
                                             .count = N,
                                             .segments = segments,
                                             .segment_count = SEGMENTS,
                                             .state = &state,
                                             .kernels = run ? &threaded : NULL};
                for (int step = 0; step < 2; step++) assert_ok(bnmlp_optimizer_step(&config, &arenas));
            }
            assert_memory_equal(w[0], w[1], N * sizeof(float));
            assert_memory_equal(slots[0], slots[1], BNMLP_OPTIMIZER_MAX_SLOTS * (size_t)N * sizeof(float));
            for (int run = 0; run < 2; run++) free(w[run]), free(slots[run]);
        }
    bnmlp_threadpool_free(pool);
    free(g);
}

/* Keras's l2(l) on the kernels: the loss gradient plus the penalty's (l * sum(w^2), its
 * derivative taken by central differences in double) stepped without decay gives the weights of
 * weight_decay = BNMLP_KERAS_L2_DECAY(l) with decay_kernels_only (segment 0 is the kernel). */
static void test_keras_l2_is_weight_decay(void **unused) {
    (void)unused;
    const double l = 0.03, h = 1e-3;
    for (size_t kind = 0; kind < bnmlp_optimizer_count(); kind++) {
        if (kind == BNMLP_OPTIMIZER_ADAMW) continue; /* decoupled: no loss term */
        bnmlp_optimizer_config decayed, plain;
        assert_ok(bnmlp_optimizer_defaults((bnmlp_optimizer_kind)kind, &plain));
        decayed = plain;
        assert_ok(bnmlp_optimizer_set(&decayed, "weight_decay", BNMLP_KERAS_L2_DECAY(l)));
        assert_ok(bnmlp_optimizer_set(&decayed, "decay_kernels_only", 1.0));
        float w[CLIP_COUNT], g[CLIP_COUNT], slots[BNMLP_OPTIMIZER_MAX_SLOTS * CLIP_COUNT];
        assert_ok(clip_step(&decayed, w, g, slots));
        /* The Keras loss's gradient: the loss gradient, plus the penalty's on the kernel. */
        float penalized[CLIP_COUNT];
        for (size_t i = 0; i < CLIP_COUNT; i++) {
            const double wi = clip_weights[i];
            const double penalty =
                i < clip_lengths[0] ? (l * (wi + h) * (wi + h) - l * (wi - h) * (wi - h)) / (2 * h) : 0.0;
            penalized[i] = (float)((double)clip_grads[i] + penalty);
        }
        float w2[CLIP_COUNT];
        bnmlp_segment segments[CLIP_TENSORS];
        for (size_t i = 0, offset = 0; i < CLIP_TENSORS; offset += clip_lengths[i], i++)
            segments[i] = (bnmlp_segment){.offset = offset, .length = clip_lengths[i], .kernel = i == 0};
        memcpy(w2, clip_weights, sizeof w2);
        memset(slots, 0, sizeof slots);
        bnmlp_optimizer_state state = {.slots = slots, .kind = plain.kind, .config = plain};
        const bnmlp_arenas arenas = {.params = w2,
                                     .grads = penalized,
                                     .count = CLIP_COUNT,
                                     .segments = segments,
                                     .segment_count = CLIP_TENSORS,
                                     .state = &state};
        assert_ok(bnmlp_optimizer_step(&plain, &arenas));
        assert_floats_close(w, w2, CLIP_COUNT, 1e-6, 1e-5);
    }
}

/* Adjacent segments of both kinds take one update call unless the row's update tells them apart
 * (weight decay of kernels only): either way every optimizer's step over [kernel][bias][kernel]
 * [bias] equals each segment stepped alone, bit for bit, weights and state, over two steps. */
static void test_merged_segments_match_alone(void **unused) {
    (void)unused;
    enum { SEGS = 4, COUNT = 37 + 5 + 20 + 1 };
    const size_t lengths[SEGS] = {37, 5, 20, 1};
    bnmlp_segment segments[SEGS];
    for (size_t i = 0, offset = 0; i < SEGS; offset += lengths[i], i++)
        segments[i] = (bnmlp_segment){.offset = offset, .length = lengths[i], .kernel = i % 2 == 0};
    const struct {
        double decay;
        bool kernels_only;
    } settings[] = {{0.0, false}, {0.0, true}, {0.01, false}, {0.01, true}};
    for (size_t kind = 0; kind < bnmlp_optimizer_count(); kind++)
        for (size_t c = 0; c < sizeof settings / sizeof settings[0]; c++) {
            bnmlp_optimizer_config config;
            assert_ok(bnmlp_optimizer_defaults((bnmlp_optimizer_kind)kind, &config));
            assert_ok(bnmlp_optimizer_set(&config, "weight_decay", settings[c].decay));
            assert_ok(
                bnmlp_optimizer_set(&config, "decay_kernels_only", settings[c].kernels_only ? 1.0 : 0.0));
            float w[COUNT], g[COUNT], slots[BNMLP_OPTIMIZER_MAX_SLOTS * COUNT] = {0};
            float w_alone[COUNT], slots_alone[SEGS][BNMLP_OPTIMIZER_MAX_SLOTS * COUNT] = {{0}};
            bnmlp_test_fill(w, COUNT, 11);
            bnmlp_test_fill(g, COUNT, 12);
            memcpy(w_alone, w, sizeof w);
            bnmlp_optimizer_state state = {.slots = slots};
            bnmlp_optimizer_state alone[SEGS];
            for (size_t i = 0; i < SEGS; i++) alone[i] = (bnmlp_optimizer_state){.slots = slots_alone[i]};
            for (int step = 0; step < 2; step++) {
                const bnmlp_arenas arenas = {.params = w,
                                             .grads = g,
                                             .count = COUNT,
                                             .segments = segments,
                                             .segment_count = SEGS,
                                             .state = &state};
                assert_ok(bnmlp_optimizer_step(&config, &arenas));
                for (size_t i = 0; i < SEGS; i++) {
                    const bnmlp_segment one = {
                        .offset = 0, .length = lengths[i], .kernel = segments[i].kernel};
                    const bnmlp_arenas single = {.params = w_alone + segments[i].offset,
                                                 .grads = g + segments[i].offset,
                                                 .count = lengths[i],
                                                 .segments = &one,
                                                 .segment_count = 1,
                                                 .state = &alone[i]};
                    assert_ok(bnmlp_optimizer_step(&config, &single));
                }
            }
            assert_memory_equal(w, w_alone, sizeof w);
            for (size_t i = 0; i < SEGS; i++)
                for (size_t k = 0; k < bnmlp_optimizer_row_of(config.kind)->slots; k++)
                    assert_memory_equal(slots + k * COUNT + segments[i].offset,
                                        slots_alone[i] + k * lengths[i], lengths[i] * sizeof *slots);
        }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merged_segments_match_alone), cmocka_unit_test(test_clip_against_pytorch),
        cmocka_unit_test(test_clip_off_is_plain_sgd),       cmocka_unit_test(test_clip_settings),
        cmocka_unit_test(test_clip_bad_settings),           cmocka_unit_test(test_clip_threads_bit_identical),
        cmocka_unit_test(test_keras_l2_is_weight_decay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
