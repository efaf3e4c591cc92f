/*
 * report.h - the results as a printed table and as CSV files (summary.csv, history.csv).
 */
#ifndef CIRCLES_REPORT_H
#define CIRCLES_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "experiment.h"
#include "stats.h"
#include "variant.h"

/* Prints the table: one line per variant (summaries[i] belongs to variants[i]), then a note for
 * every variant with diverged runs. */
void print_summary_table(FILE *out, const variant *variants, const variant_summary *summaries, size_t count);

/* Writes summary.csv: header variant,runs,train_acc_mean,train_acc_std,test_acc_mean,
 * test_acc_std,epochs_to_80_mean,runs_not_reaching_80,seconds_per_run_median, then one row per
 * variant; undefined values (NaN) are empty fields. Reports a failure with the path; false then. */
bool write_summary_csv(const char *path, const variant *variants, const variant_summary *summaries,
                       size_t count);

/* Writes history.csv: header variant,run,epoch,loss,acc,val_loss,val_acc, then one row per epoch
 * of every run in run order (run is 0-based: it used seed --seed + run). */
bool write_history_csv(const char *path, const experiment_setup *setup, const experiment_results *results);

#endif /* CIRCLES_REPORT_H */
