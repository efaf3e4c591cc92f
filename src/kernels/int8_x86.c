/*
 * int8_x86.c - the x86 int8 kernel sets (int8.h): AVX512-VNNI (vpdpbusd on zmm, an 8-row by
 * 32-column tile), AVX-VNNI (vpdpbusd on ymm, 6 by 16) and AVX2 (vpmaddubsw, 4 by 16).
 *
 * vpdpbusd multiplies unsigned by signed bytes: the VNNI sets store each code plus 128 (the
 * code's byte with its top bit flipped) and subtract the packed compensation 128 sum_k w[k][j]
 * before the store. vpmaddubsw adds two u8 x s8 products into a saturating int16: the AVX2 set
 * multiplies |q| (<= 127) by w with q's sign applied (vpsignb; still in [-127, 127]), so a pair
 * is at most 2 * 127 * 127 = 32258 < 32767 and never saturates; vpmaddwd by ones then adds the
 * pairs into int32. Every set's sums are the exact integer sums, so every set gives the same
 * bits. Each quantizer does the float operations of bnmlp_int8_code in the same order.
 *
 * Compiled through target attributes (no global flags); each set runs only after the CPU has
 * reported its extensions. x86-64 only.
 */
#include "kernels/int8.h"

#include <stdatomic.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

#define ROUNDER 12582912.0f

/* ---- CPU tests --------------------------------------------------------------------------------- */

/* CPUID leaf 7: sub-leaf 0's ecx and sub-leaf 1's eax (0 when the CPU lacks the leaf). */
static void leaf7(unsigned *ecx0, unsigned *eax1) {
    unsigned a, b, c, d;
    *ecx0 = *eax1 = 0;
    if (__get_cpuid_max(0, NULL) < 7) return;
    __cpuid_count(7, 0, a, b, c, d);
    *ecx0 = c;
    const unsigned max_sub = a;
    if (max_sub >= 1) {
        __cpuid_count(7, 1, a, b, c, d);
        *eax1 = a;
    }
}

static bool avx2_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* The CPU's answers, asked once (every forward of an int8 layer picks its set): bit 0 known,
 * bit 1 AVX-VNNI, bit 2 AVX512-VNNI (with AVX-512 F, BW, VL). Threads that race store the same
 * value. */
static _Atomic unsigned cpu_answers;

static unsigned answers(void) {
    unsigned known = cpu_answers;
    if (known & 1u) return known;
    unsigned ecx0, eax1;
    leaf7(&ecx0, &eax1);
    __builtin_cpu_init();
    const bool avx2 = avx2_available();
    /* AVX-VNNI: CPUID.(7, 1).EAX bit 4; AVX512-VNNI: CPUID.(7, 0).ECX bit 11; the OS's state
     * through AVX2's and AVX-512's own tests. */
    const bool avxvnni = avx2 && (eax1 >> 4 & 1u);
    const bool avx512vnni = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                            __builtin_cpu_supports("avx512vl") && (ecx0 >> 11 & 1u);
    known = 1u | (avxvnni ? 2u : 0u) | (avx512vnni ? 4u : 0u);
    cpu_answers = known;
    return known;
}

static bool avxvnni_available(void) { return (answers() & 2u) != 0; }

static bool avx512vnni_available(void) { return (answers() & 4u) != 0; }

/* Four bytes of codes as one int32 (for the broadcast). */
static inline int32_t four(const uint8_t *q) {
    int32_t v;
    memcpy(&v, q, sizeof v);
    return v;
}

/* ---- AVX2 quantizer (the AVX-VNNI and AVX2 sets) ------------------------------------------------- */

#define T_AVX2 __attribute__((target("avx2,fma")))

/* 8 codes of x, as int32 lanes. */
static inline T_AVX2 __m256i codes8(__m256 x, __m256 inv) {
    __m256 v = _mm256_mul_ps(x, inv);
    v = _mm256_max_ps(v, _mm256_set1_ps(-127.0f));
    v = _mm256_min_ps(v, _mm256_set1_ps(127.0f));
    v = _mm256_sub_ps(_mm256_add_ps(v, _mm256_set1_ps(ROUNDER)), _mm256_set1_ps(ROUNDER));
    return _mm256_cvttps_epi32(v);
}

