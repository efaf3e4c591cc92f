/*
 * columns_avx512.c - the AVX-512 row's column reductions: the column sums (bias gradient,
 * batch-norm means), batch norm's squares and its backward sums, in double, 8 columns per zmm
 * register; and batch norm's per-element passes (normalize, the training-mode input gradient),
 * 16 features per register, a block's per-feature constants in registers for every row.
 *
 * A block of up to 8 registers (64 columns) keeps its sums in registers for every row of the
 * batch, so a layer of up to 64 features is one pass over the batch with one independent sum per
 * register in flight (the generic loops of elementwise_body.h run 16-column blocks one after the
 * other, each a chain of dependent additions). The last register of a block is masked to the
 * columns left (masked loads read nothing past them, masked stores write nothing past them), so
 * no width leaves a column to a scalar loop. Each column's sum still adds its rows in ascending
 * order from the value it had, with the operations of the reference loops in reference.c
 * (widen to double, subtract, multiply, add; never fused), so the results are theirs bit for bit
 * (tests/test_batchnorm_kernels.c, widths 1 to 70 and more).
 *
 * Compiled for AVX-512 F/VL through target attributes; only called through the avx512 row,
 * after the CPU has reported them. x86-64 only.
 */
#include "kernels/small_avx512.h"

#if defined(__x86_64__)
#include <immintrin.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define COLUMNS_TARGET __attribute__((target("avx2,fma,avx512f,avx512vl")))
#define COLUMNS_INLINE static inline __attribute__((always_inline)) COLUMNS_TARGET

/* Doubles per register, and registers per block at most. */
/* The loops over a block's registers run a literal number of times: unrolled whole, so that the
 * registers stay registers. */
#if defined(__clang__)
#define BLOCK_UNROLL _Pragma("clang loop unroll(full)")
#else
#define BLOCK_UNROLL _Pragma("GCC unroll 16")
#endif

#define LANES 8
#define MAX_VECTORS 8

/* The mask of register k of a block of `vectors` whose last register holds tail_mask's columns. */
#define MASK_AT(k, vectors, tail_mask) ((k) + 1 == (vectors) ? (tail_mask) : (__mmask8)0xff)

/* The 8 floats at p under mask m (others zero), widened to double. */
COLUMNS_INLINE __m512d widen(const float *p, __mmask8 m) {
    return _mm512_cvtps_pd(_mm256_maskz_loadu_ps(m, p));
}

/* Runs block(c0, vectors, tail_mask) over [0, width), c0 ascending: blocks of MAX_VECTORS full
 * registers while more than MAX_VECTORS * LANES columns are left, then one block of the rest.
 * `vectors` is a literal in each expansion, so a block's sums stay in registers. */
#define FOR_BLOCKS(width, block)                                                                             \
    do {                                                                                                     \
        size_t c0_ = 0;                                                                                      \
        if ((width) == 0) break;                                                                             \
        for (; (width)-c0_ > MAX_VECTORS * LANES; c0_ += MAX_VECTORS * LANES)                                \
            block(c0_, MAX_VECTORS, (__mmask8)0xff);                                                         \
        const size_t vectors_ = ((width)-c0_ + LANES - 1) / LANES;                                           \
        const size_t tail_ = (width)-c0_ - (vectors_ - 1) * LANES;                                           \
        const __mmask8 mask_ = (__mmask8)((1u << tail_) - 1u);                                               \
        switch (vectors_) {                                                                                  \
        case 1: block(c0_, 1, mask_); break;                                                                 \
        case 2: block(c0_, 2, mask_); break;                                                                 \
        case 3: block(c0_, 3, mask_); break;                                                                 \
        case 4: block(c0_, 4, mask_); break;                                                                 \
        case 5: block(c0_, 5, mask_); break;                                                                 \
        case 6: block(c0_, 6, mask_); break;                                                                 \
        case 7: block(c0_, 7, mask_); break;                                                                 \
        default: block(c0_, 8, mask_); break;                                                                \
        }                                                                                                    \
    } while (0)

