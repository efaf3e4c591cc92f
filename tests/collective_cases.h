/*
 * collective_cases.h - test cases of training on several ranks, written once against the public
 * collective interface and run by every rank: by threads over an in-process fake transport
 * (test_collective.c) and by processes over MPI (tests/mpi/test_mpi_collective.c).
 *
 * Each case returns the number of failed checks on this rank (0 when all pass) and explains each
 * failure on stderr. Every rank runs a single-process reference model on the whole global batch
 * beside the distributed one, so no case needs another run to compare with.
 */
#ifndef BNMLP_TEST_COLLECTIVE_CASES_H
#define BNMLP_TEST_COLLECTIVE_CASES_H

#include "bnmlp.h"

/* The tolerance of every comparison with single-process training: |a - b| <= ATOL + RTOL * |b|.
 * Not bit-identical, since the ranks' sums are added in another order. */
#define COLLECTIVE_RTOL 1e-5
#define COLLECTIVE_ATOL 1e-6

/* 20 train_step calls of a global batch of 32 rows (shares of 32 / size rows, the first 32 % size
 * ranks one more) against one process on the whole batch: loss, accuracy, every parameter and
 * every moving statistic after every step, with synchronized batch norm. */
int collective_case_steps(const bnmlp_collective *collective);

/* bnmlp_model_fit, 3 epochs of 200 rows with global batch 32 and validation, against one
 * process: the history and the final parameters and moving statistics. */
int collective_case_fit(const bnmlp_collective *collective);

/* bnmlp_model_fit with validation_split, a per-step cosine schedule and early stopping on
 * val_accuracy with restore_best_weights against one process: the same epochs run, the same
 * decisions and rates every epoch, the metrics and the restored weights. */
int collective_case_fit_controls(const bnmlp_collective *collective);

/* Without synchronization (per-rank statistics), the moving statistics differ from one process's
 * (on more than one rank), while every rank still returns the same global loss. */
int collective_case_unsynchronized(const bnmlp_collective *collective);

/* The last rank passes a NaN in its share: every rank returns BNMLP_ERR_NOT_FINITE from
 * train_step, fit and evaluate, nothing changes, and a later good step still matches. */
int collective_case_bad_input(const bnmlp_collective *collective);

/* evaluate on each rank's share of the rows gives one process's loss and accuracy on all rows. */
int collective_case_evaluate(const bnmlp_collective *collective);

/* Dropout under a collective: a rank's rows are keyed by their index in the global batch, so a
 * training-mode forward of a share gives one process's rows of the whole batch, and train_step
 * matches one process. */
int collective_case_dropout(const bnmlp_collective *collective);

/* Class and sample weights under both normalizations: train_step_weighted on shares (sum(w)
 * summed over the ranks), evaluate_weighted on shares, and fit with weighted validation rows,
 * against one process. */
int collective_case_weights(const bnmlp_collective *collective);

/* fit with metrics (accuracy, precision, recall, f1_score, auc) and evaluate_metrics on each
 * rank's share against one process; roc_auc refused on every rank. */
int collective_case_metrics(const bnmlp_collective *collective);

/* Every case above; the sum of their failures. */
int collective_case_all(const bnmlp_collective *collective);

#endif /* BNMLP_TEST_COLLECTIVE_CASES_H */
