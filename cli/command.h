/*
 * command.h - one subcommand of the bnmlp tool and what every subcommand shares: its help and
 * usage, flag parsing against its table, required flags, usage errors and loading a model. The
 * list of subcommands (commands.h) sits above this file and every subcommand's file; they all
 * call down into it.
 */
#ifndef BNMLP_CLI_COMMAND_H
#define BNMLP_CLI_COMMAND_H

#include <stdio.h>

#include "args.h"
#include "bnmlp.h"

/* One subcommand. */
typedef struct command {
    const char *name;          /* e.g. "train" */
    const char *summary;       /* one line for `bnmlp --help` */
    const char *usage;         /* its synopsis lines ("usage: bnmlp train ...") */
    const char *help;          /* the flags, after the synopsis */
    void (*more_help)(FILE *); /* prints what its help adds from the library (names, formats),
                                   or NULL */
    /* Runs it on argv[first..argc); returns the exit status: 0 success, 1 runtime failure, 2
     * usage error. */
    int (*run)(const struct command *cmd, int argc, char **argv, int first);
} command;

/* Prints a subcommand's whole help (synopsis, flags, more_help, exit statuses) to out. */
void command_print_help(const command *cmd, FILE *out);

/* Prints a subcommand's synopsis and a pointer to its help to stderr, after a usage error. */
void command_print_usage(const command *cmd);

/* A usage error: "bnmlp NAME: message detail" (detail may be NULL), then the usage. Returns 2. */
int command_usage_error(const command *cmd, const char *message, const char *detail);

/* Parses a subcommand's flags (table of count) into opts: -1 to go on, else the exit status (0
 * after --help, which it prints; 2 after a usage error, reported). */
int command_parse_flags(const command *cmd, const flag_spec *table, size_t count, cli_options *opts, int argc,
                        char **argv, int first);

/* Checks that every flag of the NULL-terminated list names was given: -1, or 2 (reported). */
int command_require_flags(const command *cmd, const cli_options *opts, const char *const *names);

/* Loads the model or checkpoint at path (what: "model", "checkpoint" in messages); NULL
 * (reported with the path and, for a malformed file, the byte offset) on failure. */
bnmlp_model *command_load_model(const command *cmd, const char *path, const char *what);

#endif /* BNMLP_CLI_COMMAND_H */