/* The codes of a row (in floats into depth bytes), each byte xor flip. */
static inline T_AVX2 void quantize_row_avx2(uint8_t *q, size_t depth, const float *x, size_t in,
                                            float inv_scale, uint8_t flip) {
    const __m256 inv = _mm256_set1_ps(inv_scale);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    const __m256i flips = _mm256_set1_epi8((char)flip);
    size_t k = 0;
    for (; k + 32 <= in; k += 32) {
        const __m256i c0 = codes8(_mm256_loadu_ps(x + k), inv), c1 = codes8(_mm256_loadu_ps(x + k + 8), inv);
        const __m256i c2 = codes8(_mm256_loadu_ps(x + k + 16), inv);
        const __m256i c3 = codes8(_mm256_loadu_ps(x + k + 24), inv);
        const __m256i w01 = _mm256_packs_epi32(c0, c1), w23 = _mm256_packs_epi32(c2, c3);
        __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(w01, w23), order);
        _mm256_storeu_si256((__m256i *)(q + k), _mm256_xor_si256(bytes, flips));
    }
    for (; k < in; k++) q[k] = (uint8_t)((uint8_t)bnmlp_int8_code(x[k], inv_scale) ^ flip);
    for (; k < depth; k++) q[k] = flip;
}

static T_AVX2 void quantize_avx2(uint8_t *q, size_t depth, const float *x, size_t ldx, size_t rows, size_t in,
                                 float inv_scale) {
    for (size_t i = 0; i < rows; i++) quantize_row_avx2(q + i * depth, depth, x + i * ldx, in, inv_scale, 0);
}

static T_AVX2 void quantize_avxvnni(uint8_t *q, size_t depth, const float *x, size_t ldx, size_t rows,
                                    size_t in, float inv_scale) {
    for (size_t i = 0; i < rows; i++)
        quantize_row_avx2(q + i * depth, depth, x + i * ldx, in, inv_scale, 0x80);
}

/* ---- the ymm store (AVX-VNNI and AVX2) ------------------------------------------------------------- */

/* y[0, width) of 8 columns from acc (8 int32): fma((float)(acc - comp), scale, bias). */
static inline T_AVX2 void store8(float *y, __m256i acc, const int32_t *comp, const float *scale,
                                 const float *bias, size_t width) {
    acc = _mm256_sub_epi32(acc, _mm256_loadu_si256((const __m256i *)comp));
    const __m256 v = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc), _mm256_loadu_ps(scale), _mm256_loadu_ps(bias));
    if (width >= 8) {
        _mm256_storeu_ps(y, v);
    } else if (width > 0) {
        const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)width), lanes);
        _mm256_maskstore_ps(y, mask, v);
    }
}

/* The tile's store of row r: 16 columns from acc0, acc1; comp (zeros for the signed set). */
#define STORE_ROW16(r, acc0, acc1)                                                                           \
    do {                                                                                                     \
        float *y_row = y + (r)*ldy;                                                                          \
        store8(y_row, acc0, comp, scale, bias, width);                                                       \
        store8(y_row + 8, acc1, comp + 8, scale + 8, bias + 8, width > 8 ? width - 8 : 0);                   \
    } while (0)

/* ---- AVX2: vpmaddubsw with the sign trick ---------------------------------------------------------- */

/* rows (1 to 4) rows of q by one panel. */
static inline __attribute__((always_inline)) T_AVX2 void
tile_avx2(const uint8_t *q, size_t depth, const int8_t *panel, size_t rows, const int32_t *comp,
          const float *scale, const float *bias, size_t width, float *y, size_t ldy) {
    __m256i acc[4][2];
    const __m256i ones = _mm256_set1_epi16(1);
#pragma GCC unroll 4
    for (size_t r = 0; r < 4; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    for (size_t g = 0; g < depth / 4; g++) {
        const __m256i b0 = _mm256_load_si256((const __m256i *)(panel + g * 64));
        const __m256i b1 = _mm256_load_si256((const __m256i *)(panel + g * 64 + 32));
#pragma GCC unroll 4
        for (size_t r = 0; r < 4; r++) {
            if (r >= rows) break;
            const __m256i a = _mm256_set1_epi32(four(q + r * depth + 4 * g));
            const __m256i magnitude = _mm256_abs_epi8(a);
            const __m256i p0 = _mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(b0, a));
            const __m256i p1 = _mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(b1, a));
            acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(p0, ones));
            acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(p1, ones));
        }
    }
