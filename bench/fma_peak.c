/*
 * fma_peak.c - the ceilings a product can reach on this core, beside what ours reaches.
 *
 * Prints, in GFLOP/s (int8: GOP/s) on one thread, the best of 9 short rounds, for every
 * instruction set this CPU reports (cpuid and XGETBV: the OS must save the registers too):
 *   peak  portable   12 chains of SSE2 mulps and addps (6 + 6, register operands only): the
 *                    ceiling of the library's portable row (plain C, the x86-64 baseline vectors);
 *   peak  avx2       12 independent ymm FMA chains (vfmadd, 16 flops each);
 *   peak  avx512     16 independent zmm FMA chains (32 flops each);
 *   peak  avx512_bf16  16 zmm vdpbf16ps chains: 16 lanes x 2 bf16 products, each product and
 *                    its addition counted: 64 flops per instruction;
 *   peak  avx512_vnni  16 zmm vpdpbusd chains: 16 lanes x 4 u8*s8 products, 128 int8 ops (a
 *                    multiply and an add each) per instruction;
 *   peak  avx_vnni   12 ymm vpdpbusd (VEX) chains: 64 int8 ops per instruction;
 *   kernel ROW       each available instruction-set row's GEMM micro-kernel (its MR x NR tile) on
 *                    packed panels that stay in L1, its C tile accumulated in place (what the GEMM
 *                    runs at with perfect blocking);
 *   gemm  ROW        the whole GEMM at the MLP step's largest shape (256x1024x1024) with the row
 *                    the library runs (BNMLP_ISA, else the best: what a model created now uses).
 * The gap between peak and kernel is the cost of feeding the FMAs (broadcasts of A, loads of B);
 * the gap between kernel and gemm is packing and blocking.
 *
 * --csv prints isa,kind,gflops,library_isa (kind: fp32_peak, bf16_peak, int8_peak, kernel, gemm;
 * library_isa: the row the library runs, on every line) for bench/run.sh and aggregate.py.
 * --quick: 5 rounds of a third of the work. Full run about 3 s on a quiet Zen 5 core, --quick 1 s. x86-64 only (prints a line and
 * exits 0 elsewhere).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/gemm.h"

#define MAX_ROUNDS 9

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int compare_doubles(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The best of n rounds: a ceiling is what the core can do, and a busy machine (other processes
 * on the same cores) only ever makes a round slower. */
static double best(double *v, size_t n) {
    qsort(v, n, sizeof *v, compare_doubles);
    return v[n - 1];
}

typedef struct options {
    bool csv;
    size_t rounds;
    double work; /* fraction of the default iteration counts */
} options;

/* One result line, in both formats. */
static void report(const options *opt, const char *isa, const char *kind, double gflops, const char *what,
                   const char *library_isa) {
    if (opt->csv) {
        printf("%s,%s,%.2f,%s\n", isa, kind, gflops, library_isa);
    } else {
        const char *unit = strcmp(kind, "int8_peak") == 0 ? "GOP/s  " : "GFLOP/s";
        const char *label = strcmp(kind, "kernel") == 0 ? "kernel"
                            : strcmp(kind, "gemm") == 0 ? "gemm"
                                                        : "peak";
        printf("%-6s %-12s %7.1f %s  (%s)\n", label, isa, gflops, unit, what);
    }
    fflush(stdout);
}

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

/* ---- What the CPU (and the OS) supports -------------------------------------------------- */

typedef struct cpu_features {
    bool baseline; /* SSE2: every x86-64 */
    bool avx2_fma, avx512f, avx512_bf16, avx512_vnni, avx_vnni;
} cpu_features;

