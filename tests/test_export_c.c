/*
 * test_export_c.c - the "c" export format (src/export/c_source.c) through bnmlp_model_export:
 * the row in the format table, the same bytes on every export, exact hexadecimal weights, the
 * int8 option's stored values, every bad option and name (nothing written), unwritable
 * directories, and injected write, flush, rename and allocation failures that leave no partial
 * or temporary file behind. Compiling and running the generated code is
 * tests/export/c_export_test.sh's (it needs a C compiler at test time).
 */
#define _POSIX_C_SOURCE 200809L
#include "support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "export/c_source.h"
#include "file_support.h"

enum { IN = 4, ROWS = 32 };

/* 4 -> Normalization -> Dense(6, relu) -> BatchNorm -> Dropout -> Dense(3, softmax), with moving
 * statistics away from their initial values; built with allocator (NULL: malloc/free). */
static bnmlp_model *make_model(const bnmlp_allocator *allocator) {
    bnmlp_model *model = bnmlp_model_create_with_allocator(IN, allocator, NULL);
    assert_non_null(model);
    assert_ok(bnmlp_model_add_normalization(model));
    bnmlp_dense_config hidden = BNMLP_DENSE_DEFAULT(6);
    hidden.activation = BNMLP_ACTIVATION_RELU;
    assert_ok(bnmlp_model_add_dense(model, &hidden));
    bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
    bn.momentum = 0.5f;
    assert_ok(bnmlp_model_add_batchnorm(model, &bn));
    assert_ok(bnmlp_model_add_dropout(model, 0.25f, 3));
    bnmlp_dense_config last = BNMLP_DENSE_DEFAULT(3);
    last.activation = BNMLP_ACTIVATION_SOFTMAX;
    assert_ok(bnmlp_model_add_dense(model, &last));
    assert_ok(bnmlp_model_set_loss(model, BNMLP_LOSS_CATEGORICAL_CROSSENTROPY));
    assert_ok(bnmlp_model_build(model, ROWS, 11));
    float data[ROWS * IN], out[ROWS * 3];
    bnmlp_test_fill(data, ROWS * IN, 5);
    bnmlp_tensor x = bnmlp_tensor_view(data, ROWS, IN), y = bnmlp_tensor_view(out, ROWS, 3);
    assert_ok(bnmlp_model_adapt(model, 0, &x));
    for (int k = 0; k < 4; k++) assert_ok(bnmlp_model_forward(model, &x, BNMLP_MODE_TRAINING, &y));
    const char *names[] = {"setosa", "ver\"si?color", "virgin\303\255ca"}; /* UTF-8 í */
    assert_ok(bnmlp_model_set_class_names(model, names, 3));
    return model;
}

/* The options of a full export: with the self-test. */
static bnmlp_export_options full_options(const char *name, bnmlp_export_weights weights) {
    bnmlp_export_options o = BNMLP_EXPORT_OPTIONS_DEFAULT;
    o.name = name, o.with_test = true, o.test_rows = 5, o.test_seed = 9, o.weights = weights;
    return o;
}

/* The content of dir/name (malloc'ed, terminated), failing the test when absent. */
static char *read_text(const char *dir, const char *name) {
    char path[512];
    test_path(path, sizeof path, dir, name);
    size_t size = 0;
    char *text = (char *)test_read_file(path, &size);
    assert_non_null(text);
    return text;
}

static void assert_same_file(const char *dir_a, const char *dir_b, const char *name) {
    char *a = read_text(dir_a, name), *b = read_text(dir_b, name);
    assert_string_equal(a, b);
    free(a);
    free(b);
}

static void test_row_is_listed(void **state) {
    (void)state;
    size_t found = bnmlp_export_format_count();
    for (size_t i = 0; i < bnmlp_export_format_count(); i++)
        if (strcmp(bnmlp_export_format_name(i), "c") == 0) found = i;
    assert_true(found < bnmlp_export_format_count());
    assert_true(bnmlp_export_format_writes_directory(found));
    assert_non_null(bnmlp_export_format_summary(found));
}

