/*
 * circles_mpi.c - the circles case study's model trained data-parallel under mpirun:
 *
 *     mpirun -n 2 ./build/examples/circles_mpi [--epochs N] [--batch B] [--no-sync] [--out FILE]
 *
 * Every rank makes the same make_circles data (1000 points, noise 0.1; the first 500 train, the
 * rest validate) and builds the same model (2 -> Dense(50, relu, he_uniform) -> BatchNorm ->
 * Dense(1, sigmoid)); bnmlp_model_set_collective broadcasts rank 0's weights. fit's batch is the
 * GLOBAL batch (default 32): each rank trains on its share of every batch, gradients and batch-norm
 * statistics are summed over the ranks, so the run matches one process with the same batch up to
 * float rounding. Only rank 0 prints and writes (--out: the trained model). --no-sync keeps
 * per-rank batch-norm statistics (plain data-parallel). The exit status is 0 on every rank when
 * training worked (test accuracy above 0.75).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bnmlp_mpi.h"

#define MAX_EPOCHS 1000

typedef struct options {
    size_t epochs, batch;
    bool sync;
    const char *out;
} options;

static bool parse(int argc, char **argv, options *o) {
    *o = (options){.epochs = 100, .batch = 32, .sync = true, .out = NULL};
    for (int i = 1; i < argc; i++) {
        const bool has_value = i + 1 < argc;
        if (strcmp(argv[i], "--epochs") == 0 && has_value)
            o->epochs = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--batch") == 0 && has_value)
            o->batch = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--out") == 0 && has_value)
            o->out = argv[++i];
        else if (strcmp(argv[i], "--no-sync") == 0)
            o->sync = false;
        else
            return false;
    }
    return o->epochs > 0 && o->epochs <= MAX_EPOCHS && o->batch > 0;
}

/* Rank 0 reports a failed call; true when status is an error (the same on every rank for the
 * collective calls). */
static bool failed(int rank, bnmlp_status status, const char *what) {
    if (status == BNMLP_OK) return false;
    if (rank == 0) fprintf(stderr, "circles_mpi: %s: %s\n", what, bnmlp_status_string(status));
    return true;
}

static bnmlp_model *make_model(size_t max_batch) {
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(2, &status);
    if (!model) return NULL;
    bnmlp_dense_config hidden = BNMLP_DENSE_DEFAULT(50), output = BNMLP_DENSE_DEFAULT(1);
    hidden.activation = BNMLP_ACTIVATION_RELU;
    hidden.kernel_initializer = BNMLP_INIT_HE_UNIFORM;
    output.activation = BNMLP_ACTIVATION_SIGMOID;
    if (bnmlp_model_add_dense(model, &hidden) != BNMLP_OK ||
        bnmlp_model_add_batchnorm(model, &BNMLP_BATCHNORM_DEFAULT) != BNMLP_OK ||
        bnmlp_model_add_dense(model, &output) != BNMLP_OK ||
        bnmlp_model_build(model, max_batch, 1) != BNMLP_OK) {
        bnmlp_model_free(model);
        return NULL;
    }
    return model;
}

/* Trains and evaluates; 0 when the test accuracy shows that training worked. */
static int run(const options *o, const bnmlp_collective *collective) {
    const int rank = collective->rank;
    bnmlp_dataset data = {0}, train = {0}, test = {0};
    bnmlp_tensor *x = NULL, *y = NULL, *tx = NULL, *ty = NULL;
    bnmlp_circles_config circles = BNMLP_CIRCLES_DEFAULT;
    circles.n_samples = 1000, circles.noise = 0.1, circles.random_state = 1;
    bnmlp_model *model = NULL;
    bnmlp_epoch_record *history = calloc(o->epochs, sizeof *history);
    int result = 1;
    if (!history || failed(rank, bnmlp_make_circles(&circles, &data), "make_circles") ||
        failed(rank, bnmlp_dataset_split(&data, 500, &train, &test), "split") ||
        failed(rank, bnmlp_dataset_to_tensors(&train, &x, &y), "to_tensors") ||
        failed(rank, bnmlp_dataset_to_tensors(&test, &tx, &ty), "to_tensors"))
        goto done;
    model = make_model(o->batch);
    if (!model) {
        fprintf(stderr, "circles_mpi: rank %d: cannot build the model\n", rank);
        goto done;
    }
    if (failed(rank, bnmlp_model_set_collective(model, collective), "set_collective") ||
        failed(rank, bnmlp_model_set_batchnorm_sync(model, o->sync), "set_batchnorm_sync"))
        goto done;
    bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
    fit.epochs = o->epochs;
    fit.batch_size = o->batch; /* the global batch */
    fit.optimizer.sgd = (bnmlp_sgd_config){.learning_rate = 0.01f, .momentum = 0.9f};
    fit.validation_x = tx, fit.validation_y = ty;
    size_t epochs = 0;
    if (failed(rank, bnmlp_model_fit(model, x, y, &fit, history, &epochs), "fit")) goto done;
    double loss, accuracy;
    /* Every rank holds the whole test set, so the global metrics are one process's. */
    if (failed(rank, bnmlp_model_evaluate(model, tx, ty, &loss, &accuracy), "evaluate")) goto done;
    if (rank == 0) {
        for (size_t e = 0; e < epochs; e++)
            if (e + 1 == epochs || (e + 1) % 10 == 0)
                printf("epoch %3zu: loss %.4f, acc %.3f, val_loss %.4f, val_acc %.3f\n", history[e].epoch,
                       history[e].loss, history[e].accuracy, history[e].val_loss, history[e].val_accuracy);
        printf("%d rank%s, global batch %zu, batch norm %s: test loss %.4f, test accuracy %.3f\n",
               collective->size, collective->size == 1 ? "" : "s", o->batch,
               o->sync ? "synchronized" : "per rank", loss, accuracy);
        if (o->out && failed(rank, bnmlp_model_save(model, o->out), "save")) goto done;
    }
    result = accuracy > 0.75 ? 0 : 1;
done:
    bnmlp_model_free(model);
    bnmlp_tensor_free(x), bnmlp_tensor_free(y), bnmlp_tensor_free(tx), bnmlp_tensor_free(ty);
    bnmlp_dataset_free(&data), bnmlp_dataset_free(&train), bnmlp_dataset_free(&test);
    free(history);
    return result;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    options o;
    bnmlp_collective collective;
    int result = 2;
    if (!parse(argc, argv, &o)) {
        int rank = 0;
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        if (rank == 0)
            fprintf(stderr,
                    "usage: mpirun -n P circles_mpi [--epochs N (1..%d)] [--batch B] [--no-sync] "
                    "[--out FILE]\n",
                    MAX_EPOCHS);
    } else if (bnmlp_mpi_collective_init(MPI_COMM_WORLD, &collective) == BNMLP_OK) {
        result = run(&o, &collective);
        bnmlp_mpi_collective_free(&collective);
    } else {
        fprintf(stderr, "circles_mpi: cannot set up MPI\n");
    }
    /* Every rank exits with the worst status. */
    int worst = result;
    MPI_Allreduce(&result, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return worst;
}
