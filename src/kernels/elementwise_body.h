/*
 * elementwise_body.h - the element-wise and column-reduction loops of one instruction set. Not a
 * normal header: included once by each isa_<name>.c, each time with
 *   ELEMENTWISE_TARGET     the function attribute (empty, or __attribute__((target(...))))
 *   ELEMENTWISE(name)      the file's name for a loop (name##_<isa>)
 * so that one source compiles to the baseline's vectors, to AVX2 or to AVX-512. It defines the
 * loops as static functions and ELEMENTWISE_ENTRIES, the designated initializers of a bnmlp_isa
 * row's element-wise fields.
 *
 * Every loop does, per element, exactly the operations of its row-by-row reference in
 * kernels/reference.c, in the same order (sums over the batch add their rows in ascending order,
 * core/columns.h), and the library is compiled without floating-point contraction, so every
 * instruction set gives the reference's bits (tests/test_batchnorm_kernels.c,
 * tests/test_kernels.c).
 */
#if !defined(ELEMENTWISE_TARGET) || !defined(ELEMENTWISE)
#error "define ELEMENTWISE_TARGET and ELEMENTWISE before including elementwise_body.h"
#endif

#include <stdbool.h>
#include <stddef.h>

#include "core/columns.h"
#include "kernels/activations.h"
#include "kernels/kernels.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* Features handled at once, with per-feature values (scales, means) on the stack. */
#define ELEMENTWISE_BLOCK 64

/* ---- column sums (bias gradient, batch-norm means) ------------------------------------------- */

/* An includer with its own column reductions and batch-norm passes (column_sums,
 * batchnorm_squares, batchnorm_statistics, batchnorm_normalize, batchnorm_backward_sums,
 * batchnorm_finish_backward; the generic rows take the reference's batchnorm_statistics: a loop
 * of divisions and square roots that C's errno keeps scalar)
 * defines ELEMENTWISE_BATCHNORM_ENTRIES as their designated initializers; the generic ones below
 * are then left out. */
#if !defined(ELEMENTWISE_BATCHNORM_ENTRIES)

#if defined(BNMLP_COLUMN_VECTORS)
/* sums (columns of `vectors` vectors, the last holding `tail`) += the column sums of x (batch,
 * stride). */
BNMLP_BLOCK_INLINE void ELEMENTWISE(sums_block)(double *sums, const float *x, size_t batch, size_t stride,
                                                size_t vectors, size_t tail) {
    bnmlp_double4 acc[BNMLP_MAX_VECTORS], v;
    for (size_t k = 0; k < vectors; k++) BNMLP_LOAD_AT(&acc[k], sums + k * BNMLP_LANES, k, vectors, tail);
    for (size_t r = 0; r < batch; r++)
        for (size_t k = 0; k < vectors; k++)
            BNMLP_WIDEN_AT(&v, x + r * stride + k * BNMLP_LANES, k, vectors, tail), acc[k] += v;
    for (size_t k = 0; k < vectors; k++) BNMLP_STORE_AT(sums + k * BNMLP_LANES, &acc[k], k, vectors, tail);
}
#endif

ELEMENTWISE_TARGET
static void ELEMENTWISE(column_sums)(double *sums, const float *x, size_t batch, size_t stride,
                                     size_t width) {
#if defined(BNMLP_COLUMN_VECTORS)
#define SUMS_BLOCK(c0, vectors, tail)                                                                        \
    ELEMENTWISE(sums_block)(sums + (c0), x + (c0), batch, stride, vectors, tail)
    BNMLP_FOR_COLUMN_BLOCKS(width, 8, SUMS_BLOCK);
#undef SUMS_BLOCK
#else
    bnmlp_kernel_column_sums_reference(sums, x, batch, stride, width);
#endif
}

/* ---- batch norm: training-mode statistics ----------------------------------------------------- */

#if defined(BNMLP_COLUMN_VECTORS)
/* squares (a block as in sums_block) += the column sums of (x - mean)^2. */
BNMLP_BLOCK_INLINE void ELEMENTWISE(squares_block)(double *squares, const float *x, const double *mean,
                                                   size_t batch, size_t stride, size_t vectors, size_t tail) {
    bnmlp_double4 acc[BNMLP_MAX_VECTORS], m[BNMLP_MAX_VECTORS], v;
    for (size_t k = 0; k < vectors; k++) {
        BNMLP_LOAD_AT(&acc[k], squares + k * BNMLP_LANES, k, vectors, tail);
        BNMLP_LOAD_AT(&m[k], mean + k * BNMLP_LANES, k, vectors, tail);
    }
    for (size_t r = 0; r < batch; r++)
        for (size_t k = 0; k < vectors; k++) {
            BNMLP_WIDEN_AT(&v, x + r * stride + k * BNMLP_LANES, k, vectors, tail);
            const bnmlp_double4 d = v - m[k];
            acc[k] += d * d;
        }
    for (size_t k = 0; k < vectors; k++) BNMLP_STORE_AT(squares + k * BNMLP_LANES, &acc[k], k, vectors, tail);
}
#endif

