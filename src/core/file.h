/*
 * file.h - internal: the file helpers every reader and writer of the library shares (data files
 * today, the model file later). Not part of the public API.
 *
 *   - bnmlp_detail_set fills a caller's bnmlp_error_detail (which may be NULL).
 *   - bnmlp_file_read_all reads a whole file into memory from the caller's allocator, with a
 *     size limit checked before allocating.
 *   - bnmlp_file_writer writes a file atomically: everything goes to a new temporary file in the
 *     same directory, and commit flushes it (fflush, then fsync where POSIX has it), closes it and
 *     renames it over the final name. Any failure removes the temporary file, so the final name
 *     holds either its previous content or the complete new one, never a partial file.
 *     A bnmlp_file_fault injects write, flush or rename failures for tests.
 *
 * Usage:
 *     bnmlp_file_writer w;
 *     bnmlp_status s = bnmlp_file_writer_open(&w, path, allocator, NULL, detail);
 *     if (s != BNMLP_OK) return s;
 *     bnmlp_file_writer_write(&w, bytes, n);          // errors are sticky: check once at the end
 *     return bnmlp_file_writer_commit(&w, detail);   // the only way to finish: check inputs before open
 */
#ifndef BNMLP_FILE_H
#define BNMLP_FILE_H

#include "bnmlp.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Writes line, column, offset and the printf-style message into *detail; NULL detail is a no-op.
 * The message is cut to fit bnmlp_error_detail.message. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 5, 6)))
#endif
void bnmlp_detail_set(bnmlp_error_detail *detail, size_t line, size_t column, uint64_t offset,
                      const char *format, ...);

/* Reads the whole file at path into *bytes (allocated from allocator, NULL = malloc/free; size + 1
 * bytes with a 0 byte after the content, so never NULL on success) and its length into *size.
 * max_size (0 = no limit) is checked before allocating: a larger file is BNMLP_ERR_OVERFLOW.
 * Errors: BNMLP_ERR_FILE_OPEN (cannot open), BNMLP_ERR_IO (cannot size or read it, or it changed
 * while being read), BNMLP_ERR_OUT_OF_MEMORY. On error nothing is allocated and the outputs are
 * untouched; *detail names the path. */
bnmlp_status bnmlp_file_read_all(const char *path, const bnmlp_allocator *allocator, size_t max_size,
                                 unsigned char **bytes, size_t *size, bnmlp_error_detail *detail);

/* A failure injected into a writer, for tests. */
typedef struct bnmlp_file_fault {
    uint64_t fail_after_bytes; /* a write taking the total past this many bytes fails (with the bytes
                                  up to the limit written); UINT64_MAX: never */
    bool fail_flush;           /* commit's flush fails (as a full disk would) */
    bool fail_rename;          /* commit's rename fails */
} bnmlp_file_fault;

/* No injected failure. */
#define BNMLP_FILE_NO_FAULT                                                                                  \
    ((bnmlp_file_fault){.fail_after_bytes = UINT64_MAX, .fail_flush = false, .fail_rename = false})

/* An atomic file writer; all fields are internal to file.c. */
typedef struct bnmlp_file_writer {
    FILE *file;                /* the open temporary file; NULL once closed */
    char *final_path;          /* where commit renames the file; one allocation holds both paths */
    char *temp_path;           /* the temporary file: final_path + ".<pid>.<n>.tmp" */
    bnmlp_allocator allocator; /* allocated the paths */
    bnmlp_status status;       /* the first error of a write (sticky), BNMLP_OK so far */
    uint64_t written;          /* bytes written so far */
    bnmlp_file_fault fault;    /* injected failures (BNMLP_FILE_NO_FAULT normally) */
} bnmlp_file_writer;

/* Creates a new temporary file next to path (same directory) and opens *writer on it. fault may be
 * NULL (no injected failure). Errors: BNMLP_ERR_FILE_OPEN (cannot create it: missing directory,
 * permissions), BNMLP_ERR_OUT_OF_MEMORY, BNMLP_ERR_OVERFLOW; then nothing exists to clean up. */
bnmlp_status bnmlp_file_writer_open(bnmlp_file_writer *writer, const char *path,
                                    const bnmlp_allocator *allocator, const bnmlp_file_fault *fault,
                                    bnmlp_error_detail *detail);

/* Appends size bytes. Returns the writer's status: once a write fails (BNMLP_ERR_IO), later
 * writes do nothing and return the same error, so a caller may check only at commit. */
bnmlp_status bnmlp_file_writer_write(bnmlp_file_writer *writer, const void *data, size_t size);

/* Finishes: fflush, fsync (POSIX), fclose, rename over the final name, and (POSIX, best effort)
 * fsync of the directory. On any failure, or if a write failed before, the temporary file is
 * removed and the final name is left as it was: BNMLP_ERR_IO with *detail naming the step. The
 * writer is finished either way (its memory released). */
bnmlp_status bnmlp_file_writer_commit(bnmlp_file_writer *writer, bnmlp_error_detail *detail);

/* The two halves of commit, for a writer of several files that must all be complete before any
 * is renamed into place (an export's NAME.h and NAME.c): seal every writer, then publish each.
 *
 * seal: fflush, fsync (POSIX) and fclose, keeping the temporary file. On failure (or after a
 * failed write) the temporary file is removed and the writer finished: BNMLP_ERR_IO with *detail
 * naming the step. A sealed writer must be published or discarded. */
bnmlp_status bnmlp_file_writer_seal(bnmlp_file_writer *writer, bnmlp_error_detail *detail);

/* publish: renames a sealed writer's temporary file over the final name (then, POSIX, best effort,
 * syncs the directory) and finishes the writer. On failure the temporary file is removed, the
 * final name left as it was: BNMLP_ERR_IO. */
bnmlp_status bnmlp_file_writer_publish(bnmlp_file_writer *writer, bnmlp_error_detail *detail);

/* Removes an open or sealed writer's temporary file and finishes it; the final name is untouched.
 * A finished writer (or one never opened, zero-initialized) is a no-op. */
void bnmlp_file_writer_discard(bnmlp_file_writer *writer);

#endif /* BNMLP_FILE_H */