#pragma GCC unroll 4
    for (size_t r = 0; r < 4; r++) {
        if (r >= rows) break;
        STORE_ROW16(r, acc[r][0], acc[r][1]);
    }
}

static T_AVX2 void gemm_avx2(const uint8_t *q, size_t rows, const bnmlp_int8_weights *w, size_t first,
                             size_t last, float *y, size_t ldy) {
    static const int32_t zeros[BNMLP_INT8_PANEL] = {0};
    const size_t depth = w->depth;
    for (size_t p = first; p < last; p++) {
        const size_t j0 = p * BNMLP_INT8_PANEL;
        const size_t width = w->out - j0 < BNMLP_INT8_PANEL ? w->out - j0 : BNMLP_INT8_PANEL;
        const int8_t *panel = w->panels + p * depth * BNMLP_INT8_PANEL;
        for (size_t i = 0; i < rows; i += 4) {
            const size_t n = rows - i < 4 ? rows - i : 4;
            const uint8_t *a = q + i * depth;
            float *yi = y + i * ldy + j0;
            switch (n) {
            case 4: tile_avx2(a, depth, panel, 4, zeros, w->scale + j0, w->bias + j0, width, yi, ldy); break;
            case 3: tile_avx2(a, depth, panel, 3, zeros, w->scale + j0, w->bias + j0, width, yi, ldy); break;
            case 2: tile_avx2(a, depth, panel, 2, zeros, w->scale + j0, w->bias + j0, width, yi, ldy); break;
            default: tile_avx2(a, depth, panel, 1, zeros, w->scale + j0, w->bias + j0, width, yi, ldy); break;
            }
        }
    }
}

/* ---- AVX-VNNI: vpdpbusd on ymm ----------------------------------------------------------------------- */

#define T_AVXVNNI __attribute__((target("avx2,fma,avxvnni")))

/* c + the sums of four u8 x s8 products per lane (VEX vpdpbusd), accumulated in place: as
 * dpbusd512 below, GCC 12 copies the untied accumulator of _mm256_dpbusd_avx_epi32 around every
 * instruction, here through the stack. The same instruction, the same bits. */
static inline T_AVXVNNI __m256i dpbusd256(__m256i c, __m256i a, __m256i b) {
#if defined(__GNUC__) && !defined(__clang__)
    __asm__("%{vex%} vpdpbusd %2, %1, %0" : "+x"(c) : "x"(a), "x"(b));
    return c;
#else
    return _mm256_dpbusd_avx_epi32(c, a, b);
#endif
}

