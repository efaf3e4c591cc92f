/*
 * bench/gemm.c - libbnmlp's GEMM at the MLP training step's shapes and the tutorial's shapes,
 * side by side with OpenBLAS's cblas_sgemm (when configured with it) and, for the tutorial's
 * small products, the naive reference bnmlp_gemm_reference. GFLOP/s = 2 m n k / time. The step's
 * products also run as bnmlp_gemm_bf16 (bf16 inputs, float32 accumulation: the bf16 columns; x fp32 =
 * our float32 time / bf16 time).
 *
 * Each figure is the median of --rounds samples; ours and the peers' samples are interleaved
 * within every round so that a noisy shared machine hits both alike. Compare ratios, not
 * absolute numbers from different runs.
 *
 * The int8 rows (src/kernels/int8.h) time the int8 product at the inference forward's shapes,
 * input quantization and dequantizing store included, beside our float32 GEMM of the same shape
 * (bias included) in the same rounds, through the instruction set's int8 set.
 *
 * usage: gemm [--csv] [--rounds N] [--isa best|portable|avx2|avx512] [--threads N (max, default
 *             2)] [--kc N] [--mc N] [--nc N] [--only step|tutorial|int8]
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/threadpool.h"
#include "kernels/gemm.h"
#include "kernels/int8.h"
#include "kernels/kernels.h"

#if defined(BNMLP_BENCH_OPENBLAS)
#include <cblas.h>
#endif

typedef struct product {
    const char *name; /* which product of which layer */
    size_t m, n, k;   /* C (m, n) = op(A) (m, k) op(B) (k, n) */
    bool transpose_a, transpose_b, bias, accumulate;
    bool tutorial; /* a small tutorial product: also timed through the naive reference */
} product;

/* The dense layer's three products: y = x w + b (NN, bias), dw += x^T dy (TN, accumulate),
 * dx = dy w^T (NT). Step: 256 -> 1024 -> 1024 -> 1, batch 256. Tutorial: 2 -> 50 -> 1, batch 32. */
