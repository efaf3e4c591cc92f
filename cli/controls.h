/*
 * controls.h - the training-control flags of `bnmlp train` (docs/cli.md): --early-stopping,
 * --reduce-lr, --lr-schedule, --monitor and --save-best, read into the library's
 * bnmlp_fit_config (its early_stopping, reduce_lr and schedule fields).
 */
#ifndef BNMLP_CLI_CONTROLS_H
#define BNMLP_CLI_CONTROLS_H

#include <stdbool.h>
#include <stddef.h>

#include "args.h"
#include "bnmlp.h"

/* What the controls depend on besides the flags. */
typedef struct controls_context {
    size_t epochs;               /* --epochs: the cosine and one-cycle schedules span them by default */
    bool has_validation;         /* validation rows exist (val_* monitors) */
    bool has_accuracy;           /* the loss has an accuracy (accuracy monitors) */
    const bnmlp_metric *metrics; /* --metrics: the metrics fit records (a --monitor may name one) */
    size_t metric_count;         /* how many */
} controls_context;

/* Sets fit's early_stopping, reduce_lr and schedule from the flags of opts (fields it does not
 * name keep their values). False with a one-line message in problem for a bad value or an
 * impossible combination (fit untouched). */
bool controls_apply(const cli_options *opts, const controls_context *context, bnmlp_fit_config *fit,
                    char *problem, size_t size);

/* A control's settings in words, for resume's messages ("none" when disabled): e.g.
 * "patience 3, min_delta 0, monitor val_loss, restore". Into text (size bytes, terminated). */
void controls_describe_early_stopping(const bnmlp_early_stopping_config *config, char *text, size_t size);
void controls_describe_plateau(const bnmlp_plateau_config *config, char *text, size_t size);
void controls_describe_schedule(const bnmlp_schedule_config *config, char *text, size_t size);

#endif /* BNMLP_CLI_CONTROLS_H */
