/*
 * commands.h - the bnmlp tool's subcommands. Each runs on the argv after its name and returns
 * the exit status: 0 success, 1 runtime failure, 2 usage error.
 */
#ifndef BNMLP_CLI_COMMANDS_H
#define BNMLP_CLI_COMMANDS_H

#include <stdio.h>

#include "args.h"
#include "bnmlp.h"

/* One subcommand. */
typedef struct command {
    const char *name;                             /* e.g. "train" */
    const char *summary;                          /* one line for `bnmlp --help` */
    const char *usage;                            /* its synopsis lines ("usage: bnmlp train ...") */
    const char *help;                             /* the flags, after the synopsis */
    int (*run)(int argc, char **argv, int first); /* runs it on argv[first..argc) */
} command;

/* The subcommands, in the order `bnmlp --help` lists them. */
extern const command COMMANDS[];
extern const size_t COMMAND_COUNT;

/* The subcommand called name, or NULL. */
const command *command_find(const char *name);

/* Prints a subcommand's whole help (synopsis and flags) to out. */
void command_print_help(const command *cmd, FILE *out);

/* Prints the losses and optimizers the library has, with each optimizer's flags and defaults
 * (asked from the library: the tool keeps no list of names). */
void command_print_names(FILE *out);

/* Prints a subcommand's synopsis and a pointer to its help to stderr, after a usage error. */
void command_print_usage(const command *cmd);

/* For the subcommands in files of their own (export.c): commands.c's common steps. */

/* Parses a subcommand's flags (table of count) into *opts: -1 to go on, else the exit status (0
 * after --help, 2 after a usage error, reported with the usage). */
int command_parse_flags(const command *cmd, const flag_spec *table, size_t count, cli_options *opts, int argc,
                        char **argv, int first);

/* -1 when every flag of the NULL-terminated list names was given, else 2 (reported). */
int command_require_flags(const command *cmd, const cli_options *opts, const char *const *names);

/* Loads the model or checkpoint at path (what: "model"); NULL (reported with the path) on failure. */
bnmlp_model *command_load_model(const command *cmd, const char *path, const char *what);

#endif /* BNMLP_CLI_COMMANDS_H */
