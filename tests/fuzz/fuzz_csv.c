/*
 * fuzz_csv.c - libFuzzer harness of bnmlp_csv_read_buffer. Each input is read with six
 * configurations (two with text labels allowed); whatever is read must be finite with a consistent
 * shape, x printed back with "%.9g" must read back bit for bit, and class names must be distinct,
 * sorted by bytes, within the limits, with every y an index of one. Any violation traps. Built by tests/fuzz/CMakeLists.txt
 * both as a fuzzer (BNMLP_BUILD_FUZZ) and, with replay.c, as a ctest replay of the corpus.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bnmlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(condition)                                                                                     \
    do {                                                                                                     \
        if (!(condition)) __builtin_trap();                                                                  \
    } while (0)

/* Largest tensor printed back for the round trip (values). */
#define ROUND_TRIP_MAX 2048

/* Prints t as headerless CSV and reads it back with no label: same shape, same bits. */
static void round_trip(const bnmlp_tensor *t) {
    if (t->rows * t->cols > ROUND_TRIP_MAX) return;
    size_t room = t->rows * t->cols * 18 + 1, used = 0;
    char *text = malloc(room);
    CHECK(text != NULL);
    for (size_t r = 0; r < t->rows; r++) {
        for (size_t c = 0; c < t->cols; c++) {
            int n =
                snprintf(text + used, room - used, "%s%.9g", c ? "," : "", (double)t->data[r * t->cols + c]);
            CHECK(n > 0 && (size_t)n < room - used);
            used += (size_t)n;
        }
        text[used++] = '\n';
    }
    bnmlp_csv_read_config config = BNMLP_CSV_READ_DEFAULT;
    config.header = BNMLP_CSV_HEADER_NO, config.label = BNMLP_CSV_LABEL_NONE, config.separator = ',';
    bnmlp_tensor *back = NULL;
    CHECK(bnmlp_csv_read_buffer(text, used, &config, &back, NULL, NULL) == BNMLP_OK);
    CHECK(back->rows == t->rows && back->cols == t->cols);
    CHECK(memcmp(back->data, t->data, t->rows * t->cols * sizeof(float)) == 0);
    bnmlp_tensor_free(back);
    free(text);
}

/* Reads the input with config and checks what comes out. */
static void read_with(const uint8_t *data, size_t size, const bnmlp_csv_read_config *config) {
    bnmlp_tensor *x = NULL, *y = NULL;
    bnmlp_class_names *names = NULL;
    bnmlp_csv_read_config with_names = *config;
    if (config->class_names) with_names.class_names = &names;
    bnmlp_error_detail detail;
    memset(&detail, 0x55, sizeof detail);
    bnmlp_status status = bnmlp_csv_read_buffer(data, size, &with_names, &x, &y, &detail);
    if (status != BNMLP_OK) {
        CHECK(x == NULL && y == NULL && names == NULL);
        CHECK(memchr(detail.message, '\0', sizeof detail.message) != NULL);
        CHECK(detail.offset <= size);
        CHECK(status == BNMLP_ERR_FORMAT || status == BNMLP_ERR_NOT_FINITE ||
              status == BNMLP_ERR_INVALID_ARGUMENT || (config->class_names && status == BNMLP_ERR_OVERFLOW));
        return;
    }
    if (names) {
        CHECK(y != NULL && names->count >= 1 && names->count <= BNMLP_CLASS_NAMES_MAX);
        for (size_t i = 0; i < names->count; i++) {
            CHECK(strlen(names->names[i]) <= BNMLP_CLASS_NAME_MAX_BYTES);
            CHECK(i == 0 || strcmp(names->names[i - 1], names->names[i]) < 0); /* strcmp: bytes as unsigned */
        }
        for (size_t i = 0; i < y->rows; i++)
            CHECK(y->data[i] >= 0 && y->data[i] < (float)names->count && y->data[i] == floorf(y->data[i]));
        bnmlp_class_names_free(names);
    }
    CHECK(x != NULL && x->rows > 0 && x->cols > 0);
    for (size_t i = 0; i < x->rows * x->cols; i++) CHECK(isfinite(x->data[i]));
    if (config->label == BNMLP_CSV_LABEL_NONE) {
        CHECK(y == NULL);
    } else {
        CHECK(y != NULL && y->rows == x->rows && y->cols == 1);
        for (size_t i = 0; i < y->rows; i++) CHECK(isfinite(y->data[i]));
    }
    round_trip(x);
    bnmlp_tensor_free(x);
    bnmlp_tensor_free(y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    bnmlp_csv_read_config config = BNMLP_CSV_READ_DEFAULT;
    read_with(data, size, &config);
    config.header = BNMLP_CSV_HEADER_NO, config.label = BNMLP_CSV_LABEL_NONE;
    read_with(data, size, &config);
    config = BNMLP_CSV_READ_DEFAULT;
    config.separator = ';', config.header = BNMLP_CSV_HEADER_YES, config.label = BNMLP_CSV_LABEL_INDEX;
    read_with(data, size, &config);
    config = BNMLP_CSV_READ_DEFAULT;
    config.separator = '\t', config.label = BNMLP_CSV_LABEL_NAME, config.label_name = "y";
    read_with(data, size, &config);
    bnmlp_class_names *wanted = NULL; /* only says "text labels allowed"; read_with uses its own */
    config = BNMLP_CSV_READ_DEFAULT;
    config.class_names = &wanted;
    read_with(data, size, &config);
    config.label = BNMLP_CSV_LABEL_INDEX, config.header = BNMLP_CSV_HEADER_NO;
    read_with(data, size, &config);
    return 0;
}