/* ---- column sums ------------------------------------------------------------------------------ */

/* sums (the block's columns) += the column sums of x (batch, stride). */
COLUMNS_INLINE void sums_block(double *sums, const float *x, size_t batch, size_t stride, size_t vectors,
                               __mmask8 tail) {
    __m512d acc[MAX_VECTORS];
    BLOCK_UNROLL for (size_t k = 0; k < vectors; k++) acc[k] =
        _mm512_maskz_loadu_pd(MASK_AT(k, vectors, tail), sums + k * LANES);
    for (size_t r = 0; r < batch; r++) {
        const float *row = x + r * stride;
        BLOCK_UNROLL for (size_t k = 0; k < vectors; k++) acc[k] =
            _mm512_add_pd(acc[k], widen(row + k * LANES, MASK_AT(k, vectors, tail)));
    }
    BLOCK_UNROLL for (size_t k = 0; k < vectors; k++)
        _mm512_mask_storeu_pd(sums + k * LANES, MASK_AT(k, vectors, tail), acc[k]);
}

COLUMNS_TARGET void bnmlp_column_sums_avx512(double *sums, const float *x, size_t batch, size_t stride,
                                             size_t width) {
#define SUMS_BLOCK(c0, vectors, tail) sums_block(sums + (c0), x + (c0), batch, stride, vectors, tail)
    FOR_BLOCKS(width, SUMS_BLOCK);
#undef SUMS_BLOCK
}

/* ---- batch norm: the squares around the mean ---------------------------------------------------- */

/* squares (the block's columns) += sum over the rows of (x - mean)^2. */
COLUMNS_INLINE void squares_block(double *squares, const float *x, const double *mean, size_t batch,
                                  size_t stride, size_t vectors, __mmask8 tail) {
    __m512d acc[MAX_VECTORS], m[MAX_VECTORS];
    BLOCK_UNROLL for (size_t k = 0; k < vectors; k++) {
        acc[k] = _mm512_maskz_loadu_pd(MASK_AT(k, vectors, tail), squares + k * LANES);
        m[k] = _mm512_maskz_loadu_pd(MASK_AT(k, vectors, tail), mean + k * LANES);
    }
    for (size_t r = 0; r < batch; r++) {
        const float *row = x + r * stride;
        BLOCK_UNROLL for (size_t k = 0; k < vectors; k++) {
            const __m512d d = _mm512_sub_pd(widen(row + k * LANES, MASK_AT(k, vectors, tail)), m[k]);
            acc[k] = _mm512_add_pd(acc[k], _mm512_mul_pd(d, d));
        }
    }
    BLOCK_UNROLL for (size_t k = 0; k < vectors; k++)
        _mm512_mask_storeu_pd(squares + k * LANES, MASK_AT(k, vectors, tail), acc[k]);
}

COLUMNS_TARGET void bnmlp_batchnorm_squares_avx512(double *squares, const float *x, const double *mean,
                                                   size_t batch, size_t stride, size_t width) {
#define SQUARES_BLOCK(c0, vectors, tail)                                                                     \
    squares_block(squares + (c0), x + (c0), mean + (c0), batch, stride, vectors, tail)
    FOR_BLOCKS(width, SQUARES_BLOCK);
#undef SQUARES_BLOCK
}

/* ---- batch norm: the statistics from the sums ------------------------------------------------ */

