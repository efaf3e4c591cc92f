/* test_kernels.c - the dense layer's three products through a kernel context as a model plans
 * it (every instruction set this machine has, 1 to 3 threads, scratch sized by
 * bnmlp_gemm_scratch_floats), against the naive reference; exact small cases; the bias
 * reduction; every element-wise activation loop of every instruction set against its reference,
 * bit for bit; bnmlp_parallel_for's split. The GEMM itself is tested shape by shape in
 * test_gemm.c, the batch-norm loops in test_batchnorm_kernels.c. */
#include <math.h>
#include <stdatomic.h>
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

/* ---- element-wise activations ------------------------------------------------------------------ */

/* Lengths around every vector width (4, 8, 16 floats) and unrolling. */
static const size_t lengths[] = {0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 65, 100, 257, 1000};
#define LENGTH_COUNT (sizeof lengths / sizeof lengths[0])
#define MAX_LENGTH 1000

/* Inputs: a spread in [-8, 8), with zeros of both signs, huge values, infinities and a NaN. */
static void fill_inputs(float *x, size_t n, uint32_t seed) {
    bnmlp_test_fill(x, n, seed);
    for (size_t i = 0; i < n; i++) x[i] *= 8.0f;
    const float specials[] = {0.0f, -0.0f, 1e30f, -1e30f, INFINITY, -INFINITY, NAN, 88.0f, -88.0f, 1e-30f};
    for (size_t i = 0; i < n && i < sizeof specials / sizeof specials[0]; i++) x[(i * 37) % n] = specials[i];
}

/* Bit-for-bit equality, except that any NaN matches any NaN: a compiler may vectorize an
 * invalid operation (e.g. -inf * 0) into one that yields the positive default NaN where the
 * scalar loop gives the negative one (clang 14's AVX-512 silu); a NaN is refused as diverged
 * whatever its sign or payload. */
static bool same_bits(float a, float b) { return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b)); }

static void assert_same_bits(const float *a, const float *b, size_t n, const char *isa,
                             bnmlp_activation kind) {
    bool same = true;
    for (size_t i = 0; i < n; i++)
        if (!same_bits(a[i], b[i])) {
            print_error("isa %s, %s, n %zu: [%zu] %.9g != reference %.9g\n", isa, bnmlp_activation_name(kind),
                        n, i, (double)a[i], (double)b[i]);
            same = false;
        }
    if (!same) fail();
}

static void test_activations_match_reference(void **state) {
    (void)state;
    static float x[MAX_LENGTH], y[MAX_LENGTH], dy[MAX_LENGTH], out[MAX_LENGTH], ref[MAX_LENGTH];
    size_t tested = 0;
    for (size_t i = 0; i < bnmlp_isa_count(); i++) {
        const bnmlp_isa *isa = bnmlp_isa_at(i);
        if (!bnmlp_isa_available(isa)) continue;
        bnmlp_kernel_context context = {0};
        assert_ok(bnmlp_gemm_plan_init(&context.plan, isa));
        for (size_t k = 0; k < BNMLP_ACTIVATION_KINDS; k++) {
            const bnmlp_activation kind = (bnmlp_activation)k;
            if (bnmlp_activation_is_row_wise(kind)) {
                assert_null(BNMLP_ISA_ENTRY(isa, activation_forward[k]));
                continue;
            }
            assert_non_null(BNMLP_ISA_ENTRY(isa, activation_forward[k]));
            assert_non_null(BNMLP_ISA_ENTRY(isa, activation_backward[k]));
            for (size_t l = 0; l < LENGTH_COUNT; l++) {
                const size_t n = lengths[l];
                fill_inputs(x, MAX_LENGTH, (uint32_t)(n + 1));
                bnmlp_test_fill(dy, MAX_LENGTH, (uint32_t)(n + 2));
                const float alpha = 0.3f;
                /* Forward, into its own buffer and in place (y aliasing x). */
                bnmlp_activation_forward(&context, out, x, n, kind, alpha);
                bnmlp_activation_forward_reference(ref, x, n, kind, alpha);
                assert_same_bits(out, ref, n, isa->name, kind);
                memcpy(y, x, sizeof y);
                bnmlp_activation_forward(&context, y, y, n, kind, alpha);
                assert_same_bits(y, ref, n, isa->name, kind);
                /* Backward with the forward's output, into its own buffer and in place (dx = dy). */
                bnmlp_activation_backward(&context, out, dy, x, y, n, kind, alpha);
                bnmlp_activation_backward_reference(ref, dy, x, y, n, kind, alpha);
                assert_same_bits(out, ref, n, isa->name, kind);
                bnmlp_activation_backward(&context, dy, dy, x, y, n, kind, alpha);
                assert_same_bits(dy, ref, n, isa->name, kind);
                /* What backward does not use may be NULL. */
                const bnmlp_activation_uses uses = bnmlp_activation_backward_uses(kind);
                bnmlp_test_fill(dy, MAX_LENGTH, (uint32_t)(n + 2));
                bnmlp_activation_backward(&context, out, dy, (uses & BNMLP_ACTIVATION_USES_INPUT) ? x : NULL,
                                          (uses & BNMLP_ACTIVATION_USES_OUTPUT) ? y : NULL, n, kind, alpha);
                assert_same_bits(out, ref, n, isa->name, kind);
                tested++;
            }
        }
    }
    assert_true(tested > 0);
}

