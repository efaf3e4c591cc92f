/*
 * isa_avx512.c - the AVX-512 row of the instruction-set list: an 8x32 micro-kernel (16 zmm
 * accumulators), the element-wise loops compiled for AVX-512, the small-width kernels of
 * small_avx512.h (column reductions in zmm blocks, the direct path's rows and columns forms in
 * registers); the packers and the direct path's other forms are AVX2's (every AVX-512 machine
 * has AVX2; measured as fast there).
 *
 * Compiled for AVX-512 F/VL + FMA through target attributes (no global flags); only called
 * after the CPU has reported AVX-512 F and VL. x86-64 only.
 */
#include "kernels/small_avx512.h"
#include "kernels/bn_relu_avx512.h"
#include "kernels/gemm.h"
#include "kernels/isa.h"
#include "kernels/kernels.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#if defined(__x86_64__)
#include <immintrin.h>

/* c (8, 32), row stride ldc = [c if load_c] + a (8, k packed: 8 floats per k step)
 * . b (k, 32 packed: 32 floats per k step, 64-byte aligned) [+ bias (32)]. */
__attribute__((target("avx512f,avx512vl,fma"))) void bnmlp_gemm_micro_avx512(size_t k, const float *a,
                                                                             const float *b, float *c,
                                                                             size_t ldc, const float *bias,
                                                                             bool load_c) {
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps();
    __m512 c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
    __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps();
    __m512 c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
    __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps();
    __m512 c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
    __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps();
    __m512 c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();
    for (size_t r = 0; r < 8; r++) {
        _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + r * ldc + 31), _MM_HINT_T0);
    }

/* Row i of the tile: element i of A's step times both vectors of B, into acc0 and acc1. */
#define AVX512_ROW(a_, i, acc0, acc1)                                                                        \
    do {                                                                                                     \
        const __m512 ai_ = _mm512_set1_ps((a_)[i]);                                                          \
        acc0 = _mm512_fmadd_ps(ai_, b0, acc0);                                                               \
        acc1 = _mm512_fmadd_ps(ai_, b1, acc1);                                                               \
    } while (0)
/* One k step: two 16-wide rows of B times eight broadcast elements of A. */
#define AVX512_STEP(a_, b_)                                                                                  \
    do {                                                                                                     \
        const __m512 b0 = _mm512_load_ps(b_), b1 = _mm512_load_ps((b_) + 16);                                \
        AVX512_ROW(a_, 0, c00, c01);                                                                         \
        AVX512_ROW(a_, 1, c10, c11);                                                                         \
        AVX512_ROW(a_, 2, c20, c21);                                                                         \
        AVX512_ROW(a_, 3, c30, c31);                                                                         \
        AVX512_ROW(a_, 4, c40, c41);                                                                         \
        AVX512_ROW(a_, 5, c50, c51);                                                                         \
        AVX512_ROW(a_, 6, c60, c61);                                                                         \
        AVX512_ROW(a_, 7, c70, c71);                                                                         \
    } while (0)

    size_t p = 0;
    for (; p + 4 <= k; p += 4) {
        _mm_prefetch((const char *)(a + 64), _MM_HINT_T0);
        AVX512_STEP(a, b);
        AVX512_STEP(a + 8, b + 32);
        AVX512_STEP(a + 16, b + 64);
        AVX512_STEP(a + 24, b + 96);
        a += 32;
        b += 128;
    }
    for (; p < k; p++) {
        AVX512_STEP(a, b);
        a += 8;
        b += 32;
    }
#undef AVX512_STEP
#undef AVX512_ROW

    /* c = (acc [+ c]) [+ bias], row by row. */
    const __m512 bias0 = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
    const __m512 bias1 = bias ? _mm512_loadu_ps(bias + 16) : _mm512_setzero_ps();