ELEMENTWISE_TARGET
static void ELEMENTWISE(batchnorm_squares)(double *squares, const float *x, const double *mean, size_t batch,
                                           size_t stride, size_t width) {
#if defined(BNMLP_COLUMN_VECTORS)
#define SQUARES_BLOCK(c0, vectors, tail)                                                                     \
    ELEMENTWISE(squares_block)(squares + (c0), x + (c0), mean + (c0), batch, stride, vectors, tail)
    BNMLP_FOR_COLUMN_BLOCKS(width, 8, SQUARES_BLOCK);
#undef SQUARES_BLOCK
#else
    bnmlp_batchnorm_partial_squares_reference(squares, x, mean, batch, stride, width);
#endif
}

/* ---- batch norm: normalize (both modes) ------------------------------------------------------- */

ELEMENTWISE_TARGET
static void ELEMENTWISE(batchnorm_normalize)(float *y, const float *x, const float *mean, const float *rstd,
                                             const float *gamma, const float *beta, size_t batch,
                                             size_t stride, size_t width) {
    for (size_t c0 = 0; c0 < width; c0 += ELEMENTWISE_BLOCK) {
        const size_t w = width - c0 < ELEMENTWISE_BLOCK ? width - c0 : ELEMENTWISE_BLOCK;
        float scale[ELEMENTWISE_BLOCK], shift[ELEMENTWISE_BLOCK]; /* gamma and beta, or 1 and 0 */
        for (size_t c = 0; c < w; c++) {
            scale[c] = gamma ? gamma[c0 + c] : 1.0f;
            shift[c] = beta ? beta[c0 + c] : 0.0f;
        }
        const float *m = mean + c0, *s = rstd + c0;
        for (size_t r = 0; r < batch; r++) {
            const float *in = x + r * stride + c0;
            float *out = y + r * stride + c0;
            for (size_t c = 0; c < w; c++) out[c] = scale[c] * ((in[c] - m[c]) * s[c]) + shift[c];
        }
    }
}

/* ---- batch norm: backward ----------------------------------------------------------------------- */

#if defined(BNMLP_COLUMN_VECTORS)
/* sum_dy (a block as in sums_block) += sum(dy), sum_dy_xhat += sum(dy * xhat) over the rows. */
BNMLP_BLOCK_INLINE void ELEMENTWISE(backward_sums_block)(double *sum_dy, double *sum_dy_xhat, const float *dy,
                                                         const float *x, const float *mean, const float *rstd,
                                                         size_t batch, size_t stride, size_t vectors,
                                                         size_t tail) {
    bnmlp_double4 s[BNMLP_MAX_VECTORS], t[BNMLP_MAX_VECTORS], m[BNMLP_MAX_VECTORS], k[BNMLP_MAX_VECTORS], g,
        in;
    for (size_t j = 0; j < vectors; j++) {
        BNMLP_LOAD_AT(&s[j], sum_dy + j * BNMLP_LANES, j, vectors, tail);
        BNMLP_LOAD_AT(&t[j], sum_dy_xhat + j * BNMLP_LANES, j, vectors, tail);
        BNMLP_WIDEN_AT(&m[j], mean + j * BNMLP_LANES, j, vectors, tail);
        BNMLP_WIDEN_AT(&k[j], rstd + j * BNMLP_LANES, j, vectors, tail);
    }
    for (size_t r = 0; r < batch; r++)
        for (size_t j = 0; j < vectors; j++) {
            BNMLP_WIDEN_AT(&g, dy + r * stride + j * BNMLP_LANES, j, vectors, tail);
            BNMLP_WIDEN_AT(&in, x + r * stride + j * BNMLP_LANES, j, vectors, tail);
            const bnmlp_double4 xhat = (in - m[j]) * k[j];
            s[j] += g;
            t[j] += g * xhat;
        }
    for (size_t j = 0; j < vectors; j++) {
        BNMLP_STORE_AT(sum_dy + j * BNMLP_LANES, &s[j], j, vectors, tail);
        BNMLP_STORE_AT(sum_dy_xhat + j * BNMLP_LANES, &t[j], j, vectors, tail);
    }
}
#endif

