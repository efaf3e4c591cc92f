/* test_int8_kernels.c - the int8 product (src/kernels/int8.h): every kernel set this machine
 * runs (AVX512-VNNI, AVX-VNNI, AVX2, portable) against the row-by-row reference, bit for bit, on
 * many shapes (row and column tails, K not a multiple of 4, K at its largest without int32
 * overflow); the driver through every instruction-set row on 1 to 3 threads; the code's exact
 * rounding and clamping; the packing. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"
#include "kernels/int8.h"
#include "kernels/kernels.h"
#include "support.h"

/* A deterministic stream of 32-bit values. */
static uint32_t next(uint32_t *s) {
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* One product's data: x (rows, in) spread over about [-1.2, 1.2] x_max (some clamped, some
 * exact ties of the code), codes (in, out) in [-127, 127] with both ends, scales and bias. */
typedef struct int8_data {
    size_t rows, in, out;
    float *x, *codes, *weight_scale, *bias, input_scale;
    int8_t *codes8;
} int8_data;

static int8_data make_data(size_t rows, size_t in, size_t out, uint32_t seed) {
    int8_data d = {.rows = rows, .in = in, .out = out, .input_scale = 0.03125f};
    d.x = malloc((rows * in + 1) * sizeof *d.x);
    d.codes = malloc((in * out + 1) * sizeof *d.codes);
    d.codes8 = malloc(in * out + 1);
    d.weight_scale = malloc(out * sizeof *d.weight_scale);
    d.bias = malloc(out * sizeof *d.bias);
    uint32_t s = seed;
    for (size_t i = 0; i < rows * in; i++) {
        const uint32_t r = next(&s);
        if (r % 7 == 0)
            d.x[i] = ((float)(int)(r % 301) - 150.0f + 0.5f) * d.input_scale; /* a tie */
        else
            d.x[i] = ((float)(r % 100000) / 50000.0f - 1.0f) * 1.2f * 127.0f * d.input_scale;
    }
    for (size_t i = 0; i < in * out; i++) {
        const uint32_t r = next(&s);
        const int v = r % 11 == 0 ? 127 : r % 13 == 0 ? -127 : (int)(r % 255) - 127;
        d.codes[i] = (float)v;
        d.codes8[i] = (int8_t)v;
    }
    for (size_t j = 0; j < out; j++) {
        d.weight_scale[j] = (float)(next(&s) % 1000 + 1) * 1e-5f;
        d.bias[j] = (float)(next(&s) % 2001) * 1e-3f - 1.0f;
    }
    return d;
}

static void free_data(int8_data *d) {
    free(d->x), free(d->codes), free(d->codes8), free(d->weight_scale), free(d->bias);
}

/* y through set on the packed weights, all panels in one call (and in pieces of 2 panels). */
static void run_set(const bnmlp_int8_kernels *set, const int8_data *d, const float *bias, float *y) {
    void *packed = malloc(bnmlp_int8_packed_bytes(d->in, d->out) + 1);
    bnmlp_int8_weights w;
    /* Offset by one byte so the packing has to align itself. */
    bnmlp_int8_pack((char *)packed + 1, d->codes, d->weight_scale, d->input_scale, bias, d->in, d->out, &w);
    const size_t depth = bnmlp_int8_depth(d->in);
    uint8_t *q = malloc(d->rows * depth + 1);
    set->quantize(q, depth, d->x, d->in, d->rows, d->in, w.inv_scale);
    for (size_t p = 0; p < w.panel_count; p += 2)
        set->gemm(q, d->rows, &w, p, p + 2 < w.panel_count ? p + 2 : w.panel_count, y, d->out);
    free(q), free(packed);
}

static void check_shape(size_t rows, size_t in, size_t out, bool bias) {
    int8_data d = make_data(rows, in, out, (uint32_t)(rows * 131 + in * 7 + out));
    float *ref = malloc(rows * out * sizeof *ref), *y = malloc(rows * out * sizeof *y);
    bnmlp_int8_dense_reference(ref, d.x, rows, in, out, d.codes8, d.weight_scale, d.input_scale,
                               bias ? d.bias : NULL);
    for (size_t s = 0; s < bnmlp_int8_kernels_count(); s++) {
        const bnmlp_int8_kernels *set = bnmlp_int8_kernels_at(s);
        if (!set->available()) continue;
        for (size_t i = 0; i < rows * out; i++) y[i] = NAN;
        run_set(set, &d, bias ? d.bias : NULL, y);
        if (memcmp(y, ref, rows * out * sizeof *y) != 0) {
            fprintf(stderr, "set %s differs at rows %zu in %zu out %zu\n", set->name, rows, in, out);
            fail();
        }
    }
    free(ref), free(y);
    free_data(&d);
}

