/* test_csv.c - the CSV reader and writer: dialect, round trips, every bad input, allocation
 * failures and the atomic write under injected I/O failures. */
#define _POSIX_C_SOURCE 200809L

#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#include "file_support.h"

#include "data/data_files.h"

#include "fixtures/text_labels_reference.h"

/* A pointer written into outputs before a call that must fail, to see that it stays. */
static bnmlp_tensor *const UNTOUCHED = (bnmlp_tensor *)(uintptr_t)0x5A5A;

/* Reads text with config (NULL: defaults), expecting success. */
static void read_ok(const char *text, const bnmlp_csv_read_config *config, bnmlp_tensor **x,
                    bnmlp_tensor **y) {
    bnmlp_error_detail detail = {0};
    bnmlp_status status = bnmlp_csv_read_buffer(text, strlen(text), config, x, y, &detail);
    if (status != BNMLP_OK) print_error("line %zu col %zu: %s\n", detail.line, detail.column, detail.message);
    assert_ok(status);
}

/* Fails unless t has the shape and exactly the values. */
static void expect_tensor(const bnmlp_tensor *t, size_t rows, size_t cols, const float *values) {
    assert_non_null(t);
    assert_int_equal(t->rows, rows);
    assert_int_equal(t->cols, cols);
    assert_floats_close(t->data, values, rows * cols, 0.0, 0.0);
}

static void test_header_and_last_label(void **state) {
    (void)state;
    bnmlp_tensor *x = NULL, *y = NULL;
    read_ok("a,b,label\n1,2,0\n-3.5,4e2,1\n", NULL, &x, &y);
    expect_tensor(x, 2, 2, (const float[]){1, 2, -3.5f, 400});
    expect_tensor(y, 2, 1, (const float[]){0, 1});
    bnmlp_tensor_free(x);
    bnmlp_tensor_free(y);
}

static void test_no_header_semicolon_crlf_no_final_newline(void **state) {
    (void)state;
    bnmlp_tensor *x = NULL, *y = NULL;
    read_ok("1;2;3\r\n4;5;6", NULL, &x, &y);
    expect_tensor(x, 2, 2, (const float[]){1, 2, 4, 5});
    expect_tensor(y, 2, 1, (const float[]){3, 6});
    bnmlp_tensor_free(x);
    bnmlp_tensor_free(y);
}

static void test_tab_blank_trailing_lines_bom(void **state) {
    (void)state;
    bnmlp_tensor *x = NULL, *y = NULL;
    read_ok("\xEF\xBB\xBFx\ty\n.5\t-1.\n+2E-1\t0\n\n  \n\r\n", NULL, &x, &y);
    expect_tensor(x, 2, 1, (const float[]){0.5f, 0.2f});
    expect_tensor(y, 2, 1, (const float[]){-1, 0});
    bnmlp_tensor_free(x);
    bnmlp_tensor_free(y);
}

static void test_quoted_fields_and_spaces(void **state) {
    (void)state;
    bnmlp_tensor *x = NULL, *y = NULL;
    /* A header with a quoted comma, an escaped quote and a newline inside quotes. */
    read_ok("\"a,1\",\"say \"\"hi\"\"\",\"multi\nline\"\n \"1\" , 2 ,\"3\"\n4,\"5\",6\n", NULL, &x, &y);
    expect_tensor(x, 2, 2, (const float[]){1, 2, 4, 5});
    expect_tensor(y, 2, 1, (const float[]){3, 6});
    bnmlp_tensor_free(x);
    bnmlp_tensor_free(y);
}

static void test_label_by_index_name_and_none(void **state) {
    (void)state;
    const char *text = "f0,\"tar\"\"get\",f2\n1,2,3\n4,5,6\n";
    bnmlp_tensor *x = NULL, *y = NULL;
    bnmlp_csv_read_config config = BNMLP_CSV_READ_DEFAULT;
    config.label = BNMLP_CSV_LABEL_INDEX, config.label_index = 0;
    read_ok(text, &config, &x, &y);
    expect_tensor(x, 2, 2, (const float[]){2, 3, 5, 6});
    expect_tensor(y, 2, 1, (const float[]){1, 4});
    bnmlp_tensor_free(x);
    bnmlp_tensor_free(y);

    config.label = BNMLP_CSV_LABEL_NAME, config.label_name = "tar\"get";
    read_ok(text, &config, &x, &y);
    expect_tensor(x, 2, 2, (const float[]){1, 3, 4, 6});
    expect_tensor(y, 2, 1, (const float[]){2, 5});
    bnmlp_tensor_free(x);
    bnmlp_tensor_free(y);

    config.label = BNMLP_CSV_LABEL_NONE;
    y = UNTOUCHED;
    read_ok(text, &config, &x, &y);
    expect_tensor(x, 2, 3, (const float[]){1, 2, 3, 4, 5, 6});
    assert_null(y); /* set to NULL: there is no label */
    bnmlp_tensor_free(x);
    read_ok(text, &config, &x, NULL); /* y may be NULL without a label */
    bnmlp_tensor_free(x);
}

