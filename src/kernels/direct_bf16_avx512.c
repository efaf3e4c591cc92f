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

/* The scalar value of x rounded to bf16, broadcast. */
BF16_INLINE __m512 broadcast_bf16(float x) {
    const uint32_t bits = (uint32_t)bnmlp_bf16_from_float(x) << 16;
    return _mm512_castsi512_ps(_mm512_set1_epi32((int)bits));
}

/* One pair step of an accumulator: high element first (as bnmlp_bf16_dot_pair). */
BF16_INLINE __m512 pair_step(__m512 acc, __m512 a_low, __m512 a_high, __m512 b_low, __m512 b_high) {
    acc = flush(_mm512_fmadd_ps(a_high, b_high, acc));
    return flush(_mm512_fmadd_ps(a_low, b_low, acc));
}

static __mmask16 lanes_mask(size_t lanes) {
    return lanes >= LANES ? 0xffffu : (__mmask16)((1u << lanes) - 1u);
}

/* 16 values from base with stride elements between them (stride * 15 fits an int32), masked. */
BF16_INLINE __m512 load_strided(const float *base, size_t stride, __mmask16 mask) {
    if (stride == 1) return _mm512_maskz_loadu_ps(mask, base);
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

/* Columns form: row i of C, columns [j0, + width), width <= BLOCK. op(B)(p, j) is b[p ldb + j]
 * (contiguous) or, transposed, b[j ldb + p] (gathered). */
BF16_TARGET static void columns_block(bool transpose_a, bool transpose_b, size_t i, size_t j0, size_t width,
                                      size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                                      const float *bias, bool accumulate, float *c, size_t ldc) {
    __mmask16 mask[VECTORS];
    __m512 acc[VECTORS];
    for (size_t v = 0; v < VECTORS; v++) {
        mask[v] = width > v * LANES ? lanes_mask(width - v * LANES) : 0;
        acc[v] = _mm512_setzero_ps();
        if (!mask[v]) continue;
        const size_t j = j0 + v * LANES;
        __m512 s = accumulate ? _mm512_maskz_loadu_ps(mask[v], c + i * ldc + j) : _mm512_setzero_ps();
        if (bias) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(mask[v], bias + j));
        acc[v] = flush(s);
    }
    const size_t b_step = transpose_b ? 1 : ldb, b_stride = transpose_b ? ldb : 1;
    const size_t a_step = transpose_a ? lda : 1;
    const float *a_row = transpose_a ? a + i : a + i * lda;
    for (size_t p = 0; p < k; p += 2) {
        const bool odd = p + 1 == k;
        const __m512 a_low = broadcast_bf16(a_row[p * a_step]);
        const __m512 a_high = odd ? _mm512_setzero_ps() : broadcast_bf16(a_row[(p + 1) * a_step]);
        for (size_t v = 0; v < VECTORS; v++) {
            if (!mask[v]) continue;
            const float *column = b + (j0 + v * LANES) * b_stride;
            const __m512 b_low = round_bf16(load_strided(column + p * b_step, b_stride, mask[v]));
            const __m512 b_high =
                odd ? _mm512_setzero_ps()
                    : round_bf16(load_strided(column + (p + 1) * b_step, b_stride, mask[v]));
            acc[v] = pair_step(acc[v], a_low, a_high, b_low, b_high);
        }
    }
    for (size_t v = 0; v < VECTORS; v++)
        if (mask[v]) _mm512_mask_storeu_ps(c + i * ldc + j0 + v * LANES, mask[v], acc[v]);
}

/* Rows form: column j of C, rows [i0, + height), height <= BLOCK. op(A)(i, p) is a[p lda + i]
 * (transposed: contiguous) or a[i lda + p] (gathered); C's column is gathered and scattered. */
BF16_TARGET static void rows_block(bool transpose_a, bool transpose_b, size_t i0, size_t height, size_t j,
                                   size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                                   const float *bias, bool accumulate, float *c, size_t ldc) {
    __mmask16 mask[VECTORS];
    __m512 acc[VECTORS];
    for (size_t v = 0; v < VECTORS; v++) {
        mask[v] = height > v * LANES ? lanes_mask(height - v * LANES) : 0;
        acc[v] = _mm512_setzero_ps();
        if (!mask[v]) continue;
        const size_t i = i0 + v * LANES;
        __m512 s = accumulate ? load_strided(c + i * ldc + j, ldc, mask[v]) : _mm512_setzero_ps();
        if (bias) s = _mm512_add_ps(s, _mm512_set1_ps(bias[j]));
        acc[v] = flush(s);
    }
    const size_t a_step = transpose_a ? lda : 1, a_stride = transpose_a ? 1 : lda;
    const size_t b_step = transpose_b ? 1 : ldb;
    const float *b_column = transpose_b ? b + j * ldb : b + j;
    for (size_t p = 0; p < k; p += 2) {
        const bool odd = p + 1 == k;
        const __m512 b_low = broadcast_bf16(b_column[p * b_step]);
        const __m512 b_high = odd ? _mm512_setzero_ps() : broadcast_bf16(b_column[(p + 1) * b_step]);
        for (size_t v = 0; v < VECTORS; v++) {
            if (!mask[v]) continue;
            const float *rows = a + (i0 + v * LANES) * a_stride;
            const __m512 a_low = round_bf16(load_strided(rows + p * a_step, a_stride, mask[v]));
            const __m512 a_high = odd ? _mm512_setzero_ps()
                                      : round_bf16(load_strided(rows + (p + 1) * a_step, a_stride, mask[v]));
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
