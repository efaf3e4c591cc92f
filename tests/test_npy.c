/* test_npy.c - the .npy reader against files numpy 1.24 wrote (tools/gen_npy_fixtures.py), the
 * writer byte for byte against np.save, round trips, bad inputs, allocation and I/O failures. */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#include "file_support.h"

#include "data/data_files.h"
#include "fixtures/npy_fixtures.h"

#ifndef BNMLP_FIXTURES_DIR
#error "BNMLP_FIXTURES_DIR must name tests/fixtures (set by tests/CMakeLists.txt)"
#endif

#define NPY_DIR BNMLP_FIXTURES_DIR "/npy/"

/* A pointer written into outputs before a call that must fail, to see that it stays. */
static bnmlp_tensor *const UNTOUCHED = (bnmlp_tensor *)(uintptr_t)0x5A5A;

#define FIXTURE_COUNT (sizeof npy_fixtures / sizeof npy_fixtures[0])

/* Checks one fixture read from its path and from its bytes, with a counting allocator. */
static void check_fixture(const npy_fixture *f) {
    char path[512];
    snprintf(path, sizeof path, "%s%s", NPY_DIR, f->file);
    counting_allocator counter = {0};
    bnmlp_allocator allocator = counting_allocator_of(&counter);
    bnmlp_npy_read_config config = BNMLP_NPY_READ_DEFAULT;
    config.allocator = &allocator;
    size_t size;
    unsigned char *bytes = test_read_file(path, &size);
    assert_non_null(bytes);
    for (int from_buffer = 0; from_buffer < 2; from_buffer++) {
        bnmlp_tensor *t = UNTOUCHED;
        bnmlp_error_detail detail = {0};
        bnmlp_status status = from_buffer ? bnmlp_npy_read_buffer(bytes, size, &config, &t, &detail)
                                          : bnmlp_npy_read(path, &config, &t, &detail);
        if (status != f->status)
            print_error("%s (%s): %s at offset %llu\n", f->file, f->what, detail.message,
                        (unsigned long long)detail.offset);
        assert_status(status, f->status);
        if (status == BNMLP_OK) {
            assert_int_equal(t->rows, f->rows);
            assert_int_equal(t->cols, f->cols);
            for (size_t i = 0; i < f->rows * f->cols; i++) {
                uint32_t got, want;
                memcpy(&got, &t->data[i], 4);
                memcpy(&want, &f->values[i], 4);
                if (got != want) {
                    print_error("%s: element %zu is %.9g, expected %.9g\n", f->file, i, (double)t->data[i],
                                (double)f->values[i]);
                    fail();
                }
            }
            bnmlp_tensor_free(t);
        } else {
            assert_ptr_equal(t, UNTOUCHED);
            assert_true(strlen(detail.message) > 5);
            assert_true(detail.offset <= size);
        }
        assert_int_equal(counter.allocations, counter.releases);
    }
    free(bytes);
}

static void test_fixtures(void **state) {
    (void)state;
    size_t good = 0, bad = 0;
    for (size_t i = 0; i < FIXTURE_COUNT; i++) {
        check_fixture(&npy_fixtures[i]);
        if (npy_fixtures[i].status == BNMLP_OK)
            good++;
        else
            bad++;
    }
    assert_true(good >= 20);
    assert_true(bad >= 25);
}

/* Hand-made buffers: each damaged in one way, with its status and the offset of the damage. */
static void test_bad_buffers(void **state) {
    (void)state;
    static const char prefix[] = "\x93NUMPY\x01\x00";
    struct {
        const char *header;
        size_t data_bytes;
        bnmlp_status status;
    } cases[] = {
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8, BNMLP_OK},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x", 8, BNMLP_ERR_FORMAT},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,) ", 8, BNMLP_ERR_FORMAT},
        {"{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}", 8, BNMLP_ERR_FORMAT},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,,)}", 8, BNMLP_ERR_FORMAT},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2 3)}", 24, BNMLP_ERR_FORMAT},
        {"{'descr': '<f4', 'fortran_order': false, 'shape': (2,)}", 8, BNMLP_ERR_FORMAT},
        {"{'descr': '<f4\"}", 8, BNMLP_ERR_FORMAT},
        {"{'descr': '|f4', 'fortran_order': False, 'shape': (2,)}", 8, BNMLP_ERR_UNSUPPORTED},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,)}", 8,
         BNMLP_ERR_OVERFLOW},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 0)}", 0, BNMLP_ERR_UNSUPPORTED},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1)}", 4, BNMLP_ERR_UNSUPPORTED},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 1L)}", 8, BNMLP_OK},
        {"", 0, BNMLP_ERR_FORMAT},
        {"{}", 0, BNMLP_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t header_length = strlen(cases[i].header);
        size_t size = 10 + header_length + cases[i].data_bytes;
        unsigned char *bytes = calloc(1, size);
        assert_non_null(bytes);
        memcpy(bytes, prefix, 8);
        bytes[8] = (unsigned char)header_length;
        bytes[9] = 0;
        memcpy(bytes + 10, cases[i].header, header_length);
        bnmlp_tensor *t = UNTOUCHED;
        bnmlp_error_detail detail = {0};
        bnmlp_status status = bnmlp_npy_read_buffer(bytes, size, NULL, &t, &detail);
        if (status != cases[i].status) print_error("case %zu: %s\n", i, detail.message);
        assert_status(status, cases[i].status);
        if (status == BNMLP_OK)
            bnmlp_tensor_free(t);
        else
            assert_ptr_equal(t, UNTOUCHED);
        free(bytes);
    }
}

