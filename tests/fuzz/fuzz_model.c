/*
 * fuzz_model.c - libFuzzer harness of bnmlp_model_load_buffer. A file that loads must save back
 * to the very same bytes (an older version's checkpoint: to a file of the current version that
 * does), and a small enough model must run a row through predict with a
 * finite result or a clear status. Any violation traps. Built as a fuzzer (BNMLP_BUILD_FUZZ) and,
 * with replay.c, as a ctest replay of the corpus.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bnmlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The library's CRC-32 (src/core/crc32.c), to fix up mutated files' trailers. */
uint32_t bnmlp_crc32_update(uint32_t crc, const void *data, size_t size);

#define CHECK(condition)                                                                                     \
    do {                                                                                                     \
        if (!(condition)) __builtin_trap();                                                                  \
    } while (0)

/* The format version this library writes: 1 for a model file, 2 for a checkpoint. */
static uint32_t written_version(bool checkpoint) { return checkpoint ? 2u : 1u; }

/* Saves the model (a checkpoint when the input was one) and compares with the input. A
 * checkpoint of an older version (1) is written in the current one: then the saved file must
 * load and save back to its own bytes. */
static void check_same_bytes(const bnmlp_model *model, const uint8_t *data, size_t size) {
    const bool checkpoint = size > 12 && (data[12] & 1u);
    const uint32_t version =
        (uint32_t)data[8] | (uint32_t)data[9] << 8 | (uint32_t)data[10] << 16 | (uint32_t)data[11] << 24;
    size_t needed = 0;
    CHECK(bnmlp_model_save_buffer(model, checkpoint, NULL, 0, &needed) == BNMLP_OK);
    unsigned char *bytes = malloc(needed);
    CHECK(bytes != NULL);
    CHECK(bnmlp_model_save_buffer(model, checkpoint, bytes, needed, &needed) == BNMLP_OK);
    if (version == written_version(checkpoint)) {
        CHECK(needed == size);
        CHECK(memcmp(bytes, data, size) == 0);
    } else {
        bnmlp_status status = BNMLP_OK;
        bnmlp_model *again = bnmlp_model_load_buffer(bytes, needed, NULL, NULL, &status);
        CHECK(again != NULL && status == BNMLP_OK);
        check_same_bytes(again, bytes, needed);
        bnmlp_model_free(again);
    }
    free(bytes);
}

/* Runs one row of ones through a model of modest width. */
static void check_predict(bnmlp_model *model) {
    const size_t in = bnmlp_model_input_width(model), out = bnmlp_model_output_width(model);
    if (in > 4096 || out > 4096) return;
    float *x = malloc(in * sizeof *x), *y = malloc(out * sizeof *y);
    CHECK(x && y);
    for (size_t i = 0; i < in; i++) x[i] = 1.0f;
    bnmlp_tensor tx = bnmlp_tensor_view(x, 1, in), ty = bnmlp_tensor_view(y, 1, out);
    const bnmlp_status status = bnmlp_model_predict(model, &tx, &ty);
    CHECK(status == BNMLP_OK || status == BNMLP_ERR_DIVERGED);
    free(x), free(y);
}

/* Loads size bytes and checks what a loaded model must satisfy. */
static void load(const uint8_t *data, size_t size) {
    bnmlp_status status = BNMLP_OK;
    bnmlp_error_detail detail;
    bnmlp_model *model = bnmlp_model_load_buffer(data, size, NULL, &detail, &status);
    CHECK((model != NULL) == (status == BNMLP_OK));
    CHECK(detail.message[sizeof detail.message - 1] == '\0' ||
          strlen(detail.message) < sizeof detail.message);
    if (!model) return;
    check_same_bytes(model, data, size);
    check_predict(model);
    bnmlp_model_free(model);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    load(data, size);
    /* Most mutations break the CRC-32; a copy with its trailer recomputed reaches the parser. */
    if (size < 28) return 0;
    uint8_t *fixed = malloc(size);
    CHECK(fixed != NULL);
    memcpy(fixed, data, size);
    const uint32_t crc = bnmlp_crc32_update(0, fixed, size - 4);
    for (int b = 0; b < 4; b++) fixed[size - 4 + (size_t)b] = (uint8_t)(crc >> (8 * b));
    load(fixed, size);
    free(fixed);
    return 0;
}
