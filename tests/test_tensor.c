/*
 * test_tensor.c - the 2-D tensor (create, free, view, check_shape) and bnmlp_status_string.
 */
#include "support.h"

#include <stdint.h>
#include <string.h>

/* A status value no call returns, written before a call so that a missing write is visible. */
#define STATUS_SENTINEL ((bnmlp_status)12345)

/* create gives a zero-filled, owned tensor of the asked shape, every element writable. */
static void test_create_is_zero_filled(void **state) {
    (void)state;
    bnmlp_status status = STATUS_SENTINEL;
    bnmlp_tensor *t = bnmlp_tensor_create(3, 5, &status);
    assert_non_null(t);
    assert_ok(status);
    assert_non_null(t->data);
    assert_int_equal(t->rows, 3);
    assert_int_equal(t->cols, 5);
    assert_true(t->owned);
    for (size_t i = 0; i < 15; i++) {
        float zero = 0.0f;
        /* bitwise: +0.0, not -0.0 */
        assert_memory_equal(&t->data[i], &zero, sizeof zero);
    }
    /* Every element belongs to the tensor (AddressSanitizer checks the writes). */
    for (size_t i = 0; i < 15; i++) t->data[i] = (float)i;
    assert_ok(bnmlp_tensor_check_shape(t, 3, 5));
    bnmlp_tensor_free(t);

    /* A 1 x 1 tensor is the smallest. */
    t = bnmlp_tensor_create(1, 1, &status);
    assert_non_null(t);
    assert_ok(status);
    assert_true(t->data[0] == 0.0f);
    bnmlp_tensor_free(t);
}

/* The status pointer may be NULL, on success and on failure. */
static void test_create_null_status_allowed(void **state) {
    (void)state;
    bnmlp_tensor *t = bnmlp_tensor_create(2, 4, NULL);
    assert_non_null(t);
    assert_int_equal(t->rows, 2);
    assert_int_equal(t->cols, 4);
    bnmlp_tensor_free(t);
    assert_null(bnmlp_tensor_create(0, 4, NULL));
    assert_null(bnmlp_tensor_create(SIZE_MAX, SIZE_MAX, NULL));
}

/* Zero rows or columns: NULL and BNMLP_ERR_INVALID_ARGUMENT. */
static void test_create_zero_dimensions(void **state) {
    (void)state;
    const size_t shapes[][2] = {{0, 3}, {3, 0}, {0, 0}, {0, SIZE_MAX}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        bnmlp_status status = STATUS_SENTINEL;
        assert_null(bnmlp_tensor_create(shapes[i][0], shapes[i][1], &status));
        assert_status(status, BNMLP_ERR_INVALID_ARGUMENT);
    }
}

/* rows * cols * sizeof(float) past SIZE_MAX: NULL and BNMLP_ERR_OVERFLOW (never a wrapped,
 * too-small allocation). */
static void test_create_overflow(void **state) {
    (void)state;
    const size_t shapes[][2] = {
        {SIZE_MAX, 2},
        {2, SIZE_MAX},
        {SIZE_MAX, SIZE_MAX},
        {(SIZE_MAX >> 1) + 1, 2},            /* rows * cols wraps to 0 */
        {(SIZE_MAX / sizeof(float)) + 1, 1}, /* rows * cols fits, the byte count does not */
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        bnmlp_status status = STATUS_SENTINEL;
        assert_null(bnmlp_tensor_create(shapes[i][0], shapes[i][1], &status));
        assert_status(status, BNMLP_ERR_OVERFLOW);
    }
}

/* free(NULL) is a no-op; a created tensor is freed with its data (AddressSanitizer sees leaks). */
static void test_free_null_and_created(void **state) {
    (void)state;
    bnmlp_tensor_free(NULL);
    bnmlp_tensor *t = bnmlp_tensor_create(7, 3, NULL);
    assert_non_null(t);
    bnmlp_tensor_free(t);
}

/* A view copies nothing and owns nothing: it points at the caller's memory. */
static void test_view(void **state) {
    (void)state;
    float data[6] = {1, 2, 3, 4, 5, 6};
    bnmlp_tensor v = bnmlp_tensor_view(data, 2, 3);
    assert_ptr_equal(v.data, data);
    assert_int_equal(v.rows, 2);
    assert_int_equal(v.cols, 3);
    assert_false(v.owned);
    data[4] = 42.0f; /* element (1, 1) */
    assert_true(v.data[1 * v.cols + 1] == 42.0f);
    assert_ok(bnmlp_tensor_check_shape(&v, 2, 3));

    /* Nothing is checked when viewing: a NULL or empty view is representable, and rejected later. */
    bnmlp_tensor empty = bnmlp_tensor_view(NULL, 0, 0);
    assert_null(empty.data);
    assert_int_equal(empty.rows, 0);
    assert_int_equal(empty.cols, 0);
    assert_false(empty.owned);
    assert_status(bnmlp_tensor_check_shape(&empty, 0, 0), BNMLP_ERR_NULL_ARGUMENT);
}

