/*
 * bf16.c - the bf16 arithmetic in portable C (the reference of every bf16 kernel), the bf16
 * product's naive reference, and the portable row's bf16 micro-kernel.
 */
#include "kernels/bf16.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "kernels/gemm.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

static uint32_t float_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static float bits_float(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

uint16_t bnmlp_bf16_from_float(float x) {
    const uint32_t u = float_bits(x);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u); /* NaN: quieted */
    if ((u & 0x7f800000u) == 0) return (uint16_t)((u >> 16) & 0x8000u);        /* zero, denormal */
    /* Round to nearest even on the 16 bits dropped (overflow carries into infinity). */
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

float bnmlp_bf16_to_float(uint16_t x) { return bits_float((uint32_t)x << 16); }

uint32_t bnmlp_bf16_pair(float lo, float hi) {
    return (uint32_t)bnmlp_bf16_from_float(lo) | (uint32_t)bnmlp_bf16_from_float(hi) << 16;
}

float bnmlp_bf16_flush(float x) { return fabsf(x) < FLT_MIN ? copysignf(0.0f, x) : x; }

float bnmlp_bf16_dot_pair(float acc, uint32_t a, uint32_t b) {
    const float a0 = bnmlp_bf16_flush(bits_float(a << 16)),
                a1 = bnmlp_bf16_flush(bits_float(a & 0xffff0000u));
    const float b0 = bnmlp_bf16_flush(bits_float(b << 16)),
                b1 = bnmlp_bf16_flush(bits_float(b & 0xffff0000u));
    acc = bnmlp_bf16_flush(fmaf(a1, b1, bnmlp_bf16_flush(acc)));
    return bnmlp_bf16_flush(fmaf(a0, b0, acc));
}

#define OP_A(i, p) (transpose_a ? a[(size_t)(p)*lda + (i)] : a[(size_t)(i)*lda + (p)])
#define OP_B(p, j) (transpose_b ? b[(size_t)(j)*ldb + (p)] : b[(size_t)(p)*ldb + (j)])

void bnmlp_gemm_bf16_reference(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k,
                               const float *a, size_t lda, const float *b, size_t ldb, const float *bias,
                               bool accumulate, float *c, size_t ldc) {
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            float acc = accumulate ? c[i * ldc + j] : 0.0f;
            if (bias) acc = acc + bias[j];
            for (size_t p = 0; p < k; p += 2) {
                const uint32_t pa = bnmlp_bf16_pair(OP_A(i, p), p + 1 < k ? OP_A(i, p + 1) : 0.0f);
                const uint32_t pb = bnmlp_bf16_pair(OP_B(p, j), p + 1 < k ? OP_B(p + 1, j) : 0.0f);
                acc = bnmlp_bf16_dot_pair(acc, pa, pb);
            }
            c[i * ldc + j] = acc;
        }
}

void bnmlp_gemm_micro_bf16_portable(size_t pairs, const uint32_t *a, const uint32_t *b, float *c, size_t ldc,
                                    const float *bias, bool load_c) {
    enum { MR = BNMLP_GEMM_PORTABLE_MR, NR = BNMLP_GEMM_PORTABLE_NR };
    float acc[MR][NR];
    for (size_t r = 0; r < MR; r++)
        for (size_t j = 0; j < NR; j++) {
            float s = load_c ? c[r * ldc + j] : 0.0f;
            if (bias) s = s + bias[j];
            acc[r][j] = s;
        }
    for (size_t q = 0; q < pairs; q++, a += MR, b += NR)
        for (size_t r = 0; r < MR; r++)
            for (size_t j = 0; j < NR; j++) acc[r][j] = bnmlp_bf16_dot_pair(acc[r][j], a[r], b[j]);
    for (size_t r = 0; r < MR; r++) memcpy(c + r * ldc, acc[r], sizeof acc[r]);
}

/* ---- the portable row's packers (isa.h: bnmlp_pack_bf16_function) ------------------------------- */

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

void bnmlp_pack_bf16_interleaved_portable(uint32_t *panel, const float *source, size_t ld, size_t depth,
                                          size_t count, size_t width) {
    const size_t pairs = (depth + 1) / 2;
    for (size_t i0 = 0; i0 < count; i0 += width) {
        const size_t used = min_size(width, count - i0);
        uint32_t *target = panel + i0 * pairs;
        for (size_t s = 0; s < pairs; s++) {
            const float *row0 = source + 2 * s * ld + i0;
            const float *row1 = 2 * s + 1 < depth ? row0 + ld : NULL;
            uint32_t *step = target + s * width;
            for (size_t r = 0; r < used; r++) step[r] = bnmlp_bf16_pair(row0[r], row1 ? row1[r] : 0.0f);
            for (size_t r = used; r < width; r++) step[r] = 0;
        }
    }
}

void bnmlp_pack_bf16_rows_portable(uint32_t *panel, const float *source, size_t ld, size_t depth,
                                   size_t count, size_t width) {
    const size_t pairs = (depth + 1) / 2, even = depth / 2;
    for (size_t i0 = 0; i0 < count; i0 += width) {
        const size_t used = min_size(width, count - i0);
        uint32_t *target = panel + i0 * pairs;
        for (size_t r = 0; r < used; r++) {
            const float *row = source + (i0 + r) * ld;
            for (size_t s = 0; s < even; s++)
                target[s * width + r] = bnmlp_bf16_pair(row[2 * s], row[2 * s + 1]);
            if (even < pairs) target[even * width + r] = bnmlp_bf16_pair(row[2 * even], 0.0f);
        }
        for (size_t r = used; r < width; r++)
            for (size_t s = 0; s < pairs; s++) target[s * width + r] = 0;
    }
}