static void test_header_settings(void **state) {
    (void)state;
    bnmlp_tensor *x = NULL, *y = NULL;
    bnmlp_csv_read_config config = BNMLP_CSV_READ_DEFAULT;
    config.header = BNMLP_CSV_HEADER_YES; /* a numeric first line taken as the header */
    read_ok("1,2\n3,4\n", &config, &x, &y);
    expect_tensor(x, 1, 1, (const float[]){3});
    bnmlp_tensor_free(x);
    bnmlp_tensor_free(y);
    config.header = BNMLP_CSV_HEADER_AUTO; /* numeric: data */
    read_ok("1,2\n3,4\n", &config, &x, &y);
    expect_tensor(x, 2, 1, (const float[]){1, 3});
    bnmlp_tensor_free(x);
    bnmlp_tensor_free(y);
    config.separator = ';'; /* forced separator: commas are then part of fields */
    config.label = BNMLP_CSV_LABEL_NONE;
    bnmlp_error_detail detail;
    assert_status(bnmlp_csv_read_buffer("1;2\n3,5;4\n", 10, &config, &x, NULL, &detail), BNMLP_ERR_FORMAT);
    assert_int_equal(detail.line, 2);
    assert_int_equal(detail.column, 1);
}

/* A decimal point other than '.' in the C locale must change nothing (skipped when the machine
 * has no such locale). */
static void test_locale_independent(void **state) {
    (void)state;
    const char *locales[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8"};
    const char *set = NULL;
    for (size_t i = 0; i < 4 && !set; i++) set = setlocale(LC_NUMERIC, locales[i]);
    if (!set) skip();
    bnmlp_tensor *x = NULL, *y = NULL;
    read_ok("1.5,2.25\n", NULL, &x, &y);
    expect_tensor(x, 1, 1, (const float[]){1.5f});
    char dir[64], path[128];
    test_make_dir(dir, sizeof dir);
    test_path(path, sizeof path, dir, "l.csv");
    assert_ok(bnmlp_csv_write(path, x, y, NULL, NULL));
    size_t size;
    unsigned char *text = test_read_file(path, &size);
    assert_string_equal((char *)text, "1.5,2.25\n");
    free(text);
    setlocale(LC_NUMERIC, "C");
    bnmlp_tensor_free(x);
    bnmlp_tensor_free(y);
    test_remove_dir(dir);
}

/* One bad input: the text, a label setting, and the expected status, line and column. */
typedef struct bad_case {
    const char *text;
    bnmlp_csv_label label;
    size_t label_index;
    const char *label_name;
    bnmlp_status status;
    size_t line, column;
} bad_case;

static const bad_case bad_cases[] = {
    {"", 0, 0, NULL, BNMLP_ERR_FORMAT, 1, 0},                     /* empty */
    {"\n\n \r\n", 0, 0, NULL, BNMLP_ERR_FORMAT, 1, 0},            /* only blank lines */
    {"a,b\n", 0, 0, NULL, BNMLP_ERR_FORMAT, 2, 0},                /* header only */
    {"\n1,2\n", 0, 0, NULL, BNMLP_ERR_FORMAT, 1, 0},              /* blank line first */
    {"1,2\nx,3\n", 0, 0, NULL, BNMLP_ERR_FORMAT, 2, 1},           /* not a number */
    {"a,b\n1,2\n3,4x\n", 0, 0, NULL, BNMLP_ERR_FORMAT, 3, 2},     /* trailing junk */
    {"1,2\n3,,\n", 0, 0, NULL, BNMLP_ERR_FORMAT, 2, 2},           /* empty field */
    {"1,2,3\n4,5\n", 0, 0, NULL, BNMLP_ERR_FORMAT, 2, 3},         /* too few fields */
    {"1,2\n3,4,5,6\n", 0, 0, NULL, BNMLP_ERR_FORMAT, 2, 3},       /* too many fields */
    {"1,2\n\n3,4\n", 0, 0, NULL, BNMLP_ERR_FORMAT, 2, 0},         /* blank line inside */
    {"1,2\n3,\"4\n", 0, 0, NULL, BNMLP_ERR_FORMAT, 2, 2},         /* unterminated quote */
    {"1,2\n3,\"4\"5\n", 0, 0, NULL, BNMLP_ERR_FORMAT, 2, 2},      /* text after a quote */
    {"1,2\n3,\"4\"\"\"\n", 0, 0, NULL, BNMLP_ERR_FORMAT, 2, 2},   /* escaped quote in a number */
    {"1,2\n3,nan\n", 0, 0, NULL, BNMLP_ERR_NOT_FINITE, 2, 2},     /* nan */
    {"1,2\n-Inf,3\n", 0, 0, NULL, BNMLP_ERR_NOT_FINITE, 2, 1},    /* -inf */
    {"1,infinity\n", 0, 0, NULL, BNMLP_ERR_NOT_FINITE, 1, 2},     /* infinity */
    {"1,2\n3,1e39\n", 0, 0, NULL, BNMLP_ERR_NOT_FINITE, 2, 2},    /* beyond float range */
    {"1,2\n-3.5e38,1\n", 0, 0, NULL, BNMLP_ERR_NOT_FINITE, 2, 1}, /* beyond float range */
    {"1,2\n3,1e400\n", 0, 0, NULL, BNMLP_ERR_NOT_FINITE, 2, 2},   /* beyond double range */
    {"1,2\n0x10,3\n", 0, 0, NULL, BNMLP_ERR_FORMAT, 2, 1},        /* hex is not decimal */
    {"1,2\n1e,3\n", 0, 0, NULL, BNMLP_ERR_FORMAT, 2, 1},          /* exponent without digits */
    {"1,2\n.,3\n", 0, 0, NULL, BNMLP_ERR_FORMAT, 2, 1},           /* a lone point */
    {"1,2\n3,4 5\n", 0, 0, NULL, BNMLP_ERR_FORMAT, 2, 2},         /* two numbers in a field */
    {"1,2\n3,1,5\n", 0, 0, NULL, BNMLP_ERR_FORMAT, 2, 3},         /* 1,5 decimal comma */
    {"a,b\n1,2\n", BNMLP_CSV_LABEL_INDEX, 2, NULL, BNMLP_ERR_INVALID_ARGUMENT, 1, 0}, /* index out of range */
    {"a,b\n1,2\n", BNMLP_CSV_LABEL_NAME, 0, "c", BNMLP_ERR_INVALID_ARGUMENT, 1, 0},   /* name not in header */
    {"1,2\n3,4\n", BNMLP_CSV_LABEL_NAME, 0, "a", BNMLP_ERR_INVALID_ARGUMENT, 1, 0},   /* name, no header */
    {"1\n2\n", BNMLP_CSV_LABEL_LAST, 0, NULL, BNMLP_ERR_INVALID_ARGUMENT, 1, 1},      /* label only column */
    {"a,b\r\n1,2\r\n3,x\r\n", 0, 0, NULL, BNMLP_ERR_FORMAT, 3, 2},                    /* CRLF line counting */
    {"\"a\nb\",c\n1,2\n3,?\n", 0, 0, NULL, BNMLP_ERR_FORMAT, 4, 2}, /* newline in a quoted header */
};

static void test_bad_inputs(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        bnmlp_csv_read_config config = BNMLP_CSV_READ_DEFAULT;
        config.label = c->label, config.label_index = c->label_index, config.label_name = c->label_name;
        counting_allocator counter = {0};
        bnmlp_allocator allocator = counting_allocator_of(&counter);
        config.allocator = &allocator;
        bnmlp_tensor *x = UNTOUCHED, *y = UNTOUCHED;
        bnmlp_error_detail detail = {.line = 999, .column = 999};
        bnmlp_status status = bnmlp_csv_read_buffer(c->text, strlen(c->text), &config, &x, &y, &detail);
        if (status != c->status || detail.line != c->line || detail.column != c->column)
            print_error("case %zu: status %d line %zu column %zu (%s); expected %d line %zu column %zu\n", i,
                        (int)status, detail.line, detail.column, detail.message, (int)c->status, c->line,
                        c->column);
        assert_status(status, c->status);
        assert_int_equal(detail.line, c->line);
        assert_int_equal(detail.column, c->column);
        assert_true(strlen(detail.message) > 5);
        assert_ptr_equal(x, UNTOUCHED);
        assert_ptr_equal(y, UNTOUCHED);
        assert_int_equal(counter.allocations, counter.releases);
        /* The same with no detail. */
        assert_status(bnmlp_csv_read_buffer(c->text, strlen(c->text), &config, &x, &y, NULL), c->status);
    }
}

