/*
 * gemm_portable.c - the plain-C parts of the GEMM: the naive reference, the portable 4x8
 * micro-kernel, and the direct (unpacked) path for small or thin products.
 */
#include "kernels/gemm.h"

/* op(A)(i, p) and op(B)(p, j) of row-major A (lda) and B (ldb). */
#define OP_A(i, p) (transpose_a ? a[(size_t)(p) * lda + (i)] : a[(size_t)(i) * lda + (p)])
#define OP_B(p, j) (transpose_b ? b[(size_t)(j) * ldb + (p)] : b[(size_t)(p) * ldb + (j)])

void bnmlp_gemm_reference(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k,
                          const float *a, size_t lda, const float *b, size_t ldb, const float *bias,
                          bool accumulate, float *c, size_t ldc) {
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            double sum = 0.0;
            for (size_t p = 0; p < k; p++) sum += (double)OP_A(i, p) * (double)OP_B(p, j);
            if (accumulate) sum += (double)c[i * ldc + j];
            if (bias) sum += (double)bias[j];
            c[i * ldc + j] = (float)sum;
        }
    }
}

/* c (4, 8), row stride ldc = [c if load_c] + a (4, k packed) . b (k, 8 packed) [+ bias (8)]. */
void bnmlp_gemm_micro_portable(size_t k, const float *a, const float *b, float *c, size_t ldc,
                               const float *bias, bool load_c) {
    enum { MR = BNMLP_GEMM_PORTABLE_MR, NR = BNMLP_GEMM_PORTABLE_NR };
    float acc[MR][NR] = {{0}};
    for (size_t p = 0; p < k; p++) {
        for (size_t r = 0; r < MR; r++) {
            const float ar = a[r];
            for (size_t j = 0; j < NR; j++) acc[r][j] += ar * b[j];
        }
        a += MR;
        b += NR;
    }
    for (size_t r = 0; r < MR; r++) {
        float *c_row = c + r * ldc;
        for (size_t j = 0; j < NR; j++) {
            float s = acc[r][j];
            if (load_c) s += c_row[j];
            if (bias) s += bias[j];
            c_row[j] = s;
        }
    }
}

/* ---- the direct path ------------------------------------------------------------------------ */

/* Every element starts from its start value ([c] [+ bias]) and then adds its k products, p
 * ascending, except in the dot form (see dot). Which form runs depends on the shape and the
 * transposes only. */

/* Lanes of the dot product: lane l sums the terms p = l, l + LANES, ...; lanes then add in
 * order. A fixed order (so reproducible) that vectorizes. */
#define LANES 8
/* Rows the narrow form handles at once (independent sums, one pass over B per group). */
#define ROWS_AT_ONCE 4
/* Elements of a column the column form accumulates on the stack at a time. */
#define COLUMN_BLOCK 256

/* sum_p x[p] * y[p], p in [0, k), in LANES partial sums. */
static float dot(const float *restrict x, const float *restrict y, size_t k) {
    float lane[LANES] = {0};
    size_t p = 0;
    for (; p + LANES <= k; p += LANES)
        for (size_t l = 0; l < LANES; l++) lane[l] += x[p + l] * y[p + l];
    for (size_t l = 0; p < k; p++, l++) lane[l] += x[p] * y[p];
    float sum = 0.0f;
    for (size_t l = 0; l < LANES; l++) sum += lane[l];
    return sum;
}

/* c_row (n) = start values + s * y[j * y_stride]: the first product fused with the start. */
static inline void start_row(float *restrict c_row, const float *restrict bias, bool accumulate,
                             float s, const float *restrict y, size_t y_stride, size_t n) {
    if (accumulate && bias)
        for (size_t j = 0; j < n; j++) c_row[j] = (c_row[j] + bias[j]) + s * y[j * y_stride];
    else if (accumulate)
        for (size_t j = 0; j < n; j++) c_row[j] = c_row[j] + s * y[j * y_stride];
    else if (bias)
        for (size_t j = 0; j < n; j++) c_row[j] = bias[j] + s * y[j * y_stride];
    else
        for (size_t j = 0; j < n; j++) c_row[j] = 0.0f + s * y[j * y_stride];
}

/* Rows form, op(B) rows contiguous (B not transposed): C row i += op(A)(i, p) B row p. */
static void direct_rows(bool transpose_a, size_t m, size_t n, size_t k, const float *restrict a,
                        size_t lda, const float *restrict b, size_t ldb, const float *restrict bias,
                        bool accumulate, float *restrict c, size_t ldc) {
    const size_t a_row_step = transpose_a ? 1 : lda, a_col_step = transpose_a ? lda : 1;
    for (size_t i = 0; i < m; i++) {
        float *restrict c_row = c + i * ldc;
        const float *a_row = a + i * a_row_step;
        start_row(c_row, bias, accumulate, a_row[0], b, 1, n);
        for (size_t p = 1; p < k; p++) {
            const float aip = a_row[p * a_col_step];
            const float *restrict b_row = b + p * ldb;
            for (size_t j = 0; j < n; j++) c_row[j] += aip * b_row[j];
        }
    }
}