ELEMENTWISE_TARGET
static void ELEMENTWISE(batchnorm_backward_sums)(double *sum_dy, double *sum_dy_xhat, const float *dy,
                                                 const float *x, const float *mean, const float *rstd,
                                                 size_t batch, size_t stride, size_t width) {
#if defined(BNMLP_COLUMN_VECTORS)
#define BACKWARD_BLOCK(c0, vectors, tail)                                                                    \
    ELEMENTWISE(backward_sums_block)                                                                         \
    (sum_dy + (c0), sum_dy_xhat + (c0), dy + (c0), x + (c0), mean + (c0), rstd + (c0), batch, stride,        \
     vectors, tail)
    BNMLP_FOR_COLUMN_BLOCKS(width, 4, BACKWARD_BLOCK);
#undef BACKWARD_BLOCK
#else
    bnmlp_batchnorm_partial_backward_reference(sum_dy, sum_dy_xhat, dy, x, mean, rstd, batch, stride, width);
#endif
}

ELEMENTWISE_TARGET
static void ELEMENTWISE(batchnorm_finish_backward)(float *dx, const double *sum_dy, const double *sum_dy_xhat,
                                                   const float *dy, const float *x, const float *mean,
                                                   const float *rstd, const float *gamma, double count,
                                                   size_t batch, size_t stride, size_t width) {
    /* dx = gamma * rstd * (dy - mean(dy) - xhat * mean(dy * xhat)): the first term passes dy
     * through, the second removes what moved the batch mean, the third what moved the batch
     * variance. The means are over all `count` rows of the batch (every process's), formed in
     * double from the double sums; the per-element arithmetic is float32, as xhat is in the
     * forward. */
    for (size_t c0 = 0; c0 < width; c0 += ELEMENTWISE_BLOCK) {
        const size_t w = width - c0 < ELEMENTWISE_BLOCK ? width - c0 : ELEMENTWISE_BLOCK;
        const float *m = mean + c0, *s = rstd + c0;
        float scale[ELEMENTWISE_BLOCK], mean_dy[ELEMENTWISE_BLOCK], mean_dy_xhat[ELEMENTWISE_BLOCK];
        for (size_t c = 0; c < w; c++) {
            scale[c] = (float)((gamma ? (double)gamma[c0 + c] : 1.0) * s[c]);
            mean_dy[c] = (float)(sum_dy[c0 + c] / count);
            mean_dy_xhat[c] = (float)(sum_dy_xhat[c0 + c] / count);
        }
        for (size_t r = 0; r < batch; r++) {
            const float *g = dy + r * stride + c0, *in = x + r * stride + c0;
            float *out = dx + r * stride + c0;
            for (size_t c = 0; c < w; c++) {
                const float xhat = (in[c] - m[c]) * s[c];
                out[c] = scale[c] * ((g[c] - mean_dy[c]) - xhat * mean_dy_xhat[c]);
            }
        }
    }
}

#endif /* !ELEMENTWISE_BATCHNORM_ENTRIES */

ELEMENTWISE_TARGET
static void ELEMENTWISE(batchnorm_inference_gradient)(float *dx, const float *dy, const float *rstd,
                                                      const float *gamma, size_t batch, size_t stride,
                                                      size_t width) {
    /* With fixed statistics the layer is an affine map per feature: dx = dy * gamma * rstd. */
    for (size_t c0 = 0; c0 < width; c0 += ELEMENTWISE_BLOCK) {
        const size_t w = width - c0 < ELEMENTWISE_BLOCK ? width - c0 : ELEMENTWISE_BLOCK;
        float scale[ELEMENTWISE_BLOCK];
        for (size_t c = 0; c < w; c++) scale[c] = (gamma ? gamma[c0 + c] : 1.0f) * rstd[c0 + c];
        for (size_t r = 0; r < batch; r++) {
            const float *g = dy + r * stride + c0;
            float *out = dx + r * stride + c0;
            for (size_t c = 0; c < w; c++) out[c] = g[c] * scale[c];
        }
    }
}

/* ---- batch norm with a ReLU fused after it ------------------------------------------------------ */
/* The passes above with relu's formulas inline: the forward writes z = relu(y) and never y; the
 * backward reads the ReLU's dz and z and takes dy = z > 0 ? dz : 0 (relu's backward; z > 0
 * exactly where y > 0), so the pair costs one pass each way instead of two. Per element the
 * operations of the references in reference.c. An includer may set its own entries through
 * ELEMENTWISE_BN_RELU_ENTRIES (these loops are then unused: the unused attribute keeps them quiet). */

