/* test_gemm.c - the GEMM on every instruction set this machine has (portable always) against
 * the naive double-precision reference, on awkward shapes, all four transpose combinations,
 * padded leading dimensions, bias and accumulate, blocks small enough that every loop runs many
 * times; bit-identity across thread counts; the instruction-set choice; the thread pool. */
#define _POSIX_C_SOURCE 200809L

#include <float.h>
#include <pthread.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"
#include "kernels/gemm.h"
#include "support.h"

typedef struct gemm_case {
    size_t m, n, k;
    bool transpose_a, transpose_b, bias, accumulate;
    size_t pad; /* extra floats at the end of every stored row of A, B and C */
} gemm_case;

/* Runs one case through plan (on pool) and through the reference, and checks
 *   |c - reference| <= (k + 3) FLT_EPSILON (sum_p |op(A)(i,p) op(B)(p,j)| + |c0| + |bias|)
 * elementwise: the float rounding bound of a sum of k + 2 terms in any order. Row padding is
 * filled with NaN (A, B: must never be read into C) and must stay untouched in C. */
static void check_case(const bnmlp_gemm_plan *plan, bnmlp_threadpool *pool, gemm_case g) {
    const size_t a_rows = g.transpose_a ? g.k : g.m, a_cols = g.transpose_a ? g.m : g.k;
    const size_t b_rows = g.transpose_b ? g.n : g.k, b_cols = g.transpose_b ? g.k : g.n;
    const size_t lda = a_cols + g.pad, ldb = b_cols + g.pad, ldc = g.n + g.pad;
    float *a = malloc((a_rows * lda + 1) * sizeof *a), *b = malloc((b_rows * ldb + 1) * sizeof *b);
    float *bias = malloc((g.n + 1) * sizeof *bias);
    float *c = malloc((g.m * ldc + 1) * sizeof *c), *ref = malloc((g.m * ldc + 1) * sizeof *ref);
    float *bound = malloc((g.m * g.n + 1) * sizeof *bound);
    for (size_t i = 0; i < a_rows * lda; i++) a[i] = NAN;
    for (size_t i = 0; i < b_rows * ldb; i++) b[i] = NAN;
    for (size_t r = 0; r < a_rows; r++) bnmlp_test_fill(a + r * lda, a_cols, (uint32_t)(11 + r));
    for (size_t r = 0; r < b_rows; r++) bnmlp_test_fill(b + r * ldb, b_cols, (uint32_t)(7001 + r));
    bnmlp_test_fill(bias, g.n, 5);
    bnmlp_test_fill(c, g.m * ldc, 9);
    for (size_t i = 0; i < g.m; i++)
        for (size_t j = g.n; j < ldc; j++) c[i * ldc + j] = 1234.5f; /* padding sentinel */
    memcpy(ref, c, g.m * ldc * sizeof *c);
    for (size_t i = 0; i < g.m; i++) {
        for (size_t j = 0; j < g.n; j++) {
            double s = (g.accumulate ? fabs(c[i * ldc + j]) : 0.0) + (g.bias ? fabs(bias[j]) : 0.0);
            for (size_t p = 0; p < g.k; p++) {
                const float x = g.transpose_a ? a[p * lda + i] : a[i * lda + p];
                const float y = g.transpose_b ? b[j * ldb + p] : b[p * ldb + j];
                s += fabs((double)x * (double)y);
            }
            bound[i * g.n + j] = (float)((double)(g.k + 3) * FLT_EPSILON * s + 1e-30);
        }
    }
    const size_t threads = bnmlp_threadpool_threads(pool);
    const size_t floats = bnmlp_gemm_scratch_floats(plan, g.m, g.n, g.k, threads);
    /* Offset by one float so the GEMM has to align the scratch itself. */
    float *scratch_block = malloc((floats + 2) * sizeof *scratch_block);
    assert_ok(bnmlp_gemm(plan, pool, scratch_block + 1, floats, g.transpose_a, g.transpose_b, g.m, g.n, g.k,
                         a, lda, b, ldb, g.bias ? bias : NULL, g.accumulate, c, ldc));
    bnmlp_gemm_reference(g.transpose_a, g.transpose_b, g.m, g.n, g.k, a, lda, b, ldb, g.bias ? bias : NULL,
                         g.accumulate, ref, ldc);
    for (size_t i = 0; i < g.m; i++) {
        for (size_t j = 0; j < ldc; j++) {
            const float got = c[i * ldc + j], want = ref[i * ldc + j];
            const bool ok = j < g.n ? fabsf(got - want) <= bound[i * g.n + j] : got == 1234.5f;
            if (!ok) {
                print_error("isa %s, %zux%zux%zu ta %d tb %d bias %d acc %d pad %zu: c[%zu,%zu] = "
                            "%.9g, reference %.9g, bound %.3g\n",
                            bnmlp_isa_name(plan->isa), g.m, g.n, g.k, g.transpose_a, g.transpose_b, g.bias,
                            g.accumulate, g.pad, i, j, (double)got, (double)want, (double)bound[i * g.n + j]);
                fail();
            }
        }
    }
    free(a), free(b), free(bias), free(c), free(ref), free(bound), free(scratch_block);
}

