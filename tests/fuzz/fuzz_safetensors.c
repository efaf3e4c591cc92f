/*
 * fuzz_safetensors.c - libFuzzer harness of the safetensors reader: the bytes are imported as a
 * new model (architecture from their __metadata__) and loaded into a fixed built model (Linear(2,
 * 2), BatchNorm1d(2), the names without metadata). A refusal must be one of the reader's
 * statuses with a terminated message and an offset inside the input, and must leave the fixed
 * model as it was; an imported model must predict, and export and import back to the same
 * bytes. Any violation traps. Built as a fuzzer (BNMLP_BUILD_FUZZ) and, with replay.c, as a
 * ctest replay.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bnmlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(condition)                                                                                     \
    do {                                                                                                     \
        if (!(condition)) __builtin_trap();                                                                  \
    } while (0)

static bool refusal(bnmlp_status status) {
    return status == BNMLP_ERR_FORMAT || status == BNMLP_ERR_UNSUPPORTED || status == BNMLP_ERR_TRUNCATED ||
           status == BNMLP_ERR_NOT_FINITE || status == BNMLP_ERR_SHAPE ||
           status == BNMLP_ERR_INVALID_ARGUMENT || status == BNMLP_ERR_OVERFLOW ||
           status == BNMLP_ERR_OUT_OF_MEMORY;
}

static void check_refusal(bnmlp_status status, const bnmlp_error_detail *detail, size_t size) {
    CHECK(refusal(status));
    CHECK(memchr(detail->message, '\0', sizeof detail->message) != NULL);
    CHECK(detail->offset <= size);
}

/* The fixed model, built once; its parameters are checked unchanged after every refusal. */
static bnmlp_model *fixed_model(void) {
    static bnmlp_model *model;
    if (!model) {
        bnmlp_status status;
        model = bnmlp_model_create(2, &status);
        CHECK(model != NULL);
        CHECK(bnmlp_model_add_dense(model, &BNMLP_DENSE_DEFAULT(2)) == BNMLP_OK);
        CHECK(bnmlp_model_add_batchnorm(model, &BNMLP_BATCHNORM_DEFAULT) == BNMLP_OK);
        CHECK(bnmlp_model_build(model, 2, 0) == BNMLP_OK);
        CHECK(bnmlp_model_set_threads(model, 1) == BNMLP_OK);
    }
    return model;
}

/* Exports model to a temporary file and imports it back: the same bytes again. */
static void round_trip(bnmlp_model *model) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/fuzz_safetensors_%ld.safetensors", (long)getpid());
    if (bnmlp_model_export(model, "safetensors", path, NULL, NULL) != BNMLP_OK) return; /* no twin */
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    CHECK(fseek(f, 0, SEEK_END) == 0);
    const long length = ftell(f);
    CHECK(length > 0);
    rewind(f);
    unsigned char *bytes = malloc((size_t)length);
    CHECK(bytes != NULL);
    CHECK(fread(bytes, 1, (size_t)length, f) == (size_t)length);
    fclose(f);
    remove(path);
    bnmlp_status status;
    bnmlp_model *back = bnmlp_model_import_safetensors_buffer(bytes, (size_t)length, NULL, &status, NULL);
    CHECK(status == BNMLP_OK && back != NULL);
    CHECK(bnmlp_model_param_count(back) == bnmlp_model_param_count(model));
    bnmlp_model_free(back);
    free(bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    bnmlp_error_detail detail;
    memset(&detail, 0x55, sizeof detail);
    bnmlp_status status;
    bnmlp_safetensors_config config = BNMLP_SAFETENSORS_DEFAULT;
    config.max_batch = 2;
    bnmlp_model *model = bnmlp_model_import_safetensors_buffer(data, size, &config, &status, &detail);
    if (status != BNMLP_OK) {
        CHECK(model == NULL);
        check_refusal(status, &detail, size);
    } else {
        CHECK(model != NULL && bnmlp_model_is_built(model));
        const size_t in = bnmlp_model_input_width(model), out = bnmlp_model_output_width(model);
        if (in <= 4096 && out <= 4096) {
            float *x = calloc(2 * in, sizeof *x), *y = calloc(2 * out, sizeof *y);
            CHECK(x && y);
            bnmlp_tensor tx = bnmlp_tensor_view(x, 2, in), ty = bnmlp_tensor_view(y, 2, out);
            const bnmlp_status predicted = bnmlp_model_predict(model, &tx, &ty);
            CHECK(predicted == BNMLP_OK || predicted == BNMLP_ERR_DIVERGED);
            free(x);
            free(y);
        }
        if (bnmlp_model_param_count(model) <= 4096) round_trip(model);
        bnmlp_model_free(model);
    }

    bnmlp_model *fixed = fixed_model();
    float before[16], after[16];
    const size_t count = bnmlp_model_param_count(fixed);
    CHECK(count <= 16);
    CHECK(bnmlp_model_get_params(fixed, before, count) == BNMLP_OK);
    memset(&detail, 0x55, sizeof detail);
    status = bnmlp_model_load_safetensors_buffer(fixed, data, size, &detail);
    if (status != BNMLP_OK) {
        check_refusal(status, &detail, size);
        CHECK(bnmlp_model_get_params(fixed, after, count) == BNMLP_OK);
        CHECK(memcmp(before, after, count * sizeof(float)) == 0);
    }
    return 0;
}