/* Two exports of the same model, in two directories and again in the first: the same bytes. */
static void test_same_bytes_every_time(void **state) {
    (void)state;
    bnmlp_model *model = make_model(NULL);
    const bnmlp_export_weights storages[] = {BNMLP_EXPORT_WEIGHTS_FLOAT32, BNMLP_EXPORT_WEIGHTS_INT8};
    for (size_t s = 0; s < 2; s++) {
        char a[64], b[64];
        test_make_dir(a, sizeof a);
        test_make_dir(b, sizeof b);
        const bnmlp_export_options o = full_options("iris", storages[s]);
        assert_ok(bnmlp_model_export(model, "c", a, &o, NULL));
        assert_ok(bnmlp_model_export(model, "c", b, &o, NULL));
        assert_int_equal(test_count_files(a), 3);
        assert_same_file(a, b, "iris.h");
        assert_same_file(a, b, "iris.c");
        assert_same_file(a, b, "iris_test.c");
        assert_ok(bnmlp_model_export(model, "c", a, &o, NULL)); /* over the old files */
        assert_int_equal(test_count_files(a), 3);
        assert_same_file(a, b, "iris.c");
        test_remove_dir(a);
        test_remove_dir(b);
    }
    bnmlp_model_free(model);
}

/* bnmlp_model_export describes the folded model (bnmlp_model_fold): its files are the row's on
 * the folded model, with the self-test's reference the caller's model; the normalization, the
 * batch norm and the dropout are gone from NAME.c. */
static void test_export_folds(void **state) {
    (void)state;
    bnmlp_model *model = make_model(NULL);
    bnmlp_status status = BNMLP_OK;
    bnmlp_model *folded = bnmlp_model_fold(model, NULL, &status);
    assert_ok(status);
    char a[64], b[64];
    test_make_dir(a, sizeof a);
    test_make_dir(b, sizeof b);
    const bnmlp_export_options o = full_options("iris", BNMLP_EXPORT_WEIGHTS_FLOAT32);
    assert_ok(bnmlp_model_export(model, "c", a, &o, NULL));
    assert_ok(bnmlp_export_c_write(folded, model, b, &o, NULL, NULL));
    assert_same_file(a, b, "iris.h");
    assert_same_file(a, b, "iris.c");
    assert_same_file(a, b, "iris_test.c");
    char *source = read_text(a, "iris.c");
    assert_null(strstr(source, "BatchNormalization"));
    assert_null(strstr(source, "Normalization"));
    assert_null(strstr(source, "Dropout"));
    free(source);
    test_remove_dir(a);
    test_remove_dir(b);
    bnmlp_model_free(folded);
    bnmlp_model_free(model);
}

/* Weights are hexadecimal literals of their exact bits; the header has the sizes, the prototype,
 * the class names and says whether libm is needed; NAME.c has no stdio and no malloc. */
static void test_content(void **state) {
    (void)state;
    bnmlp_model *model = make_model(NULL);
    float kernel[6 * 3] = {0};
    kernel[0] = 0.1f, kernel[1] = -3.0f, kernel[2] = 1e-40f; /* 1e-40: subnormal */
    assert_ok(bnmlp_model_set_weights(model, 5, BNMLP_WEIGHT_KERNEL, kernel, 6 * 3));
    char dir[64];
    test_make_dir(dir, sizeof dir);
    const bnmlp_export_options o = full_options("iris", BNMLP_EXPORT_WEIGHTS_FLOAT32);
    assert_ok(bnmlp_export_c_write(model, model, dir, &o, NULL, NULL)); /* the row itself: no fold */
    char *source = read_text(dir, "iris.c"), *header = read_text(dir, "iris.h");
    assert_non_null(strstr(source, "0x1.99999ap-4f"));   /* 0.1f */
    assert_non_null(strstr(source, "-0x1.8p+1f"));       /* -3 */
    assert_non_null(strstr(source, "0x0.022d84p-126f")); /* 1e-40f */
    assert_non_null(strstr(source, "static float activation_relu(float x, float alpha)"));
    assert_non_null(strstr(source, "static void activation_softmax(float *y, const float *x, size_t width)"));
    assert_non_null(strstr(source, "\"ver\\\"si\\?color\""));
    assert_non_null(strstr(source, "\"virgin\\303\\255ca\""));
    assert_null(strstr(source, "stdio"));
    assert_null(strstr(source, "malloc"));
    assert_null(strstr(source, "activation_linear")); /* Dense's linear part and dropout: nothing */
    assert_non_null(strstr(header, "#define iris_INPUTS 4\n"));
    assert_non_null(strstr(header, "#define iris_OUTPUTS 3\n"));
    assert_non_null(strstr(header, "#define iris_WORKSPACE_FLOATS 12\n"));
    assert_non_null(strstr(header, "#define iris_NEEDS_LIBM 1\n"));
    assert_non_null(strstr(header, "#define iris_CLASSES 3\n"));
    assert_non_null(
        strstr(header, "int iris_predict(const float *x, size_t rows, float *out, float *workspace);"));
    assert_non_null(strstr(header, "extern \"C\""));
    free(source);
    free(header);
    test_remove_dir(dir);
    bnmlp_model_free(model);
}

