/* test_bf16.c - bf16 mixed precision's arithmetic and product: the portable reference of
 * vcvtne2ps2bf16 / vdpbf16ps on a table of exact cases (specials, ties, denormals, cancellation,
 * overflow), against the instructions themselves on random and special operands where the CPU
 * has AVX512_BF16, every row's bf16 micro-kernel against the reference, and the bf16 GEMM bit for
 * bit against its naive reference on many shapes, every instruction set, 1-3 threads. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"
#include "kernels/bf16.h"
#include "kernels/gemm.h"
#include "support.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

static uint32_t bits_of(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static float float_of(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* Same bits, or both NaN (payloads are not part of the contract). */
static bool same(float a, float b) { return (isnan(a) && isnan(b)) || bits_of(a) == bits_of(b); }

/* A bf16 value's bits from a float that is one exactly. */
static uint16_t bf(float x) { return (uint16_t)(bits_of(x) >> 16); }

static uint32_t pair(float lo, float hi) { return (uint32_t)bf(lo) | (uint32_t)bf(hi) << 16; }

static void test_conversion_table(void **state) {
    (void)state;
    static const struct {
        uint32_t in;
        uint16_t out;
    } cases[] = {
        {0x3f800000u, 0x3f80},                        /* 1 */
        {0x3f808000u, 0x3f80},                        /* tie, even below */
        {0x3f818000u, 0x3f82},                        /* tie, odd below: up */
        {0x3f807fffu, 0x3f80},                        /* below the tie */
        {0x3f808001u, 0x3f81},                        /* above the tie */
        {0xbf808001u, 0xbf81},                        /* negative: magnitude rounds */
        {0x00000000u, 0x0000}, {0x80000000u, 0x8000}, /* zeros */
        {0x00000001u, 0x0000}, {0x807fffffu, 0x8000}, /* denormals flush to signed zeros */
        {0x00800000u, 0x0080},                        /* FLT_MIN */
        {0x7f7fffffu, 0x7f80},                        /* FLT_MAX rounds to infinity */
        {0x7f7f7fffu, 0x7f7f},                        /* the largest bf16 */
        {0x7f800000u, 0x7f80}, {0xff800000u, 0xff80}, /* infinities */
        {0x7f800001u, 0x7fc0},                        /* signalling NaN: quieted */
        {0xffc12345u, 0xffc1},                        /* quiet NaN keeps its upper payload */
        {0x7fffffffu, 0x7fff},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const uint16_t got = bnmlp_bf16_from_float(float_of(cases[i].in));
        if (got != cases[i].out) {
            print_error("case %zu: %08x -> %04x, want %04x\n", i, cases[i].in, got, cases[i].out);
            fail();
        }
    }
    assert_true(bnmlp_bf16_to_float(0x3f80) == 1.0f);
    assert_int_equal(bnmlp_bf16_pair(1.0f, -2.0f), 0xc0003f80u);
}

