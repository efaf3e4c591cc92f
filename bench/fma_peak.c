/*
 * fma_peak.c - the ceiling a float32 GEMM can reach on this core, beside what ours reaches.
 *
 * Prints, in GFLOP/s on one thread (medians of several rounds):
 *   peak      12 independent AVX2 FMA chains, register operands only: the core's FP32 FMA rate;
 *   kernel    the library's AVX2 micro-kernel (6x16 tile) on packed panels that stay in L1, its
 *             C tile accumulated in place (what the GEMM runs at with perfect blocking);
 *   gemm      the whole GEMM at the MLP step's largest shape (256x1024x1024, one thread).
 * The gap between peak and kernel is the cost of feeding the FMAs (one broadcast of A per two
 * FMAs, two loads of B per twelve); the gap between kernel and gemm is packing and blocking.
 * x86-64 with AVX2 and FMA only (prints a line and exits 0 elsewhere).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/gemm.h"

#define ROUNDS 7

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int compare_doubles(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n) {
    qsort(v, n, sizeof *v, compare_doubles);
    return v[n / 2];
}

#if defined(__x86_64__)
#include <immintrin.h>

/* Seconds for `iterations` x 12 independent FMAs on 8 floats each (registers only). */
__attribute__((target("avx2,fma"), noinline)) static double fma_chains(long iterations, float *sink) {
    __m256 a0 = _mm256_set1_ps(0.1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
    __m256 a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
    const __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    const double t0 = now();
    for (long i = 0; i < iterations; i++) {
        a0 = _mm256_fmadd_ps(a0, b, c), a1 = _mm256_fmadd_ps(a1, b, c), a2 = _mm256_fmadd_ps(a2, b, c);
        a3 = _mm256_fmadd_ps(a3, b, c), a4 = _mm256_fmadd_ps(a4, b, c), a5 = _mm256_fmadd_ps(a5, b, c);
        a6 = _mm256_fmadd_ps(a6, b, c), a7 = _mm256_fmadd_ps(a7, b, c), a8 = _mm256_fmadd_ps(a8, b, c);
        a9 = _mm256_fmadd_ps(a9, b, c), a10 = _mm256_fmadd_ps(a10, b, c), a11 = _mm256_fmadd_ps(a11, b, c);
        __asm__ volatile("" : "+x"(a0)); /* keep the loop */
    }
    const double seconds = now() - t0;
    const __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                                   _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    const __m256 t = _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11));
    float out[8];
    _mm256_storeu_ps(out, _mm256_add_ps(s, t));
    *sink += out[0];
    return seconds;
}
#endif

int main(int argc, char **argv) {
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "usage: fma_peak (no options)\n");
        return 2;
    }
#if defined(__x86_64__)
    if (!bnmlp_isa_available(bnmlp_isa_find("avx2"))) {
        printf("fma_peak: this CPU has no AVX2 + FMA; nothing to measure\n");
        return 0;
    }
    float sink = 0.0f;
    double rates[ROUNDS];

    const long iterations = 50000000;
    for (size_t r = 0; r < ROUNDS; r++)
        rates[r] = 12.0 * 16.0 * (double)iterations / fma_chains(iterations, &sink) / 1e9;
    printf("peak    %6.1f GFLOP/s  (12 AVX2 FMA chains, registers only)\n", median(rates, ROUNDS));

    /* Packed panels as the GEMM makes them: A (K, 6), B (K, 16), K = the plan's KC. */
    bnmlp_gemm_plan plan;
    if (bnmlp_gemm_plan_init(&plan, bnmlp_isa_find("avx2")) != BNMLP_OK) return 1;
    const size_t k = plan.kc, ldc = 1024;
    float *a = aligned_alloc(64, 6 * k * sizeof(float)), *b = aligned_alloc(64, 16 * k * sizeof(float));
    float *c = aligned_alloc(64, 6 * ldc * sizeof(float));
    if (!a || !b || !c) return 1;
    for (size_t i = 0; i < 6 * k; i++) a[i] = 1e-3f * (float)(i % 7);
    for (size_t i = 0; i < 16 * k; i++) b[i] = 1e-3f * (float)(i % 5);
    memset(c, 0, 6 * ldc * sizeof(float));
    const long calls = 400000000L / (long)(6 * 16 * k);
    for (size_t r = 0; r < ROUNDS; r++) {
        const double t0 = now();
        for (long i = 0; i < calls; i++) plan.micro_kernel(k, a, b, c, ldc, NULL, true);
        rates[r] = 2.0 * 6.0 * 16.0 * (double)k * (double)calls / (now() - t0) / 1e9;
    }
    printf("kernel  %6.1f GFLOP/s  (AVX2 6x16 micro-kernel, K %zu, panels in L1)\n", median(rates, ROUNDS),
           k);
    sink += c[0];

    /* The whole product at the step's largest shape, one thread. */
    const size_t m = 256, n = 1024, depth = 1024;
    float *x = malloc(m * depth * sizeof(float)), *w = malloc(depth * n * sizeof(float));
    float *y = malloc(m * n * sizeof(float));
    const size_t scratch_floats = bnmlp_gemm_scratch_floats(&plan, m, n, depth, 1);
    float *scratch = malloc(scratch_floats * sizeof(float));
    if (!x || !w || !y || !scratch) return 1;
    for (size_t i = 0; i < m * depth; i++) x[i] = 1e-3f * (float)(i % 11);
    for (size_t i = 0; i < depth * n; i++) w[i] = 1e-3f * (float)(i % 13);
    for (size_t r = 0; r < ROUNDS; r++) {
        const double t0 = now();
        for (int i = 0; i < 10; i++)
            bnmlp_gemm(&plan, NULL, scratch, scratch_floats, false, false, m, n, depth, x, depth, w, n, NULL,
                       false, y, n);
        rates[r] = 10.0 * 2.0 * (double)(m * n * depth) / (now() - t0) / 1e9;
    }
    printf("gemm    %6.1f GFLOP/s  (256x1024x1024, one thread)\n", median(rates, ROUNDS));
    sink += y[0];
    printf("(checksum %g)\n", (double)sink);
    free(a), free(b), free(c), free(x), free(w), free(y), free(scratch);
    return 0;
#else
    printf("fma_peak: x86-64 only; nothing to measure\n");
    return 0;
#endif
}
