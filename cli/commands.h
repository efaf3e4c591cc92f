/*
 * commands.h - the bnmlp tool's subcommands. Each runs on the argv after its name and returns
 * the exit status: 0 success, 1 runtime failure, 2 usage error.
 */
#ifndef BNMLP_CLI_COMMANDS_H
#define BNMLP_CLI_COMMANDS_H

#include <stdio.h>

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

#endif /* BNMLP_CLI_COMMANDS_H */