static void test_bad_arguments(void **state) {
    (void)state;
    bnmlp_tensor *x = UNTOUCHED, *y = UNTOUCHED;
    bnmlp_error_detail detail;
    assert_status(bnmlp_csv_read_buffer(NULL, 3, NULL, &x, &y, &detail), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_csv_read_buffer("1,2", 3, NULL, NULL, &y, &detail), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_csv_read_buffer("1,2", 3, NULL, &x, NULL, &detail), BNMLP_ERR_NULL_ARGUMENT);
    bnmlp_csv_read_config config = BNMLP_CSV_READ_DEFAULT;
    config.separator = ':';
    assert_status(bnmlp_csv_read_buffer("1,2", 3, &config, &x, &y, &detail), BNMLP_ERR_INVALID_ARGUMENT);
    config = BNMLP_CSV_READ_DEFAULT;
    config.label = BNMLP_CSV_LABEL_NAME;
    assert_status(bnmlp_csv_read_buffer("a,b\n1,2", 7, &config, &x, &y, &detail), BNMLP_ERR_NULL_ARGUMENT);
    config.label = (bnmlp_csv_label)17;
    assert_status(bnmlp_csv_read_buffer("1,2", 3, &config, &x, &y, &detail), BNMLP_ERR_INVALID_ARGUMENT);
    assert_status(bnmlp_csv_read(NULL, NULL, &x, &y, &detail), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_csv_read("/nonexistent-bnmlp/data.csv", NULL, &x, &y, &detail), BNMLP_ERR_FILE_OPEN);
    assert_non_null(strstr(detail.message, "/nonexistent-bnmlp/data.csv"));
    assert_status(bnmlp_csv_read("/tmp", NULL, &x, &y, &detail), BNMLP_ERR_IO); /* a directory */
    assert_ptr_equal(x, UNTOUCHED);
    assert_ptr_equal(y, UNTOUCHED);

    float data[2] = {1, NAN};
    bnmlp_tensor t = bnmlp_tensor_view(data, 1, 2);
    assert_status(bnmlp_csv_write(NULL, &t, NULL, NULL, &detail), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_csv_write("/tmp/x.csv", NULL, NULL, NULL, &detail), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_csv_write("/tmp/bnmlp-never.csv", &t, NULL, NULL, &detail), BNMLP_ERR_NOT_FINITE);
    data[1] = 2;
    bnmlp_tensor wrong = bnmlp_tensor_view(data, 2, 1);
    assert_status(bnmlp_csv_write("/tmp/bnmlp-never.csv", &t, &wrong, NULL, &detail), BNMLP_ERR_SHAPE);
    bnmlp_csv_write_config wconfig = BNMLP_CSV_WRITE_DEFAULT;
    wconfig.separator = '|';
    assert_status(bnmlp_csv_write("/tmp/bnmlp-never.csv", &t, NULL, &wconfig, &detail),
                  BNMLP_ERR_INVALID_ARGUMENT);
    const char *names[] = {"a", NULL};
    wconfig = BNMLP_CSV_WRITE_DEFAULT;
    wconfig.column_names = names;
    assert_status(bnmlp_csv_write("/tmp/bnmlp-never.csv", &t, NULL, &wconfig, &detail),
                  BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_csv_write("/nonexistent-bnmlp/out.csv", &t, NULL, NULL, &detail),
                  BNMLP_ERR_FILE_OPEN);
    assert_non_null(strstr(detail.message, "/nonexistent-bnmlp/out.csv"));
    FILE *never = fopen("/tmp/bnmlp-never.csv", "rb");
    assert_null(never);
}

