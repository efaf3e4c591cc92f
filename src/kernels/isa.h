/*
 * isa.h - internal: the instruction-set descriptors, the kernel tier's one dispatch point.
 *
 * One descriptor (a bnmlp_isa row) per instruction set, in one list (isa.c), fastest first:
 * its name, its CPU test, the GEMM's tile sizes, micro-kernel, packers and direct path, and the
 * element-wise and column-reduction loops (bias gradient / column sums, batch norm's passes,
 * every element-wise activation, the SGD update). The portable row fills in every entry a faster row leaves
 * NULL (BLIS's bli_cntx_init_<arch> shape): BNMLP_ISA_ENTRY reads an entry that way. Adding an
 * instruction set is one file (isa_<name>.c: its functions under
 * __attribute__((target(...))) and its row) plus one line in the list.
 *
 * Which row runs: BNMLP_ISA (portable, avx2, avx512, best) when a model is created, otherwise
 * the fastest available one (bnmlp_isa_best); tests and benchmarks iterate the list.
 */
#ifndef BNMLP_KERNELS_ISA_H
#define BNMLP_KERNELS_ISA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/activations.h"
#include "kernels/int8.h"

/* c (mr, nr), row stride ldc = [c if load_c] + a (mr, k packed) . b (k, nr packed)
 * [+ bias (nr) if not NULL], summed in that order. */
typedef void (*bnmlp_micro_kernel_function)(size_t k, const float *a, const float *b, float *c, size_t ldc,
                                            const float *bias, bool load_c);

/* The bf16 micro-kernel, on the row's (mr, nr) tile: c (mr, nr), row stride ldc, per element
 * acc = ([c if load_c] else 0) [+ bias (nr)], then for each of the `pairs` k-pair steps one
 * vdpbf16ps step (kernels/bf16.h) with A's pair (a: mr uint32 pairs a step) and B's (b: nr a
 * step, 64-byte aligned); c = acc. Bit-identical on every row (the arithmetic of bf16.h). */
typedef void (*bnmlp_micro_kernel_bf16_function)(size_t pairs, const uint32_t *a, const uint32_t *b, float *c,
                                                 size_t ldc, const float *bias, bool load_c);

/* A full packed panel: panel (depth, width) with panel[p width + r] = source[r ld + p] for r <
 * width, i.e. `width` source rows of at least depth floats, ld apart, transposed. pack_a: width
 * is the row's mr; pack_b_transposed: width is its nr. */
typedef void (*bnmlp_pack_function)(float *panel, const float *source, size_t ld, size_t depth, size_t width);

/* bf16 packing (kernels/bf16.h: pairs, rounding). Panels of `width` pairs a step; values
 * [0, depth) of `count` panel columns (the last panel's columns past count are zeros, and so is
 * the missing value 2s + 1 of an odd depth), panel q at panel + q width ceil(depth / 2):
 *   interleaved: source rows run across the panel (row p at source + p ld holds value p of every
 *     column): panel[q width pairs + s width + r] = pair(row 2s, row 2s + 1)[q width + r]
 *     (op(A) transposed, op(B) as stored);
 *   rows: source rows run along the depth (column c of the panels is source row c, ld apart):
 *     panel[q width pairs + s width + r] = pair(values 2s, 2s + 1 of row q width + r)
 *     (op(A) as stored, op(B) transposed). */
typedef void (*bnmlp_pack_bf16_function)(uint32_t *panel, const float *source, size_t ld, size_t depth,
                                         size_t count, size_t width);

/* A row's bf16 product on the CPU's own bf16 instructions (bnmlp_isa.bf16_native): the same
 * contracts, tile and bits as the row's emulating entries. */
/* The GEMM's direct, unpacked path (contract of bnmlp_gemm_direct in gemm.h). */
typedef void (*bnmlp_gemm_direct_function)(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k,
                                           const float *a, size_t lda, const float *b, size_t ldb,
                                           const float *bias, bool accumulate, float *c, size_t ldc);

typedef struct bnmlp_bf16_native {
    const char *name;                              /* e.g. "avx512bf16" */
    bnmlp_micro_kernel_bf16_function micro_kernel; /* as micro_kernel_bf16 */
    bnmlp_pack_bf16_function pack_interleaved;     /* as pack_bf16_interleaved */
    bnmlp_pack_bf16_function pack_rows;            /* as pack_bf16_rows */
    bnmlp_gemm_direct_function gemm_direct;        /* as gemm_direct_bf16 (NULL: the row's) */
} bnmlp_bf16_native;

/* sums (W) += the column sums of x (B rows of W floats, stride floats apart), in double, each
 * adding its rows in order from the value it had. */
