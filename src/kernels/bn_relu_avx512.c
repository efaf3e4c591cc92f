/*
 * bn_relu_avx512.c - the AVX-512 row's batch-norm passes with a ReLU fused after the layer: the
 * forward's normalize writing z = relu(y), and the backward's sums and input gradient reading
 * the ReLU's dz and z (dy = z > 0 ? dz : 0, a masked load). These are the passes of wide layers
 * (the 1024-feature MLP), so they walk the batch row by row over long runs of each row
 * (blocks of up to 512 features, their per-feature constants on the stack, read from L1), which
 * the hardware prefetchers follow, rather than 64-feature columns down the batch (a new 4 KiB
 * page every few hundred bytes). The sums keep each column's additions in row order (four rows
 * at a time, the accumulators in the caller's arrays between groups), so every result is the
 * reference's bit for bit: the reference loops' operations (widen to double, subtract, multiply,
 * add; float32 in the per-element passes; never fused), tested by tests/test_bn_relu_fusion.c.
 *
 * Compiled for AVX-512 F/VL through target attributes; only called through the avx512 row,
 * after the CPU has reported them. x86-64 only.
 */
#include "kernels/bn_relu_avx512.h"

#if defined(__x86_64__)
#include <immintrin.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define FUSED_TARGET __attribute__((target("avx2,fma,avx512f,avx512vl")))

/* Features of one block of the per-element passes (their constants on the stack), floats per
 * register, and rows of one group of the sums. */
#define FUSED_BLOCK 512
#define FLOAT_LANES 16
#define DOUBLE_LANES 8
#define SUM_ROWS 4

/* The mask of the 16 (8) lanes at column c of w: all, or the columns left. */
static inline __mmask16 lanes16(size_t c, size_t w) {
    return w - c >= FLOAT_LANES ? (__mmask16)0xffff : (__mmask16)((1u << (w - c)) - 1u);
}
static inline __mmask8 lanes8(size_t c, size_t w) {
    return w - c >= DOUBLE_LANES ? (__mmask8)0xff : (__mmask8)((1u << (w - c)) - 1u);
}

FUSED_TARGET void bnmlp_batchnorm_normalize_relu_avx512(float *z, const float *x, const float *mean,
                                                        const float *rstd, const float *gamma,
                                                        const float *beta, size_t batch, size_t stride,
                                                        size_t width) {
    const __m512 zero = _mm512_setzero_ps();
    for (size_t c0 = 0; c0 < width; c0 += FUSED_BLOCK) {
        const size_t w = width - c0 < FUSED_BLOCK ? width - c0 : FUSED_BLOCK;
        float scale[FUSED_BLOCK], shift[FUSED_BLOCK]; /* gamma and beta, or 1 and 0 */
        for (size_t c = 0; c < w; c++) {
            scale[c] = gamma ? gamma[c0 + c] : 1.0f;
            shift[c] = beta ? beta[c0 + c] : 0.0f;
        }
        const float *m = mean + c0, *s = rstd + c0;
        for (size_t r = 0; r < batch; r++) {
            const float *in = x + r * stride + c0;
            float *out = z + r * stride + c0;
            for (size_t c = 0; c < w; c += FLOAT_LANES) {
                const __mmask16 mask = lanes16(c, w);
                const __m512 xhat = _mm512_mul_ps(
                    _mm512_sub_ps(_mm512_maskz_loadu_ps(mask, in + c), _mm512_maskz_loadu_ps(mask, m + c)),
                    _mm512_maskz_loadu_ps(mask, s + c));
                const __m512 y = _mm512_add_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(mask, scale + c), xhat),
                                               _mm512_maskz_loadu_ps(mask, shift + c));
                /* relu: y where y > 0, else +0 (NaN and -0 included) */
                _mm512_mask_storeu_ps(out + c, mask,
                                      _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(y, zero, _CMP_GT_OQ), y));
            }
        }
    }
}

/* dy = z > 0 ? dz : 0 for the 8 columns at p of a row (mask: the columns that exist), widened. */
FUSED_TARGET static inline __m512d masked_gradient(const float *dz, const float *z, __mmask8 mask) {
    const __mmask8 positive =
        _mm256_mask_cmp_ps_mask(mask, _mm256_maskz_loadu_ps(mask, z), _mm256_setzero_ps(), _CMP_GT_OQ);
    return _mm512_cvtps_pd(_mm256_maskz_loadu_ps(positive, dz));
}

