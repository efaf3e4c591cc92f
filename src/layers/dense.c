/* dense.c - the fully connected layer: y = x w + b. */
#include "layers/layers.h"

#include "kernels/kernels.h"

void bnmlp_dense_forward(const bnmlp_kernel_context *kernels, float *y, const float *x, const float *w,
                         const float *b, size_t batch, size_t in, size_t out) {
    kernels->matmul_bias(y, x, w, b, batch, in, out);
}

void bnmlp_dense_backward(const bnmlp_kernel_context *kernels, float *dx, float *dw, float *db,
                          const float *dy, const float *x, const float *w, size_t batch, size_t in,
                          size_t out) {
    /* dL/dw = x^T dy: each weight collects (input) x (upstream gradient) over the batch. */
    kernels->matmul_tn_accumulate(dw, x, dy, batch, in, out);
    /* dL/db = sum over the batch of dy. */
    if (db) kernels->column_sums_accumulate(db, dy, batch, out);
    /* dL/dx = dy w^T: each input feeds every unit through its row of w. */
    if (dx) kernels->matmul_nt(dx, dy, w, batch, in, out);
}
