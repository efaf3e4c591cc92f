/*
 * replay.c - runs a fuzz harness's LLVMFuzzerTestOneInput on every file of the directories (or
 * files) given, without libFuzzer: ctest replays the committed corpus and the regressions this
 * way in every build (under AddressSanitizer in CI). A failing input traps, so the test fails.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Feeds one file; returns 0, or 1 when it cannot be read. */
static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return 1;
    }
    size_t room = 1 << 16, used = 0, got;
    uint8_t *data = malloc(room);
    while (data && (got = fread(data + used, 1, room - used, f)) > 0) {
        used += got;
        if (used == room) data = realloc(data, room *= 2);
    }
    fclose(f);
    if (!data) return 1;
    /* An exact-size copy, so that AddressSanitizer sees reads past the end. */
    uint8_t *exact = malloc(used ? used : 1);
    if (!exact) return 1;
    memcpy(exact, data, used);
    free(data);
    LLVMFuzzerTestOneInput(exact, used);
    free(exact);
    return 0;
}

int main(int argc, char **argv) {
    size_t files = 0;
    int failures = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s does not exist\n", argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            failures += run_file(argv[i]);
            files++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d) return 1;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.') continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            failures += run_file(path);
            files++;
        }
        closedir(d);
    }
    printf("replayed %zu inputs\n", files);
    return failures != 0 || files == 0;
}
