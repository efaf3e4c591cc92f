/*
 * context.c - the kernel context the model hands its layers (the descriptor through the GEMM's
 * plan, the thread pool and the packing scratch), and the column sums behind the bias gradient.
 */
#include "kernels/kernels.h"

void bnmlp_kernel_context_init(bnmlp_kernel_context *context) {
    const bnmlp_isa *requested = NULL;
    if (!bnmlp_isa_from_environment(&requested) || !bnmlp_isa_available(requested))
        requested = bnmlp_isa_best();
    *context = (bnmlp_kernel_context){.pool = NULL, .scratch = NULL, .scratch_floats = 0, .bf16 = false};
    (void)bnmlp_gemm_plan_init(&context->plan, requested); /* an available row: cannot fail */
}

const bnmlp_isa *bnmlp_kernel_isa(const bnmlp_kernel_context *context) {
    return context && context->plan.isa ? context->plan.isa : &bnmlp_isa_portable;
}

void bnmlp_kernel_gemm(const bnmlp_kernel_context *context, bool transpose_a, bool transpose_b, size_t m,
                       size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                       const float *bias, bool accumulate, float *c, size_t ldc) {
    /* The model plans the scratch for every product of its layers, so the checks of bnmlp_gemm
     * (leading dimensions, scratch) cannot fail here. */
    if (context->bf16)
        (void)bnmlp_gemm_bf16(&context->plan, context->pool, context->scratch, context->scratch_floats,
                              transpose_a, transpose_b, m, n, k, a, lda, b, ldb, bias, accumulate, c, ldc);
    else
        (void)bnmlp_gemm(&context->plan, context->pool, context->scratch, context->scratch_floats,
                         transpose_a, transpose_b, m, n, k, a, lda, b, ldb, bias, accumulate, c, ldc);
}

void bnmlp_kernel_gemm_panels(const bnmlp_kernel_context *context, bool transpose_a, bool transpose_b,
                              size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b,
                              size_t ldb, const float *b_panels, const float *bias, bool accumulate, float *c,
                              size_t ldc) {
    if (context->bf16)
        (void)bnmlp_gemm_bf16_panels(&context->plan, context->pool, context->scratch, context->scratch_floats,
                                     transpose_a, transpose_b, m, n, k, a, lda, b, ldb, b_panels, bias,
                                     accumulate, c, ldc);
    else
        (void)bnmlp_gemm_panels(&context->plan, context->pool, context->scratch, context->scratch_floats,
                                transpose_a, transpose_b, m, n, k, a, lda, b, ldb, b_panels, bias, accumulate,
                                c, ldc);
}

void bnmlp_kernel_column_sums(const bnmlp_kernel_context *context, double *sums, const float *x, size_t batch,
                              size_t stride, size_t width) {
    BNMLP_KERNEL_ENTRY(context, column_sums)(sums, x, batch, stride, width);
}

/* Columns whose sums are accumulated at once in double on the stack. */
#define SUM_BLOCK 256
/* Columns a thread's piece counts in (a cache line of floats), and the fewest elements a piece
 * sums: below twice this the sums run on the calling thread. */
#define SUM_GROUP 16
#define SUM_PIECE ((size_t)1 << 16)

/* The bias gradient's sums, cut into pieces of columns for threads. */
typedef struct sums_job {
    bnmlp_column_sums_function column_sums;
    float *sums;
    const float *m;
    size_t batch, cols;
} sums_job;

/* Columns [begin, end) groups of SUM_GROUP (a bnmlp_range_function): each column's sum adds r
 * ascending in double from zero, then rounds once into sums, whichever piece holds it. */
static void sums_range(void *arg, size_t begin, size_t end, size_t thread) {
    (void)thread;
    const sums_job *job = arg;
    const size_t last = end * SUM_GROUP < job->cols ? end * SUM_GROUP : job->cols;
    double acc[SUM_BLOCK];
    for (size_t c0 = begin * SUM_GROUP; c0 < last; c0 += SUM_BLOCK) {
        const size_t width = last - c0 < SUM_BLOCK ? last - c0 : SUM_BLOCK;
        for (size_t c = 0; c < width; c++) acc[c] = 0.0;
        job->column_sums(acc, job->m + c0, job->batch, job->cols, width);
        for (size_t c = 0; c < width; c++) job->sums[c0 + c] += (float)acc[c];
    }
}

void bnmlp_kernel_column_sums_accumulate(const bnmlp_kernel_context *context, float *sums, const float *m,
                                         size_t batch, size_t cols) {
    sums_job job = {.column_sums = BNMLP_KERNEL_ENTRY(context, column_sums),
                    .sums = sums,
                    .m = m,
                    .batch = batch,
                    .cols = cols};
    const size_t groups = (cols + SUM_GROUP - 1) / SUM_GROUP, group_elements = batch * SUM_GROUP;
    const size_t min_groups = group_elements ? (SUM_PIECE + group_elements - 1) / group_elements : 1;
    bnmlp_parallel_for(context, groups, min_groups, sums_range, &job);
}
