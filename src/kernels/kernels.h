/*
 * kernels.h - internal: the hot loops, free functions over raw buffers.
 *
 * Every matrix is row-major float32; shapes are given as (rows, cols). Reductions over the batch
 * accumulate in double. A kernel knows nothing of layers or models. Every matrix product goes
 * through the one GEMM (gemm.h), whose naive reference bnmlp_gemm_reference it is tested
 * against.
 */
#ifndef BNMLP_KERNELS_H
#define BNMLP_KERNELS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/threadpool.h"
#include "kernels/gemm.h"

/* sums (COLS) += column sums of m (B, COLS), each in double. */
void bnmlp_kernel_column_sums_accumulate(float *sums, const float *m, size_t batch, size_t cols);

/* sums (W) += the column sums of x (B rows of W floats, stride floats apart), in double, each
 * adding its rows in order from the value it had; a block of columns at a time
 * (core/columns.h). */
void bnmlp_kernel_column_sums(double *sums, const float *x, size_t batch, size_t stride, size_t width);

/* The row-by-row reference of bnmlp_kernel_column_sums: same arguments, identical results. */
void bnmlp_kernel_column_sums_reference(double *sums, const float *x, size_t batch, size_t stride,
                                        size_t width);

/* The kernels a model runs with, passed down to the layers as a plain argument: the GEMM's
 * plan (instruction set and cache blocking), the model's thread pool and the packing scratch
 * planned at build. */
typedef struct bnmlp_kernel_context {
    bnmlp_gemm_plan plan;   /* micro-kernel and blocks, fixed when the model is created */
    bnmlp_threadpool *pool; /* the model's threads; NULL: the calling thread only */
    float *scratch;         /* packing buffers for every product of the model */
    size_t scratch_floats;  /* floats in scratch */
} bnmlp_kernel_context;

/* Fills *context for the instruction set the environment asks for (BNMLP_ISA: portable, avx2,
 * avx512; unset, or one this CPU lacks: the fastest it has), with no pool and no scratch (enough
 * for products on the direct path, e.g. in tests). */
void bnmlp_kernel_context_init(bnmlp_kernel_context *context);

/* C (m, n) = op(A) op(B) [+ C] [+ bias] through the context (see bnmlp_gemm); the context's
 * scratch must have been planned for the shape. */
void bnmlp_kernel_gemm(const bnmlp_kernel_context *context, bool transpose_a, bool transpose_b, size_t m,
                       size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                       const float *bias, bool accumulate, float *c, size_t ldc);

#endif /* BNMLP_KERNELS_H */