/* Every combination of transposes, bias, accumulate and (no) padding for one shape. */
static void check_shape_all_ways(const bnmlp_gemm_plan *plan, bnmlp_threadpool *pool, size_t m, size_t n,
                                 size_t k) {
    for (int bits = 0; bits < 32; bits++) {
        const gemm_case g = {
            m, n, k, bits & 1, (bits >> 1) & 1, (bits >> 2) & 1, (bits >> 3) & 1, (bits >> 4) & 1 ? 3 : 0};
        check_case(plan, pool, g);
    }
}

/* Every instruction set of the descriptor list (available here or not). */
#define every_isa(s) bnmlp_isa_at(s)
#define ISA_COUNT bnmlp_isa_count()

/* Awkward shapes (m, n, k): ones, primes, widths off the vector length, thin and empty sums,
 * tutorial-sized products (direct path) and larger ones (packed path). */
static const size_t shapes[][3] = {
    {1, 1, 1},    {7, 13, 17},   {31, 37, 41}, {1, 50, 33},  {40, 1, 33},   {33, 50, 1},
    {32, 50, 2},  {32, 1, 50},   {32, 2, 50},  {2, 50, 32},  {50, 1, 32},   {5, 0, 3},
    {0, 5, 3},    {9, 23, 0},    {17, 33, 65}, {64, 64, 64}, {13, 129, 31}, {100, 17, 200},
    {6, 16, 350}, {61, 47, 300}, {3, 200, 5},  {48, 96, 40},
};
#define SHAPE_COUNT (sizeof shapes / sizeof shapes[0])

static void test_every_isa_matches_reference(void **state) {
    (void)state;
    for (size_t s = 0; s < ISA_COUNT; s++) {
        if (!bnmlp_isa_available(every_isa(s))) {
            print_message("[  NOTE    ] isa %s not available here: skipped\n", bnmlp_isa_name(every_isa(s)));
            continue;
        }
        bnmlp_gemm_plan plan;
        assert_ok(bnmlp_gemm_plan_init(&plan, every_isa(s)));
        assert_ptr_equal(plan.isa, every_isa(s));
        for (size_t i = 0; i < SHAPE_COUNT; i++)
            check_shape_all_ways(&plan, NULL, shapes[i][0], shapes[i][1], shapes[i][2]);
    }
}

/* Blocks made tiny so that the K, M and N blocking loops, the edge tiles and the thread split
 * all run many times on small matrices. */
static bnmlp_gemm_plan tiny_blocks(const bnmlp_isa *isa) {
    bnmlp_gemm_plan plan;
    assert_ok(bnmlp_gemm_plan_init(&plan, isa));
    plan.kc = 16;
    plan.mc = 2 * plan.mr;
    plan.nc = 3 * plan.nr;
    return plan;
}

static void test_every_blocking_loop_runs_repeatedly(void **state) {
    (void)state;
    for (size_t s = 0; s < ISA_COUNT; s++) {
        if (!bnmlp_isa_available(every_isa(s))) continue;
        const bnmlp_gemm_plan plan = tiny_blocks(every_isa(s));
        check_shape_all_ways(&plan, NULL, 37, 131, 53);
        check_shape_all_ways(&plan, NULL, 64, 200, 48);
    }
}

