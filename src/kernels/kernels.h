/*
 * kernels.h - internal: the hot loops, free functions over raw buffers.
 *
 * Every matrix is row-major float32; shapes are given as (rows, cols). Reductions over the batch
 * accumulate in double. A kernel knows nothing of layers or models. Each kernel has a portable
 * reference (suffix _reference) that optimized versions are tested against; the unsuffixed name
 * is the dispatch point the layers call.
 */
#ifndef BNMLP_KERNELS_H
#define BNMLP_KERNELS_H

#include <stddef.h>

/* y (B, OUT) = x (B, IN) . w (IN, OUT) + b (OUT); b may be NULL (no bias). */
void bnmlp_kernel_matmul_bias(float *y, const float *x, const float *w, const float *b, size_t batch,
                              size_t in, size_t out);
void bnmlp_kernel_matmul_bias_reference(float *y, const float *x, const float *w, const float *b,
                                        size_t batch, size_t in, size_t out);

/* dw (IN, OUT) += x^T (IN, B) . dy (B, OUT), each sum over the batch in double. */
void bnmlp_kernel_matmul_tn_accumulate(float *dw, const float *x, const float *dy, size_t batch,
                                       size_t in, size_t out);
void bnmlp_kernel_matmul_tn_accumulate_reference(float *dw, const float *x, const float *dy,
                                                 size_t batch, size_t in, size_t out);

/* dx (B, IN) = dy (B, OUT) . w^T (OUT, IN). */
void bnmlp_kernel_matmul_nt(float *dx, const float *dy, const float *w, size_t batch, size_t in,
                            size_t out);
void bnmlp_kernel_matmul_nt_reference(float *dx, const float *dy, const float *w, size_t batch,
                                      size_t in, size_t out);

/* sums (COLS) += column sums of m (B, COLS), each in double. */
void bnmlp_kernel_column_sums_accumulate(float *sums, const float *m, size_t batch, size_t cols);

/* The kernels a model runs with: a table of the dispatch points above, filled once when the
 * model is created and passed down to the layers as a plain argument. */
typedef struct bnmlp_kernel_context {
    void (*matmul_bias)(float *y, const float *x, const float *w, const float *b, size_t batch, size_t in,
                        size_t out);
    void (*matmul_tn_accumulate)(float *dw, const float *x, const float *dy, size_t batch, size_t in,
                                 size_t out);
    void (*matmul_nt)(float *dx, const float *dy, const float *w, size_t batch, size_t in, size_t out);
    void (*column_sums_accumulate)(float *sums, const float *m, size_t batch, size_t cols);
} bnmlp_kernel_context;

/* Fills *context with the kernels of this machine. */
void bnmlp_kernel_context_init(bnmlp_kernel_context *context);

#endif /* BNMLP_KERNELS_H */
