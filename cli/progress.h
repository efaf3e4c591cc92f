/*
 * progress.h - Keras-style progress on stderr: one line per epoch,
 *   Epoch 3/50  16/16 [==============================] 0.01s  loss: 0.4521  accuracy: 0.8120  val_loss: ...
 * redrawn in place with '\r' when stderr is a terminal, one plain line per epoch otherwise, and a
 * summary line with the total time at the end.
 */
#ifndef BNMLP_CLI_PROGRESS_H
#define BNMLP_CLI_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "bnmlp.h"

/* Width of the bar between the brackets, as Keras draws it. */
#define PROGRESS_BAR_WIDTH 30

/* The state of the progress display. */
typedef struct progress {
    FILE *stream;       /* where it prints (stderr); NULL when silenced by --quiet */
    bool terminal;      /* stream is a terminal: redraw in place */
    size_t epochs;      /* the last epoch of the run (fit's epochs) */
    size_t steps;       /* batches per epoch */
    bool has_accuracy;  /* false for mean squared error: loss only */
    double start;       /* monotonic seconds when training started */
    double epoch_start; /* monotonic seconds when the current epoch started */
    size_t line_length; /* characters of the line drawn last (to blank a longer one) */
} progress;

/* Monotonic clock in seconds. */
double progress_now(void);

/* Starts the display for fit's epochs with steps batches per epoch; stream NULL silences it. */
void progress_start(progress *p, FILE *stream, size_t epochs, size_t steps, bool has_accuracy);

/* Formats the metrics of a record: "loss: 0.4521  accuracy: 0.8120  val_loss: ..." (accuracy
 * only when it applies, validation only when present) into buffer. */
void progress_format_metrics(const bnmlp_epoch_record *record, bool has_accuracy, char *buffer, size_t size);

/* Shows an epoch's line. */
void progress_epoch(progress *p, const bnmlp_epoch_record *record);

/* Ends a line redrawn in place (on a terminal) so that a message can follow; the display goes on. */
void progress_break(progress *p);

/* Ends the display: a newline after a redrawn line, then "N epochs in T s (t ms/epoch)". */
void progress_finish(progress *p, size_t epochs_run);

#endif /* BNMLP_CLI_PROGRESS_H */