static void test_default_blocks_larger_than_one_block(void **state) {
    (void)state;
    for (size_t s = 0; s < ISA_COUNT; s++) {
        if (!bnmlp_isa_available(every_isa(s))) continue;
        bnmlp_gemm_plan plan;
        assert_ok(bnmlp_gemm_plan_init(&plan, every_isa(s)));
        /* More rows than MC and a longer sum than KC: the M and K loops run twice or more. */
        const size_t m = plan.mc + 5, k = plan.kc * 2 + 3;
        const gemm_case g1 = {m, 70, k, false, false, true, false, 0};
        const gemm_case g2 = {m, 70, k, true, true, false, true, 2};
        check_case(&plan, NULL, g1);
        check_case(&plan, NULL, g2);
    }
}

/* c (8, 32) = [c] + a (8, k packed) . b (k, 32 packed) [+ bias]: the AVX-512 kernel's geometry
 * in plain C, so that the packing and edge handling for MR 8 / NR 32 (and the AVX2 packers at
 * that geometry) are tested on machines without AVX-512. */
static void micro_8x32_plain(size_t k, const float *a, const float *b, float *c, size_t ldc,
                             const float *bias, bool load_c) {
    float acc[8][32] = {{0}};
    for (size_t p = 0; p < k; p++)
        for (size_t r = 0; r < 8; r++)
            for (size_t j = 0; j < 32; j++) acc[r][j] += a[p * 8 + r] * b[p * 32 + j];
    for (size_t r = 0; r < 8; r++) {
        for (size_t j = 0; j < 32; j++) {
            float s = acc[r][j];
            if (load_c) s += c[r * ldc + j];
            if (bias) s += bias[j];
            c[r * ldc + j] = s;
        }
    }
}

static void test_avx512_geometry_packing(void **state) {
    (void)state;
    for (size_t s = 0; s < ISA_COUNT; s++) {
        if (!bnmlp_isa_available(every_isa(s))) continue;
        bnmlp_gemm_plan plan;
        assert_ok(bnmlp_gemm_plan_init(&plan, every_isa(s))); /* its packers, 8x32 tiles */
        plan.mr = 8, plan.nr = 32, plan.micro_kernel = micro_8x32_plain;
        plan.kc = 40, plan.mc = 16, plan.nc = 64;
        check_shape_all_ways(&plan, NULL, 37, 131, 53);
        check_shape_all_ways(&plan, NULL, 16, 64, 83);
        check_shape_all_ways(&plan, NULL, 9, 33, 17);
    }
}

/* The same product on 1, 2, 3 and 4 threads gives identical bits. */
static void check_thread_counts_identical(const bnmlp_gemm_plan *plan, gemm_case g) {
    const size_t lda = g.transpose_a ? g.m : g.k, ldb = g.transpose_b ? g.k : g.n;
    float *a = malloc(g.m * g.k * sizeof *a), *b = malloc(g.k * g.n * sizeof *b);
    float *bias = malloc(g.n * sizeof *bias), *c0 = malloc(g.m * g.n * sizeof *c0);
    float *first = malloc(g.m * g.n * sizeof *first), *c = malloc(g.m * g.n * sizeof *c);
    bnmlp_test_fill(a, g.m * g.k, 1), bnmlp_test_fill(b, g.k * g.n, 2), bnmlp_test_fill(bias, g.n, 3),
        bnmlp_test_fill(c0, g.m * g.n, 4);
    const size_t floats = bnmlp_gemm_scratch_floats(plan, g.m, g.n, g.k, 4);
    float *scratch = malloc(floats * sizeof *scratch);
    for (size_t threads = 1; threads <= 4; threads++) {
        bnmlp_status status;
        bnmlp_threadpool *pool = bnmlp_threadpool_create(threads, NULL, &status);
        assert_ok(status);
        memcpy(c, c0, g.m * g.n * sizeof *c);
        assert_ok(bnmlp_gemm(plan, pool, scratch, floats, g.transpose_a, g.transpose_b, g.m, g.n, g.k, a, lda,
                             b, ldb, g.bias ? bias : NULL, g.accumulate, c, g.n));
        if (threads == 1)
            memcpy(first, c, g.m * g.n * sizeof *c);
        else
            assert_memory_equal(c, first, g.m * g.n * sizeof *c);
        bnmlp_threadpool_free(pool);
    }
    free(a), free(b), free(bias), free(c0), free(first), free(c), free(scratch);
}

