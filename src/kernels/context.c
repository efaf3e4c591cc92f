/*
 * context.c - the kernel context the model hands its layers: the GEMM's plan, the thread pool
 * and the packing scratch; and the bias-gradient reduction.
 */
#include "kernels/kernels.h"

#include "core/columns.h"
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

/* Columns whose sums are accumulated at once in double on the stack. */
#define SUM_BLOCK 256

void bnmlp_kernel_column_sums_reference(double *sums, const float *x, size_t batch, size_t stride,
                                        size_t width) {
    for (size_t r = 0; r < batch; r++) {
        const float *row = x + r * stride;
        for (size_t c = 0; c < width; c++) sums[c] += (double)row[c];
    }
}

#if defined(BNMLP_COLUMN_VECTORS)
/* sums (vectors * BNMLP_LANES) += the column sums of x (batch, stride). */
BNMLP_BLOCK_INLINE void sums_block(double *sums, const float *x, size_t batch, size_t stride,
                                   size_t vectors) {
    bnmlp_double4 acc[BNMLP_WIDE_VECTORS], v;
    for (size_t k = 0; k < vectors; k++) bnmlp_load4(&acc[k], sums + k * BNMLP_LANES);
    for (size_t r = 0; r < batch; r++)
        for (size_t k = 0; k < vectors; k++) bnmlp_widen4(&v, x + r * stride + k * BNMLP_LANES), acc[k] += v;
    for (size_t k = 0; k < vectors; k++) bnmlp_store4(sums + k * BNMLP_LANES, &acc[k]);
}
#endif

BNMLP_VECTOR_CLONES void bnmlp_kernel_column_sums(double *sums, const float *x, size_t batch, size_t stride,
                                                  size_t width) {
#if defined(BNMLP_COLUMN_VECTORS)
#define SUMS_BLOCK(c0, vectors) sums_block(sums + (c0), x + (c0), batch, stride, vectors)
#define SUMS_COLUMN(c0) bnmlp_kernel_column_sums_reference(sums + (c0), x + (c0), batch, stride, 1)
    BNMLP_FOR_COLUMN_BLOCKS(width, SUMS_BLOCK, SUMS_COLUMN);
#undef SUMS_BLOCK
#undef SUMS_COLUMN
#else
    bnmlp_kernel_column_sums_reference(sums, x, batch, stride, width);
#endif
}

void bnmlp_kernel_column_sums_accumulate(float *sums, const float *m, size_t batch, size_t cols) {
    /* Each column's sum adds r ascending in double from zero, then rounds once into sums. */
    double acc[SUM_BLOCK];
    for (size_t c0 = 0; c0 < cols; c0 += SUM_BLOCK) {
        const size_t width = cols - c0 < SUM_BLOCK ? cols - c0 : SUM_BLOCK;
        for (size_t c = 0; c < width; c++) acc[c] = 0.0;
        bnmlp_kernel_column_sums(acc, m + c0, batch, cols, width);
        for (size_t c = 0; c < width; c++) sums[c0 + c] += (float)acc[c];
    }
}