static unsigned long long read_xcr0(void) {
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static cpu_features detect(void) {
    cpu_features f = {.baseline = true};
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    const bool fma = c & (1u << 12), osxsave = c & (1u << 27), avx = c & (1u << 28);
    if (!osxsave || !avx) return f;
    const unsigned long long xcr0 = read_xcr0();
    const bool ymm_state = (xcr0 & 0x6) == 0x6, zmm_state = (xcr0 & 0xe6) == 0xe6;
    if (!ymm_state || !__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
    const unsigned int leaf7_ecx = c;
    f.avx2_fma = fma && (b & (1u << 5));
    f.avx512f = zmm_state && (b & (1u << 16));
    f.avx512_vnni = f.avx512f && (leaf7_ecx & (1u << 11));
    if (a >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d)) {
        f.avx_vnni = f.avx2_fma && (a & (1u << 4));
        f.avx512_bf16 = f.avx512f && (a & (1u << 5));
    }
    return f;
}

/* ---- Register-only chains: seconds for `iterations` rounds of N independent instructions ----
 * Each chain feeds its own result back (a dependency), so N must cover latency x pipes. The
 * empty asm keeps the loop (its accumulators are live); the sink keeps the result. */

#define CHAINS12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define CHAINS16(X) CHAINS12(X) X(12) X(13) X(14) X(15)

/* An empty asm that claims to read and change every accumulator: the compiler must compute each
 * chain's every step (clang otherwise drops or merges some: 14 FMAs per 16-chain loop seen). */
#define KEEP12(c)                                                                                            \
    __asm__ volatile(""                                                                                      \
                     : "+" c(a0), "+" c(a1), "+" c(a2), "+" c(a3), "+" c(a4), "+" c(a5), "+" c(a6),          \
                       "+" c(a7), "+" c(a8), "+" c(a9), "+" c(a10), "+" c(a11))
#define KEEP16(c)                                                                                            \
    KEEP12(c);                                                                                               \
    __asm__ volatile("" : "+" c(a12), "+" c(a13), "+" c(a14), "+" c(a15))

/* SSE2 (every x86-64): 6 multiply chains and 6 add chains, 4 lanes each. */
static __attribute__((noinline)) double sse2_chains(long iterations, float *sink) {
#define DECLARE(i) __m128 m##i = _mm_set1_ps(1.0f + 0.01f * i), s##i = _mm_set1_ps(0.01f * i);
    DECLARE(0)
    DECLARE(1)
    DECLARE(2)
    DECLARE(3)
    DECLARE(4)
    DECLARE(5)
#undef DECLARE
    const __m128 b = _mm_set1_ps(0.999999f), c = _mm_set1_ps(1e-7f);
    const double t0 = now();
    for (long i = 0; i < iterations; i++) {
#define STEP(i) m##i = _mm_mul_ps(m##i, b), s##i = _mm_add_ps(s##i, c);
        STEP(0)
        STEP(1)
        STEP(2)
        STEP(3)
        STEP(4)
        STEP(5)
#undef STEP
        __asm__ volatile("" : "+x"(m0), "+x"(s0));
    }
    const double seconds = now() - t0;
    __m128 t = _mm_add_ps(_mm_add_ps(_mm_add_ps(m0, m1), _mm_add_ps(m2, m3)), _mm_add_ps(m4, m5));
    t = _mm_add_ps(t, _mm_add_ps(_mm_add_ps(_mm_add_ps(s0, s1), _mm_add_ps(s2, s3)), _mm_add_ps(s4, s5)));
    *sink += _mm_cvtss_f32(t);
    return seconds;
}

/* AVX2 FMA: 12 ymm chains a = a * b + c. */
__attribute__((target("avx2,fma"), noinline)) static double avx2_chains(long iterations, float *sink) {
#define DECLARE(i) __m256 a##i = _mm256_set1_ps(0.1f + 0.001f * i);
    CHAINS12(DECLARE)
#undef DECLARE
    const __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    const double t0 = now();
    for (long i = 0; i < iterations; i++) {
#define STEP(i) a##i = _mm256_fmadd_ps(a##i, b, c);
        CHAINS12(STEP)
#undef STEP
        KEEP12("x");
    }
    const double seconds = now() - t0;
    __m256 t = _mm256_setzero_ps();
#define SUM(i) t = _mm256_add_ps(t, a##i);
    CHAINS12(SUM)
#undef SUM
    float out[8];
    _mm256_storeu_ps(out, t);
    *sink += out[0];
    return seconds;
}

/* AVX-512F: 16 zmm chains a = a * b + c. */
__attribute__((target("avx512f"), noinline)) static double avx512_chains(long iterations, float *sink) {
#define DECLARE(i) __m512 a##i = _mm512_set1_ps(0.1f + 0.001f * i);
    CHAINS16(DECLARE)
#undef DECLARE
    const __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    const double t0 = now();
    for (long i = 0; i < iterations; i++) {
#define STEP(i) a##i = _mm512_fmadd_ps(a##i, b, c);
        CHAINS16(STEP)
#undef STEP
        KEEP16("v");
    }
    const double seconds = now() - t0;
    __m512 t = _mm512_setzero_ps();
#define SUM(i) t = _mm512_add_ps(t, a##i);
    CHAINS16(SUM)
#undef SUM
    *sink += _mm512_reduce_add_ps(t);
    return seconds;
}

/* AVX512_BF16: 16 zmm chains acc += dot(a pair, b pair) (vdpbf16ps). */
__attribute__((target("avx512f,avx512bf16"), noinline)) static double bf16_chains(long iterations,
                                                                                  float *sink) {
#define DECLARE(i) __m512 a##i = _mm512_set1_ps(0.001f * i);
    CHAINS16(DECLARE)
#undef DECLARE
    const __m512bh x = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(2e-3f));
    const __m512bh y = _mm512_cvtne2ps_pbh(_mm512_set1_ps(0.5f), _mm512_set1_ps(0.25f));
    const double t0 = now();
    for (long i = 0; i < iterations; i++) {
#define STEP(i) a##i = _mm512_dpbf16_ps(a##i, x, y);
        CHAINS16(STEP)
#undef STEP
        KEEP16("v");
    }
    const double seconds = now() - t0;
    __m512 t = _mm512_setzero_ps();
#define SUM(i) t = _mm512_add_ps(t, a##i);
    CHAINS16(SUM)
#undef SUM
    *sink += _mm512_reduce_add_ps(t);
    return seconds;
}