/* int8: per-output-channel scale max|w| / 127 and q = round(w / scale), half away from zero. */
static void test_int8_values(void **state) {
    (void)state;
    bnmlp_model *model = make_model(NULL);
    float kernel[6 * 3] = {0};
    /* column 0: max 127 (scale 1): 2.5 -> 3, -2.5 -> -3, 0.49 -> 0; column 1: all zero */
    kernel[0 * 3] = 127.0f, kernel[1 * 3] = 2.5f, kernel[2 * 3] = -2.5f, kernel[3 * 3] = 0.49f;
    kernel[2] = -0.5f; /* column 2: max 0.5 -> q -127 */
    assert_ok(bnmlp_model_set_weights(model, 5, BNMLP_WEIGHT_KERNEL, kernel, 6 * 3));
    char dir[64];
    test_make_dir(dir, sizeof dir);
    const bnmlp_export_options o = full_options("q", BNMLP_EXPORT_WEIGHTS_INT8);
    assert_ok(bnmlp_export_c_write(model, model, dir, &o, NULL, NULL)); /* the row itself: no fold */
    char *source = read_text(dir, "q.c");
    assert_non_null(strstr(source, "static const int8_t layer5_kernel[3][6] = {\n"
                                   "    {127, 3, -3, 0, 0, 0},\n"
                                   "    {0, 0, 0, 0, 0, 0},\n"
                                   "    {-127, 0, 0, 0, 0, 0}\n};"));
    assert_non_null(
        strstr(source, "static const float layer5_scale[3] = {\n    0x1p+0f, 0x0p+0f, 0x1.020408p-8f\n};"));
    assert_non_null(strstr(source, "dense_int8("));
    free(source);
    test_remove_dir(dir);
    bnmlp_model_free(model);
}

/* Every bad name and option: BNMLP_ERR_INVALID_ARGUMENT (or the NULL / build status) and no file. */
static void test_bad_arguments(void **state) {
    (void)state;
    bnmlp_model *model = make_model(NULL);
    char dir[64];
    test_make_dir(dir, sizeof dir);
    static const char *const bad_names[] = {
        "",          "1model",
        "my-model",  "my model",
        "m\xc3\xa9", "a/b",
        "x.h",       "a2345678901234567890123456789012345678901234567890123456789012345", /* 65 characters */
    };
    for (size_t k = 0; k < sizeof bad_names / sizeof bad_names[0]; k++) {
        bnmlp_export_options o = full_options(bad_names[k], BNMLP_EXPORT_WEIGHTS_FLOAT32);
        bnmlp_error_detail detail = {0};
        assert_status(bnmlp_model_export(model, "c", dir, &o, &detail), BNMLP_ERR_INVALID_ARGUMENT);
        assert_non_null(strstr(detail.message, "C identifier"));
    }
    bnmlp_export_options o = full_options(NULL, BNMLP_EXPORT_WEIGHTS_FLOAT32);
    assert_status(bnmlp_model_export(model, "c", dir, &o, NULL), BNMLP_ERR_INVALID_ARGUMENT);
    o = full_options("ok", BNMLP_EXPORT_WEIGHTS_FLOAT32);
    o.test_rows = 0;
    assert_status(bnmlp_model_export(model, "c", dir, &o, NULL), BNMLP_ERR_INVALID_ARGUMENT);
    o = full_options("ok", (bnmlp_export_weights)7);
    assert_status(bnmlp_model_export(model, "c", dir, &o, NULL), BNMLP_ERR_INVALID_ARGUMENT);
    o = full_options("ok", BNMLP_EXPORT_WEIGHTS_FLOAT32);
    assert_status(bnmlp_model_export(model, "C", dir, &o, NULL), BNMLP_ERR_INVALID_ARGUMENT);
    assert_status(bnmlp_model_export(NULL, "c", dir, &o, NULL), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_model_export(model, NULL, dir, &o, NULL), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_model_export(model, "c", NULL, &o, NULL), BNMLP_ERR_NULL_ARGUMENT);
    assert_int_equal(test_count_files(dir), 0);
    /* A model that is not built. */
    bnmlp_model *unbuilt = bnmlp_model_create(3, NULL);
    bnmlp_dense_config d = BNMLP_DENSE_DEFAULT(2);
    assert_ok(bnmlp_model_add_dense(unbuilt, &d));
    assert_status(bnmlp_model_export(unbuilt, "c", dir, &o, NULL), BNMLP_ERR_NOT_BUILT);
    assert_int_equal(test_count_files(dir), 0);
    bnmlp_model_free(unbuilt);
    /* NULL options: the defaults (name "model", no self-test). */
    assert_ok(bnmlp_model_export(model, "c", dir, NULL, NULL));
    assert_int_equal(test_count_files(dir), 2);
    char *header = read_text(dir, "model.h");
    free(header);
    test_remove_dir(dir);
    bnmlp_model_free(model);
}