#define AVX512_STORE(row, v0, v1)                                                                            \
    do {                                                                                                     \
        float *c_row = c + (row)*ldc;                                                                        \
        __m512 s0 = (v0), s1 = (v1);                                                                         \
        if (load_c) {                                                                                        \
            s0 = _mm512_add_ps(s0, _mm512_loadu_ps(c_row));                                                  \
            s1 = _mm512_add_ps(s1, _mm512_loadu_ps(c_row + 16));                                             \
        }                                                                                                    \
        if (bias) {                                                                                          \
            s0 = _mm512_add_ps(s0, bias0);                                                                   \
            s1 = _mm512_add_ps(s1, bias1);                                                                   \
        }                                                                                                    \
        _mm512_storeu_ps(c_row, s0);                                                                         \
        _mm512_storeu_ps(c_row + 16, s1);                                                                    \
    } while (0)
    AVX512_STORE(0, c00, c01);
    AVX512_STORE(1, c10, c11);
    AVX512_STORE(2, c20, c21);
    AVX512_STORE(3, c30, c31);
    AVX512_STORE(4, c40, c41);
    AVX512_STORE(5, c50, c51);
    AVX512_STORE(6, c60, c61);
    AVX512_STORE(7, c70, c71);
#undef AVX512_STORE
}

/* ---- bf16: vdpbf16ps emulated with AVX-512F FMA (bf16.h: the arithmetic) ---------------------- */

/* x with its denormal lanes replaced by zeros of their sign (a masked AND on the bits). */
__attribute__((target("avx512f,avx512vl,fma"))) static inline __m512 flush_avx512(__m512 x) {
    const __m512i bits = _mm512_castps_si512(x);
    const __mmask16 tiny = _mm512_cmplt_epu32_mask(_mm512_and_si512(bits, _mm512_set1_epi32(0x7fffffff)),
                                                   _mm512_set1_epi32(0x00800000));
    return _mm512_castsi512_ps(_mm512_mask_and_epi32(bits, tiny, bits, _mm512_set1_epi32((int)0x80000000u)));
}

/* The float32 of a bf16 held in bits (scalar), flushed when denormal. */
static inline uint32_t flush_bits(uint32_t bits) { return (bits & 0x7f800000u) ? bits : bits & 0x80000000u; }

/* c (8, 32) by bf16 pairs: a (8 pairs a step), b (32 pairs a step, 64-byte aligned); for CPUs
 * without AVX512_BF16. */
__attribute__((target("avx512f,avx512vl,fma"))) void
bnmlp_gemm_micro_bf16_avx512(size_t pairs, const uint32_t *a, const uint32_t *b, float *c, size_t ldc,
                             const float *bias, bool load_c) {
    enum { MR = BNMLP_GEMM_AVX512_MR };
    __m512 acc[MR][2];
    for (size_t r = 0; r < MR; r++)
        for (size_t h = 0; h < 2; h++) {
            __m512 s = load_c ? _mm512_loadu_ps(c + r * ldc + 16 * h) : _mm512_setzero_ps();
            if (bias) s = _mm512_add_ps(s, _mm512_loadu_ps(bias + 16 * h));
            acc[r][h] = flush_avx512(s);
        }
    const __m512i high = _mm512_set1_epi32((int)0xffff0000u);
    for (size_t q = 0; q < pairs; q++, a += MR, b += 32) {
        __m512 b_high[2], b_low[2];
        for (size_t h = 0; h < 2; h++) {
            const __m512i v = _mm512_load_si512(b + 16 * h);
            b_high[h] = flush_avx512(_mm512_castsi512_ps(_mm512_and_si512(v, high)));
            b_low[h] = flush_avx512(_mm512_castsi512_ps(_mm512_slli_epi32(v, 16)));
        }
        for (size_t r = 0; r < MR; r++) {
            const __m512 a_high = _mm512_castsi512_ps(_mm512_set1_epi32((int)flush_bits(a[r] & 0xffff0000u)));
            const __m512 a_low = _mm512_castsi512_ps(_mm512_set1_epi32((int)flush_bits(a[r] << 16)));
            for (size_t h = 0; h < 2; h++) {
                acc[r][h] = flush_avx512(_mm512_fmadd_ps(a_high, b_high[h], acc[r][h]));
                acc[r][h] = flush_avx512(_mm512_fmadd_ps(a_low, b_low[h], acc[r][h]));
            }
        }
    }
    for (size_t r = 0; r < MR; r++)
        for (size_t h = 0; h < 2; h++) _mm512_storeu_ps(c + r * ldc + 16 * h, acc[r][h]);
}

