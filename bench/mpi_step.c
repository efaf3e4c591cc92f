/*
 * mpi_step.c - data-parallel training step of the big MLP under mpirun, and the all-reduce of its
 * gradients. Run on P ranks (bench/mpi_scaling.sh runs 1 and 2 side by side):
 *
 *     mpirun -n P ./build-bench/bench/mpi_step [--steps N] [--warmup N] [--batch B]
 *
 * The model: 256 inputs -> Dense(1024) -> BatchNorm -> ReLU -> Dense(1024) -> BatchNorm -> ReLU ->
 * Dense(1, sigmoid), SGD(0.01, momentum 0.9), synchronized batch norm, global batch B (256): each
 * rank steps on its share (B / P rows) of synthetic data. Each timed step starts after an
 * MPI_Barrier, its time is the slowest rank's; the table gives the median and the minimum. The
 * all-reduce is MPI_Allreduce(MPI_SUM) of the model's param_count floats (1.3 M), timed alone the
 * same way. Rank 0 prints one CSV line: ranks,rows_per_rank,params,step_median_s,step_min_s,
 * allreduce_median_s,allreduce_min_s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bnmlp_mpi.h"

#define INPUTS 256
#define HIDDEN 1024

static int compare_doubles(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The slowest rank's time of each sample, then its median and minimum. */
static void summarize(double *samples, int n, double *median, double *minimum) {
    MPI_Allreduce(MPI_IN_PLACE, samples, n, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    qsort(samples, (size_t)n, sizeof *samples, compare_doubles);
    *median = samples[n / 2];
    *minimum = samples[0];
}

static bnmlp_model *big_model(size_t max_batch) {
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(INPUTS, &status);
    bnmlp_dense_config hidden = BNMLP_DENSE_DEFAULT(HIDDEN), head = BNMLP_DENSE_DEFAULT(1);
    head.activation = BNMLP_ACTIVATION_SIGMOID;
    for (int i = 0; i < 2 && model; i++)
        if (bnmlp_model_add_dense(model, &hidden) != BNMLP_OK ||
            bnmlp_model_add_batchnorm(model, &BNMLP_BATCHNORM_DEFAULT) != BNMLP_OK ||
            bnmlp_model_add_activation(model, BNMLP_ACTIVATION_RELU, 0.0f) != BNMLP_OK)
            return NULL;
    if (!model || bnmlp_model_add_dense(model, &head) != BNMLP_OK ||
        bnmlp_model_build(model, max_batch, 1) != BNMLP_OK)
        return NULL;
    bnmlp_model_set_threads(model, 1); /* one thread per rank */
    return model;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int steps = 10, warmup = 2, batch = 256;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--steps") == 0)
            steps = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--warmup") == 0)
            warmup = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--batch") == 0)
            batch = atoi(argv[i + 1]);
    }
    bnmlp_collective collective;
    if (steps < 1 || warmup < 0 || batch < 2 ||
        bnmlp_mpi_collective_init(MPI_COMM_WORLD, &collective) != BNMLP_OK) {
        fprintf(stderr, "usage: mpirun -n P mpi_step [--steps N] [--warmup N] [--batch B]\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    const int rank = collective.rank, size = collective.size;
    const size_t share = (size_t)batch / (size_t)size + ((size_t)rank < (size_t)batch % (size_t)size ? 1 : 0);
    bnmlp_model *model = big_model((size_t)batch);
    float *x = malloc(share * INPUTS * sizeof *x), *y = malloc(share * sizeof *y);
    if (!model || !x || !y || bnmlp_model_set_collective(model, &collective) != BNMLP_OK)
        MPI_Abort(MPI_COMM_WORLD, 1);
    bnmlp_random rng;
    bnmlp_random_seed(&rng, 100u + (uint32_t)rank);
    for (size_t i = 0; i < share * INPUTS; i++) x[i] = (float)bnmlp_random_gauss(&rng);
    for (size_t r = 0; r < share; r++) y[r] = x[r * INPUTS] > 0.0f ? 1.0f : 0.0f;
    const bnmlp_tensor tx = bnmlp_tensor_view(x, share, INPUTS), ty = bnmlp_tensor_view(y, share, 1);
    bnmlp_optimizer_config sgd = BNMLP_OPTIMIZER_SGD_DEFAULT;
    sgd.sgd.momentum = 0.9f;
    double *samples = calloc((size_t)steps, sizeof *samples);
    for (int s = -warmup; s < steps; s++) {
        MPI_Barrier(MPI_COMM_WORLD);
        const double start = MPI_Wtime();
        if (bnmlp_model_train_step(model, &tx, &ty, &sgd, NULL, NULL) != BNMLP_OK)
            MPI_Abort(MPI_COMM_WORLD, 1);
        if (s >= 0) samples[s] = MPI_Wtime() - start;
    }
    double step_median, step_min, reduce_median, reduce_min;
    summarize(samples, steps, &step_median, &step_min);
    const size_t params = bnmlp_model_param_count(model);
    float *gradients = calloc(params, sizeof *gradients);
    for (int s = -warmup; s < steps; s++) {
        MPI_Barrier(MPI_COMM_WORLD);
        const double start = MPI_Wtime();
        collective.allreduce_sum_float(collective.context, gradients, params);
        if (s >= 0) samples[s] = MPI_Wtime() - start;
    }
    summarize(samples, steps, &reduce_median, &reduce_min);
    if (rank == 0)
        printf("%d,%zu,%zu,%.6f,%.6f,%.6f,%.6f\n", size, share, params, step_median, step_min, reduce_median,
               reduce_min);
    free(gradients), free(samples), free(x), free(y);
    bnmlp_model_free(model);
    bnmlp_mpi_collective_free(&collective);
    MPI_Finalize();
    return 0;
}
