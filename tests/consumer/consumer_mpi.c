/*
 * consumer_mpi.c - a program of another project using libbnmlp's optional component mpi
 * (find_package(bnmlp COMPONENTS mpi), target bnmlp::mpi): on every rank, an all-reduce through
 * the MPI collective and a model that joins it. Run it under mpiexec; exit status 0 when every
 * rank saw the right sums and ranks.
 */
#include <stdio.h>

#include <bnmlp_mpi.h>

/* Prints the failed call and its status; returns 1 for main. */
static int fail(const char *what, bnmlp_status status) {
    fprintf(stderr, "consumer_mpi: %s: %s\n", what, bnmlp_status_string(status));
    return 1;
}

/* Checks that the model joined the collective as this rank of size; returns main's status. */
static int check_model(const bnmlp_collective *collective) {
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(2, &status);
    if (model == NULL) return fail("model_create", status);
    bnmlp_dense_config output = BNMLP_DENSE_DEFAULT(1);
    output.activation = BNMLP_ACTIVATION_SIGMOID;
    if ((status = bnmlp_model_add_dense(model, &output)) != BNMLP_OK ||
        (status = bnmlp_model_build(model, 8, 1)) != BNMLP_OK ||
        (status = bnmlp_model_set_collective(model, collective)) != BNMLP_OK) {
        bnmlp_model_free(model);
        return fail("model with a collective", status);
    }
    int rank = -1, size = -1;
    bnmlp_model_rank(model, &rank, &size);
    bnmlp_model_free(model);
    if (rank != collective->rank || size != collective->size) {
        fprintf(stderr, "consumer_mpi: the model says rank %d of %d, MPI %d of %d\n", rank, size,
                collective->rank, collective->size);
        return 1;
    }
    return 0;
}

/* The checks between MPI_Init and MPI_Finalize; returns main's status. */
static int run(void) {
    bnmlp_collective collective;
    bnmlp_status status = bnmlp_mpi_collective_init(MPI_COMM_WORLD, &collective);
    if (status != BNMLP_OK) return fail("mpi_collective_init", status);
    /* Ranks 0..size-1 contribute 1..size: every rank must get size (size + 1) / 2. */
    double sum = collective.rank + 1.0;
    double expected = collective.size * (collective.size + 1.0) / 2.0;
    int result = 0;
    status = collective.allreduce_sum_double(collective.context, &sum, 1);
    if (status != BNMLP_OK) {
        result = fail("allreduce_sum_double", status);
    } else if (sum != expected) {
        fprintf(stderr, "consumer_mpi: rank %d: sum %g, expected %g\n", collective.rank, sum, expected);
        result = 1;
    } else {
        result = check_model(&collective);
    }
    if (result == 0 && collective.rank == 0) {
        printf("bnmlp %s over MPI: %d ranks, all-reduce sum %g\n", bnmlp_version(), collective.size, sum);
    }
    bnmlp_mpi_collective_free(&collective);
    return result;
}

int main(int argc, char **argv) {
    if (MPI_Init(&argc, &argv) != MPI_SUCCESS) {
        fprintf(stderr, "consumer_mpi: MPI_Init failed\n");
        return 1;
    }
    int result = run();
    MPI_Finalize();
    return result;
}
