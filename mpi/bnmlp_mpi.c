/* bnmlp_mpi.c - the collective interface of bnmlp.h over an MPI communicator. */
#include "bnmlp_mpi.h"

#include <limits.h>
#include <stdlib.h>

/* The context: the duplicate communicator. */
typedef struct mpi_context {
    MPI_Comm comm;
} mpi_context;

/* The largest piece one MPI call carries (counts are int). */
#define PIECE ((size_t)INT_MAX)

static bnmlp_status check(int result) { return result == MPI_SUCCESS ? BNMLP_OK : BNMLP_ERR_IO; }

/* In-place all-reduce of count elements of type (size bytes each) with op, in pieces. */
static bnmlp_status allreduce(void *context, void *values, size_t count, size_t size, MPI_Datatype type,
                              MPI_Op op) {
    const mpi_context *mpi = context;
    char *bytes = values;
    for (size_t done = 0; done < count;) {
        const size_t piece = count - done < PIECE ? count - done : PIECE;
        const bnmlp_status status =
            check(MPI_Allreduce(MPI_IN_PLACE, bytes + done * size, (int)piece, type, op, mpi->comm));
        if (status != BNMLP_OK) return status;
        done += piece;
    }
    return BNMLP_OK;
}

static bnmlp_status sum_double(void *context, double *values, size_t count) {
    return allreduce(context, values, count, sizeof *values, MPI_DOUBLE, MPI_SUM);
}

static bnmlp_status sum_float(void *context, float *values, size_t count) {
    return allreduce(context, values, count, sizeof *values, MPI_FLOAT, MPI_SUM);
}

static bnmlp_status max_int(void *context, int *values, size_t count) {
    return allreduce(context, values, count, sizeof *values, MPI_INT, MPI_MAX);
}

static bnmlp_status broadcast(void *context, void *bytes, size_t size, int root) {
    const mpi_context *mpi = context;
    char *data = bytes;
    for (size_t done = 0; done < size;) {
        const size_t piece = size - done < PIECE ? size - done : PIECE;
        const bnmlp_status status = check(MPI_Bcast(data + done, (int)piece, MPI_BYTE, root, mpi->comm));
        if (status != BNMLP_OK) return status;
        done += piece;
    }
    return BNMLP_OK;
}

bnmlp_status bnmlp_mpi_collective_init(MPI_Comm comm, bnmlp_collective *out) {
    if (!out) return BNMLP_ERR_NULL_ARGUMENT;
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (!initialized || finalized || comm == MPI_COMM_NULL) return BNMLP_ERR_INVALID_ARGUMENT;
    mpi_context *mpi = malloc(sizeof *mpi);
    if (!mpi) return BNMLP_ERR_OUT_OF_MEMORY;
    int rank = 0, size = 0;
    if (MPI_Comm_dup(comm, &mpi->comm) != MPI_SUCCESS) {
        free(mpi);
        return BNMLP_ERR_IO;
    }
    MPI_Comm_set_errhandler(mpi->comm, MPI_ERRORS_RETURN);
    if (MPI_Comm_rank(mpi->comm, &rank) != MPI_SUCCESS || MPI_Comm_size(mpi->comm, &size) != MPI_SUCCESS) {
        MPI_Comm_free(&mpi->comm);
        free(mpi);
        return BNMLP_ERR_IO;
    }
    *out = (bnmlp_collective){.allreduce_sum_double = sum_double,
                              .allreduce_sum_float = sum_float,
                              .allreduce_max_int = max_int,
                              .broadcast = broadcast,
                              .context = mpi,
                              .rank = rank,
                              .size = size};
    return BNMLP_OK;
}

void bnmlp_mpi_collective_free(bnmlp_collective *collective) {
    if (!collective || !collective->context) return;
    mpi_context *mpi = collective->context;
    MPI_Comm_free(&mpi->comm);
    free(mpi);
    *collective = (bnmlp_collective){0};
}