typedef void (*bnmlp_column_sums_function)(double *sums, const float *x, size_t batch, size_t stride,
                                           size_t width);

/* squares (W) += sum over the rows of (x - mean)^2 in double; mean (W) in double. */
typedef void (*bnmlp_squares_function)(double *squares, const float *x, const double *mean, size_t batch,
                                       size_t stride, size_t width);

/* From the batch mean (W, double) and the squares around it (W) of count rows: mean (W) as float,
 * variance (W) = squares / count and rstd (W) = 1 / sqrt(variance + epsilon), both computed in
 * double and rounded once to float. mean and mean_sum may be NULL together (no mean), variance
 * may be NULL (the rstd of a moving variance: squares = it in double, count 1). */
typedef void (*bnmlp_statistics_function)(float *mean, float *variance, float *rstd, const double *mean_sum,
                                          const double *squares, double count, size_t width, float epsilon);

/* y (B, stride) = gamma * ((x - mean) * rstd) + beta per feature (W features); gamma NULL means
 * 1, beta NULL means 0. */
typedef void (*bnmlp_normalize_function)(float *y, const float *x, const float *mean, const float *rstd,
                                         const float *gamma, const float *beta, size_t batch, size_t stride,
                                         size_t width);

/* sum_dy (W) += sum(dy), sum_dy_xhat (W) += sum(dy * xhat), xhat = (x - mean) * rstd in double. */
typedef void (*bnmlp_backward_sums_function)(double *sum_dy, double *sum_dy_xhat, const float *dy,
                                             const float *x, const float *mean, const float *rstd,
                                             size_t batch, size_t stride, size_t width);

/* dx (B, stride) = gamma * rstd * (dy - sum_dy / count - xhat * sum_dy_xhat / count). */
typedef void (*bnmlp_finish_backward_function)(float *dx, const double *sum_dy, const double *sum_dy_xhat,
                                               const float *dy, const float *x, const float *mean,
                                               const float *rstd, const float *gamma, double count,
                                               size_t batch, size_t stride, size_t width);

/* dx (B, stride) = dy * (gamma * rstd): the input gradient with fixed statistics. */
typedef void (*bnmlp_inference_gradient_function)(float *dx, const float *dy, const float *rstd,
                                                  const float *gamma, size_t batch, size_t stride,
                                                  size_t width);

/* Batch norm with a ReLU fused after it (the layer's output y is never stored; z = relu(y)):
 * z (B, stride) = relu(gamma * ((x - mean) * rstd) + beta), per element the operations of
 * batchnorm_normalize then of relu's forward (bnmlp_normalize_function's arguments, y := z).
 * The backward entries take the ReLU's output gradient dz and its output z in place of dy:
 * dy = z > 0 ? dz : 0 per element (relu's backward: z > 0 exactly where y > 0), then the
 * unfused entry's operations on that dy, so results are the unfused pair's bit for bit. */
typedef void (*bnmlp_backward_sums_relu_function)(double *sum_dy, double *sum_dy_xhat, const float *dz,
                                                  const float *z, const float *x, const float *mean,
                                                  const float *rstd, size_t batch, size_t stride,
                                                  size_t width);
typedef void (*bnmlp_finish_backward_relu_function)(float *dx, const double *sum_dy,
                                                    const double *sum_dy_xhat, const float *dz,
                                                    const float *z, const float *x, const float *mean,
                                                    const float *rstd, const float *gamma, double count,
                                                    size_t batch, size_t stride, size_t width);
typedef void (*bnmlp_inference_gradient_relu_function)(float *dx, const float *dz, const float *z,
                                                       const float *rstd, const float *gamma, size_t batch,
                                                       size_t stride, size_t width);

/* y (N) = f(x (N)) for one element-wise activation; y may alias x. */
typedef void (*bnmlp_activation_forward_function)(float *y, const float *x, size_t n, float alpha);

/* dx (N) = dy * f'(x) from dy (N), the forward input x (N) and output y (N) (either may be
 * NULL when the row's backward does not use it); dx may alias dy. */
typedef void (*bnmlp_activation_backward_function)(float *dx, const float *dy, const float *x, const float *y,
                                                   size_t n, float alpha);

/* The settings of one SGD update (Keras's form; bnmlp_sgd_config's, and a segment's decay). */
typedef struct bnmlp_sgd_step {
    float learning_rate; /* lr */
    float momentum;      /* m */
    float decay;         /* L2 coefficient added to the gradient (0: none) */
    bool nesterov;       /* Nesterov momentum */
    bool fresh;          /* start from v = 0 (v is not read) */
} bnmlp_sgd_step;

