/* test_datasets.c - make_circles, make_moons, splits and tensors against scikit-learn 1.2.1. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#include "fixtures/numpy_reference.h"

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

/* Most float32 ulps between a coordinate and scikit-learn's value (numpy's SVML sin/cos can
 * differ from glibc's by 1 ulp of the double, which rarely survives the rounding to float). */
#define MAX_ULP 1

/* Runs one fixture case through the C function of its kind into *out. */
static bnmlp_status run_case(const numpy_ref_dataset *ref, bnmlp_dataset *out) {
    if (ref->kind == NUMPY_REF_CIRCLES) {
        bnmlp_circles_config config = {.n_samples = ref->n_samples,
                                       .shuffle = ref->shuffle,
                                       .noise = ref->noise,
                                       .random_state = ref->random_state,
                                       .factor = ref->factor};
        return bnmlp_make_circles(&config, out);
    }
    bnmlp_moons_config config = {.n_samples = ref->n_samples,
                                 .shuffle = ref->shuffle,
                                 .noise = ref->noise,
                                 .random_state = ref->random_state};
    return bnmlp_make_moons(&config, out);
}

/* Fails unless got has ref's shape and labels and every coordinate within MAX_ULP; adds the
 * largest ulp distance seen to *max_ulp and the number of inexact coordinates to *inexact. */
static void compare_case(const numpy_ref_dataset *ref, const bnmlp_dataset *got, uint32_t *max_ulp,
                         size_t *inexact) {
    assert_int_equal(got->n_samples, ref->n_samples);
    assert_int_equal(got->n_features, 2);
    for (size_t r = 0; r < ref->n_samples; r++) {
        if (got->labels[r] != ref->labels[r]) {
            print_error("%s: label %zu is %d, expected %d\n", ref->call, r, got->labels[r], ref->labels[r]);
            fail();
        }
    }
    for (size_t i = 0; i < 2 * ref->n_samples; i++) {
        uint32_t ulp = bnmlp_test_ulp_distance(got->x[i], ref->x[i]);
        if (ulp > MAX_ULP) {
            print_error("%s: x[%zu] = %.9g, expected %.9g (%u ulp)\n", ref->call, i, (double)got->x[i],
                        (double)ref->x[i], ulp);
            fail();
        }
        if (ulp > *max_ulp) *max_ulp = ulp;
        *inexact += ulp != 0;
    }
}

/* Every fixture case of one kind: labels identical, coordinates within MAX_ULP. */
static void check_grid(int kind) {
    uint32_t max_ulp = 0;
    size_t inexact = 0, cases = 0, coordinates = 0;
    for (size_t c = 0; c < NUMPY_REF_DATASET_COUNT; c++) {
        const numpy_ref_dataset *ref = &numpy_ref_datasets[c];
        if (ref->kind != kind) continue;
        bnmlp_dataset got;
        assert_ok(run_case(ref, &got));
        compare_case(ref, &got, &max_ulp, &inexact);
        bnmlp_dataset_free(&got);
        cases++;
        coordinates += 2 * ref->n_samples;
    }
    assert_true(cases >= 60);
    print_message("%zu cases, %zu of %zu coordinates not bit-exact, max %u ulp\n", cases, inexact,
                  coordinates, max_ulp);
}

/* make_circles over the fixture grid (n, noise, shuffle, seed, factor). */
static void test_circles_match_sklearn(void **state) {
    (void)state;
    check_grid(NUMPY_REF_CIRCLES);
}

/* make_moons over the fixture grid (n, noise, shuffle, seed). */
static void test_moons_match_sklearn(void **state) {
    (void)state;
    check_grid(NUMPY_REF_MOONS);
}

/* make_circles(n_samples=1000, noise=0.1, random_state=1): the tutorial's data. */
static bnmlp_dataset tutorial_dataset(void) {
    bnmlp_circles_config config = BNMLP_CIRCLES_DEFAULT;
    config.n_samples = 1000;
    config.noise = 0.1;
    config.random_state = 1;
    bnmlp_dataset data;
    assert_ok(bnmlp_make_circles(&config, &data));
    return data;
}

