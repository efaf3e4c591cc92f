/* test_random.c - the numpy legacy RandomState port against numpy's own streams. */
#include <stdlib.h>
#include <string.h>

#include "support.h"

#include "fixtures/numpy_reference.h"

/* A generator seeded with seed (the seed call must succeed). */
static bnmlp_random seeded(uint32_t seed) {
    bnmlp_random rng;
    assert_ok(bnmlp_random_seed(&rng, seed));
    return rng;
}

/* Fails unless a and b have the same bits (so -0.0 != 0.0 and NaNs are compared exactly). */
static void assert_same_double(double a, double b, size_t index) {
    if (memcmp(&a, &b, sizeof a) != 0) {
        print_error("element %zu: %.17g, expected %.17g\n", index, a, b);
        fail();
    }
}

/* The first 1000 32-bit outputs (crossing a twist at 624) for every seed, exactly. */
static void test_raw_stream_matches_numpy(void **state) {
    (void)state;
    for (size_t s = 0; s < NUMPY_REF_STREAM_COUNT; s++) {
        bnmlp_random rng = seeded(numpy_ref_streams[s].seed);
        for (size_t i = 0; i < NUMPY_REF_RAW_COUNT; i++)
            assert_int_equal(bnmlp_random_uint32(&rng), numpy_ref_streams[s].raw[i]);
    }
}

/* random_sample: 500 doubles per seed, bit for bit. */
static void test_doubles_match_numpy(void **state) {
    (void)state;
    for (size_t s = 0; s < NUMPY_REF_STREAM_COUNT; s++) {
        bnmlp_random rng = seeded(numpy_ref_streams[s].seed);
        for (size_t i = 0; i < NUMPY_REF_DOUBLE_COUNT; i++)
            assert_same_double(bnmlp_random_double(&rng), numpy_ref_streams[s].doubles[i], i);
    }
}

/* normal(0.3, 2.5, size=501): an odd count, so the cached second value is used, bit for bit. */
static void test_normals_match_numpy(void **state) {
    (void)state;
    for (size_t s = 0; s < NUMPY_REF_STREAM_COUNT; s++) {
        bnmlp_random rng = seeded(numpy_ref_streams[s].seed);
        for (size_t i = 0; i < NUMPY_REF_NORMAL_COUNT; i++) {
            double value = bnmlp_random_normal(&rng, NUMPY_REF_NORMAL_LOC, NUMPY_REF_NORMAL_SCALE);
            assert_same_double(value, numpy_ref_streams[s].normals[i], i);
        }
        assert_int_equal(rng.has_gauss, 1); /* 501 is odd: one normal is left in the cache */
    }
}

/* shuffle(arange(777)) for every seed, exactly. */
static void test_shuffle_matches_numpy(void **state) {
    (void)state;
    size_t indices[NUMPY_REF_SHUFFLE_COUNT];
    for (size_t s = 0; s < NUMPY_REF_STREAM_COUNT; s++) {
        bnmlp_random rng = seeded(numpy_ref_streams[s].seed);
        for (size_t i = 0; i < NUMPY_REF_SHUFFLE_COUNT; i++) indices[i] = i;
        assert_ok(bnmlp_random_shuffle(&rng, indices, NUMPY_REF_SHUFFLE_COUNT));
        for (size_t i = 0; i < NUMPY_REF_SHUFFLE_COUNT; i++)
            assert_int_equal(indices[i], numpy_ref_streams[s].shuffle[i]);
    }
}

/* random_interval draws (32-bit and 64-bit masks, up to 2^64 - 1) equal numpy's. */
static void test_interval_matches_numpy(void **state) {
    (void)state;
    for (size_t c = 0; c < NUMPY_REF_INTERVAL_CASES; c++) {
        const numpy_ref_interval *ref = &numpy_ref_intervals[c];
        bnmlp_random rng = seeded(ref->seed);
        for (size_t i = 0; i < NUMPY_REF_INTERVAL_COUNT; i++)
            assert_int_equal(bnmlp_random_interval(&rng, ref->max), ref->values[i]);
    }
}

/* The check value of semantics.md: RandomState(1).random_sample() is 0.417022004702574, and
 * RandomState(0)'s first word is 2357136044 (the classic init_genrand value). */
static void test_known_first_values(void **state) {
    (void)state;
    bnmlp_random rng = seeded(1);
    assert_true(bnmlp_random_double(&rng) == 0.417022004702574);
    rng = seeded(0);
    assert_int_equal(bnmlp_random_uint32(&rng), 2357136044U);
}

