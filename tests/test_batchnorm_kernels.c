/* test_batchnorm_kernels.c - the batch-norm phases of every instruction set this machine has
 * (each descriptor's entries, through a kernel context of that row), against their row-by-row
 * reference versions: identical results (bit for bit: the same operations per element in the
 * same order, and the library is compiled without floating-point contraction) for widths that
 * exercise every block size (16, 4, 1 and their mixes; 64-feature blocks), strides wider than
 * the width, one row and many, and sums that start from nonzero values (a phase adds to what its
 * caller has summed so far). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "layers/layers.h"
#include "support.h"

typedef struct case_shape {
    size_t batch, width, stride;
} case_shape;

static const case_shape cases[] = {
    {1, 1, 1},     {2, 3, 3},        {32, 50, 50}, {32, 50, 64}, {7, 16, 16},  {5, 17, 19},
    {3, 20, 20},   {9, 21, 40},      {33, 4, 4},   {2, 64, 64},  {13, 70, 71}, {257, 33, 33},
    {1, 100, 100}, {64, 1024, 1024}, {4, 15, 15},  {6, 31, 32},  {100, 2, 2},  {11, 47, 47},
};
#define CASE_COUNT (sizeof cases / sizeof cases[0])

/* Doubles in [-2, 2) from floats of the shared fill (so their low bits are not all zero). */
static void fill_doubles(double *v, size_t n, uint32_t seed) {
    float *f = malloc(2 * n * sizeof *f);
    bnmlp_test_fill(f, 2 * n, seed);
    for (size_t i = 0; i < n; i++) v[i] = 2.0 * (double)f[2 * i] + 1e-9 * (double)f[2 * i + 1];
    free(f);
}

/* Every buffer one case needs. */
typedef struct buffers {
    float *x, *dy, *mean, *rstd, *gamma, *beta, *out, *out_ref;
    double *sums, *sums_ref, *more, *more_ref, *mean_d;
} buffers;

static buffers make_buffers(case_shape s) {
    const size_t n = s.batch * s.stride, w = s.width;
    buffers b = {.x = malloc(n * sizeof(float)),
                 .dy = malloc(n * sizeof(float)),
                 .mean = malloc(w * sizeof(float)),
                 .rstd = malloc(w * sizeof(float)),
                 .sums = malloc(w * sizeof(double)),
                 .sums_ref = malloc(w * sizeof(double)),
                 .more = malloc(w * sizeof(double)),
                 .more_ref = malloc(w * sizeof(double)),
                 .mean_d = malloc(w * sizeof(double)),
                 .gamma = malloc(w * sizeof(float)),
                 .beta = malloc(w * sizeof(float)),
                 .out = malloc(n * sizeof(float)),
                 .out_ref = malloc(n * sizeof(float))};
    bnmlp_test_fill(b.gamma, w, 15), bnmlp_test_fill(b.beta, w, 16);
    bnmlp_test_fill(b.x, n, 11), bnmlp_test_fill(b.dy, n, 12), bnmlp_test_fill(b.mean, w, 13);
    bnmlp_test_fill(b.rstd, w, 14);
    for (size_t c = 0; c < w; c++) b.rstd[c] = 0.5f + fabsf(b.rstd[c]) * 3.0f;
    fill_doubles(b.mean_d, w, 17);
    return b;
}

static void free_buffers(buffers *b) {
    free(b->x), free(b->dy), free(b->mean), free(b->rstd), free(b->sums), free(b->sums_ref), free(b->more),
        free(b->more_ref), free(b->mean_d), free(b->gamma), free(b->beta), free(b->out), free(b->out_ref);
}

/* Sets both double accumulators (and their references) to the same nonzero start values. */
static void start_sums(buffers *b, size_t w, uint32_t seed) {
    fill_doubles(b->sums, w, seed), memcpy(b->sums_ref, b->sums, w * sizeof(double));
    fill_doubles(b->more, w, seed + 1), memcpy(b->more_ref, b->more, w * sizeof(double));
}

/* A context that runs row isa (no pool, no scratch: the phases need neither). */
static bnmlp_kernel_context context_of(const bnmlp_isa *isa) {
    bnmlp_kernel_context context = {0};
    assert_ok(bnmlp_gemm_plan_init(&context.plan, isa));
    return context;
}

static void test_statistics_match_reference(void **state) {
    (void)state;
    for (size_t k = 0; k < bnmlp_isa_count(); k++) {
        if (!bnmlp_isa_available(bnmlp_isa_at(k))) continue;
        const bnmlp_kernel_context context = context_of(bnmlp_isa_at(k)), *kernels = &context;
        for (size_t i = 0; i < CASE_COUNT; i++) {
            const case_shape s = cases[i];
            buffers b = make_buffers(s);
            start_sums(&b, s.width, 20);
            bnmlp_batchnorm_partial_sum(kernels, b.sums, b.x, s.batch, s.stride, s.width);
            bnmlp_kernel_column_sums_reference(b.sums_ref, b.x, s.batch, s.stride, s.width);
            assert_memory_equal(b.sums, b.sums_ref, s.width * sizeof(double));
            bnmlp_batchnorm_partial_squares(kernels, b.more, b.x, b.mean_d, s.batch, s.stride, s.width);
            bnmlp_batchnorm_partial_squares_reference(b.more_ref, b.x, b.mean_d, s.batch, s.stride, s.width);
            assert_memory_equal(b.more, b.more_ref, s.width * sizeof(double));
            free_buffers(&b);
        }
    }
}

