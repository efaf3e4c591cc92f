/* test_blobs.c - make_blobs against scikit-learn 1.2.1, bit for bit; bad arguments; allocation. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#include "fixtures/blobs_reference.h"

/* Under AddressSanitizer a failed huge malloc must return NULL (as libc does), not abort. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BNMLP_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(BNMLP_TEST_ASAN)
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }
#endif

/* Byte pattern written over outputs before a call that must fail, to see that it stays. */
#define SENTINEL 0xA5

/* The configuration of one fixture case. */
static bnmlp_blobs_config case_config(const blobs_ref_case *ref) {
    return (bnmlp_blobs_config){.n_samples = ref->n_samples,
                                .n_features = ref->n_features,
                                .centers = ref->centers,
                                .cluster_std = ref->cluster_std,
                                .center_box_min = ref->center_box_min,
                                .center_box_max = ref->center_box_max,
                                .shuffle = ref->shuffle,
                                .random_state = ref->random_state,
                                .allocator = NULL};
}

/* Fails unless got is ref's output exactly: shape, labels, and every coordinate 0 ulp away
 * (same bits, so also the same sign of zero). */
static void expect_case(const blobs_ref_case *ref, const bnmlp_dataset *got) {
    assert_int_equal(got->n_samples, ref->n_samples);
    assert_int_equal(got->n_features, ref->n_features);
    for (size_t r = 0; r < ref->n_samples; r++) {
        if (got->labels[r] != ref->labels[r]) {
            print_error("%s: label %zu is %d, expected %d\n", ref->call, r, got->labels[r], ref->labels[r]);
            fail();
        }
    }
    for (size_t i = 0; i < ref->n_samples * ref->n_features; i++) {
        if (memcmp(&got->x[i], &ref->x[i], sizeof(float)) != 0) {
            print_error("%s: x[%zu] = %.9g, expected %.9g (%u ulp)\n", ref->call, i, (double)got->x[i],
                        (double)ref->x[i], bnmlp_test_ulp_distance(got->x[i], ref->x[i]));
            fail();
        }
    }
}

/* Every fixture case: labels identical, coordinates bit-exact. */
static void test_blobs_match_sklearn(void **state) {
    (void)state;
    assert_true(BLOBS_REF_CASE_COUNT >= 10);
    size_t coordinates = 0;
    for (size_t c = 0; c < BLOBS_REF_CASE_COUNT; c++) {
        const blobs_ref_case *ref = &blobs_ref_cases[c];
        bnmlp_blobs_config config = case_config(ref);
        bnmlp_dataset got;
        assert_ok(bnmlp_make_blobs(&config, &got));
        expect_case(ref, &got);
        bnmlp_dataset_free(&got);
        coordinates += ref->n_samples * ref->n_features;
    }
    print_message("%zu cases, %zu coordinates, all bit-exact\n", (size_t)BLOBS_REF_CASE_COUNT, coordinates);
}

/* BNMLP_BLOBS_DEFAULT is make_blobs() with random_state=0 (the first fixture case). */
static void test_defaults_match_sklearn(void **state) {
    (void)state;
    const blobs_ref_case *ref = &blobs_ref_cases[0];
    bnmlp_blobs_config config = BNMLP_BLOBS_DEFAULT;
    assert_int_equal(config.n_samples, ref->n_samples);
    assert_int_equal(config.n_features, ref->n_features);
    assert_int_equal(config.centers, ref->centers);
    assert_true(config.cluster_std == ref->cluster_std && config.shuffle == ref->shuffle);
    assert_true(config.center_box_min == ref->center_box_min && config.center_box_max == ref->center_box_max);
    assert_int_equal(config.random_state, 0);
    bnmlp_dataset got;
    assert_ok(bnmlp_make_blobs(&config, &got));
    expect_case(ref, &got);
    bnmlp_dataset_free(&got);
}

/* Unshuffled output is grouped by center: n / centers rows each, the first n % centers centers
 * one more, labels ascending; with std 0 every row is its center rounded to float32. */
static void test_unshuffled_layout_and_zero_std(void **state) {
    (void)state;
    bnmlp_blobs_config config = {.n_samples = 23,
                                 .n_features = 3,
                                 .centers = 5,
                                 .cluster_std = 0.0,
                                 .center_box_min = -2.0,
                                 .center_box_max = 6.0,
                                 .shuffle = false,
                                 .random_state = 77};
    bnmlp_dataset data;
    assert_ok(bnmlp_make_blobs(&config, &data));
    size_t counts[5] = {0};
    for (size_t r = 0; r < 23; r++) {
        assert_true(data.labels[r] >= 0 && data.labels[r] < 5);
        if (r > 0) assert_true(data.labels[r] >= data.labels[r - 1]);
        counts[data.labels[r]]++;
    }
    const size_t expected[5] = {5, 5, 5, 4, 4};
    assert_memory_equal(counts, expected, sizeof counts);
    /* The centers are the first 15 uniform draws of RandomState(77) scaled to the box. */
    bnmlp_random rng;
    assert_ok(bnmlp_random_seed(&rng, 77));
    float centers[15];
    for (size_t i = 0; i < 15; i++) centers[i] = (float)(-2.0 + 8.0 * bnmlp_random_double(&rng));
    for (size_t r = 0; r < 23; r++) {
        assert_memory_equal(&data.x[3 * r], &centers[3 * (size_t)data.labels[r]], 3 * sizeof(float));
    }
    bnmlp_dataset_free(&data);
}