/* rows (1 to 6) rows of q (codes + 128) by one panel. */
static inline __attribute__((always_inline)) T_AVXVNNI void
tile_avxvnni(const uint8_t *q, size_t depth, const int8_t *panel, size_t rows, const int32_t *comp,
             const float *scale, const float *bias, size_t width, float *y, size_t ldy) {
    __m256i acc[6][2];
#pragma GCC unroll 6
    for (size_t r = 0; r < 6; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    for (size_t g = 0; g < depth / 4; g++) {
        const __m256i b0 = _mm256_load_si256((const __m256i *)(panel + g * 64));
        const __m256i b1 = _mm256_load_si256((const __m256i *)(panel + g * 64 + 32));
#pragma GCC unroll 6
        for (size_t r = 0; r < 6; r++) {
            if (r >= rows) break;
            const __m256i a = _mm256_set1_epi32(four(q + r * depth + 4 * g));
            acc[r][0] = dpbusd256(acc[r][0], a, b0);
            acc[r][1] = dpbusd256(acc[r][1], a, b1);
        }
    }
#pragma GCC unroll 6
    for (size_t r = 0; r < 6; r++) {
        if (r >= rows) break;
        STORE_ROW16(r, acc[r][0], acc[r][1]);
    }
}

static T_AVXVNNI void gemm_avxvnni(const uint8_t *q, size_t rows, const bnmlp_int8_weights *w, size_t first,
                                   size_t last, float *y, size_t ldy) {
    const size_t depth = w->depth;
    for (size_t p = first; p < last; p++) {
        const size_t j0 = p * BNMLP_INT8_PANEL;
        const size_t width = w->out - j0 < BNMLP_INT8_PANEL ? w->out - j0 : BNMLP_INT8_PANEL;
        const int8_t *panel = w->panels + p * depth * BNMLP_INT8_PANEL;
        const int32_t *comp = w->compensation + j0;
        for (size_t i = 0; i < rows; i += 6) {
            const size_t n = rows - i < 6 ? rows - i : 6;
            const uint8_t *a = q + i * depth;
            float *yi = y + i * ldy + j0;
            const float *s = w->scale + j0, *b = w->bias + j0;
            switch (n) {
            case 6: tile_avxvnni(a, depth, panel, 6, comp, s, b, width, yi, ldy); break;
            case 5: tile_avxvnni(a, depth, panel, 5, comp, s, b, width, yi, ldy); break;
            case 4: tile_avxvnni(a, depth, panel, 4, comp, s, b, width, yi, ldy); break;
            case 3: tile_avxvnni(a, depth, panel, 3, comp, s, b, width, yi, ldy); break;
            case 2: tile_avxvnni(a, depth, panel, 2, comp, s, b, width, yi, ldy); break;
            default: tile_avxvnni(a, depth, panel, 1, comp, s, b, width, yi, ldy); break;
            }
        }
    }
}

/* ---- AVX512-VNNI: vpdpbusd on zmm --------------------------------------------------------------------- */

#define T_AVX512 __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl,avx512vnni")))

/* c + the sums of four u8 x s8 products per lane (vpdpbusd), accumulated in place. GCC 12
 * compiles _mm512_dpbusd_epi32 with the accumulator untied from the result: in the tiles' loops it
 * copies every accumulator to another register before each vpdpbusd and back after it (about
 * twice the loop's instructions, and a spill). The asm ties it; the same instruction, the same
 * bits. Measured on Zen 5: the big MLP's int8 inference 1.27 -> 1.00 ms. */
static inline T_AVX512 __m512i dpbusd512(__m512i c, __m512i a, __m512i b) {
#if defined(__GNUC__) && !defined(__clang__)
    __asm__("vpdpbusd %2, %1, %0" : "+v"(c) : "v"(a), "v"(b));
    return c;
#else
    return _mm512_dpbusd_epi32(c, a, b);
#endif
}

/* The codes of a row (in floats into depth bytes), + 128. */
static T_AVX512 void quantize_avx512vnni(uint8_t *q, size_t depth, const float *x, size_t ldx, size_t rows,
                                         size_t in, float inv_scale) {
    const __m512 inv = _mm512_set1_ps(inv_scale), low = _mm512_set1_ps(-127.0f),
                 high = _mm512_set1_ps(127.0f);
    const __m512 rounder = _mm512_set1_ps(ROUNDER);
    const __m128i flip = _mm_set1_epi8((char)0x80);
    for (size_t i = 0; i < rows; i++) {
        const float *xi = x + i * ldx;
        uint8_t *qi = q + i * depth;
        for (size_t k = 0; k < depth; k += 16) {
            const size_t loaded = in > k ? (in - k < 16 ? in - k : 16) : 0;
            const size_t stored = depth - k < 16 ? depth - k : 16;
            const __mmask16 load_mask = (__mmask16)((1u << loaded) - 1u);
            const __mmask16 store_mask = (__mmask16)((1u << stored) - 1u);
            __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(load_mask, xi + k), inv);
            v = _mm512_max_ps(v, low);
            v = _mm512_min_ps(v, high);
            v = _mm512_sub_ps(_mm512_add_ps(v, rounder), rounder);
            const __m128i bytes = _mm_xor_si128(_mm512_cvtsepi32_epi8(_mm512_cvttps_epi32(v)), flip);
            _mm_mask_storeu_epi8(qi + k, store_mask, bytes);
        }
    }
}

