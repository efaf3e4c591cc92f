/*
 * support.h - helpers shared by the cmocka test files. Include after <cmocka.h>'s prerequisites.
 */
#ifndef BNMLP_TEST_SUPPORT_H
#define BNMLP_TEST_SUPPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "bnmlp.h"

/* Fails the test (with the index and both values) unless |a[i] - b[i]| <= atol + rtol * |b[i]|
 * for every i. */
#define assert_floats_close(a, b, n, atol, rtol)                                                             \
    bnmlp_test_floats_close((a), (b), (n), (atol), (rtol), #a, __FILE__, __LINE__)
void bnmlp_test_floats_close(const float *a, const float *b, size_t n, double atol, double rtol,
                             const char *what, const char *file, int line);

/* Fills v (n) with deterministic values in [-1, 1) from a linear congruential sequence. */
void bnmlp_test_fill(float *v, size_t n, uint32_t seed);

/* Central differences (step h, in double) of the built model's training-mode loss on (x, y),
 * parameter by parameter, against the analytic gradient of bnmlp_model_loss_gradients (written
 * to grad, count == the parameter count); fails the test at the first parameter outside
 * atol + rtol |numeric|. The parameters are restored. */
void bnmlp_test_check_model_gradients(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                      float *grad, size_t count, float h, double atol, double rtol);

/* Distance in units in the last place between two finite floats (0 when equal; +0 == -0). */
uint32_t bnmlp_test_ulp_distance(float a, float b);

/* Fails the test unless status == BNMLP_OK, printing bnmlp_status_string. */
#define assert_ok(expression) assert_status((expression), BNMLP_OK)
#define assert_status(expression, expected)                                                                  \
    bnmlp_test_status((expression), (expected), #expression, __FILE__, __LINE__)
void bnmlp_test_status(bnmlp_status got, bnmlp_status expected, const char *what, const char *file, int line);

/* An allocator that counts its calls and fails the fail_at-th one (1-based; 0 for never). */
typedef struct counting_allocator {
    size_t calls;       /* allocate calls, failed or not */
    size_t allocations; /* successful allocations */
    size_t releases;    /* releases of non-NULL pointers */
    size_t fail_at;     /* the 1-based call that fails; 0 for never */
} counting_allocator;

/* The two halves of that allocator (context: a counting_allocator). */
void *counting_allocate(void *context, size_t size);
void counting_release(void *context, void *pointer);

/* A bnmlp_allocator over malloc/free that updates *c. */
bnmlp_allocator counting_allocator_of(counting_allocator *c);

/* The optimizer configuration (what bnmlp_model_train_step takes) of the SGD settings *sgd_. */
#define SGD_CONFIG(sgd_)                                                                                     \
    (&(bnmlp_optimizer_config){.kind = BNMLP_OPTIMIZER_SGD,                                                  \
                               .sgd = *(sgd_),                                                               \
                               .adam = BNMLP_ADAM_DEFAULT,                                                   \
                               .rmsprop = BNMLP_RMSPROP_DEFAULT})

/* The kernel context a model created now would get (BNMLP_ISA honoured), without pool or
 * scratch: for tests that call layer functions directly. */
struct bnmlp_kernel_context;
const struct bnmlp_kernel_context *bnmlp_test_kernels(void);

#endif /* BNMLP_TEST_SUPPORT_H */
