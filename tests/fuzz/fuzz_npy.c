/*
 * fuzz_npy.c - libFuzzer harness of bnmlp_npy_read_buffer. Whatever is read must be finite; it
 * is then written back as a '<f4' .npy image in memory and read again, bit for bit. Any
 * violation traps. Built as a fuzzer (BNMLP_BUILD_FUZZ) and, with replay.c, as a ctest replay.
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

/* Builds a version 1.0 '<f4' file of t in memory and reads it back. */
static void round_trip(const bnmlp_tensor *t) {
    size_t count = t->rows * t->cols;
    if (count > (1u << 20)) return;
    char header[128];
    int n = snprintf(header, sizeof header,
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }\n", t->rows, t->cols);
    CHECK(n > 0 && (size_t)n < sizeof header);
    size_t size = 10 + (size_t)n + count * 4;
    unsigned char *bytes = malloc(size);
    CHECK(bytes != NULL);
    memcpy(bytes, "\x93NUMPY\x01\x00", 8);
    bytes[8] = (unsigned char)n;
    bytes[9] = 0;
    memcpy(bytes + 10, header, (size_t)n);
    for (size_t i = 0; i < count; i++) {
        uint32_t bits;
        memcpy(&bits, &t->data[i], 4);
        for (int b = 0; b < 4; b++)
            bytes[10 + (size_t)n + 4 * i + (size_t)b] = (unsigned char)(bits >> (8 * b));
    }
    bnmlp_tensor *back = NULL;
    CHECK(bnmlp_npy_read_buffer(bytes, size, NULL, &back, NULL) == BNMLP_OK);
    CHECK(back->rows == t->rows && back->cols == t->cols);
    CHECK(memcmp(back->data, t->data, count * 4) == 0);
    bnmlp_tensor_free(back);
    free(bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    bnmlp_tensor *t = NULL;
    bnmlp_error_detail detail;
    memset(&detail, 0x55, sizeof detail);
    bnmlp_status status = bnmlp_npy_read_buffer(data, size, NULL, &t, &detail);
    if (status != BNMLP_OK) {
        CHECK(t == NULL);
        CHECK(memchr(detail.message, '\0', sizeof detail.message) != NULL);
        CHECK(detail.offset <= size);
        CHECK(status == BNMLP_ERR_FORMAT || status == BNMLP_ERR_VERSION || status == BNMLP_ERR_UNSUPPORTED ||
              status == BNMLP_ERR_TRUNCATED || status == BNMLP_ERR_NOT_FINITE ||
              status == BNMLP_ERR_OVERFLOW || status == BNMLP_ERR_OUT_OF_MEMORY);
        return 0;
    }
    CHECK(t != NULL && t->rows > 0 && t->cols > 0);
    for (size_t i = 0; i < t->rows * t->cols; i++) CHECK(isfinite(t->data[i]));
    round_trip(t);
    bnmlp_tensor_free(t);
    return 0;
}
