/*
 * kernels.h - internal: the hot loops, free functions over raw buffers, and the context that
 * carries the instruction set they run with.
 *
 * Every matrix is row-major float32; shapes are given as (rows, cols). Reductions over the batch
 * accumulate in double. A kernel knows nothing of layers or models. Every loop is reached
 * through the context's instruction-set descriptor (kernels/isa.h), the one dispatch point;
 * every optimized loop has its row-by-row reference here (kernels/reference.c), which the tests
 * compare it with for every instruction set. Every matrix product goes through the one GEMM
 * (gemm.h). Work is split over threads by bnmlp_parallel_for only.
 */
#ifndef BNMLP_KERNELS_H
#define BNMLP_KERNELS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/threadpool.h"
#include "kernels/gemm.h"
#include "kernels/isa.h"

/* The kernels a model runs with, passed down to the layers as a plain argument: the GEMM's
 * plan (whose isa is the instruction-set descriptor every loop of this context runs), the
 * model's thread pool and the packing scratch planned at build. */
typedef struct bnmlp_kernel_context {
    bnmlp_gemm_plan plan;   /* descriptor, micro-kernel and blocks, fixed when the model is created */
    bnmlp_threadpool *pool; /* the model's threads; NULL: the calling thread only */
    float *scratch;         /* packing buffers for every product of the model */
    size_t scratch_floats;  /* floats in scratch */
    bool bf16;              /* bnmlp_kernel_gemm runs bnmlp_gemm_bf16 (false after init) */
} bnmlp_kernel_context;

/* Fills *context for the instruction set the environment asks for (BNMLP_ISA: portable, avx2,
 * avx512; unset, or one this CPU lacks: the fastest it has), with no pool and no scratch (enough
 * for products on the direct path, e.g. in tests). */
void bnmlp_kernel_context_init(bnmlp_kernel_context *context);

/* The descriptor the context's loops run (its plan's; the portable row if it has none). */
const bnmlp_isa *bnmlp_kernel_isa(const bnmlp_kernel_context *context);

/* Entry `field` of the context's descriptor, the portable row's where it has none. */
#define BNMLP_KERNEL_ENTRY(context, field) BNMLP_ISA_ENTRY(bnmlp_kernel_isa(context), field)

/* ---- splitting work over threads --------------------------------------------------------------- */

/* The work of one piece: the indices [begin, end) of the range, run by thread `thread` (0 is the
 * caller; < the pool's threads), so a piece may use per-thread scratch. */
typedef void (*bnmlp_range_function)(void *arg, size_t begin, size_t end, size_t thread);

/* The library's one rule for splitting work over threads. Runs fn over [0, n) in
 * p = min(threads of the context's pool, n / min_piece) pieces of (nearly) equal size, each
 * of at least min_piece indices (min_piece 0 counts as 1), on the context's pool; with p <= 1
 * (no pool, one thread, or n < 2 min_piece) as one piece fn(arg, 0, n, 0) on the calling
 * thread. Returns when every piece is done. Pieces are contiguous and ascending, but run in any
 * order and on any thread: fn must give each index the same result whichever piece holds it
 * (threads split outputs, never a sum), which keeps results bit-identical for every thread
 * count. A caller that wants coarser boundaries (e.g. 16 features, a cache line) counts its
 * range in such units. Allocates nothing. */
void bnmlp_parallel_for_split(const bnmlp_kernel_context *context, size_t n, size_t min_piece,
                              bnmlp_range_function fn, void *arg);

/* bnmlp_parallel_for's front (the whole rule is bnmlp_parallel_for_split's): a range below two
 * pieces, or a context without a pool, runs as the one piece right here, without the call, the
 * pool's thread count or the split (the same piece the split makes of it). Tiny models make
 * most of their calls below a piece. */
static inline void bnmlp_parallel_for(const bnmlp_kernel_context *context, size_t n, size_t min_piece,
                                      bnmlp_range_function fn, void *arg) {
    if (n == 0) return;
    if (n / 2 < (min_piece ? min_piece : 1) || !context || !context->pool) {
        fn(arg, 0, n, 0);
        return;
    }
    bnmlp_parallel_for_split(context, n, min_piece, fn, arg);
}

/* ---- the GEMM ------------------------------------------------------------------------------------ */

/* C (m, n) = op(A) op(B) [+ C] [+ bias] through the context (see bnmlp_gemm; bnmlp_gemm_bf16
 * when the context's bf16 is set); the context's scratch must have been planned for the shape. */
void bnmlp_kernel_gemm(const bnmlp_kernel_context *context, bool transpose_a, bool transpose_b, size_t m,
                       size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                       const float *bias, bool accumulate, float *c, size_t ldc);

/* bnmlp_kernel_gemm with op(B) packed ahead: b_panels (NULL: pack b as usual) holds
 * bnmlp_gemm_pack_panels of b under the context's plan, transpose_b and precision (gemm.h:
 * bnmlp_gemm_panels); b is still read on the direct path. The same bits. */
void bnmlp_kernel_gemm_panels(const bnmlp_kernel_context *context, bool transpose_a, bool transpose_b,
                              size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b,
                              size_t ldb, const float *b_panels, const float *bias, bool accumulate, float *c,
                              size_t ldc);

/* ---- the int8 product (int8.h) --------------------------------------------------------------------- */

