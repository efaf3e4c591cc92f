/*
 * isa_avx512bf16.c - the AVX-512 row's bf16_native set: the bf16 product's micro-kernel on
 * vdpbf16ps and its packers on vcvtne2ps2bf16, which the plan takes instead of the row's
 * emulating entries where the CPU has AVX512_BF16 (the same bits either way).
 *
 * Compiled through target attributes (no global flags); only called after the CPU has reported
 * AVX-512 F/VL/BW and AVX512_BF16. x86-64 only.
 */
#include "kernels/gemm.h"
#include "kernels/isa.h"
#include "kernels/kernels.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#include <string.h>

#define BF16_TARGET __attribute__((target("avx512f,avx512vl,avx512bw,avx512bf16")))

/* c (8, 32), row stride ldc = ([c if load_c] else 0) [+ bias (32)], then `pairs` vdpbf16ps steps
 * of a (8 pairs a step) by b (32 pairs a step, 64-byte aligned). */
BF16_TARGET static void bnmlp_gemm_micro_bf16_avx512bf16(size_t pairs, const uint32_t *a, const uint32_t *b,
                                                         float *c, size_t ldc, const float *bias,
                                                         bool load_c) {
    const __m512 bias0 = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
    const __m512 bias1 = bias ? _mm512_loadu_ps(bias + 16) : _mm512_setzero_ps();
/* Accumulator row r: (c or 0) [+ bias]. */
#define BF16_INIT(r, v0, v1)                                                                                 \
    __m512 v0 = load_c ? _mm512_loadu_ps(c + (r)*ldc) : _mm512_setzero_ps();                                 \
    __m512 v1 = load_c ? _mm512_loadu_ps(c + (r)*ldc + 16) : _mm512_setzero_ps();                            \
    if (bias) v0 = _mm512_add_ps(v0, bias0), v1 = _mm512_add_ps(v1, bias1)
    BF16_INIT(0, c00, c01);
    BF16_INIT(1, c10, c11);
    BF16_INIT(2, c20, c21);
    BF16_INIT(3, c30, c31);
    BF16_INIT(4, c40, c41);
    BF16_INIT(5, c50, c51);
    BF16_INIT(6, c60, c61);
    BF16_INIT(7, c70, c71);
#undef BF16_INIT

/* Row i: A's pair i of the step, broadcast, against both vectors of B's pairs. */
#define BF16_ROW(a_, i, acc0, acc1)                                                                          \
    do {                                                                                                     \
        const __m512bh ai_ = (__m512bh)_mm512_set1_epi32((int)(a_)[i]);                                      \
        acc0 = _mm512_dpbf16_ps(acc0, ai_, b0);                                                              \
        acc1 = _mm512_dpbf16_ps(acc1, ai_, b1);                                                              \
    } while (0)
#define BF16_STEP(a_, b_)                                                                                    \
    do {                                                                                                     \
        const __m512bh b0 = (__m512bh)_mm512_load_si512(b_), b1 = (__m512bh)_mm512_load_si512((b_) + 16);    \
        BF16_ROW(a_, 0, c00, c01);                                                                           \
        BF16_ROW(a_, 1, c10, c11);                                                                           \
        BF16_ROW(a_, 2, c20, c21);                                                                           \
        BF16_ROW(a_, 3, c30, c31);                                                                           \
        BF16_ROW(a_, 4, c40, c41);                                                                           \
        BF16_ROW(a_, 5, c50, c51);                                                                           \
        BF16_ROW(a_, 6, c60, c61);                                                                           \
        BF16_ROW(a_, 7, c70, c71);                                                                           \
    } while (0)
    size_t q = 0;
    for (; q + 4 <= pairs; q += 4) {
        _mm_prefetch((const char *)(a + 64), _MM_HINT_T0);
        BF16_STEP(a, b);
        BF16_STEP(a + 8, b + 32);
        BF16_STEP(a + 16, b + 64);
        BF16_STEP(a + 24, b + 96);
        a += 32;
        b += 128;
    }
    for (; q < pairs; q++) {
        BF16_STEP(a, b);
        a += 8;
        b += 32;
    }
#undef BF16_STEP
#undef BF16_ROW

#define BF16_STORE(r, v0, v1) _mm512_storeu_ps(c + (r)*ldc, v0), _mm512_storeu_ps(c + (r)*ldc + 16, v1)
    BF16_STORE(0, c00, c01);
    BF16_STORE(1, c10, c11);
    BF16_STORE(2, c20, c21);
    BF16_STORE(3, c30, c31);
    BF16_STORE(4, c40, c41);
    BF16_STORE(5, c50, c51);
    BF16_STORE(6, c60, c61);
    BF16_STORE(7, c70, c71);
#undef BF16_STORE
}

