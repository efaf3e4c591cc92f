/*
 * isa_avx512bf16.c - the AVX512_BF16 row of the instruction-set list: the AVX-512 row's float32
 * entries (the same micro-kernel, packers and direct path; the element-wise loops compiled with
 * the same target, so the same bits) plus the bf16 product's micro-kernel on vdpbf16ps itself.
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
BF16_TARGET void bnmlp_gemm_micro_bf16_avx512bf16(size_t pairs, const uint32_t *a, const uint32_t *b,
                                                  float *c, size_t ldc, const float *bias, bool load_c) {
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

/* The element-wise loops: the AVX-512 row's, compiled with the same target (the same code). */
#define ELEMENTWISE_TARGET __attribute__((target("avx2,fma,avx512f,avx512vl")))
#define ELEMENTWISE(name) name##_avx512bf16
#include "kernels/elementwise_body.h"

static bool avx512bf16_available(void) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512vl") ||
        !__builtin_cpu_supports("avx512bw") || !__builtin_cpu_supports("fma"))
        return false;
    /* CPUID leaf 7 sub-leaf 1, EAX bit 5: AVX512_BF16 (the OS's zmm state is implied above). */
    unsigned eax, ebx, ecx, edx;
    return __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) && (eax & (1u << 5));
}

const bnmlp_isa bnmlp_isa_avx512bf16 = {
    .name = "avx512bf16",
    .available = avx512bf16_available,
    .defer_to_slower = bnmlp_isa_avx512_defer_to_slower,
    .mr = BNMLP_GEMM_AVX512_MR,
    .nr = BNMLP_GEMM_AVX512_NR,
    .micro_kernel = bnmlp_gemm_micro_avx512,
    .pack_a = bnmlp_gemm_pack_a_avx2,
    .pack_b_transposed = bnmlp_gemm_pack_b_transposed_avx2,
    .gemm_direct = bnmlp_gemm_direct_avx2,
    .micro_kernel_bf16 = bnmlp_gemm_micro_bf16_avx512bf16,
    ELEMENTWISE_ENTRIES,
};

#endif /* __x86_64__ */