/* Features of one block of the per-element passes (their constants on the stack: long runs of
 * each row, which the prefetchers follow) and rows of one group of the sums. */
#define ELEMENTWISE_FUSED_BLOCK 512
#define ELEMENTWISE_SUM_ROWS 4

#if defined(__GNUC__)
#define ELEMENTWISE_MAYBE_UNUSED __attribute__((unused))
#else
#define ELEMENTWISE_MAYBE_UNUSED
#endif

ELEMENTWISE_TARGET ELEMENTWISE_MAYBE_UNUSED static void
ELEMENTWISE(batchnorm_normalize_relu)(float *z, const float *x, const float *mean, const float *rstd,
                                      const float *gamma, const float *beta, size_t batch, size_t stride,
                                      size_t width) {
    for (size_t c0 = 0; c0 < width; c0 += ELEMENTWISE_FUSED_BLOCK) {
        const size_t w = width - c0 < ELEMENTWISE_FUSED_BLOCK ? width - c0 : ELEMENTWISE_FUSED_BLOCK;
        float scale[ELEMENTWISE_FUSED_BLOCK], shift[ELEMENTWISE_FUSED_BLOCK]; /* gamma and beta, or 1 and 0 */
        for (size_t c = 0; c < w; c++) {
            scale[c] = gamma ? gamma[c0 + c] : 1.0f;
            shift[c] = beta ? beta[c0 + c] : 0.0f;
        }
        const float *m = mean + c0, *s = rstd + c0;
        for (size_t r = 0; r < batch; r++) {
            const float *in = x + r * stride + c0;
            float *out = z + r * stride + c0;
            for (size_t c = 0; c < w; c++) {
                const float y = scale[c] * ((in[c] - m[c]) * s[c]) + shift[c];
                out[c] = bnmlp_activation_relu_forward(y, 0.0f);
            }
        }
    }
}

ELEMENTWISE_TARGET ELEMENTWISE_MAYBE_UNUSED static void
ELEMENTWISE(batchnorm_backward_sums_relu)(double *sum_dy, double *sum_dy_xhat, const float *dz,
                                          const float *z, const float *x, const float *mean,
                                          const float *rstd, size_t batch, size_t stride, size_t width) {
    /* Groups of rows over the whole width, the sums in the caller's arrays between groups: each
     * column still adds its rows in ascending order. */
    for (size_t r0 = 0; r0 < batch; r0 += ELEMENTWISE_SUM_ROWS) {
        const size_t rows = batch - r0 < ELEMENTWISE_SUM_ROWS ? batch - r0 : ELEMENTWISE_SUM_ROWS;
        const size_t base = r0 * stride;
        size_t c = 0;
#if defined(BNMLP_COLUMN_VECTORS)
        const bnmlp_double4 zero = {0.0, 0.0, 0.0, 0.0};
        for (; c + BNMLP_LANES <= width; c += BNMLP_LANES) {
            bnmlp_double4 s, t, m, k, g, out, in;
            bnmlp_load4(&s, sum_dy + c), bnmlp_load4(&t, sum_dy_xhat + c);
            bnmlp_widen4(&m, mean + c), bnmlp_widen4(&k, rstd + c);
            for (size_t r = 0; r < rows; r++) {
                const size_t at = base + r * stride + c;
                bnmlp_widen4(&g, dz + at), bnmlp_widen4(&out, z + at), bnmlp_widen4(&in, x + at);
                /* relu's backward selected in double (widening keeps the sign test, and the
                 * float +0 the unfused pass widens is the double +0) */
                const __typeof__(out > zero) positive = out > zero;
                g = (bnmlp_double4)((__typeof__(positive))g & positive);
                const bnmlp_double4 xhat = (in - m) * k;
                s += g;
                t += g * xhat;
            }
            bnmlp_store4(sum_dy + c, &s), bnmlp_store4(sum_dy_xhat + c, &t);
        }
#endif
        for (; c < width; c++) /* the columns left: the reference's loop */
            bnmlp_batchnorm_partial_backward_relu_reference(sum_dy + c, sum_dy_xhat + c, dz + base + c,
                                                            z + base + c, x + base + c, mean + c, rstd + c,
                                                            rows, stride, 1);
    }
}