/* A missing directory, and a regular file where the directory should be: BNMLP_ERR_FILE_OPEN, the
 * message names the path, nothing created. */
static void test_unwritable_directory(void **state) {
    (void)state;
    bnmlp_model *model = make_model(NULL);
    char dir[64], missing[128], file[128];
    test_make_dir(dir, sizeof dir);
    test_path(missing, sizeof missing, dir, "no/such/dir");
    test_path(file, sizeof file, dir, "plain");
    test_write_file(file, "x", 1);
    const bnmlp_export_options o = full_options("m", BNMLP_EXPORT_WEIGHTS_FLOAT32);
    bnmlp_error_detail detail = {0};
    assert_status(bnmlp_model_export(model, "c", missing, &o, &detail), BNMLP_ERR_FILE_OPEN);
    assert_non_null(strstr(detail.message, "no/such/dir"));
    assert_status(bnmlp_model_export(model, "c", file, &o, &detail), BNMLP_ERR_FILE_OPEN);
    assert_int_equal(test_count_files(dir), 1);
    test_remove_dir(dir);
    bnmlp_model_free(model);
}

/* Writes "old" into dir/name. */
static void put_old(const char *dir, const char *name) {
    char path[512];
    test_path(path, sizeof path, dir, name);
    test_write_file(path, "old", 3);
}

/* Injected failures in each file: a write (at the start, and part way), the flush, the rename.
 * Every one fails with BNMLP_ERR_IO and leaves no temporary file; a failure before the renames
 * leaves every old file as it was. (A rename failing after an earlier file's rename succeeded
 * leaves that earlier file new and complete: renames are the one step that cannot be undone.) */
static void test_injected_failures(void **state) {
    (void)state;
    bnmlp_model *model = make_model(NULL);
    const bnmlp_export_options o = full_options("m", BNMLP_EXPORT_WEIGHTS_FLOAT32);
    static const char *const names[BNMLP_C_EXPORT_FILES] = {"m.h", "m.c", "m_test.c"};
    const uint64_t limits[] = {0, 100, 1000};
    for (size_t f = 0; f < BNMLP_C_EXPORT_FILES; f++)
        for (size_t k = 0; k < 3 + 2; k++) {
            char dir[64];
            test_make_dir(dir, sizeof dir);
            for (size_t g = 0; g < BNMLP_C_EXPORT_FILES; g++) put_old(dir, names[g]);
            bnmlp_file_fault faults[BNMLP_C_EXPORT_FILES] = {BNMLP_FILE_NO_FAULT, BNMLP_FILE_NO_FAULT,
                                                             BNMLP_FILE_NO_FAULT};
            faults[f] = test_fault(limits, 3, k);
            bnmlp_error_detail detail = {0};
            assert_status(bnmlp_export_c_write(model, model, dir, &o, faults, &detail), BNMLP_ERR_IO);
            assert_true(detail.message[0] != '\0');
            assert_int_equal(test_count_files(dir), BNMLP_C_EXPORT_FILES); /* no temporary file */
            const bool renaming = k == 3 + 1;
            for (size_t g = 0; g < BNMLP_C_EXPORT_FILES; g++) {
                char *text = read_text(dir, names[g]);
                if (!renaming || g >= f)
                    assert_string_equal(text, "old");
                else
                    assert_non_null(strstr(text, "generated by libbnmlp")); /* renamed before: complete */
                free(text);
            }
            test_remove_dir(dir);
        }
    bnmlp_model_free(model);
}

