/*
 * file.c - reading a whole file, and the atomic writer: temporary file in the same directory,
 * flushed, synced, closed and renamed into place. POSIX calls (open with O_EXCL, fsync, getpid)
 * are used where the platform has them; elsewhere the code is plain C11 (fopen "wbx", no sync).
 */
#if defined(__unix__) || defined(__unix) || (defined(__APPLE__) && defined(__MACH__))
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#define BNMLP_FILE_POSIX 1
#endif

#include "core/file.h"

#include "core/core.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#ifdef BNMLP_FILE_POSIX
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#endif

/* At most this many characters of a path go into a message. */
#define PATH_SHOWN 100

/* Temporary names tried before giving up (each exists already, e.g. left by a crash). */
#define TEMP_ATTEMPTS 100

void bnmlp_detail_set(bnmlp_error_detail *detail, size_t line, size_t column, uint64_t offset,
                      const char *format, ...) {
    if (!detail) return;
    detail->line = line;
    detail->column = column;
    detail->offset = offset;
    va_list args;
    va_start(args, format);
    int n = vsnprintf(detail->message, sizeof detail->message, format, args);
    va_end(args);
    if (n < 0) detail->message[0] = '\0';
}

/* A short reason for errno after a failed open, or "" where the platform does not say. */
static const char *open_reason(int error) {
#ifdef BNMLP_FILE_POSIX
    switch (error) {
    case ENOENT: return ": no such file or directory";
    case EACCES: return ": permission denied";
    case EISDIR: return ": is a directory";
    case ENOTDIR: return ": a path component is not a directory";
    case EROFS: return ": read-only file system";
    case ENOSPC: return ": no space left on device";
    default: return "";
    }
#else
    (void)error;
    return "";
#endif
}

bnmlp_status bnmlp_file_read_all(const char *path, const bnmlp_allocator *allocator, size_t max_size,
                                 unsigned char **bytes, size_t *size, bnmlp_error_detail *detail) {
    if (!path || !bytes || !size) return BNMLP_ERR_NULL_ARGUMENT;
    if (!bnmlp_allocator_is_valid(allocator)) return BNMLP_ERR_NULL_ARGUMENT;
    errno = 0;
    FILE *file = fopen(path, "rb");
    if (!file) {
        bnmlp_detail_set(detail, 0, 0, 0, "cannot open '%.*s' for reading%s", PATH_SHOWN, path,
                         open_reason(errno));
        return BNMLP_ERR_FILE_OPEN;
    }
    bnmlp_status status = BNMLP_OK;
    unsigned char *buffer = NULL;
    long end = -1;
#ifdef BNMLP_FILE_POSIX
    struct stat info;
    if (fstat(fileno(file), &info) == 0 && S_ISDIR(info.st_mode)) {
        bnmlp_detail_set(detail, 0, 0, 0, "'%.*s' is a directory", PATH_SHOWN, path);
        status = BNMLP_ERR_IO;
        goto done;
    }
#endif
    if (fseek(file, 0, SEEK_END) == 0) end = ftell(file);
    if (end < 0 || fseek(file, 0, SEEK_SET) != 0) {
        bnmlp_detail_set(detail, 0, 0, 0, "cannot determine the size of '%.*s' (not a regular file?)",
                         PATH_SHOWN, path);
        status = BNMLP_ERR_IO;
        goto done;
    }
    if ((unsigned long)end >= SIZE_MAX || (max_size != 0 && (unsigned long)end > max_size)) {
        bnmlp_detail_set(detail, 0, 0, 0, "'%.*s' is %ld bytes, more than the limit of %zu", PATH_SHOWN, path,
                         end, max_size != 0 ? max_size : SIZE_MAX - 1);
        status = BNMLP_ERR_OVERFLOW;
        goto done;
    }
    size_t length = (size_t)end;
    buffer = bnmlp_alloc(allocator, length + 1);
    if (!buffer) {
        bnmlp_detail_set(detail, 0, 0, 0, "out of memory reading '%.*s' (%zu bytes)", PATH_SHOWN, path,
                         length);
        status = BNMLP_ERR_OUT_OF_MEMORY;
        goto done;
    }
    size_t got = length ? fread(buffer, 1, length, file) : 0;
    if (got != length || ferror(file) || fgetc(file) != EOF) {
        bnmlp_detail_set(detail, 0, 0, got, "reading '%.*s' failed or it changed while being read",
                         PATH_SHOWN, path);
        status = BNMLP_ERR_IO;
        goto done;
    }
    buffer[length] = 0;
    *bytes = buffer;
    *size = length;
    buffer = NULL;
done:
    bnmlp_release(allocator, buffer);
    fclose(file); /* opened read-only: a close error loses nothing */
    return status;
}