/* y[0, width) of 16 columns from acc: fma((float)(acc - comp), scale, bias). */
static inline T_AVX512 void store16(float *y, __m512i acc, const int32_t *comp, const float *scale,
                                    const float *bias, size_t width) {
    acc = _mm512_sub_epi32(acc, _mm512_load_si512(comp));
    const __m512 v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), _mm512_load_ps(scale), _mm512_load_ps(bias));
    if (width >= 16)
        _mm512_storeu_ps(y, v);
    else if (width > 0)
        _mm512_mask_storeu_ps(y, (__mmask16)((1u << width) - 1u), v);
}

/* rows (1 to 8) rows of q (codes + 128) by panels (1 or 2) panels from panel. */
static inline __attribute__((always_inline)) T_AVX512 void
tile_avx512vnni(const uint8_t *q, size_t depth, const int8_t *panel, size_t rows, size_t panels,
                const int32_t *comp, const float *scale, const float *bias, size_t width, float *y,
                size_t ldy) {
    __m512i acc[8][2];
    const size_t stride = depth * BNMLP_INT8_PANEL;
#pragma GCC unroll 8
    for (size_t r = 0; r < 8; r++) acc[r][0] = acc[r][1] = _mm512_setzero_si512();
    const uint8_t *a = q;
    const int8_t *b = panel;
    for (size_t g = 0; g < depth / 4; g++, a += 4, b += 64) {
        const __m512i b0 = _mm512_load_si512(b);
        const __m512i b1 = panels > 1 ? _mm512_load_si512(b + stride) : b0;
#pragma GCC unroll 8
        for (size_t r = 0; r < 8; r++) {
            if (r >= rows) break;
            const __m512i ar = _mm512_set1_epi32(four(a + r * depth));
            acc[r][0] = dpbusd512(acc[r][0], ar, b0);
            if (panels > 1) acc[r][1] = dpbusd512(acc[r][1], ar, b1);
        }
    }
#pragma GCC unroll 8
    for (size_t r = 0; r < 8; r++) {
        if (r >= rows) break;
        float *y_row = y + r * ldy;
        store16(y_row, acc[r][0], comp, scale, bias, width < 16 ? width : 16);
        if (panels > 1) store16(y_row + 16, acc[r][1], comp + 16, scale + 16, bias + 16, width - 16);
    }
}

/* The full tile: 8 rows of q (codes + 128) by the two panels from panel, 16 zmm accumulators
 * named one by one (an array of them is not kept in registers by every compiler). */
