/*
 * import.h - `bnmlp import`: a safetensors file (PyTorch's nn.Sequential names) into a model file.
 */
#ifndef BNMLP_CLI_IMPORT_H
#define BNMLP_CLI_IMPORT_H

#include "command.h"

/* The command's synopsis and flags, for its row of COMMANDS. */
extern const char IMPORT_USAGE[], IMPORT_HELP[];

/* Runs `bnmlp import` on argv[first..argc); returns the exit status. */
int run_import(const command *cmd, int argc, char **argv, int first);

#endif /* BNMLP_CLI_IMPORT_H */