/* Seeding twice gives the same stream; different seeds give different streams. */
static void test_seed_is_reproducible(void **state) {
    (void)state;
    bnmlp_random a = seeded(7), b = seeded(7), c = seeded(8);
    int differs = 0;
    for (int i = 0; i < 2000; i++) {
        uint32_t va = bnmlp_random_uint32(&a);
        assert_int_equal(va, bnmlp_random_uint32(&b));
        differs |= va != bnmlp_random_uint32(&c);
    }
    assert_true(differs);
}

/* The polar method returns f * x2 first and caches f * x1; reseeding clears the cache. */
static void test_gauss_cache(void **state) {
    (void)state;
    bnmlp_random rng = seeded(3);
    assert_int_equal(rng.has_gauss, 0);
    double first = bnmlp_random_gauss(&rng);
    assert_int_equal(rng.has_gauss, 1);
    double cached = rng.gauss;
    assert_true(cached != first);
    assert_same_double(bnmlp_random_gauss(&rng), cached, 1);
    assert_int_equal(rng.has_gauss, 0);
    /* An odd number of draws leaves a cached value; seeding must drop it. */
    bnmlp_random_gauss(&rng);
    assert_int_equal(rng.has_gauss, 1);
    assert_ok(bnmlp_random_seed(&rng, 3));
    assert_int_equal(rng.has_gauss, 0);
    assert_same_double(bnmlp_random_gauss(&rng), first, 0);
}

/* normal(loc, scale) is loc + scale * gauss from the same stream. */
static void test_normal_is_affine_gauss(void **state) {
    (void)state;
    bnmlp_random a = seeded(11), b = seeded(11);
    for (int i = 0; i < 101; i++) {
        double g = bnmlp_random_gauss(&a);
        assert_same_double(bnmlp_random_normal(&b, -1.5, 0.25), -1.5 + 0.25 * g, (size_t)i);
    }
}

/* Doubles lie in [0, 1) and use the full 53 bits (some value has its lowest bit set). */
static void test_double_range(void **state) {
    (void)state;
    bnmlp_random rng = seeded(99);
    int odd_seen = 0;
    for (int i = 0; i < 10000; i++) {
        double d = bnmlp_random_double(&rng);
        assert_true(d >= 0.0 && d < 1.0);
        odd_seen |= (uint64_t)(d * 9007199254740992.0) & 1U;
    }
    assert_true(odd_seen);
}

/* Interval draws stay in [0, max] and reach both ends for small ranges. */
static void test_interval_in_range(void **state) {
    (void)state;
    const uint64_t maxima[] = {1, 2, 5, 6, 7, 8, 100, 1000, 0x80000000U, UINT64_C(0x123456789)};
    bnmlp_random rng = seeded(5);
    for (size_t m = 0; m < sizeof maxima / sizeof maxima[0]; m++) {
        int low_seen = 0, high_seen = 0;
        for (int i = 0; i < 20000; i++) {
            uint64_t v = bnmlp_random_interval(&rng, maxima[m]);
            assert_true(v <= maxima[m]);
            low_seen |= v == 0;
            high_seen |= v == maxima[m];
        }
        if (maxima[m] <= 1000) assert_true(low_seen && high_seen);
    }
}

/* random_interval(0) draws nothing; max <= 2^32 - 1 draws single words and above that pairs of
 * words, high word first. */
static void test_interval_word_use(void **state) {
    (void)state;
    bnmlp_random rng = seeded(0), raw = seeded(0);
    assert_int_equal(bnmlp_random_interval(&rng, 0), 0);
    assert_int_equal(bnmlp_random_uint32(&rng), bnmlp_random_uint32(&raw));
    assert_int_equal(bnmlp_random_interval(&rng, 0xffffffffU), bnmlp_random_uint32(&raw));
    uint64_t high = bnmlp_random_uint32(&raw);
    uint64_t expected = (high << 32) | bnmlp_random_uint32(&raw);
    assert_int_equal(bnmlp_random_interval(&rng, UINT64_MAX), expected);
    assert_int_equal(bnmlp_random_uint32(&rng), bnmlp_random_uint32(&raw));
}

/* The shuffle (its draws inlined, without a branch on the rejection) equals the recipe: j =
 * random_interval(i) for i from n - 1 down to 1 and a swap, the same words used (the generators
 * equal after it), for sizes around powers of two and past several twists, from a generator
 * already part-way through its words. */
