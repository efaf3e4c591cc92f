/*
 * activation.c - the activation layer: names, validation and dispatch, all read from the one
 * activation table (kernels/activations.h). The element-wise loops are the kernel tier's,
 * reached through the context's instruction-set descriptor; row-wise kinds run their row
 * functions.
 */
#include "layers/layers.h"

#include <math.h>
#include <string.h>

/* The kinds are 0, 1, ... in table order, so that arrays indexed by kind are the table's rows. */
#define CHECK_ORDER_(KIND, id, name, alias, alpha, uses, shape)                                              \
    _Static_assert((int)(KIND) == (int)BNMLP_ACTIVATION_SLOT_##id, "activation kinds must follow the "       \
                                                                   "table");
BNMLP_ACTIVATION_TABLE(CHECK_ORDER_)
#undef CHECK_ORDER_

/* What this file needs of a row. */
typedef struct activation_row {
    const char *name;           /* Keras's */
    const char *alias;          /* another accepted name, or NULL */
    float alpha;                /* Keras's default alpha, NAN when the kind ignores alpha */
    bnmlp_activation_uses uses; /* what backward reads besides dy */
    /* row-wise kinds: the row functions; NULL for element-wise kinds */
    void (*rows_forward)(float *y, const float *x, size_t rows, size_t width);
    void (*rows_backward)(float *dx, const float *dy, const float *y, size_t rows, size_t width);
} activation_row;

#define ROWS_FORWARD_ELEMENTWISE(id) NULL
#define ROWS_BACKWARD_ELEMENTWISE(id) NULL
#define ROWS_FORWARD_ROWWISE(id) bnmlp_activation_##id##_rows_forward
#define ROWS_BACKWARD_ROWWISE(id) bnmlp_activation_##id##_rows_backward
#define ROW_(KIND, id, name, alias, alpha, uses, shape)                                                      \
    [KIND] = {name, alias, alpha, uses, ROWS_FORWARD_##shape(id), ROWS_BACKWARD_##shape(id)},
static const activation_row rows[BNMLP_ACTIVATION_KINDS] = {BNMLP_ACTIVATION_TABLE(ROW_)};
#undef ROW_

/* The row of kind, or NULL for a value outside the table. */
static const activation_row *row_of(bnmlp_activation kind) {
    return (size_t)kind < BNMLP_ACTIVATION_KINDS ? &rows[kind] : NULL;
}

bool bnmlp_activation_is_valid(bnmlp_activation kind) { return row_of(kind) != NULL; }

bool bnmlp_activation_is_row_wise(bnmlp_activation kind) {
    const activation_row *row = row_of(kind);
    return row && row->rows_forward;
}

bnmlp_activation_uses bnmlp_activation_backward_uses(bnmlp_activation kind) {
    const activation_row *row = row_of(kind);
    return row ? row->uses : BNMLP_ACTIVATION_USES_NOTHING;
}

const char *bnmlp_activation_name(bnmlp_activation activation) {
    const activation_row *row = row_of(activation);
    return row ? row->name : "unknown";
}

float bnmlp_activation_default_alpha(bnmlp_activation activation) {
    const activation_row *row = row_of(activation);
    return row ? row->alpha : NAN;
}

bnmlp_status bnmlp_activation_from_name(const char *name, bnmlp_activation *out) {
    if (!name || !out) return BNMLP_ERR_NULL_ARGUMENT;
    for (size_t k = 0; k < BNMLP_ACTIVATION_KINDS; k++)
        if (strcmp(rows[k].name, name) == 0 || (rows[k].alias && strcmp(rows[k].alias, name) == 0)) {
            *out = (bnmlp_activation)k;
            return BNMLP_OK;
        }
    return BNMLP_ERR_INVALID_ARGUMENT;
}

void bnmlp_activation_forward(const bnmlp_kernel_context *kernels, float *y, const float *x, size_t n,
                              bnmlp_activation kind, float alpha) {
    if (!bnmlp_activation_is_valid(kind) || bnmlp_activation_is_row_wise(kind)) return;
    BNMLP_KERNEL_ENTRY(kernels, activation_forward[kind])(y, x, n, alpha);
}

void bnmlp_activation_backward(const bnmlp_kernel_context *kernels, float *dx, const float *dy,
                               const float *x, const float *y, size_t n, bnmlp_activation kind, float alpha) {
    if (!bnmlp_activation_is_valid(kind) || bnmlp_activation_is_row_wise(kind)) return;
    BNMLP_KERNEL_ENTRY(kernels, activation_backward[kind])(dx, dy, x, y, n, alpha);
}

void bnmlp_activation_rows_forward(float *y, const float *x, size_t rows_count, size_t width,
                                   bnmlp_activation kind) {
    const activation_row *row = row_of(kind);
    if (row && row->rows_forward) row->rows_forward(y, x, rows_count, width);
}

void bnmlp_activation_rows_backward(float *dx, const float *dy, const float *y, size_t rows_count,
                                    size_t width, bnmlp_activation kind) {
    const activation_row *row = row_of(kind);
    if (row && row->rows_backward) row->rows_backward(dx, dy, y, rows_count, width);
}

void bnmlp_softmax_forward(float *y, const float *x, size_t rows_count, size_t width) {
    bnmlp_activation_softmax_rows_forward(y, x, rows_count, width);
}

void bnmlp_softmax_backward(float *dx, const float *dy, const float *y, size_t rows_count, size_t width) {
    bnmlp_activation_softmax_rows_backward(dx, dy, y, rows_count, width);
}