/* A float from random bits: finite, every exponent including subnormals, either sign. */
static float random_float(uint64_t *seed) {
    for (;;) {
        *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
        uint32_t bits = (uint32_t)(*seed >> 32);
        float f;
        memcpy(&f, &bits, sizeof f);
        if (isfinite(f)) return f;
    }
}

static void test_round_trip_exact(void **state) {
    (void)state;
    enum { ROWS = 2000, COLS = 5 };
    float *values = malloc(sizeof(float) * ROWS * (COLS + 1));
    assert_non_null(values);
    uint64_t seed = 12345;
    for (size_t i = 0; i < ROWS * (COLS + 1); i++) values[i] = random_float(&seed);
    const float specials[] = {0.0f,
                              -0.0f,
                              1.0f,
                              -1.0f,
                              0x1p-149f,
                              -0x1p-149f,
                              0x1.fffffcp-127f,
                              0x1p-126f,
                              0x1.fffffep127f,
                              -0x1.fffffep127f,
                              0.1f,
                              1e-45f,
                              3.4e38f,
                              16777217.0f,
                              1e10f};
    memcpy(values, specials, sizeof specials);
    bnmlp_tensor x = bnmlp_tensor_view(values, ROWS, COLS);
    bnmlp_tensor y = bnmlp_tensor_view(values + ROWS * COLS, ROWS, 1);
    char dir[64], path[128];
    test_make_dir(dir, sizeof dir);
    test_path(path, sizeof path, dir, "data.csv");
    const char *names[] = {"a", "b,c", "say \"x\"", " padded ", "e", "label"};
    for (int variant = 0; variant < 3; variant++) {
        bnmlp_csv_write_config wconfig = BNMLP_CSV_WRITE_DEFAULT;
        wconfig.separator = variant == 0 ? ',' : variant == 1 ? ';' : '\t';
        wconfig.column_names = variant == 2 ? NULL : names;
        assert_ok(bnmlp_csv_write(path, &x, &y, &wconfig, NULL));
        bnmlp_tensor *rx = NULL, *ry = NULL;
        bnmlp_csv_read_config rconfig = BNMLP_CSV_READ_DEFAULT;
        if (variant == 0) rconfig.label = BNMLP_CSV_LABEL_NAME, rconfig.label_name = "label";
        bnmlp_error_detail detail = {0};
        bnmlp_status status = bnmlp_csv_read(path, &rconfig, &rx, &ry, &detail);
        if (status != BNMLP_OK) print_error("%zu:%zu %s\n", detail.line, detail.column, detail.message);
        assert_ok(status);
        assert_int_equal(rx->rows, ROWS);
        assert_int_equal(rx->cols, COLS);
        /* Bit-exact, -0 included. */
        assert_memory_equal(rx->data, x.data, sizeof(float) * ROWS * COLS);
        assert_memory_equal(ry->data, y.data, sizeof(float) * ROWS);
        bnmlp_tensor_free(rx);
        bnmlp_tensor_free(ry);
    }
    assert_int_equal(test_count_files(dir), 1);
    free(values);
    test_remove_dir(dir);
}

static void test_write_format(void **state) {
    (void)state;
    float data[4] = {1.0f, -0.5f, 0.1f, 1e-7f};
    bnmlp_tensor x = bnmlp_tensor_view(data, 2, 1), y = bnmlp_tensor_view(data + 2, 2, 1);
    char dir[64], path[128];
    test_make_dir(dir, sizeof dir);
    test_path(path, sizeof path, dir, "f.csv");
    const char *names[] = {"x", "y"};
    bnmlp_csv_write_config config = {.separator = ';', .column_names = names};
    assert_ok(bnmlp_csv_write(path, &x, &y, &config, NULL));
    size_t size;
    unsigned char *text = test_read_file(path, &size);
    assert_string_equal((char *)text, "x;y\n1;0.100000001\n-0.5;1.00000001e-07\n");
    free(text);
    test_remove_dir(dir);
}