/* ---- packing: vcvtne2ps2bf16 (the rounding of kernels/bf16.h) ------------------------------------ */

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* The lowest n bits (n <= 16). */
static __mmask16 low_lanes(size_t n) { return (__mmask16)((1u << n) - 1u); }

/* Pairs of source rows the interleaved packer takes at a time. */
#define INTERLEAVE_STEPS 4

/* isa.h's interleaved packer: 16 columns of two rows at a time, converted by one vcvtne2ps2bf16
 * and interleaved by one vpermw. */
BF16_TARGET static void pack_interleaved_avx512bf16(uint32_t *panel, const float *source, size_t ld,
                                                    size_t depth, size_t count, size_t width) {
    /* 16-bit element 2j of a pair vector <- j (row 2s), 2j + 1 <- 16 + j (row 2s + 1). */
    static const uint16_t order[32] = {0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,  21, 6,  22, 7,  23,
                                       8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
    const __m512i index = _mm512_loadu_si512(order);
    const size_t pairs = (depth + 1) / 2;
    /* A few steps at a time (their source rows stay in L1), read in order across every panel;
     * each panel gets those steps as one contiguous run. */
    for (size_t s0 = 0; s0 < pairs; s0 += INTERLEAVE_STEPS) {
        const size_t s_end = min_size(pairs, s0 + INTERLEAVE_STEPS);
        for (size_t i0 = 0; i0 < count; i0 += width) {
            const size_t used = min_size(width, count - i0);
            for (size_t s = s0; s < s_end; s++) {
                const float *row0 = source + 2 * s * ld + i0;
                const bool second = 2 * s + 1 < depth;
                uint32_t *step = panel + i0 * pairs + s * width;
                for (size_t c0 = 0; c0 < width; c0 += 16) {
                    const size_t lanes = min_size(16, width - c0);
                    const __mmask16 load = low_lanes(used > c0 ? min_size(lanes, used - c0) : 0);
                    const __m512 x0 = _mm512_maskz_loadu_ps(load, row0 + c0);
                    const __m512 x1 =
                        second ? _mm512_maskz_loadu_ps(load, row0 + ld + c0) : _mm512_setzero_ps();
                    const __m512i v = _mm512_permutexvar_epi16(index, (__m512i)_mm512_cvtne2ps_pbh(x1, x0));
                    _mm512_mask_storeu_epi32(step + c0, low_lanes(lanes), v);
                }
            }
        }
    }
}

/* Rows a panel may have here (the row's MR and NR). */
#define PACK_ROWS_MAX 32

/* columns[q] = lane q of each of rows[0..8): an 8x8 transpose of 32-bit values (float shuffles,
 * which move bits unchanged). */
BF16_TARGET static void transpose_8x8_bits(const __m256i rows[8], __m256i columns[8]) {
    __m256 t[8], u[8];
    for (size_t i = 0; i < 4; i++) {
        const __m256 a = _mm256_castsi256_ps(rows[2 * i]), b = _mm256_castsi256_ps(rows[2 * i + 1]);
        t[2 * i] = _mm256_unpacklo_ps(a, b);
        t[2 * i + 1] = _mm256_unpackhi_ps(a, b);
    }
    for (size_t i = 0; i < 2; i++)
        for (size_t h = 0; h < 2; h++) {
            const __m256 a = t[4 * i + h], b = t[4 * i + 2 + h];
            u[4 * i + 2 * h] = _mm256_shuffle_ps(a, b, 0x44);
            u[4 * i + 2 * h + 1] = _mm256_shuffle_ps(a, b, 0xee);
        }
    for (size_t q = 0; q < 4; q++) {
        columns[q] = _mm256_castps_si256(_mm256_permute2f128_ps(u[q], u[4 + q], 0x20));
        columns[4 + q] = _mm256_castps_si256(_mm256_permute2f128_ps(u[q], u[4 + q], 0x31));
    }
}

/* isa.h's rows packer: 32 values (16 pairs) of a row at a time by one vcvtne2ps2bf16 (consecutive
 * bf16 values are already pairs), a panel's rows into a tile, the tile transposed into the panel. */
BF16_TARGET static void pack_rows_avx512bf16(uint32_t *panel, const float *source, size_t ld, size_t depth,
                                             size_t count, size_t width) {
    if (width > PACK_ROWS_MAX || width % 8 != 0) {
        bnmlp_pack_bf16_rows_portable(panel, source, ld, depth, count, width);
        return;
    }
    _Alignas(64) uint32_t tile[PACK_ROWS_MAX * 16];
    const size_t pairs = (depth + 1) / 2;
    for (size_t i0 = 0; i0 < count; i0 += width) {
        const size_t used = min_size(width, count - i0);
        uint32_t *target = panel + i0 * pairs;
        for (size_t s0 = 0; s0 < pairs; s0 += 16) {
            const size_t steps = min_size(16, pairs - s0), values = min_size(32, depth - 2 * s0);
            const __mmask16 low = low_lanes(min_size(16, values)),
                            high = low_lanes(values > 16 ? values - 16 : 0);
            for (size_t r = 0; r < width; r++) {
                __m512i v = _mm512_setzero_si512();
                if (r < used) {
                    const float *row = source + (i0 + r) * ld + 2 * s0;
                    v = (__m512i)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(high, row + 16),
                                                     _mm512_maskz_loadu_ps(low, row));
                }
                _mm512_store_si512(tile + r * 16, v);
            }
            /* target[(s0 + q) width + r] = tile[r 16 + q], 8 x 8 blocks at a time. */
            for (size_t j0 = 0; j0 < width; j0 += 8)
                for (size_t q0 = 0; q0 < steps; q0 += 8) {
                    __m256i rows[8], columns[8];
                    for (size_t j = 0; j < 8; j++)
                        rows[j] =
                            _mm256_load_si256((const __m256i *)(const void *)(tile + (j0 + j) * 16 + q0));
                    transpose_8x8_bits(rows, columns);
                    for (size_t q = 0; q < 8 && q0 + q < steps; q++)
                        _mm256_storeu_si256((__m256i *)(void *)(target + (s0 + q0 + q) * width + j0),
                                            columns[q]);
                }
        }
    }
}

