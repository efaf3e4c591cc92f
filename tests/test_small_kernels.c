/* test_small_kernels.c - the small-width kernels of every instruction set this machine runs,
 * bit for bit against their references, on every width from 1 to 70 (each block size, each
 * partial last register) and a few wider ones: the column sums, batch norm's squares, backward
 * sums, normalize and input gradient (against reference.c's row-by-row loops), and the direct
 * GEMM path (against the
 * portable build of the same loops, bnmlp_gemm_direct) for every transpose, bias and accumulate
 * combination at the tiny models' shapes and around them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gemm.h"
#include "kernels/isa.h"
#include "kernels/kernels.h"
#include "layers/layers.h"
#include "support.h"

#define MAX_WIDTH 70

static const size_t extra_widths[] = {96, 127, 128, 129, 200};
static const size_t batches[] = {1, 2, 7, 32, 33};

/* Fails unless the n doubles at a and b have the same bits. */
static void assert_same_doubles(const double *a, const double *b, size_t n, const char *what, size_t width) {
    if (memcmp(a, b, n * sizeof *a) == 0) return;
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof a[i]) != 0)
            print_error("%s width %zu column %zu: %.17g != %.17g\n", what, width, i, a[i], b[i]);
    fail();
}

/* One width and batch of the three column reductions of isa against the references, rows
 * `stride` floats apart (wider than the width, so a kernel that reads past it changes nothing). */
static void check_columns(const bnmlp_isa *isa, size_t batch, size_t width) {
    const size_t stride = width + 3, n = batch * stride;
    float *x = malloc(n * sizeof *x), *dy = malloc(n * sizeof *dy);
    float *mean = malloc(width * sizeof *mean), *rstd = malloc(width * sizeof *rstd);
    double *mean_d = malloc(width * sizeof *mean_d);
    double *got = malloc(2 * width * sizeof *got), *want = malloc(2 * width * sizeof *want);
    bnmlp_test_fill(x, n, (uint32_t)(width * 7 + batch)), bnmlp_test_fill(dy, n, (uint32_t)(width + 3));
    bnmlp_test_fill(mean, width, 5), bnmlp_test_fill(rstd, width, 6);
    for (size_t c = 0; c < width; c++) mean_d[c] = (double)mean[c] * 0.25 + 1e-9 * (double)c;
    for (size_t c = 0; c < width; c++) rstd[c] = 0.5f + rstd[c] * rstd[c];
    /* start from nonzero sums: a kernel adds to what its caller has summed */
    for (size_t c = 0; c < 2 * width; c++) got[c] = want[c] = 0.125 * (double)c - 1.0;

    BNMLP_ISA_ENTRY(isa, column_sums)(got, x, batch, stride, width);
    bnmlp_kernel_column_sums_reference(want, x, batch, stride, width);
    assert_same_doubles(got, want, width, "column_sums", width);

    BNMLP_ISA_ENTRY(isa, batchnorm_squares)(got, x, mean_d, batch, stride, width);
    bnmlp_batchnorm_partial_squares_reference(want, x, mean_d, batch, stride, width);
    assert_same_doubles(got, want, width, "batchnorm_squares", width);

    BNMLP_ISA_ENTRY(isa, batchnorm_backward_sums)(got, got + width, dy, x, mean, rstd, batch, stride, width);
    bnmlp_batchnorm_partial_backward_reference(want, want + width, dy, x, mean, rstd, batch, stride, width);
    assert_same_doubles(got, want, 2 * width, "batchnorm_backward_sums", width);

    /* the statistics from the sums (squares made nonnegative, as sums of squares are) */
    for (size_t c = 0; c < width; c++) want[width + c] = fabs(want[width + c]) * 0.01 + (c % 3 ? 0.0 : 1e-30);
    float *stats = malloc(6 * width * sizeof *stats);
    memset(stats, 0, 6 * width * sizeof *stats);
    BNMLP_ISA_ENTRY(isa, batchnorm_statistics)
    (stats, stats + width, stats + 2 * width, want, want + width, (double)batch, width, 1e-3f);
    bnmlp_batchnorm_statistics_reference(stats + 3 * width, stats + 4 * width, stats + 5 * width, want,
                                         want + width, (double)batch, width, 1e-3f);
    if (memcmp(stats, stats + 3 * width, 3 * width * sizeof *stats) != 0) {
        print_error("batchnorm_statistics %s width %zu differs\n", bnmlp_isa_name(isa), width);
        fail();
    }
    /* without mean and variance: rstd alone, the same bits */
    memset(stats + 3 * width, 0, width * sizeof *stats);
    BNMLP_ISA_ENTRY(isa, batchnorm_statistics)
    (NULL, NULL, stats + 3 * width, NULL, want + width, (double)batch, width, 1e-3f);
    assert_memory_equal(stats + 2 * width, stats + 3 * width, width * sizeof *stats);
    free(stats);

    /* the per-element passes, with and without gamma and beta; outputs as wide as the rows (the
     * columns past the width must stay as they were) */
    float *gamma = malloc(width * sizeof *gamma), *beta = malloc(width * sizeof *beta);
    float *out = malloc(n * sizeof *out), *out_ref = malloc(n * sizeof *out_ref);
    bnmlp_test_fill(gamma, width, 7), bnmlp_test_fill(beta, width, 8);
    for (int with = 0; with < 2; with++) {
        const float *g = with ? gamma : NULL, *b = with ? beta : NULL;
        bnmlp_test_fill(out, n, 3), memcpy(out_ref, out, n * sizeof *out);
        BNMLP_ISA_ENTRY(isa, batchnorm_normalize)(out, x, mean, rstd, g, b, batch, stride, width);
        bnmlp_batchnorm_normalize_reference(out_ref, x, mean, rstd, g, b, batch, stride, width);
        if (memcmp(out, out_ref, n * sizeof *out) != 0) {
            print_error("batchnorm_normalize %s width %zu batch %zu differs\n", bnmlp_isa_name(isa), width,
                        batch);
            fail();
        }
        bnmlp_test_fill(out, n, 4), memcpy(out_ref, out, n * sizeof *out);
        BNMLP_ISA_ENTRY(isa, batchnorm_finish_backward)
        (out, want, want + width, dy, x, mean, rstd, g, (double)batch + 3.0, batch, stride, width);
        bnmlp_batchnorm_finish_backward_reference(out_ref, want, want + width, dy, x, mean, rstd, g,
                                                  (double)batch + 3.0, batch, stride, width);
        if (memcmp(out, out_ref, n * sizeof *out) != 0) {
            print_error("batchnorm_finish_backward %s width %zu batch %zu differs\n", bnmlp_isa_name(isa),
                        width, batch);
            fail();
        }
    }
    free(gamma), free(beta), free(out), free(out_ref);
    free(x), free(dy), free(mean), free(rstd), free(mean_d), free(got), free(want);
}