static void test_allocation_failures(void **state) {
    (void)state;
    char dir[64], path[128];
    test_make_dir(dir, sizeof dir);
    test_path(path, sizeof path, dir, "a.csv");
    const char *text = "a,b,c\n1,2,3\n4,5,6\n";
    test_write_file(path, text, strlen(text));
    counting_allocator counter;
    bnmlp_allocator allocator = counting_allocator_of(&counter);
    bnmlp_csv_read_config config = BNMLP_CSV_READ_DEFAULT;
    config.allocator = &allocator;
    size_t total = 0;
    for (size_t fail = 0; fail == 0 || fail <= total; fail++) {
        counter = (counting_allocator){.fail_at = fail};
        bnmlp_tensor *x = UNTOUCHED, *y = UNTOUCHED;
        bnmlp_status status = bnmlp_csv_read(path, &config, &x, &y, NULL);
        if (fail == 0) {
            assert_ok(status);
            total = counter.calls;
            assert_int_equal(total, 5); /* file bytes, x struct and data, y struct and data */
            bnmlp_tensor_free(x);
            bnmlp_tensor_free(y);
        } else {
            assert_status(status, BNMLP_ERR_OUT_OF_MEMORY);
            assert_ptr_equal(x, UNTOUCHED);
            assert_ptr_equal(y, UNTOUCHED);
        }
        assert_int_equal(counter.allocations, counter.releases);
    }
    /* The writer allocates once (its paths); failing it creates nothing. */
    float data[2] = {1, 2};
    bnmlp_tensor x = bnmlp_tensor_view(data, 1, 2);
    test_path(path, sizeof path, dir, "w.csv");
    bnmlp_csv_write_config wconfig = {.separator = ',', .allocator = &allocator};
    counter = (counting_allocator){.fail_at = 1};
    assert_status(bnmlp_csv_write(path, &x, NULL, &wconfig, NULL), BNMLP_ERR_OUT_OF_MEMORY);
    assert_int_equal(test_count_files(dir), 1);
    counter = (counting_allocator){0};
    assert_ok(bnmlp_csv_write(path, &x, NULL, &wconfig, NULL));
    assert_int_equal(counter.calls, 1);
    assert_int_equal(counter.allocations, counter.releases);
    test_remove_dir(dir);
}

static void test_atomic_write_under_io_failure(void **state) {
    (void)state;
    char dir[64], path[128];
    test_make_dir(dir, sizeof dir);
    test_path(path, sizeof path, dir, "keep.csv");
    const char *previous = "old,content\n1,2\n";
    test_write_file(path, previous, strlen(previous));
    enum { ROWS = 3000 };
    float *data = malloc(sizeof(float) * ROWS * 2);
    assert_non_null(data);
    for (size_t i = 0; i < ROWS * 2; i++) data[i] = (float)i * 0.37f;
    bnmlp_tensor x = bnmlp_tensor_view(data, ROWS, 2);
    const uint64_t limits[] = {0, 1, 5, 100, 4095, 4096, 4097, 20000, 40000};
    for (size_t k = 0; k < sizeof limits / sizeof limits[0] + 2; k++) {
        bnmlp_file_fault fault = test_fault(limits, sizeof limits / sizeof limits[0], k);
        bnmlp_error_detail detail = {0};
        assert_status(bnmlp_csv_write_with_fault(path, &x, NULL, NULL, &detail, &fault), BNMLP_ERR_IO);
        assert_non_null(strstr(detail.message, "keep.csv"));
        size_t size;
        unsigned char *now = test_read_file(path, &size);
        assert_non_null(now);
        assert_string_equal((char *)now, previous);
        free(now);
        assert_int_equal(test_count_files(dir), 1); /* no temporary file left */
    }
    /* A write into a missing file's place under failure leaves nothing at all. */
    char fresh[128];
    test_path(fresh, sizeof fresh, dir, "fresh.csv");
    bnmlp_file_fault fault = BNMLP_FILE_NO_FAULT;
    fault.fail_after_bytes = 10;
    assert_status(bnmlp_csv_write_with_fault(fresh, &x, NULL, NULL, NULL, &fault), BNMLP_ERR_IO);
    assert_int_equal(test_count_files(dir), 1);
    /* Without a fault the file is replaced. */
    assert_ok(bnmlp_csv_write(path, &x, NULL, NULL, NULL));
    bnmlp_tensor *rx = NULL;
    bnmlp_csv_read_config config = BNMLP_CSV_READ_DEFAULT;
    config.label = BNMLP_CSV_LABEL_NONE;
    assert_ok(bnmlp_csv_read(path, &config, &rx, NULL, NULL));
    assert_memory_equal(rx->data, data, sizeof(float) * ROWS * 2);
    bnmlp_tensor_free(rx);
    assert_int_equal(test_count_files(dir), 1);
    free(data);
    test_remove_dir(dir);
}