/* AVX512_VNNI: 16 zmm chains acc += dot(4 u8, 4 s8) (vpdpbusd). */
__attribute__((target("avx512f,avx512vnni"), noinline)) static double vnni512_chains(long iterations,
                                                                                     float *sink) {
#define DECLARE(i) __m512i a##i = _mm512_set1_epi32(i);
    CHAINS16(DECLARE)
#undef DECLARE
    const __m512i x = _mm512_set1_epi8(3), y = _mm512_set1_epi8(-2);
    const double t0 = now();
    for (long i = 0; i < iterations; i++) {
#define STEP(i) a##i = _mm512_dpbusd_epi32(a##i, x, y);
        CHAINS16(STEP)
#undef STEP
        KEEP16("v");
    }
    const double seconds = now() - t0;
    __m512i t = _mm512_setzero_si512();
#define SUM(i) t = _mm512_add_epi32(t, a##i);
    CHAINS16(SUM)
#undef SUM
    /* summed in vector lanes, which wrap as vpdpbusd's do (C's signed sum of the lanes would
     * overflow; keeping lane 0 alone made clang 14 spill every accumulator inside the loop) */
    const __m256i half = _mm256_add_epi32(_mm512_castsi512_si256(t), _mm512_extracti64x4_epi64(t, 1));
    const __m128i quarter = _mm_add_epi32(_mm256_castsi256_si128(half), _mm256_extracti128_si256(half, 1));
    *sink += (float)_mm_cvtsi128_si32(quarter);
    return seconds;
}

/* AVX-VNNI (VEX, ymm): 12 chains acc += dot(4 u8, 4 s8) (vpdpbusd). */
__attribute__((target("avx2,avxvnni"), noinline)) static double vnni256_chains(long iterations, float *sink) {
#define DECLARE(i) __m256i a##i = _mm256_set1_epi32(i);
    CHAINS12(DECLARE)
#undef DECLARE
    const __m256i x = _mm256_set1_epi8(3), y = _mm256_set1_epi8(-2);
    const double t0 = now();
    for (long i = 0; i < iterations; i++) {
#define STEP(i) a##i = _mm256_dpbusd_avx_epi32(a##i, x, y);
        CHAINS12(STEP)
#undef STEP
        KEEP12("x");
    }
    const double seconds = now() - t0;
    __m256i t = _mm256_setzero_si256();
#define SUM(i) t = _mm256_add_epi32(t, a##i);
    CHAINS12(SUM)
#undef SUM
    int out[8];
    _mm256_storeu_si256((__m256i *)out, t);
    *sink += (float)out[0];
    return seconds;
}