static void test_dot_table(void **state) {
    (void)state;
    const float tiny3 = ldexpf(3.0f, -75), tiny1 = ldexpf(1.0f, -75);
    static const float inf = INFINITY;
    const struct {
        float acc;
        uint32_t a, b;
        uint32_t want; /* bits */
    } cases[] = {
        /* the high pair first: (2^30 - 2^30) + 1 = 1, not (2^30 + 1) - 2^30 = 0 */
        {0x1p30f, pair(1.0f, -0x1p30f), pair(1.0f, 1.0f), 0x3f800000u},
        /* plain: 0.5 + 2 * 3 + 1 * 4 = 10.5 */
        {0.5f, pair(1.0f, 2.0f), pair(4.0f, 3.0f), 0x41280000u},
        /* signed zeros: -0 + (+0 x -1) = +0 ... ; -0 + (-0) + (-0) = -0 */
        {-0.0f, pair(0.0f, 0.0f), pair(1.0f, -1.0f), 0x00000000u},
        {-0.0f, pair(-0.0f, 0.0f), pair(1.0f, -1.0f), 0x80000000u},
        /* fused: FLT_MIN + 3 2^-150 (a product below float's range) = FLT_MIN + 2^-148 */
        {FLT_MIN, pair(0.0f, tiny3), pair(0.0f, tiny1), 0x00800002u},
        /* a denormal accumulator reads as zero: 1e-40 + 0 = +0 */
        {1e-40f, pair(0.0f, 0.0f), pair(0.0f, 0.0f), 0x00000000u},
        /* -1e-40 reads as -0; -0 + (+0) = +0 */
        {-1e-40f, pair(0.0f, 0.0f), pair(0.0f, 0.0f), 0x00000000u},
        /* a denormal result is written as zero: FLT_MIN - 2^-127 = 2^-127 -> +0 */
        {FLT_MIN, pair(0.0f, 0x1p-64f), pair(0.0f, -0x1p-63f), 0x00000000u},
        /* denormal bf16 inputs read as zeros: 1 + 2^-130 x 2^100 = 1 */
        {1.0f, pair(0.0f, 0x1p-130f), pair(0.0f, 0x1p100f), 0x3f800000u},
        /* overflow: FLT_MAX + 2^127 = inf */
        {FLT_MAX, pair(0.0f, 0x1p64f), pair(0.0f, 0x1p63f), 0x7f800000u},
        /* infinities: inf + 1 = inf; inf - inf = NaN; inf x 0 = NaN */
        {inf, pair(1.0f, 1.0f), pair(1.0f, 1.0f), 0x7f800000u},
        {inf, pair(0.0f, -inf), pair(0.0f, 1.0f), 0x7fc00000u},
        {1.0f, pair(0.0f, inf), pair(0.0f, 0.0f), 0x7fc00000u},
        /* NaN stays NaN */
        {NAN, pair(1.0f, 1.0f), pair(1.0f, 1.0f), 0x7fc00000u},
        /* round to nearest even at each addition: 1 + 2^-24 = 1 (tie, even), then + 2^-24 = 1 */
        {1.0f, pair(0x1p-12f, 0x1p-12f), pair(0x1p-12f, 0x1p-12f), 0x3f800000u},
        /* ... and 1 + 3 2^-25 (3/4 of an ulp) rounds up to 1 + 2^-23 */
        {1.0f, pair(0.0f, 0x1.8p-12f), pair(0.0f, 0x1p-12f), 0x3f800001u},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const float got = bnmlp_bf16_dot_pair(cases[i].acc, cases[i].a, cases[i].b);
        if (!same(got, float_of(cases[i].want))) {
            print_error("case %zu: got %a (%08x), want %a\n", i, (double)got, bits_of(got),
                        (double)float_of(cases[i].want));
            fail();
        }
    }
}

/* ---- random operands over every range ------------------------------------------------------------ */

static uint64_t rng_state = 88172645463325252ull;
static uint32_t next_random(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

/* A bf16 of one of five ranges: any bits, moderate, tiny (products near the denormal range),
 * huge (overflowing products), denormal. */
static uint16_t random_bf16(unsigned kind) {
    const uint32_t r = next_random(), sign = (r & 1u) << 15, fraction = (r >> 3) & 0x7fu;
    switch (kind % 5) {
    case 0: return (uint16_t)r;
    case 1: return (uint16_t)(sign | (119u + (r >> 20) % 16u) << 7 | fraction);
    case 2: return (uint16_t)(sign | (56u + (r >> 20) % 20u) << 7 | fraction);
    case 3: return (uint16_t)(sign | (190u + (r >> 20) % 65u) << 7 | fraction);
    default: return (uint16_t)(sign | fraction);
    }
}

/* A float accumulator of one of five ranges (as random_bf16, the tiny one including denormals). */
static float random_acc(unsigned kind) {
    const uint32_t r = next_random() | (next_random() << 21);
    switch (kind % 5) {
    case 0: return float_of(r);
    case 1: return float_of((r & 0x807fffffu) | (119u + (r >> 24) % 16u) << 23);
    case 2: return float_of((r & 0x807fffffu) | ((r >> 24) % 8u) << 23);
    case 3: return float_of((r & 0x807fffffu) | (250u + (r >> 24) % 5u) << 23);
    default: return float_of(r & 0x807fffffu);
    }
}

static uint32_t random_pair(unsigned kind) {
    return (uint32_t)random_bf16(kind) | (uint32_t)random_bf16(kind) << 16;
}

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512vl,avx512bw,avx512bf16"))) static void
hardware_dot(float *acc, const uint32_t *a, const uint32_t *b) {
    const __m512bh va = (__m512bh)_mm512_loadu_si512(a), vb = (__m512bh)_mm512_loadu_si512(b);
    _mm512_storeu_ps(acc, _mm512_dpbf16_ps(_mm512_loadu_ps(acc), va, vb));
}

__attribute__((target("avx512f,avx512vl,avx512bw,avx512bf16"))) static void
hardware_convert(uint16_t *out, const float *low, const float *high) {
    const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(high), _mm512_loadu_ps(low));
    _mm512_storeu_si512(out, (__m512i)v);
}
#endif

