/*
 * gemm_avx2.c - the AVX2 + FMA micro-kernel: a 6x16 tile of C in 12 ymm accumulators.
 *
 * Compiled for AVX2 through a target attribute (no global -mavx flags); only called after the
 * CPU has reported AVX2 and FMA. x86-64 only.
 */
#include "kernels/gemm.h"

#if defined(__x86_64__)
#include <immintrin.h>

/* c (6, 16), row stride ldc = [c if load_c] + a (6, k packed: 6 floats per k step)
 * . b (k, 16 packed: 16 floats per k step, 32-byte aligned) [+ bias (16)]. */
__attribute__((target("avx2,fma"))) void bnmlp_gemm_micro_avx2(size_t k, const float *a,
                                                               const float *b, float *c,
                                                               size_t ldc, const float *bias,
                                                               bool load_c) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (size_t r = 0; r < 6; r++) _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
    for (size_t r = 0; r < 6; r++) _mm_prefetch((const char *)(c + r * ldc + 15), _MM_HINT_T0);

/* One k step: two 8-wide rows of B times six broadcast elements of A. */
#define AVX2_STEP(a_, b_)                                                   \
    do {                                                                    \
        const __m256 b0 = _mm256_load_ps(b_), b1 = _mm256_load_ps((b_) + 8); \
        __m256 ai = _mm256_broadcast_ss((a_) + 0);                          \
        c00 = _mm256_fmadd_ps(ai, b0, c00);                                 \
        c01 = _mm256_fmadd_ps(ai, b1, c01);                                 \
        ai = _mm256_broadcast_ss((a_) + 1);                                 \
        c10 = _mm256_fmadd_ps(ai, b0, c10);                                 \
        c11 = _mm256_fmadd_ps(ai, b1, c11);                                 \
        ai = _mm256_broadcast_ss((a_) + 2);                                 \
        c20 = _mm256_fmadd_ps(ai, b0, c20);                                 \
        c21 = _mm256_fmadd_ps(ai, b1, c21);                                 \
        ai = _mm256_broadcast_ss((a_) + 3);                                 \
        c30 = _mm256_fmadd_ps(ai, b0, c30);                                 \
        c31 = _mm256_fmadd_ps(ai, b1, c31);                                 \
        ai = _mm256_broadcast_ss((a_) + 4);                                 \
        c40 = _mm256_fmadd_ps(ai, b0, c40);                                 \
        c41 = _mm256_fmadd_ps(ai, b1, c41);                                 \
        ai = _mm256_broadcast_ss((a_) + 5);                                 \
        c50 = _mm256_fmadd_ps(ai, b0, c50);                                 \
        c51 = _mm256_fmadd_ps(ai, b1, c51);                                 \
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

    /* c = (acc [+ c]) [+ bias], row by row. */
    const __m256 bias0 = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
    const __m256 bias1 = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
#define AVX2_STORE(row, v0, v1)                                          \
    do {                                                                 \
        float *c_row = c + (row) * ldc;                                  \
        __m256 s0 = (v0), s1 = (v1);                                     \
        if (load_c) {                                                    \
            s0 = _mm256_add_ps(s0, _mm256_loadu_ps(c_row));              \
            s1 = _mm256_add_ps(s1, _mm256_loadu_ps(c_row + 8));          \
        }                                                                \
        if (bias) {                                                      \
            s0 = _mm256_add_ps(s0, bias0);                               \
            s1 = _mm256_add_ps(s1, bias1);                               \
        }                                                                \
        _mm256_storeu_ps(c_row, s0);                                     \
        _mm256_storeu_ps(c_row + 8, s1);                                 \
    } while (0)
    AVX2_STORE(0, c00, c01);
    AVX2_STORE(1, c10, c11);
    AVX2_STORE(2, c20, c21);
    AVX2_STORE(3, c30, c31);
    AVX2_STORE(4, c40, c41);
    AVX2_STORE(5, c50, c51);
#undef AVX2_STORE
}

#endif /* __x86_64__ */
