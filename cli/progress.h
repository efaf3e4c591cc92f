/*
 * progress.h - Keras-style progress on stderr:
 *   Epoch 3/50  16/16 [==============================] 0.01s  loss: 0.4521  accuracy: 0.8120  val_loss: ...
 * When stderr is a terminal, a line is redrawn in place ('\r') only within an epoch (per batch,
 * fit's on_batch_end: progress_batch) and every epoch ends with a newline, so each
 * epoch's validation values stay on screen, as Keras prints them; no line is wider than the
 * terminal (TIOCGWINSZ, else $COLUMNS, else 80): the bar shrinks or goes, and an epoch's final
 * line wraps between metrics. Otherwise (a file, a pipe) one plain line per epoch. A summary line
 * with the total time ends the run.
 */
#ifndef BNMLP_CLI_PROGRESS_H
#define BNMLP_CLI_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "bnmlp.h"

/* Width of the bar between the brackets, as Keras draws it (narrower on a narrow terminal). */
#define PROGRESS_BAR_WIDTH 30

/* Narrowest bar drawn; below it the bar is left out. */
#define PROGRESS_MIN_BAR_WIDTH 10

/* The state of the progress display. */
typedef struct progress {
    FILE *stream;       /* where it prints (stderr); NULL when silenced by --quiet */
    bool terminal;      /* stream is a terminal: redraw in place, fit the terminal's width */
    size_t columns;     /* the terminal's width in characters (terminal only) */
    size_t epochs;      /* the last epoch of the run (fit's epochs) */
    size_t steps;       /* batches per epoch */
    bool has_accuracy;  /* false for mean squared error: loss only */
    double start;       /* monotonic seconds when training started */
    double epoch_start; /* monotonic seconds when the current epoch started */
    size_t line_length; /* characters of the line being redrawn (0: the cursor is at a line start) */
} progress;

/* Monotonic clock in seconds. */
double progress_now(void);

/* Starts the display for fit's epochs with steps batches per epoch; stream NULL silences it. */
void progress_start(progress *p, FILE *stream, size_t epochs, size_t steps, bool has_accuracy);

/* Formats the metrics of a record: "loss: 0.4521  accuracy: 0.8120  val_loss: ..." (accuracy
 * only when it applies, validation only when present) into buffer. */
void progress_format_metrics(const bnmlp_epoch_record *record, bool has_accuracy, char *buffer, size_t size);

/* Redraws the line of epoch `epoch` (1-based) after `batch` of its steps batches, with the
 * running training loss and accuracy (NaN: not shown), on a terminal only; the line is cut to the
 * terminal's width. train and resume call it from fit's on_batch_end. */
void progress_batch(progress *p, size_t epoch, size_t batch, double loss, double accuracy);

/* Shows an epoch's final line, ended with a newline; extra (NULL for none) follows the metrics,
 * e.g. "  auc: 0.9012  val_auc: 0.8871" (--metrics). */
void progress_epoch(progress *p, const bnmlp_epoch_record *record, const char *extra);

/* Ends a line redrawn in place (on a terminal) so that a message can follow; the display goes on. */
void progress_break(progress *p);

/* Ends the display: a newline after a redrawn line, then "N epochs in T s (t ms/epoch)". */
void progress_finish(progress *p, size_t epochs_run);

#endif /* BNMLP_CLI_PROGRESS_H */