/* The reference against vdpbf16ps and vcvtne2ps2bf16 on this CPU (skipped without them). */
static void test_reference_matches_instructions(void **state) {
    (void)state;
#if defined(__x86_64__)
    const bnmlp_isa *avx512 = bnmlp_isa_find("avx512");
    if (!bnmlp_isa_available(avx512) || !avx512->bf16_native || !avx512->bf16_native()) skip();
    size_t mismatches = 0;
    for (unsigned it = 0; it < 20000; it++) {
        float acc[16], got[16], low[16], high[16];
        uint32_t a[16], b[16];
        uint16_t converted[32];
        for (size_t j = 0; j < 16; j++) {
            a[j] = random_pair(it), b[j] = random_pair(it / 5);
            acc[j] = random_acc(it / 25);
            if (it % 7 == 0) /* cancellation: the accumulator near minus the first product */
                acc[j] = -(bnmlp_bf16_to_float((uint16_t)(a[j] >> 16)) *
                           bnmlp_bf16_to_float((uint16_t)(b[j] >> 16)));
            low[j] = random_acc(it), high[j] = random_acc(it + 2);
        }
        memcpy(got, acc, sizeof acc);
        hardware_dot(got, a, b);
        hardware_convert(converted, low, high);
        for (size_t j = 0; j < 16; j++) {
            const float want = bnmlp_bf16_dot_pair(acc[j], a[j], b[j]);
            if (!same(got[j], want) && mismatches++ < 5)
                print_error("dot: acc %a a %08x b %08x: instruction %a, reference %a\n", (double)acc[j], a[j],
                            b[j], (double)got[j], (double)want);
            if (converted[j] != bnmlp_bf16_from_float(low[j]) && mismatches++ < 5)
                print_error("convert %08x: instruction %04x\n", bits_of(low[j]), converted[j]);
            if (converted[16 + j] != bnmlp_bf16_from_float(high[j]) && mismatches++ < 5)
                print_error("convert %08x: instruction %04x\n", bits_of(high[j]), converted[16 + j]);
        }
    }
    assert_int_equal(mismatches, 0);
#else
    skip();
#endif
}

/* The bf16 plans of row isa: its default one (the native set where the CPU has one), then, for a
 * row with a native set here, the same plan on the row's emulating entries. Returns how many. */
static size_t bf16_plans(const bnmlp_isa *isa, bnmlp_gemm_plan plans[2]) {
    assert_ok(bnmlp_gemm_plan_init(&plans[0], isa));
    if (!isa->bf16_native || !isa->bf16_native()) return 1;
    plans[1] = plans[0];
    plans[1].micro_kernel_bf16 = BNMLP_ISA_ENTRY(isa, micro_kernel_bf16);
    plans[1].pack_bf16_interleaved = BNMLP_ISA_ENTRY(isa, pack_bf16_interleaved);
    plans[1].pack_bf16_rows = BNMLP_ISA_ENTRY(isa, pack_bf16_rows);
    plans[1].gemm_direct_bf16 = isa->gemm_direct_bf16;
    assert_true(plans[1].micro_kernel_bf16 != plans[0].micro_kernel_bf16);
    return 2;
}

/* Every available row's bf16 micro-kernel on random pairs of every range against the reference,
 * with and without C and bias. */