static void test_every_set_matches_the_reference(void **state) {
    (void)state;
    static const size_t rows[] = {1, 2, 3, 5, 6, 7, 8, 9, 13, 17, 33};
    static const size_t ins[] = {1, 2, 3, 4, 5, 7, 31, 32, 33, 64, 130};
    static const size_t outs[] = {1, 3, 15, 16, 17, 31, 32, 33, 48, 50, 65};
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
        for (size_t i = 0; i < sizeof ins / sizeof ins[0]; i++)
            for (size_t o = 0; o < sizeof outs / sizeof outs[0]; o++)
                check_shape(rows[r], ins[i], outs[o], (r + i + o) % 2 == 0);
}

static void test_larger_shapes(void **state) {
    (void)state;
    check_shape(64, 256, 128, true);
    check_shape(37, 1023, 70, true);
}

/* K at its largest with every code at the same end: the sums reach 127 * 127 * 65536 and the
 * u8 sets' biased sums 255 * 127 * 65536, and still come out exact. */
static void test_largest_depth_does_not_overflow(void **state) {
    (void)state;
    const size_t in = BNMLP_INT8_MAX_DEPTH, out = 17, rows = 2;
    int8_data d = make_data(rows, in, out, 3);
    for (size_t k = 0; k < in; k++) {
        d.x[k] = 1000.0f;       /* clamped to 127 */
        d.x[in + k] = -1000.0f; /* -127 */
        for (size_t j = 0; j < out; j++) d.codes[k * out + j] = 127.0f, d.codes8[k * out + j] = 127;
    }
    for (size_t j = 0; j < out; j++) d.weight_scale[j] = 1.0f, d.bias[j] = 0.0f;
    d.input_scale = 1.0f;
    float ref[2 * 17], y[2 * 17];
    bnmlp_int8_dense_reference(ref, d.x, rows, in, out, d.codes8, d.weight_scale, 1.0f, NULL);
    assert_true(ref[0] == (float)(127 * 127 * 65536));
    assert_true(ref[out] == -(float)(127 * 127 * 65536));
    for (size_t s = 0; s < bnmlp_int8_kernels_count(); s++) {
        const bnmlp_int8_kernels *set = bnmlp_int8_kernels_at(s);
        if (!set->available()) continue;
        run_set(set, &d, NULL, y);
        assert_memory_equal(y, ref, sizeof y);
    }
    assert_int_equal(bnmlp_int8_packed_bytes(BNMLP_INT8_MAX_DEPTH + 1, 1), 0);
    assert_int_equal(bnmlp_int8_packed_bytes(0, 1), 0);
    assert_int_equal(bnmlp_int8_packed_bytes(1, 0), 0);
    free_data(&d);
}

/* The code: round to nearest, ties to even; clamp at +-127; NaN to -127. */
static void test_codes_round_and_clamp(void **state) {
    (void)state;
    static const struct {
        float x, inv;
        int code;
    } cases[] = {
        {0.5f, 1.0f, 0},     {1.5f, 1.0f, 2},       {2.5f, 1.0f, 2},     {-0.5f, 1.0f, 0},
        {-1.5f, 1.0f, -2},   {-2.5f, 1.0f, -2},     {126.5f, 1.0f, 126}, {127.4f, 1.0f, 127},
        {128.0f, 1.0f, 127}, {-300.0f, 1.0f, -127}, {1e30f, 1e30f, 127}, {0.49999997f, 1.0f, 0},
        {0.25f, 4.0f, 1},    {-0.75f, 2.0f, -2},    {NAN, 1.0f, -127},   {INFINITY, 1.0f, 127},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        assert_int_equal(bnmlp_int8_code(cases[c].x, cases[c].inv), cases[c].code);
        /* every set's quantizer gives the same code (17 copies: vector and tail lanes) */
        float x[17];
        for (size_t k = 0; k < 17; k++) x[k] = cases[c].x;
        for (size_t s = 0; s < bnmlp_int8_kernels_count(); s++) {
            const bnmlp_int8_kernels *set = bnmlp_int8_kernels_at(s);
            if (!set->available()) continue;
            uint8_t q[40];
            memset(q, 0x55, sizeof q);
            set->quantize(q, 40, x, 17, 1, 17, cases[c].inv);
            const bool flipped = strstr(set->name, "vnni") != NULL;
            for (size_t k = 0; k < 40; k++) {
                const int code = (int8_t)(uint8_t)(q[k] ^ (flipped ? 0x80 : 0));
                assert_int_equal(code, k < 17 ? cases[c].code : 0);
            }
        }
    }
}