/* Writes the n-th temporary name for final_path into temp (room for final length + 64). */
static void temp_name(char *temp, size_t room, const char *final_path, unsigned n) {
#ifdef BNMLP_FILE_POSIX
    snprintf(temp, room, "%s.%ld.%u.tmp", final_path, (long)getpid(), n);
#else
    snprintf(temp, room, "%s.%u.tmp", final_path, n);
#endif
}

/* Creates temp exclusively (never opening an existing file): the FILE, or NULL with *exists set
 * when the name is taken. */
static FILE *create_exclusive(const char *temp, bool *exists) {
    errno = 0;
#ifdef BNMLP_FILE_POSIX
    int fd = open(temp, O_WRONLY | O_CREAT | O_EXCL, 0666); /* the umask applies, as for fopen */
    if (fd < 0) {
        *exists = errno == EEXIST;
        return NULL;
    }
    FILE *file = fdopen(fd, "wb");
    if (!file) {
        close(fd);
        remove(temp);
        *exists = false;
    }
    return file;
#else
    FILE *file = fopen(temp, "wbx");
    if (!file) {
        FILE *probe = fopen(temp, "rb");
        *exists = probe != NULL;
        if (probe) fclose(probe);
    }
    return file;
#endif
}

bnmlp_status bnmlp_file_writer_open(bnmlp_file_writer *writer, const char *path,
                                    const bnmlp_allocator *allocator, const bnmlp_file_fault *fault,
                                    bnmlp_error_detail *detail) {
    if (!writer || !path) return BNMLP_ERR_NULL_ARGUMENT;
    if (!bnmlp_allocator_is_valid(allocator)) return BNMLP_ERR_NULL_ARGUMENT;
    if (path[0] == '\0') {
        bnmlp_detail_set(detail, 0, 0, 0, "the file name is empty");
        return BNMLP_ERR_FILE_OPEN;
    }
    const bnmlp_allocator *a = bnmlp_allocator_or_default(allocator);
    size_t length = strlen(path), temp_room, total;
    if (!bnmlp_size_add(length, 64, &temp_room) || !bnmlp_size_add(length + 1, temp_room, &total))
        return BNMLP_ERR_OVERFLOW;
    char *paths = bnmlp_alloc(a, total);
    if (!paths) {
        bnmlp_detail_set(detail, 0, 0, 0, "out of memory opening '%.*s'", PATH_SHOWN, path);
        return BNMLP_ERR_OUT_OF_MEMORY;
    }
    memcpy(paths, path, length + 1);
    char *temp = paths + length + 1;
    FILE *file = NULL;
    int error = 0;
    for (unsigned n = 0; n < TEMP_ATTEMPTS && !file; n++) {
        temp_name(temp, temp_room, path, n);
        bool exists = false;
        file = create_exclusive(temp, &exists);
        error = errno;
        if (!file && !exists) break;
    }
    if (!file) {
        bnmlp_detail_set(detail, 0, 0, 0, "cannot create a temporary file next to '%.*s'%s", PATH_SHOWN, path,
                         open_reason(error));
        bnmlp_release(a, paths);
        return BNMLP_ERR_FILE_OPEN;
    }
    *writer = (bnmlp_file_writer){.file = file,
                                  .final_path = paths,
                                  .temp_path = temp,
                                  .allocator = *a,
                                  .status = BNMLP_OK,
                                  .written = 0,
                                  .fault = fault ? *fault : BNMLP_FILE_NO_FAULT};
    return BNMLP_OK;
}

bnmlp_status bnmlp_file_writer_write(bnmlp_file_writer *writer, const void *data, size_t size) {
    if (!writer || !writer->file) return BNMLP_ERR_NULL_ARGUMENT;
    if (writer->status != BNMLP_OK || size == 0) return writer->status;
    size_t allowed = size;
    if (writer->fault.fail_after_bytes - writer->written < size) /* written never exceeds the limit */
        allowed = (size_t)(writer->fault.fail_after_bytes - writer->written);
    size_t put = allowed ? fwrite(data, 1, allowed, writer->file) : 0;
    writer->written += put;
    if (put != size) writer->status = BNMLP_ERR_IO;
    return writer->status;
}

