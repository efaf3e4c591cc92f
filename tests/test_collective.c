/*
 * test_collective.c - the collective interface without MPI: an in-process fake transport runs P
 * ranks as P threads (a pthread barrier and shared buffers), and every rank runs the cases of
 * collective_cases.c: 1, 2 and 3 ranks (32 rows as 16 + 16 and 11 + 11 + 10) against one process,
 * to a relative 1e-5. Then the argument checks of bnmlp_model_set_collective, the agreement on
 * a status when one rank cannot join, and a step that allocates nothing.
 */
#include "support.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "collective_cases.h"

#define MAX_RANKS 3
#define CAPACITY 4096 /* values one all-reduce may carry, more than any test model's parameters */

/* What the ranks share: a barrier, each rank's buffer and the result. */
typedef struct fake_world {
    pthread_barrier_t barrier;
    int size;
    void *buffers[MAX_RANKS]; /* each rank's values during a call */
    double result[CAPACITY];  /* computed by rank 0 in rank order: the same on every rank */
} fake_world;

/* One rank's context. */
typedef struct fake_rank {
    fake_world *world;
    int rank;
    bnmlp_collective collective;
    int failures; /* what the rank's cases returned */
    int (*body)(const bnmlp_collective *collective);
} fake_rank;

static void wait_all(fake_world *w) { pthread_barrier_wait(&w->barrier); }

/* Combines element i of every rank's buffer into result, ranks in order. */
static void sum_doubles(void *result, void *const *buffers, int ranks, size_t i) {
    double sum = 0.0;
    for (int k = 0; k < ranks; k++) sum += ((const double *)buffers[k])[i];
    ((double *)result)[i] = sum;
}

static void sum_floats(void *result, void *const *buffers, int ranks, size_t i) {
    float sum = 0.0f;
    for (int k = 0; k < ranks; k++) sum += ((const float *)buffers[k])[i];
    ((float *)result)[i] = sum;
}

static void max_ints(void *result, void *const *buffers, int ranks, size_t i) {
    int most = ((const int *)buffers[0])[i];
    for (int k = 1; k < ranks; k++)
        most = ((const int *)buffers[k])[i] > most ? ((const int *)buffers[k])[i] : most;
    ((int *)result)[i] = most;
}

/* The all-reduce: every rank shows its buffer, rank 0 combines, every rank copies the result. */
static bnmlp_status fake_allreduce(void *context, void *values, size_t count, size_t size,
                                   void (*combine)(void *, void *const *, int, size_t)) {
    fake_rank *r = context;
    fake_world *w = r->world;
    if (count > CAPACITY) return BNMLP_ERR_INVALID_ARGUMENT;
    w->buffers[r->rank] = values;
    wait_all(w);
    if (r->rank == 0)
        for (size_t i = 0; i < count; i++) combine(w->result, w->buffers, w->size, i);
    wait_all(w);
    memcpy(values, w->result, count * size);
    wait_all(w); /* nobody reuses the result before everyone copied it */
    return BNMLP_OK;
}

static bnmlp_status fake_sum_double(void *context, double *values, size_t count) {
    return fake_allreduce(context, values, count, sizeof *values, sum_doubles);
}

static bnmlp_status fake_sum_float(void *context, float *values, size_t count) {
    return fake_allreduce(context, values, count, sizeof *values, sum_floats);
}

static bnmlp_status fake_max_int(void *context, int *values, size_t count) {
    return fake_allreduce(context, values, count, sizeof *values, max_ints);
}

static bnmlp_status fake_broadcast(void *context, void *bytes, size_t size, int root) {
    fake_rank *r = context;
    fake_world *w = r->world;
    w->buffers[r->rank] = bytes;
    wait_all(w);
    if (r->rank != root) memcpy(bytes, w->buffers[root], size);
    wait_all(w);
    return BNMLP_OK;
}

static void *run_rank(void *argument) {
    fake_rank *r = argument;
    r->failures = r->body(&r->collective);
    return NULL;
}