static void test_file_size_limit(void **state) {
    (void)state;
    char dir[64], path[128];
    test_make_dir(dir, sizeof dir);
    test_path(path, sizeof path, dir, "big.csv");
    const char *text = "1,2\n3,4\n";
    test_write_file(path, text, strlen(text));
    bnmlp_csv_read_config config = BNMLP_CSV_READ_DEFAULT;
    config.max_file_bytes = 7;
    bnmlp_tensor *x = UNTOUCHED, *y = UNTOUCHED;
    assert_status(bnmlp_csv_read(path, &config, &x, &y, NULL), BNMLP_ERR_OVERFLOW);
    config.max_file_bytes = 8;
    assert_ok(bnmlp_csv_read(path, &config, &x, &y, NULL));
    bnmlp_tensor_free(x);
    bnmlp_tensor_free(y);
    test_remove_dir(dir);
}

/* A pointer written into the names output before a call that must fail or find numbers. */
static bnmlp_class_names *const NAMES_UNTOUCHED = (bnmlp_class_names *)(uintptr_t)0x5A5B;

/* Reads text with text labels allowed (config NULL: defaults), expecting success. */
static void read_names_ok(const char *text, bnmlp_csv_read_config *config, bnmlp_tensor **x, bnmlp_tensor **y,
                          bnmlp_class_names **names) {
    bnmlp_csv_read_config defaults = BNMLP_CSV_READ_DEFAULT;
    if (!config) config = &defaults;
    config->class_names = names;
    read_ok(text, config, x, y);
}

/* Fails unless names holds exactly expected (count of them), in order. */
static void expect_names(const bnmlp_class_names *names, const char *const *expected, size_t count) {
    assert_non_null(names);
    assert_int_equal(names->count, count);
    for (size_t i = 0; i < count; i++) assert_string_equal(names->names[i], expected[i]);
}

/* LabelEncoder's classes and codes (tools/gen_text_label_fixtures.py): byte order of UTF-8, numbers
 * as text, a prefix first, the empty name. The test that fails before text labels exist. */
static void test_text_labels_match_label_encoder(void **state) {
    (void)state;
    bnmlp_tensor *x = NULL, *y = NULL;
    bnmlp_class_names *names = NAMES_UNTOUCHED;
    read_names_ok(TEXT_LABELS_CSV, NULL, &x, &y, &names);
    expect_names(names, TEXT_LABELS_NAMES, TEXT_LABELS_CLASSES);
    expect_tensor(y, TEXT_LABELS_ROWS, 1, TEXT_LABELS_Y);
    assert_int_equal(x->cols, 1);
    for (size_t r = 0; r < TEXT_LABELS_ROWS; r++) assert_true(x->data[r] == (float)r);
    bnmlp_tensor_free(x);
    bnmlp_tensor_free(y);
    bnmlp_class_names_free(names);
    /* Without class_names the same file is refused as before: the label is not a number. */
    x = UNTOUCHED, y = UNTOUCHED;
    assert_status(bnmlp_csv_read_buffer(TEXT_LABELS_CSV, strlen(TEXT_LABELS_CSV), NULL, &x, &y, NULL),
                  BNMLP_ERR_FORMAT);
    assert_ptr_equal(x, UNTOUCHED);
}

