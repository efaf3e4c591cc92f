/*
 * curves.h - a training run's history as CSV and its learning curves as SVG.
 */
#ifndef BNMLP_CLI_CURVES_H
#define BNMLP_CLI_CURVES_H

#include <stdbool.h>
#include <stddef.h>

#include "bnmlp.h"

/* Which columns the history has beyond "epoch,loss,accuracy,val_loss,val_accuracy". */
typedef struct history_columns {
    bool learning_rate;         /* a learning_rate column (the rate of the epoch's last step) */
    size_t metric_count;        /* --metrics columns: NAME, then val_NAME with validation */
    const char *const *metrics; /* their names (metric_count) */
    bool validation;            /* the val_NAME columns too */
    const double *values;       /* per record: metric_count values, then metric_count val_ ones */
} history_columns;

/* Writes "epoch,loss,accuracy,val_loss,val_accuracy" and the extra columns, one row per record
 * (a NaN is an empty field). False (reported with the path) on failure. */
bool curves_write_history(const char *path, const bnmlp_epoch_record *records, size_t count,
                          const history_columns *extra);

/* Writes the learning curves: a loss panel (training and validation; a log10 axis with
 * log_loss) and, unless the loss is MSE, an accuracy panel (with room above 1.0), each with
 * axes, ticks, legend and title. Both panels mark the epoch of the lowest val_loss and the epoch
 * whose weights early stopping restored (the last record's restored_epoch), when there are.
 * subtitle describes the run. */
bool curves_write_plot(const char *path, const bnmlp_epoch_record *records, size_t count, bnmlp_loss loss,
                       const char *subtitle, bool log_loss);

/* Reads epochs 1 .. epochs of the history file at path (as curves_write_history writes it: a
 * header naming the columns, then one row per epoch from epoch 1) into records[0 .. epochs) and,
 * for extra's metrics, values (epochs * 2 * metric_count: as history_columns.values; NaN where
 * the file has no such column; NULL without metrics). Later rows are ignored: a resumed run
 * trains those epochs again, as Keras's CSVLogger(append=True) continues a file. False, with
 * the reason in problem, when the file cannot be read, is not such a history or has fewer rows. */
bool curves_read_history(const char *path, size_t epochs, const history_columns *extra,
                         bnmlp_epoch_record *records, double *values, char *problem, size_t size);

#endif /* BNMLP_CLI_CURVES_H */