ELEMENTWISE_TARGET ELEMENTWISE_MAYBE_UNUSED static void
ELEMENTWISE(batchnorm_finish_backward_relu)(float *dx, const double *sum_dy, const double *sum_dy_xhat,
                                            const float *dz, const float *z, const float *x,
                                            const float *mean, const float *rstd, const float *gamma,
                                            double count, size_t batch, size_t stride, size_t width) {
    for (size_t c0 = 0; c0 < width; c0 += ELEMENTWISE_FUSED_BLOCK) {
        const size_t w = width - c0 < ELEMENTWISE_FUSED_BLOCK ? width - c0 : ELEMENTWISE_FUSED_BLOCK;
        const float *m = mean + c0, *s = rstd + c0;
        float scale[ELEMENTWISE_FUSED_BLOCK], mean_dy[ELEMENTWISE_FUSED_BLOCK],
            mean_dy_xhat[ELEMENTWISE_FUSED_BLOCK];
        for (size_t c = 0; c < w; c++) {
            scale[c] = (float)((gamma ? (double)gamma[c0 + c] : 1.0) * s[c]);
            mean_dy[c] = (float)(sum_dy[c0 + c] / count);
            mean_dy_xhat[c] = (float)(sum_dy_xhat[c0 + c] / count);
        }
        for (size_t r = 0; r < batch; r++) {
            const float *d = dz + r * stride + c0, *o = z + r * stride + c0, *in = x + r * stride + c0;
            float *out = dx + r * stride + c0;
            for (size_t c = 0; c < w; c++) {
                const float g = bnmlp_activation_relu_backward(d[c], o[c], 0.0f, 0.0f);
                const float xhat = (in[c] - m[c]) * s[c];
                out[c] = scale[c] * ((g - mean_dy[c]) - xhat * mean_dy_xhat[c]);
            }
        }
    }
}

ELEMENTWISE_TARGET ELEMENTWISE_MAYBE_UNUSED static void
ELEMENTWISE(batchnorm_inference_gradient_relu)(float *dx, const float *dz, const float *z, const float *rstd,
                                               const float *gamma, size_t batch, size_t stride,
                                               size_t width) {
    for (size_t c0 = 0; c0 < width; c0 += ELEMENTWISE_BLOCK) {
        const size_t w = width - c0 < ELEMENTWISE_BLOCK ? width - c0 : ELEMENTWISE_BLOCK;
        float scale[ELEMENTWISE_BLOCK];
        for (size_t c = 0; c < w; c++) scale[c] = (gamma ? gamma[c0 + c] : 1.0f) * rstd[c0 + c];
        for (size_t r = 0; r < batch; r++) {
            const float *d = dz + r * stride + c0, *o = z + r * stride + c0;
            float *out = dx + r * stride + c0;
            for (size_t c = 0; c < w; c++)
                out[c] = bnmlp_activation_relu_backward(d[c], o[c], 0.0f, 0.0f) * scale[c];
        }
    }
}

/* ---- the SGD update ------------------------------------------------------------------------------ */

/* bnmlp_sgd_update_function's loop with the flags fixed (each instance keeps no test in its body
 * and vectorizes); the finiteness test is a compare of |x| with FLT_MAX (NaN compares false). */
BNMLP_BLOCK_INLINE bool ELEMENTWISE(sgd_loop)(float *w_out, float *v_out, const float *w, const float *v,
                                              const float *g, size_t n, float lr, float momentum, float decay,
                                              bool nesterov, bool fresh, bool decays) {
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        const float wi = w[i], vi = fresh ? 0.0f : v[i];
        const float gi = decays ? g[i] + decay * wi : g[i];
        const float velocity = momentum * vi - lr * gi;
        const float wn = nesterov ? wi + (momentum * velocity - lr * gi) : wi + velocity;
        w_out[i] = wn;
        v_out[i] = velocity;
        bad |= !(__builtin_fabsf(wn) <= __FLT_MAX__) | !(__builtin_fabsf(velocity) <= __FLT_MAX__);
    }
    return !bad;
}

ELEMENTWISE_TARGET
static bool ELEMENTWISE(sgd_update)(float *w_out, float *v_out, const float *w, const float *v,
                                    const float *g, size_t n, const bnmlp_sgd_step *step) {
    const float lr = step->learning_rate, m = step->momentum, d = step->decay;
#define SGD_LOOP(nesterov, fresh, decays)                                                                    \
    ELEMENTWISE(sgd_loop)(w_out, v_out, w, v, g, n, lr, m, d, nesterov, fresh, decays)
#define SGD_LOOPS(nesterov, fresh)                                                                           \
    (d != 0.0f ? SGD_LOOP(nesterov, fresh, true) : SGD_LOOP(nesterov, fresh, false))
    if (step->nesterov) return step->fresh ? SGD_LOOPS(true, true) : SGD_LOOPS(true, false);
    return step->fresh ? SGD_LOOPS(false, true) : SGD_LOOPS(false, false);
#undef SGD_LOOPS
#undef SGD_LOOP
}