/* Runs body on size ranks (threads); the sum of their failures. */
static int run_world(int size, int (*body)(const bnmlp_collective *collective)) {
    static fake_world world;
    fake_rank ranks[MAX_RANKS];
    pthread_t threads[MAX_RANKS];
    world.size = size;
    assert_int_equal(pthread_barrier_init(&world.barrier, NULL, (unsigned)size), 0);
    for (int k = 0; k < size; k++) {
        ranks[k] = (fake_rank){.world = &world, .rank = k, .body = body};
        ranks[k].collective = (bnmlp_collective){.allreduce_sum_double = fake_sum_double,
                                                 .allreduce_sum_float = fake_sum_float,
                                                 .allreduce_max_int = fake_max_int,
                                                 .broadcast = fake_broadcast,
                                                 .context = &ranks[k],
                                                 .rank = k,
                                                 .size = size};
        assert_int_equal(pthread_create(&threads[k], NULL, run_rank, &ranks[k]), 0);
    }
    int failures = 0;
    for (int k = 0; k < size; k++) {
        pthread_join(threads[k], NULL);
        failures += ranks[k].failures;
    }
    pthread_barrier_destroy(&world.barrier);
    return failures;
}

/* ---- the shared cases on 1, 2 and 3 ranks ---------------------------------------------------- */

static void test_steps_match_one_process(void **state) {
    (void)state;
    for (int size = 1; size <= 3; size++) assert_int_equal(run_world(size, collective_case_steps), 0);
}

static void test_fit_matches_one_process(void **state) {
    (void)state;
    for (int size = 1; size <= 3; size++) assert_int_equal(run_world(size, collective_case_fit), 0);
}

static void test_fit_controls_match_one_process(void **state) {
    (void)state;
    for (int size = 1; size <= 3; size++) assert_int_equal(run_world(size, collective_case_fit_controls), 0);
}

static void test_unsynchronized_statistics_differ(void **state) {
    (void)state;
    for (int size = 1; size <= 3; size++)
        assert_int_equal(run_world(size, collective_case_unsynchronized), 0);
}

static void test_bad_input_on_one_rank(void **state) {
    (void)state;
    for (int size = 1; size <= 3; size++) assert_int_equal(run_world(size, collective_case_bad_input), 0);
}

static void test_evaluate_is_global(void **state) {
    (void)state;
    for (int size = 1; size <= 3; size++) assert_int_equal(run_world(size, collective_case_evaluate), 0);
}

static void test_dropout_keys_global_rows(void **state) {
    (void)state;
    for (int size = 1; size <= 3; size++) assert_int_equal(run_world(size, collective_case_dropout), 0);
}

static void test_weights_match_one_process(void **state) {
    (void)state;
    for (int size = 1; size <= 3; size++) assert_int_equal(run_world(size, collective_case_weights), 0);
}

static void test_metrics_are_global(void **state) {
    (void)state;
    for (int size = 1; size <= 3; size++) assert_int_equal(run_world(size, collective_case_metrics), 0);
}

/* ---- set_collective itself --------------------------------------------------------------------- */

/* A small built model 2 -> Dense(3) -> BatchNorm -> Dense(1, sigmoid), or an unbuilt one. */
static bnmlp_model *small_model(size_t units, bool build, const bnmlp_allocator *allocator) {
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create_with_allocator(2, allocator, &status);
    assert_non_null(model);
    bnmlp_dense_config hidden = BNMLP_DENSE_DEFAULT(units), head = BNMLP_DENSE_DEFAULT(1);
    bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
    head.activation = BNMLP_ACTIVATION_SIGMOID;
    assert_ok(bnmlp_model_add_dense(model, &hidden));
    assert_ok(bnmlp_model_add_batchnorm(model, &bn));
    assert_ok(bnmlp_model_add_dense(model, &head));
    if (build) assert_ok(bnmlp_model_build(model, 8, 1));
    return model;
}