static void test_micro_kernels_match_reference(void **state) {
    (void)state;
    for (size_t i = 0; i < bnmlp_isa_count(); i++) {
        const bnmlp_isa *isa = bnmlp_isa_at(i);
        if (!bnmlp_isa_available(isa)) continue;
        bnmlp_gemm_plan plans[2];
        const size_t plan_count = bf16_plans(isa, plans);
        for (size_t v = 0; v < plan_count; v++) {
            const bnmlp_gemm_plan plan = plans[v];
            const size_t mr = plan.mr, nr = plan.nr, pairs = 37, ldc = nr + 3;
            uint32_t *a = aligned_alloc(64, 64 * ((pairs * mr * 4 + 63) / 64));
            uint32_t *b = aligned_alloc(64, 64 * ((pairs * nr * 4 + 63) / 64));
            float *c = malloc(mr * ldc * sizeof *c), *want = malloc(mr * ldc * sizeof *c), bias[32];
            for (unsigned round = 0; round < 40; round++) {
                const bool load_c = round & 1, with_bias = round & 2;
                for (size_t q = 0; q < pairs * mr; q++) a[q] = random_pair(round + (unsigned)q % 3);
                for (size_t q = 0; q < pairs * nr; q++) b[q] = random_pair(round / 4 + (unsigned)q % 2);
                for (size_t q = 0; q < mr * ldc; q++) c[q] = random_acc(round / 2 + (unsigned)q % 4);
                for (size_t j = 0; j < nr; j++) bias[j] = random_acc(round + (unsigned)j % 2);
                memcpy(want, c, mr * ldc * sizeof *c);
                for (size_t r = 0; r < mr; r++)
                    for (size_t j = 0; j < nr; j++) {
                        float acc = load_c ? want[r * ldc + j] : 0.0f;
                        if (with_bias) acc = acc + bias[j];
                        for (size_t q = 0; q < pairs; q++)
                            acc = bnmlp_bf16_dot_pair(acc, a[q * mr + r], b[q * nr + j]);
                        want[r * ldc + j] = acc;
                    }
                plan.micro_kernel_bf16(pairs, a, b, c, ldc, with_bias ? bias : NULL, load_c);
                for (size_t q = 0; q < mr * ldc; q++)
                    if (!same(c[q], want[q])) {
                        print_error("%s (%s) round %u element %zu: %a, reference %a\n", isa->name,
                                    v ? "emulation" : "default", round, q, (double)c[q], (double)want[q]);
                        fail();
                    }
            }
            free(a), free(b), free(c), free(want);
        }
    }
}

/* ---- the GEMM ---------------------------------------------------------------------------------------- */

typedef struct bf16_case {
    size_t m, n, k;
    bool transpose_a, transpose_b, bias, accumulate;
    size_t pad;
    int scale; /* A and B scaled by 2^scale: products near the denormal range when very negative */
} bf16_case;

/* Runs g through bnmlp_gemm_bf16 with plan on pool and checks every element's bits against
 * bnmlp_gemm_bf16_reference (padding of C untouched). */