FUSED_TARGET void bnmlp_batchnorm_backward_sums_relu_avx512(double *sum_dy, double *sum_dy_xhat,
                                                            const float *dz, const float *z, const float *x,
                                                            const float *mean, const float *rstd,
                                                            size_t batch, size_t stride, size_t width) {
    for (size_t r0 = 0; r0 < batch; r0 += SUM_ROWS) {
        const size_t rows = batch - r0 < SUM_ROWS ? batch - r0 : SUM_ROWS;
        const size_t base = r0 * stride;
        for (size_t c = 0; c < width; c += DOUBLE_LANES) {
            const __mmask8 mask = lanes8(c, width);
            __m512d s = _mm512_maskz_loadu_pd(mask, sum_dy + c),
                    t = _mm512_maskz_loadu_pd(mask, sum_dy_xhat + c);
            const __m512d m = _mm512_cvtps_pd(_mm256_maskz_loadu_ps(mask, mean + c));
            const __m512d k = _mm512_cvtps_pd(_mm256_maskz_loadu_ps(mask, rstd + c));
            for (size_t r = 0; r < rows; r++) { /* ascending rows: the reference's order */
                const size_t at = base + r * stride + c;
                const __m512d g = masked_gradient(dz + at, z + at, mask);
                const __m512d in = _mm512_cvtps_pd(_mm256_maskz_loadu_ps(mask, x + at));
                const __m512d xhat = _mm512_mul_pd(_mm512_sub_pd(in, m), k);
                s = _mm512_add_pd(s, g);
                t = _mm512_add_pd(t, _mm512_mul_pd(g, xhat));
            }
            _mm512_mask_storeu_pd(sum_dy + c, mask, s);
            _mm512_mask_storeu_pd(sum_dy_xhat + c, mask, t);
        }
    }
}

FUSED_TARGET void bnmlp_batchnorm_finish_backward_relu_avx512(float *dx, const double *sum_dy,
                                                              const double *sum_dy_xhat, const float *dz,
                                                              const float *z, const float *x,
                                                              const float *mean, const float *rstd,
                                                              const float *gamma, double count, size_t batch,
                                                              size_t stride, size_t width) {
    const __m512 zero = _mm512_setzero_ps();
    for (size_t c0 = 0; c0 < width; c0 += FUSED_BLOCK) {
        const size_t w = width - c0 < FUSED_BLOCK ? width - c0 : FUSED_BLOCK;
        const float *m = mean + c0, *s = rstd + c0;
        /* the reference's per-feature constants, formed in double and rounded once */
        float scale[FUSED_BLOCK], mean_dy[FUSED_BLOCK], mean_dy_xhat[FUSED_BLOCK];
        for (size_t c = 0; c < w; c++) {
            scale[c] = (float)((gamma ? (double)gamma[c0 + c] : 1.0) * s[c]);
            mean_dy[c] = (float)(sum_dy[c0 + c] / count);
            mean_dy_xhat[c] = (float)(sum_dy_xhat[c0 + c] / count);
        }
        for (size_t r = 0; r < batch; r++) {
            const size_t row = r * stride + c0;
            for (size_t c = 0; c < w; c += FLOAT_LANES) {
                const __mmask16 mask = lanes16(c, w);
                const __mmask16 positive =
                    _mm512_mask_cmp_ps_mask(mask, _mm512_maskz_loadu_ps(mask, z + row + c), zero, _CMP_GT_OQ);
                const __m512 g = _mm512_maskz_loadu_ps(positive, dz + row + c); /* relu's backward */
                const __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, x + row + c),
                                                                _mm512_maskz_loadu_ps(mask, m + c)),
                                                  _mm512_maskz_loadu_ps(mask, s + c));
                const __m512 centered = _mm512_sub_ps(g, _mm512_maskz_loadu_ps(mask, mean_dy + c));
                const __m512 value = _mm512_mul_ps(
                    _mm512_maskz_loadu_ps(mask, scale + c),
                    _mm512_sub_ps(centered,
                                  _mm512_mul_ps(xhat, _mm512_maskz_loadu_ps(mask, mean_dy_xhat + c))));
                _mm512_mask_storeu_ps(dx + row + c, mask, value);
            }
        }
    }
}

#endif /* __x86_64__ */
