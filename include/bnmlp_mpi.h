/*
 * bnmlp_mpi.h - libbnmlp_mpi: the collective interface of bnmlp.h over MPI.
 *
 * A separate library (CMake target bnmlp_mpi, alias bnmlp::mpi), built when CMake finds MPI; the
 * core library never links MPI. The caller initializes MPI (MPI_Init or MPI_Init_thread) and
 * chooses the communicator; the collective uses its own duplicate of it, so its messages never
 * mix with the caller's. The model calls the collective from the thread that calls the model,
 * so MPI_THREAD_FUNNELED suffices.
 *
 * Typical use, on every rank:
 *     bnmlp_collective collective;
 *     bnmlp_mpi_collective_init(MPI_COMM_WORLD, &collective);
 *     bnmlp_model_set_collective(model, &collective);   // after bnmlp_model_build
 *     bnmlp_model_fit(model, x, y, &config, history, NULL);
 *     bnmlp_model_free(model);
 *     bnmlp_mpi_collective_free(&collective);            // before MPI_Finalize
 */
#ifndef BNMLP_MPI_H
#define BNMLP_MPI_H

#include <mpi.h>

#include "bnmlp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fills *out with an MPI implementation of the collective interface over a duplicate of comm
 * (MPI_Comm_dup: collective, every rank of comm calls it), whose error handler returns errors:
 * an MPI call that fails makes the function return BNMLP_ERR_IO. rank and size are the rank's in
 * comm. Sums use MPI_Allreduce with MPI_SUM (MPI_DOUBLE, MPI_FLOAT), the status agreement
 * MPI_Allreduce with MPI_MAX (MPI_INT), and the broadcast MPI_Bcast of bytes; counts beyond
 * INT_MAX go in pieces. Errors: BNMLP_ERR_NULL_ARGUMENT, BNMLP_ERR_INVALID_ARGUMENT (MPI not
 * initialized, or comm MPI_COMM_NULL), BNMLP_ERR_OUT_OF_MEMORY, BNMLP_ERR_IO (MPI failed); on
 * error *out is untouched. Free with bnmlp_mpi_collective_free once no model uses it. */
bnmlp_status bnmlp_mpi_collective_init(MPI_Comm comm, bnmlp_collective *out);

/* Frees the duplicate communicator (MPI_Comm_free: collective) and zeroes *collective; NULL or a
 * zeroed collective is a no-op. */
void bnmlp_mpi_collective_free(bnmlp_collective *collective);

#ifdef __cplusplus
}
#endif

#endif /* BNMLP_MPI_H */