static void check_bf16_case(const bnmlp_gemm_plan *plan, bnmlp_threadpool *pool, bf16_case g) {
    const size_t a_rows = g.transpose_a ? g.k : g.m, a_cols = g.transpose_a ? g.m : g.k;
    const size_t b_rows = g.transpose_b ? g.n : g.k, b_cols = g.transpose_b ? g.k : g.n;
    const size_t lda = a_cols + g.pad, ldb = b_cols + g.pad, ldc = g.n + g.pad;
    float *a = malloc((a_rows * lda + 1) * sizeof *a), *b = malloc((b_rows * ldb + 1) * sizeof *b);
    float *bias = malloc((g.n + 1) * sizeof *bias);
    float *c = malloc((g.m * ldc + 1) * sizeof *c), *ref = malloc((g.m * ldc + 1) * sizeof *ref);
    for (size_t i = 0; i < a_rows * lda; i++) a[i] = NAN;
    for (size_t i = 0; i < b_rows * ldb; i++) b[i] = NAN;
    for (size_t r = 0; r < a_rows; r++) bnmlp_test_fill(a + r * lda, a_cols, (uint32_t)(11 + r));
    for (size_t r = 0; r < b_rows; r++) bnmlp_test_fill(b + r * ldb, b_cols, (uint32_t)(7001 + r));
    for (size_t r = 0; r < a_rows; r++)
        for (size_t j = 0; j < a_cols; j++) a[r * lda + j] = ldexpf(a[r * lda + j], g.scale);
    for (size_t r = 0; r < b_rows; r++)
        for (size_t j = 0; j < b_cols; j++) b[r * ldb + j] = ldexpf(b[r * ldb + j], g.scale);
    bnmlp_test_fill(bias, g.n, 5);
    bnmlp_test_fill(c, g.m * ldc, 9);
    for (size_t i = 0; i < g.m; i++)
        for (size_t j = g.n; j < ldc; j++) c[i * ldc + j] = 1234.5f;
    memcpy(ref, c, g.m * ldc * sizeof *c);
    const size_t floats = bnmlp_gemm_scratch_floats(plan, g.m, g.n, g.k, bnmlp_threadpool_threads(pool));
    float *scratch = malloc((floats + 2) * sizeof *scratch);
    assert_ok(bnmlp_gemm_bf16(plan, pool, scratch + 1, floats, g.transpose_a, g.transpose_b, g.m, g.n, g.k, a,
                              lda, b, ldb, g.bias ? bias : NULL, g.accumulate, c, ldc));
    bnmlp_gemm_bf16_reference(g.transpose_a, g.transpose_b, g.m, g.n, g.k, a, lda, b, ldb,
                              g.bias ? bias : NULL, g.accumulate, ref, ldc);
    for (size_t i = 0; i < g.m * ldc; i++)
        if (!same(c[i], ref[i])) {
            print_error("isa %s (bf16 kernel %p) kc %zu threads %zu, %zux%zux%zu ta %d tb %d bias %d acc %d "
                        "pad %zu scale %d: "
                        "c[%zu,%zu] = %a, reference %a\n",
                        bnmlp_isa_name(plan->isa), (void *)(uintptr_t)plan->micro_kernel_bf16, plan->kc,
                        bnmlp_threadpool_threads(pool), g.m, g.n, g.k, g.transpose_a, g.transpose_b, g.bias,
                        g.accumulate, g.pad, g.scale, i / ldc, i % ldc, (double)c[i], (double)ref[i]);
            fail();
        }
    free(a), free(b), free(bias), free(c), free(ref), free(scratch);
}

static const size_t shapes[][3] = {
    {1, 1, 1},   {3, 5, 2},    {8, 32, 16},  {9, 33, 17},   {17, 70, 33}, {64, 64, 64},
    {5, 100, 7}, {100, 9, 40}, {33, 65, 97}, {40, 48, 300}, {2, 50, 32},  {32, 1, 50},
};

/* Every shape, all four transposes, with and without bias / accumulate, padded rows. */
static void check_all_shapes(const bnmlp_gemm_plan *plan, bnmlp_threadpool *pool) {
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (unsigned form = 0; form < 16; form++) {
            const bf16_case g = {.m = shapes[s][0],
                                 .n = shapes[s][1],
                                 .k = shapes[s][2],
                                 .transpose_a = form & 1,
                                 .transpose_b = form & 2,
                                 .bias = form & 4,
                                 .accumulate = form & 8,
                                 .pad = (form + s) % 3,
                                 .scale = 0};
            check_bf16_case(plan, pool, g);
        }
    /* Products in and below float's normal range: flushing inside the kernels. */
    for (int scale = -70; scale >= -78; scale -= 4)
        check_bf16_case(plan, pool, (bf16_case){.m = 19, .n = 40, .k = 23, .bias = false, .scale = scale});
}

static void test_gemm_every_isa_matches_reference(void **state) {
    (void)state;
    for (size_t i = 0; i < bnmlp_isa_count(); i++) {
        const bnmlp_isa *isa = bnmlp_isa_at(i);
        if (!bnmlp_isa_available(isa)) continue;
        bnmlp_gemm_plan plans[2];
        const size_t plan_count = bf16_plans(isa, plans);
        for (size_t v = 0; v < plan_count; v++) {
            bnmlp_gemm_plan plan = plans[v];
            check_all_shapes(&plan, NULL);
            /* Small blocks: many K blocks (K > 2 KC), row and column blocks. */
            plan.kc = 8, plan.mc = 2 * plan.mr, plan.nc = 2 * plan.nr;
            check_all_shapes(&plan, NULL);
        }
    }
}

