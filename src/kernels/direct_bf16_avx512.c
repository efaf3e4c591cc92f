/*
 * direct_bf16_avx512.c - the AVX-512 row's direct bf16 path: thin and small products (those
 * bnmlp_gemm_is_direct takes) with exactly bnmlp_gemm_bf16_reference's per-element arithmetic
 * (kernels/bf16.h: start from C or 0, plus the bias, then the K values in pairs, high element
 * first, each step one fused multiply-add flushed as vdpbf16ps), without packing.
 *
 * Every lane of a vector is one element of C walking its own K in order, so the vectors run
 * along the output: over columns j (16 a vector, four vectors a block, masked tails) when n is
 * wide, over rows i when n is narrower than a vector and m is longer (the 1024 -> 1 head's
 * forward product). op(A) and op(B) values are rounded to bf16 where they are read (the
 * reference's rounding, vectorized); a strided operand is gathered, a strided output scattered.
 * Operands whose 16-element gather offsets would not fit an int32 go to the reference loop.
 *
 * Compiled for AVX-512F through target attributes; only called through the avx512 row. x86-64
 * only.
 */
#include "kernels/gemm.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "kernels/bf16.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define BF16_TARGET __attribute__((target("avx2,fma,avx512f,avx512vl")))
#define BF16_INLINE static inline __attribute__((always_inline)) BF16_TARGET

/* Vectors a block: four accumulators hide the fused multiply-add's latency. */
enum { LANES = 16, VECTORS = 4, BLOCK = LANES * VECTORS };
/* Values of K the rows form loads from each row at a time (a whole cache line: one tile). */
enum { CHUNK = LANES };

/* x with its denormal lanes replaced by zeros of their sign. */
BF16_INLINE __m512 flush(__m512 x) {
    const __m512i bits = _mm512_castps_si512(x);
    const __mmask16 tiny = _mm512_cmplt_epu32_mask(_mm512_and_si512(bits, _mm512_set1_epi32(0x7fffffff)),
                                                   _mm512_set1_epi32(0x00800000));
    return _mm512_castsi512_ps(_mm512_mask_and_epi32(bits, tiny, bits, _mm512_set1_epi32((int)0x80000000u)));
}

/* The float32 value of x rounded to bf16 (bnmlp_bf16_from_float, in its 16 high bits): NaN
 * quieted, zero and denormal to a zero of their sign, otherwise nearest even. Never denormal. */
BF16_INLINE __m512 round_bf16(__m512 x) {
    const __m512i u = _mm512_castps_si512(x), high = _mm512_set1_epi32((int)0xffff0000u);
    const __m512i magnitude = _mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff));
    const __mmask16 nan = _mm512_cmpgt_epu32_mask(magnitude, _mm512_set1_epi32(0x7f800000));
    const __mmask16 tiny = _mm512_cmplt_epu32_mask(magnitude, _mm512_set1_epi32(0x00800000));
    const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), odd);
    r = _mm512_mask_or_epi32(r, nan, u, _mm512_set1_epi32(0x00400000));
    r = _mm512_mask_and_epi32(r, tiny, u, _mm512_set1_epi32((int)0x80000000u));
    return _mm512_castsi512_ps(_mm512_and_si512(r, high));
}

/* The scalar value of x rounded to bf16, broadcast (bnmlp_bf16_from_float's arithmetic, inline:
 * a call would spill every zmm register the loops hold). */
BF16_INLINE __m512 broadcast_bf16(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        u |= 0x00400000u; /* NaN: quieted */
    else if ((u & 0x7f800000u) == 0)
        u &= 0x80000000u; /* zero, denormal */
    else
        u = u + 0x7fffu + ((u >> 16) & 1u);
    return _mm512_castsi512_ps(_mm512_set1_epi32((int)(u & 0xffff0000u)));
}

/* One pair step of an accumulator: high element first (as bnmlp_bf16_dot_pair). */
BF16_INLINE __m512 pair_step(__m512 acc, __m512 a_low, __m512 a_high, __m512 b_low, __m512 b_high) {
    acc = flush(_mm512_fmadd_ps(a_high, b_high, acc));
    return flush(_mm512_fmadd_ps(a_low, b_low, acc));
}

static __mmask16 lanes_mask(size_t lanes) {
    return lanes >= LANES ? 0xffffu : (__mmask16)((1u << lanes) - 1u);
}

/* 16 values from base with stride elements between them (stride * 15 fits an int32), masked;
 * contiguous (a constant at every call) when stride is 1. */
BF16_INLINE __m512 load_strided(const float *base, size_t stride, __mmask16 mask, bool contiguous) {
    if (contiguous) return _mm512_maskz_loadu_ps(mask, base);
    const __m512i index =
        _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                           _mm512_set1_epi32((int)stride));
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mask, index, base, 4);
}

BF16_INLINE void store_strided(float *base, size_t stride, __mmask16 mask, __m512 x) {
    if (stride == 1) {
        _mm512_mask_storeu_ps(base, mask, x);
        return;
    }
    const __m512i index =
        _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                           _mm512_set1_epi32((int)stride));
    _mm512_mask_i32scatter_ps(base, mask, index, x, 4);
}