/* ---- the direct path's rows form (n = 1 heads): vdpbf16ps over 16 rows of C at a time --------- */

/* r (16 x 16 32-bit elements) transposed in place: r[q] becomes element q of every row. */
BF16_TARGET static inline void transpose_16x16_bits(__m512i r[16]) {
    __m512i t[16], u[16];
    for (size_t i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    /* u[4 g + q]: in 128-bit lane L, rows 4g .. 4g + 3 of element 4L + q */
    for (size_t g = 0; g < 4; g++) {
        u[4 * g] = _mm512_unpacklo_epi64(t[4 * g], t[4 * g + 2]);
        u[4 * g + 1] = _mm512_unpackhi_epi64(t[4 * g], t[4 * g + 2]);
        u[4 * g + 2] = _mm512_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]);
        u[4 * g + 3] = _mm512_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]);
    }
    for (size_t q = 0; q < 4; q++) {
        const __m512i s0 = _mm512_shuffle_i32x4(u[q], u[4 + q], 0x44),
                      s1 = _mm512_shuffle_i32x4(u[q], u[4 + q], 0xee);
        const __m512i s2 = _mm512_shuffle_i32x4(u[8 + q], u[12 + q], 0x44);
        const __m512i s3 = _mm512_shuffle_i32x4(u[8 + q], u[12 + q], 0xee);
        r[q] = _mm512_shuffle_i32x4(s0, s2, 0x88);
        r[4 + q] = _mm512_shuffle_i32x4(s0, s2, 0xdd);
        r[8 + q] = _mm512_shuffle_i32x4(s1, s3, 0x88);
        r[12 + q] = _mm512_shuffle_i32x4(s1, s3, 0xdd);
    }
}

/* x rounded to bf16 (bnmlp_bf16_from_float's arithmetic, inline: a call would spill every zmm). */
static inline uint32_t bf16_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (u >> 16) | 0x40u; /* NaN: quieted */
    if ((u & 0x7f800000u) == 0) return (u >> 16) & 0x8000u;        /* zero, denormal */
    return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}

/* The bf16 pair (lo, hi) of two floats (bnmlp_bf16_pair). */
static inline uint32_t pair_bits(float lo, float hi) { return bf16_bits(lo) | bf16_bits(hi) << 16; }

enum { DIRECT_LANES = 16, DIRECT_VECTORS = 4, DIRECT_BLOCK = 64, DIRECT_CHUNK = 32 };

/* Column j of C, rows [i0, + height) (height <= DIRECT_BLOCK), K values [0, k32) (a multiple of
 * DIRECT_CHUNK) of non-transposed A: C = [C] [+ bias] then the pair steps, stored back into C.
 * Each 16-row tile of 32 values is converted row by row (one vcvtne2ps2bf16: 16 pairs) and
 * transposed so that a vector holds one pair of 16 rows. */