static void test_thread_counts_give_identical_bits(void **state) {
    (void)state;
    for (size_t s = 0; s < ISA_COUNT; s++) {
        if (!bnmlp_isa_available(every_isa(s))) continue;
        bnmlp_gemm_plan plan;
        assert_ok(bnmlp_gemm_plan_init(&plan, every_isa(s)));
        const gemm_case forward = {130, 301, 270, false, false, true, false, 0};
        const gemm_case weights = {301, 97, 130, true, false, false, true, 0};
        const gemm_case inputs = {130, 270, 301, false, true, false, false, 0};
        check_thread_counts_identical(&plan, forward);
        check_thread_counts_identical(&plan, weights);
        check_thread_counts_identical(&plan, inputs);
        const bnmlp_gemm_plan tiny = tiny_blocks(every_isa(s));
        check_thread_counts_identical(&tiny, forward);
        check_thread_counts_identical(&tiny, weights);
    }
}

static void test_k_zero(void **state) {
    (void)state;
    bnmlp_gemm_plan plan;
    assert_ok(bnmlp_gemm_plan_init(&plan, NULL));
    float c[6] = {1, 2, 3, 4, 5, 6};
    const float bias[3] = {10, 20, 30};
    /* Accumulate without bias: unchanged (A and B may be NULL when k = 0). */
    assert_ok(bnmlp_gemm(&plan, NULL, NULL, 0, false, false, 2, 3, 0, NULL, 1, NULL, 3, NULL, true, c, 3));
    const float same[6] = {1, 2, 3, 4, 5, 6};
    assert_memory_equal(c, same, sizeof c);
    assert_ok(bnmlp_gemm(&plan, NULL, NULL, 0, false, false, 2, 3, 0, NULL, 1, NULL, 3, bias, false, c, 3));
    const float biased[6] = {10, 20, 30, 10, 20, 30};
    assert_memory_equal(c, biased, sizeof c);
    assert_ok(bnmlp_gemm(&plan, NULL, NULL, 0, false, false, 2, 3, 0, NULL, 1, NULL, 3, NULL, false, c, 3));
    const float zeros[6] = {0};
    assert_memory_equal(c, zeros, sizeof c);
}

static void test_bad_arguments(void **state) {
    (void)state;
    bnmlp_gemm_plan plan;
    assert_ok(bnmlp_gemm_plan_init(&plan, &bnmlp_isa_portable));
    float a[64 * 64] = {0}, b[64 * 64] = {0}, c[64 * 64] = {0};
    assert_status(bnmlp_gemm(NULL, NULL, NULL, 0, false, false, 1, 1, 1, a, 1, b, 1, NULL, false, c, 1),
                  BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_gemm(&plan, NULL, NULL, 0, false, false, 2, 2, 2, a, 1, b, 2, NULL, false, c, 2),
                  BNMLP_ERR_INVALID_ARGUMENT); /* lda < k */
    /* A packed-path product without enough scratch: refused, C untouched. */
    assert_false(bnmlp_gemm_is_direct(64, 64, 64));
    c[0] = 7.0f;
    assert_status(
        bnmlp_gemm(&plan, NULL, NULL, 0, false, false, 64, 64, 64, a, 64, b, 64, NULL, false, c, 64),
        BNMLP_ERR_INVALID_ARGUMENT);
    assert_true(c[0] == 7.0f);
}

/* ---- instruction-set choice ------------------------------------------------------------------ */

static void test_isa_resolution(void **state) {
    (void)state;
    const bnmlp_isa *best = bnmlp_isa_best();
    assert_non_null(best);
    assert_true(bnmlp_isa_available(best));
    bnmlp_gemm_plan plan;
    assert_ok(bnmlp_gemm_plan_init(&plan, NULL)); /* NULL: the best one */
    assert_ptr_equal(plan.isa, best);
    for (size_t s = 0; s < ISA_COUNT; s++) {
        const bool available = bnmlp_isa_available(every_isa(s));
        assert_ptr_equal(bnmlp_isa_find(bnmlp_isa_name(every_isa(s))), every_isa(s));
        assert_non_null(every_isa(s)->micro_kernel);
        assert_status(bnmlp_gemm_plan_init(&plan, every_isa(s)),
                      available ? BNMLP_OK : BNMLP_ERR_INVALID_ARGUMENT);
    }
    /* The portable row is always there, last, and has every entry. */
    assert_ptr_equal(bnmlp_isa_at(ISA_COUNT - 1), &bnmlp_isa_portable);
    assert_true(bnmlp_isa_available(&bnmlp_isa_portable));
    assert_null(bnmlp_isa_at(ISA_COUNT));
    assert_null(bnmlp_isa_find("sse9"));
    assert_false(bnmlp_isa_available(NULL));
    assert_string_equal(bnmlp_isa_name(NULL), "unknown");
}