/* The lanes mask of each of a block's vectors for `count` lanes (at most BLOCK). */
static void block_masks(__mmask16 mask[VECTORS], size_t count) {
    for (size_t v = 0; v < VECTORS; v++) mask[v] = count > v * LANES ? lanes_mask(count - v * LANES) : 0;
}

/* Columns form: row i of C, columns [j0, + width), width <= BLOCK. op(B)(p, j) is b[p ldb + j]
 * (contiguous) or, transposed, b[j ldb + p] (gathered). */
BF16_INLINE void columns_block_body(bool transpose_a, bool contiguous, size_t i, size_t j0, size_t width,
                                    size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                                    const float *bias, bool accumulate, float *c, size_t ldc) {
    __mmask16 mask[VECTORS];
    block_masks(mask, width);
    __m512 acc[VECTORS];
    for (size_t v = 0; v < VECTORS; v++) {
        const size_t j = j0 + v * LANES;
        __m512 s = accumulate ? _mm512_maskz_loadu_ps(mask[v], c + i * ldc + j) : _mm512_setzero_ps();
        if (bias) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(mask[v], bias + j));
        acc[v] = flush(s);
    }
    const size_t b_step = contiguous ? ldb : 1, b_stride = contiguous ? 1 : ldb;
    const size_t a_step = transpose_a ? lda : 1;
    const float *a_row = transpose_a ? a + i : a + i * lda;
    const float *columns = b + j0 * b_stride;
    size_t p = 0;
    for (; p + 1 < k; p += 2) {
        const __m512 a_low = broadcast_bf16(a_row[p * a_step]),
                     a_high = broadcast_bf16(a_row[(p + 1) * a_step]);
        for (size_t v = 0; v < VECTORS; v++) {
            const float *column = columns + v * LANES * b_stride;
            const __m512 b_low = round_bf16(load_strided(column + p * b_step, b_stride, mask[v], contiguous));
            const __m512 b_high =
                round_bf16(load_strided(column + (p + 1) * b_step, b_stride, mask[v], contiguous));
            acc[v] = pair_step(acc[v], a_low, a_high, b_low, b_high);
        }
    }
    if (p < k) { /* odd K: the last pair's high elements are zeros */
        const __m512 a_low = broadcast_bf16(a_row[p * a_step]), zero = _mm512_setzero_ps();
        for (size_t v = 0; v < VECTORS; v++) {
            const float *column = columns + v * LANES * b_stride;
            const __m512 b_low = round_bf16(load_strided(column + p * b_step, b_stride, mask[v], contiguous));
            acc[v] = pair_step(acc[v], a_low, zero, b_low, zero);
        }
    }
    for (size_t v = 0; v < VECTORS; v++) _mm512_mask_storeu_ps(c + i * ldc + j0 + v * LANES, mask[v], acc[v]);
}

BF16_TARGET static void columns_block(bool transpose_a, bool transpose_b, size_t i, size_t j0, size_t width,
                                      size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                                      const float *bias, bool accumulate, float *c, size_t ldc) {
    if (transpose_b)
        columns_block_body(transpose_a, false, i, j0, width, k, a, lda, b, ldb, bias, accumulate, c, ldc);
    else
        columns_block_body(transpose_a, true, i, j0, width, k, a, lda, b, ldb, bias, accumulate, c, ldc);
}

/* r (16 rows of 16) transposed in place: r[q] becomes column q (lane g holds row g). */
BF16_INLINE void transpose16(__m512 r[16]) {
    __m512 t[16];
    for (size_t i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    __m512 u[16]; /* u[4 g + q]: in 128-bit lane L, rows 4g .. 4g + 3 of column 4L + q */
    for (size_t g = 0; g < 4; g++) {
        const __m512d t0 = _mm512_castps_pd(t[4 * g]), t1 = _mm512_castps_pd(t[4 * g + 1]);
        const __m512d t2 = _mm512_castps_pd(t[4 * g + 2]), t3 = _mm512_castps_pd(t[4 * g + 3]);
        u[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
        u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
        u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
        u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
    }
    for (size_t q = 0; q < 4; q++) {
        const __m512 s0 = _mm512_shuffle_f32x4(u[q], u[4 + q], 0x44),
                     s1 = _mm512_shuffle_f32x4(u[q], u[4 + q], 0xee);
        const __m512 s2 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0x44);
        const __m512 s3 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0xee);
        r[q] = _mm512_shuffle_f32x4(s0, s2, 0x88);
        r[4 + q] = _mm512_shuffle_f32x4(s0, s2, 0xdd);
        r[8 + q] = _mm512_shuffle_f32x4(s1, s3, 0x88);
        r[12 + q] = _mm512_shuffle_f32x4(s1, s3, 0xdd);
    }
}

