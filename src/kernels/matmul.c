/*
 * matmul.c - the dense layer's three matrix products and the bias reduction.
 *
 * The reference versions are the plain triple loops. The dispatch versions reorder the loops so
 * the innermost runs over contiguous memory (and vectorizes), with the same order of additions
 * per output element where the reduction is over the batch, so that results stay reproducible.
 */
#include "kernels/kernels.h"

#include <string.h>

/* ---- y = x w + b ------------------------------------------------------------------------- */

void bnmlp_kernel_matmul_bias_reference(float *y, const float *x, const float *w, const float *b,
                                        size_t batch, size_t in, size_t out) {
    for (size_t r = 0; r < batch; r++) {
        for (size_t o = 0; o < out; o++) {
            float acc = b ? b[o] : 0.0f;
            for (size_t i = 0; i < in; i++) acc += x[r * in + i] * w[i * out + o];
            y[r * out + o] = acc;
        }
    }
}

/* Outputs narrower than this take the dot-product path (the axpy form's inner loop would be
 * too short to pay for itself; binary classifiers end in a width of 1). */
#define NARROW 8
/* Rows the narrow path handles at once: independent sums that hide the add latency. */
#define ROWS_AT_ONCE 4

/* Narrow y = x w + b: each y[r, o] sums its terms in the reference's order (bias, then i
 * ascending); ROWS_AT_ONCE rows run side by side. */
static void matmul_bias_narrow(float *y, const float *x, const float *w, const float *b, size_t batch,
                               size_t in, size_t out) {
    size_t r = 0;
    for (; r + ROWS_AT_ONCE <= batch; r += ROWS_AT_ONCE) {
        const float *x0 = x + r * in;
        for (size_t o = 0; o < out; o++) {
            float acc[ROWS_AT_ONCE];
            for (size_t k = 0; k < ROWS_AT_ONCE; k++) acc[k] = b ? b[o] : 0.0f;
            for (size_t i = 0; i < in; i++) {
                const float wi = w[i * out + o];
                for (size_t k = 0; k < ROWS_AT_ONCE; k++) acc[k] += x0[k * in + i] * wi;
            }
            for (size_t k = 0; k < ROWS_AT_ONCE; k++) y[(r + k) * out + o] = acc[k];
        }
    }
    if (r < batch) bnmlp_kernel_matmul_bias_reference(y + r * out, x + r * in, w, b, batch - r, in, out);
}

void bnmlp_kernel_matmul_bias(float *y, const float *x, const float *w, const float *b, size_t batch,
                              size_t in, size_t out) {
    if (out < NARROW) {
        matmul_bias_narrow(y, x, w, b, batch, in, out);
        return;
    }
    /* Row by row: y[r, :] = b + sum_i x[r, i] * w[i, :]; the inner loop is contiguous in w and
     * y, and each element sums its terms in the same order (i ascending) as the reference. */
    for (size_t r = 0; r < batch; r++) {
        float *y_row = y + r * out;
        const float *x_row = x + r * in;
        if (b)
            memcpy(y_row, b, out * sizeof *y_row);
        else
            memset(y_row, 0, out * sizeof *y_row);
        for (size_t i = 0; i < in; i++) {
            const float xi = x_row[i];
            const float *w_row = w + i * out;
            for (size_t o = 0; o < out; o++) y_row[o] += xi * w_row[o];
        }
    }
}

/* ---- dw += x^T dy -------------------------------------------------------------------------- */

void bnmlp_kernel_matmul_tn_accumulate_reference(float *dw, const float *x, const float *dy,
                                                 size_t batch, size_t in, size_t out) {
    for (size_t i = 0; i < in; i++) {
        for (size_t o = 0; o < out; o++) {
            double acc = 0.0;
            for (size_t r = 0; r < batch; r++) acc += (double)x[r * in + i] * (double)dy[r * out + o];
            dw[i * out + o] += (float)acc;
        }
    }
}

/* Widest row of dw accumulated at once in double on the stack. */
#define TN_BLOCK 256