/* Closes (if open) and removes the temporary file and releases the paths. */
static void writer_finish(bnmlp_file_writer *writer, bool remove_temp) {
    if (writer->file) fclose(writer->file);
    if (remove_temp && writer->temp_path) remove(writer->temp_path);
    bnmlp_release(&writer->allocator, writer->final_path);
    *writer = (bnmlp_file_writer){.status = writer->status};
}

/* Syncs the data of an open file to the device where POSIX can: true on success. */
static bool sync_file(FILE *file) {
#ifdef BNMLP_FILE_POSIX
    return fsync(fileno(file)) == 0;
#else
    (void)file;
    return true;
#endif
}

/* Best effort: syncs the directory holding path so that the rename itself is durable. */
static void sync_directory(char *path) {
#ifdef BNMLP_FILE_POSIX
    char *slash = strrchr(path, '/');
    const char *directory = ".";
    if (slash == path)
        directory = "/";
    else if (slash) {
        *slash = '\0';
        directory = path;
    }
    int fd = open(directory, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd); /* the file is in place already; a failure here changes nothing */
        close(fd);
    }
    if (slash && slash != path) *slash = '/';
#else
    (void)path;
#endif
}

/* Renames from over to, replacing it; C11's rename may refuse an existing target on some
 * platforms, where the target is removed first (not atomic there). */
static bool replace_file(const char *from, const char *to) {
    if (rename(from, to) == 0) return true;
#ifndef BNMLP_FILE_POSIX
    if (remove(to) == 0 && rename(from, to) == 0) return true;
#endif
    return false;
}

bnmlp_status bnmlp_file_writer_seal(bnmlp_file_writer *writer, bnmlp_error_detail *detail) {
    if (!writer || !writer->file) return BNMLP_ERR_NULL_ARGUMENT;
    const char *path = writer->final_path;
    if (writer->status != BNMLP_OK) {
        bnmlp_detail_set(detail, 0, 0, writer->written, "writing '%.*s' failed after %llu bytes (disk full?)",
                         PATH_SHOWN, path, (unsigned long long)writer->written);
        writer_finish(writer, true);
        return BNMLP_ERR_IO;
    }
    const char *step = NULL;
    if (fflush(writer->file) != 0 || writer->fault.fail_flush)
        step = "flushing";
    else if (!sync_file(writer->file))
        step = "syncing";
    if (!step) {
        int closed = fclose(writer->file);
        writer->file = NULL;
        if (closed != 0) step = "closing";
    }
    if (step) {
        bnmlp_detail_set(detail, 0, 0, writer->written, "%s '%.*s' failed; the previous file is unchanged",
                         step, PATH_SHOWN, path);
        writer->status = BNMLP_ERR_IO;
        writer_finish(writer, true);
        return BNMLP_ERR_IO;
    }
    return BNMLP_OK;
}

bnmlp_status bnmlp_file_writer_publish(bnmlp_file_writer *writer, bnmlp_error_detail *detail) {
    if (!writer || writer->file || !writer->final_path) return BNMLP_ERR_NULL_ARGUMENT;
    if (writer->fault.fail_rename || !replace_file(writer->temp_path, writer->final_path)) {
        bnmlp_detail_set(detail, 0, 0, writer->written,
                         "renaming '%.*s' failed; the previous file is unchanged", PATH_SHOWN,
                         writer->final_path);
        writer->status = BNMLP_ERR_IO;
        writer_finish(writer, true);
        return BNMLP_ERR_IO;
    }
    sync_directory(writer->final_path);
    writer_finish(writer, false);
    return BNMLP_OK;
}

void bnmlp_file_writer_discard(bnmlp_file_writer *writer) {
    if (writer && writer->final_path) writer_finish(writer, true);
}

bnmlp_status bnmlp_file_writer_commit(bnmlp_file_writer *writer, bnmlp_error_detail *detail) {
    bnmlp_status status = bnmlp_file_writer_seal(writer, detail);
    return status == BNMLP_OK ? bnmlp_file_writer_publish(writer, detail) : status;
}