COLUMNS_TARGET void bnmlp_batchnorm_statistics_avx512(float *mean, float *variance, float *rstd,
                                                      const double *mean_sum, const double *squares,
                                                      double count, size_t width, float epsilon) {
    /* The reference's operations per feature (a division, a sum, a square root, a division, each
     * correctly rounded in double as the scalar instructions are), 8 features at a time. */
    const __m512d n = _mm512_set1_pd(count), eps = _mm512_set1_pd((double)epsilon), one = _mm512_set1_pd(1.0);
    for (size_t c = 0; c < width; c += LANES) {
        const __mmask8 mask = width - c >= LANES ? (__mmask8)0xff : (__mmask8)((1u << (width - c)) - 1u);
        const __m512d var = _mm512_div_pd(_mm512_maskz_loadu_pd(mask, squares + c), n);
        if (mean)
            _mm256_mask_storeu_ps(mean + c, mask, _mm512_cvtpd_ps(_mm512_maskz_loadu_pd(mask, mean_sum + c)));
        if (variance) _mm256_mask_storeu_ps(variance + c, mask, _mm512_cvtpd_ps(var));
        const __m512d r = _mm512_div_pd(one, _mm512_sqrt_pd(_mm512_add_pd(var, eps)));
        _mm256_mask_storeu_ps(rstd + c, mask, _mm512_cvtpd_ps(r));
    }
}

/* ---- batch norm: the backward sums ------------------------------------------------------------ */

/* sum_dy (the block's columns) += sum(dy), sum_dy_xhat += sum(dy * xhat), xhat = (x - mean) * rstd
 * in double. */
COLUMNS_INLINE void backward_block(double *sum_dy, double *sum_dy_xhat, const float *dy, const float *x,
                                   const float *mean, const float *rstd, size_t batch, size_t stride,
                                   size_t vectors, __mmask8 tail) {
    __m512d s[MAX_VECTORS], t[MAX_VECTORS], m[MAX_VECTORS], k[MAX_VECTORS];
    BLOCK_UNROLL for (size_t j = 0; j < vectors; j++) {
        const __mmask8 mask = MASK_AT(j, vectors, tail);
        s[j] = _mm512_maskz_loadu_pd(mask, sum_dy + j * LANES);
        t[j] = _mm512_maskz_loadu_pd(mask, sum_dy_xhat + j * LANES);
        m[j] = widen(mean + j * LANES, mask);
        k[j] = widen(rstd + j * LANES, mask);
    }
    for (size_t r = 0; r < batch; r++) {
        const float *g_row = dy + r * stride, *x_row = x + r * stride;
        BLOCK_UNROLL for (size_t j = 0; j < vectors; j++) {
            const __mmask8 mask = MASK_AT(j, vectors, tail);
            const __m512d g = widen(g_row + j * LANES, mask);
            const __m512d xhat = _mm512_mul_pd(_mm512_sub_pd(widen(x_row + j * LANES, mask), m[j]), k[j]);
            s[j] = _mm512_add_pd(s[j], g);
            t[j] = _mm512_add_pd(t[j], _mm512_mul_pd(g, xhat));
        }
    }
    BLOCK_UNROLL for (size_t j = 0; j < vectors; j++) {
        const __mmask8 mask = MASK_AT(j, vectors, tail);
        _mm512_mask_storeu_pd(sum_dy + j * LANES, mask, s[j]);
        _mm512_mask_storeu_pd(sum_dy_xhat + j * LANES, mask, t[j]);
    }
}

COLUMNS_TARGET void bnmlp_batchnorm_backward_sums_avx512(double *sum_dy, double *sum_dy_xhat, const float *dy,
                                                         const float *x, const float *mean, const float *rstd,
                                                         size_t batch, size_t stride, size_t width) {
#define BACKWARD_BLOCK(c0, vectors, tail)                                                                    \
    backward_block(sum_dy + (c0), sum_dy_xhat + (c0), dy + (c0), x + (c0), mean + (c0), rstd + (c0), batch,  \
                   stride, vectors, tail)
    FOR_BLOCKS(width, BACKWARD_BLOCK);
#undef BACKWARD_BLOCK
}

/* ---- batch norm: the per-element passes (normalize, the training-mode input gradient) -------- */

/* Floats per register, registers per block at most (64 features), and the mask of register v of
 * a block of `vectors` whose last register holds tail's features. */
#define FLOAT_LANES 16
#define FLOAT_VECTORS 4
#define FLOAT_MASK_AT(v, vectors, tail) ((v) + 1 == (vectors) ? (tail) : (__mmask16)0xffff)

