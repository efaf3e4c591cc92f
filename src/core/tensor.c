/* tensor.c - the 2-D float32 tensor: create, free, view, shape checks. */
#include "core/core.h"

#include <stdint.h>

bnmlp_tensor *bnmlp_tensor_create(size_t rows, size_t cols, bnmlp_status *status) {
    return bnmlp_tensor_create_with_allocator(rows, cols, NULL, status);
}

bnmlp_tensor *bnmlp_tensor_create_with_allocator(size_t rows, size_t cols, const bnmlp_allocator *allocator,
                                                 bnmlp_status *status) {
    if (!bnmlp_allocator_is_valid(allocator)) {
        bnmlp_set_status(status, BNMLP_ERR_NULL_ARGUMENT);
        return NULL;
    }
    if (rows == 0 || cols == 0) {
        bnmlp_set_status(status, BNMLP_ERR_INVALID_ARGUMENT);
        return NULL;
    }
    size_t count;
    if (!bnmlp_size_mul(rows, cols, &count) || count > SIZE_MAX / sizeof(float)) {
        bnmlp_set_status(status, BNMLP_ERR_OVERFLOW);
        return NULL;
    }
    const bnmlp_allocator *a = bnmlp_allocator_or_default(allocator);
    bnmlp_tensor *t = bnmlp_alloc(a, sizeof *t);
    float *data = bnmlp_alloc_zeroed(a, count, sizeof(float));
    if (!t || !data) {
        bnmlp_release(a, t);
        bnmlp_release(a, data);
        bnmlp_set_status(status, BNMLP_ERR_OUT_OF_MEMORY);
        return NULL;
    }
    *t = (bnmlp_tensor){.data = data, .rows = rows, .cols = cols, .owned = true, .allocator = *a};
    bnmlp_set_status(status, BNMLP_OK);
    return t;
}

void bnmlp_tensor_free(bnmlp_tensor *tensor) {
    if (!tensor) return;
    const bnmlp_allocator allocator = tensor->allocator; /* the struct goes with it */
    if (tensor->owned) bnmlp_release(&allocator, tensor->data);
    bnmlp_release(&allocator, tensor);
}

bnmlp_tensor bnmlp_tensor_view(float *data, size_t rows, size_t cols) {
    return (bnmlp_tensor){.data = data, .rows = rows, .cols = cols, .owned = false};
}

bnmlp_status bnmlp_tensor_check_shape(const bnmlp_tensor *tensor, size_t rows, size_t cols) {
    if (!tensor || !tensor->data) return BNMLP_ERR_NULL_ARGUMENT;
    if (tensor->rows == 0 || tensor->cols == 0) return BNMLP_ERR_SHAPE;
    size_t count;
    if (!bnmlp_size_mul(tensor->rows, tensor->cols, &count) || count > SIZE_MAX / sizeof(float))
        return BNMLP_ERR_OVERFLOW;
    if ((rows != 0 && tensor->rows != rows) || (cols != 0 && tensor->cols != cols)) return BNMLP_ERR_SHAPE;
    return BNMLP_OK;
}
