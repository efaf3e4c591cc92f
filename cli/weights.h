/*
 * weights.h - the class-weight flags of `bnmlp train` (docs/cli.md): --class-weight
 * balanced|C:W,... and --weight-normalization NAME, read into the library's bnmlp_loss_weights
 * (bnmlp_fit_config.weights), and the line that shows them in train's summary of what it read.
 */
#ifndef BNMLP_CLI_WEIGHTS_H
#define BNMLP_CLI_WEIGHTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "args.h"
#include "bnmlp.h"

/* Sets weights from --class-weight and --weight-normalization for the built model whose class
 * names are set, balanced weights counted on the training targets train_y (after the validation
 * split, as scikit-learn's compute_class_weight on the training set). The class weights go into
 * *storage (malloc'd: the caller frees it, NULL without class weights). False with a one-line
 * message in problem for a bad value (weights untouched). */
bool weights_apply(const cli_options *opts, const bnmlp_model *model, const bnmlp_tensor *train_y,
                   bnmlp_loss_weights *weights, float **storage, char *problem, size_t size);

/* Prints "Class weights (SOURCE, normalization NAME): 0 "name": W, ..." on out when weights has
 * class weights (source: "balanced", the flag's value, or where they came from). */
void weights_print(FILE *out, const char *source, const bnmlp_loss_weights *weights,
                   const bnmlp_model *model);

#endif /* BNMLP_CLI_WEIGHTS_H */