/* The tutorial's data set: its first values, first labels and class balance of X[:500]. */
static void test_tutorial_dataset(void **state) {
    (void)state;
    bnmlp_dataset data = tutorial_dataset();
    const int32_t first_labels[20] = {1, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0};
    assert_memory_equal(data.labels, first_labels, sizeof first_labels);
    assert_true(data.x[0] == (float)0.9278774778828034);
    assert_true(data.x[1] == (float)-0.045217306252341896);
    assert_true(data.x[1000] == (float)-0.697963776163894);
    assert_true(data.x[1998] == (float)1.0350224847891425);
    assert_true(data.x[1999] == (float)0.5487828564222996);
    size_t ones = 0;
    for (size_t r = 0; r < 500; r++) ones += data.labels[r] == 1;
    assert_int_equal(ones, 248);
    bnmlp_dataset_free(&data);
}

/* The default macros reproduce make_circles() and make_moons() with random_state=0. */
static void test_defaults_match_sklearn(void **state) {
    (void)state;
    const numpy_ref_dataset *circles = NULL, *moons = NULL;
    for (size_t c = 0; c < NUMPY_REF_DATASET_COUNT; c++) {
        const numpy_ref_dataset *ref = &numpy_ref_datasets[c];
        if (ref->n_samples != 100 || !ref->shuffle || ref->noise != 0.0 || ref->random_state != 0) continue;
        if (ref->kind == NUMPY_REF_CIRCLES && ref->factor == 0.8) circles = ref;
        if (ref->kind == NUMPY_REF_MOONS) moons = ref;
    }
    assert_non_null(circles);
    assert_non_null(moons);
    uint32_t max_ulp = 0;
    size_t inexact = 0;
    bnmlp_circles_config circles_config = BNMLP_CIRCLES_DEFAULT;
    bnmlp_moons_config moons_config = BNMLP_MOONS_DEFAULT;
    bnmlp_dataset data;
    assert_ok(bnmlp_make_circles(&circles_config, &data));
    compare_case(circles, &data, &max_ulp, &inexact);
    bnmlp_dataset_free(&data);
    assert_ok(bnmlp_make_moons(&moons_config, &data));
    compare_case(moons, &data, &max_ulp, &inexact);
    bnmlp_dataset_free(&data);
}

/* n_samples 1 and 2 as scikit-learn makes them: one point goes to the inner group. */
static void test_tiny_sizes(void **state) {
    (void)state;
    bnmlp_circles_config circles = BNMLP_CIRCLES_DEFAULT;
    circles.n_samples = 1;
    bnmlp_dataset data;
    assert_ok(bnmlp_make_circles(&circles, &data));
    assert_true(data.x[0] == 0.8f && data.x[1] == 0.0f && data.labels[0] == 1);
    bnmlp_dataset_free(&data);
    bnmlp_moons_config moons = BNMLP_MOONS_DEFAULT;
    moons.n_samples = 1;
    assert_ok(bnmlp_make_moons(&moons, &data));
    assert_true(data.x[0] == 0.0f && data.x[1] == 0.5f && data.labels[0] == 1);
    bnmlp_dataset_free(&data);
    moons.n_samples = 2;
    moons.shuffle = false;
    assert_ok(bnmlp_make_moons(&moons, &data));
    const float expected[4] = {1.0f, 0.0f, 0.0f, 0.5f};
    assert_memory_equal(data.x, expected, sizeof expected);
    assert_int_equal(data.labels[0], 0);
    assert_int_equal(data.labels[1], 1);
    bnmlp_dataset_free(&data);
}

/* Without noise the points lie on their curves: circles of radius 1 and factor, moons of
 * radius 1 around (0, 0) and (1, 0.5); odd n gives the inner group the extra point. */
