/* test_gemm_panels.c - op(B) packed ahead of the product (gemm.h: bnmlp_gemm_panels_floats,
 * bnmlp_gemm_pack_panels, bnmlp_gemm_panels, bnmlp_gemm_bf16_panels): on every instruction set
 * this machine has, with its own blocks and with tiny ones (many K blocks), the product that
 * reads the panels equals the one that packs b, bit for bit, for both transposes of B, float32
 * and bf16, edge widths, odd and short K, 1 and 2 threads; and panels packed piecewise (random
 * cuts, any order) equal panels packed whole, byte for byte. */
#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"
#include "kernels/gemm.h"
#include "support.h"

/* Shapes (m, n, k): k < KC, odd k (bf16's lone last value), n off NR, several K blocks with the
 * tiny plan, big enough to be packed and threaded. */
static const size_t shapes[][3] = {
    {40, 50, 33}, {17, 31, 7}, {33, 70, 101}, {64, 96, 200}, {96, 64, 64}, {9, 129, 45}, {130, 97, 301},
};
#define SHAPE_COUNT (sizeof shapes / sizeof shapes[0])

/* A 64-byte aligned, zeroed buffer of floats inside block (floats + 16 allocated). */
static float *aligned_zeroed(float **block, size_t floats) {
    *block = calloc(floats + 16, sizeof **block);
    assert_non_null(*block);
    return (float *)(((uintptr_t)*block + 63u) & ~(uintptr_t)63u);
}

/* Small deterministic generator for the cuts (tests only). */
static uint32_t next_random(uint32_t *state) {
    *state = *state * 1664525u + 1013904223u;
    return *state >> 8;
}

/* The panels of stored b (k, n or n, k) packed whole and packed in random pieces (packed in
 * reverse order) must be the same bytes; returns the whole ones in *out (caller frees *block). */
static float *check_piecewise(const bnmlp_gemm_plan *plan, bool bf16, bool transpose_b, size_t k, size_t n,
                              const float *b, float **block, uint32_t seed) {
    const size_t floats = bnmlp_gemm_panels_floats(plan, k, n);
    assert_true(floats >= k * n);
    float *whole = aligned_zeroed(block, floats);
    bnmlp_gemm_pack_panels(plan, bf16, transpose_b, k, n, b, 0, k * n, whole);
    float *pieces_block;
    float *pieces = aligned_zeroed(&pieces_block, floats);
    size_t cuts[40];
    size_t count = 0;
    uint32_t state = seed;
    cuts[count++] = 0;
    for (size_t i = 0; i < 30; i++) {
        /* Mostly random offsets, some at row and NR-group starts. */
        const size_t ld = transpose_b ? k : n;
        size_t at = next_random(&state) % (k * n);
        if (i % 3 == 0) at = at / ld * ld;
        cuts[count++] = at;
    }
    cuts[count++] = k * n;
    for (size_t i = 1; i < count; i++) /* sort */
        for (size_t j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
            const size_t t = cuts[j];
            cuts[j] = cuts[j - 1], cuts[j - 1] = t;
        }
    for (size_t i = count - 1; i > 0; i--)
        bnmlp_gemm_pack_panels(plan, bf16, transpose_b, k, n, b, cuts[i - 1], cuts[i], pieces);
    if (memcmp(whole, pieces, floats * sizeof *whole) != 0) {
        print_error("isa %s kc %zu, bf16 %d tb %d k %zu n %zu: piecewise panels differ\n",
                    bnmlp_isa_name(plan->isa), plan->kc, bf16, transpose_b, k, n);
        fail();
    }
    free(pieces_block);
    return whole;
}

/* The product with panels (of b as bnmlp_test_fill(b, k n, 5 + n) fills it) against the one
 * without, bit for bit, on threads threads. */