/* The fixture whose file is name. */
static const npy_fixture *fixture(const char *name) {
    for (size_t i = 0; i < FIXTURE_COUNT; i++)
        if (strcmp(npy_fixtures[i].file, name) == 0) return &npy_fixtures[i];
    fail_msg("no fixture %s", name);
    return NULL;
}

/* The writer produces np.save's exact bytes. */
static void test_writer_matches_numpy(void **state) {
    (void)state;
    char dir[64], path[128];
    test_make_dir(dir, sizeof dir);
    test_path(path, sizeof path, dir, "out.npy");
    const char *names[] = {"f4_2d.npy", "f4_1d.npy", "f4_wide.npy"};
    for (size_t k = 0; k < 3; k++) {
        const npy_fixture *f = fixture(names[k]);
        bnmlp_tensor t = bnmlp_tensor_view((float *)f->values, f->rows, f->cols);
        bnmlp_npy_write_config config = BNMLP_NPY_WRITE_DEFAULT;
        config.one_dimensional = strcmp(names[k], "f4_1d.npy") == 0;
        assert_ok(bnmlp_npy_write(path, &t, &config, NULL));
        char expected_path[512];
        snprintf(expected_path, sizeof expected_path, "%s%s", NPY_DIR, names[k]);
        size_t got_size, want_size;
        unsigned char *got = test_read_file(path, &got_size),
                      *want = test_read_file(expected_path, &want_size);
        assert_non_null(got);
        assert_non_null(want);
        assert_int_equal(got_size, want_size);
        assert_memory_equal(got, want, want_size);
        free(got);
        free(want);
    }
    assert_int_equal(test_count_files(dir), 1);
    test_remove_dir(dir);
}

static void test_round_trip(void **state) {
    (void)state;
    char dir[64], path[128];
    test_make_dir(dir, sizeof dir);
    test_path(path, sizeof path, dir, "r.npy");
    const size_t shapes[][2] = {{1, 1}, {7, 1}, {1, 9}, {123, 17}, {1000, 3}};
    uint64_t seed = 99;
    for (size_t s = 0; s < 5; s++) {
        size_t n = shapes[s][0] * shapes[s][1];
        float *data = malloc(n * sizeof(float));
        assert_non_null(data);
        for (size_t i = 0; i < n; i++) {
            uint32_t bits;
            do {
                seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                bits = (uint32_t)(seed >> 32);
                memcpy(&data[i], &bits, 4);
            } while (!isfinite(data[i]));
        }
        bnmlp_tensor t = bnmlp_tensor_view(data, shapes[s][0], shapes[s][1]);
        for (int one_d = 0; one_d < 2; one_d++) {
            bnmlp_npy_write_config config = {.one_dimensional = one_d};
            assert_ok(bnmlp_npy_write(path, &t, &config, NULL));
            bnmlp_tensor *back = NULL;
            assert_ok(bnmlp_npy_read(path, NULL, &back, NULL));
            assert_int_equal(back->rows, t.rows);
            assert_int_equal(back->cols, t.cols);
            assert_memory_equal(back->data, data, n * sizeof(float));
            bnmlp_tensor_free(back);
        }
        free(data);
    }
    test_remove_dir(dir);
}