/* One SGD update of N parameters, out of place: with gd = g + decay * w (g alone for decay 0),
 * v_out = m * v - lr * gd, w_out = w + v_out (nesterov: w + (m * v_out - lr * gd)). Returns
 * whether every new w and v is finite. w_out may alias w and v_out v (element by element). */
typedef bool (*bnmlp_sgd_update_function)(float *w_out, float *v_out, const float *w, const float *v,
                                          const float *g, size_t n, const bnmlp_sgd_step *step);

/* The settings of one Adam or AdamW update of a segment (adam.c computes them for step t). */
typedef struct bnmlp_adam_step {
    float beta1, beta2, epsilon; /* as configured */
    float step_size;        /* PyTorch: lr / (1 - beta1^t); Keras: lr sqrt(1 - beta2^t) / (1 - beta1^t) */
    float correction2_sqrt; /* PyTorch: sqrt(1 - beta2^t); Keras: unused */
    float l2;               /* Adam's L2 coefficient added to the gradient (0: none; AdamW: 0) */
    float shrink;           /* AdamW's factor 1 - lr decay of the weight (1: none; Adam: 1) */
    bool pytorch_epsilon;   /* epsilon after the bias correction (PyTorch's), else Keras's place */
    bool fresh;             /* start from m = v = 0 (m and v are not read) */
} bnmlp_adam_step;

/* One Adam/AdamW update of N parameters, out of place, per element in this order (torch.optim's
 * single-tensor Adam in float32):
 *   wd = w * shrink (w when shrink is 1);  gd = g + l2 * w (g when l2 is 0);
 *   m_out = m * beta1 + (1 - beta1) * gd;  v_out = v * beta2 + (1 - beta2) * gd * gd;
 *   PyTorch: w_out = wd + -step_size * (m_out / (sqrt(v_out) / correction2_sqrt + epsilon));
 *   Keras:   w_out = wd - step_size * m_out / (sqrt(v_out) + epsilon).
 * Returns whether every new w, m and v is finite. Outputs may alias their inputs (element by
 * element). */
typedef bool (*bnmlp_adam_update_function)(float *w_out, float *m_out, float *v_out, const float *w,
                                           const float *m, const float *v, const float *g, size_t n,
                                           const bnmlp_adam_step *step);

/* The settings of one RMSprop update of a segment (bnmlp_rmsprop_config's, and the segment's
 * decay). */
typedef struct bnmlp_rmsprop_step {
    float learning_rate, alpha, epsilon, momentum; /* as configured */
    float decay;                                   /* L2 coefficient added to the gradient (0: none) */
    bool centered;                                 /* keeps the gradient averages a */
    bool fresh;                                    /* start from s = a = b = 0 (the state is not read) */
} bnmlp_rmsprop_step;

/* One RMSprop update of N parameters, out of place, per element in this order (torch.optim's
 * single-tensor RMSprop in float32):
 *   gd = g + decay * w (g when decay is 0);  s_out = s * alpha + (1 - alpha) * gd * gd;
 *   centered: a_out = a * alpha + (1 - alpha) * gd, d = sqrt(s_out - a_out * a_out) + epsilon;
 *   else:     a_out = a (0 when fresh),           d = sqrt(s_out) + epsilon;
 *   momentum > 0: b_out = b * momentum + gd / d, w_out = w + -learning_rate * b_out;
 *   else:         b_out = b (0 when fresh),      w_out = w + -learning_rate * (gd / d).
 * Returns whether every new w and s, and a and b where they are computed, is finite. Outputs may
 * alias their inputs (element by element). */
typedef bool (*bnmlp_rmsprop_update_function)(float *w_out, float *s_out, float *a_out, float *b_out,
                                              const float *w, const float *s, const float *a, const float *b,
                                              const float *g, size_t n, const bnmlp_rmsprop_step *step);

/* One instruction set. Every pointer except name and available may be NULL: the portable row's
 * entry is used instead (BNMLP_ISA_ENTRY). */