static void test_isa_from_environment(void **state) {
    (void)state;
    const bnmlp_isa *isa;
    const char *names[] = {"portable", "avx2", "avx512", "best", ""};
    for (size_t i = 0; i < 5; i++) {
        const bool is_best = i >= 3;
        const bnmlp_isa *wanted = is_best ? bnmlp_isa_best() : bnmlp_isa_find(names[i]);
        setenv("BNMLP_ISA", names[i], 1);
        isa = NULL;
        /* A name of this build's list gives its row (available or not); "best" and "" the best. */
        assert_int_equal(bnmlp_isa_from_environment(&isa), wanted != NULL);
        assert_ptr_equal(isa, wanted);
    }
    setenv("BNMLP_ISA", "sse9", 1);
    isa = &bnmlp_isa_portable;
    assert_false(bnmlp_isa_from_environment(&isa));
    assert_ptr_equal(isa, &bnmlp_isa_portable);
    unsetenv("BNMLP_ISA");
    assert_true(bnmlp_isa_from_environment(&isa));
    assert_ptr_equal(isa, bnmlp_isa_best());
}

/* ---- the thread pool ------------------------------------------------------------------------- */

#define POOL_TASKS 37
typedef struct pool_counts {
    atomic_int runs[POOL_TASKS];
    atomic_int bad_thread;
    size_t threads;
} pool_counts;

static void count_task(void *context, size_t task, size_t thread) {
    pool_counts *counts = context;
    atomic_fetch_add(&counts->runs[task], 1);
    if (thread >= counts->threads) atomic_fetch_add(&counts->bad_thread, 1);
}

static void test_pool_runs_every_task_once(void **state) {
    (void)state;
    for (size_t threads = 1; threads <= 4; threads++) {
        bnmlp_status status;
        bnmlp_threadpool *pool = bnmlp_threadpool_create(threads, NULL, &status);
        assert_ok(status);
        assert_int_equal(bnmlp_threadpool_threads(pool), threads);
        pool_counts counts = {.threads = threads};
        for (size_t t = 0; t < POOL_TASKS; t++) atomic_init(&counts.runs[t], 0);
        atomic_init(&counts.bad_thread, 0);
        const int rounds = 2000;
        for (int r = 0; r < rounds; r++) {
            bnmlp_threadpool_run(pool, count_task, &counts, (size_t)(r % POOL_TASKS) + 1);
            for (size_t t = 0; t <= (size_t)(r % POOL_TASKS); t++) atomic_fetch_sub(&counts.runs[t], 1);
        }
        for (size_t t = 0; t < POOL_TASKS; t++) assert_int_equal(atomic_load(&counts.runs[t]), 0);
        assert_int_equal(atomic_load(&counts.bad_thread), 0);
        bnmlp_threadpool_run(pool, count_task, &counts, 0); /* no tasks: returns at once */
        bnmlp_threadpool_free(pool);
    }
    bnmlp_threadpool_free(NULL);
}

/* A run of more tasks than the pool hands out at once (it cuts them into runs of at most 65535):
 * every index still runs exactly once, on a thread of the pool. */
#define MANY_TASKS ((size_t)3 * 65535 + 5)
typedef struct many_counts {
    atomic_int *runs;
    atomic_int bad_thread;
    size_t threads;
} many_counts;

static void count_many_task(void *context, size_t task, size_t thread) {
    many_counts *counts = context;
    if (task < MANY_TASKS)
        atomic_fetch_add(&counts->runs[task], 1);
    else
        atomic_fetch_add(&counts->bad_thread, 1);
    if (thread >= counts->threads) atomic_fetch_add(&counts->bad_thread, 1);
}