BF16_TARGET static void direct_rows_block(size_t i0, size_t height, size_t j, size_t k32, const float *a,
                                          size_t lda, const float *b_column, size_t b_step, const float *bias,
                                          bool accumulate, float *c, size_t ldc) {
    __m512 acc[DIRECT_VECTORS];
    size_t rows[DIRECT_VECTORS];
    for (size_t v = 0; v < DIRECT_VECTORS; v++) {
        rows[v] = height > v * DIRECT_LANES ? min_size(DIRECT_LANES, height - v * DIRECT_LANES) : 0;
        float start[DIRECT_LANES] = {0};
        for (size_t r = 0; accumulate && r < rows[v]; r++)
            start[r] = c[(i0 + v * DIRECT_LANES + r) * ldc + j];
        __m512 s = _mm512_loadu_ps(start);
        if (bias) s = _mm512_add_ps(s, _mm512_set1_ps(bias[j]));
        acc[v] = s;
    }
    for (size_t p = 0; p < k32; p += DIRECT_CHUNK) {
        __m512i pairs[DIRECT_VECTORS][DIRECT_LANES];
        for (size_t v = 0; v < DIRECT_VECTORS; v++) {
            for (size_t r = 0; r < DIRECT_LANES; r++) {
                const float *row = a + (i0 + v * DIRECT_LANES + r) * lda + p;
                /* 64 rows a cache line each: the prefetchers follow few such streams */
                if (r < rows[v] && p + 2 * DIRECT_CHUNK < k32) {
                    _mm_prefetch((const char *)(row + 2 * DIRECT_CHUNK), _MM_HINT_T0);
                    _mm_prefetch((const char *)(row + 2 * DIRECT_CHUNK + 16), _MM_HINT_T0);
                }
                pairs[v][r] = r < rows[v] ? (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(row + 16),
                                                                         _mm512_loadu_ps(row))
                                          : _mm512_setzero_si512();
            }
            transpose_16x16_bits(pairs[v]);
        }
        for (size_t q = 0; q < DIRECT_LANES; q++) {
            const __m512bh bq = (__m512bh)_mm512_set1_epi32(
                (int)pair_bits(b_column[(p + 2 * q) * b_step], b_column[(p + 2 * q + 1) * b_step]));
            for (size_t v = 0; v < DIRECT_VECTORS; v++)
                acc[v] = _mm512_dpbf16_ps(acc[v], (__m512bh)pairs[v][q], bq);
        }
    }
    for (size_t v = 0; v < DIRECT_VECTORS; v++) {
        float sums[DIRECT_LANES];
        _mm512_storeu_ps(sums, acc[v]);
        for (size_t r = 0; r < rows[v]; r++) c[(i0 + v * DIRECT_LANES + r) * ldc + j] = sums[r];
    }
}

/* isa.h's gemm_direct_bf16 on vdpbf16ps for the rows form with non-transposed A (n narrower than a
 * vector, m longer: a one-unit head's forward product), K's first multiple of 32; the rest of K
 * and every other form go to the row's emulation, which continues from C (the accumulator is a
 * float either way, and flushed). */
static void direct_bf16_avx512bf16(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k,
                                   const float *a, size_t lda, const float *b, size_t ldb, const float *bias,
                                   bool accumulate, float *c, size_t ldc) {
    const size_t k32 = k / DIRECT_CHUNK * DIRECT_CHUNK;
    if (transpose_a || n >= DIRECT_LANES || m <= n || k32 == 0) {
        bnmlp_gemm_direct_bf16_avx512(transpose_a, transpose_b, m, n, k, a, lda, b, ldb, bias, accumulate, c,
                                      ldc);
        return;
    }
    const size_t b_step = transpose_b ? 1 : ldb;
    for (size_t j = 0; j < n; j++) {
        const float *b_column = transpose_b ? b + j * ldb : b + j;
        for (size_t i0 = 0; i0 < m; i0 += DIRECT_BLOCK)
            direct_rows_block(i0, min_size(DIRECT_BLOCK, m - i0), j, k32, a, lda, b_column, b_step, bias,
                              accumulate, c, ldc);
    }
    if (k32 < k)
        bnmlp_gemm_direct_bf16_avx512(false, transpose_b, m, n, k - k32, a + k32, lda,
                                      transpose_b ? b + k32 : b + k32 * ldb, ldb, NULL, true, c, ldc);
}

static bool avx512bf16_available(void) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512vl") ||
        !__builtin_cpu_supports("avx512bw"))
        return false;
    /* CPUID leaf 7 sub-leaf 1, EAX bit 5: AVX512_BF16 (the OS's zmm state is implied above). */
    unsigned eax, ebx, ecx, edx;
    return __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) && (eax & (1u << 5));
}

static const bnmlp_bf16_native avx512bf16_set = {
    .name = "avx512bf16",
    .micro_kernel = bnmlp_gemm_micro_bf16_avx512bf16,
    .pack_interleaved = pack_interleaved_avx512bf16,
    .pack_rows = pack_rows_avx512bf16,
    .gemm_direct = direct_bf16_avx512bf16,
};

const bnmlp_bf16_native *bnmlp_bf16_native_avx512bf16(void) {
    return avx512bf16_available() ? &avx512bf16_set : NULL;
}

#endif /* __x86_64__ */