/* Every allocation failure: a clean error, no file, nothing leaked; then success. */
static void test_allocation_failures(void **state) {
    (void)state;
    counting_allocator counter = {0};
    const bnmlp_allocator allocator = counting_allocator_of(&counter);
    bnmlp_model *model = make_model(&allocator);
    const bnmlp_export_options options[] = {full_options("m", BNMLP_EXPORT_WEIGHTS_FLOAT32),
                                            full_options("m", BNMLP_EXPORT_WEIGHTS_INT8)};
    for (size_t s = 0; s < 2; s++) {
        bnmlp_status status = BNMLP_ERR_OUT_OF_MEMORY;
        for (size_t fail = 1; status != BNMLP_OK; fail++) {
            assert_true(fail < 1000);
            char dir[64];
            test_make_dir(dir, sizeof dir);
            const size_t allocations = counter.allocations, releases = counter.releases;
            counter.fail_at = counter.calls + fail;
            status = bnmlp_model_export(model, "c", dir, &options[s], NULL);
            counter.fail_at = 0;
            assert_int_equal(counter.allocations - allocations, counter.releases - releases);
            if (status != BNMLP_OK) {
                assert_status(status, BNMLP_ERR_OUT_OF_MEMORY);
                assert_int_equal(test_count_files(dir), 0);
            } else {
                assert_int_equal(test_count_files(dir), 3);
            }
            test_remove_dir(dir);
        }
    }
    bnmlp_model_free(model);
}

/* The writer's two halves (core/file.h), which the export's atomicity rests on: a sealed file is
 * complete but not in place; publish renames it over the old one; discard removes it (sealed or
 * still open) and leaves the old file. */
static void test_writer_seal_publish_discard(void **state) {
    (void)state;
    char dir[64], path[128];
    test_make_dir(dir, sizeof dir);
    test_path(path, sizeof path, dir, "f.txt");
    test_write_file(path, "old", 3);
    bnmlp_file_writer w;
    assert_ok(bnmlp_file_writer_open(&w, path, NULL, NULL, NULL));
    assert_ok(bnmlp_file_writer_write(&w, "new", 3));
    assert_ok(bnmlp_file_writer_seal(&w, NULL));
    assert_int_equal(test_count_files(dir), 2); /* f.txt and the sealed temporary */
    char *text = read_text(dir, "f.txt");
    assert_string_equal(text, "old");
    free(text);
    assert_ok(bnmlp_file_writer_publish(&w, NULL));
    assert_int_equal(test_count_files(dir), 1);
    text = read_text(dir, "f.txt");
    assert_string_equal(text, "new");
    free(text);
    for (int sealed = 0; sealed < 2; sealed++) {
        assert_ok(bnmlp_file_writer_open(&w, path, NULL, NULL, NULL));
        assert_ok(bnmlp_file_writer_write(&w, "other", 5));
        if (sealed) assert_ok(bnmlp_file_writer_seal(&w, NULL));
        bnmlp_file_writer_discard(&w);
        bnmlp_file_writer_discard(&w); /* finished: a no-op */
        assert_int_equal(test_count_files(dir), 1);
        text = read_text(dir, "f.txt");
        assert_string_equal(text, "new");
        free(text);
    }
    assert_status(bnmlp_file_writer_publish(&w, NULL), BNMLP_ERR_NULL_ARGUMENT); /* not sealed */
    test_remove_dir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_row_is_listed),
        cmocka_unit_test(test_same_bytes_every_time),
        cmocka_unit_test(test_content),
        cmocka_unit_test(test_export_folds),
        cmocka_unit_test(test_int8_values),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_unwritable_directory),
        cmocka_unit_test(test_injected_failures),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_writer_seal_publish_discard),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