static void test_pool_runs_more_tasks_than_one_run_holds(void **state) {
    (void)state;
    atomic_int *runs = malloc(MANY_TASKS * sizeof *runs);
    assert_non_null(runs);
    for (size_t threads = 1; threads <= 3; threads++) {
        bnmlp_status status;
        bnmlp_threadpool *pool = bnmlp_threadpool_create(threads, NULL, &status);
        assert_ok(status);
        many_counts counts = {.runs = runs, .threads = threads};
        for (size_t t = 0; t < MANY_TASKS; t++) atomic_init(&runs[t], 0);
        atomic_init(&counts.bad_thread, 0);
        bnmlp_threadpool_run(pool, count_many_task, &counts, MANY_TASKS);
        for (size_t t = 0; t < MANY_TASKS; t++)
            if (atomic_load(&runs[t]) != 1) fail_msg("task %zu ran %d times", t, atomic_load(&runs[t]));
        assert_int_equal(atomic_load(&counts.bad_thread), 0);
        bnmlp_threadpool_free(pool);
    }
    free(runs);
}

/* Threads of this process, from /proc (Linux); 0 when unknown. */
static size_t process_threads(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    size_t threads = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %zu", &threads) == 1) break;
    fclose(f);
    return threads;
}

static void test_pool_of_one_creates_no_thread(void **state) {
    (void)state;
    const size_t before = process_threads();
    bnmlp_status status;
    bnmlp_threadpool *one = bnmlp_threadpool_create(1, NULL, &status);
    assert_ok(status);
    if (before > 0) assert_int_equal(process_threads(), before);
    bnmlp_threadpool *three = bnmlp_threadpool_create(3, NULL, &status);
    assert_ok(status);
    if (before > 0) assert_int_equal(process_threads(), before + 2);
    bnmlp_threadpool_free(three);
    bnmlp_threadpool_free(one);
    if (before > 0) assert_int_equal(process_threads(), before);
}

/* Two pools driven from two threads at once: each run still sees each of its tasks once. */
typedef struct pool_user {
    pool_counts counts;
    bool ok;
} pool_user;

static void *use_own_pool(void *argument) {
    pool_user *user = argument;
    bnmlp_status status;
    bnmlp_threadpool *pool = bnmlp_threadpool_create(2, NULL, &status);
    user->ok = pool != NULL;
    user->counts.threads = 2;
    for (size_t t = 0; t < POOL_TASKS; t++) atomic_init(&user->counts.runs[t], 0);
    atomic_init(&user->counts.bad_thread, 0);
    for (int r = 0; r < 500 && pool; r++) bnmlp_threadpool_run(pool, count_task, &user->counts, POOL_TASKS);
    for (size_t t = 0; t < POOL_TASKS; t++)
        if (atomic_load(&user->counts.runs[t]) != 500) user->ok = false;
    if (atomic_load(&user->counts.bad_thread) != 0) user->ok = false;
    bnmlp_threadpool_free(pool);
    return NULL;
}

static void test_two_pools_in_two_threads(void **state) {
    (void)state;
    pool_user users[2];
    pthread_t threads[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, use_own_pool, &users[i]), 0);
    for (int i = 0; i < 2; i++) pthread_join(threads[i], NULL);
    assert_true(users[0].ok);
    assert_true(users[1].ok);
}

static void *fail_allocate(void *context, size_t size) {
    (void)context, (void)size;
    return NULL;
}
static void fail_release(void *context, void *pointer) { (void)context, (void)pointer; }

static void test_pool_allocation_failure(void **state) {
    (void)state;
    const bnmlp_allocator failing = {fail_allocate, fail_release, NULL};
    bnmlp_status status = BNMLP_OK;
    assert_null(bnmlp_threadpool_create(2, &failing, &status));
    assert_int_equal(status, BNMLP_ERR_OUT_OF_MEMORY);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_isa_matches_reference),
        cmocka_unit_test(test_every_blocking_loop_runs_repeatedly),
        cmocka_unit_test(test_default_blocks_larger_than_one_block),
        cmocka_unit_test(test_avx512_geometry_packing),
        cmocka_unit_test(test_thread_counts_give_identical_bits),
        cmocka_unit_test(test_k_zero),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_isa_resolution),
        cmocka_unit_test(test_isa_from_environment),
        cmocka_unit_test(test_pool_runs_every_task_once),
        cmocka_unit_test(test_pool_runs_more_tasks_than_one_run_holds),
        cmocka_unit_test(test_pool_of_one_creates_no_thread),
        cmocka_unit_test(test_two_pools_in_two_threads),
        cmocka_unit_test(test_pool_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