/* Rows form: column j of C, rows [i0, + height), height <= BLOCK. op(A)(i, p) is a[p lda + i]
 * (transposed: contiguous) or a[i lda + p] (16 rows of 16 values loaded and transposed in
 * registers, the last K values gathered); C's column is gathered and scattered. */
BF16_TARGET static void rows_block(bool transpose_a, bool transpose_b, size_t i0, size_t height, size_t j,
                                   size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                                   const float *bias, bool accumulate, float *c, size_t ldc) {
    __mmask16 mask[VECTORS];
    block_masks(mask, height);
    __m512 acc[VECTORS];
    for (size_t v = 0; v < VECTORS; v++) {
        acc[v] = _mm512_setzero_ps();
        if (!mask[v]) continue;
        const size_t i = i0 + v * LANES;
        __m512 s = accumulate ? load_strided(c + i * ldc + j, ldc, mask[v], ldc == 1) : _mm512_setzero_ps();
        if (bias) s = _mm512_add_ps(s, _mm512_set1_ps(bias[j]));
        acc[v] = flush(s);
    }
    const size_t a_step = transpose_a ? lda : 1, a_stride = transpose_a ? 1 : lda;
    const size_t b_step = transpose_b ? 1 : ldb;
    const float *b_column = transpose_b ? b + j * ldb : b + j;
    size_t p = 0;
    if (!transpose_a)
        for (; p + CHUNK <= k; p += CHUNK) {
            /* The block's CHUNK values of K, rounded, column by column (each row's loads whole
             * cache lines, in order): the vectors' chains of pair steps then run interleaved. */
            __m512 values[VECTORS][CHUNK];
            for (size_t v = 0; v < VECTORS; v++) {
                const size_t rows = mask[v] ? height - v * LANES : 0;
                for (size_t t = 0; t < CHUNK; t += LANES) {
                    __m512 *tile = values[v] + t;
                    for (size_t q = 0; q < LANES; q++)
                        tile[q] = q < rows ? _mm512_loadu_ps(a + (i0 + v * LANES + q) * lda + p + t)
                                           : _mm512_setzero_ps();
                    transpose16(tile);
                    for (size_t q = 0; q < LANES; q++) tile[q] = round_bf16(tile[q]);
                }
            }
            for (size_t q = 0; q < CHUNK; q += 2) {
                const __m512 b_low = broadcast_bf16(b_column[(p + q) * b_step]);
                const __m512 b_high = broadcast_bf16(b_column[(p + q + 1) * b_step]);
                for (size_t v = 0; v < VECTORS; v++)
                    acc[v] = pair_step(acc[v], values[v][q], values[v][q + 1], b_low, b_high);
            }
        }
    for (; p < k; p += 2) {
        const bool odd = p + 1 == k;
        const __m512 b_low = broadcast_bf16(b_column[p * b_step]);
        const __m512 b_high = odd ? _mm512_setzero_ps() : broadcast_bf16(b_column[(p + 1) * b_step]);
        for (size_t v = 0; v < VECTORS; v++) {
            if (!mask[v]) continue;
            const float *rows = a + (i0 + v * LANES) * a_stride;
            const __m512 a_low = round_bf16(load_strided(rows + p * a_step, a_stride, mask[v], transpose_a));
            const __m512 a_high =
                odd ? _mm512_setzero_ps()
                    : round_bf16(load_strided(rows + (p + 1) * a_step, a_stride, mask[v], transpose_a));
            acc[v] = pair_step(acc[v], a_low, a_high, b_low, b_high);
        }
    }
    for (size_t v = 0; v < VECTORS; v++)
        if (mask[v]) store_strided(c + (i0 + v * LANES) * ldc + j, ldc, mask[v], acc[v]);
}

void bnmlp_gemm_direct_bf16_avx512(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k,
                                   const float *a, size_t lda, const float *b, size_t ldb, const float *bias,
                                   bool accumulate, float *c, size_t ldc) {
    const bool by_rows = n < LANES && m > n;
    /* Strides gathered or scattered: 15 of them must fit an int32. */
    const size_t widest = by_rows ? (transpose_a ? ldc : (lda > ldc ? lda : ldc)) : (transpose_b ? ldb : 0);
    if (widest > (size_t)INT32_MAX / LANES) {
        bnmlp_gemm_bf16_reference(transpose_a, transpose_b, m, n, k, a, lda, b, ldb, bias, accumulate, c,
                                  ldc);
        return;
    }
    if (by_rows) {
        for (size_t j = 0; j < n; j++)
            for (size_t i0 = 0; i0 < m; i0 += BLOCK)
                rows_block(transpose_a, transpose_b, i0, m - i0 < BLOCK ? m - i0 : BLOCK, j, k, a, lda, b,
                           ldb, bias, accumulate, c, ldc);
    } else {
        for (size_t i = 0; i < m; i++)
            for (size_t j0 = 0; j0 < n; j0 += BLOCK)
                columns_block(transpose_a, transpose_b, i, j0, n - j0 < BLOCK ? n - j0 : BLOCK, k, a, lda, b,
                              ldb, bias, accumulate, c, ldc);
    }
}

#endif /* __x86_64__ */
