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
};

const bnmlp_bf16_native *bnmlp_bf16_native_avx512bf16(void) {
    return avx512bf16_available() ? &avx512bf16_set : NULL;
}

#endif /* __x86_64__ */