/* y (rows, w->out) = the int8 product of x (rows, w->in) with the packed w (int8.h), through the
 * int8 set of the context's descriptor; scratch holds bnmlp_int8_scratch_floats(rows, w->in)
 * floats for the codes. Rows are quantized and column panels multiplied on the context's
 * pool; every result is the same for every thread count (integer sums are exact). */
void bnmlp_kernel_int8_dense(const bnmlp_kernel_context *context, float *y, const float *x, size_t rows,
                             const bnmlp_int8_weights *w, float *scratch);

/* ---- column sums ------------------------------------------------------------------------------- */

/* sums (W) += the column sums of x (B rows of W floats, stride floats apart), in double, each
 * adding its rows in order from the value it had; a block of columns at a time
 * (core/columns.h), through the context's descriptor. */
void bnmlp_kernel_column_sums(const bnmlp_kernel_context *context, double *sums, const float *x, size_t batch,
                              size_t stride, size_t width);

/* sums (COLS) += column sums of m (B, COLS), each summed in double from zero and rounded once:
 * the bias gradient. */
void bnmlp_kernel_column_sums_accumulate(const bnmlp_kernel_context *context, float *sums, const float *m,
                                         size_t batch, size_t cols);

/* ---- references: the row-by-row loops every descriptor's entries are tested against ------------- */

/* Same arguments and identical results (bit for bit) as a descriptor's column_sums. */
void bnmlp_kernel_column_sums_reference(double *sums, const float *x, size_t batch, size_t stride,
                                        size_t width);

/* ... batchnorm_squares. */
void bnmlp_batchnorm_partial_squares_reference(double *squares, const float *x, const double *mean,
                                               size_t batch, size_t stride, size_t width);

/* ... batchnorm_backward_sums. */
void bnmlp_batchnorm_partial_backward_reference(double *sum_dy, double *sum_dy_xhat, const float *dy,
                                                const float *x, const float *mean, const float *rstd,
                                                size_t batch, size_t stride, size_t width);

/* ... batchnorm_statistics. */
void bnmlp_batchnorm_statistics_reference(float *mean, float *variance, float *rstd, const double *mean_sum,
                                          const double *squares, double count, size_t width, float epsilon);

/* ... batchnorm_normalize. */
void bnmlp_batchnorm_normalize_reference(float *y, const float *x, const float *mean, const float *rstd,
                                         const float *gamma, const float *beta, size_t batch, size_t stride,
                                         size_t width);

/* ... batchnorm_finish_backward. */
void bnmlp_batchnorm_finish_backward_reference(float *dx, const double *sum_dy, const double *sum_dy_xhat,
                                               const float *dy, const float *x, const float *mean,
                                               const float *rstd, const float *gamma, double count,
                                               size_t batch, size_t stride, size_t width);

/* ... batchnorm_inference_gradient. */
void bnmlp_batchnorm_inference_gradient_reference(float *dx, const float *dy, const float *rstd,
                                                  const float *gamma, size_t batch, size_t stride,
                                                  size_t width);

/* ... batchnorm_normalize_relu, batchnorm_backward_sums_relu, batchnorm_finish_backward_relu,
 * batchnorm_inference_gradient_relu: the unfused references' operations with relu's forward
 * after normalizing, and dy = z > 0 ? dz : 0 before the backward's. */
void bnmlp_batchnorm_normalize_relu_reference(float *z, const float *x, const float *mean, const float *rstd,
                                              const float *gamma, const float *beta, size_t batch,
                                              size_t stride, size_t width);
void bnmlp_batchnorm_partial_backward_relu_reference(double *sum_dy, double *sum_dy_xhat, const float *dz,
                                                     const float *z, const float *x, const float *mean,
                                                     const float *rstd, size_t batch, size_t stride,
                                                     size_t width);
void bnmlp_batchnorm_finish_backward_relu_reference(float *dx, const double *sum_dy,
                                                    const double *sum_dy_xhat, const float *dz,
                                                    const float *z, const float *x, const float *mean,
                                                    const float *rstd, const float *gamma, double count,
                                                    size_t batch, size_t stride, size_t width);
void bnmlp_batchnorm_inference_gradient_relu_reference(float *dx, const float *dz, const float *z,
                                                       const float *rstd, const float *gamma, size_t batch,
                                                       size_t stride, size_t width);

/* ... activation_forward[kind] / activation_backward[kind] for an element-wise kind; nothing
 * for a row-wise one. */
void bnmlp_activation_forward_reference(float *y, const float *x, size_t n, bnmlp_activation kind,
                                        float alpha);
void bnmlp_activation_backward_reference(float *dx, const float *dy, const float *x, const float *y, size_t n,
                                         bnmlp_activation kind, float alpha);

/* ... sgd_update: one element at a time, the operations in the contract's order. */
bool bnmlp_sgd_update_reference(float *w_out, float *v_out, const float *w, const float *v, const float *g,
                                size_t n, const bnmlp_sgd_step *step);
/* ... adam_update: one element at a time, the operations in the contract's order. */
bool bnmlp_adam_update_reference(float *w_out, float *m_out, float *v_out, const float *w, const float *m,
                                 const float *v, const float *g, size_t n, const bnmlp_adam_step *step);
/* ... rmsprop_update: one element at a time, the operations in the contract's order. */
bool bnmlp_rmsprop_update_reference(float *w_out, float *s_out, float *a_out, float *b_out, const float *w,
                                    const float *s, const float *a, const float *b, const float *g, size_t n,
                                    const bnmlp_rmsprop_step *step);

#endif /* BNMLP_KERNELS_H */
