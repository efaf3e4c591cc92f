/*
 * safety.h - what keeps the bnmlp tool from losing or clobbering work: the output paths checked
 * against each other and the inputs before anything runs, and SIGINT / SIGTERM turned into a
 * request that training polls (then the tool saves what the finished epochs gave and exits with
 * 128 + the signal's number: 130 for Ctrl-C).
 */
#ifndef BNMLP_CLI_SAFETY_H
#define BNMLP_CLI_SAFETY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

/* Exit status after an interruption by signal number sig: 128 + sig (130 for SIGINT, 143 for
 * SIGTERM), as a shell reports a process a signal ended. */
#define CLI_EXIT_SIGNAL(sig) (128 + (sig))

/* One file a command reads or writes, for the alias check. */
typedef struct path_role {
    const char *flag; /* the flag that names it, e.g. "--out" */
    const char *path; /* the path given; NULL when the flag is absent (skipped) */
    bool output;      /* written by the command (an input is only read) */
} path_role;

/* Refuses, before anything is read or written, two roles naming the same file when one of them
 * is an output (same device and inode when both exist, else the same normalized absolute path),
 * and an output that is an existing directory. count roles; false (reported "bnmlp COMMAND: ..."
 * on stderr, naming both flags and the path) when one is refused. */
bool paths_check(const char *command, const path_role *roles, size_t count);

/* Installs the handlers of SIGINT and SIGTERM (sigaction; they only record the signal) and blocks
 * both in the calling thread, so that threads it creates afterwards (the library's pool) never
 * take them. Call before the model is created or loaded; then signals_unblock before training. */
void signals_install(void);

/* Unblocks SIGINT and SIGTERM in the calling thread: a signal that came while they were blocked
 * is taken now (recorded). */
void signals_unblock(void);

/* The signal number received since signals_install, or 0. */
int signals_caught(void);

/* Defers SIGINT and SIGTERM (blocked in the calling thread, *saved gets the old mask) around a
 * file write, so that no signal arrives in the middle of one. */
void signals_defer(sigset_t *saved);

/* Ends signals_defer: restores the mask saved (a deferred signal is recorded now). */
void signals_resume(const sigset_t *saved);

#endif /* BNMLP_CLI_SAFETY_H */