static void test_geometry_without_noise(void **state) {
    (void)state;
    bnmlp_circles_config circles = {
        .n_samples = 257, .shuffle = true, .noise = 0.0, .random_state = 9, .factor = 0.3};
    bnmlp_dataset data;
    assert_ok(bnmlp_make_circles(&circles, &data));
    size_t inner = 0;
    for (size_t r = 0; r < data.n_samples; r++) {
        double radius = hypot(data.x[2 * r], data.x[2 * r + 1]);
        assert_true(fabs(radius - (data.labels[r] ? 0.3 : 1.0)) < 1e-6);
        inner += data.labels[r] == 1;
    }
    assert_int_equal(inner, 129);
    bnmlp_dataset_free(&data);
    bnmlp_moons_config moons = {.n_samples = 99, .shuffle = true, .noise = 0.0, .random_state = 9};
    assert_ok(bnmlp_make_moons(&moons, &data));
    for (size_t r = 0; r < data.n_samples; r++) {
        double cx = data.labels[r] ? 1.0 : 0.0, cy = data.labels[r] ? 0.5 : 0.0;
        double radius = hypot(data.x[2 * r] - cx, data.x[2 * r + 1] - cy);
        assert_true(fabs(radius - 1.0) < 1e-6);
        assert_true(data.labels[r] ? data.x[2 * r + 1] <= 0.5f : data.x[2 * r + 1] >= 0.0f);
    }
    bnmlp_dataset_free(&data);
}

/* The same arguments give the same bytes; another seed gives other data. */
static void test_seed_determines_data(void **state) {
    (void)state;
    bnmlp_moons_config config = {.n_samples = 64, .shuffle = true, .noise = 0.2, .random_state = 5};
    bnmlp_dataset a, b, c;
    assert_ok(bnmlp_make_moons(&config, &a));
    assert_ok(bnmlp_make_moons(&config, &b));
    config.random_state = 6;
    assert_ok(bnmlp_make_moons(&config, &c));
    assert_memory_equal(a.x, b.x, 128 * sizeof(float));
    assert_memory_equal(a.labels, b.labels, 64 * sizeof(int32_t));
    assert_memory_not_equal(a.x, c.x, 128 * sizeof(float));
    bnmlp_dataset_free(&a);
    bnmlp_dataset_free(&b);
    bnmlp_dataset_free(&c);
}

/* Expects status from make_circles(config) and *out left as the sentinel pattern. */
static void expect_circles_error(bnmlp_circles_config config, bnmlp_status expected) {
    bnmlp_dataset out, sentinel;
    memset(&out, SENTINEL, sizeof out);
    memset(&sentinel, SENTINEL, sizeof sentinel);
    assert_status(bnmlp_make_circles(&config, &out), expected);
    assert_memory_equal(&out, &sentinel, sizeof out);
}

/* Expects status from make_moons(config) and *out left as the sentinel pattern. */
static void expect_moons_error(bnmlp_moons_config config, bnmlp_status expected) {
    bnmlp_dataset out, sentinel;
    memset(&out, SENTINEL, sizeof out);
    memset(&sentinel, SENTINEL, sizeof sentinel);
    assert_status(bnmlp_make_moons(&config, &out), expected);
    assert_memory_equal(&out, &sentinel, sizeof out);
}

/* Every argument set for which scikit-learn raises is BNMLP_ERR_INVALID_ARGUMENT here. */
static void test_sklearn_errors_are_errors(void **state) {
    (void)state;
    assert_true(NUMPY_REF_ERROR_COUNT >= 4);
    for (size_t e = 0; e < NUMPY_REF_ERROR_COUNT; e++) {
        const numpy_ref_error *ref = &numpy_ref_errors[e];
        if (ref->kind == NUMPY_REF_CIRCLES) {
            bnmlp_circles_config config = BNMLP_CIRCLES_DEFAULT;
            config.n_samples = ref->n_samples;
            config.noise = ref->noise;
            config.factor = ref->factor;
            expect_circles_error(config, BNMLP_ERR_INVALID_ARGUMENT);
        } else {
            bnmlp_moons_config config = BNMLP_MOONS_DEFAULT;
            config.n_samples = ref->n_samples;
            config.noise = ref->noise;
            expect_moons_error(config, BNMLP_ERR_INVALID_ARGUMENT);
        }
    }
}

