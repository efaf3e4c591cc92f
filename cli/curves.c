/*
 * curves.c - history.csv and the learning-curve plot of a training run.
 */
#include "curves.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outfile.h"
#include "svg.h"

/* Writes a value, or nothing for NaN, after a comma. */
static void write_field(out_file *out, double value) {
    if (isnan(value)) {
        out_printf(out, ",");
    } else {
        out_printf(out, ",%.9g", value);
    }
}

bool curves_write_history(const char *path, const bnmlp_epoch_record *records, size_t count,
                          const history_columns *extra) {
    out_file out;
    if (!out_open(&out, path)) {
        return false;
    }
    out_printf(&out, "epoch,loss,accuracy,val_loss,val_accuracy%s",
               extra->learning_rate ? ",learning_rate" : "");
    for (size_t m = 0; m < extra->metric_count; m++) {
        out_printf(&out, ",%s", extra->metrics[m]);
    }
    for (size_t m = 0; extra->validation && m < extra->metric_count; m++) {
        out_printf(&out, ",val_%s", extra->metrics[m]);
    }
    out_printf(&out, "\n");
    for (size_t i = 0; i < count; i++) {
        out_printf(&out, "%zu", records[i].epoch);
        write_field(&out, records[i].loss);
        write_field(&out, records[i].accuracy);
        write_field(&out, records[i].val_loss);
        write_field(&out, records[i].val_accuracy);
        if (extra->learning_rate) {
            write_field(&out, records[i].learning_rate);
        }
        for (size_t m = 0; m < extra->metric_count * (extra->validation ? 2 : 1); m++) {
            write_field(&out, extra->values[i * 2 * extra->metric_count + m]);
        }
        out_printf(&out, "\n");
    }
    return out_close(&out);
}

/* The axis label of the loss, e.g. "loss (binary_crossentropy)", into buffer. */
static const char *loss_label(bnmlp_loss loss, char *buffer, size_t size) {
    snprintf(buffer, size, "loss (%s)", bnmlp_loss_name(loss));
    return buffer;
}

/* One column of the records as doubles. */
typedef struct columns {
    double *epoch, *loss, *accuracy, *val_loss, *val_accuracy;
} columns;

/* The markers of the run into markers (at most 2): the lowest val_loss's epoch, the restored
 * epoch; their labels go into labels (2 x 64). Returns how many. */
static size_t run_markers(const bnmlp_epoch_record *records, size_t count, svg_marker *markers,
                          char labels[2][64]) {
    size_t best = count;
    for (size_t i = 0; i < count; i++) {
        if (!isnan(records[i].val_loss) && (best == count || records[i].val_loss < records[best].val_loss)) {
            best = i;
        }
    }
    size_t n = 0;
    if (best < count) {
        snprintf(labels[n], 64, "best val_loss: epoch %zu", records[best].epoch);
        markers[n] = (svg_marker){.x = (double)records[best].epoch, .label = labels[n], .color = "#2ca02c"};
        n++;
    }
    if (count > 0 && records[count - 1].restored_epoch > 0) {
        snprintf(labels[n], 64, "restored: epoch %zu", records[count - 1].restored_epoch);
        markers[n] = (svg_marker){
            .x = (double)records[count - 1].restored_epoch, .label = labels[n], .color = "#d62728"};
        n++;
    }
    return n;
}

bool curves_write_plot(const char *path, const bnmlp_epoch_record *records, size_t count, bnmlp_loss loss,
                       const char *subtitle, bool log_loss) {
    size_t n = count > 0 ? count : 1;
    double *block = malloc(5 * n * sizeof *block);
    if (block == NULL) {
        out_report_error(path, 12 /* ENOMEM */);
        return false;
    }
    columns c = {block, block + n, block + 2 * n, block + 3 * n, block + 4 * n};
    bool validation = false;
    for (size_t i = 0; i < count; i++) {
        c.epoch[i] = (double)records[i].epoch;
        c.loss[i] = records[i].loss;
        c.accuracy[i] = records[i].accuracy;
        c.val_loss[i] = records[i].val_loss;
        c.val_accuracy[i] = records[i].val_accuracy;
        validation = validation || !isnan(records[i].val_loss);
    }
    svg_series loss_series[2] = {
        {.label = "training", .color = svg_palette_color(0), .x = c.epoch, .y = c.loss, .count = count},
        {.label = "validation", .color = svg_palette_color(1), .x = c.epoch, .y = c.val_loss, .count = count},
    };
    svg_series accuracy_series[2] = {
        {.label = "training", .color = svg_palette_color(0), .x = c.epoch, .y = c.accuracy, .count = count},
        {.label = "validation",
         .color = svg_palette_color(1),
         .x = c.epoch,
         .y = c.val_accuracy,
         .count = count},
    };
    char label[64];
    svg_marker markers[2];
    char marker_labels[2][64];
    const size_t marker_count = run_markers(records, count, markers, marker_labels);
    svg_line_chart charts[2] = {
        {.title = "Loss per epoch",
         .subtitle = subtitle,
         .x_label = "epoch",
         .y_label = loss_label(loss, label, sizeof label),
         .series = loss_series,
         .series_count = validation ? 2 : 1,
         .band_opacity = 0.0,
         .reference_y = NAN,
         .y_floor = 0.0,
         .y_ceiling = NAN,
         .log_y = log_loss,
         .markers = markers,
         .marker_count = marker_count},
        {.title = "Accuracy per epoch",
         .subtitle = subtitle,
         .x_label = "epoch",
         .y_label = "accuracy",
         .series = accuracy_series,
         .series_count = validation ? 2 : 1,
         .band_opacity = 0.0,
         .reference_y = NAN,
         .y_floor = 0.0,
         .y_ceiling = 1.05, /* room above 1.0, so that a curve at 1 stays off the frame */
         .y_headroom = 0.05,
         .markers = markers,
         .marker_count = marker_count},
    };
    bool ok = svg_write_line_charts(path, charts, bnmlp_loss_has_accuracy(loss) ? 2 : 1);
    free(block);
    return ok;
}

