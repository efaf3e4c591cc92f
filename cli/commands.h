/*
 * commands.h - the bnmlp tool's subcommands: the list main() dispatches on. Each entry runs on
 * the argv after its name and returns the exit status: 0 success, 1 runtime failure, 2 usage
 * error. train, resume, evaluate, predict and summary live in commands.c; export and import in
 * files of their own; what they share is command.h, below all of them.
 */
#ifndef BNMLP_CLI_COMMANDS_H
#define BNMLP_CLI_COMMANDS_H

#include <stdio.h>

#include "command.h"

/* The subcommands, in the order `bnmlp --help` lists them. */
extern const command COMMANDS[];
extern const size_t COMMAND_COUNT;

/* The subcommand called name, or NULL. */
const command *command_find(const char *name);

/* Prints the losses and optimizers the library has, with each optimizer's flags and defaults
 * (asked from the library: the tool keeps no list of names). */
void command_print_names(FILE *out);

#endif /* BNMLP_CLI_COMMANDS_H */
