/*
 * data.c - generating the circles or moons data set and writing it as CSV.
 */
#include "data.h"

#include <string.h>

#include "outfile.h"

const char *dataset_kind_name(dataset_kind kind) { return kind == DATASET_MOONS ? "moons" : "circles"; }

bool dataset_kind_from_name(const char *name, dataset_kind *out) {
    if (strcmp(name, "circles") == 0) {
        *out = DATASET_CIRCLES;
        return true;
    }
    if (strcmp(name, "moons") == 0) {
        *out = DATASET_MOONS;
        return true;
    }
    return false;
}

/* Calls make_circles or make_moons with the options. */
static bnmlp_status generate(const data_options *options, bnmlp_dataset *out) {
    if (options->kind == DATASET_MOONS) {
        bnmlp_moons_config config = BNMLP_MOONS_DEFAULT;
        config.n_samples = options->n_samples;
        config.shuffle = options->shuffle;
        config.noise = options->noise;
        config.random_state = options->random_state;
        return bnmlp_make_moons(&config, out);
    }
    bnmlp_circles_config config = BNMLP_CIRCLES_DEFAULT;
    config.n_samples = options->n_samples;
    config.shuffle = options->shuffle;
    config.noise = options->noise;
    config.random_state = options->random_state;
    config.factor = options->factor;
    return bnmlp_make_circles(&config, out);
}

bool dataset_generate(const data_options *options, bnmlp_dataset *out) {
    bnmlp_status status = generate(options, out);
    if (status != BNMLP_OK) {
        fprintf(stderr, "circles: cannot generate the %s data set: %s\n", dataset_kind_name(options->kind),
                bnmlp_status_string(status));
        return false;
    }
    return true;
}

void dataset_describe(const data_options *options, char *buffer, size_t size) {
    if (options->kind == DATASET_MOONS) {
        snprintf(buffer, size, "make_moons(n_samples=%zu, noise=%g, random_state=%lu%s)", options->n_samples,
                 options->noise, (unsigned long)options->random_state,
                 options->shuffle ? "" : ", shuffle=False");
        return;
    }
    snprintf(buffer, size, "make_circles(n_samples=%zu, noise=%g, random_state=%lu, factor=%g%s)",
             options->n_samples, options->noise, (unsigned long)options->random_state, options->factor,
             options->shuffle ? "" : ", shuffle=False");
}

/* Writes the header line: x0,x1,...,label. */
static void write_header(out_file *out, size_t n_features) {
    for (size_t feature = 0; feature < n_features; feature++) {
        out_printf(out, "x%zu,", feature);
    }
    out_printf(out, "label\n");
}

bool dataset_write_csv(const bnmlp_dataset *dataset, const char *path) {
    out_file out;
    if (!out_open(&out, path)) {
        return false;
    }
    write_header(&out, dataset->n_features);
    for (size_t row = 0; row < dataset->n_samples; row++) {
        const float *x = dataset->x + row * dataset->n_features;
        for (size_t feature = 0; feature < dataset->n_features; feature++) {
            out_printf(&out, "%.9g,", (double)x[feature]);
        }
        out_printf(&out, "%ld\n", (long)dataset->labels[row]);
    }
    return out_close(&out);
}
