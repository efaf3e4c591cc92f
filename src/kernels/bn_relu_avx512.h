/*
 * bn_relu_avx512.h - internal: the AVX-512 row's batch-norm passes with a ReLU fused after the
 * layer (bn_relu_avx512.c: the entries batchnorm_normalize_relu, batchnorm_backward_sums_relu and
 * batchnorm_finish_backward_relu), with the contracts of those entries (kernels/isa.h) and the
 * results of their references (kernels/reference.c) bit for bit. x86-64 only; call only where
 * the CPU has AVX-512 F and VL.
 */
#ifndef BNMLP_KERNELS_BN_RELU_AVX512_H
#define BNMLP_KERNELS_BN_RELU_AVX512_H

#include <stddef.h>

/* z (B, stride) = relu(gamma * ((x - mean) * rstd) + beta) per feature (W features); gamma NULL
 * means 1, beta NULL means 0. */
void bnmlp_batchnorm_normalize_relu_avx512(float *z, const float *x, const float *mean, const float *rstd,
                                           const float *gamma, const float *beta, size_t batch, size_t stride,
                                           size_t width);

/* sum_dy (W) += sum(dy), sum_dy_xhat (W) += sum(dy * xhat) over the rows in order, in double,
 * with dy = z > 0 ? dz : 0 and xhat = (x - mean) * rstd. */
void bnmlp_batchnorm_backward_sums_relu_avx512(double *sum_dy, double *sum_dy_xhat, const float *dz,
                                               const float *z, const float *x, const float *mean,
                                               const float *rstd, size_t batch, size_t stride, size_t width);

/* dx (B, stride) = gamma * rstd * (dy - sum_dy / count - xhat * sum_dy_xhat / count), dy as above. */
void bnmlp_batchnorm_finish_backward_relu_avx512(float *dx, const double *sum_dy, const double *sum_dy_xhat,
                                                 const float *dz, const float *z, const float *x,
                                                 const float *mean, const float *rstd, const float *gamma,
                                                 double count, size_t batch, size_t stride, size_t width);

#endif /* BNMLP_KERNELS_BN_RELU_AVX512_H */