static void test_gemm_thread_counts(void **state) {
    (void)state;
    for (size_t i = 0; i < bnmlp_isa_count(); i++) {
        const bnmlp_isa *isa = bnmlp_isa_at(i);
        if (!bnmlp_isa_available(isa)) continue;
        bnmlp_gemm_plan plans[2];
        const size_t plan_count = bf16_plans(isa, plans);
        for (size_t v = 0; v < plan_count; v++)
            for (size_t threads = 1; threads <= 3; threads++) {
                bnmlp_gemm_plan plan = plans[v];
                plan.kc = 16, plan.mc = 2 * plan.mr, plan.nc = 2 * plan.nr;
                bnmlp_status status;
                bnmlp_threadpool *pool = bnmlp_threadpool_create(threads, NULL, &status);
                assert_non_null(pool);
                /* Large enough to be split over threads. */
                for (unsigned form = 0; form < 4; form++)
                    check_bf16_case(&plan, pool,
                                    (bf16_case){.m = 130,
                                                .n = 150,
                                                .k = 61,
                                                .transpose_a = form & 1,
                                                .transpose_b = form & 2,
                                                .bias = form == 0,
                                                .accumulate = form == 1});
                bnmlp_threadpool_free(pool);
            }
    }
}

/* Thin and small shapes (the direct path: n = 1, k = 1, m < 4, tails of every vector block) on
 * every row's gemm_direct_bf16, through bnmlp_gemm_bf16 with 1-3 threads (shapes large enough to
 * split their rows), bit for bit against the reference. */
static const size_t thin_shapes[][3] = {
    {256, 1, 1024}, {200, 1, 701}, {256, 1024, 1}, {300, 70, 1}, {1, 1024, 256}, {1, 130, 255}, {3, 17, 9},
    {2, 1, 5},      {64, 2, 95},   {17, 7, 64},    {1, 1, 1},    {65, 3, 1000},  {129, 7, 2},   {5, 200, 3},
};

static void test_gemm_thin_shapes(void **state) {
    (void)state;
    for (size_t i = 0; i < bnmlp_isa_count(); i++) {
        const bnmlp_isa *isa = bnmlp_isa_at(i);
        if (!bnmlp_isa_available(isa)) continue;
        bnmlp_gemm_plan plans[2];
        const size_t plan_count = bf16_plans(isa, plans);
        for (size_t variant = 0; variant < plan_count; variant++) {
            const bnmlp_gemm_plan plan = plans[variant];
            for (size_t threads = 1; threads <= 3; threads++) {
                bnmlp_status status;
                bnmlp_threadpool *pool = bnmlp_threadpool_create(threads, NULL, &status);
                assert_non_null(pool);
                for (size_t s = 0; s < sizeof thin_shapes / sizeof thin_shapes[0]; s++) {
                    assert_true(
                        bnmlp_gemm_is_direct(thin_shapes[s][0], thin_shapes[s][1], thin_shapes[s][2]));
                    for (unsigned form = 0; form < 16; form++)
                        check_bf16_case(&plan, pool,
                                        (bf16_case){.m = thin_shapes[s][0],
                                                    .n = thin_shapes[s][1],
                                                    .k = thin_shapes[s][2],
                                                    .transpose_a = form & 1,
                                                    .transpose_b = form & 2,
                                                    .bias = form & 4,
                                                    .accumulate = form & 8,
                                                    .pad = (form + s) % 3,
                                                    .scale = 0});
                }
                /* Products in and below float's normal range: flushing. */
                for (int scale = -70; scale >= -78; scale -= 4)
                    for (unsigned form = 0; form < 4; form++) {
                        check_bf16_case(&plan, pool,
                                        (bf16_case){.m = 70,
                                                    .n = 1,
                                                    .k = 75,
                                                    .transpose_a = form & 1,
                                                    .transpose_b = form & 2,
                                                    .bias = true,
                                                    .scale = scale});
                        check_bf16_case(&plan, pool,
                                        (bf16_case){.m = 2,
                                                    .n = 90,
                                                    .k = 23,
                                                    .transpose_a = form & 1,
                                                    .transpose_b = form & 2,
                                                    .accumulate = true,
                                                    .scale = scale});
                    }
                bnmlp_threadpool_free(pool);
            }
            /* The 1024 -> 1 head's products: forward and input gradient direct, the weight
             * gradient (one long row) packed. */
            assert_true(bnmlp_gemm_bf16_is_direct(256, 1, 1024) && bnmlp_gemm_bf16_is_direct(256, 1024, 1));
            assert_false(bnmlp_gemm_bf16_is_direct(1, 1024, 256));
            /* The plan's entry itself (the portable row's: the reference) on an n = 1 product. */
            float a[6] = {1, 2, 3, 4, 5, 6}, b[3] = {1, -1, 2}, c[2] = {0, 0}, bias[1] = {0.5f};
            if (!plan.gemm_direct_bf16) continue; /* a row without a direct path (AVX2) */
            plan.gemm_direct_bf16(false, false, 2, 1, 3, a, 3, b, 1, bias, false, c, 1);
            assert_true(c[0] == 5.5f && c[1] == 11.5f);
        }
    }
}

