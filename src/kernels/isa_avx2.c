/*
 * isa_avx2.c - the AVX2 + FMA row of the instruction-set list: a 6x16 micro-kernel (12 ymm
 * accumulators), 8x8-transpose packers, the direct path and the element-wise loops compiled
 * for AVX2.
 *
 * Compiled for AVX2 through target attributes (no global -mavx flags); only called after the
 * CPU has reported AVX2 and FMA. x86-64 only.
 */
#include "kernels/gemm.h"
#include "kernels/isa.h"
#include "kernels/kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

/* c (6, 16), row stride ldc = [c if load_c] + a (6, k packed: 6 floats per k step)
 * . b (k, 16 packed: 16 floats per k step, 32-byte aligned) [+ bias (16)]. */
__attribute__((target("avx2,fma"))) void bnmlp_gemm_micro_avx2(size_t k, const float *a, const float *b,
                                                               float *c, size_t ldc, const float *bias,
                                                               bool load_c) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (size_t r = 0; r < 6; r++) _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
    for (size_t r = 0; r < 6; r++) _mm_prefetch((const char *)(c + r * ldc + 15), _MM_HINT_T0);

/* Row i of the tile: element i of A's step times both vectors of B, into acc0 and acc1. */
#define AVX2_ROW(a_, i, acc0, acc1)                                                                          \
    do {                                                                                                     \
        const __m256 ai_ = _mm256_broadcast_ss((a_) + (i));                                                  \
        acc0 = _mm256_fmadd_ps(ai_, b0, acc0);                                                               \
        acc1 = _mm256_fmadd_ps(ai_, b1, acc1);                                                               \
    } while (0)
/* One k step: two 8-wide rows of B times six broadcast elements of A. */
#define AVX2_STEP(a_, b_)                                                                                    \
    do {                                                                                                     \
        const __m256 b0 = _mm256_load_ps(b_), b1 = _mm256_load_ps((b_) + 8);                                 \
        AVX2_ROW(a_, 0, c00, c01);                                                                           \
        AVX2_ROW(a_, 1, c10, c11);                                                                           \
        AVX2_ROW(a_, 2, c20, c21);                                                                           \
        AVX2_ROW(a_, 3, c30, c31);                                                                           \
        AVX2_ROW(a_, 4, c40, c41);                                                                           \
        AVX2_ROW(a_, 5, c50, c51);                                                                           \
    } while (0)

    size_t p = 0;
    for (; p + 4 <= k; p += 4) {
        _mm_prefetch((const char *)(a + 48), _MM_HINT_T0);
        AVX2_STEP(a, b);
        AVX2_STEP(a + 6, b + 16);
        AVX2_STEP(a + 12, b + 32);
        AVX2_STEP(a + 18, b + 48);
        a += 24;
        b += 64;
    }
    for (; p < k; p++) {
        AVX2_STEP(a, b);
        a += 6;
        b += 16;
    }
#undef AVX2_STEP
#undef AVX2_ROW

    /* c = (acc [+ c]) [+ bias], row by row. */
    const __m256 bias0 = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
    const __m256 bias1 = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
#define AVX2_STORE(row, v0, v1)                                                                              \
    do {                                                                                                     \
        float *c_row = c + (row)*ldc;                                                                        \
        __m256 s0 = (v0), s1 = (v1);                                                                         \
        if (load_c) {                                                                                        \
            s0 = _mm256_add_ps(s0, _mm256_loadu_ps(c_row));                                                  \
            s1 = _mm256_add_ps(s1, _mm256_loadu_ps(c_row + 8));                                              \
        }                                                                                                    \
        if (bias) {                                                                                          \
            s0 = _mm256_add_ps(s0, bias0);                                                                   \
            s1 = _mm256_add_ps(s1, bias1);                                                                   \
        }                                                                                                    \
        _mm256_storeu_ps(c_row, s0);                                                                         \
        _mm256_storeu_ps(c_row + 8, s1);                                                                     \
    } while (0)
    AVX2_STORE(0, c00, c01);
    AVX2_STORE(1, c10, c11);
    AVX2_STORE(2, c20, c21);
    AVX2_STORE(3, c30, c31);
    AVX2_STORE(4, c40, c41);
    AVX2_STORE(5, c50, c51);
#undef AVX2_STORE
}

