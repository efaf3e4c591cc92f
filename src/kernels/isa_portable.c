/*
 * isa_portable.c - the portable row of the instruction-set list: plain C for every machine
 * (the compiler's baseline vectors), with every entry, so that it fills in whatever a faster
 * row leaves out. Also the GEMM's naive reference.
 */
#include "kernels/bf16.h"
#include "kernels/gemm.h"
#include "kernels/isa.h"
#include "kernels/kernels.h"

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

/* ---- packing: a full panel, element by element ------------------------------------------------ */

/* panel (depth, width) = the width rows of source (ld apart) transposed. */
static void pack_panel_portable(float *panel, const float *source, size_t ld, size_t depth, size_t width) {
    for (size_t r = 0; r < width; r++) {
        const float *row = source + r * ld;
        for (size_t p = 0; p < depth; p++) panel[p * width + r] = row[p];
    }
}

/* ---- element-wise loops and the row --------------------------------------------------------------- */

#define ELEMENTWISE_TARGET
#define ELEMENTWISE(name) name##_portable
#include "kernels/elementwise_body.h"

static bool portable_available(void) { return true; }

const bnmlp_isa bnmlp_isa_portable = {
    .name = "portable",
    .available = portable_available,
    .mr = BNMLP_GEMM_PORTABLE_MR,
    .nr = BNMLP_GEMM_PORTABLE_NR,
    .micro_kernel = bnmlp_gemm_micro_portable,
    .pack_a = pack_panel_portable,
    .pack_b_transposed = pack_panel_portable,
    .gemm_direct = bnmlp_gemm_direct,
    .micro_kernel_bf16 = bnmlp_gemm_micro_bf16_portable,
    .gemm_direct_bf16 = bnmlp_gemm_bf16_reference,
    .pack_bf16_interleaved = bnmlp_pack_bf16_interleaved_portable,
    .pack_bf16_rows = bnmlp_pack_bf16_rows_portable,
    ELEMENTWISE_ENTRIES,
};