static void test_text_labels_mixed_quoted_empty(void **state) {
    (void)state;
    bnmlp_tensor *x = NULL, *y = NULL;
    bnmlp_class_names *names = NULL;
    /* No header: the first line's only text is its label. Mixed numbers are names; blanks around an
     * unquoted name go, a quoted one keeps them and may hold separators, quotes and line breaks. */
    read_names_ok("1,a\n2,\"x,y\"\n3,10\n4,\n5,  b  \n6,\"\"\"q\"\"\"\n7,\" b\"\n8,\"l1\nl2\"\n9,nan\n10,a\n",
                  NULL, &x, &y, &names);
    expect_names(names, (const char *[]){"", " b", "\"q\"", "10", "a", "b", "l1\nl2", "nan", "x,y"}, 9);
    expect_tensor(y, 10, 1, (const float[]){4, 8, 3, 0, 5, 2, 1, 6, 7, 4});
    expect_tensor(x, 10, 1, (const float[]){1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
    bnmlp_tensor_free(x);
    bnmlp_tensor_free(y);
    bnmlp_class_names_free(names);
    /* A header is still found by its feature names; label by name and by index; ';' separator. */
    bnmlp_csv_read_config config = BNMLP_CSV_READ_DEFAULT;
    config.label = BNMLP_CSV_LABEL_NAME, config.label_name = "kind";
    read_names_ok("kind;f\ncat;1\ndog;2\ncat;3\n", &config, &x, &y, &names);
    expect_names(names, (const char *[]){"cat", "dog"}, 2);
    expect_tensor(y, 3, 1, (const float[]){0, 1, 0});
    expect_tensor(x, 3, 1, (const float[]){1, 2, 3});
    bnmlp_tensor_free(x);
    bnmlp_tensor_free(y);
    bnmlp_class_names_free(names);
    config = BNMLP_CSV_READ_DEFAULT;
    config.label = BNMLP_CSV_LABEL_INDEX, config.label_index = 0;
    read_names_ok("b,1\na,2\n", &config, &x, &y, &names);
    expect_names(names, (const char *[]){"a", "b"}, 2);
    expect_tensor(y, 2, 1, (const float[]){1, 0});
    bnmlp_tensor_free(x);
    bnmlp_tensor_free(y);
    bnmlp_class_names_free(names);
}

/* A label column of numbers reads exactly as without class_names, and *class_names becomes NULL;
 * text in a feature column is still an error. */
static void test_numeric_labels_unchanged(void **state) {
    (void)state;
    static const char *const texts[] = {"a,b,label\n1,2,0\n-3.5,4e2,1\n",
                                        "1;2;3\r\n4;5;6",
                                        "1,2\n3,nan\n",
                                        "1,2\nx,3\n",
                                        "1,2\n3,\n",
                                        "a,b\n"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        bnmlp_tensor *x1 = UNTOUCHED, *y1 = UNTOUCHED, *x2 = UNTOUCHED, *y2 = UNTOUCHED;
        bnmlp_error_detail d1 = {0}, d2 = {0};
        bnmlp_status s1 = bnmlp_csv_read_buffer(texts[i], strlen(texts[i]), NULL, &x1, &y1, &d1);
        bnmlp_class_names *names = NAMES_UNTOUCHED;
        bnmlp_csv_read_config config = BNMLP_CSV_READ_DEFAULT;
        config.class_names = &names;
        bnmlp_status s2 = bnmlp_csv_read_buffer(texts[i], strlen(texts[i]), &config, &x2, &y2, &d2);
        assert_status(s2, s1);
        if (s1 == BNMLP_OK) {
            assert_null(names);
            expect_tensor(x2, x1->rows, x1->cols, x1->data);
            expect_tensor(y2, y1->rows, 1, y1->data);
            bnmlp_tensor_free(x1), bnmlp_tensor_free(y1), bnmlp_tensor_free(x2), bnmlp_tensor_free(y2);
        } else {
            assert_ptr_equal(names, NAMES_UNTOUCHED);
            assert_ptr_equal(x2, UNTOUCHED);
            assert_int_equal(d1.line, d2.line);
            assert_int_equal(d1.column, d2.column);
            assert_string_equal(d1.message, d2.message);
        }
    }
}

/* One bad input with text labels: the text and the expected status, line and column. */
typedef struct bad_names_case {
    const char *text;
    size_t length; /* 0: strlen(text) */
    bnmlp_status status;
    size_t line, column;
} bad_names_case;

static void test_text_labels_bad_inputs(void **state) {
    (void)state;
    char long_name[BNMLP_CLASS_NAME_MAX_BYTES + 16];
    snprintf(long_name, sizeof long_name, "1,a\n2,%0*d\n", BNMLP_CLASS_NAME_MAX_BYTES + 1, 7);
    char just_right[BNMLP_CLASS_NAME_MAX_BYTES + 16];
    snprintf(just_right, sizeof just_right, "1,a\n2,b%0*d\n", BNMLP_CLASS_NAME_MAX_BYTES - 1, 7);
    const bad_names_case cases[] = {
        {long_name, 0, BNMLP_ERR_OVERFLOW, 2, 2},         /* a name one byte too long */
        {"1,a\n2,b\0c\n", 10, BNMLP_ERR_FORMAT, 2, 2},    /* a NUL byte in a name */
        {"1,a\n2,\"b\0\"\n", 11, BNMLP_ERR_FORMAT, 2, 2}, /* quoted too */
        {"1,a\n2,b,3\n", 0, BNMLP_ERR_FORMAT, 2, 3},      /* too many fields */
        {"1,a\n2\n", 0, BNMLP_ERR_FORMAT, 2, 2},          /* too few */
        {"1,a\n2,\"b\n", 0, BNMLP_ERR_FORMAT, 2, 2},      /* unterminated quote */
        {"1,a\n2,\"b\"c\n", 0, BNMLP_ERR_FORMAT, 2, 2},   /* text after a quote */
        {"1,a\nx,b\n", 0, BNMLP_ERR_FORMAT, 2, 1},        /* a feature that is text */
        {"1,a\ninf,b\n", 0, BNMLP_ERR_NOT_FINITE, 2, 1},  /* a feature not finite */
        {"1,a\n\n2,b\n", 0, BNMLP_ERR_FORMAT, 2, 0},      /* blank line inside */
        {"f,label\n", 0, BNMLP_ERR_FORMAT, 2, 0},         /* header only */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bad_names_case *c = &cases[i];
        size_t length = c->length ? c->length : strlen(c->text);
        counting_allocator counter = {0};
        bnmlp_allocator allocator = counting_allocator_of(&counter);
        bnmlp_class_names *names = NAMES_UNTOUCHED;
        bnmlp_csv_read_config config = BNMLP_CSV_READ_DEFAULT;
        config.allocator = &allocator, config.class_names = &names;
        bnmlp_tensor *x = UNTOUCHED, *y = UNTOUCHED;
        bnmlp_error_detail detail = {.line = 999, .column = 999};
        bnmlp_status status = bnmlp_csv_read_buffer(c->text, length, &config, &x, &y, &detail);
        if (status != c->status || detail.line != c->line || detail.column != c->column)
            print_error("case %zu: status %d line %zu column %zu (%s)\n", i, (int)status, detail.line,
                        detail.column, detail.message);
        assert_status(status, c->status);
        assert_int_equal(detail.line, c->line);
        assert_int_equal(detail.column, c->column);
        assert_ptr_equal(x, UNTOUCHED);
        assert_ptr_equal(y, UNTOUCHED);
        assert_ptr_equal(names, NAMES_UNTOUCHED);
        assert_int_equal(counter.allocations, counter.releases);
    }
    /* The longest name allowed reads. */
    bnmlp_tensor *x = NULL, *y = NULL;
    bnmlp_class_names *names = NULL;
    read_names_ok(just_right, NULL, &x, &y, &names);
    assert_int_equal(strlen(names->names[1]), BNMLP_CLASS_NAME_MAX_BYTES);
    bnmlp_tensor_free(x);
    bnmlp_tensor_free(y);
    bnmlp_class_names_free(names);
    bnmlp_class_names_free(NULL);
}

/* Up to BNMLP_CLASS_NAMES_MAX classes read; one more is refused at the line of the first name
 * beyond, in file order (the names are written in descending order, so it is not the last). */
static void test_class_count_limit(void **state) {
    (void)state;
    size_t rows = BNMLP_CLASS_NAMES_MAX + 1, room = rows * 16 + 16, used = 0;
    char *text = malloc(room);
    assert_non_null(text);
    for (size_t r = 0; r < rows; r++)
        used += (size_t)snprintf(text + used, room - used, "%zu,c%06zu\n", r, rows - r);
    used += (size_t)snprintf(text + used, room - used, "0,c%06zu\n", (size_t)1); /* repeats a name */
    bnmlp_class_names *names = NAMES_UNTOUCHED;
    bnmlp_csv_read_config config = BNMLP_CSV_READ_DEFAULT;
    config.class_names = &names;
    bnmlp_tensor *x = UNTOUCHED, *y = UNTOUCHED;
    bnmlp_error_detail detail = {0};
    assert_status(bnmlp_csv_read_buffer(text, used, &config, &x, &y, &detail), BNMLP_ERR_OVERFLOW);
    assert_int_equal(detail.line, rows);
    assert_int_equal(detail.column, 2);
    assert_ptr_equal(names, NAMES_UNTOUCHED);
    /* Without the first row: exactly the limit. */
    const char *second = strchr(text, '\n') + 1;
    assert_ok(bnmlp_csv_read_buffer(second, used - (size_t)(second - text), &config, &x, &y, &detail));
    assert_int_equal(names->count, BNMLP_CLASS_NAMES_MAX);
    assert_string_equal(names->names[0], "c000001");
    assert_true(y->data[y->rows - 1] == 0.0f);
    assert_true(y->data[0] == (float)(BNMLP_CLASS_NAMES_MAX - 1));
    bnmlp_tensor_free(x);
    bnmlp_tensor_free(y);
    bnmlp_class_names_free(names);
    free(text);
}

/* Every allocation of a text-label read failing in turn: nothing leaks, nothing is written. */
static void test_text_labels_allocation_failures(void **state) {
    (void)state;
    const char *text = "f,label\n1,b\n2,a\n3,b\n";
    counting_allocator counter;
    bnmlp_allocator allocator = counting_allocator_of(&counter);
    size_t total = 0;
    for (size_t fail = 0; fail == 0 || fail <= total; fail++) {
        counter = (counting_allocator){.fail_at = fail};
        bnmlp_class_names *names = NAMES_UNTOUCHED;
        bnmlp_csv_read_config config = BNMLP_CSV_READ_DEFAULT;
        config.allocator = &allocator, config.class_names = &names;
        bnmlp_tensor *x = UNTOUCHED, *y = UNTOUCHED;
        bnmlp_status status = bnmlp_csv_read_buffer(text, strlen(text), &config, &x, &y, NULL);
        if (fail == 0) {
            assert_ok(status);
            total = counter.calls;
            expect_names(names, (const char *[]){"a", "b"}, 2);
            bnmlp_tensor_free(x);
            bnmlp_tensor_free(y);
            bnmlp_class_names_free(names);
        } else {
            assert_status(status, BNMLP_ERR_OUT_OF_MEMORY);
            assert_ptr_equal(x, UNTOUCHED);
            assert_ptr_equal(names, NAMES_UNTOUCHED);
        }
        assert_int_equal(counter.allocations, counter.releases);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_and_last_label),
        cmocka_unit_test(test_no_header_semicolon_crlf_no_final_newline),
        cmocka_unit_test(test_tab_blank_trailing_lines_bom),
        cmocka_unit_test(test_quoted_fields_and_spaces),
        cmocka_unit_test(test_label_by_index_name_and_none),
        cmocka_unit_test(test_header_settings),
        cmocka_unit_test(test_locale_independent),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_round_trip_exact),
        cmocka_unit_test(test_write_format),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_atomic_write_under_io_failure),
        cmocka_unit_test(test_file_size_limit),
        cmocka_unit_test(test_text_labels_match_label_encoder),
        cmocka_unit_test(test_text_labels_mixed_quoted_empty),
        cmocka_unit_test(test_numeric_labels_unchanged),
        cmocka_unit_test(test_text_labels_bad_inputs),
        cmocka_unit_test(test_class_count_limit),
        cmocka_unit_test(test_text_labels_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