/* Bad make_circles arguments beyond scikit-learn's: n 0, NaN factor, non-finite noise, NULL. */
static void test_circles_bad_arguments(void **state) {
    (void)state;
    bnmlp_circles_config config = BNMLP_CIRCLES_DEFAULT;
    config.n_samples = 0;
    expect_circles_error(config, BNMLP_ERR_INVALID_ARGUMENT);
    config = BNMLP_CIRCLES_DEFAULT;
    config.factor = NAN;
    expect_circles_error(config, BNMLP_ERR_INVALID_ARGUMENT);
    config.factor = nextafter(1.0, 0.0);
    bnmlp_dataset ok;
    assert_ok(bnmlp_make_circles(&config, &ok)); /* just below 1 is allowed */
    bnmlp_dataset_free(&ok);
    const double noises[] = {NAN, INFINITY, -INFINITY, -1e-300};
    for (size_t i = 0; i < sizeof noises / sizeof noises[0]; i++) {
        config = BNMLP_CIRCLES_DEFAULT;
        config.noise = noises[i];
        expect_circles_error(config, BNMLP_ERR_INVALID_ARGUMENT);
    }
    bnmlp_dataset out;
    memset(&out, SENTINEL, sizeof out);
    assert_status(bnmlp_make_circles(NULL, &out), BNMLP_ERR_NULL_ARGUMENT);
    assert_int_equal(((unsigned char *)&out)[0], SENTINEL);
    config = BNMLP_CIRCLES_DEFAULT;
    assert_status(bnmlp_make_circles(&config, NULL), BNMLP_ERR_NULL_ARGUMENT);
}

/* Bad make_moons arguments: n 0, non-finite or negative noise, NULL. */
static void test_moons_bad_arguments(void **state) {
    (void)state;
    bnmlp_moons_config config = BNMLP_MOONS_DEFAULT;
    config.n_samples = 0;
    expect_moons_error(config, BNMLP_ERR_INVALID_ARGUMENT);
    const double noises[] = {NAN, INFINITY, -0.5};
    for (size_t i = 0; i < sizeof noises / sizeof noises[0]; i++) {
        config = BNMLP_MOONS_DEFAULT;
        config.noise = noises[i];
        expect_moons_error(config, BNMLP_ERR_INVALID_ARGUMENT);
    }
    bnmlp_dataset out;
    memset(&out, SENTINEL, sizeof out);
    assert_status(bnmlp_make_moons(NULL, &out), BNMLP_ERR_NULL_ARGUMENT);
    assert_int_equal(((unsigned char *)&out)[0], SENTINEL);
    config = BNMLP_MOONS_DEFAULT;
    assert_status(bnmlp_make_moons(&config, NULL), BNMLP_ERR_NULL_ARGUMENT);
}

/* Sizes whose byte counts overflow size_t are BNMLP_ERR_OVERFLOW; sizes that fit but cannot be
 * allocated are BNMLP_ERR_OUT_OF_MEMORY; *out stays untouched. */
static void test_huge_sizes(void **state) {
    (void)state;
    bnmlp_circles_config circles = BNMLP_CIRCLES_DEFAULT;
    bnmlp_moons_config moons = BNMLP_MOONS_DEFAULT;
    circles.n_samples = SIZE_MAX;
    expect_circles_error(circles, BNMLP_ERR_OVERFLOW);
    moons.n_samples = SIZE_MAX / 4;
    expect_moons_error(moons, BNMLP_ERR_OVERFLOW);
    circles.n_samples = SIZE_MAX / 16;
    expect_circles_error(circles, BNMLP_ERR_OUT_OF_MEMORY);
    moons.n_samples = SIZE_MAX / 16;
    expect_moons_error(moons, BNMLP_ERR_OUT_OF_MEMORY);
}