typedef struct bnmlp_isa {
    const char *name;        /* lower case, what BNMLP_ISA names it by */
    bool (*available)(void); /* this build and this CPU can run it */
    /* true when bnmlp_isa_best should take a slower available row instead (AMD Zen 4 runs
     * AVX-512 at AVX2's FMA rate, and the AVX2 kernel is the one measured there); NULL: never */
    bool (*defer_to_slower)(void);

    size_t mr, nr;                            /* the micro-kernel's tile of C */
    bnmlp_micro_kernel_function micro_kernel; /* the GEMM's micro-kernel; every row has one */
    bnmlp_pack_function pack_a;               /* a full (mr-row) panel of non-transposed A */
    bnmlp_pack_function pack_b_transposed;    /* a full (nr-column) panel of transposed B */
    bnmlp_gemm_direct_function gemm_direct;   /* small and thin products */
    /* the bf16 product's micro-kernel on the same (mr, nr) tile (NULL: the portable row's, whose
     * tile is the portable one, so a row leaving it NULL must share the portable tile size) */
    bnmlp_micro_kernel_bf16_function micro_kernel_bf16;
    bnmlp_pack_bf16_function pack_bf16_interleaved; /* bf16 packers (NULL: the portable row's) */
    bnmlp_pack_bf16_function pack_bf16_rows;
    /* the bf16 product's direct, unpacked path, for the shapes bnmlp_gemm_bf16_is_direct takes:
     * exactly bnmlp_gemm_bf16_reference's elements (NULL, unlike the entries above: none, the
     * row's bf16 products are all packed; the portable row's is that reference itself) */
    bnmlp_gemm_direct_function gemm_direct_bf16;
    /* The bf16 product on the CPU's own bf16 instructions (AVX512_BF16), on the row's tile: the
     * set, or NULL when this CPU lacks them (then the entries above, which emulate them bit for
     * bit, run). NULL entry: never. */
    const struct bnmlp_bf16_native *(*bf16_native)(void);

    bnmlp_column_sums_function column_sums;                         /* bias gradient, batch-norm means */
    bnmlp_squares_function batchnorm_squares;                       /* batch-norm variance sums */
    bnmlp_statistics_function batchnorm_statistics;                 /* mean, variance, rstd */
    bnmlp_normalize_function batchnorm_normalize;                   /* both modes' output */
    bnmlp_backward_sums_function batchnorm_backward_sums;           /* sum(dy), sum(dy xhat) */
    bnmlp_finish_backward_function batchnorm_finish_backward;       /* training-mode dx */
    bnmlp_inference_gradient_function batchnorm_inference_gradient; /* frozen-layer dx */
    /* the same passes with a ReLU fused after the layer (the relu typedefs above) */
    bnmlp_normalize_function batchnorm_normalize_relu;                        /* z = relu(y) */
    bnmlp_backward_sums_relu_function batchnorm_backward_sums_relu;           /* masked dz sums */
    bnmlp_finish_backward_relu_function batchnorm_finish_backward_relu;       /* training-mode dx */
    bnmlp_inference_gradient_relu_function batchnorm_inference_gradient_relu; /* frozen-layer dx */

    /* Indexed by bnmlp_activation; NULL for row-wise kinds (softmax). */
    bnmlp_activation_forward_function activation_forward[BNMLP_ACTIVATION_KINDS];
    bnmlp_activation_backward_function activation_backward[BNMLP_ACTIVATION_KINDS];

    bnmlp_sgd_update_function sgd_update;         /* the SGD row's update and finiteness check, one pass */
    bnmlp_adam_update_function adam_update;       /* Adam's and AdamW's, likewise */
    bnmlp_rmsprop_update_function rmsprop_update; /* RMSprop's, likewise */

    /* The int8 kernel set this row runs on this CPU (the best extension it has: AVX512-VNNI,
     * AVX-VNNI, plain AVX2); NULL: the portable set. */
    const bnmlp_int8_kernels *(*int8)(void);
} bnmlp_isa;

/* The portable row: plain C (the compiler's baseline vectors), every machine, every entry. */
extern const bnmlp_isa bnmlp_isa_portable;

/* Entry `field` of row isa (NULL: the portable row), or the portable row's where isa has none. */
#define BNMLP_ISA_ENTRY(isa, field) ((isa) && (isa)->field ? (isa)->field : bnmlp_isa_portable.field)

/* Rows in the list (at least 1: the portable row is always there). */
size_t bnmlp_isa_count(void);

/* Row i of the list, fastest first (the portable row last); NULL when i >= bnmlp_isa_count(). */
const bnmlp_isa *bnmlp_isa_at(size_t i);

/* The row named name (case-sensitive), or NULL. */
const bnmlp_isa *bnmlp_isa_find(const char *name);

/* True when this build and this CPU can run isa (false for NULL). */
bool bnmlp_isa_available(const bnmlp_isa *isa);

/* The fastest available row, skipping one that defers to a slower available row. Never NULL. */
const bnmlp_isa *bnmlp_isa_best(void);

/* The row that the value of BNMLP_ISA names: *isa = the row for "portable", "avx2", "avx512"
 * (whether or not it is available), or bnmlp_isa_best() when the variable is unset, empty or
 * "best". False (and *isa untouched) for any other value. The only place the library reads the
 * environment; the model calls it once when it is created. */
bool bnmlp_isa_from_environment(const bnmlp_isa **isa);

/* isa's name, or "unknown" for NULL. */
const char *bnmlp_isa_name(const bnmlp_isa *isa);

#endif /* BNMLP_KERNELS_ISA_H */