/* Shuffling permutes the unshuffled rows (the same RandomState draws come first). */
static void test_shuffle_permutes_rows(void **state) {
    (void)state;
    bnmlp_blobs_config config = BNMLP_BLOBS_DEFAULT;
    config.n_samples = 40, config.n_features = 3, config.random_state = 8;
    bnmlp_dataset plain, mixed;
    config.shuffle = false;
    assert_ok(bnmlp_make_blobs(&config, &plain));
    config.shuffle = true;
    assert_ok(bnmlp_make_blobs(&config, &mixed));
    size_t order[40];
    for (size_t i = 0; i < 40; i++) order[i] = i;
    bnmlp_random rng;
    assert_ok(bnmlp_random_seed(&rng, 8));
    for (size_t i = 0; i < 9; i++) (void)bnmlp_random_double(&rng);  /* 3 centers x 3 features */
    for (size_t i = 0; i < 120; i++) (void)bnmlp_random_gauss(&rng); /* 40 rows x 3 features */
    assert_ok(bnmlp_random_shuffle(&rng, order, 40));
    for (size_t r = 0; r < 40; r++) {
        assert_memory_equal(&mixed.x[3 * r], &plain.x[3 * order[r]], 3 * sizeof(float));
        assert_int_equal(mixed.labels[r], plain.labels[order[r]]);
    }
    bnmlp_dataset_free(&plain);
    bnmlp_dataset_free(&mixed);
}

/* Class-index labels survive the splits and become floats 0 .. centers - 1 in to_tensors. */
static void test_labels_are_class_indices(void **state) {
    (void)state;
    bnmlp_blobs_config config = BNMLP_BLOBS_DEFAULT;
    config.centers = 6;
    config.random_state = 21;
    bnmlp_dataset data, train, test;
    assert_ok(bnmlp_make_blobs(&config, &data));
    int seen[6] = {0};
    for (size_t r = 0; r < 100; r++) seen[data.labels[r]] = 1;
    for (size_t k = 0; k < 6; k++) assert_int_equal(seen[k], 1);
    assert_ok(bnmlp_dataset_train_test_split(&data, 25, 1, &train, &test));
    bnmlp_tensor *x = NULL, *y = NULL;
    assert_ok(bnmlp_dataset_to_tensors(&test, &x, &y));
    for (size_t r = 0; r < 25; r++) assert_true(y->data[r] == (float)test.labels[r]);
    bnmlp_tensor_free(x);
    bnmlp_tensor_free(y);
    bnmlp_dataset_free(&train);
    bnmlp_dataset_free(&test);
    bnmlp_dataset_free(&data);
}

/* Expects status from make_blobs(config) and *out left as the sentinel pattern. */
static void expect_error(bnmlp_blobs_config config, bnmlp_status expected) {
    bnmlp_dataset out, sentinel;
    memset(&out, SENTINEL, sizeof out);
    memset(&sentinel, SENTINEL, sizeof sentinel);
    assert_status(bnmlp_make_blobs(&config, &out), expected);
    assert_memory_equal(&out, &sentinel, sizeof out);
}

/* Zero sizes, a negative, -0.0, NaN or infinite spread, an empty, reversed or non-finite box,
 * too many centers for int32 labels, NULL pointers, half an allocator. */
