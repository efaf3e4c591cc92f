/* dense.c - the fully connected layer: y = x w + b. */
#include "layers/layers.h"

#include "kernels/kernels.h"

void bnmlp_dense_forward(const bnmlp_kernel_context *kernels, float *y, const float *x, const float *w,
                         const float *b, size_t batch, size_t in, size_t out) {
    /* y (B, OUT) = x (B, IN) . w (IN, OUT) + b, the bias added by the GEMM as it stores. */
    bnmlp_kernel_gemm(kernels, false, false, batch, out, in, x, in, w, out, b, false, y, out);
}

void bnmlp_dense_backward(const bnmlp_kernel_context *kernels, float *dx, float *dw, float *db,
                          const float *dy, const float *x, const float *w, size_t batch, size_t in,
                          size_t out) {
    /* dL/dw (IN, OUT) += x^T (IN, B) . dy (B, OUT): each weight collects (input) x (upstream
     * gradient) over the batch. */
    bnmlp_kernel_gemm(kernels, true, false, in, out, batch, x, in, dy, out, NULL, true, dw, out);
    /* dL/db = sum over the batch of dy. */
    if (db) bnmlp_kernel_column_sums_accumulate(kernels, db, dy, batch, out);
    /* dL/dx (B, IN) = dy (B, OUT) . w^T (OUT, IN): each input feeds every unit through its row of w. */
    if (dx) bnmlp_kernel_gemm(kernels, false, true, batch, in, out, dy, out, w, out, NULL, false, dx, in);
}