/* Splits line (its newline removed) at commas, in place, into at most max fields; returns how
 * many, or max + 1 when there are more. */
static size_t split_fields(char *line, char **fields, size_t max) {
    line[strcspn(line, "\r\n")] = '\0';
    size_t n = 0;
    for (char *field = line;; n++) {
        if (n == max) {
            return max + 1;
        }
        fields[n] = field;
        char *comma = strchr(field, ',');
        if (comma == NULL) {
            return n + 1;
        }
        *comma = '\0';
        field = comma + 1;
    }
}

/* The index of name among the count header fields, or count. */
static size_t column_of(char *const *header, size_t count, const char *prefix, const char *name) {
    size_t skip = strlen(prefix);
    for (size_t i = 0; i < count; i++) {
        if (strncmp(header[i], prefix, skip) == 0 && strcmp(header[i] + skip, name) == 0) {
            return i;
        }
    }
    return count;
}

/* A field as a number: empty is NaN; false when it is not a number. */
static bool parse_value(const char *field, double *value) {
    if (field[0] == '\0') {
        *value = NAN;
        return true;
    }
    char *end = NULL;
    errno = 0;
    *value = strtod(field, &end);
    return end != field && *end == '\0' && errno != ERANGE;
}

#define HISTORY_MAX_COLUMNS 64

bool curves_read_history(const char *path, size_t epochs, const history_columns *extra,
                         bnmlp_epoch_record *records, double *values, char *problem, size_t size) {
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        snprintf(problem, size, "cannot read it: %s", strerror(errno));
        return false;
    }
    char *line = NULL, *header_line = NULL;
    size_t capacity = 0;
    char *header[HISTORY_MAX_COLUMNS + 1], *fields[HISTORY_MAX_COLUMNS + 1];
    size_t width = 0, rows = 0;
    bool ok = getline(&line, &capacity, file) > 0;
    if (ok) {
        header_line = line; /* the header's fields point into it: keep it */
        line = NULL;
        capacity = 0;
        width = split_fields(header_line, header, HISTORY_MAX_COLUMNS);
        ok = width >= 5 && width <= HISTORY_MAX_COLUMNS && strcmp(header[0], "epoch") == 0 &&
             strcmp(header[1], "loss") == 0 && strcmp(header[2], "accuracy") == 0 &&
             strcmp(header[3], "val_loss") == 0 && strcmp(header[4], "val_accuracy") == 0;
    }
    if (!ok) {
        snprintf(
            problem, size,
            "it is not a bnmlp history (its header is not \"epoch,loss,accuracy,val_loss,val_accuracy...\")");
    }
    const size_t rate = ok ? column_of(header, width, "", "learning_rate") : 0;
    const size_t metric_count = extra->metric_count;
    for (size_t m = 0; ok && values != NULL && m < epochs * 2 * metric_count; m++) {
        values[m] = NAN;
    }
    while (ok && rows < epochs && getline(&line, &capacity, file) > 0) {
        size_t n = split_fields(line, fields, HISTORY_MAX_COLUMNS);
        double epoch = 0.0, v[5];
        ok = n == width && parse_value(fields[0], &epoch) && epoch == (double)(rows + 1);
        for (size_t c = 1; ok && c < 5; c++) {
            ok = parse_value(fields[c], &v[c]);
        }
        double lr = NAN;
        ok = ok && (rate == width || parse_value(fields[rate], &lr));
        if (!ok) {
            snprintf(problem, size, "line %zu is not the row of epoch %zu", rows + 2, rows + 1);
            break;
        }
        records[rows] = (bnmlp_epoch_record){.epoch = rows + 1,
                                             .loss = v[1],
                                             .accuracy = v[2],
                                             .val_loss = v[3],
                                             .val_accuracy = v[4],
                                             .learning_rate = lr};
        for (size_t pass = 0; values != NULL && pass < 2; pass++) {
            for (size_t m = 0; ok && m < metric_count; m++) {
                size_t c = column_of(header, width, pass == 1 ? "val_" : "", extra->metrics[m]);
                double *value = &values[rows * 2 * metric_count + pass * metric_count + m];
                ok = c == width || parse_value(fields[c], value);
            }
        }
        if (!ok) {
            snprintf(problem, size, "line %zu has a value that is not a number", rows + 2);
            break;
        }
        rows++;
    }
    if (ok && rows < epochs) {
        ok = false;
        snprintf(problem, size, "it holds %zu epochs, not the %zu the checkpoint has done", rows, epochs);
    }
    if (ferror(file) && ok) {
        ok = false;
        snprintf(problem, size, "cannot read it: %s", strerror(errno));
    }
    free(line);
    free(header_line);
    fclose(file);
    return ok;
}