/* ---- the optimizers' loops: iterations independent ----------------------------------------------- */

/* Around a loop whose element i reads and writes index i only (outputs alias inputs, if at all,
 * element by element), so no iteration depends on another: says so to the compiler. Without it,
 * clang gives up on the runtime overlap checks of the optimizers' six to nine arrays, and gcc
 * keeps only the instances with few enough of them (Adam's ran scalar on every step but the
 * first). Instrumented clang builds (sanitizers, coverage) may still not vectorize: not an
 * error there. */
#if defined(__clang__)
#define ELEMENTWISE_INDEPENDENT_BEGIN                                                                        \
    _Pragma("clang diagnostic push") _Pragma("clang diagnostic ignored \"-Wpass-failed\"")                   \
        _Pragma("clang loop vectorize(assume_safety)")
#define ELEMENTWISE_INDEPENDENT_END _Pragma("clang diagnostic pop")
#elif defined(__GNUC__)
#define ELEMENTWISE_INDEPENDENT_BEGIN _Pragma("GCC ivdep")
#define ELEMENTWISE_INDEPENDENT_END
#else
#define ELEMENTWISE_INDEPENDENT_BEGIN
#define ELEMENTWISE_INDEPENDENT_END
#endif

/* ---- the Adam update ----------------------------------------------------------------------------- */

/* bnmlp_adam_update_function's loop with the flags fixed. Its square root vectorizes because the
 * instruction-set files are compiled with -fno-math-errno (CMakeLists.txt): sqrt is correctly
 * rounded either way, only the errno side effect for negative inputs is dropped. */
BNMLP_BLOCK_INLINE bool ELEMENTWISE(adam_loop)(float *w_out, float *m_out, float *v_out, const float *w,
                                               const float *m, const float *v, const float *g, size_t n,
                                               const bnmlp_adam_step *step, bool pytorch, bool fresh,
                                               bool shrinks, bool l2s) {
    const float beta1 = step->beta1, beta2 = step->beta2, epsilon = step->epsilon;
    const float step_size = step->step_size, correction2_sqrt = step->correction2_sqrt;
    const float l2 = step->l2, shrink = step->shrink;
    int bad = 0;
    ELEMENTWISE_INDEPENDENT_BEGIN
    for (size_t i = 0; i < n; i++) {
        float wi = shrinks ? w[i] * shrink : w[i];
        const float gi = l2s ? g[i] + l2 * w[i] : g[i];
        const float mi = (fresh ? 0.0f : m[i]) * beta1 + (1.0f - beta1) * gi;
        const float vi = (fresh ? 0.0f : v[i]) * beta2 + (1.0f - beta2) * gi * gi;
        if (pytorch)
            wi = wi + -step_size * (mi / (__builtin_sqrtf(vi) / correction2_sqrt + epsilon));
        else
            wi = wi - step_size * mi / (__builtin_sqrtf(vi) + epsilon);
        w_out[i] = wi;
        m_out[i] = mi;
        v_out[i] = vi;
        bad |= !(__builtin_fabsf(wi) <= __FLT_MAX__) | !(__builtin_fabsf(mi) <= __FLT_MAX__) |
               !(__builtin_fabsf(vi) <= __FLT_MAX__);
    }
    ELEMENTWISE_INDEPENDENT_END
    return !bad;
}

ELEMENTWISE_TARGET
static bool ELEMENTWISE(adam_update)(float *w_out, float *m_out, float *v_out, const float *w, const float *m,
                                     const float *v, const float *g, size_t n, const bnmlp_adam_step *step) {
    const bool shrinks = step->shrink != 1.0f, l2s = step->l2 != 0.0f;
#define ADAM_LOOP(pytorch, fresh)                                                                            \
    (shrinks ? (l2s ? ELEMENTWISE(adam_loop)(w_out, m_out, v_out, w, m, v, g, n, step, pytorch, fresh, true, \
                                             true)                                                           \
                    : ELEMENTWISE(adam_loop)(w_out, m_out, v_out, w, m, v, g, n, step, pytorch, fresh, true, \
                                             false))                                                         \
             : (l2s ? ELEMENTWISE(adam_loop)(w_out, m_out, v_out, w, m, v, g, n, step, pytorch, fresh,       \
                                             false, true)                                                    \
                    : ELEMENTWISE(adam_loop)(w_out, m_out, v_out, w, m, v, g, n, step, pytorch, fresh,       \
                                             false, false)))
    if (step->pytorch_epsilon) return step->fresh ? ADAM_LOOP(true, true) : ADAM_LOOP(true, false);
    return step->fresh ? ADAM_LOOP(false, true) : ADAM_LOOP(false, false);
#undef ADAM_LOOP
}

