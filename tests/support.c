/* support.c - helpers shared by the cmocka test files. */
#include "support.h"

#include "kernels/kernels.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

void bnmlp_test_floats_close(const float *a, const float *b, size_t n, double atol, double rtol,
                             const char *what, const char *file, int line) {
    for (size_t i = 0; i < n; i++) {
        double diff = fabs((double)a[i] - (double)b[i]);
        if (!(diff <= atol + rtol * fabs((double)b[i]))) {
            print_error("%s[%zu] = %.9g, expected %.9g (|diff| %.3g > %.3g + %.3g * |expected|)\n", what, i,
                        (double)a[i], (double)b[i], diff, atol, rtol);
            _fail(file, line);
        }
    }
}

void bnmlp_test_fill(float *v, size_t n, uint32_t seed) {
    uint32_t s = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        v[i] = (float)((double)(s >> 8) / 8388608.0 - 1.0);
    }
}

uint32_t bnmlp_test_ulp_distance(float a, float b) {
    if (a == b) return 0;
    int32_t ia, ib;
    memcpy(&ia, &a, sizeof ia);
    memcpy(&ib, &b, sizeof ib);
    /* Map the sign-magnitude float bits onto a monotonic integer line. */
    int64_t la = ia < 0 ? (int64_t)INT32_MIN - ia : ia;
    int64_t lb = ib < 0 ? (int64_t)INT32_MIN - ib : ib;
    int64_t d = la > lb ? la - lb : lb - la;
    return d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

void bnmlp_test_status(bnmlp_status got, bnmlp_status expected, const char *what, const char *file,
                       int line) {
    if (got != expected) {
        print_error("%s returned %d (%s), expected %d (%s)\n", what, (int)got, bnmlp_status_string(got),
                    (int)expected, bnmlp_status_string(expected));
        _fail(file, line);
    }
}

void *counting_allocate(void *context, size_t size) {
    counting_allocator *c = context;
    c->calls++;
    if (c->fail_at != 0 && c->calls == c->fail_at) return NULL;
    void *p = malloc(size);
    if (p) c->allocations++;
    return p;
}

void counting_release(void *context, void *pointer) {
    counting_allocator *c = context;
    if (!pointer) return;
    c->releases++;
    free(pointer);
}

bnmlp_allocator counting_allocator_of(counting_allocator *c) {
    return (bnmlp_allocator){.allocate = counting_allocate, .release = counting_release, .context = c};
}

const struct bnmlp_kernel_context *bnmlp_test_kernels(void) {
    static bnmlp_kernel_context context;
    static bool ready = false;
    if (!ready) bnmlp_kernel_context_init(&context), ready = true;
    return &context;
}

/* The loss with the parameters params. */
static double loss_at(bnmlp_model *model, const float *params, size_t count, const bnmlp_tensor *x,
                      const bnmlp_tensor *y) {
    assert_ok(bnmlp_model_set_params(model, params, count));
    float loss;
    assert_ok(bnmlp_model_loss_gradients(model, x, y, &loss, NULL, 0));
    return loss;
}

void bnmlp_test_check_model_gradients(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                      float *grad, size_t count, float h, double atol, double rtol) {
    float *params = malloc(count * sizeof *params);
    assert_non_null(params);
    assert_ok(bnmlp_model_get_params(model, params, count));
    float loss;
    assert_ok(bnmlp_model_loss_gradients(model, x, y, &loss, grad, count));
    for (size_t i = 0; i < count; i++) {
        const float saved = params[i];
        params[i] = saved + h;
        const double plus = loss_at(model, params, count, x, y);
        params[i] = saved - h;
        const double minus = loss_at(model, params, count, x, y);
        params[i] = saved;
        const double numeric = (plus - minus) / (2.0 * (double)h);
        if (!(fabs(numeric - grad[i]) <= atol + rtol * fabs(numeric)))
            fail_msg("gradient[%zu]: analytic %.6g, numeric %.6g", i, (double)grad[i], numeric);
    }
    assert_ok(bnmlp_model_set_params(model, params, count));
    free(params);
}