/* columns[q] = column q of the 8x8 block whose rows are rows[0..8): interleave pairs, then
 * quads, then swap 128-bit halves (lanes 0-3 hold rows 0-3, lanes 4-7 rows 4-7). */
__attribute__((target("avx2,fma"))) static inline void transpose_8x8(const __m256 rows[8],
                                                                     __m256 columns[8]) {
    const __m256 t0 = _mm256_unpacklo_ps(rows[0], rows[1]), t1 = _mm256_unpackhi_ps(rows[0], rows[1]);
    const __m256 t2 = _mm256_unpacklo_ps(rows[2], rows[3]), t3 = _mm256_unpackhi_ps(rows[2], rows[3]);
    const __m256 t4 = _mm256_unpacklo_ps(rows[4], rows[5]), t5 = _mm256_unpackhi_ps(rows[4], rows[5]);
    const __m256 t6 = _mm256_unpacklo_ps(rows[6], rows[7]), t7 = _mm256_unpackhi_ps(rows[6], rows[7]);
    const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    columns[0] = _mm256_permute2f128_ps(u0, u4, 0x20), columns[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    columns[2] = _mm256_permute2f128_ps(u2, u6, 0x20), columns[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    columns[4] = _mm256_permute2f128_ps(u0, u4, 0x31), columns[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    columns[6] = _mm256_permute2f128_ps(u2, u6, 0x31), columns[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/* Packs a full panel of a transposed B: panel (depth, nr) with panel[p nr + j] = b[j ldb + p],
 * j < nr (a multiple of 8), through 8x8 in-register transposes; the last depth % 8 steps one
 * by one. b: nr rows of at least depth floats, row stride ldb. */
__attribute__((target("avx2,fma"))) void
bnmlp_gemm_pack_b_transposed_avx2(float *panel, const float *b, size_t ldb, size_t depth, size_t nr) {
    const size_t full = depth / 8 * 8;
    for (size_t j0 = 0; j0 < nr; j0 += 8) {
        const float *rows = b + j0 * ldb;
        for (size_t p = 0; p < full; p += 8) {
            __m256 r[8], columns[8]; /* r[j] = b[j0 + j, p .. p + 8) */
            for (size_t j = 0; j < 8; j++) r[j] = _mm256_loadu_ps(rows + j * ldb + p);
            transpose_8x8(r, columns);
            float *target = panel + p * nr + j0;
            for (size_t q = 0; q < 8; q++) _mm256_storeu_ps(target + q * nr, columns[q]);
        }
        for (size_t p = full; p < depth; p++)
            for (size_t j = 0; j < 8; j++) panel[p * nr + j0 + j] = rows[j * ldb + p];
    }
}

/* Packs a full micro-panel of a non-transposed A: panel (depth, mr) with panel[p mr + r] =
 * a[r lda + p], r < mr (6 or 8), through 8x8 in-register transposes (rows mr .. 7 of the
 * transpose are zero and never stored); the last depth % 8 steps one by one. */
__attribute__((target("avx2,fma"))) void bnmlp_gemm_pack_a_avx2(float *panel, const float *a, size_t lda,
                                                                size_t depth, size_t mr) {
    const size_t full = depth / 8 * 8;
    for (size_t p = 0; p < full; p += 8) {
        __m256 r[8], columns[8];
        for (size_t j = 0; j < 8; j++) r[j] = j < mr ? _mm256_loadu_ps(a + j * lda + p) : _mm256_setzero_ps();
        transpose_8x8(r, columns);
        float *target = panel + p * mr;
        if (mr == 8) {
            for (size_t q = 0; q < 8; q++) _mm256_storeu_ps(target + q * 8, columns[q]);
        } else {
            /* Six of the eight lanes: four, then two. */
            for (size_t q = 0; q < 8; q++) {
                _mm_storeu_ps(target + q * 6, _mm256_castps256_ps128(columns[q]));
                _mm_storel_pi((__m64 *)(target + q * 6 + 4), _mm256_extractf128_ps(columns[q], 1));
            }
        }
    }
    for (size_t p = full; p < depth; p++)
        for (size_t r = 0; r < mr; r++) panel[p * mr + r] = a[r * lda + p];
}

/* The direct path compiled for AVX2 + FMA (same loops as the portable one). */
#define DIRECT_TARGET __attribute__((target("avx2,fma")))
#define DIRECT_ENTRY bnmlp_gemm_direct_avx2
#include "kernels/gemm_direct_body.h"

/* ---- bf16: vdpbf16ps emulated with FMA (bf16.h: the arithmetic) ------------------------------- */

/* x with its denormal lanes replaced by zeros of their sign: a compare on the magnitude's bits
 * and a mask (no dependence on MXCSR). */
__attribute__((target("avx2,fma"))) static inline __m256 flush_avx2(__m256 x) {
    const __m256i bits = _mm256_castps_si256(x);
    const __m256i magnitude = _mm256_and_si256(bits, _mm256_set1_epi32(0x7fffffff));
    const __m256i tiny = _mm256_cmpgt_epi32(_mm256_set1_epi32(0x00800000), magnitude);
    return _mm256_castsi256_ps(
        _mm256_andnot_si256(_mm256_and_si256(tiny, _mm256_set1_epi32(0x7fffffff)), bits));
}

/* The float32 of a bf16 held in bits (scalar), flushed when denormal. */
static inline uint32_t flush_bits(uint32_t bits) { return (bits & 0x7f800000u) ? bits : bits & 0x80000000u; }

/* c (6, 16) by bf16 pairs: a (6 pairs a step), b (16 pairs a step, 32-byte aligned). */
__attribute__((target("avx2,fma"))) void bnmlp_gemm_micro_bf16_avx2(size_t pairs, const uint32_t *a,
                                                                    const uint32_t *b, float *c, size_t ldc,
                                                                    const float *bias, bool load_c) {
    enum { MR = BNMLP_GEMM_AVX2_MR };
    __m256 acc[MR][2];
    for (size_t r = 0; r < MR; r++)
        for (size_t h = 0; h < 2; h++) {
            __m256 s = load_c ? _mm256_loadu_ps(c + r * ldc + 8 * h) : _mm256_setzero_ps();
            if (bias) s = _mm256_add_ps(s, _mm256_loadu_ps(bias + 8 * h));
            acc[r][h] = flush_avx2(s);
        }
    const __m256i high = _mm256_set1_epi32((int)0xffff0000u);
    for (size_t q = 0; q < pairs; q++, a += MR, b += 16) {
        __m256 b_high[2], b_low[2];
        for (size_t h = 0; h < 2; h++) {
            const __m256i v = _mm256_load_si256((const __m256i *)(const void *)(b + 8 * h));
            b_high[h] = flush_avx2(_mm256_castsi256_ps(_mm256_and_si256(v, high)));
            b_low[h] = flush_avx2(_mm256_castsi256_ps(_mm256_slli_epi32(v, 16)));
        }
        for (size_t r = 0; r < MR; r++) {
            const __m256 a_high = _mm256_castsi256_ps(_mm256_set1_epi32((int)flush_bits(a[r] & 0xffff0000u)));
            const __m256 a_low = _mm256_castsi256_ps(_mm256_set1_epi32((int)flush_bits(a[r] << 16)));
            for (size_t h = 0; h < 2; h++) {
                acc[r][h] = flush_avx2(_mm256_fmadd_ps(a_high, b_high[h], acc[r][h]));
                acc[r][h] = flush_avx2(_mm256_fmadd_ps(a_low, b_low[h], acc[r][h]));
            }
        }
    }
    for (size_t r = 0; r < MR; r++)
        for (size_t h = 0; h < 2; h++) _mm256_storeu_ps(c + r * ldc + 8 * h, acc[r][h]);
}

/* The element-wise loops compiled for AVX2. */
#define ELEMENTWISE_TARGET __attribute__((target("avx2,fma")))
#define ELEMENTWISE(name) name##_avx2
#include "kernels/elementwise_body.h"

static bool avx2_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

const bnmlp_isa bnmlp_isa_avx2 = {
    .name = "avx2",
    .available = avx2_available,
    .mr = BNMLP_GEMM_AVX2_MR,
    .nr = BNMLP_GEMM_AVX2_NR,
    .micro_kernel = bnmlp_gemm_micro_avx2,
    .pack_a = bnmlp_gemm_pack_a_avx2,
    .pack_b_transposed = bnmlp_gemm_pack_b_transposed_avx2,
    .gemm_direct = bnmlp_gemm_direct_avx2,
    .micro_kernel_bf16 = bnmlp_gemm_micro_bf16_avx2,
    ELEMENTWISE_ENTRIES,
    .int8 = bnmlp_int8_for_avx2,
};

#endif /* __x86_64__ */