static void test_backward_matches_reference(void **state) {
    (void)state;
    for (size_t k = 0; k < bnmlp_isa_count(); k++) {
        if (!bnmlp_isa_available(bnmlp_isa_at(k))) continue;
        const bnmlp_kernel_context context = context_of(bnmlp_isa_at(k)), *kernels = &context;
        for (size_t i = 0; i < CASE_COUNT; i++) {
            const case_shape s = cases[i];
            buffers b = make_buffers(s);
            start_sums(&b, s.width, 30);
            bnmlp_batchnorm_partial_backward(kernels, b.sums, b.more, b.dy, b.x, b.mean, b.rstd, s.batch,
                                             s.stride, s.width);
            bnmlp_batchnorm_partial_backward_reference(b.sums_ref, b.more_ref, b.dy, b.x, b.mean, b.rstd,
                                                       s.batch, s.stride, s.width);
            assert_memory_equal(b.sums, b.sums_ref, s.width * sizeof(double));
            assert_memory_equal(b.more, b.more_ref, s.width * sizeof(double));
            free_buffers(&b);
        }
    }
}

/* Sets out and out_ref to the same values (what lies between the rows' features must stay). */
static void start_outputs(buffers *b, case_shape s) {
    bnmlp_test_fill(b->out, s.batch * s.stride, 40);
    memcpy(b->out_ref, b->out, s.batch * s.stride * sizeof(float));
}

/* The per-element passes (normalize, the two input gradients), with and without gamma / beta. */
static void test_elementwise_passes_match_reference(void **state) {
    (void)state;
    for (size_t k = 0; k < bnmlp_isa_count(); k++) {
        if (!bnmlp_isa_available(bnmlp_isa_at(k))) continue;
        const bnmlp_kernel_context context = context_of(bnmlp_isa_at(k)), *kernels = &context;
        for (size_t i = 0; i < CASE_COUNT; i++) {
            const case_shape s = cases[i];
            const size_t n = s.batch * s.stride;
            buffers b = make_buffers(s);
            start_sums(&b, s.width, 50);
            for (int affine = 0; affine < 2; affine++) {
                const float *gamma = affine ? b.gamma : NULL, *beta = affine ? b.beta : NULL;
                start_outputs(&b, s);
                bnmlp_batchnorm_normalize(kernels, b.out, b.x, b.mean, b.rstd, gamma, beta, s.batch, s.stride,
                                          s.width);
                bnmlp_batchnorm_normalize_reference(b.out_ref, b.x, b.mean, b.rstd, gamma, beta, s.batch,
                                                    s.stride, s.width);
                assert_memory_equal(b.out, b.out_ref, n * sizeof(float));
                start_outputs(&b, s);
                bnmlp_batchnorm_finish_backward(kernels, b.out, b.sums, b.more, b.dy, b.x, b.mean, b.rstd,
                                                gamma, (double)s.batch + 3.0, s.batch, s.stride, s.width);
                bnmlp_batchnorm_finish_backward_reference(b.out_ref, b.sums, b.more, b.dy, b.x, b.mean,
                                                          b.rstd, gamma, (double)s.batch + 3.0, s.batch,
                                                          s.stride, s.width);
                assert_memory_equal(b.out, b.out_ref, n * sizeof(float));
                start_outputs(&b, s);
                bnmlp_batchnorm_inference_input_gradient(kernels, b.out, b.dy, b.rstd, gamma, s.batch,
                                                         s.stride, s.width);
                bnmlp_batchnorm_inference_gradient_reference(b.out_ref, b.dy, b.rstd, gamma, s.batch,
                                                             s.stride, s.width);
                assert_memory_equal(b.out, b.out_ref, n * sizeof(float));
            }
            free_buffers(&b);
        }
    }
}

/* A hand-checked case: two rows, one feature, so every block size falls back to the tail. */
static void test_small_exact(void **state) {
    (void)state;
    const float x[2] = {1.0f, 3.0f}, dy[2] = {1.0f, -1.0f};
    double sum = 0.0, squares = 0.0, mean = 2.0;
    const struct bnmlp_kernel_context *kernels = bnmlp_test_kernels();
    bnmlp_batchnorm_partial_sum(kernels, &sum, x, 2, 1, 1);
    assert_true(sum == 4.0);
    bnmlp_batchnorm_partial_squares(kernels, &squares, x, &mean, 2, 1, 1);
    assert_true(squares == 2.0);
    /* mean 2, rstd 1: xhat = [-1, 1]; sum(dy) = 0, sum(dy * xhat) = -2. */
    const float m = 2.0f, r = 1.0f;
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    bnmlp_batchnorm_partial_backward(kernels, &sum_dy, &sum_dy_xhat, dy, x, &m, &r, 2, 1, 1);
    assert_true(sum_dy == 0.0 && sum_dy_xhat == -2.0);
    /* dx = (dy - 0 - xhat * (-1)) = [1 - 1, -1 + 1] = [0, 0]. */
    float dx[2] = {5.0f, 5.0f};
    bnmlp_batchnorm_finish_backward(kernels, dx, &sum_dy, &sum_dy_xhat, dy, x, &m, &r, NULL, 2.0, 2, 1, 1);
    assert_true(dx[0] == 0.0f && dx[1] == 0.0f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_statistics_match_reference),
        cmocka_unit_test(test_backward_matches_reference),
        cmocka_unit_test(test_elementwise_passes_match_reference),
        cmocka_unit_test(test_small_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