/* Runs block(c0, vectors, tail) over blocks of up to 64 features, c0 ascending, `vectors` a
 * literal in each expansion; each block's per-feature constants stay in registers. */
#define FOR_FLOAT_BLOCKS(width, block)                                                                       \
    for (size_t c0_ = 0; c0_ < (width); c0_ += FLOAT_VECTORS * FLOAT_LANES) {                                \
        const size_t w_ =                                                                                    \
            (width)-c0_ < FLOAT_VECTORS * FLOAT_LANES ? (width)-c0_ : FLOAT_VECTORS * FLOAT_LANES;           \
        const size_t vectors_ = (w_ + FLOAT_LANES - 1) / FLOAT_LANES;                                        \
        const __mmask16 tail_ = (__mmask16)((1u << (w_ - (vectors_ - 1) * FLOAT_LANES)) - 1u);               \
        switch (vectors_) {                                                                                  \
        case 1: block(c0_, w_, 1, tail_); break;                                                             \
        case 2: block(c0_, w_, 2, tail_); break;                                                             \
        case 3: block(c0_, w_, 3, tail_); break;                                                             \
        default: block(c0_, w_, 4, tail_); break;                                                            \
        }                                                                                                    \
    }

/* y = scale * ((x - mean) * rstd) + shift over a block of w features; scale and shift hold gamma
 * and beta (or 1 and 0), as the reference's per-element operations. */
COLUMNS_INLINE void normalize_block(float *y, const float *x, const float *mean, const float *rstd,
                                    const float *scale, const float *shift, size_t batch, size_t stride,
                                    size_t vectors, __mmask16 tail) {
    __m512 m[FLOAT_VECTORS], s[FLOAT_VECTORS], g[FLOAT_VECTORS], b[FLOAT_VECTORS];
    BLOCK_UNROLL for (size_t v = 0; v < vectors; v++) {
        const __mmask16 mask = FLOAT_MASK_AT(v, vectors, tail);
        m[v] = _mm512_maskz_loadu_ps(mask, mean + v * FLOAT_LANES);
        s[v] = _mm512_maskz_loadu_ps(mask, rstd + v * FLOAT_LANES);
        g[v] = _mm512_maskz_loadu_ps(mask, scale + v * FLOAT_LANES);
        b[v] = _mm512_maskz_loadu_ps(mask, shift + v * FLOAT_LANES);
    }
    for (size_t r = 0; r < batch; r++) {
        const float *in = x + r * stride;
        float *out = y + r * stride;
        BLOCK_UNROLL for (size_t v = 0; v < vectors; v++) {
            const __mmask16 mask = FLOAT_MASK_AT(v, vectors, tail);
            const __m512 xhat =
                _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, in + v * FLOAT_LANES), m[v]), s[v]);
            _mm512_mask_storeu_ps(out + v * FLOAT_LANES, mask,
                                  _mm512_add_ps(_mm512_mul_ps(g[v], xhat), b[v]));
        }
    }
}

COLUMNS_TARGET void bnmlp_batchnorm_normalize_avx512(float *y, const float *x, const float *mean,
                                                     const float *rstd, const float *gamma, const float *beta,
                                                     size_t batch, size_t stride, size_t width) {
#define NORMALIZE_BLOCK(c0, w, vectors, tail)                                                                \
    do {                                                                                                     \
        float scale[FLOAT_VECTORS * FLOAT_LANES], shift[FLOAT_VECTORS * FLOAT_LANES];                        \
        for (size_t c = 0; c < (w); c++) {                                                                   \
            scale[c] = gamma ? gamma[(c0) + c] : 1.0f;                                                       \
            shift[c] = beta ? beta[(c0) + c] : 0.0f;                                                         \
        }                                                                                                    \
        normalize_block(y + (c0), x + (c0), mean + (c0), rstd + (c0), scale, shift, batch, stride, vectors,  \
                        tail);                                                                               \
    } while (0)
    FOR_FLOAT_BLOCKS(width, NORMALIZE_BLOCK)
#undef NORMALIZE_BLOCK
}