static void test_column_reductions_match_references(void **state) {
    (void)state;
    for (size_t s = 0; s < bnmlp_isa_count(); s++) {
        const bnmlp_isa *isa = bnmlp_isa_at(s);
        if (!bnmlp_isa_available(isa)) continue;
        for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
            for (size_t w = 1; w <= MAX_WIDTH; w++) check_columns(isa, batches[b], w);
            for (size_t w = 0; w < sizeof extra_widths / sizeof extra_widths[0]; w++)
                check_columns(isa, batches[b], extra_widths[w]);
        }
    }
}

/* Width 0 and batch 0 change nothing. */
static void test_column_reductions_empty(void **state) {
    (void)state;
    double sums[4] = {1.0, 2.0, 3.0, 4.0}, more[4] = {5.0, 6.0, 7.0, 8.0};
    const double mean[4] = {0};
    const float x[4] = {1.0f, 2.0f, 3.0f, 4.0f}, m[4] = {0}, r[4] = {1.0f, 1.0f, 1.0f, 1.0f};
    for (size_t s = 0; s < bnmlp_isa_count(); s++) {
        const bnmlp_isa *isa = bnmlp_isa_at(s);
        if (!bnmlp_isa_available(isa)) continue;
        BNMLP_ISA_ENTRY(isa, column_sums)(sums, x, 1, 4, 0);
        BNMLP_ISA_ENTRY(isa, column_sums)(sums, x, 0, 4, 4);
        BNMLP_ISA_ENTRY(isa, batchnorm_squares)(sums, x, mean, 0, 4, 4);
        BNMLP_ISA_ENTRY(isa, batchnorm_backward_sums)(sums, more, x, x, m, r, 0, 4, 4);
        BNMLP_ISA_ENTRY(isa, batchnorm_backward_sums)(sums, more, x, x, m, r, 3, 4, 0);
    }
    assert_true(sums[0] == 1.0 && sums[3] == 4.0 && more[0] == 5.0 && more[3] == 8.0);
}

