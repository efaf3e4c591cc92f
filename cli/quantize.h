/*
 * quantize.h - `bnmlp quantize`: a saved model's int8 inference form (bnmlp_model_quantize).
 */
#ifndef BNMLP_CLI_QUANTIZE_H
#define BNMLP_CLI_QUANTIZE_H

#include "command.h"

extern const char QUANTIZE_USAGE[], QUANTIZE_HELP[];

/* Runs `bnmlp quantize` on argv[first..argc); the exit status (0, 1 failure, 2 usage). */
int run_quantize(const command *cmd, int argc, char **argv, int first);

#endif /* BNMLP_CLI_QUANTIZE_H */
