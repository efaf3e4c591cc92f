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

/* Lanes of the dot product: lane l sums the terms p = l, l + LANES, ...; lanes then add in
 * order. A fixed order (so reproducible) that vectorizes. */
#define LANES 8

/* sum_p x[p * x_stride] * y[p * y_stride], p in [0, k), in LANES partial sums. */
static inline float dot(const float *x, size_t x_stride, const float *y, size_t y_stride,
                        size_t k) {
    float lane[LANES] = {0};
    size_t p = 0;
    for (; p + LANES <= k; p += LANES)
        for (size_t l = 0; l < LANES; l++)
            lane[l] += x[(p + l) * x_stride] * y[(p + l) * y_stride];
    for (size_t l = 0; p < k; p++, l++) lane[l] += x[p * x_stride] * y[p * y_stride];
    float sum = 0.0f;
    for (size_t l = 0; l < LANES; l++) sum += lane[l];
    return sum;
}

/* row (n) += s * y[j * y_stride]. */
static inline void axpy(float *row, float s, const float *y, size_t y_stride, size_t n) {
    for (size_t j = 0; j < n; j++) row[j] += s * y[j * y_stride];
}

/* The direct path of bnmlp_gemm (same contract; k > 0). Each element: start value
 * ([c] [+ bias]), then its products. Rows of op(B) contiguous (and n not tiny): C row += op(A)(i,
 * p) * op(B) row p, p ascending. Otherwise a dot product per element in LANES partial sums. */
void bnmlp_gemm_direct(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k,
                       const float *a, size_t lda, const float *b, size_t ldb, const float *bias,
                       bool accumulate, float *c, size_t ldc) {
    const size_t a_row_step = transpose_a ? 1 : lda, a_col_step = transpose_a ? lda : 1;
    const size_t b_row_step = transpose_b ? 1 : ldb, b_col_step = transpose_b ? ldb : 1;
    const bool rows_form = n >= LANES && (!transpose_b || k < LANES);
    for (size_t i = 0; i < m; i++) {
        float *c_row = c + i * ldc;
        const float *a_row = a + i * a_row_step;
        for (size_t j = 0; j < n; j++) {
            float s = accumulate ? c_row[j] : 0.0f;
            if (bias) s += bias[j];
            c_row[j] = s;
        }
        if (rows_form) {
            for (size_t p = 0; p < k; p++) {
                const float aip = a_row[p * a_col_step];
                const float *b_row = b + p * b_row_step;
                if (b_col_step == 1)
                    axpy(c_row, aip, b_row, 1, n);
                else
                    axpy(c_row, aip, b_row, b_col_step, n);
            }
        } else {
            for (size_t j = 0; j < n; j++) {
                const float *b_col = b + j * b_col_step;
                if (a_col_step == 1 && b_row_step == 1)
                    c_row[j] += dot(a_row, 1, b_col, 1, k);
                else
                    c_row[j] += dot(a_row, a_col_step, b_col, b_row_step, k);
            }
        }
    }
}
