/* test_kernels.c - the dense layer's three products through a kernel context as a model plans
 * it (every instruction set this machine has, 1 to 3 threads, scratch sized by
 * bnmlp_gemm_scratch_floats), against the naive reference; exact small cases; the bias
 * reduction. The GEMM itself is tested shape by shape in test_gemm.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "layers/layers.h"
#include "support.h"

typedef struct shape {
    size_t batch, in, out;
} shape;

/* The tutorial's shapes, narrow and wide outputs, primes, and the large MLP's first layer at a
 * small batch (packed path, several blocks). */
static const shape shapes[] = {{32, 50, 1}, {32, 2, 50}, {7, 5, 3},     {1, 1, 1},     {13, 17, 8},
                               {6, 300, 1}, {33, 9, 7},  {64, 256, 96}, {37, 129, 70}, {5, 3, 300}};
#define SHAPE_COUNT (sizeof shapes / sizeof shapes[0])

/* A context for isa and threads with scratch for every product of the shape. */
static bnmlp_kernel_context make_context(const bnmlp_isa *isa, size_t threads, shape s) {
    bnmlp_kernel_context context = {0};
    assert_ok(bnmlp_gemm_plan_init(&context.plan, isa));
    size_t m = s.batch > s.in ? s.batch : s.in, n = s.out > s.in ? s.out : s.in;
    size_t k = s.in > s.batch ? s.in : s.batch;
    if (s.out > k) k = s.out;
    context.scratch_floats = bnmlp_gemm_scratch_floats(&context.plan, m, n, k, threads);
    context.scratch = context.scratch_floats ? malloc(context.scratch_floats * sizeof(float)) : NULL;
    if (threads > 1) context.pool = bnmlp_threadpool_create(threads, NULL, NULL);
    return context;
}

static void free_context(bnmlp_kernel_context *context) {
    free(context->scratch);
    bnmlp_threadpool_free(context->pool);
}

/* Relative tolerance of a float32 sum of k products of values in [-1, 1]: a few ulps per term. */
static double tolerance(size_t k) { return 4e-7 * (double)(k + 4); }

/* Forward and backward of a dense layer through the context, against the reference. */
static void check_dense(const bnmlp_kernel_context *context, shape s) {
    const size_t B = s.batch, IN = s.in, OUT = s.out;
    float *x = malloc(B * IN * sizeof *x), *w = malloc(IN * OUT * sizeof *w), *b = malloc(OUT * sizeof *b);
    float *y = malloc(B * OUT * sizeof *y), *ref = malloc(B * (IN > OUT ? IN : OUT) * IN * sizeof *ref);
    float *dy = malloc(B * OUT * sizeof *dy), *dw = malloc(IN * OUT * sizeof *dw),
          *dx = malloc(B * IN * sizeof *dx);
    bnmlp_test_fill(x, B * IN, 1), bnmlp_test_fill(w, IN * OUT, 2), bnmlp_test_fill(b, OUT, 3),
        bnmlp_test_fill(dy, B * OUT, 4), bnmlp_test_fill(dw, IN * OUT, 5);
    bnmlp_dense_forward(context, y, x, w, b, B, IN, OUT);
    bnmlp_gemm_reference(false, false, B, OUT, IN, x, IN, w, OUT, b, false, ref, OUT);
    assert_floats_close(y, ref, B * OUT, tolerance(IN), tolerance(IN));
    memcpy(ref, dw, IN * OUT * sizeof *ref);
    float db[512] = {0};
    bnmlp_dense_backward(context, dx, dw, db, dy, x, w, B, IN, OUT);
    bnmlp_gemm_reference(true, false, IN, OUT, B, x, IN, dy, OUT, NULL, true, ref, OUT);
    assert_floats_close(dw, ref, IN * OUT, tolerance(B), tolerance(B));
    bnmlp_gemm_reference(false, true, B, IN, OUT, dy, OUT, w, OUT, NULL, false, ref, IN);
    assert_floats_close(dx, ref, B * IN, tolerance(OUT), tolerance(OUT));
    free(x), free(w), free(b), free(y), free(ref), free(dy), free(dw), free(dx);
}

static void test_dense_products_match_reference(void **state) {
    (void)state;
    for (size_t i = 0; i < bnmlp_isa_count(); i++) {
        const bnmlp_isa *isa = bnmlp_isa_at(i);
        if (!bnmlp_isa_available(isa)) continue;
        for (size_t threads = 1; threads <= 3; threads++)
            for (size_t k = 0; k < SHAPE_COUNT; k++) {
                bnmlp_kernel_context context = make_context(isa, threads, shapes[k]);
                check_dense(&context, shapes[k]);
                free_context(&context);
            }
    }
}

/* Hand-computed: x = [[1, 2], [3, 4]], w = [[1, 0, -1], [2, 1, 0]], b = [0.5, 0, -0.5]. */
static void test_dense_exact_small(void **state) {
    (void)state;
    bnmlp_kernel_context context;
    bnmlp_kernel_context_init(&context);
    const float x[4] = {1, 2, 3, 4}, w[6] = {1, 0, -1, 2, 1, 0}, b[3] = {0.5f, 0, -0.5f};
    float y[6];
    bnmlp_dense_forward(&context, y, x, w, b, 2, 2, 3);
    const float expected_y[6] = {5.5f, 2, -1.5f, 11.5f, 4, -3.5f};
    assert_memory_equal(y, expected_y, sizeof y);
    /* dw = x^T dy with dy = [[1, 0, 1], [0, 1, 1]] -> [[1, 3, 4], [2, 4, 6]], added to ones;
     * db = column sums of dy, added to zeros; dx = dy w^T = [[0, 2], [-1, 1]]. */
    const float dy[6] = {1, 0, 1, 0, 1, 1};
    float dw[6] = {1, 1, 1, 1, 1, 1}, db[3] = {0}, dx[4];
    bnmlp_dense_backward(&context, dx, dw, db, dy, x, w, 2, 2, 3);
    const float expected_dw[6] = {2, 4, 5, 3, 5, 7}, expected_db[3] = {1, 1, 2},
                expected_dx[4] = {0, 2, -1, 1};
    assert_memory_equal(dw, expected_dw, sizeof dw);
    assert_memory_equal(db, expected_db, sizeof db);
    assert_memory_equal(dx, expected_dx, sizeof dx);
}

static void test_column_sums(void **state) {
    (void)state;
    enum { ROWS = 9, COLS = 300 };
    static float m[ROWS * COLS], sums[COLS];
    bnmlp_test_fill(m, ROWS * COLS, 9);
    for (size_t c = 0; c < COLS; c++) sums[c] = 1.0f;
    bnmlp_kernel_column_sums_accumulate(bnmlp_test_kernels(), sums, m, ROWS, COLS);
    for (size_t c = 0; c < COLS; c++) {
        double expected = 0.0;
        for (size_t r = 0; r < ROWS; r++) expected += m[r * COLS + c];
        assert_float_equal(sums[c], (float)(1.0 + (float)expected), 1e-6);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense_products_match_reference),
        cmocka_unit_test(test_dense_exact_small),
        cmocka_unit_test(test_column_sums),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
