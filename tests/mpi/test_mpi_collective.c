/*
 * test_mpi_collective.c - the cases of collective_cases.c over MPI, one process per rank
 * (ctest runs it through mpiexec on 1, 2 and 3 ranks: tests/mpi/CMakeLists.txt). Every rank
 * compares its distributed model with a single-process model of its own on the whole global
 * batch, to a relative 1e-5. Also checks that the ranks hold bit-identical parameters and moving
 * statistics after training (MPI_Allreduce gives every rank the same sums).
 *
 * usage: test_mpi_collective [all|steps|fit|unsynchronized|bad_input|evaluate]
 * Exit status 0 on every rank when every check passed on every rank.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bnmlp_mpi.h"
#include "collective_cases.h"

/* Trains a model on 8 global batches and compares every rank's parameters and moving statistics
 * with rank 0's, byte for byte. */
static int identical_on_every_rank(const bnmlp_collective *c) {
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(3, &status);
    bnmlp_dense_config hidden = BNMLP_DENSE_DEFAULT(64), head = BNMLP_DENSE_DEFAULT(1);
    bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
    head.activation = BNMLP_ACTIVATION_SIGMOID;
    bnmlp_model_add_dense(model, &hidden);
    bnmlp_model_add_batchnorm(model, &bn);
    bnmlp_model_add_activation(model, BNMLP_ACTIVATION_RELU, 0.0f);
    bnmlp_model_add_dense(model, &head);
    int failures = bnmlp_model_build(model, 64, 5u) != BNMLP_OK;
    failures += bnmlp_model_set_collective(model, c) != BNMLP_OK;
    float x[64 * 3], y[64];
    bnmlp_random rng;
    bnmlp_random_seed(&rng, 11u + (uint32_t)c->rank); /* each rank its own rows */
    const bnmlp_optimizer_config sgd = BNMLP_OPTIMIZER_SGD_DEFAULT;
    for (int step = 0; step < 8; step++) {
        for (int i = 0; i < 64 * 3; i++) x[i] = (float)bnmlp_random_gauss(&rng);
        for (int i = 0; i < 64; i++) y[i] = x[3 * i] > 0.0f ? 1.0f : 0.0f;
        const bnmlp_tensor tx = bnmlp_tensor_view(x, 64, 3), ty = bnmlp_tensor_view(y, 64, 1);
        failures += bnmlp_model_train_step(model, &tx, &ty, &sgd, NULL, NULL) != BNMLP_OK;
    }
    const size_t n = bnmlp_model_param_count(model);
    float *mine = calloc(n + 128, sizeof *mine), *root = calloc(n + 128, sizeof *root);
    bnmlp_model_get_params(model, mine, n);
    bnmlp_model_get_weights(model, 1, BNMLP_WEIGHT_MOVING_MEAN, mine + n, 64);
    bnmlp_model_get_weights(model, 1, BNMLP_WEIGHT_MOVING_VARIANCE, mine + n + 64, 64);
    memcpy(root, mine, (n + 128) * sizeof *mine);
    MPI_Bcast(root, (int)(n + 128), MPI_FLOAT, 0, MPI_COMM_WORLD);
    if (memcmp(root, mine, (n + 128) * sizeof *mine) != 0) {
        fprintf(stderr, "rank %d of %d: parameters or moving statistics differ from rank 0's\n", c->rank,
                c->size);
        failures++;
    }
    free(mine);
    free(root);
    bnmlp_model_free(model);
    return failures;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    const char *which = argc > 1 ? argv[1] : "all";
    bnmlp_collective collective;
    int failures = bnmlp_mpi_collective_init(MPI_COMM_WORLD, &collective) != BNMLP_OK;
    if (failures == 0) {
        const bool all = strcmp(which, "all") == 0;
        if (all || strcmp(which, "steps") == 0) failures += collective_case_steps(&collective);
        if (all || strcmp(which, "fit") == 0) failures += collective_case_fit(&collective);
        if (all || strcmp(which, "fit_controls") == 0) failures += collective_case_fit_controls(&collective);
        if (all || strcmp(which, "unsynchronized") == 0)
            failures += collective_case_unsynchronized(&collective);
        if (all || strcmp(which, "bad_input") == 0) failures += collective_case_bad_input(&collective);
        if (all || strcmp(which, "evaluate") == 0) failures += collective_case_evaluate(&collective);
        if (all || strcmp(which, "weights") == 0) failures += collective_case_weights(&collective);
        if (all || strcmp(which, "metrics") == 0) failures += collective_case_metrics(&collective);
        if (all || strcmp(which, "identical") == 0) failures += identical_on_every_rank(&collective);
    }
    int total = 0, rank = 0, size = 1;
    MPI_Allreduce(&failures, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (rank == 0)
        printf("test_mpi_collective %s on %d rank%s: %s (%d failed checks)\n", which, size,
               size == 1 ? "" : "s", total ? "FAILED" : "passed", total);
    bnmlp_mpi_collective_free(&collective);
    MPI_Finalize();
    return total ? 1 : 0;
}