void bnmlp_kernel_matmul_tn_accumulate(float *dw, const float *x, const float *dy, size_t batch,
                                       size_t in, size_t out) {
    if (out == 1 && in <= TN_BLOCK) {
        /* A single column: dw[i] += sum_r x[r, i] dy[r], rows outermost so the inner loop runs
         * along x's rows; each sum still adds r ascending, as the reference. */
        double acc[TN_BLOCK] = {0};
        for (size_t r = 0; r < batch; r++) {
            const double d = (double)dy[r];
            const float *x_row = x + r * in;
            for (size_t i = 0; i < in; i++) acc[i] += (double)x_row[i] * d;
        }
        for (size_t i = 0; i < in; i++) dw[i] += (float)acc[i];
        return;
    }
    /* For each row i of dw and each block of up to TN_BLOCK columns, sum over the batch in a
     * double accumulator row (r ascending, as the reference), then add once to dw. */
    double acc[TN_BLOCK];
    for (size_t i = 0; i < in; i++) {
        for (size_t o0 = 0; o0 < out; o0 += TN_BLOCK) {
            const size_t width = out - o0 < TN_BLOCK ? out - o0 : TN_BLOCK;
            for (size_t o = 0; o < width; o++) acc[o] = 0.0;
            for (size_t r = 0; r < batch; r++) {
                const double xi = (double)x[r * in + i];
                const float *dy_row = dy + r * out + o0;
                for (size_t o = 0; o < width; o++) acc[o] += xi * (double)dy_row[o];
            }
            float *dw_row = dw + i * out + o0;
            for (size_t o = 0; o < width; o++) dw_row[o] += (float)acc[o];
        }
    }
}

/* ---- dx = dy w^T --------------------------------------------------------------------------- */

void bnmlp_kernel_matmul_nt_reference(float *dx, const float *dy, const float *w, size_t batch,
                                      size_t in, size_t out) {
    for (size_t r = 0; r < batch; r++) {
        for (size_t i = 0; i < in; i++) {
            float acc = 0.0f;
            for (size_t o = 0; o < out; o++) acc += dy[r * out + o] * w[i * out + o];
            dx[r * in + i] = acc;
        }
    }
}

void bnmlp_kernel_matmul_nt(float *dx, const float *dy, const float *w, size_t batch, size_t in,
                            size_t out) {
    if (out >= NARROW) {
        /* Both dy's row and w's row are contiguous over o: a dot product per element. */
        bnmlp_kernel_matmul_nt_reference(dx, dy, w, batch, in, out);
        return;
    }
    /* Narrow: dx[r, :] = sum_o dy[r, o] w[:, o], o ascending as the reference; with out == 1
     * the inner loop is a contiguous scaled copy of w. */
    for (size_t r = 0; r < batch; r++) {
        float *dx_row = dx + r * in;
        const float d0 = dy[r * out];
        for (size_t i = 0; i < in; i++) dx_row[i] = 0.0f + d0 * w[i * out];
        for (size_t o = 1; o < out; o++) {
            const float d = dy[r * out + o];
            for (size_t i = 0; i < in; i++) dx_row[i] += d * w[i * out + o];
        }
    }
}

/* ---- column sums ------------------------------------------------------------------------------ */

void bnmlp_kernel_column_sums_accumulate(float *sums, const float *m, size_t batch, size_t cols) {
    /* A block of double accumulators walks the rows contiguously; each sum adds r ascending. */
    double acc[TN_BLOCK];
    for (size_t c0 = 0; c0 < cols; c0 += TN_BLOCK) {
        const size_t width = cols - c0 < TN_BLOCK ? cols - c0 : TN_BLOCK;
        for (size_t c = 0; c < width; c++) acc[c] = 0.0;
        for (size_t r = 0; r < batch; r++) {
            const float *row = m + r * cols + c0;
            for (size_t c = 0; c < width; c++) acc[c] += (double)row[c];
        }
        for (size_t c = 0; c < width; c++) sums[c0 + c] += (float)acc[c];
    }
}

/* ---- the context ------------------------------------------------------------------------------ */

void bnmlp_kernel_context_init(bnmlp_kernel_context *context) {
    *context = (bnmlp_kernel_context){
        .matmul_bias = bnmlp_kernel_matmul_bias,
        .matmul_tn_accumulate = bnmlp_kernel_matmul_tn_accumulate,
        .matmul_nt = bnmlp_kernel_matmul_nt,
        .column_sums_accumulate = bnmlp_kernel_column_sums_accumulate,
    };
}
