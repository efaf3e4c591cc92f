/*
 * context.c - the kernel context the model hands its layers: the GEMM's plan, the thread pool
 * and the packing scratch; and the bias-gradient reduction.
 */
#include "kernels/kernels.h"

#include "core/core.h"

#include <stdlib.h>

void bnmlp_kernel_context_init(bnmlp_kernel_context *context) {
    bnmlp_isa requested = BNMLP_ISA_BEST;
    if (!bnmlp_isa_from_environment(&requested) || !bnmlp_isa_available(requested))
        requested = BNMLP_ISA_BEST;
    *context = (bnmlp_kernel_context){.pool = NULL, .scratch = NULL, .scratch_floats = 0};
    bnmlp_gemm_plan_init(&context->plan, requested); /* BEST is always available */
}

void bnmlp_kernel_gemm(const bnmlp_kernel_context *context, bool transpose_a, bool transpose_b, size_t m,
                       size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                       const float *bias, bool accumulate, float *c, size_t ldc) {
    /* The model plans the scratch for every product of its layers, so the checks of bnmlp_gemm
     * (leading dimensions, scratch) cannot fail here. */
    (void)bnmlp_gemm(&context->plan, context->pool, context->scratch, context->scratch_floats, transpose_a,
                     transpose_b, m, n, k, a, lda, b, ldb, bias, accumulate, c, ldc);
}

/* Widest block of columns whose sums are accumulated at once in double on the stack. */
#define SUM_BLOCK 256

BNMLP_VECTOR_CLONES void bnmlp_kernel_column_sums_accumulate(float *sums, const float *m, size_t batch,
                                                             size_t cols) {
    /* A block of double accumulators walks the rows contiguously; each sum adds r ascending. */
    double acc[SUM_BLOCK];
    for (size_t c0 = 0; c0 < cols; c0 += SUM_BLOCK) {
        const size_t width = cols - c0 < SUM_BLOCK ? cols - c0 : SUM_BLOCK;
        for (size_t c = 0; c < width; c++) acc[c] = 0.0;
        for (size_t r = 0; r < batch; r++) {
            const float *row = m + r * cols + c0;
            for (size_t c = 0; c < width; c++) acc[c] += (double)row[c];
        }
        for (size_t c = 0; c < width; c++) sums[c0 + c] += (float)acc[c];
    }
}