static void test_shuffle_matches_interval_draws(void **state) {
    (void)state;
    enum { MOST = 3000 };
    static size_t got[MOST], expected[MOST];
    const size_t sizes[] = {2, 3, 4, 5, 7, 8, 9, 31, 32, 33, 500, 624, 625, 1023, 1024, 1025, 2047, 3000};
    for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++)
        for (uint32_t skip = 0; skip < 700; skip += 233) {
            const size_t n = sizes[c];
            bnmlp_random rng = seeded(5 + (uint32_t)c), reference = seeded(5 + (uint32_t)c);
            for (uint32_t k = 0; k < skip; k++) bnmlp_random_uint32(&rng), bnmlp_random_uint32(&reference);
            for (size_t i = 0; i < n; i++) got[i] = expected[i] = i * 7 + 1;
            assert_ok(bnmlp_random_shuffle(&rng, got, n));
            for (size_t i = n - 1; i > 0; i--) {
                const size_t j = (size_t)bnmlp_random_interval(&reference, (uint64_t)i), held = expected[i];
                expected[i] = expected[j];
                expected[j] = held;
            }
            assert_memory_equal(got, expected, n * sizeof *got);
            assert_memory_equal(&rng, &reference, sizeof rng);
        }
}

/* Shuffling 0 or 1 element draws nothing; 2 elements draw one word (j = random_interval(1)). */
static void test_shuffle_small(void **state) {
    (void)state;
    bnmlp_random rng = seeded(21), raw = seeded(21);
    size_t one[2] = {4, 9};
    assert_ok(bnmlp_random_shuffle(&rng, one, 0));
    assert_ok(bnmlp_random_shuffle(&rng, one, 1));
    assert_int_equal(one[0], 4);
    assert_int_equal(one[1], 9);
    assert_memory_equal(&rng, &raw, sizeof rng);
    assert_ok(bnmlp_random_shuffle(&rng, one, 2));
    int swapped = (bnmlp_random_uint32(&raw) & 1U) == 0;
    assert_int_equal(one[0], swapped ? 9 : 4);
    assert_int_equal(one[1], swapped ? 4 : 9);
    assert_memory_equal(&rng, &raw, sizeof rng);
}

/* A large shuffle is a permutation that moves most elements. */
static void test_shuffle_is_permutation(void **state) {
    (void)state;
    enum { n = 5000 };
    size_t *indices = malloc(n * sizeof *indices);
    unsigned char *seen = calloc(n, 1);
    assert_non_null(indices);
    assert_non_null(seen);
    for (size_t i = 0; i < n; i++) indices[i] = i;
    bnmlp_random rng = seeded(77);
    assert_ok(bnmlp_random_shuffle(&rng, indices, n));
    size_t moved = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(indices[i] < n && !seen[indices[i]]);
        seen[indices[i]] = 1;
        moved += indices[i] != i;
    }
    assert_true(moved > n * 9 / 10);
    free(indices);
    free(seen);
}

/* NULL arguments are reported and change nothing. */
static void test_null_arguments(void **state) {
    (void)state;
    assert_status(bnmlp_random_seed(NULL, 1), BNMLP_ERR_NULL_ARGUMENT);
    size_t indices[3] = {0, 1, 2};
    bnmlp_random rng = seeded(1), copy = rng;
    assert_status(bnmlp_random_shuffle(NULL, indices, 3), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_random_shuffle(&rng, NULL, 3), BNMLP_ERR_NULL_ARGUMENT);
    assert_memory_equal(&rng, &copy, sizeof rng);
    assert_int_equal(indices[0], 0);
    assert_int_equal(indices[2], 2);
}

/* A position outside [0, 624) (corrupted state) twists instead of reading out of bounds. */
static void test_bad_position_twists(void **state) {
    (void)state;
    bnmlp_random rng = seeded(0), fresh = seeded(0);
    rng.position = -3;
    assert_int_equal(bnmlp_random_uint32(&rng), bnmlp_random_uint32(&fresh));
    rng = seeded(0);
    fresh = seeded(0);
    rng.position = 100000;
    assert_int_equal(bnmlp_random_uint32(&rng), bnmlp_random_uint32(&fresh));
    assert_int_equal(rng.position, 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_stream_matches_numpy),
        cmocka_unit_test(test_doubles_match_numpy),
        cmocka_unit_test(test_normals_match_numpy),
        cmocka_unit_test(test_shuffle_matches_numpy),
        cmocka_unit_test(test_interval_matches_numpy),
        cmocka_unit_test(test_known_first_values),
        cmocka_unit_test(test_seed_is_reproducible),
        cmocka_unit_test(test_gauss_cache),
        cmocka_unit_test(test_normal_is_affine_gauss),
        cmocka_unit_test(test_double_range),
        cmocka_unit_test(test_interval_in_range),
        cmocka_unit_test(test_interval_word_use),
        cmocka_unit_test(test_shuffle_small),
        cmocka_unit_test(test_shuffle_matches_interval_draws),
        cmocka_unit_test(test_shuffle_is_permutation),
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_bad_position_twists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