/* ---- bnmlp_parallel_for ---------------------------------------------------------------------------- */

#define RANGE_MAX 1000

/* What the pieces of one split saw: each index's piece start, each start's piece length, the
 * largest thread index. */
typedef struct split_record {
    size_t owner[RANGE_MAX];  /* begin of the piece that held index i, + 1 (0: none) */
    size_t length[RANGE_MAX]; /* at a piece's begin: its length */
    _Atomic size_t visits[RANGE_MAX];
    atomic_size_t pieces, max_thread;
} split_record;

static void record_piece(void *arg, size_t begin, size_t end, size_t thread) {
    split_record *r = arg;
    assert_true(begin < end);
    for (size_t i = begin; i < end; i++) r->owner[i] = begin + 1, atomic_fetch_add(&r->visits[i], 1);
    r->length[begin] = end - begin;
    atomic_fetch_add(&r->pieces, 1);
    size_t seen = atomic_load(&r->max_thread);
    while (thread > seen && !atomic_compare_exchange_weak(&r->max_thread, &seen, thread)) {
    }
}

static void test_parallel_for_split(void **state) {
    (void)state;
    static split_record r;
    const size_t ns[] = {0, 1, 2, 5, 16, 17, 100, 999, 1000}, mins[] = {0, 1, 3, 16, 64, 500, 2000};
    for (size_t threads = 1; threads <= 4; threads++) {
        bnmlp_kernel_context context;
        bnmlp_kernel_context_init(&context);
        context.pool = threads > 1 ? bnmlp_threadpool_create(threads, NULL, NULL) : NULL;
        for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
            for (size_t b = 0; b < sizeof mins / sizeof mins[0]; b++) {
                const size_t n = ns[a], min_piece = mins[b] ? mins[b] : 1;
                memset(&r, 0, sizeof r);
                bnmlp_parallel_for(&context, n, mins[b], record_piece, &r);
                /* Every index exactly once; as many pieces as threads allow with min_piece each. */
                for (size_t i = 0; i < n; i++) assert_int_equal(atomic_load(&r.visits[i]), 1);
                size_t expected = n / min_piece < threads ? n / min_piece : threads;
                if (expected == 0 && n > 0) expected = 1;
                assert_int_equal(atomic_load(&r.pieces), expected);
                assert_true(atomic_load(&r.max_thread) < threads);
                /* Contiguous ascending pieces of near-equal length, at least min_piece when split. */
                size_t shortest = RANGE_MAX, longest = 0;
                for (size_t i = 0; i < n; i += r.length[i]) {
                    assert_int_equal(r.owner[i], i + 1);
                    if (r.length[i] < shortest) shortest = r.length[i];
                    if (r.length[i] > longest) longest = r.length[i];
                }
                if (expected > 1) assert_true(shortest >= min_piece && longest - shortest <= 1);
            }
        bnmlp_threadpool_free(context.pool);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense_products_match_reference),
        cmocka_unit_test(test_dense_exact_small),
        cmocka_unit_test(test_column_sums),
        cmocka_unit_test(test_activations_match_reference),
        cmocka_unit_test(test_parallel_for_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
