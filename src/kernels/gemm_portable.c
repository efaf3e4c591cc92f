/*
 * gemm_portable.c - the plain-C parts of the GEMM: the naive reference, the portable 4x8
 * micro-kernel, and the direct (unpacked) path for small or thin products.
 */
#include "kernels/gemm.h"

/* op(A)(i, p) and op(B)(p, j) of row-major A (lda) and B (ldb). */
#define OP_A(i, p) (transpose_a ? a[(size_t)(p)*lda + (i)] : a[(size_t)(i)*lda + (p)])
#define OP_B(p, j) (transpose_b ? b[(size_t)(j)*ldb + (p)] : b[(size_t)(p)*ldb + (j)])

void bnmlp_gemm_reference(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k, const float *a,
                          size_t lda, const float *b, size_t ldb, const float *bias, bool accumulate,
                          float *c, size_t ldc) {
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

/* ---- the direct path (portable build of gemm_direct_body.h) ---------------------------------- */

#define DIRECT_TARGET
#define DIRECT_ENTRY bnmlp_gemm_direct
#include "kernels/gemm_direct_body.h"