/* Exact shapes pass; 0 is a wildcard for that dimension. */
static void test_check_shape_accepts_and_wildcards(void **state) {
    (void)state;
    float data[12] = {0};
    bnmlp_tensor v = bnmlp_tensor_view(data, 4, 3);
    assert_ok(bnmlp_tensor_check_shape(&v, 4, 3));
    assert_ok(bnmlp_tensor_check_shape(&v, 0, 3));
    assert_ok(bnmlp_tensor_check_shape(&v, 4, 0));
    assert_ok(bnmlp_tensor_check_shape(&v, 0, 0));
    /* The wildcard does not relax the other dimension. */
    assert_status(bnmlp_tensor_check_shape(&v, 0, 2), BNMLP_ERR_SHAPE);
    assert_status(bnmlp_tensor_check_shape(&v, 5, 0), BNMLP_ERR_SHAPE);
}

/* NULL tensor or NULL data: BNMLP_ERR_NULL_ARGUMENT. */
static void test_check_shape_null(void **state) {
    (void)state;
    assert_status(bnmlp_tensor_check_shape(NULL, 2, 2), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_tensor_check_shape(NULL, 0, 0), BNMLP_ERR_NULL_ARGUMENT);
    bnmlp_tensor v = bnmlp_tensor_view(NULL, 2, 2);
    assert_status(bnmlp_tensor_check_shape(&v, 2, 2), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_tensor_check_shape(&v, 0, 0), BNMLP_ERR_NULL_ARGUMENT);
}

/* A tensor with 0 rows or columns is unusable even when the wildcard would match it. */
static void test_check_shape_zero_dimensions(void **state) {
    (void)state;
    float data[4] = {0};
    bnmlp_tensor no_rows = bnmlp_tensor_view(data, 0, 2);
    bnmlp_tensor no_cols = bnmlp_tensor_view(data, 2, 0);
    assert_status(bnmlp_tensor_check_shape(&no_rows, 0, 0), BNMLP_ERR_SHAPE);
    assert_status(bnmlp_tensor_check_shape(&no_rows, 0, 2), BNMLP_ERR_SHAPE);
    assert_status(bnmlp_tensor_check_shape(&no_cols, 0, 0), BNMLP_ERR_SHAPE);
    assert_status(bnmlp_tensor_check_shape(&no_cols, 2, 0), BNMLP_ERR_SHAPE);
}

/* Rows or columns that differ from the asked shape: BNMLP_ERR_SHAPE. */
static void test_check_shape_mismatch(void **state) {
    (void)state;
    float data[6] = {0};
    bnmlp_tensor v = bnmlp_tensor_view(data, 2, 3);
    assert_status(bnmlp_tensor_check_shape(&v, 3, 2), BNMLP_ERR_SHAPE);
    assert_status(bnmlp_tensor_check_shape(&v, 1, 3), BNMLP_ERR_SHAPE);
    assert_status(bnmlp_tensor_check_shape(&v, 2, 4), BNMLP_ERR_SHAPE);
    assert_status(bnmlp_tensor_check_shape(&v, 6, 1), BNMLP_ERR_SHAPE);
}

/* A view whose rows * cols does not fit size_t is not usable (BNMLP_ERR_OVERFLOW, the code for
 * a size computation that would overflow), even with wildcards. */
static void test_check_shape_overflow(void **state) {
    (void)state;
    float data[4] = {0};
    bnmlp_tensor v = bnmlp_tensor_view(data, SIZE_MAX, 2);
    assert_status(bnmlp_tensor_check_shape(&v, 0, 0), BNMLP_ERR_OVERFLOW);
    assert_status(bnmlp_tensor_check_shape(&v, SIZE_MAX, 2), BNMLP_ERR_OVERFLOW);
}

