/*
 * main.c - the bnmlp command-line tool: `bnmlp COMMAND [FLAGS]`, as git's subcommands. It uses
 * only the public header bnmlp.h. docs/cli.md documents every command and flag.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "bnmlp.h"
#include "commands.h"
#include "outfile.h"
#include "usage.h"

/* Prints the tool's usage and its commands to out. */
static void print_tool_usage(FILE *out) {
    fputs(TOOL_USAGE, out);
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        fprintf(out, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    }
    fputs("\nRun 'bnmlp help COMMAND' for a command's flags; docs/cli.md has them all.\n", out);
}

/* Flushes stdout; the status unchanged, or 1 (reported) when stdout could not be written. */
static int finish(int status) {
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "bnmlp: cannot write standard output: %s\n", strerror(errno != 0 ? errno : EIO));
        return status == CLI_EXIT_OK ? CLI_EXIT_FAILURE : status;
    }
    return status;
}

/* `bnmlp help [COMMAND]`. */
static int run_help(int argc, char **argv) {
    if (argc < 3) {
        print_tool_usage(stdout);
        return CLI_EXIT_OK;
    }
    const command *cmd = command_find(argv[2]);
    if (cmd == NULL || argc > 3) {
        fprintf(stderr, "bnmlp help: %s '%s'\n", cmd == NULL ? "unknown command" : "unexpected argument",
                argv[cmd == NULL ? 2 : 3]);
        print_tool_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    command_print_help(cmd, stdout);
    return CLI_EXIT_OK;
}

int main(int argc, char **argv) {
    out_set_program_name("bnmlp");
    if (argc < 2) {
        fputs("bnmlp: missing command\n", stderr);
        print_tool_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        print_tool_usage(stdout);
        return finish(CLI_EXIT_OK);
    }
    if (strcmp(name, "--version") == 0) {
        printf("bnmlp %s (libbnmlp %s)\n", bnmlp_version(), bnmlp_version());
        return finish(CLI_EXIT_OK);
    }
    if (strcmp(name, "help") == 0) {
        return finish(run_help(argc, argv));
    }
    const command *cmd = command_find(name);
    if (cmd == NULL) {
        fprintf(stderr, "bnmlp: unknown command '%s'\n", name);
        print_tool_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    return finish(cmd->run(cmd, argc, argv, 2));
}