static const product products[] = {
    {"step L2 forward y=xW", 256, 1024, 1024, false, false, true, false, false},
    {"step L2 weights dW+=x^T dy", 1024, 1024, 256, true, false, false, true, false},
    {"step L2 inputs dx=dy W^T", 256, 1024, 1024, false, true, false, false, false},
    {"step L1 forward y=xW", 256, 1024, 256, false, false, true, false, false},
    {"step L1 weights dW+=x^T dy", 256, 1024, 256, true, false, false, true, false},
    {"step L2 -> L1 dx (1024->256)", 256, 256, 1024, false, true, false, false, false},
    {"tutorial L1 forward 32x2->50", 32, 50, 2, false, false, true, false, true},
    {"tutorial L2 forward 32x50->1", 32, 1, 50, false, false, true, false, true},
    {"tutorial L1 weights dW 2x50", 2, 50, 32, true, false, false, true, true},
    {"tutorial L2 weights dW 50x1", 50, 1, 32, true, false, false, true, true},
    {"tutorial L2 inputs dx 32x1->50", 32, 50, 1, false, true, false, false, true},
};
#define PRODUCT_COUNT (sizeof products / sizeof products[0])

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int compare_doubles(const void *x, const void *y) {
    const double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double median(double *v, size_t n) {
    qsort(v, n, sizeof *v, compare_doubles);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void fill(float *v, size_t n, unsigned seed) {
    unsigned s = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        v[i] = (float)((double)(s >> 8) / 8388608.0 - 1.0) * 0.01f;
    }
}

typedef enum engine { OURS, OPENBLAS, MATMUL_C, OURS_BF16, ENGINE_COUNT } engine;

typedef struct operands {
    const product *p;
    float *a, *b, *bias, *c, *scratch;
    size_t lda, ldb, scratch_floats;
    const bnmlp_gemm_plan *plan;
    bnmlp_threadpool *pool;
} operands;

static void call(const operands *o, engine e) {
    const product *p = o->p;
    switch (e) {
    case OURS:
        bnmlp_gemm(o->plan, o->pool, o->scratch, o->scratch_floats, p->transpose_a, p->transpose_b, p->m,
                   p->n, p->k, o->a, o->lda, o->b, o->ldb, p->bias ? o->bias : NULL, p->accumulate, o->c,
                   p->n);
        break;
    case OPENBLAS:
#if defined(BNMLP_BENCH_OPENBLAS)
        /* No bias: OpenBLAS has none (our bias is fused into the last store). */
        cblas_sgemm(CblasRowMajor, p->transpose_a ? CblasTrans : CblasNoTrans,
                    p->transpose_b ? CblasTrans : CblasNoTrans, (int)p->m, (int)p->n, (int)p->k, 1.0f, o->a,
                    (int)o->lda, o->b, (int)o->ldb, p->accumulate ? 1.0f : 0.0f, o->c, (int)p->n);
#endif
        break;
    case OURS_BF16: /* the same product with bf16 inputs (bnmlp_model_set_precision's) */
        bnmlp_gemm_bf16(o->plan, o->pool, o->scratch, o->scratch_floats, p->transpose_a, p->transpose_b, p->m,
                        p->n, p->k, o->a, o->lda, o->b, o->ldb, p->bias ? o->bias : NULL, p->accumulate, o->c,
                        p->n);
        break;
    case MATMUL_C: /* the naive reference the GEMM is tested against */
        bnmlp_gemm_reference(p->transpose_a, p->transpose_b, p->m, p->n, p->k, o->a, o->lda, o->b, o->ldb,
                             p->bias ? o->bias : NULL, p->accumulate, o->c, p->n);
        break;
    default: break;
    }
}

/* Seconds per call of one sample of iterations calls. */
static double sample(const operands *o, engine e, size_t iterations) {
    const double start = now_seconds();
    for (size_t i = 0; i < iterations; i++) call(o, e);
    return (now_seconds() - start) / (double)iterations;
}

static void usage(void) {
    fprintf(stderr, "usage: gemm [--csv] [--rounds N] [--isa best|portable|avx2|avx512] "
                    "[--threads N] [--kc N] [--mc N] [--nc N] [--only step|tutorial|int8]\n");
}

/* ---- int8 rows ----------------------------------------------------------------------------------- */

/* The inference forward's products of the step's model (batch 256): y = x W + b. */
static const product int8_products[] = {
    {"int8 L2 forward y=xW", 256, 1024, 1024, false, false, true, false, false},
    {"int8 L1 forward y=xW", 256, 1024, 256, false, false, true, false, false},
    {"int8 L3 forward y=xW (1 unit)", 256, 1, 1024, false, false, true, false, false},
};
#define INT8_PRODUCT_COUNT (sizeof int8_products / sizeof int8_products[0])

/* The int8 rows for 1..max_threads threads: int8 (quantize, product, store) against our float32
 * GEMM of the same shape, samples interleaved round by round. CSV: product "int8 ...", isa the
 * int8 set, ours = int8 (GOP/s), the OpenBLAS columns our float32 GEMM's, ratio = float32 / int8. */
static int int8_rows(const bnmlp_gemm_plan *plan, size_t max_threads, size_t rounds, bool csv) {
    const bnmlp_int8_kernels *set = plan->isa->int8 ? plan->isa->int8() : &bnmlp_int8_portable;
    if (!csv)
        printf("\nint8 product (set %s; quantization and store included) beside our float32 GEMM, medians of "
               "%zu rounds\n\n%-7s %-31s %15s %10s %8s %10s %8s %6s\n",
               set->name, rounds, "threads", "product", "m x n x k", "int8 us", "GOP/s", "fp32 us", "GFLOP/s",
               "ratio");
    for (size_t threads = 1; threads <= max_threads; threads++) {
        bnmlp_status status;
        bnmlp_kernel_context context = {.plan = *plan};
        context.pool = bnmlp_threadpool_create(threads, NULL, &status);
        if (!context.pool) return 0;
        for (size_t q = 0; q < INT8_PRODUCT_COUNT; q++) {
            const product *p = &int8_products[q];
            operands o = {.p = p, .plan = plan, .pool = context.pool, .lda = p->k, .ldb = p->n};
            o.a = malloc(p->m * p->k * sizeof *o.a), o.b = malloc(p->k * p->n * sizeof *o.b);
            o.bias = malloc(p->n * sizeof *o.bias), o.c = calloc(p->m * p->n, sizeof *o.c);
            o.scratch_floats = bnmlp_gemm_scratch_floats(plan, p->m, p->n, p->k, threads);
            o.scratch = malloc((o.scratch_floats + 1) * sizeof *o.scratch);
            float *codes = malloc(p->k * p->n * sizeof *codes), *scales = malloc(p->n * sizeof *scales);
            void *packed = malloc(bnmlp_int8_packed_bytes(p->k, p->n));
            float *q_scratch = malloc(bnmlp_int8_scratch_floats(p->m, p->k) * sizeof *q_scratch);
            if (!o.a || !o.b || !o.bias || !o.c || !o.scratch || !codes || !scales || !packed || !q_scratch)
                return 0;
            fill(o.a, p->m * p->k, 1), fill(o.b, p->k * p->n, 2), fill(o.bias, p->n, 3);
            for (size_t i = 0; i < p->k * p->n; i++) codes[i] = (float)((int)(i * 2654435761u % 255u) - 127);
            for (size_t j = 0; j < p->n; j++) scales[j] = 1e-4f;
            bnmlp_int8_weights w;
            bnmlp_int8_pack(packed, codes, scales, 0.01f / 127.0f, o.bias, p->k, p->n, &w);
            for (const double until = now_seconds() + 0.1; now_seconds() < until;) {
                call(&o, OURS);
                bnmlp_kernel_int8_dense(&context, o.c, o.a, p->m, &w, q_scratch);
            }
            double start = now_seconds();
            bnmlp_kernel_int8_dense(&context, o.c, o.a, p->m, &w, q_scratch);
            const double once = now_seconds() - start;
            size_t iterations = (size_t)(0.02 / (once > 1e-9 ? once : 1e-9));
            if (iterations < 1) iterations = 1;
            double *int8_times = malloc(rounds * sizeof(double)),
                   *fp32_times = malloc(rounds * sizeof(double));
            for (size_t r = 0; r < rounds; r++) {
                start = now_seconds();
                for (size_t i = 0; i < iterations; i++)
                    bnmlp_kernel_int8_dense(&context, o.c, o.a, p->m, &w, q_scratch);
                int8_times[r] = (now_seconds() - start) / (double)iterations;
                fp32_times[r] = sample(&o, OURS, iterations);
            }
            const double ops = 2.0 * (double)p->m * (double)p->n * (double)p->k;
            const double int8 = median(int8_times, rounds), fp32 = median(fp32_times, rounds);
            char shape[48];
            snprintf(shape, sizeof shape, "%zux%zux%zu", p->m, p->n, p->k);
            if (csv)
                printf("%zu,%s,%zu,%zu,%zu,%s,%.4f,%.3f,%.4f,%.3f,%.4f,0\n", threads, p->name, p->m, p->n,
                       p->k, set->name, int8 * 1e6, ops / int8 * 1e-9, fp32 * 1e6, ops / fp32 * 1e-9,
                       fp32 / int8);
            else
                printf("%-7zu %-31s %15s %10.3f %8.2f %10.3f %8.2f %6.3f\n", threads, p->name, shape,
                       int8 * 1e6, ops / int8 * 1e-9, fp32 * 1e6, ops / fp32 * 1e-9, fp32 / int8);
            free(int8_times), free(fp32_times), free(codes), free(scales), free(packed), free(q_scratch);
            free(o.a), free(o.b), free(o.bias), free(o.c), free(o.scratch);
        }
        bnmlp_threadpool_free(context.pool);
    }
    if (!csv) printf("\nratio = our float32 time / int8 time (> 1: int8 faster).\n");
    return 1;
}

int main(int argc, char **argv) {
    bool csv = false;
    size_t rounds = 9, max_threads = 2, kc = 0, mc = 0, nc = 0;
    const char *isa_name = "best", *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--csv") == 0)
            csv = true;
        else if (i + 1 < argc && strcmp(argv[i], "--rounds") == 0)
            rounds = (size_t)strtoul(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(argv[i], "--threads") == 0)
            max_threads = (size_t)strtoul(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(argv[i], "--isa") == 0)
            isa_name = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--kc") == 0)
            kc = (size_t)strtoul(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(argv[i], "--mc") == 0)
            mc = (size_t)strtoul(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(argv[i], "--nc") == 0)
            nc = (size_t)strtoul(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(argv[i], "--only") == 0)
            only = argv[++i];
        else {
            usage();
            return 2;
        }
    }
    if (rounds == 0 || max_threads == 0) {
        usage();
        return 2;
    }
    /* "best" or a row of the descriptor list, by name. */
    const bnmlp_isa *requested = strcmp(isa_name, "best") == 0 ? bnmlp_isa_best() : bnmlp_isa_find(isa_name);
    const bool known = requested != NULL;
    bnmlp_gemm_plan plan;
    if (!known || bnmlp_gemm_plan_init(&plan, requested) != BNMLP_OK) {
        fprintf(stderr, "gemm: instruction set %s is not available here\n", isa_name);
        return 1;
    }
    /* Block sizes may be overridden for tuning (rounded to the micro-tile). */
    if (kc) plan.kc = kc;
    if (mc) plan.mc = (mc + plan.mr - 1) / plan.mr * plan.mr;
    if (nc) plan.nc = (nc + plan.nr - 1) / plan.nr * plan.nr;
    const bool have_openblas =
#if defined(BNMLP_BENCH_OPENBLAS)
        true;
#else
        false;
#endif

    if (csv)
        printf("threads,product,m,n,k,isa,ours_us,ours_gflops,openblas_us,openblas_gflops,"
               "ratio,naive_us,bf16_us,bf16_gflops\n");
    else
        printf("libbnmlp GEMM, isa %s (MR %zu NR %zu KC %zu MC %zu NC %zu), medians of %zu "
               "rounds%s\n\n%-7s %-31s %15s %10s %8s %10s %8s %6s %10s %10s %8s %6s\n",
               bnmlp_isa_name(plan.isa), plan.mr, plan.nr, plan.kc, plan.mc, plan.nc, rounds,
               have_openblas ? ", OpenBLAS interleaved" : " (no OpenBLAS)", "threads", "product", "m x n x k",
               "ours us", "GFLOP/s", "OpenBLAS", "GFLOP/s", "ratio", "naive", "bf16 us", "GFLOP/s", "x fp32");

    for (size_t threads = 1; threads <= max_threads && !(only && strcmp(only, "int8") == 0); threads++) {
        bnmlp_status status;
        bnmlp_threadpool *pool = bnmlp_threadpool_create(threads, NULL, &status);
        if (!pool) {
            fprintf(stderr, "gemm: no thread pool: %s\n", bnmlp_status_string(status));
            return 1;
        }
#if defined(BNMLP_BENCH_OPENBLAS)
        openblas_set_num_threads((int)threads);
#endif
        for (size_t q = 0; q < PRODUCT_COUNT; q++) {
            const product *p = &products[q];
            if (only && strcmp(only, p->tutorial ? "tutorial" : "step") != 0) continue;
            operands o = {.p = p, .plan = &plan, .pool = pool};
            o.lda = p->transpose_a ? p->m : p->k;
            o.ldb = p->transpose_b ? p->k : p->n;
            o.a = malloc(p->m * p->k * sizeof *o.a);
            o.b = malloc(p->k * p->n * sizeof *o.b);
            o.bias = malloc(p->n * sizeof *o.bias);
            o.c = calloc(p->m * p->n, sizeof *o.c);
            o.scratch_floats = bnmlp_gemm_scratch_floats(&plan, p->m, p->n, p->k, threads);
            o.scratch = malloc((o.scratch_floats + 1) * sizeof *o.scratch);
            if (!o.a || !o.b || !o.bias || !o.c || !o.scratch) {
                fprintf(stderr, "gemm: out of memory\n");
                return 1;
            }
            fill(o.a, p->m * p->k, 1), fill(o.b, p->k * p->n, 2), fill(o.bias, p->n, 3);
            /* Warm up (caches, page faults, clock ramp), then calibrate: about 20 ms a sample. */
            for (const double until = now_seconds() + 0.1; now_seconds() < until;) {
                call(&o, OURS);
                if (have_openblas) call(&o, OPENBLAS);
            }
            const double once = sample(&o, OURS, 1);
            size_t iterations = (size_t)(0.02 / (once > 1e-9 ? once : 1e-9));
            if (iterations < 1) iterations = 1;
            if (iterations > 200000) iterations = 200000;
            double *times[ENGINE_COUNT];
            for (int e = 0; e < ENGINE_COUNT; e++) times[e] = malloc(rounds * sizeof(double));
            const bool with_matmul = p->tutorial && threads == 1, with_bf16 = !p->tutorial;
            for (size_t r = 0; r < rounds; r++) {
                times[OURS][r] = sample(&o, OURS, iterations);
                if (with_bf16) times[OURS_BF16][r] = sample(&o, OURS_BF16, iterations);
                if (have_openblas) times[OPENBLAS][r] = sample(&o, OPENBLAS, iterations);
                if (with_matmul) times[MATMUL_C][r] = sample(&o, MATMUL_C, iterations);
            }
            const double flops = 2.0 * (double)p->m * (double)p->n * (double)p->k;
            const double ours = median(times[OURS], rounds);
            const double blas = have_openblas ? median(times[OPENBLAS], rounds) : 0.0;
            const double matmul = with_matmul ? median(times[MATMUL_C], rounds) : 0.0;
            const double bf16 = with_bf16 ? median(times[OURS_BF16], rounds) : 0.0;
            char shape[48], matmul_text[32];
            snprintf(matmul_text, sizeof matmul_text, "%.3f", matmul * 1e6);
            snprintf(shape, sizeof shape, "%zux%zux%zu", p->m, p->n, p->k);
            if (csv)
                printf("%zu,%s,%zu,%zu,%zu,%s,%.4f,%.3f,%.4f,%.3f,%.4f,%.4f,%.4f,%.3f\n", threads, p->name,
                       p->m, p->n, p->k, bnmlp_isa_name(plan.isa), ours * 1e6, flops / ours * 1e-9,
                       blas * 1e6, blas > 0 ? flops / blas * 1e-9 : 0.0, blas > 0 ? blas / ours : 0.0,
                       matmul * 1e6, bf16 * 1e6, bf16 > 0 ? flops / bf16 * 1e-9 : 0.0);
            else
                printf("%-7zu %-31s %15s %10.3f %8.2f %10.3f %8.2f %6.3f %10s %10.3f %8.2f %6.3f\n", threads,
                       p->name, shape, ours * 1e6, flops / ours * 1e-9, blas * 1e6,
                       blas > 0 ? flops / blas * 1e-9 : 0.0, blas > 0 ? blas / ours : 0.0,
                       with_matmul ? matmul_text : "-", bf16 * 1e6, bf16 > 0 ? flops / bf16 * 1e-9 : 0.0,
                       bf16 > 0 ? ours / bf16 : 0.0);
            for (int e = 0; e < ENGINE_COUNT; e++) free(times[e]);
            free(o.a), free(o.b), free(o.bias), free(o.c), free(o.scratch);
        }
        bnmlp_threadpool_free(pool);
    }
    if (!csv && !(only && strcmp(only, "int8") == 0))
        printf("\nratio = OpenBLAS time / ours (> 1: ours faster). OpenBLAS runs without the "
               "bias; naive = bnmlp_gemm_reference, us per call, 1 thread.\n");
    if ((!only || strcmp(only, "int8") == 0) && !int8_rows(&plan, max_threads, rounds, csv)) {
        fprintf(stderr, "gemm: int8 rows: out of memory\n");
        return 1;
    }
    return 0;
}