/* dataset_free releases and zeroes; freeing again and freeing NULL do nothing. */
static void test_dataset_free(void **state) {
    (void)state;
    bnmlp_dataset data = tutorial_dataset();
    bnmlp_dataset_free(&data);
    assert_null(data.x);
    assert_null(data.labels);
    assert_int_equal(data.n_samples, 0);
    assert_int_equal(data.n_features, 0);
    bnmlp_dataset_free(&data);
    bnmlp_dataset_free(NULL);
}

/* The tutorial's split: X[:500] and X[500:], copied row for row. */
static void test_split_copies_rows(void **state) {
    (void)state;
    bnmlp_dataset data = tutorial_dataset();
    bnmlp_dataset first, rest;
    assert_ok(bnmlp_dataset_split(&data, 500, &first, &rest));
    assert_int_equal(first.n_samples, 500);
    assert_int_equal(rest.n_samples, 500);
    assert_int_equal(first.n_features, 2);
    assert_int_equal(rest.n_features, 2);
    assert_memory_equal(first.x, data.x, 1000 * sizeof(float));
    assert_memory_equal(rest.x, data.x + 1000, 1000 * sizeof(float));
    assert_memory_equal(first.labels, data.labels, 500 * sizeof(int32_t));
    assert_memory_equal(rest.labels, data.labels + 500, 500 * sizeof(int32_t));
    assert_true(first.x != data.x && rest.labels != data.labels + 500);
    size_t ones = 0;
    for (size_t r = 0; r < 500; r++) ones += first.labels[r];
    assert_int_equal(ones, 248);
    bnmlp_dataset_free(&first);
    bnmlp_dataset_free(&rest);
    /* Uneven parts at the edges: one row and the rest. */
    assert_ok(bnmlp_dataset_split(&data, 999, &first, &rest));
    assert_int_equal(rest.n_samples, 1);
    assert_memory_equal(rest.x, data.x + 1998, 2 * sizeof(float));
    bnmlp_dataset_free(&first);
    bnmlp_dataset_free(&rest);
    bnmlp_dataset_free(&data);
}

/* A small dataset (n rows, 2 features) viewing static storage, for argument tests. */
static bnmlp_dataset small_dataset(void) {
    static float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    static int32_t labels[4] = {0, 1, 1, 0};
    return (bnmlp_dataset){.x = x, .labels = labels, .n_samples = 4, .n_features = 2};
}

/* Runs a split-like call that must fail with expected and leave both outputs untouched. */
static void expect_split_error(bnmlp_status got_status, bnmlp_status expected, const bnmlp_dataset *a,
                               const bnmlp_dataset *b) {
    bnmlp_dataset sentinel;
    memset(&sentinel, SENTINEL, sizeof sentinel);
    assert_status(got_status, expected);
    if (a) assert_memory_equal(a, &sentinel, sizeof sentinel);
    if (b) assert_memory_equal(b, &sentinel, sizeof sentinel);
}

/* split: n_first 0, n or more, NULL pointers, the same output twice, unusable data sets. */
static void test_split_bad_arguments(void **state) {
    (void)state;
    bnmlp_dataset data = small_dataset(), a, b;
    memset(&a, SENTINEL, sizeof a);
    memset(&b, SENTINEL, sizeof b);
    expect_split_error(bnmlp_dataset_split(&data, 0, &a, &b), BNMLP_ERR_INVALID_ARGUMENT, &a, &b);
    expect_split_error(bnmlp_dataset_split(&data, 4, &a, &b), BNMLP_ERR_INVALID_ARGUMENT, &a, &b);
    expect_split_error(bnmlp_dataset_split(&data, 9, &a, &b), BNMLP_ERR_INVALID_ARGUMENT, &a, &b);
    expect_split_error(bnmlp_dataset_split(&data, 2, &a, &a), BNMLP_ERR_INVALID_ARGUMENT, &a, NULL);
    expect_split_error(bnmlp_dataset_split(NULL, 2, &a, &b), BNMLP_ERR_NULL_ARGUMENT, &a, &b);
    expect_split_error(bnmlp_dataset_split(&data, 2, NULL, &b), BNMLP_ERR_NULL_ARGUMENT, NULL, &b);
    expect_split_error(bnmlp_dataset_split(&data, 2, &a, NULL), BNMLP_ERR_NULL_ARGUMENT, &a, NULL);
    bnmlp_dataset broken = data;
    broken.x = NULL;
    expect_split_error(bnmlp_dataset_split(&broken, 2, &a, &b), BNMLP_ERR_NULL_ARGUMENT, &a, &b);
    broken = data;
    broken.labels = NULL;
    expect_split_error(bnmlp_dataset_split(&broken, 2, &a, &b), BNMLP_ERR_NULL_ARGUMENT, &a, &b);
    broken = data;
    broken.n_features = 0;
    expect_split_error(bnmlp_dataset_split(&broken, 2, &a, &b), BNMLP_ERR_INVALID_ARGUMENT, &a, &b);
    broken = data;
    broken.n_features = SIZE_MAX / 2;
    expect_split_error(bnmlp_dataset_split(&broken, 2, &a, &b), BNMLP_ERR_OVERFLOW, &a, &b);
}