/* ---- the RMSprop update -------------------------------------------------------------------------- */

/* bnmlp_rmsprop_update_function's loop with the flags fixed; vectorized as the Adam loop is. */
BNMLP_BLOCK_INLINE bool ELEMENTWISE(rmsprop_loop)(float *w_out, float *s_out, float *a_out, float *b_out,
                                                  const float *w, const float *s, const float *a,
                                                  const float *b, const float *g, size_t n,
                                                  const bnmlp_rmsprop_step *step, bool centered,
                                                  bool momentum, bool fresh, bool decays) {
    const float alpha = step->alpha, rest = 1.0f - step->alpha, lr = step->learning_rate;
    const float epsilon = step->epsilon, beta = step->momentum, decay = step->decay;
    int bad = 0;
    ELEMENTWISE_INDEPENDENT_BEGIN
    for (size_t i = 0; i < n; i++) {
        const float gi = decays ? g[i] + decay * w[i] : g[i];
        const float si = (fresh ? 0.0f : s[i]) * alpha + rest * gi * gi;
        float ai = 0.0f, bi = 0.0f, wi, root;
        if (centered) {
            ai = (fresh ? 0.0f : a[i]) * alpha + rest * gi;
            root = __builtin_sqrtf(si - ai * ai) + epsilon;
        } else {
            root = __builtin_sqrtf(si) + epsilon;
        }
        if (momentum) {
            bi = (fresh ? 0.0f : b[i]) * beta + gi / root;
            wi = w[i] + -lr * bi;
        } else {
            wi = w[i] + -lr * (gi / root);
        }
        bad |= !(__builtin_fabsf(wi) <= __FLT_MAX__) | !(__builtin_fabsf(si) <= __FLT_MAX__) |
               !(__builtin_fabsf(ai) <= __FLT_MAX__) | !(__builtin_fabsf(bi) <= __FLT_MAX__);
        w_out[i] = wi;
        s_out[i] = si;
        a_out[i] = centered ? ai : fresh ? 0.0f : a[i];
        b_out[i] = momentum ? bi : fresh ? 0.0f : b[i];
    }
    ELEMENTWISE_INDEPENDENT_END
    return !bad;
}

ELEMENTWISE_TARGET
static bool ELEMENTWISE(rmsprop_update)(float *w_out, float *s_out, float *a_out, float *b_out,
                                        const float *w, const float *s, const float *a, const float *b,
                                        const float *g, size_t n, const bnmlp_rmsprop_step *step) {
    const bool momentum = step->momentum > 0.0f, decays = step->decay != 0.0f;
#define RMSPROP_LOOP(centered, fresh, momentum_, decays_)                                                    \
    ELEMENTWISE(rmsprop_loop)                                                                                \
    (w_out, s_out, a_out, b_out, w, s, a, b, g, n, step, centered, momentum_, fresh, decays_)
#define RMSPROP_LOOPS(centered, fresh)                                                                       \
    (momentum                                                                                                \
         ? (decays ? RMSPROP_LOOP(centered, fresh, true, true) : RMSPROP_LOOP(centered, fresh, true, false)) \
         : (decays ? RMSPROP_LOOP(centered, fresh, false, true)                                              \
                   : RMSPROP_LOOP(centered, fresh, false, false)))
    if (step->centered) return step->fresh ? RMSPROP_LOOPS(true, true) : RMSPROP_LOOPS(true, false);
    return step->fresh ? RMSPROP_LOOPS(false, true) : RMSPROP_LOOPS(false, false);
#undef RMSPROP_LOOPS
#undef RMSPROP_LOOP
}

/* ---- activations: one forward and one backward loop per element-wise row of the table --------- */

/* The loops of an element-wise row: the row's formulas over n elements. The backward loop reads
 * x and y only when the row's backward uses them (a compile-time constant), so they may be NULL
 * otherwise. */
