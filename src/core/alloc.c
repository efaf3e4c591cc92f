/* alloc.c - the one allocation path, and checked size arithmetic. */
#include "core/core.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void *default_allocate(void *context, size_t size) {
    (void)context;
    return malloc(size);
}

static void default_release(void *context, void *pointer) {
    (void)context;
    free(pointer);
}

const bnmlp_allocator bnmlp_default_allocator = {default_allocate, default_release, NULL};

const bnmlp_allocator *bnmlp_allocator_or_default(const bnmlp_allocator *allocator) {
    return allocator && allocator->allocate ? allocator : &bnmlp_default_allocator;
}

bool bnmlp_allocator_is_valid(const bnmlp_allocator *allocator) {
    return !allocator || !allocator->allocate == !allocator->release;
}

void *bnmlp_alloc(const bnmlp_allocator *allocator, size_t size) {
    if (size == 0) return NULL;
    const bnmlp_allocator *a = bnmlp_allocator_or_default(allocator);
    return a->allocate(a->context, size);
}

void *bnmlp_alloc_zeroed(const bnmlp_allocator *allocator, size_t count, size_t size) {
    size_t bytes;
    if (!bnmlp_size_mul(count, size, &bytes)) return NULL;
    void *p = bnmlp_alloc(allocator, bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

void bnmlp_release(const bnmlp_allocator *allocator, void *pointer) {
    if (!pointer) return;
    const bnmlp_allocator *a = bnmlp_allocator_or_default(allocator);
    a->release(a->context, pointer);
}

bool bnmlp_size_mul(size_t a, size_t b, size_t *product) {
    if (a != 0 && b > SIZE_MAX / a) return false;
    *product = a * b;
    return true;
}

bool bnmlp_size_add(size_t a, size_t b, size_t *sum) {
    if (b > SIZE_MAX - a) return false;
    *sum = a + b;
    return true;
}

bool bnmlp_all_finite(const float *values, size_t n) {
    int bad = 0; /* one branch at the end keeps the loop vectorizable */
    for (size_t i = 0; i < n; i++) bad |= bnmlp_not_finite(values[i]);
    return !bad;
}