/* Builds a dataset viewing a fixture's arrays (copied into malloc'd memory owned by the test). */
static bnmlp_dataset fixture_dataset(const float *x, const int32_t *labels, size_t n) {
    bnmlp_dataset data = {.x = malloc(2 * n * sizeof(float)),
                          .labels = malloc(n * sizeof(int32_t)),
                          .n_samples = n,
                          .n_features = 2};
    assert_non_null(data.x);
    assert_non_null(data.labels);
    memcpy(data.x, x, 2 * n * sizeof(float));
    memcpy(data.labels, labels, n * sizeof(int32_t));
    return data;
}

/* train_test_split equals scikit-learn's on every fixture case, row for row. */
static void test_train_test_split_matches_sklearn(void **state) {
    (void)state;
    assert_true(NUMPY_REF_SPLIT_COUNT >= 1);
    for (size_t s = 0; s < NUMPY_REF_SPLIT_COUNT; s++) {
        const numpy_ref_split *ref = &numpy_ref_splits[s];
        bnmlp_dataset data = fixture_dataset(ref->x, ref->labels, ref->n_samples), train, test;
        assert_ok(bnmlp_dataset_train_test_split(&data, ref->n_test, ref->seed, &train, &test));
        size_t n_train = ref->n_samples - ref->n_test;
        assert_int_equal(test.n_samples, ref->n_test);
        assert_int_equal(train.n_samples, n_train);
        assert_memory_equal(test.x, ref->test_x, 2 * ref->n_test * sizeof(float));
        assert_memory_equal(test.labels, ref->test_labels, ref->n_test * sizeof(int32_t));
        assert_memory_equal(train.x, ref->train_x, 2 * n_train * sizeof(float));
        assert_memory_equal(train.labels, ref->train_labels, n_train * sizeof(int32_t));
        bnmlp_dataset_free(&train);
        bnmlp_dataset_free(&test);
        free(data.x);
        free(data.labels);
    }
}

/* The two parts of train_test_split hold every row exactly once, in RandomState order. */
static void test_train_test_split_is_permutation(void **state) {
    (void)state;
    enum { n = 50 };
    float x[2 * n];
    int32_t labels[n];
    for (int r = 0; r < n; r++) {
        x[2 * r] = (float)r;
        x[2 * r + 1] = (float)-r;
        labels[r] = r % 2;
    }
    bnmlp_dataset data = {.x = x, .labels = labels, .n_samples = n, .n_features = 2}, train, test;
    assert_ok(bnmlp_dataset_train_test_split(&data, 1, 123, &train, &test));
    size_t order[n];
    for (size_t i = 0; i < n; i++) order[i] = i;
    bnmlp_random rng;
    assert_ok(bnmlp_random_seed(&rng, 123));
    assert_ok(bnmlp_random_shuffle(&rng, order, n));
    assert_true(test.x[0] == (float)order[0] && test.x[1] == -(float)order[0]);
    for (size_t r = 0; r + 1 < n; r++) {
        assert_true(train.x[2 * r] == (float)order[r + 1]);
        assert_int_equal(train.labels[r], (int32_t)(order[r + 1] % 2));
    }
    bnmlp_dataset_free(&train);
    bnmlp_dataset_free(&test);
}