static void test_bad_arguments(void **state) {
    (void)state;
    bnmlp_tensor *t = UNTOUCHED;
    bnmlp_error_detail detail;
    assert_status(bnmlp_npy_read_buffer(NULL, 10, NULL, &t, &detail), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_npy_read_buffer("x", 1, NULL, NULL, &detail), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_npy_read(NULL, NULL, &t, &detail), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_npy_read("/nonexistent-bnmlp/a.npy", NULL, &t, &detail), BNMLP_ERR_FILE_OPEN);
    assert_non_null(strstr(detail.message, "/nonexistent-bnmlp/a.npy"));
    assert_ptr_equal(t, UNTOUCHED);
    float data[2] = {1, INFINITY};
    bnmlp_tensor v = bnmlp_tensor_view(data, 1, 2);
    assert_status(bnmlp_npy_write(NULL, &v, NULL, &detail), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_npy_write("/tmp/bnmlp-never.npy", NULL, NULL, &detail), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_npy_write("/tmp/bnmlp-never.npy", &v, NULL, &detail), BNMLP_ERR_NOT_FINITE);
    bnmlp_tensor empty = bnmlp_tensor_view(data, 0, 2);
    assert_status(bnmlp_npy_write("/tmp/bnmlp-never.npy", &empty, NULL, &detail), BNMLP_ERR_SHAPE);
    data[1] = 2;
    assert_status(bnmlp_npy_write("/nonexistent-bnmlp/o.npy", &v, NULL, &detail), BNMLP_ERR_FILE_OPEN);
    FILE *never = fopen("/tmp/bnmlp-never.npy", "rb");
    assert_null(never);
}

static void test_allocation_failures(void **state) {
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s%s", NPY_DIR, "f8_2d.npy");
    counting_allocator counter;
    bnmlp_allocator allocator = counting_allocator_of(&counter);
    bnmlp_npy_read_config config = BNMLP_NPY_READ_DEFAULT;
    config.allocator = &allocator;
    size_t total = 0;
    for (size_t fail = 0; fail == 0 || fail <= total; fail++) {
        counter = (counting_allocator){.fail_at = fail};
        bnmlp_tensor *t = UNTOUCHED;
        bnmlp_status status = bnmlp_npy_read(path, &config, &t, NULL);
        if (fail == 0) {
            assert_ok(status);
            total = counter.calls;
            assert_int_equal(total, 3); /* file bytes, tensor struct, tensor data */
            bnmlp_tensor_free(t);
        } else {
            assert_status(status, BNMLP_ERR_OUT_OF_MEMORY);
            assert_ptr_equal(t, UNTOUCHED);
        }
        assert_int_equal(counter.allocations, counter.releases);
    }
    char dir[64], out[128];
    test_make_dir(dir, sizeof dir);
    test_path(out, sizeof out, dir, "o.npy");
    float data[2] = {1, 2};
    bnmlp_tensor v = bnmlp_tensor_view(data, 2, 1);
    bnmlp_npy_write_config wconfig = {.allocator = &allocator};
    counter = (counting_allocator){.fail_at = 1};
    assert_status(bnmlp_npy_write(out, &v, &wconfig, NULL), BNMLP_ERR_OUT_OF_MEMORY);
    assert_int_equal(test_count_files(dir), 0);
    test_remove_dir(dir);
}

static void test_atomic_write_under_io_failure(void **state) {
    (void)state;
    char dir[64], path[128];
    test_make_dir(dir, sizeof dir);
    test_path(path, sizeof path, dir, "keep.npy");
    const char *previous = "previous content";
    test_write_file(path, previous, strlen(previous));
    enum { N = 5000 };
    float *data = calloc(N, sizeof(float));
    assert_non_null(data);
    bnmlp_tensor t = bnmlp_tensor_view(data, N / 5, 5);
    const uint64_t limits[] = {0, 9, 127, 128, 129, 4096, 8000, 20127};
    for (size_t k = 0; k < sizeof limits / sizeof limits[0] + 2; k++) {
        bnmlp_file_fault fault = test_fault(limits, sizeof limits / sizeof limits[0], k);
        assert_status(bnmlp_npy_write_with_fault(path, &t, NULL, NULL, &fault), BNMLP_ERR_IO);
        size_t size;
        unsigned char *now = test_read_file(path, &size);
        assert_non_null(now);
        assert_string_equal((char *)now, previous);
        free(now);
        assert_int_equal(test_count_files(dir), 1);
    }
    /* The full file is 128 + 20000 bytes: a limit at exactly that succeeds. */
    bnmlp_file_fault fault = BNMLP_FILE_NO_FAULT;
    fault.fail_after_bytes = 20128;
    assert_ok(bnmlp_npy_write_with_fault(path, &t, NULL, NULL, &fault));
    bnmlp_tensor *back = NULL;
    assert_ok(bnmlp_npy_read(path, NULL, &back, NULL));
    assert_int_equal(back->rows, N / 5);
    bnmlp_tensor_free(back);
    assert_int_equal(test_count_files(dir), 1);
    free(data);
    test_remove_dir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),
        cmocka_unit_test(test_bad_buffers),
        cmocka_unit_test(test_writer_matches_numpy),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_atomic_write_under_io_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
