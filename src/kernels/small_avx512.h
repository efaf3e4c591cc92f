/*
 * small_avx512.h - internal: the AVX-512 row's kernels for small widths: its column reductions
 * and batch-norm passes (columns_avx512.c: the entries column_sums, batchnorm_squares,
 * batchnorm_normalize, batchnorm_backward_sums and batchnorm_finish_backward) and
 * its direct GEMM path (direct_avx512.c: the entry gemm_direct), with the contracts of those
 * entries (kernels/isa.h, kernels/gemm.h). x86-64 only; call only where the CPU has AVX-512 F
 * and VL.
 */
#ifndef BNMLP_KERNELS_SMALL_AVX512_H
#define BNMLP_KERNELS_SMALL_AVX512_H

#include <stdbool.h>
#include <stddef.h>

/* sums (W) += the column sums of x (B rows of W floats, stride floats apart), in double. */
void bnmlp_column_sums_avx512(double *sums, const float *x, size_t batch, size_t stride, size_t width);

/* squares (W) += sum over the rows of (x - mean)^2 in double; mean (W) in double. */
void bnmlp_batchnorm_squares_avx512(double *squares, const float *x, const double *mean, size_t batch,
                                    size_t stride, size_t width);

/* sum_dy (W) += sum(dy), sum_dy_xhat (W) += sum(dy * xhat), xhat = (x - mean) * rstd in double. */
void bnmlp_batchnorm_backward_sums_avx512(double *sum_dy, double *sum_dy_xhat, const float *dy,
                                          const float *x, const float *mean, const float *rstd, size_t batch,
                                          size_t stride, size_t width);

/* mean (W) = mean_sum as float, variance (W) = squares / count, rstd (W) = 1 / sqrt(variance +
 * epsilon), in double, each rounded once to float. */
void bnmlp_batchnorm_statistics_avx512(float *mean, float *variance, float *rstd, const double *mean_sum,
                                       const double *squares, double count, size_t width, float epsilon);

/* y (B, stride) = gamma * ((x - mean) * rstd) + beta per feature; gamma NULL means 1, beta NULL 0. */
void bnmlp_batchnorm_normalize_avx512(float *y, const float *x, const float *mean, const float *rstd,
                                      const float *gamma, const float *beta, size_t batch, size_t stride,
                                      size_t width);

/* dx (B, stride) = gamma * rstd * (dy - sum_dy / count - xhat * sum_dy_xhat / count). */
void bnmlp_batchnorm_finish_backward_avx512(float *dx, const double *sum_dy, const double *sum_dy_xhat,
                                            const float *dy, const float *x, const float *mean,
                                            const float *rstd, const float *gamma, double count, size_t batch,
                                            size_t stride, size_t width);

/* The direct GEMM path (bnmlp_gemm_direct's contract and results, bit for bit): its rows and
 * columns forms with the output's block in zmm registers; the other forms are AVX2's. */
void bnmlp_gemm_direct_avx512(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k,
                              const float *a, size_t lda, const float *b, size_t ldb, const float *bias,
                              bool accumulate, float *c, size_t ldc);

#endif /* BNMLP_KERNELS_SMALL_AVX512_H */
