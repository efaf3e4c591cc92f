/*
 * plots.c - turning the data set and the learning curves into SVG charts.
 */
#include "plots.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "svg.h"

/* "±" in UTF-8. */
#define PLUS_MINUS "\xC2\xB1"

/* Opacity of a single variant's bands, and of the lighter bands of the overlay. */
#define BAND_OPACITY 0.22
#define OVERLAY_BAND_OPACITY 0.12

bool plot_dataset(const char *path, const bnmlp_dataset *dataset, const char *dataset_name,
                  const char *description) {
    size_t n = dataset->n_samples;
    double *x = malloc(n * sizeof *x);
    double *y = malloc(n * sizeof *y);
    int *group = malloc(n * sizeof *group);
    bool ok = x != NULL && y != NULL && group != NULL;
    if (!ok) {
        fprintf(stderr, "circles: out of memory while plotting %s\n", path);
    }
    for (size_t i = 0; ok && i < n; i++) {
        const float *row = dataset->x + i * dataset->n_features;
        x[i] = row[0];
        y[i] = dataset->n_features > 1 ? row[1] : 0.0;
        group[i] = dataset->labels[i] != 0;
    }
    char title[96];
    snprintf(title, sizeof title, "The %s data set, coloured by class", dataset_name);
    static const char *const labels[] = {"class 0", "class 1"};
    const char *const colors[] = {svg_palette_color(0), svg_palette_color(1)};
    svg_scatter chart = {.title = title,
                         .subtitle = description,
                         .x_label = "x0",
                         .y_label = "x1",
                         .x = x,
                         .y = y,
                         .group = group,
                         .count = n,
                         .group_labels = labels,
                         .group_colors = colors,
                         .group_count = 2};
    ok = ok && svg_write_scatter(path, &chart);
    free(x);
    free(y);
    free(group);
    return ok;
}

bool plot_variant_curves(const char *path, variant v, const accuracy_curves *curves, const char *subtitle) {
    svg_series series[2] = {
        {.label = "train (during fit)",
         .color = svg_palette_color(0),
         .x = curves->epoch,
         .y = curves->train_mean,
         .spread = curves->train_sd,
         .count = curves->epochs},
        {.label = "test (after epoch)",
         .color = svg_palette_color(1),
         .x = curves->epoch,
         .y = curves->test_mean,
         .spread = curves->test_sd,
         .count = curves->epochs},
    };
    char title[128];
    snprintf(title, sizeof title, "Accuracy per epoch: %s (%s)", variant_title(v), variant_name(v));
    svg_line_chart chart = {.title = title,
                            .subtitle = subtitle,
                            .x_label = "epoch",
                            .y_label = "accuracy (mean " PLUS_MINUS " 1 sd)",
                            .series = series,
                            .series_count = 2,
                            .band_opacity = BAND_OPACITY,
                            .reference_y = TARGET_TEST_ACCURACY,
                            .reference_label = "0.80",
                            .y_floor = 0.0,
                            .y_ceiling = 1.0};
    return svg_write_line_chart(path, &chart);
}

bool plot_test_overlay(const char *path, const variant *variants, const accuracy_curves *curves, size_t count,
                       const char *subtitle) {
    svg_series series[VARIANT_COUNT];
    for (size_t i = 0; i < count && i < VARIANT_COUNT; i++) {
        series[i] = (svg_series){.label = variant_title(variants[i]),
                                 .color = svg_palette_color((size_t)variants[i]),
                                 .x = curves[i].epoch,
                                 .y = curves[i].test_mean,
                                 .spread = curves[i].test_sd,
                                 .count = curves[i].epochs};
    }
    svg_line_chart chart = {.title = "Test accuracy per epoch, by variant",
                            .subtitle = subtitle,
                            .x_label = "epoch",
                            .y_label = "test accuracy (mean " PLUS_MINUS " 1 sd)",
                            .series = series,
                            .series_count = count < VARIANT_COUNT ? count : VARIANT_COUNT,
                            .band_opacity = OVERLAY_BAND_OPACITY,
                            .reference_y = TARGET_TEST_ACCURACY,
                            .reference_label = "0.80",
                            .y_floor = 0.0,
                            .y_ceiling = 1.0};
    return svg_write_line_chart(path, &chart);
}
