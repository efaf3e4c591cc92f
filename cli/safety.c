/*
 * safety.c - output paths checked against each other, and the SIGINT / SIGTERM request.
 */
/* realpath is POSIX.1-2008 (XSI before): glibc declares it with _XOPEN_SOURCE. */
#define _XOPEN_SOURCE 700

#include "safety.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

/* ----------------------------------------------------------------------------------------- */
/* Paths                                                                                     */
/* ----------------------------------------------------------------------------------------- */

/* Where a path points, to compare two of them. */
typedef struct path_identity {
    bool exists;               /* stat succeeded: dev and ino identify the file */
    dev_t dev;                 /* its device */
    ino_t ino;                 /* its inode */
    bool is_directory;         /* it exists and is a directory */
    char normalized[PATH_MAX]; /* the absolute path, its directory resolved when that exists */
} path_identity;

/* Removes "." components, repeated slashes and "NAME/.." pairs of an absolute path in place. */
static void normalize_lexically(char *path) {
    char *out = path;
    const char *in = path;
    while (*in != '\0') {
        while (*in == '/') in++;
        const char *end = strchr(in, '/');
        size_t length = end != NULL ? (size_t)(end - in) : strlen(in);
        if (length == 0) break;
        if (length == 1 && in[0] == '.') {
            /* skip */
        } else if (length == 2 && in[0] == '.' && in[1] == '.') {
            while (out > path && *--out != '/') {
            }
        } else {
            *out++ = '/';
            memmove(out, in, length);
            out += length;
        }
        in += length;
    }
    if (out == path) *out++ = '/';
    *out = '\0';
}

/* Fills *id for path: its inode when it exists, and a normalized absolute path (realpath of the
 * file, else realpath of its directory plus the name, else the path made absolute lexically). */
static void identify(const char *path, path_identity *id) {
    struct stat info;
    id->exists = stat(path, &info) == 0;
    id->dev = id->exists ? info.st_dev : 0;
    id->ino = id->exists ? info.st_ino : 0;
    id->is_directory = id->exists && S_ISDIR(info.st_mode);
    char resolved[PATH_MAX];
    if (realpath(path, resolved) != NULL) {
        snprintf(id->normalized, sizeof id->normalized, "%s", resolved);
        return;
    }
    char directory[PATH_MAX];
    const char *slash = strrchr(path, '/');
    const char *name = slash != NULL ? slash + 1 : path;
    if (slash == NULL) {
        snprintf(directory, sizeof directory, ".");
    } else {
        snprintf(directory, sizeof directory, "%.*s", (int)(slash == path ? 1 : slash - path), path);
    }
    int length;
    if (realpath(directory, resolved) != NULL) {
        length = snprintf(id->normalized, sizeof id->normalized, "%s/%s", resolved, name);
    } else if (path[0] == '/') {
        length = snprintf(id->normalized, sizeof id->normalized, "%s", path);
    } else {
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof cwd) == NULL) snprintf(cwd, sizeof cwd, ".");
        length = snprintf(id->normalized, sizeof id->normalized, "%s/%s", cwd, path);
    }
    if (length < 0 || (size_t)length >= sizeof id->normalized) {
        snprintf(id->normalized, sizeof id->normalized, "%s", path); /* too long to resolve */
    }
    normalize_lexically(id->normalized);
}

/* True when the two identities name the same file. */
static bool same_file(const path_identity *a, const path_identity *b) {
    if (a->exists && b->exists) return a->dev == b->dev && a->ino == b->ino;
    return strcmp(a->normalized, b->normalized) == 0;
}

bool paths_check(const char *command, const path_role *roles, size_t count) {
    path_identity *ids = calloc(count > 0 ? count : 1, sizeof *ids);
    if (ids == NULL) {
        cli_failure(command, "out of memory");
        return false;
    }
    bool ok = true;
    for (size_t i = 0; i < count && ok; i++) {
        if (roles[i].path == NULL) continue;
        identify(roles[i].path, &ids[i]);
        if (roles[i].output && ids[i].is_directory) {
            cli_failure(command, "%s %s is a directory; give the name of a file (in it, or elsewhere)",
                        roles[i].flag, roles[i].path);
            ok = false;
        }
    }
    for (size_t i = 0; i < count && ok; i++) {
        for (size_t j = i + 1; j < count && ok; j++) {
            if (roles[i].path == NULL || roles[j].path == NULL || !(roles[i].output || roles[j].output) ||
                !same_file(&ids[i], &ids[j])) {
                continue;
            }
            const path_role *out = roles[i].output ? &roles[i] : &roles[j];
            const path_role *other = out == &roles[i] ? &roles[j] : &roles[i];
            if (other->output) {
                cli_failure(command,
                            "%s %s and %s %s are the same file: one output would overwrite the other; "
                            "give one of them another name",
                            out->flag, out->path, other->flag, other->path);
            } else {
                cli_failure(command,
                            "%s %s would overwrite the input %s %s (the same file); give %s another name",
                            out->flag, out->path, other->flag, other->path, out->flag);
            }
            ok = false;
        }
    }
    free(ids);
    return ok;
}

/* ----------------------------------------------------------------------------------------- */
/* Signals                                                                                   */
/* ----------------------------------------------------------------------------------------- */

/* The signal received, or 0: written only by the handler, read by signals_caught. */
static volatile sig_atomic_t caught_signal = 0;

/* Records the signal; training polls it between epochs (and stops there). */
static void record_signal(int sig) { caught_signal = sig; }

/* The two signals the tool turns into a request to stop. */
static void stop_signals(sigset_t *set) {
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
}

void signals_install(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = record_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART; /* a write the signal lands in goes on */
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    sigset_t set;
    stop_signals(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

void signals_unblock(void) {
    sigset_t set;
    stop_signals(&set);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

int signals_caught(void) { return (int)caught_signal; }

void signals_defer(sigset_t *saved) {
    sigset_t set;
    stop_signals(&set);
    pthread_sigmask(SIG_BLOCK, &set, saved);
}

void signals_resume(const sigset_t *saved) { pthread_sigmask(SIG_SETMASK, saved, NULL); }