/* dx = scale * ((dy - mean_dy) - xhat * mean_dy_xhat), xhat = (x - mean) * rstd in float32, over a
 * block of features with its per-feature constants precomputed as the reference computes them. */
COLUMNS_INLINE void finish_block(float *dx, const float *dy, const float *x, const float *mean,
                                 const float *rstd, const float *scale, const float *mean_dy,
                                 const float *mean_dy_xhat, size_t batch, size_t stride, size_t vectors,
                                 __mmask16 tail) {
    __m512 m[FLOAT_VECTORS], s[FLOAT_VECTORS], k[FLOAT_VECTORS], a[FLOAT_VECTORS], b[FLOAT_VECTORS];
    BLOCK_UNROLL for (size_t v = 0; v < vectors; v++) {
        const __mmask16 mask = FLOAT_MASK_AT(v, vectors, tail);
        m[v] = _mm512_maskz_loadu_ps(mask, mean + v * FLOAT_LANES);
        s[v] = _mm512_maskz_loadu_ps(mask, rstd + v * FLOAT_LANES);
        k[v] = _mm512_maskz_loadu_ps(mask, scale + v * FLOAT_LANES);
        a[v] = _mm512_maskz_loadu_ps(mask, mean_dy + v * FLOAT_LANES);
        b[v] = _mm512_maskz_loadu_ps(mask, mean_dy_xhat + v * FLOAT_LANES);
    }
    for (size_t r = 0; r < batch; r++) {
        const float *g = dy + r * stride, *in = x + r * stride;
        float *out = dx + r * stride;
        BLOCK_UNROLL for (size_t v = 0; v < vectors; v++) {
            const __mmask16 mask = FLOAT_MASK_AT(v, vectors, tail);
            const __m512 xhat =
                _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, in + v * FLOAT_LANES), m[v]), s[v]);
            const __m512 centered = _mm512_sub_ps(_mm512_maskz_loadu_ps(mask, g + v * FLOAT_LANES), a[v]);
            const __m512 value = _mm512_mul_ps(k[v], _mm512_sub_ps(centered, _mm512_mul_ps(xhat, b[v])));
            _mm512_mask_storeu_ps(out + v * FLOAT_LANES, mask, value);
        }
    }
}

COLUMNS_TARGET void bnmlp_batchnorm_finish_backward_avx512(float *dx, const double *sum_dy,
                                                           const double *sum_dy_xhat, const float *dy,
                                                           const float *x, const float *mean,
                                                           const float *rstd, const float *gamma,
                                                           double count, size_t batch, size_t stride,
                                                           size_t width) {
#define FINISH_BLOCK(c0, w, vectors, tail)                                                                   \
    do {                                                                                                     \
        float scale[FLOAT_VECTORS * FLOAT_LANES], mean_dy[FLOAT_VECTORS * FLOAT_LANES],                      \
            mean_dy_xhat[FLOAT_VECTORS * FLOAT_LANES];                                                       \
        for (size_t c = 0; c < (w); c++) {                                                                   \
            scale[c] = (float)((gamma ? (double)gamma[(c0) + c] : 1.0) * rstd[(c0) + c]);                    \
            mean_dy[c] = (float)(sum_dy[(c0) + c] / count);                                                  \
            mean_dy_xhat[c] = (float)(sum_dy_xhat[(c0) + c] / count);                                        \
        }                                                                                                    \
        finish_block(dx + (c0), dy + (c0), x + (c0), mean + (c0), rstd + (c0), scale, mean_dy, mean_dy_xhat, \
                     batch, stride, vectors, tail);                                                          \
    } while (0)
    FOR_FLOAT_BLOCKS(width, FINISH_BLOCK)
#undef FINISH_BLOCK
}

#endif /* __x86_64__ */