static void check_product(const bnmlp_gemm_plan *plan, const float *panels, size_t threads, bool bf16,
                          bool transpose_a, bool transpose_b, bool bias, bool accumulate, size_t m, size_t n,
                          size_t k) {
    bnmlp_status status;
    bnmlp_threadpool *pool = threads > 1 ? bnmlp_threadpool_create(threads, NULL, &status) : NULL;
    float *a = malloc(m * k * sizeof *a), *b = malloc(k * n * sizeof *b),
          *bias_values = malloc(n * sizeof *b);
    float *want = malloc(m * n * sizeof *want), *got = malloc(m * n * sizeof *got);
    bnmlp_test_fill(a, m * k, (uint32_t)(3 + m));
    bnmlp_test_fill(b, k * n, (uint32_t)(5 + n));
    bnmlp_test_fill(bias_values, n, 7);
    bnmlp_test_fill(want, m * n, 11);
    memcpy(got, want, m * n * sizeof *got);
    const size_t floats = bnmlp_gemm_scratch_floats(plan, m, n, k, threads);
    float *scratch = malloc(floats * sizeof *scratch);
    const size_t lda = transpose_a ? m : k, ldb = transpose_b ? k : n;
    const float *bv = bias ? bias_values : NULL;
    if (bf16) {
        assert_ok(bnmlp_gemm_bf16(plan, pool, scratch, floats, transpose_a, transpose_b, m, n, k, a, lda, b,
                                  ldb, bv, accumulate, want, n));
        assert_ok(bnmlp_gemm_bf16_panels(plan, pool, scratch, floats, transpose_a, transpose_b, m, n, k, a,
                                         lda, b, ldb, panels, bv, accumulate, got, n));
    } else {
        assert_ok(bnmlp_gemm(plan, pool, scratch, floats, transpose_a, transpose_b, m, n, k, a, lda, b, ldb,
                             bv, accumulate, want, n));
        assert_ok(bnmlp_gemm_panels(plan, pool, scratch, floats, transpose_a, transpose_b, m, n, k, a, lda, b,
                                    ldb, panels, bv, accumulate, got, n));
    }
    if (memcmp(want, got, m * n * sizeof *got) != 0) {
        print_error("isa %s kc %zu threads %zu bf16 %d ta %d tb %d bias %d acc %d %zux%zux%zu: differs\n",
                    bnmlp_isa_name(plan->isa), plan->kc, threads, bf16, transpose_a, transpose_b, bias,
                    accumulate, m, n, k);
        fail();
    }
    free(a), free(b), free(bias_values), free(want), free(got), free(scratch);
    bnmlp_threadpool_free(pool);
}

/* Every shape, precision and transpose: the panels packed whole equal them packed in pieces,
 * and every product that reads them (either op(A), with and without bias and accumulation, 1 and
 * 2 threads) equals packing. */
static void check_plan(const bnmlp_gemm_plan *plan) {
    for (size_t s = 0; s < SHAPE_COUNT; s++)
        for (unsigned panel_bits = 0; panel_bits < 4; panel_bits++) {
            const size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
            const bool bf16 = panel_bits & 1, transpose_b = panel_bits >> 1 & 1;
            float *b = malloc(k * n * sizeof *b), *block;
            bnmlp_test_fill(b, k * n, (uint32_t)(5 + n));
            const float *panels =
                check_piecewise(plan, bf16, transpose_b, k, n, b, &block, (uint32_t)(m * 31 + n * 7 + k));
            for (unsigned bits = 0; bits < 8; bits++)
                for (size_t threads = 1; threads <= 2; threads++)
                    check_product(plan, panels, threads, bf16, bits & 1, transpose_b, bits >> 1 & 1,
                                  bits >> 2 & 1, m, n, k);
            free(b), free(block);
        }
}

static void test_panels_match_packing_every_isa(void **state) {
    (void)state;
    for (size_t s = 0; s < bnmlp_isa_count(); s++) {
        const bnmlp_isa *isa = bnmlp_isa_at(s);
        if (!bnmlp_isa_available(isa)) continue;
        bnmlp_gemm_plan plan;
        assert_ok(bnmlp_gemm_plan_init(&plan, isa));
        check_plan(&plan);
        /* Tiny blocks: many K blocks, the last one short (and odd for bf16). */
        plan.kc = 16;
        plan.mc = 2 * plan.mr;
        plan.nc = 3 * plan.nr;
        check_plan(&plan);
    }
}

static void test_panels_floats(void **state) {
    (void)state;
    bnmlp_gemm_plan plan;
    assert_ok(bnmlp_gemm_plan_init(&plan, &bnmlp_isa_portable));
    assert_int_equal(bnmlp_gemm_panels_floats(&plan, 3, 5), 3 * plan.nr);
    assert_int_equal(bnmlp_gemm_panels_floats(&plan, 10, 2 * plan.nr), 20 * plan.nr);
    assert_int_equal(bnmlp_gemm_panels_floats(&plan, 0, 5), 0);
    assert_int_equal(bnmlp_gemm_panels_floats(&plan, 5, 0), 0);
    assert_int_equal(bnmlp_gemm_panels_floats(&plan, SIZE_MAX / 2, 64), 0);
    assert_int_equal(bnmlp_gemm_panels_floats(NULL, 5, 5), 0);
    /* An empty range packs nothing. */
    float panel[16] = {0};
    const float b[4] = {1, 2, 3, 4};
    bnmlp_gemm_pack_panels(&plan, false, false, 2, 2, b, 3, 3, panel);
    bnmlp_gemm_pack_panels(&plan, false, false, 2, 2, b, 4, 9, panel);
    for (size_t i = 0; i < 16; i++) assert_true(panel[i] == 0.0f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_panels_floats),
        cmocka_unit_test(test_panels_match_packing_every_isa),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