static T_AVX512 void tile_avx512vnni_full(const uint8_t *q, size_t depth, const int8_t *panel,
                                          const int32_t *comp, const float *scale, const float *bias,
                                          size_t width, float *y, size_t ldy) {
    __m512i c00 = _mm512_setzero_si512(), c01 = _mm512_setzero_si512();
    __m512i c10 = _mm512_setzero_si512(), c11 = _mm512_setzero_si512();
    __m512i c20 = _mm512_setzero_si512(), c21 = _mm512_setzero_si512();
    __m512i c30 = _mm512_setzero_si512(), c31 = _mm512_setzero_si512();
    __m512i c40 = _mm512_setzero_si512(), c41 = _mm512_setzero_si512();
    __m512i c50 = _mm512_setzero_si512(), c51 = _mm512_setzero_si512();
    __m512i c60 = _mm512_setzero_si512(), c61 = _mm512_setzero_si512();
    __m512i c70 = _mm512_setzero_si512(), c71 = _mm512_setzero_si512();
    const size_t stride = depth * BNMLP_INT8_PANEL;
    const uint8_t *a0 = q, *a1 = q + depth, *a2 = q + 2 * depth, *a3 = q + 3 * depth;
    const uint8_t *a4 = q + 4 * depth, *a5 = q + 5 * depth, *a6 = q + 6 * depth, *a7 = q + 7 * depth;
    const int8_t *b = panel;
/* Row r of the tile: its four codes times both panels' group. */
#define VNNI_ROW(r)                                                                                          \
    do {                                                                                                     \
        const __m512i ar = _mm512_set1_epi32(four(a##r + 4 * g));                                            \
        c##r##0 = dpbusd512(c##r##0, ar, b0);                                                                \
        c##r##1 = dpbusd512(c##r##1, ar, b1);                                                                \
    } while (0)
    for (size_t g = 0; g < depth / 4; g++, b += 64) {
        const __m512i b0 = _mm512_load_si512(b), b1 = _mm512_load_si512(b + stride);
        VNNI_ROW(0);
        VNNI_ROW(1);
        VNNI_ROW(2);
        VNNI_ROW(3);
        VNNI_ROW(4);
        VNNI_ROW(5);
        VNNI_ROW(6);
        VNNI_ROW(7);
    }
#undef VNNI_ROW
#define VNNI_STORE(r)                                                                                        \
    do {                                                                                                     \
        store16(y + (r)*ldy, c##r##0, comp, scale, bias, 16);                                                \
        store16(y + (r)*ldy + 16, c##r##1, comp + 16, scale + 16, bias + 16, width - 16);                    \
    } while (0)
    VNNI_STORE(0);
    VNNI_STORE(1);
    VNNI_STORE(2);
    VNNI_STORE(3);
    VNNI_STORE(4);
    VNNI_STORE(5);
    VNNI_STORE(6);
    VNNI_STORE(7);
#undef VNNI_STORE
}

/* 8 rows of q (codes + 128) by one panel (the last of an odd count, e.g. a 1-unit layer): 8 zmm
 * accumulators named one by one, two groups a step for independent chains. */
static T_AVX512 void tile_avx512vnni_one(const uint8_t *q, size_t depth, const int8_t *panel,
                                         const int32_t *comp, const float *scale, const float *bias,
                                         size_t width, float *y, size_t ldy) {
    __m512i c0 = _mm512_setzero_si512(), c1 = _mm512_setzero_si512(), c2 = _mm512_setzero_si512();
    __m512i c3 = _mm512_setzero_si512(), c4 = _mm512_setzero_si512(), c5 = _mm512_setzero_si512();
    __m512i c6 = _mm512_setzero_si512(), c7 = _mm512_setzero_si512();
    const uint8_t *a0 = q, *a1 = q + depth, *a2 = q + 2 * depth, *a3 = q + 3 * depth;
    const uint8_t *a4 = q + 4 * depth, *a5 = q + 5 * depth, *a6 = q + 6 * depth, *a7 = q + 7 * depth;
    const int8_t *b = panel;
#define VNNI_ONE(r) c##r = dpbusd512(c##r, _mm512_set1_epi32(four(a##r + 4 * g)), b0)
    for (size_t g = 0; g < depth / 4; g++, b += 64) {
        const __m512i b0 = _mm512_load_si512(b);
        VNNI_ONE(0);
        VNNI_ONE(1);
        VNNI_ONE(2);
        VNNI_ONE(3);
        VNNI_ONE(4);
        VNNI_ONE(5);
        VNNI_ONE(6);
        VNNI_ONE(7);
    }
#undef VNNI_ONE
    store16(y, c0, comp, scale, bias, width);
    store16(y + ldy, c1, comp, scale, bias, width);
    store16(y + 2 * ldy, c2, comp, scale, bias, width);
    store16(y + 3 * ldy, c3, comp, scale, bias, width);
    store16(y + 4 * ldy, c4, comp, scale, bias, width);
    store16(y + 5 * ldy, c5, comp, scale, bias, width);
    store16(y + 6 * ldy, c6, comp, scale, bias, width);
    store16(y + 7 * ldy, c7, comp, scale, bias, width);
}

/* 4 rows of q (codes + 128) by four panels (64 columns): 16 zmm accumulators, one broadcast of
 * a row's codes feeding four vpdpbusd (the 8-row tile's feeds two). */
static T_AVX512 void tile_avx512vnni_wide(const uint8_t *q, size_t depth, const int8_t *panel,
                                          const int32_t *comp, const float *scale, const float *bias,
                                          size_t width, float *y, size_t ldy) {
    __m512i c00 = _mm512_setzero_si512(), c01 = _mm512_setzero_si512(), c02 = _mm512_setzero_si512();
    __m512i c03 = _mm512_setzero_si512(), c10 = _mm512_setzero_si512(), c11 = _mm512_setzero_si512();
    __m512i c12 = _mm512_setzero_si512(), c13 = _mm512_setzero_si512(), c20 = _mm512_setzero_si512();
    __m512i c21 = _mm512_setzero_si512(), c22 = _mm512_setzero_si512(), c23 = _mm512_setzero_si512();
    __m512i c30 = _mm512_setzero_si512(), c31 = _mm512_setzero_si512(), c32 = _mm512_setzero_si512();
    __m512i c33 = _mm512_setzero_si512();
    const size_t stride = depth * BNMLP_INT8_PANEL;
    const uint8_t *a0 = q, *a1 = q + depth, *a2 = q + 2 * depth, *a3 = q + 3 * depth;
    const int8_t *b = panel;
#define VNNI_WIDE(r)                                                                                         \
    do {                                                                                                     \
        const __m512i ar = _mm512_set1_epi32(four(a##r + 4 * g));                                            \
        c##r##0 = dpbusd512(c##r##0, ar, b0);                                                                \
        c##r##1 = dpbusd512(c##r##1, ar, b1);                                                                \
        c##r##2 = dpbusd512(c##r##2, ar, b2);                                                                \
        c##r##3 = dpbusd512(c##r##3, ar, b3);                                                                \
    } while (0)
    for (size_t g = 0; g < depth / 4; g++, b += 64) {
        const __m512i b0 = _mm512_load_si512(b), b1 = _mm512_load_si512(b + stride);
        const __m512i b2 = _mm512_load_si512(b + 2 * stride), b3 = _mm512_load_si512(b + 3 * stride);
        VNNI_WIDE(0);
        VNNI_WIDE(1);
        VNNI_WIDE(2);
        VNNI_WIDE(3);
    }
#undef VNNI_WIDE
#define VNNI_STORE(r)                                                                                        \
    do {                                                                                                     \
        store16(y + (r)*ldy, c##r##0, comp, scale, bias, 16);                                                \
        store16(y + (r)*ldy + 16, c##r##1, comp + 16, scale + 16, bias + 16, 16);                            \
        store16(y + (r)*ldy + 32, c##r##2, comp + 32, scale + 32, bias + 32, 16);                            \
        store16(y + (r)*ldy + 48, c##r##3, comp + 48, scale + 48, bias + 48, width - 48);                    \
    } while (0)
    VNNI_STORE(0);
    VNNI_STORE(1);
    VNNI_STORE(2);
    VNNI_STORE(3);
#undef VNNI_STORE
}

/* One block of up to 8 rows by panels (1 or 2) panels: the tile with constant sizes. */
#define TILE512(n, panels_) tile_avx512vnni(a, depth, panel, n, panels_, comp, s, b, width, yi, ldy)

static T_AVX512 void gemm_avx512vnni(const uint8_t *q, size_t rows, const bnmlp_int8_weights *w, size_t first,
                                     size_t last, float *y, size_t ldy) {
    const size_t depth = w->depth;
    size_t p = first;
    for (; p + 4 <= last; p += 4) { /* four panels: 4-row tiles, then the rows left in 8-row ones */
        const size_t j0 = p * BNMLP_INT8_PANEL;
        const size_t width = w->out - j0 < 64 ? w->out - j0 : 64;
        const int8_t *panel = w->panels + p * depth * BNMLP_INT8_PANEL;
        const int32_t *comp = w->compensation + j0;
        const float *s = w->scale + j0, *b = w->bias + j0;
        size_t i = 0;
        for (; i + 4 <= rows; i += 4)
            tile_avx512vnni_wide(q + i * depth, depth, panel, comp, s, b, width, y + i * ldy + j0, ldy);
        for (size_t half = 0; i < rows && half < 2; half++) {
            const size_t n = rows - i, jh = j0 + 32 * half;
            const size_t wh = w->out - jh < 32 ? w->out - jh : 32;
            const uint8_t *a = q + i * depth;
            const int8_t *ph = panel + 2 * half * depth * BNMLP_INT8_PANEL;
            float *yi = y + i * ldy + jh;
            switch (n) {
            case 3:
                tile_avx512vnni(a, depth, ph, 3, 2, comp + 32 * half, s + 32 * half, b + 32 * half, wh, yi,
                                ldy);
                break;
            case 2:
                tile_avx512vnni(a, depth, ph, 2, 2, comp + 32 * half, s + 32 * half, b + 32 * half, wh, yi,
                                ldy);
                break;
            default:
                tile_avx512vnni(a, depth, ph, 1, 2, comp + 32 * half, s + 32 * half, b + 32 * half, wh, yi,
                                ldy);
                break;
            }
        }
    }
    for (; p < last; p += 2) {
        const size_t panels = p + 1 < last ? 2 : 1;
        const size_t j0 = p * BNMLP_INT8_PANEL;
        const size_t cols = panels * BNMLP_INT8_PANEL;
        const size_t width = w->out - j0 < cols ? w->out - j0 : cols;
        const int8_t *panel = w->panels + p * depth * BNMLP_INT8_PANEL;
        const int32_t *comp = w->compensation + j0;
        const float *s = w->scale + j0, *b = w->bias + j0;
        for (size_t i = 0; i < rows; i += 8) {
            const size_t n = rows - i < 8 ? rows - i : 8;
            const uint8_t *a = q + i * depth;
            float *yi = y + i * ldy + j0;
            if (panels == 2) {
                switch (n) {
                case 8: tile_avx512vnni_full(a, depth, panel, comp, s, b, width, yi, ldy); break;
                case 7: TILE512(7, 2); break;
                case 6: TILE512(6, 2); break;
                case 5: TILE512(5, 2); break;
                case 4: TILE512(4, 2); break;
                case 3: TILE512(3, 2); break;
                case 2: TILE512(2, 2); break;
                default: TILE512(1, 2); break;
                }
            } else {
                switch (n) {
                case 8: tile_avx512vnni_one(a, depth, panel, comp, s, b, width, yi, ldy); break;
                case 7: TILE512(7, 1); break;
                case 6: TILE512(6, 1); break;
                case 5: TILE512(5, 1); break;
                case 4: TILE512(4, 1); break;
                case 3: TILE512(3, 1); break;
                case 2: TILE512(2, 1); break;
                default: TILE512(1, 1); break;
                }
            }
        }
    }
}
#undef TILE512

/* ---- the sets and the rows' choice ------------------------------------------------------------------- */

const bnmlp_int8_kernels bnmlp_int8_avx512vnni = {
    .name = "avx512vnni",
    .available = avx512vnni_available,
    .quantize = quantize_avx512vnni,
    .gemm = gemm_avx512vnni,
};

const bnmlp_int8_kernels bnmlp_int8_avxvnni = {
    .name = "avxvnni",
    .available = avxvnni_available,
    .quantize = quantize_avxvnni,
    .gemm = gemm_avxvnni,
};

const bnmlp_int8_kernels bnmlp_int8_avx2 = {
    .name = "avx2",
    .available = avx2_available,
    .quantize = quantize_avx2,
    .gemm = gemm_avx2,
};

const bnmlp_int8_kernels *bnmlp_int8_for_avx2(void) {
    return avxvnni_available() ? &bnmlp_int8_avxvnni : &bnmlp_int8_avx2;
}

const bnmlp_int8_kernels *bnmlp_int8_for_avx512(void) {
    return avx512vnni_available() ? &bnmlp_int8_avx512vnni : bnmlp_int8_for_avx2();
}

#endif /* __x86_64__ */