#define ELEMENTWISE_LOOPS_ELEMENTWISE(id, uses)                                                              \
    ELEMENTWISE_TARGET                                                                                       \
    static void ELEMENTWISE(activation_##id##_forward)(float *y, const float *x, size_t n, float alpha) {    \
        for (size_t i = 0; i < n; i++) y[i] = bnmlp_activation_##id##_forward(x[i], alpha);                  \
    }                                                                                                        \
    ELEMENTWISE_TARGET                                                                                       \
    static void ELEMENTWISE(activation_##id##_backward)(float *dx, const float *dy, const float *x,          \
                                                        const float *y, size_t n, float alpha) {             \
        for (size_t i = 0; i < n; i++) {                                                                     \
            const float g = dy[i];                                                                           \
            const float in = ((uses)&BNMLP_ACTIVATION_USES_INPUT) ? x[i] : 0.0f;                             \
            const float out = ((uses)&BNMLP_ACTIVATION_USES_OUTPUT) ? y[i] : 0.0f;                           \
            dx[i] = bnmlp_activation_##id##_backward(g, in, out, alpha);                                     \
        }                                                                                                    \
    }
#define ELEMENTWISE_LOOPS_ROWWISE(id, uses) /* row-wise rows have no element-wise loops */
#define ELEMENTWISE_LOOPS_(KIND, id, name, alias, alpha, uses, shape) ELEMENTWISE_LOOPS_##shape(id, uses)
BNMLP_ACTIVATION_TABLE(ELEMENTWISE_LOOPS_)
#undef ELEMENTWISE_LOOPS_

/* The activation entries of a row: [KIND] = the loop, for the element-wise rows. */
#define ELEMENTWISE_FORWARD_ELEMENTWISE(KIND, id) [KIND] = ELEMENTWISE(activation_##id##_forward),
#define ELEMENTWISE_BACKWARD_ELEMENTWISE(KIND, id) [KIND] = ELEMENTWISE(activation_##id##_backward),
#define ELEMENTWISE_FORWARD_ROWWISE(KIND, id)
#define ELEMENTWISE_BACKWARD_ROWWISE(KIND, id)
#define ELEMENTWISE_FORWARD_(KIND, id, name, alias, alpha, uses, shape) ELEMENTWISE_FORWARD_##shape(KIND, id)
#define ELEMENTWISE_BACKWARD_(KIND, id, name, alias, alpha, uses, shape)                                     \
    ELEMENTWISE_BACKWARD_##shape(KIND, id)

#if !defined(ELEMENTWISE_BN_RELU_ENTRIES)
#define ELEMENTWISE_BN_RELU_ENTRIES                                                                          \
    .batchnorm_normalize_relu = ELEMENTWISE(batchnorm_normalize_relu),                                       \
    .batchnorm_backward_sums_relu = ELEMENTWISE(batchnorm_backward_sums_relu),                               \
    .batchnorm_finish_backward_relu = ELEMENTWISE(batchnorm_finish_backward_relu),                           \
    .batchnorm_inference_gradient_relu = ELEMENTWISE(batchnorm_inference_gradient_relu)
#endif
/* The element-wise fields of a bnmlp_isa row, as designated initializers. */
#if !defined(ELEMENTWISE_BATCHNORM_ENTRIES)
#define ELEMENTWISE_BATCHNORM_ENTRIES                                                                        \
    .column_sums = ELEMENTWISE(column_sums), .batchnorm_squares = ELEMENTWISE(batchnorm_squares),            \
    .batchnorm_statistics = bnmlp_batchnorm_statistics_reference,                                            \
    .batchnorm_normalize = ELEMENTWISE(batchnorm_normalize),                                                 \
    .batchnorm_backward_sums = ELEMENTWISE(batchnorm_backward_sums),                                         \
    .batchnorm_finish_backward = ELEMENTWISE(batchnorm_finish_backward)
#endif
#define ELEMENTWISE_ENTRIES                                                                                  \
    ELEMENTWISE_BATCHNORM_ENTRIES, ELEMENTWISE_BN_RELU_ENTRIES,                                              \
        .batchnorm_inference_gradient = ELEMENTWISE(batchnorm_inference_gradient),                           \
        .activation_forward = {BNMLP_ACTIVATION_TABLE(ELEMENTWISE_FORWARD_)},                                \
        .activation_backward = {BNMLP_ACTIVATION_TABLE(ELEMENTWISE_BACKWARD_)},                              \
        .sgd_update = ELEMENTWISE(sgd_update), .adam_update = ELEMENTWISE(adam_update),                      \
        .rmsprop_update = ELEMENTWISE(rmsprop_update)