/* The driver through every instruction-set row on 1 to 3 threads: the reference's bits. */
static void test_driver_every_row_and_thread_count(void **state) {
    (void)state;
    const size_t rows = 45, in = 70, out = 83;
    int8_data d = make_data(rows, in, out, 77);
    float *ref = malloc(rows * out * sizeof *ref), *y = malloc(rows * out * sizeof *y);
    bnmlp_int8_dense_reference(ref, d.x, rows, in, out, d.codes8, d.weight_scale, d.input_scale, d.bias);
    void *packed = malloc(bnmlp_int8_packed_bytes(in, out));
    bnmlp_int8_weights w;
    bnmlp_int8_pack(packed, d.codes, d.weight_scale, d.input_scale, d.bias, in, out, &w);
    float *scratch = malloc(bnmlp_int8_scratch_floats(rows, in) * sizeof *scratch);
    for (size_t r = 0; r < bnmlp_isa_count(); r++) {
        const bnmlp_isa *isa = bnmlp_isa_at(r);
        if (!bnmlp_isa_available(isa)) continue;
        for (size_t threads = 1; threads <= 3; threads++) {
            bnmlp_kernel_context context;
            bnmlp_kernel_context_init(&context);
            assert_ok(bnmlp_gemm_plan_init(&context.plan, isa));
            bnmlp_status status;
            context.pool = bnmlp_threadpool_create(threads, NULL, &status);
            assert_ok(status);
            for (size_t i = 0; i < rows * out; i++) y[i] = NAN;
            bnmlp_kernel_int8_dense(&context, y, d.x, rows, &w, scratch);
            assert_memory_equal(y, ref, rows * out * sizeof *y);
            bnmlp_threadpool_free(context.pool);
        }
    }
    free(ref), free(y), free(packed), free(scratch);
    free_data(&d);
}

/* The packed layout: byte 4 c + t of group g of panel p is w[4 g + t][16 p + c]; padding zero;
 * compensation 128 sum_k w; scale s_x s_w; a stored value out of range is clamped. */
static void test_packing_layout(void **state) {
    (void)state;
    const size_t in = 5, out = 18;
    float codes[5 * 18], scale[18], bias[18];
    for (size_t k = 0; k < in; k++)
        for (size_t j = 0; j < out; j++) codes[k * out + j] = (float)((int)(k * 10 + j) % 200 - 100);
    codes[0] = 500.0f;  /* clamped to 127 */
    codes[1] = -200.4f; /* -127 */
    for (size_t j = 0; j < out; j++) scale[j] = 0.5f, bias[j] = (float)j;
    void *buffer = malloc(bnmlp_int8_packed_bytes(in, out));
    bnmlp_int8_weights w;
    bnmlp_int8_pack(buffer, codes, scale, 0.25f, bias, in, out, &w);
    assert_int_equal(w.depth, 8);
    assert_int_equal(w.panel_count, 2);
    assert_true(((uintptr_t)w.panels & 63u) == 0);
    assert_true(w.inv_scale == 4.0f);
    for (size_t j = 0; j < 32; j++) {
        int32_t sum = 0;
        for (size_t k = 0; k < 8; k++) {
            const int8_t v = w.panels[(j / 16) * 8 * 16 + (k / 4) * 64 + (j % 16) * 4 + k % 4];
            int expected = 0;
            if (j < out && k < in) {
                expected = (int)codes[k * out + j];
                if (k == 0 && j == 0) expected = 127;
                if (k == 0 && j == 1) expected = -127;
            }
            assert_int_equal(v, expected);
            sum += v;
        }
        assert_int_equal(w.compensation[j], 128 * sum);
        assert_true(w.scale[j] == (j < out ? 0.125f : 0.0f));
        assert_true(w.bias[j] == (j < out ? (float)j : 0.0f));
    }
    free(buffer);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_set_matches_the_reference),
        cmocka_unit_test(test_larger_shapes),
        cmocka_unit_test(test_largest_depth_does_not_overflow),
        cmocka_unit_test(test_codes_round_and_clamp),
        cmocka_unit_test(test_driver_every_row_and_thread_count),
        cmocka_unit_test(test_packing_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