/* train_test_split: n_test 0, n or more, NULL pointers, train == test; outputs untouched. */
static void test_train_test_split_bad_arguments(void **state) {
    (void)state;
    bnmlp_dataset data = small_dataset(), a, b;
    memset(&a, SENTINEL, sizeof a);
    memset(&b, SENTINEL, sizeof b);
    expect_split_error(bnmlp_dataset_train_test_split(&data, 0, 1, &a, &b), BNMLP_ERR_INVALID_ARGUMENT, &a,
                       &b);
    expect_split_error(bnmlp_dataset_train_test_split(&data, 4, 1, &a, &b), BNMLP_ERR_INVALID_ARGUMENT, &a,
                       &b);
    expect_split_error(bnmlp_dataset_train_test_split(&data, 2, 1, &a, &a), BNMLP_ERR_INVALID_ARGUMENT, &a,
                       NULL);
    expect_split_error(bnmlp_dataset_train_test_split(NULL, 2, 1, &a, &b), BNMLP_ERR_NULL_ARGUMENT, &a, &b);
    expect_split_error(bnmlp_dataset_train_test_split(&data, 2, 1, NULL, &b), BNMLP_ERR_NULL_ARGUMENT, NULL,
                       &b);
    expect_split_error(bnmlp_dataset_train_test_split(&data, 2, 1, &a, NULL), BNMLP_ERR_NULL_ARGUMENT, &a,
                       NULL);
    bnmlp_dataset empty = data;
    empty.n_samples = 0;
    expect_split_error(bnmlp_dataset_train_test_split(&empty, 1, 1, &a, &b), BNMLP_ERR_INVALID_ARGUMENT, &a,
                       &b);
    /* The smallest valid split: 2 rows, 1 each. */
    data.n_samples = 2;
    assert_ok(bnmlp_dataset_train_test_split(&data, 1, 1, &a, &b));
    assert_int_equal(a.n_samples + b.n_samples, 2);
    assert_true(a.labels[0] + b.labels[0] == 1);
    bnmlp_dataset_free(&a);
    bnmlp_dataset_free(&b);
}

/* to_tensors: x keeps the shape and values, y is n x 1 of 0.0 and 1.0. */
static void test_to_tensors(void **state) {
    (void)state;
    bnmlp_dataset data = tutorial_dataset();
    bnmlp_tensor *x = NULL, *y = NULL;
    assert_ok(bnmlp_dataset_to_tensors(&data, &x, &y));
    assert_ok(bnmlp_tensor_check_shape(x, 1000, 2));
    assert_ok(bnmlp_tensor_check_shape(y, 1000, 1));
    assert_true(x->owned && y->owned);
    assert_memory_equal(x->data, data.x, 2000 * sizeof(float));
    for (size_t r = 0; r < 1000; r++) assert_true(y->data[r] == (data.labels[r] ? 1.0f : 0.0f));
    bnmlp_tensor_free(x);
    bnmlp_tensor_free(y);
    bnmlp_dataset_free(&data);
}

/* to_tensors: NULL pointers, the same output twice, unusable data sets; outputs untouched. */
static void test_to_tensors_bad_arguments(void **state) {
    (void)state;
    bnmlp_dataset data = small_dataset();
    bnmlp_tensor *const sentinel = (bnmlp_tensor *)&data;
    bnmlp_tensor *x = sentinel, *y = sentinel;
    assert_status(bnmlp_dataset_to_tensors(NULL, &x, &y), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_dataset_to_tensors(&data, NULL, &y), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_dataset_to_tensors(&data, &x, NULL), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_dataset_to_tensors(&data, &x, &x), BNMLP_ERR_INVALID_ARGUMENT);
    bnmlp_dataset broken = data;
    broken.n_samples = 0;
    assert_status(bnmlp_dataset_to_tensors(&broken, &x, &y), BNMLP_ERR_INVALID_ARGUMENT);
    broken = data;
    broken.x = NULL;
    assert_status(bnmlp_dataset_to_tensors(&broken, &x, &y), BNMLP_ERR_NULL_ARGUMENT);
    assert_ptr_equal(x, sentinel);
    assert_ptr_equal(y, sentinel);
}