/* One register-only measurement: its instruction set, what it counts, its chain function. */
typedef struct peak_row {
    const char *isa;          /* a library row's name for fp32 (aggregate.py matches it) */
    const char *kind;         /* fp32_peak, bf16_peak, int8_peak */
    const char *what;         /* the human line's note */
    double ops_per_iteration; /* flops (int8 ops) of one loop iteration */
    double (*chains)(long iterations, float *sink);
    size_t feature; /* offset of the bool in cpu_features that says the CPU runs it */
} peak_row;

static const peak_row PEAKS[] = {
    {"portable", "fp32_peak", "6+6 SSE2 mulps/addps chains, registers only", 12 * 4, sse2_chains,
     offsetof(cpu_features, baseline)},
    {"avx2", "fp32_peak", "12 AVX2 FMA chains, registers only", 12 * 16, avx2_chains,
     offsetof(cpu_features, avx2_fma)},
    {"avx512", "fp32_peak", "16 AVX-512 zmm FMA chains, registers only", 16 * 32, avx512_chains,
     offsetof(cpu_features, avx512f)},
    {"avx512_bf16", "bf16_peak", "16 zmm vdpbf16ps chains, 64 flops each", 16 * 64, bf16_chains,
     offsetof(cpu_features, avx512_bf16)},
    {"avx512_vnni", "int8_peak", "16 zmm vpdpbusd chains, 128 int8 ops each", 16 * 128, vnni512_chains,
     offsetof(cpu_features, avx512_vnni)},
    {"avx_vnni", "int8_peak", "12 ymm vpdpbusd (AVX-VNNI) chains, 64 int8 ops each", 12 * 64, vnni256_chains,
     offsetof(cpu_features, avx_vnni)},
};

/* The micro-kernel of isa on L1-resident packed panels (A: K x MR, B: K x NR, K = the plan's KC). */
static int measure_kernel(const options *opt, const bnmlp_isa *isa, const char *library_isa, float *sink) {
    bnmlp_gemm_plan plan;
    if (bnmlp_gemm_plan_init(&plan, isa) != BNMLP_OK) return 1;
    const size_t k = plan.kc, mr = plan.mr, nr = plan.nr, ldc = 1024;
    float *a = aligned_alloc(64, (mr * k * sizeof(float) + 63) / 64 * 64);
    float *b = aligned_alloc(64, (nr * k * sizeof(float) + 63) / 64 * 64);
    float *c = aligned_alloc(64, mr * ldc * sizeof(float));
    if (!a || !b || !c) return free(a), free(b), free(c), 1;
    for (size_t i = 0; i < mr * k; i++) a[i] = 1e-3f * (float)(i % 7);
    for (size_t i = 0; i < nr * k; i++) b[i] = 1e-3f * (float)(i % 5);
    memset(c, 0, mr * ldc * sizeof(float));
    /* about 0.2 GFLOP per round at full work, a fifth of that for the portable row */
    const double flops = (strcmp(bnmlp_isa_name(isa), "portable") == 0 ? 0.04e9 : 0.2e9) * opt->work;
    const long calls = (long)(flops / (double)(2 * mr * nr * k)) + 1;
    double rates[MAX_ROUNDS];
    for (size_t r = 0; r < opt->rounds; r++) {
        const double t0 = now();
        for (long i = 0; i < calls; i++) plan.micro_kernel(k, a, b, c, ldc, NULL, true);
        rates[r] = 2.0 * (double)(mr * nr * k) * (double)calls / (now() - t0) / 1e9;
    }
    char what[96];
    snprintf(what, sizeof what, "%s %zux%zu micro-kernel, K %zu, panels in L1", bnmlp_isa_name(isa), mr, nr,
             k);
    report(opt, bnmlp_isa_name(isa), "kernel", best(rates, opt->rounds), what, library_isa);
    *sink += c[0];
    free(a), free(b), free(c);
    return 0;
}

