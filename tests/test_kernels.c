/* test_kernels.c - every dispatched kernel against its naive reference, over shapes that hit
 * each code path (narrow and wide outputs, row counts not a multiple of the row block, blocks
 * of the double accumulators), plus exact small cases. */
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "support.h"

/* Deterministic values in [-1, 1) from a small linear congruential sequence. */
static void fill(float *v, size_t n, uint32_t seed) {
    uint32_t s = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        v[i] = (float)((double)(s >> 8) / 8388608.0 - 1.0);
    }
}

typedef struct shape {
    size_t batch, in, out;
} shape;

/* Shapes covering: out 1 (narrow, tn special case), out 3 (narrow, general), out 50 (wide),
 * out 300 (more than one 256-wide accumulator block), batch not a multiple of 4, in 1. */
static const shape shapes[] = {{32, 50, 1}, {7, 5, 3}, {32, 2, 50}, {5, 3, 300}, {1, 1, 1},
                               {13, 17, 8}, {6, 300, 1}, {33, 9, 7}};
#define SHAPE_COUNT (sizeof shapes / sizeof shapes[0])

static void test_matmul_bias_matches_reference(void **state) {
    (void)state;
    for (size_t k = 0; k < SHAPE_COUNT; k++) {
        const shape s = shapes[k];
        float *x = malloc(s.batch * s.in * sizeof *x), *w = malloc(s.in * s.out * sizeof *w);
        float *b = malloc(s.out * sizeof *b), *y = malloc(s.batch * s.out * sizeof *y);
        float *ref = malloc(s.batch * s.out * sizeof *ref);
        fill(x, s.batch * s.in, 1);
        fill(w, s.in * s.out, 2);
        fill(b, s.out, 3);
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            bnmlp_kernel_matmul_bias(y, x, w, with_bias ? b : NULL, s.batch, s.in, s.out);
            bnmlp_kernel_matmul_bias_reference(ref, x, w, with_bias ? b : NULL, s.batch, s.in, s.out);
            /* Same order of additions; only FMA contraction (clang) may round differently. */
            assert_floats_close(y, ref, s.batch * s.out, 1e-6, 1e-6);
        }
        free(x), free(w), free(b), free(y), free(ref);
    }
}

static void test_matmul_tn_matches_reference(void **state) {
    (void)state;
    for (size_t k = 0; k < SHAPE_COUNT; k++) {
        const shape s = shapes[k];
        float *x = malloc(s.batch * s.in * sizeof *x), *dy = malloc(s.batch * s.out * sizeof *dy);
        float *dw = malloc(s.in * s.out * sizeof *dw), *ref = malloc(s.in * s.out * sizeof *ref);
        fill(x, s.batch * s.in, 4);
        fill(dy, s.batch * s.out, 5);
        fill(dw, s.in * s.out, 6); /* accumulates into what is there */
        memcpy(ref, dw, s.in * s.out * sizeof *ref);
        bnmlp_kernel_matmul_tn_accumulate(dw, x, dy, s.batch, s.in, s.out);
        bnmlp_kernel_matmul_tn_accumulate_reference(ref, x, dy, s.batch, s.in, s.out);
        assert_floats_close(dw, ref, s.in * s.out, 1e-6, 1e-6);
        free(x), free(dy), free(dw), free(ref);
    }
}

static void test_matmul_nt_matches_reference(void **state) {
    (void)state;
    for (size_t k = 0; k < SHAPE_COUNT; k++) {
        const shape s = shapes[k];
        float *dy = malloc(s.batch * s.out * sizeof *dy), *w = malloc(s.in * s.out * sizeof *w);
        float *dx = malloc(s.batch * s.in * sizeof *dx), *ref = malloc(s.batch * s.in * sizeof *ref);
        fill(dy, s.batch * s.out, 7);
        fill(w, s.in * s.out, 8);
        bnmlp_kernel_matmul_nt(dx, dy, w, s.batch, s.in, s.out);
        bnmlp_kernel_matmul_nt_reference(ref, dy, w, s.batch, s.in, s.out);
        assert_floats_close(dx, ref, s.batch * s.in, 1e-6, 1e-6);
        free(dy), free(w), free(dx), free(ref);
    }
}

/* Hand-computed: x = [[1, 2], [3, 4]], w = [[1, 0, -1], [2, 1, 0]], b = [0.5, 0, -0.5]. */
static void test_matmul_exact_small(void **state) {
    (void)state;
    const float x[4] = {1, 2, 3, 4}, w[6] = {1, 0, -1, 2, 1, 0}, b[3] = {0.5f, 0, -0.5f};
    float y[6];
    bnmlp_kernel_matmul_bias(y, x, w, b, 2, 2, 3);
    const float expected_y[6] = {5.5f, 2, -1.5f, 11.5f, 4, -3.5f};
    assert_memory_equal(y, expected_y, sizeof y);
    /* dw = x^T dy with dy = [[1, 0, 1], [0, 1, 1]] -> [[1, 3, 4], [2, 4, 6]], added to ones. */
    const float dy[6] = {1, 0, 1, 0, 1, 1};
    float dw[6] = {1, 1, 1, 1, 1, 1};
    bnmlp_kernel_matmul_tn_accumulate(dw, x, dy, 2, 2, 3);
    const float expected_dw[6] = {2, 4, 5, 3, 5, 7};
    assert_memory_equal(dw, expected_dw, sizeof dw);
    /* dx = dy w^T -> [[1 - 1, 2 + 0], [0 - 1, 1 + 0]] = [[0, 2], [-1, 1]]. */
    float dx[4];
    bnmlp_kernel_matmul_nt(dx, dy, w, 2, 2, 3);
    const float expected_dx[4] = {0, 2, -1, 1};
    assert_memory_equal(dx, expected_dx, sizeof dx);
}

static void test_column_sums(void **state) {
    (void)state;
    enum { ROWS = 9, COLS = 300 };
    static float m[ROWS * COLS], sums[COLS];
    fill(m, ROWS * COLS, 9);
    for (size_t c = 0; c < COLS; c++) sums[c] = 1.0f;
    bnmlp_kernel_column_sums_accumulate(sums, m, ROWS, COLS);
    for (size_t c = 0; c < COLS; c++) {
        double expected = 0.0;
        for (size_t r = 0; r < ROWS; r++) expected += m[r * COLS + c];
        assert_float_equal(sums[c], (float)(1.0 + (float)expected), 1e-6);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matmul_bias_matches_reference),
        cmocka_unit_test(test_matmul_tn_matches_reference),
        cmocka_unit_test(test_matmul_nt_matches_reference),
        cmocka_unit_test(test_matmul_exact_small),
        cmocka_unit_test(test_column_sums),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