static void test_set_collective_arguments(void **state) {
    (void)state;
    fake_world world = {.size = 1};
    assert_int_equal(pthread_barrier_init(&world.barrier, NULL, 1), 0);
    fake_rank rank = {.world = &world};
    const bnmlp_collective good = {.allreduce_sum_double = fake_sum_double,
                                   .allreduce_sum_float = fake_sum_float,
                                   .allreduce_max_int = fake_max_int,
                                   .broadcast = fake_broadcast,
                                   .context = &rank,
                                   .rank = 0,
                                   .size = 1};
    bnmlp_model *model = small_model(3, true, NULL);
    assert_status(bnmlp_model_set_collective(NULL, &good), BNMLP_ERR_NULL_ARGUMENT);
    bnmlp_collective bad = good;
    bad.broadcast = NULL;
    assert_status(bnmlp_model_set_collective(model, &bad), BNMLP_ERR_INVALID_ARGUMENT);
    bad = good;
    bad.rank = 1;
    assert_status(bnmlp_model_set_collective(model, &bad), BNMLP_ERR_INVALID_ARGUMENT);
    bad = good;
    bad.size = 0;
    bad.rank = 0;
    assert_status(bnmlp_model_set_collective(model, &bad), BNMLP_ERR_INVALID_ARGUMENT);
    int r = -1, s = -1;
    bnmlp_model_rank(model, &r, &s);
    assert_int_equal(r, 0);
    assert_int_equal(s, 1);
    assert_ok(bnmlp_model_set_collective(model, &good));
    assert_ok(bnmlp_model_set_collective(model, NULL)); /* back to one process */
    assert_status(bnmlp_model_set_batchnorm_sync(NULL, true), BNMLP_ERR_NULL_ARGUMENT);
    bnmlp_model *unbuilt = small_model(3, false, NULL);
    assert_status(bnmlp_model_set_collective(unbuilt, &good), BNMLP_ERR_NOT_BUILT);
    bnmlp_model_free(unbuilt);
    bnmlp_model_free(model);
    pthread_barrier_destroy(&world.barrier);
}

/* Rank 1 builds another architecture (or none): every rank gets the same error. */
static int mismatch_body(const bnmlp_collective *c) {
    bnmlp_model *model = small_model(c->rank == 1 ? 4 : 3, true, NULL);
    int failures = bnmlp_model_set_collective(model, c) != BNMLP_ERR_SHAPE;
    bnmlp_model_free(model);
    model = small_model(3, c->rank != 1, NULL);
    failures += bnmlp_model_set_collective(model, c) != BNMLP_ERR_NOT_BUILT;
    bnmlp_model_free(model);
    return failures;
}

static void test_ranks_agree_on_join_errors(void **state) {
    (void)state;
    assert_int_equal(run_world(2, mismatch_body), 0);
}

/* A distributed training step allocates nothing. */
static int allocation_body(const bnmlp_collective *c) {
    counting_allocator counter = {0};
    const bnmlp_allocator allocator = counting_allocator_of(&counter);
    bnmlp_model *model = small_model(3, true, &allocator);
    int failures = bnmlp_model_set_collective(model, c) != BNMLP_OK;
    float x[8] = {0.5f, 1.0f, -1.0f, 0.25f, 2.0f, -0.5f, 0.0f, 1.5f}, y[4] = {1, 0, 1, 0};
    const bnmlp_tensor tx = bnmlp_tensor_view(x, 4, 2), ty = bnmlp_tensor_view(y, 4, 1);
    const bnmlp_sgd_config sgd = BNMLP_SGD_DEFAULT;
    const size_t before = counter.calls;
    for (int i = 0; i < 3; i++)
        failures += bnmlp_model_train_step(model, &tx, &ty, SGD_CONFIG(&sgd), NULL, NULL) != BNMLP_OK;
    failures += counter.calls != before;
    bnmlp_model_free(model);
    return failures;
}

static void test_distributed_step_allocates_nothing(void **state) {
    (void)state;
    assert_int_equal(run_world(2, allocation_body), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steps_match_one_process),
        cmocka_unit_test(test_fit_matches_one_process),
        cmocka_unit_test(test_fit_controls_match_one_process),
        cmocka_unit_test(test_unsynchronized_statistics_differ),
        cmocka_unit_test(test_bad_input_on_one_rank),
        cmocka_unit_test(test_evaluate_is_global),
        cmocka_unit_test(test_dropout_keys_global_rows),
        cmocka_unit_test(test_weights_match_one_process),
        cmocka_unit_test(test_metrics_are_global),
        cmocka_unit_test(test_set_collective_arguments),
        cmocka_unit_test(test_ranks_agree_on_join_errors),
        cmocka_unit_test(test_distributed_step_allocates_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