/* One direct product of isa against the portable build, every transpose / bias / accumulate
 * combination; leading dimensions as tight as the matrices (a one-wide B has ldb 1, the forms
 * for contiguous columns) and wider. */
static void check_direct(const bnmlp_isa *isa, size_t m, size_t n, size_t k) {
    for (int form = 0; form < 32; form++) {
        const bool ta = form & 1, tb = form & 2, with_bias = form & 4, accumulate = form & 8, pad = form & 16;
        const size_t lda = (ta ? m : k) + (pad ? 2 : 0), ldb = (tb ? k : n) + (pad ? 1 : 0),
                     ldc = n + (pad ? 3 : 0);
        const size_t a_rows = ta ? k : m, b_rows = tb ? n : k;
        float *a = malloc((a_rows * lda + 1) * sizeof *a), *b = malloc((b_rows * ldb + 1) * sizeof *b);
        float *bias = malloc((n + 1) * sizeof *bias);
        float *got = malloc((m * ldc + 1) * sizeof *got), *want = malloc((m * ldc + 1) * sizeof *want);
        bnmlp_test_fill(a, a_rows * lda + 1, (uint32_t)(m + 11 * n + 101 * k));
        bnmlp_test_fill(b, b_rows * ldb + 1, (uint32_t)(7 * m + n + 3 * k));
        bnmlp_test_fill(bias, n + 1, 9);
        bnmlp_test_fill(got, m * ldc + 1, 10);
        if (!accumulate)
            for (size_t i = 0; i < m * ldc; i += 5) got[i] = -0.0f; /* a start of -0 must not leak */
        memcpy(want, got, (m * ldc + 1) * sizeof *got);
        BNMLP_ISA_ENTRY(isa, gemm_direct)
        (ta, tb, m, n, k, a, lda, b, ldb, with_bias ? bias : NULL, accumulate, got, ldc);
        bnmlp_gemm_direct(ta, tb, m, n, k, a, lda, b, ldb, with_bias ? bias : NULL, accumulate, want, ldc);
        if (memcmp(got, want, (m * ldc + 1) * sizeof *got) != 0) {
            print_error("isa %s direct m %zu n %zu k %zu form %d differs\n", bnmlp_isa_name(isa), m, n, k,
                        form);
            fail();
        }
        free(a), free(b), free(bias), free(got), free(want);
    }
}

static void test_direct_matches_portable(void **state) {
    (void)state;
    static const size_t shapes[][3] = {
        {32, 50, 2},  {32, 1, 50},  {50, 1, 32}, {2, 50, 32},  {32, 50, 1},  {32, 64, 30}, {30, 64, 32},
        {64, 32, 32}, {32, 32, 64}, {32, 1, 32}, {32, 64, 32}, {1, 1, 1},    {3, 7, 5},    {5, 9, 1},
        {1, 130, 3},  {70, 3, 9},   {300, 2, 4}, {9, 65, 70},  {2, 8, 1},    {4, 17, 8},   {32, 64, 1},
        {8, 1, 8},    {16, 9, 17},  {32, 50, 7}, {5, 130, 2},  {33, 200, 1},
    };
    for (size_t s = 0; s < bnmlp_isa_count(); s++) {
        const bnmlp_isa *isa = bnmlp_isa_at(s);
        if (!bnmlp_isa_available(isa)) continue;
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
            check_direct(isa, shapes[i][0], shapes[i][1], shapes[i][2]);
        for (size_t n = 1; n <= MAX_WIDTH; n++) {
            check_direct(isa, 3, n, 2);
            check_direct(isa, n, 1, 5);
            check_direct(isa, n, 1, n);
            check_direct(isa, 17, n, 1);
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_column_reductions_match_references),
        cmocka_unit_test(test_column_reductions_empty),
        cmocka_unit_test(test_direct_matches_portable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