/* Rows form for a transposed B with a short sum: op(B)(p, j) = b[j ldb + p]. */
static void direct_rows_bt(bool transpose_a, size_t m, size_t n, size_t k, const float *restrict a,
                           size_t lda, const float *restrict b, size_t ldb,
                           const float *restrict bias, bool accumulate, float *restrict c,
                           size_t ldc) {
    const size_t a_row_step = transpose_a ? 1 : lda, a_col_step = transpose_a ? lda : 1;
    for (size_t i = 0; i < m; i++) {
        float *restrict c_row = c + i * ldc;
        const float *a_row = a + i * a_row_step;
        if (ldb == 1)
            start_row(c_row, bias, accumulate, a_row[0], b, 1, n);
        else
            start_row(c_row, bias, accumulate, a_row[0], b, ldb, n);
        for (size_t p = 1; p < k; p++) {
            const float aip = a_row[p * a_col_step];
            for (size_t j = 0; j < n; j++) c_row[j] += aip * b[j * ldb + p];
        }
    }
}

/* Column form, A transposed and C narrow: C column j += A row p op(B)(p, j), a block of the
 * column at a time on the stack (the inner loop runs along A's rows). */
static void direct_columns(bool transpose_b, size_t m, size_t n, size_t k, const float *restrict a,
                           size_t lda, const float *restrict b, size_t ldb,
                           const float *restrict bias, bool accumulate, float *restrict c,
                           size_t ldc) {
    float column[COLUMN_BLOCK];
    for (size_t j = 0; j < n; j++) {
        for (size_t i0 = 0; i0 < m; i0 += COLUMN_BLOCK) {
            const size_t height = m - i0 < COLUMN_BLOCK ? m - i0 : COLUMN_BLOCK;
            for (size_t i = 0; i < height; i++) {
                float s = accumulate ? c[(i0 + i) * ldc + j] : 0.0f;
                if (bias) s += bias[j];
                column[i] = s;
            }
            for (size_t p = 0; p < k; p++) {
                const float bpj = transpose_b ? b[j * ldb + p] : b[p * ldb + j];
                const float *restrict a_row = a + p * lda + i0;
                for (size_t i = 0; i < height; i++) column[i] += a_row[i] * bpj;
            }
            for (size_t i = 0; i < height; i++) c[(i0 + i) * ldc + j] = column[i];
        }
    }
}

/* Narrow form, A not transposed, B not transposed, C narrow: ROWS_AT_ONCE rows side by side,
 * each element a plain sum over p. */
static void direct_narrow(size_t m, size_t n, size_t k, const float *restrict a, size_t lda,
                          const float *restrict b, size_t ldb, const float *restrict bias,
                          bool accumulate, float *restrict c, size_t ldc) {
    size_t i = 0;
    for (; i + ROWS_AT_ONCE <= m; i += ROWS_AT_ONCE) {
        const float *a0 = a + i * lda;
        for (size_t j = 0; j < n; j++) {
            float acc[ROWS_AT_ONCE];
            for (size_t r = 0; r < ROWS_AT_ONCE; r++) {
                acc[r] = accumulate ? c[(i + r) * ldc + j] : 0.0f;
                if (bias) acc[r] += bias[j];
            }
            for (size_t p = 0; p < k; p++) {
                const float bpj = b[p * ldb + j];
                for (size_t r = 0; r < ROWS_AT_ONCE; r++) acc[r] += a0[r * lda + p] * bpj;
            }
            for (size_t r = 0; r < ROWS_AT_ONCE; r++) c[(i + r) * ldc + j] = acc[r];
        }
    }
    for (; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            float s = accumulate ? c[i * ldc + j] : 0.0f;
            if (bias) s += bias[j];
            for (size_t p = 0; p < k; p++) s += a[i * lda + p] * b[p * ldb + j];
            c[i * ldc + j] = s;
        }
    }
}

/* Dot form, A not transposed, B transposed: both operands contiguous along p; each element is
 * its start value plus a LANES-way dot product. */
static void direct_dots(size_t m, size_t n, size_t k, const float *restrict a, size_t lda,
                        const float *restrict b, size_t ldb, const float *restrict bias,
                        bool accumulate, float *restrict c, size_t ldc) {
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            float s = accumulate ? c[i * ldc + j] : 0.0f;
            if (bias) s += bias[j];
            c[i * ldc + j] = s + dot(a + i * lda, b + j * ldb, k);
        }
    }
}

/* Anything else (both transposed and a long sum): a plain sum per element. */
static void direct_general(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k,
                           const float *a, size_t lda, const float *b, size_t ldb,
                           const float *bias, bool accumulate, float *c, size_t ldc) {
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            float s = accumulate ? c[i * ldc + j] : 0.0f;
            if (bias) s += bias[j];
            for (size_t p = 0; p < k; p++) s += OP_A(i, p) * OP_B(p, j);
            c[i * ldc + j] = s;
        }
    }
}

void bnmlp_gemm_direct(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k,
                       const float *a, size_t lda, const float *b, size_t ldb, const float *bias,
                       bool accumulate, float *c, size_t ldc) {
    const bool narrow = n < LANES;
    if (transpose_a && narrow)
        direct_columns(transpose_b, m, n, k, a, lda, b, ldb, bias, accumulate, c, ldc);
    else if (!transpose_b && !narrow)
        direct_rows(transpose_a, m, n, k, a, lda, b, ldb, bias, accumulate, c, ldc);
    else if (transpose_b && k < LANES)
        direct_rows_bt(transpose_a, m, n, k, a, lda, b, ldb, bias, accumulate, c, ldc);
    else if (!transpose_a && !transpose_b)
        direct_narrow(m, n, k, a, lda, b, ldb, bias, accumulate, c, ldc);
    else if (!transpose_a)
        direct_dots(m, n, k, a, lda, b, ldb, bias, accumulate, c, ldc);
    else
        direct_general(transpose_a, transpose_b, m, n, k, a, lda, b, ldb, bias, accumulate, c, ldc);
}
