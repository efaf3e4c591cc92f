/*
 * test_version.c - bnmlp_version() agrees with the header's version macros and with the
 * project's version in CMakeLists.txt.
 */
#include "support.h"

#include <stdio.h>
#include <string.h>

/* The string equals "MAJOR.MINOR.PATCH" printed from the macros. */
static void test_version_matches_macros(void **state) {
    (void)state;
    char expected[64];
    snprintf(expected, sizeof expected, "%d.%d.%d", BNMLP_VERSION_MAJOR, BNMLP_VERSION_MINOR,
             BNMLP_VERSION_PATCH);
    assert_non_null(bnmlp_version());
    assert_string_equal(bnmlp_version(), expected);
}

/* The string is the same static one on every call. */
static void test_version_is_static(void **state) {
    (void)state;
    assert_ptr_equal(bnmlp_version(), bnmlp_version());
}

/* The project's version (CMakeLists.txt: project(bnmlp VERSION ...)) is the header's. */
static void test_version_matches_project(void **state) {
    (void)state;
#ifdef BNMLP_PROJECT_VERSION
    assert_string_equal(bnmlp_version(), BNMLP_PROJECT_VERSION);
#else
    skip();
#endif
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_matches_macros),
        cmocka_unit_test(test_version_is_static),
        cmocka_unit_test(test_version_matches_project),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
