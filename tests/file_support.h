/*
 * file_support.h - helpers for the tests of file readers and writers: a fresh temporary
 * directory, whole-file reads and writes, and counting the files a directory holds (to see that
 * no temporary file is left behind). POSIX (mkdtemp, dirent): the tests run on Linux.
 */
#ifndef BNMLP_TEST_FILE_SUPPORT_H
#define BNMLP_TEST_FILE_SUPPORT_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"

/* Creates a new empty directory under /tmp and writes its path into out (room >= 64). */
static inline void test_make_dir(char *out, size_t room) {
    snprintf(out, room, "/tmp/bnmlp-test-XXXXXX");
    if (!mkdtemp(out)) {
        print_error("mkdtemp failed\n");
        fail();
    }
}

/* dir + "/" + name into out. */
static inline void test_path(char *out, size_t room, const char *dir, const char *name) {
    snprintf(out, room, "%s/%s", dir, name);
}

/* Writes size bytes to path (fails the test on error). */
static inline void test_write_file(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, size, f), size);
    assert_int_equal(fclose(f), 0);
}

/* Reads the whole file at path into a malloc'ed buffer (terminated) and its size; NULL if absent. */
static inline unsigned char *test_read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t room = 4096, used = 0;
    unsigned char *data = malloc(room + 1);
    assert_non_null(data);
    size_t got;
    while ((got = fread(data + used, 1, room - used, f)) > 0) {
        used += got;
        if (used == room) {
            room *= 2;
            data = realloc(data, room + 1);
            assert_non_null(data);
        }
    }
    fclose(f);
    data[used] = 0;
    *size = used;
    return data;
}

/* Number of entries in dir other than . and .. */
static inline size_t test_count_files(const char *dir) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}

/* Removes every file of dir, then dir. */
static inline void test_remove_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        test_path(path, sizeof path, dir, e->d_name);
        remove(path);
    }
    closedir(d);
    rmdir(dir);
}

/* Fault k of a sweep over a writer: a write failing after limits[k] bytes for k < count, then a
 * failing flush (k == count), then a failing rename (k == count + 1): count + 2 faults in all. */
static inline bnmlp_file_fault test_fault(const uint64_t *limits, size_t count, size_t k) {
    bnmlp_file_fault fault = BNMLP_FILE_NO_FAULT;
    if (k < count)
        fault.fail_after_bytes = limits[k];
    else if (k == count)
        fault.fail_flush = true;
    else
        fault.fail_rename = true;
    return fault;
}

#endif /* BNMLP_TEST_FILE_SUPPORT_H */