/* The whole product at the step's largest shape, one thread, with the library's row. */
static int measure_gemm(const options *opt, const bnmlp_isa *isa, float *sink) {
    bnmlp_gemm_plan plan;
    if (bnmlp_gemm_plan_init(&plan, isa) != BNMLP_OK) return 1;
    const size_t m = 256, n = 1024, depth = 1024;
    float *x = malloc(m * depth * sizeof(float)), *w = malloc(depth * n * sizeof(float));
    float *y = malloc(m * n * sizeof(float));
    const size_t scratch_floats = bnmlp_gemm_scratch_floats(&plan, m, n, depth, 1);
    float *scratch = malloc(scratch_floats * sizeof(float));
    int status = 1;
    if (x && w && y && scratch) {
        for (size_t i = 0; i < m * depth; i++) x[i] = 1e-3f * (float)(i % 11);
        for (size_t i = 0; i < depth * n; i++) w[i] = 1e-3f * (float)(i % 13);
        const int calls = strcmp(bnmlp_isa_name(isa), "portable") == 0 ? 1 : opt->work < 1.0 ? 2 : 5;
        double rates[MAX_ROUNDS];
        for (size_t r = 0; r < opt->rounds; r++) {
            const double t0 = now();
            for (int i = 0; i < calls; i++)
                bnmlp_gemm(&plan, NULL, scratch, scratch_floats, false, false, m, n, depth, x, depth, w, n,
                           NULL, false, y, n);
            rates[r] = calls * 2.0 * (double)(m * n * depth) / (now() - t0) / 1e9;
        }
        char what[96];
        snprintf(what, sizeof what, "%s GEMM 256x1024x1024, one thread", bnmlp_isa_name(isa));
        report(opt, bnmlp_isa_name(isa), "gemm", best(rates, opt->rounds), what, bnmlp_isa_name(isa));
        *sink += y[0];
        status = 0;
    }
    free(x), free(w), free(y), free(scratch);
    return status;
}
#endif

int main(int argc, char **argv) {
    options opt = {.csv = false, .rounds = MAX_ROUNDS, .work = 1.0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--csv") == 0) {
            opt.csv = true;
        } else if (strcmp(argv[i], "--quick") == 0) {
            opt.rounds = 5, opt.work = 1.0 / 3.0;
        } else {
            fprintf(stderr, "usage: fma_peak [--csv] [--quick]\n");
            return 2;
        }
    }
#if defined(__x86_64__)
    const bnmlp_isa *library = NULL;
    if (!bnmlp_isa_from_environment(&library) || !bnmlp_isa_available(library)) {
        fprintf(stderr, "fma_peak: BNMLP_ISA names no instruction set this CPU runs\n");
        return 2;
    }
    const char *library_isa = bnmlp_isa_name(library);
    if (opt.csv) {
        printf("isa,kind,gflops,library_isa\n");
    } else {
        printf("one thread, best of %zu rounds; the library runs the %s row (BNMLP_ISA or the best)\n",
               opt.rounds, library_isa);
    }
    const cpu_features features = detect();
    float sink = 0.0f;
    /* 20 M iterations (240-320 M instructions) per round at full work: 40-100 ms per round */
    const long iterations = (long)(20000000.0 * opt.work);
    for (size_t p = 0; p < sizeof PEAKS / sizeof PEAKS[0]; p++) {
        const peak_row *row = &PEAKS[p];
        if (!*(const bool *)((const char *)&features + row->feature)) continue;
        double rates[MAX_ROUNDS];
        for (size_t r = 0; r < opt.rounds; r++)
            rates[r] = row->ops_per_iteration * (double)iterations / row->chains(iterations, &sink) / 1e9;
        report(&opt, row->isa, row->kind, best(rates, opt.rounds), row->what, library_isa);
    }
    for (size_t i = 0; i < bnmlp_isa_count(); i++) {
        if (bnmlp_isa_available(bnmlp_isa_at(i)) && measure_kernel(&opt, bnmlp_isa_at(i), library_isa, &sink))
            return 1;
    }
    if (measure_gemm(&opt, library, &sink)) return 1;
    if (!opt.csv) printf("(checksum %g)\n", (double)sink);
    return 0;
#else
    printf("fma_peak: x86-64 only; nothing to measure\n");
    return 0;
#endif
}
