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

void bnmlp_kernel_matmul_bias(float *y, const float *x, const float *w, const float *b, size_t batch,
                              size_t in, size_t out) {
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
    /* The reference is already contiguous in both operands (a dot product per element). */
    bnmlp_kernel_matmul_nt_reference(dx, dy, w, batch, in, out);
}

/* ---- column sums ------------------------------------------------------------------------------ */

void bnmlp_kernel_column_sums_accumulate(float *sums, const float *m, size_t batch, size_t cols) {
    for (size_t c = 0; c < cols; c++) {
        double acc = 0.0;
        for (size_t r = 0; r < batch; r++) acc += (double)m[r * cols + c];
        sums[c] += (float)acc;
    }
}