static void test_gemm_k_zero_and_bad_arguments(void **state) {
    (void)state;
    bnmlp_gemm_plan plan;
    assert_ok(bnmlp_gemm_plan_init(&plan, NULL));
    float a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 3, 4}, c[4] = {1, 2, 3, 4}, bias[2] = {10, 20}, scratch[4096];
    /* k = 0: C + bias, as the reference */
    assert_ok(
        bnmlp_gemm_bf16(&plan, NULL, NULL, 0, false, false, 2, 2, 0, NULL, 1, NULL, 2, bias, true, c, 2));
    assert_true(c[0] == 11.0f && c[3] == 24.0f);
    const float before = c[0];
    assert_status(
        bnmlp_gemm_bf16(NULL, NULL, scratch, 4096, false, false, 2, 2, 2, a, 2, b, 2, NULL, false, c, 2),
        BNMLP_ERR_NULL_ARGUMENT);
    assert_status(
        bnmlp_gemm_bf16(&plan, NULL, scratch, 4096, false, false, 2, 2, 2, NULL, 2, b, 2, NULL, false, c, 2),
        BNMLP_ERR_NULL_ARGUMENT);
    assert_status(
        bnmlp_gemm_bf16(&plan, NULL, scratch, 4096, false, false, 2, 2, 2, a, 1, b, 2, NULL, false, c, 2),
        BNMLP_ERR_INVALID_ARGUMENT);
    assert_status(
        bnmlp_gemm_bf16(&plan, NULL, scratch, 4096, false, false, 2, 2, 2, a, 2, b, 1, NULL, false, c, 2),
        BNMLP_ERR_INVALID_ARGUMENT);
    assert_status(
        bnmlp_gemm_bf16(&plan, NULL, scratch, 4096, false, false, 2, 2, 2, a, 2, b, 2, NULL, false, c, 1),
        BNMLP_ERR_INVALID_ARGUMENT);
    assert_status(
        bnmlp_gemm_bf16(&plan, NULL, scratch, 1, false, false, 2, 2, 2, a, 2, b, 2, NULL, false, c, 2),
        BNMLP_ERR_INVALID_ARGUMENT);
    bnmlp_gemm_plan no_kernel = plan;
    no_kernel.micro_kernel_bf16 = NULL;
    assert_status(bnmlp_gemm_bf16(&no_kernel, NULL, scratch, 4096, false, false, 2, 2, 2, a, 2, b, 2, NULL,
                                  false, c, 2),
                  BNMLP_ERR_INVALID_ARGUMENT);
    assert_true(c[0] == before);
    /* Exact small case: [1 2; 3 4] [1 2; 3 4] = [7 10; 15 22]. */
    assert_ok(
        bnmlp_gemm_bf16(&plan, NULL, scratch, 4096, false, false, 2, 2, 2, a, 2, b, 2, NULL, false, c, 2));
    assert_true(c[0] == 7.0f && c[1] == 10.0f && c[2] == 15.0f && c[3] == 22.0f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conversion_table),
        cmocka_unit_test(test_dot_table),
        cmocka_unit_test(test_reference_matches_instructions),
        cmocka_unit_test(test_micro_kernels_match_reference),
        cmocka_unit_test(test_gemm_every_isa_matches_reference),
        cmocka_unit_test(test_gemm_thread_counts),
        cmocka_unit_test(test_gemm_thin_shapes),
        cmocka_unit_test(test_gemm_k_zero_and_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