/* Data sets, their splits and their tensors allocate through the config's allocator; a failure
 * at any allocation of any step returns OUT_OF_MEMORY, leaves the outputs untouched and leaks
 * nothing. */
static void test_allocator_reaches_every_step(void **state) {
    (void)state;
    counting_allocator counter = {0};
    bnmlp_allocator allocator = counting_allocator_of(&counter);
    bnmlp_circles_config config = BNMLP_CIRCLES_DEFAULT;
    config.n_samples = 20, config.allocator = &allocator;
    /* Count the allocations of the whole chain once, then fail each of them in turn. */
    size_t total = 0;
    for (size_t fail = 0; fail == 0 || fail <= total; fail++) {
        counter = (counting_allocator){.fail_at = fail};
        bnmlp_dataset data = {0}, train = {0}, test = {0}, first = {0}, rest = {0};
        bnmlp_tensor *x = NULL, *y = NULL;
        bnmlp_status status = bnmlp_make_circles(&config, &data);
        if (status == BNMLP_OK) status = bnmlp_dataset_train_test_split(&data, 5, 3, &train, &test);
        if (status == BNMLP_OK) status = bnmlp_dataset_split(&train, 4, &first, &rest);
        if (status == BNMLP_OK) status = bnmlp_dataset_to_tensors(&test, &x, &y);
        if (fail == 0) {
            assert_ok(status);
            total = counter.calls;
            assert_true(total >= 9); /* 2 + 1 + 2 + 2 + 2 + 2 + 2 at least */
        } else {
            assert_status(status, BNMLP_ERR_OUT_OF_MEMORY);
            assert_null(x);
        }
        bnmlp_tensor_free(x);
        bnmlp_tensor_free(y);
        bnmlp_dataset *all[] = {&data, &train, &test, &first, &rest};
        for (size_t i = 0; i < 5; i++) bnmlp_dataset_free(all[i]);
        assert_int_equal(counter.allocations, counter.releases);
    }
    bnmlp_allocator half = {.allocate = counting_allocate, .release = NULL, .context = &counter};
    config.allocator = &half;
    bnmlp_dataset out = {0};
    assert_status(bnmlp_make_circles(&config, &out), BNMLP_ERR_NULL_ARGUMENT);
    bnmlp_moons_config moons = BNMLP_MOONS_DEFAULT;
    moons.allocator = &half;
    assert_status(bnmlp_make_moons(&moons, &out), BNMLP_ERR_NULL_ARGUMENT);
    assert_null(out.x);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_circles_match_sklearn),
        cmocka_unit_test(test_moons_match_sklearn),
        cmocka_unit_test(test_tutorial_dataset),
        cmocka_unit_test(test_defaults_match_sklearn),
        cmocka_unit_test(test_tiny_sizes),
        cmocka_unit_test(test_geometry_without_noise),
        cmocka_unit_test(test_seed_determines_data),
        cmocka_unit_test(test_sklearn_errors_are_errors),
        cmocka_unit_test(test_circles_bad_arguments),
        cmocka_unit_test(test_moons_bad_arguments),
        cmocka_unit_test(test_huge_sizes),
        cmocka_unit_test(test_dataset_free),
        cmocka_unit_test(test_split_copies_rows),
        cmocka_unit_test(test_split_bad_arguments),
        cmocka_unit_test(test_train_test_split_matches_sklearn),
        cmocka_unit_test(test_train_test_split_is_permutation),
        cmocka_unit_test(test_train_test_split_bad_arguments),
        cmocka_unit_test(test_to_tensors),
        cmocka_unit_test(test_to_tensors_bad_arguments),
        cmocka_unit_test(test_allocator_reaches_every_step),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