/* Status codes: OK is 0, errors are positive and contiguous up to BNMLP_ERR_IO. */
static void test_status_values(void **state) {
    (void)state;
    assert_int_equal(BNMLP_OK, 0);
    assert_true(BNMLP_ERR_NULL_ARGUMENT > 0);
    assert_int_equal(BNMLP_ERR_IO - BNMLP_ERR_NULL_ARGUMENT + 1, 14);
}

/* Every code has its own non-empty sentence; unknown codes still get a non-NULL, non-empty one. */
static void test_status_string(void **state) {
    (void)state;
    const char *strings[BNMLP_ERR_IO + 1];
    for (int code = BNMLP_OK; code <= BNMLP_ERR_IO; code++) {
        strings[code] = bnmlp_status_string((bnmlp_status)code);
        assert_non_null(strings[code]);
        assert_true(strlen(strings[code]) > 0);
        for (int other = BNMLP_OK; other < code; other++)
            assert_string_not_equal(strings[code], strings[other]);
    }
    const int unknown[] = {-1, BNMLP_ERR_IO + 1, 99, 100000, INT32_MIN};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *s = bnmlp_status_string((bnmlp_status)unknown[i]);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        /* An unknown code must not pass for success. */
        assert_string_not_equal(s, strings[BNMLP_OK]);
    }
    /* The strings are static: the same pointer twice, usable after the call. */
    assert_ptr_equal(bnmlp_status_string(BNMLP_ERR_SHAPE), bnmlp_status_string(BNMLP_ERR_SHAPE));
}

/* The file-reading codes that follow BNMLP_ERR_IO have sentences of their own too. */
static void test_status_string_file_codes(void **state) {
    (void)state;
    for (int code = BNMLP_OK; code <= BNMLP_ERR_CHECKSUM; code++) {
        const char *s = bnmlp_status_string((bnmlp_status)code);
        assert_true(strlen(s) > 0);
        for (int other = BNMLP_OK; other < code; other++)
            assert_string_not_equal(s, bnmlp_status_string((bnmlp_status)other));
    }
    assert_string_equal(bnmlp_status_string((bnmlp_status)(BNMLP_ERR_CHECKSUM + 1)), "unknown status code");
}

/* A tensor made through a caller's allocator allocates and frees only through it; a failure at
 * either allocation leaks nothing. */
static void test_create_with_allocator(void **state) {
    (void)state;
    counting_allocator counter = {0};
    bnmlp_allocator allocator = counting_allocator_of(&counter);
    bnmlp_status status = BNMLP_ERR_SHAPE;
    bnmlp_tensor *t = bnmlp_tensor_create_with_allocator(3, 4, &allocator, &status);
    assert_non_null(t);
    assert_ok(status);
    assert_int_equal(counter.allocations, 2);
    for (size_t i = 0; i < 12; i++) assert_true(t->data[i] == 0.0f);
    bnmlp_tensor_free(t);
    assert_int_equal(counter.releases, 2);
    for (size_t fail = 1; fail <= 2; fail++) {
        counter = (counting_allocator){.fail_at = fail};
        assert_null(bnmlp_tensor_create_with_allocator(3, 4, &allocator, &status));
        assert_status(status, BNMLP_ERR_OUT_OF_MEMORY);
        assert_int_equal(counter.allocations, counter.releases);
    }
    bnmlp_allocator half = {.allocate = counting_allocate, .release = NULL, .context = &counter};
    assert_null(bnmlp_tensor_create_with_allocator(3, 4, &half, &status));
    assert_status(status, BNMLP_ERR_NULL_ARGUMENT);
    /* An all-zero allocator is the default, as NULL is. */
    bnmlp_allocator zero = {0};
    t = bnmlp_tensor_create_with_allocator(1, 1, &zero, &status);
    assert_non_null(t);
    bnmlp_tensor_free(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_is_zero_filled),
        cmocka_unit_test(test_create_null_status_allowed),
        cmocka_unit_test(test_create_zero_dimensions),
        cmocka_unit_test(test_create_overflow),
        cmocka_unit_test(test_free_null_and_created),
        cmocka_unit_test(test_view),
        cmocka_unit_test(test_check_shape_accepts_and_wildcards),
        cmocka_unit_test(test_check_shape_null),
        cmocka_unit_test(test_check_shape_zero_dimensions),
        cmocka_unit_test(test_check_shape_mismatch),
        cmocka_unit_test(test_check_shape_overflow),
        cmocka_unit_test(test_status_values),
        cmocka_unit_test(test_status_string),
        cmocka_unit_test(test_status_string_file_codes),
        cmocka_unit_test(test_create_with_allocator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
