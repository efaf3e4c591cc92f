/* test_export_onnx.c - the protobuf wire-format writer against hand-computed bytes, and the
 * "onnx" export row: its place in the format table, exact bytes of a one-weight model, the same
 * bytes every time, and every bad input (NULLs, an unbuilt model, options the row refuses, an
 * unwritable path, allocation failures) leaving no file. tools/check_onnx.py (ctest's
 * onnx_export_check) validates the exports with ONNX's own checker and a NumPy evaluation. */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>

#include "support.h"

#include "file_support.h"

#include "export/protobuf.h"

/* ---- the protobuf writer ------------------------------------------------------------------- */

/* Checks that b holds exactly the expected bytes. */
static void assert_bytes(const bnmlp_pb_buffer *b, const unsigned char *expected, size_t size) {
    assert_false(bnmlp_pb_failed(b));
    assert_int_equal(b->size, size);
    assert_memory_equal(b->bytes, expected, size);
}

typedef struct varint_case {
    uint64_t value;
    size_t size;
    unsigned char bytes[BNMLP_PB_MAX_VARINT_BYTES];
} varint_case;

static void test_varints(void **state) {
    (void)state;
    /* 7 bits a byte, low group first, the high bit on every byte but the last. */
    static const varint_case cases[] = {
        {0, 1, {0x00}},
        {1, 1, {0x01}},
        {127, 1, {0x7F}},
        {128, 2, {0x80, 0x01}},
        {150, 2, {0x96, 0x01}},
        {300, 2, {0xAC, 0x02}},
        {16383, 2, {0xFF, 0x7F}},
        {16384, 3, {0x80, 0x80, 0x01}},
        {(uint64_t)1 << 32, 5, {0x80, 0x80, 0x80, 0x80, 0x10}},
        {UINT64_MAX, 10, {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char out[BNMLP_PB_MAX_VARINT_BYTES];
        assert_int_equal(bnmlp_pb_varint_size(cases[i].value), cases[i].size);
        assert_int_equal(bnmlp_pb_encode_varint(out, cases[i].value), cases[i].size);
        assert_memory_equal(out, cases[i].bytes, cases[i].size);
        bnmlp_pb_buffer b;
        bnmlp_pb_init(&b, NULL);
        bnmlp_pb_varint(&b, cases[i].value);
        assert_bytes(&b, cases[i].bytes, cases[i].size);
        bnmlp_pb_free(&b);
    }
}

static void test_fields(void **state) {
    (void)state;
    bnmlp_pb_buffer b;
    bnmlp_pb_init(&b, NULL);
    bnmlp_pb_int(&b, 1, 150); /* tag (1 << 3 | 0) = 08, then 150 */
    static const unsigned char int_field[] = {0x08, 0x96, 0x01};
    assert_bytes(&b, int_field, sizeof int_field);
    bnmlp_pb_free(&b);

    bnmlp_pb_int(&b, 2, -1); /* 64-bit two's complement: ten bytes */
    static const unsigned char negative[] = {0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                             0xFF, 0xFF, 0xFF, 0xFF, 0x01};
    assert_bytes(&b, negative, sizeof negative);
    bnmlp_pb_free(&b);

    bnmlp_pb_float(&b, 2, 1.0f);   /* tag 2 << 3 | 5 = 15, 0x3F800000 little-endian */
    bnmlp_pb_float(&b, 16, -2.5f); /* tag 16 << 3 | 5 = 133 = 85 01, 0xC0200000 */
    static const unsigned char floats[] = {0x15, 0x00, 0x00, 0x80, 0x3F, 0x85, 0x01, 0x00, 0x00, 0x20, 0xC0};
    assert_bytes(&b, floats, sizeof floats);
    bnmlp_pb_free(&b);

    bnmlp_pb_string(&b, 2, "testing"); /* tag 12, length 7 */
    bnmlp_pb_string(&b, 20, "");       /* tag 20 << 3 | 2 = 162 = A2 01, length 0 */
    static const unsigned char strings[] = {0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g', 0xA2, 0x01, 0x00};
    assert_bytes(&b, strings, sizeof strings);
    bnmlp_pb_free(&b);

    static const unsigned char raw[] = {0x00, 0xFF, 0x10};
    bnmlp_pb_bytes(&b, 9, raw, sizeof raw); /* tag 9 << 3 | 2 = 4A */
    static const unsigned char bytes_field[] = {0x4A, 0x03, 0x00, 0xFF, 0x10};
    assert_bytes(&b, bytes_field, sizeof bytes_field);
    bnmlp_pb_free(&b);
}

static void test_nested_messages(void **state) {
    (void)state;
    bnmlp_pb_buffer b;
    bnmlp_pb_init(&b, NULL);
    /* field 3 = {field 1 = 150}: 1A 03 08 96 01 */
    size_t outer = bnmlp_pb_begin(&b, 3);
    bnmlp_pb_int(&b, 1, 150);
    bnmlp_pb_end(&b, outer);
    static const unsigned char simple[] = {0x1A, 0x03, 0x08, 0x96, 0x01};
    assert_bytes(&b, simple, sizeof simple);
    bnmlp_pb_free(&b);

    /* Two levels and an empty message: 7 = {1 = {}, 2 = "ab"} -> 3A 06 0A 00 12 02 61 62. */
    outer = bnmlp_pb_begin(&b, 7);
    const size_t inner = bnmlp_pb_begin(&b, 1);
    bnmlp_pb_end(&b, inner);
    bnmlp_pb_string(&b, 2, "ab");
    bnmlp_pb_end(&b, outer);
    static const unsigned char two_levels[] = {0x3A, 0x06, 0x0A, 0x00, 0x12, 0x02, 'a', 'b'};
    assert_bytes(&b, two_levels, sizeof two_levels);
    bnmlp_pb_free(&b);

    /* A content of 200 bytes takes a two-byte length (C8 01), and the content moves up intact:
     * 1 = {2 = 197 bytes}: 0A C8 01 12 C5 01 then the bytes. */
    unsigned char payload[197];
    for (size_t i = 0; i < sizeof payload; i++) payload[i] = (unsigned char)i;
    outer = bnmlp_pb_begin(&b, 1);
    bnmlp_pb_bytes(&b, 2, payload, sizeof payload);
    bnmlp_pb_end(&b, outer);
    assert_false(bnmlp_pb_failed(&b));
    assert_int_equal(b.size, 3 + 3 + sizeof payload);
    static const unsigned char head[] = {0x0A, 0xC8, 0x01, 0x12, 0xC5, 0x01};
    assert_memory_equal(b.bytes, head, sizeof head);
    assert_memory_equal(b.bytes + sizeof head, payload, sizeof payload);
    bnmlp_pb_free(&b);
}

static void test_writer_errors(void **state) {
    (void)state;
    bnmlp_pb_buffer b;
    bnmlp_pb_init(&b, NULL);
    bnmlp_pb_tag(&b, 0, BNMLP_PB_VARINT); /* field 0 does not exist */
    assert_true(bnmlp_pb_failed(&b));
    bnmlp_pb_int(&b, 1, 1); /* sticky: nothing more is written */
    assert_int_equal(b.size, 0);
    bnmlp_pb_free(&b);
    assert_false(bnmlp_pb_failed(&b));

    bnmlp_pb_tag(&b, BNMLP_PB_MAX_FIELD + 1, BNMLP_PB_VARINT);
    assert_true(bnmlp_pb_failed(&b));
    bnmlp_pb_free(&b);
    bnmlp_pb_tag(&b, BNMLP_PB_MAX_FIELD, BNMLP_PB_VARINT); /* the largest: 5 bytes */
    assert_false(bnmlp_pb_failed(&b));
    assert_int_equal(b.size, 5);
    bnmlp_pb_free(&b);

    bnmlp_pb_end(&b, 1); /* a mark past the end */
    assert_true(bnmlp_pb_failed(&b));
    bnmlp_pb_free(&b);

    /* Allocation failures: the first one, and one while growing; sticky, nothing leaks. */
    for (size_t fail_at = 1; fail_at <= 2; fail_at++) {
        counting_allocator counter = {.fail_at = fail_at};
        const bnmlp_allocator allocator = counting_allocator_of(&counter);
        bnmlp_pb_init(&b, &allocator);
        unsigned char chunk[300] = {0};
        bnmlp_pb_raw(&b, chunk, 100);
        bnmlp_pb_raw(&b, chunk, sizeof chunk); /* grows past 256 */
        assert_true(bnmlp_pb_failed(&b));
        bnmlp_pb_int(&b, 1, 1);
        assert_true(bnmlp_pb_failed(&b));
        bnmlp_pb_free(&b);
        assert_int_equal(counter.allocations, counter.releases);
    }
}

/* ---- the export row ------------------------------------------------------------------------ */

static void test_format_row(void **state) {
    (void)state;
    size_t found = SIZE_MAX;
    for (size_t i = 0; i < bnmlp_export_format_count(); i++)
        if (strcmp(bnmlp_export_format_name(i), "onnx") == 0) found = i;
    assert_true(found != SIZE_MAX);
    assert_false(bnmlp_export_format_writes_directory(found));
    assert_non_null(bnmlp_export_format_summary(found));
}

/* A built model: 3 inputs, dense 4 relu, batch norm, dense 2 softmax (categorical). */
static bnmlp_model *small_model(const bnmlp_allocator *allocator) {
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create_with_allocator(3, allocator, &status);
    assert_ok(status);
    bnmlp_dense_config hidden = BNMLP_DENSE_DEFAULT(4);
    hidden.activation = BNMLP_ACTIVATION_RELU;
    bnmlp_dense_config output = BNMLP_DENSE_DEFAULT(2);
    output.activation = BNMLP_ACTIVATION_SOFTMAX;
    assert_ok(bnmlp_model_add_dense(model, &hidden));
    assert_ok(bnmlp_model_add_batchnorm(model, &BNMLP_BATCHNORM_DEFAULT));
    assert_ok(bnmlp_model_add_dense(model, &output));
    assert_ok(bnmlp_model_set_loss(model, BNMLP_LOSS_CATEGORICAL_CROSSENTROPY));
    assert_ok(bnmlp_model_build(model, 8, 3));
    return model;
}

/* True when needle occurs in haystack. */
static bool contains(const unsigned char *haystack, size_t size, const unsigned char *needle, size_t length) {
    for (size_t i = 0; i + length <= size; i++)
        if (memcmp(haystack + i, needle, length) == 0) return true;
    return false;
}

static void test_exact_bytes(void **state) {
    (void)state;
    /* One input, one dense unit: W = [[2]], b = [0.5]. */
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(1, &status);
    assert_ok(status);
    assert_ok(bnmlp_model_add_dense(model, &BNMLP_DENSE_DEFAULT(1)));
    assert_ok(bnmlp_model_set_loss(model, BNMLP_LOSS_MEAN_SQUARED_ERROR));
    assert_ok(bnmlp_model_build(model, 4, 1));
    const float w = 2.0f, bias = 0.5f;
    assert_ok(bnmlp_model_set_weights(model, 0, BNMLP_WEIGHT_KERNEL, &w, 1));
    assert_ok(bnmlp_model_set_weights(model, 0, BNMLP_WEIGHT_BIAS, &bias, 1));
    char dir[64], path[128];
    test_make_dir(dir, sizeof dir);
    test_path(path, sizeof path, dir, "one.onnx");
    assert_ok(bnmlp_model_export(model, "onnx", path, NULL, NULL));
    size_t size = 0;
    unsigned char *bytes = test_read_file(path, &size);
    assert_non_null(bytes);

    /* ModelProto: ir_version 7 (08 07), producer_name "libbnmlp" (12 08 ...). */
    static const unsigned char head[] = {0x08, 0x07, 0x12, 0x08, 'l', 'i', 'b', 'b', 'n', 'm', 'l', 'p'};
    assert_true(size > sizeof head);
    assert_memory_equal(bytes, head, sizeof head);
    /* The weight initializer: initializer (2A) of 28 bytes = dims 1 (08 01), dims 1 (08 01),
     * data_type FLOAT (10 01), name (42 0E "dense_0/weight"), raw_data 2.0f (4A 04 00 00 00 40). */
    static const unsigned char weight[] = {0x2A, 0x1C, 0x08, 0x01, 0x08, 0x01, 0x10, 0x01, 0x42, 0x0E,
                                           'd',  'e',  'n',  's',  'e',  '_',  '0',  '/',  'w',  'e',
                                           'i',  'g',  'h',  't',  0x4A, 0x04, 0x00, 0x00, 0x00, 0x40};
    assert_true(contains(bytes, size, weight, sizeof weight));
    /* The bias (24 bytes): dims 1, FLOAT, "dense_0/bias", 0.5f = 0x3F000000. */
    static const unsigned char bias_tensor[] = {0x2A, 0x18, 0x08, 0x01, 0x10, 0x01, 0x42, 0x0C, 'd',
                                                'e',  'n',  's',  'e',  '_',  '0',  '/',  'b',  'i',
                                                'a',  's',  0x4A, 0x04, 0x00, 0x00, 0x00, 0x3F};
    assert_true(contains(bytes, size, bias_tensor, sizeof bias_tensor));
    /* The one node: Gemm(input, weight, bias) -> output with transB = 1:
     * attribute (2A 0B): name "transB" (0A 06 ...), i 1 (18 01), type INT (A0 01 02). */
    static const unsigned char trans_b[] = {0x2A, 0x0D, 0x0A, 0x06, 't',  'r',  'a', 'n',
                                            's',  'B',  0x18, 0x01, 0xA0, 0x01, 0x02};
    assert_true(contains(bytes, size, trans_b, sizeof trans_b));
    /* The dynamic batch dimension: dim (0A 03) with dim_param "N" (12 01 4E). */
    static const unsigned char batch[] = {0x0A, 0x03, 0x12, 0x01, 'N'};
    assert_true(contains(bytes, size, batch, sizeof batch));
    /* opset_import (42 04): domain "" (0A 00), version 13 (10 0D). */
    static const unsigned char opset[] = {0x42, 0x04, 0x0A, 0x00, 0x10, 0x0D};
    assert_true(contains(bytes, size, opset, sizeof opset));
    static const unsigned char loss[] = {0x72, 0x1A, 0x0A, 0x04, 'l', 'o', 's', 's', 0x12, 0x12,
                                         'm',  'e',  'a',  'n',  '_', 's', 'q', 'u', 'a',  'r',
                                         'e',  'd',  '_',  'e',  'r', 'r', 'o', 'r'};
    assert_true(contains(bytes, size, loss, sizeof loss));
    free(bytes);
    test_remove_dir(dir);
    bnmlp_model_free(model);
}

static void test_same_bytes_twice(void **state) {
    (void)state;
    bnmlp_model *model = small_model(NULL);
    char dir[64], first[128], second[128];
    test_make_dir(dir, sizeof dir);
    test_path(first, sizeof first, dir, "a.onnx");
    test_path(second, sizeof second, dir, "b.onnx");
    const char *names[] = {"no", "yes"};
    assert_ok(bnmlp_model_set_class_names(model, names, 2));
    assert_ok(bnmlp_model_export(model, "onnx", first, NULL, NULL));
    assert_ok(bnmlp_model_export(model, "onnx", second, NULL, NULL));
    size_t size_a = 0, size_b = 0;
    unsigned char *a = test_read_file(first, &size_a), *b = test_read_file(second, &size_b);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(size_a, size_b);
    assert_memory_equal(a, b, size_a);
    static const char class_names[] = "[\"no\", \"yes\"]";
    assert_true(contains(a, size_a, (const unsigned char *)class_names, sizeof class_names - 1));
    assert_int_equal(test_count_files(dir), 2); /* no temporary file left */
    free(a), free(b);
    test_remove_dir(dir);
    bnmlp_model_free(model);
}

static void test_stale_class_names(void **state) {
    (void)state;
    /* Names given for a binary head, then a 3-class head added: they no longer name every class
     * and are left out, as the model file leaves them out. */
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(2, &status);
    assert_ok(status);
    bnmlp_dense_config binary = BNMLP_DENSE_DEFAULT(1);
    binary.activation = BNMLP_ACTIVATION_SIGMOID;
    assert_ok(bnmlp_model_add_dense(model, &binary));
    const char *names[] = {"stale_a", "stale_b"};
    assert_ok(bnmlp_model_set_class_names(model, names, 2));
    bnmlp_dense_config three = BNMLP_DENSE_DEFAULT(3);
    three.activation = BNMLP_ACTIVATION_SOFTMAX;
    assert_ok(bnmlp_model_add_dense(model, &three));
    assert_ok(bnmlp_model_set_loss(model, BNMLP_LOSS_CATEGORICAL_CROSSENTROPY));
    assert_ok(bnmlp_model_build(model, 4, 1));
    char dir[64], path[128];
    test_make_dir(dir, sizeof dir);
    test_path(path, sizeof path, dir, "stale.onnx");
    assert_ok(bnmlp_model_export(model, "onnx", path, NULL, NULL));
    size_t size = 0;
    unsigned char *bytes = test_read_file(path, &size);
    assert_non_null(bytes);
    static const char key[] = "class_names", stale[] = "stale_a";
    assert_false(contains(bytes, size, (const unsigned char *)key, sizeof key - 1));
    assert_false(contains(bytes, size, (const unsigned char *)stale, sizeof stale - 1));
    free(bytes);
    test_remove_dir(dir);
    bnmlp_model_free(model);
}

/* One bad call: what it passes and the status it must get. */
typedef struct bad_case {
    const char *what;
    bool null_model, unbuilt, null_path, null_format, missing_dir;
    const char *format;
    bool with_test, int8;
    bnmlp_status expected;
} bad_case;

static void test_bad_inputs(void **state) {
    (void)state;
    static const bad_case cases[] = {
        {.what = "NULL model", .null_model = true, .expected = BNMLP_ERR_NULL_ARGUMENT},
        {.what = "NULL path", .null_path = true, .expected = BNMLP_ERR_NULL_ARGUMENT},
        {.what = "NULL format", .null_format = true, .expected = BNMLP_ERR_NULL_ARGUMENT},
        {.what = "unknown format", .format = "onnx2", .expected = BNMLP_ERR_INVALID_ARGUMENT},
        {.what = "self-test", .with_test = true, .expected = BNMLP_ERR_INVALID_ARGUMENT},
        {.what = "int8 weights", .int8 = true, .expected = BNMLP_ERR_INVALID_ARGUMENT},
        {.what = "unbuilt model", .unbuilt = true, .expected = BNMLP_ERR_NOT_BUILT},
        {.what = "missing directory", .missing_dir = true, .expected = BNMLP_ERR_FILE_OPEN},
    };
    char dir[64], path[128], missing[160];
    test_make_dir(dir, sizeof dir);
    test_path(path, sizeof path, dir, "model.onnx");
    test_path(missing, sizeof missing, dir, "no/such/dir/model.onnx");
    static const char old[] = "an older file";
    bnmlp_model *built = small_model(NULL);
    bnmlp_status status;
    bnmlp_model *unbuilt = bnmlp_model_create(3, &status);
    assert_ok(status);
    assert_ok(bnmlp_model_add_dense(unbuilt, &BNMLP_DENSE_DEFAULT(2)));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bad_case *c = &cases[i];
        test_write_file(path, old, sizeof old); /* a failed export leaves it as it was */
        bnmlp_export_options options = BNMLP_EXPORT_OPTIONS_DEFAULT;
        options.with_test = c->with_test;
        if (c->int8) options.weights = BNMLP_EXPORT_WEIGHTS_INT8;
        bnmlp_model *model = c->null_model ? NULL : c->unbuilt ? unbuilt : built;
        const char *format = c->null_format ? NULL : c->format ? c->format : "onnx";
        const char *target = c->null_path ? NULL : c->missing_dir ? missing : path;
        bnmlp_error_detail detail = {0};
        print_message("case: %s\n", c->what);
        assert_status(bnmlp_model_export(model, format, target, &options, &detail), c->expected);
        if (c->expected != BNMLP_ERR_NULL_ARGUMENT) assert_true(detail.message[0] != '\0');
        size_t size = 0;
        unsigned char *bytes = test_read_file(path, &size);
        assert_non_null(bytes);
        assert_int_equal(size, sizeof old);
        assert_memory_equal(bytes, old, sizeof old);
        free(bytes);
        assert_int_equal(test_count_files(dir), 1);
    }
    bnmlp_model_free(unbuilt);
    bnmlp_model_free(built);
    test_remove_dir(dir);
}

static void test_allocation_failures(void **state) {
    (void)state;
    counting_allocator counter = {0};
    const bnmlp_allocator allocator = counting_allocator_of(&counter);
    bnmlp_model *model = small_model(&allocator);
    char dir[64], path[128];
    test_make_dir(dir, sizeof dir);
    test_path(path, sizeof path, dir, "model.onnx");
    /* Fail each allocation of the export in turn: out of memory, no file; then it succeeds. */
    bnmlp_status status = BNMLP_ERR_OUT_OF_MEMORY;
    size_t failures = 0;
    for (size_t k = 1; status != BNMLP_OK; k++) {
        counter.fail_at = counter.calls + k;
        const size_t allocations = counter.allocations, releases = counter.releases;
        status = bnmlp_model_export(model, "onnx", path, NULL, NULL);
        if (status != BNMLP_OK) {
            assert_status(status, BNMLP_ERR_OUT_OF_MEMORY);
            assert_int_equal(test_count_files(dir), 0);
            assert_int_equal(counter.allocations - allocations, counter.releases - releases);
            failures++;
        }
        assert_true(k < 1000);
    }
    assert_true(failures >= 3); /* the buffers and the writer's path, at least */
    assert_int_equal(test_count_files(dir), 1);
    counter.fail_at = 0;
    test_remove_dir(dir);
    bnmlp_model_free(model);
    assert_int_equal(counter.allocations, counter.releases);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varints),          cmocka_unit_test(test_fields),
        cmocka_unit_test(test_nested_messages),  cmocka_unit_test(test_writer_errors),
        cmocka_unit_test(test_format_row),       cmocka_unit_test(test_exact_bytes),
        cmocka_unit_test(test_same_bytes_twice), cmocka_unit_test(test_stale_class_names),
        cmocka_unit_test(test_bad_inputs),       cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