/* The element-wise loops compiled for AVX-512. */
#define ELEMENTWISE_TARGET __attribute__((target("avx2,fma,avx512f,avx512vl")))
#define ELEMENTWISE(name) name##_avx512
/* Its column reductions and batch-norm passes are columns_avx512.c's (blocks of up to 64 features
 * in zmm registers, masked tails). */
#define ELEMENTWISE_BATCHNORM_ENTRIES                                                                        \
    .column_sums = bnmlp_column_sums_avx512, .batchnorm_squares = bnmlp_batchnorm_squares_avx512,            \
    .batchnorm_statistics = bnmlp_batchnorm_statistics_avx512,                                               \
    .batchnorm_normalize = bnmlp_batchnorm_normalize_avx512,                                                 \
    .batchnorm_backward_sums = bnmlp_batchnorm_backward_sums_avx512,                                         \
    .batchnorm_finish_backward = bnmlp_batchnorm_finish_backward_avx512
/* Its batch-norm + ReLU passes are bn_relu_avx512.c's (row-wise runs over wide layers); the
 * frozen layer's input gradient is the generic loop's. */
#define ELEMENTWISE_BN_RELU_ENTRIES                                                                          \
    .batchnorm_normalize_relu = bnmlp_batchnorm_normalize_relu_avx512,                                       \
    .batchnorm_backward_sums_relu = bnmlp_batchnorm_backward_sums_relu_avx512,                               \
    .batchnorm_finish_backward_relu = bnmlp_batchnorm_finish_backward_relu_avx512,                           \
    .batchnorm_inference_gradient_relu = ELEMENTWISE(batchnorm_inference_gradient_relu)
#include "kernels/elementwise_body.h"

static bool avx512_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("fma");
}

/* AMD Zen 4 (family 0x19, the only one of that family with AVX-512) runs AVX-512 on 256-bit
 * units: the same FMA peak as AVX2, and the AVX2 kernel is the one measured there (bench/gemm).
 * Elsewhere (Intel Sapphire Rapids: two 512-bit FMA ports; AMD Zen 5) AVX-512 is preferred. */
static bool avx512_defer_to_slower(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return false;
    /* "AuthenticAMD" in ebx, edx, ecx. */
    const bool amd = ebx == 0x68747541u && edx == 0x69746e65u && ecx == 0x444d4163u;
    if (!amd || !__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
    unsigned family = (eax >> 8) & 0xfu;
    if (family == 0xfu) family += (eax >> 20) & 0xffu;
    __builtin_cpu_init();
    return family == 0x19u && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

const bnmlp_isa bnmlp_isa_avx512 = {
    .name = "avx512",
    .available = avx512_available,
    .defer_to_slower = avx512_defer_to_slower,
    .mr = BNMLP_GEMM_AVX512_MR,
    .nr = BNMLP_GEMM_AVX512_NR,
    .micro_kernel = bnmlp_gemm_micro_avx512,
    .pack_a = bnmlp_gemm_pack_a_avx2,
    .pack_b_transposed = bnmlp_gemm_pack_b_transposed_avx2,
    .gemm_direct = bnmlp_gemm_direct_avx512,
    .micro_kernel_bf16 = bnmlp_gemm_micro_bf16_avx512,
    .gemm_direct_bf16 = bnmlp_gemm_direct_bf16_avx512,
    .bf16_native = bnmlp_bf16_native_avx512bf16,
    ELEMENTWISE_ENTRIES,
    .int8 = bnmlp_int8_for_avx512,
};

#endif /* __x86_64__ */