static void test_bad_arguments(void **state) {
    (void)state;
    bnmlp_blobs_config config = BNMLP_BLOBS_DEFAULT;
    config.n_samples = 0;
    expect_error(config, BNMLP_ERR_INVALID_ARGUMENT);
    config = BNMLP_BLOBS_DEFAULT;
    config.n_features = 0;
    expect_error(config, BNMLP_ERR_INVALID_ARGUMENT);
    config = BNMLP_BLOBS_DEFAULT;
    config.centers = 0;
    expect_error(config, BNMLP_ERR_INVALID_ARGUMENT);
    config.centers = (size_t)INT32_MAX + 1;
    expect_error(config, BNMLP_ERR_INVALID_ARGUMENT);
    const double stds[] = {-1.0, -1e-300, -0.0, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof stds / sizeof stds[0]; i++) {
        config = BNMLP_BLOBS_DEFAULT;
        config.cluster_std = stds[i];
        expect_error(config, BNMLP_ERR_INVALID_ARGUMENT);
    }
    const double boxes[][2] = {{1.0, 1.0},       {2.0, 1.0},      {NAN, 1.0},         {0.0, NAN},
                               {-INFINITY, 0.0}, {0.0, INFINITY}, {-DBL_MAX, DBL_MAX}};
    for (size_t i = 0; i < sizeof boxes / sizeof boxes[0]; i++) {
        config = BNMLP_BLOBS_DEFAULT;
        config.center_box_min = boxes[i][0];
        config.center_box_max = boxes[i][1];
        expect_error(config, BNMLP_ERR_INVALID_ARGUMENT);
    }
    /* the edges that are allowed: std +0.0, a box one ulp wide, half of the double range */
    config = BNMLP_BLOBS_DEFAULT;
    config.cluster_std = 0.0;
    config.center_box_min = 1.0;
    config.center_box_max = nextafter(1.0, 2.0);
    bnmlp_dataset ok;
    assert_ok(bnmlp_make_blobs(&config, &ok));
    for (size_t i = 0; i < 200; i++) assert_true(ok.x[i] == 1.0f);
    bnmlp_dataset_free(&ok);
    config.center_box_min = -DBL_MAX / 2;
    config.center_box_max = DBL_MAX / 2;
    assert_ok(bnmlp_make_blobs(&config, &ok));
    bnmlp_dataset_free(&ok);

    bnmlp_dataset out;
    memset(&out, SENTINEL, sizeof out);
    assert_status(bnmlp_make_blobs(NULL, &out), BNMLP_ERR_NULL_ARGUMENT);
    assert_int_equal(((unsigned char *)&out)[0], SENTINEL);
    config = BNMLP_BLOBS_DEFAULT;
    assert_status(bnmlp_make_blobs(&config, NULL), BNMLP_ERR_NULL_ARGUMENT);
    counting_allocator counter = {0};
    bnmlp_allocator half = {.allocate = counting_allocate, .release = NULL, .context = &counter};
    config.allocator = &half;
    expect_error(config, BNMLP_ERR_NULL_ARGUMENT);
    assert_int_equal(counter.calls, 0);
}

/* Byte counts that overflow size_t (data or centers) are BNMLP_ERR_OVERFLOW; sizes that fit
 * but cannot be allocated are BNMLP_ERR_OUT_OF_MEMORY; *out stays untouched. */
static void test_huge_sizes(void **state) {
    (void)state;
    bnmlp_blobs_config config = BNMLP_BLOBS_DEFAULT;
    config.n_samples = SIZE_MAX;
    expect_error(config, BNMLP_ERR_OVERFLOW);
    config = BNMLP_BLOBS_DEFAULT;
    config.n_samples = SIZE_MAX / 4;
    config.n_features = 1;
    expect_error(config, BNMLP_ERR_OVERFLOW);
    config = BNMLP_BLOBS_DEFAULT;
    config.n_features = SIZE_MAX / 2;
    expect_error(config, BNMLP_ERR_OVERFLOW);
    /* the data fit (1 row), the centers (2 x n_features doubles) do not */
    config = BNMLP_BLOBS_DEFAULT;
    config.n_samples = 1;
    config.n_features = SIZE_MAX / 8;
    config.centers = 2;
    expect_error(config, BNMLP_ERR_OVERFLOW);
    config = BNMLP_BLOBS_DEFAULT;
    config.n_samples = SIZE_MAX / 16;
    config.n_features = 1;
    expect_error(config, BNMLP_ERR_OUT_OF_MEMORY);
    config = BNMLP_BLOBS_DEFAULT;
    config.n_features = SIZE_MAX / 64;
    config.n_samples = 1;
    config.centers = 1;
    expect_error(config, BNMLP_ERR_OUT_OF_MEMORY);
}

/* Every allocation goes through the config's allocator; failing any one of them returns
 * OUT_OF_MEMORY, leaves *out untouched and leaks nothing; shuffled or not. */
static void test_allocation_failures(void **state) {
    (void)state;
    counting_allocator counter = {0};
    bnmlp_allocator allocator = counting_allocator_of(&counter);
    for (int shuffle = 0; shuffle <= 1; shuffle++) {
        bnmlp_blobs_config config = BNMLP_BLOBS_DEFAULT;
        config.shuffle = shuffle != 0;
        config.allocator = &allocator;
        size_t total = 0;
        for (size_t fail = 0; fail == 0 || fail <= total; fail++) {
            counter = (counting_allocator){.fail_at = fail};
            if (fail == 0) {
                bnmlp_dataset data;
                assert_ok(bnmlp_make_blobs(&config, &data));
                total = counter.calls;
                /* centers, x, labels; shuffled: also the order and the shuffled x and labels */
                assert_int_equal(total, shuffle ? 6 : 3);
                assert_int_equal(counter.allocations - counter.releases, 2);
                assert_true(data.allocator.context == &counter);
                bnmlp_dataset_free(&data);
            } else {
                expect_error(config, BNMLP_ERR_OUT_OF_MEMORY);
            }
            assert_int_equal(counter.allocations, counter.releases);
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blobs_match_sklearn),
        cmocka_unit_test(test_defaults_match_sklearn),
        cmocka_unit_test(test_unshuffled_layout_and_zero_std),
        cmocka_unit_test(test_shuffle_permutes_rows),
        cmocka_unit_test(test_labels_are_class_indices),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_huge_sizes),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
