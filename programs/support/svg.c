/*
 * svg.c - writing line charts and scatter plots as SVG.
 *
 * A chart is a canvas with a plot area (axes, ticks, grid), a title above it and a legend to its
 * right. Data coordinates map linearly onto the plot area; y grows upwards. Everything inside
 * the plot area is clipped to it.
 */
#include "svg.h"

#include <math.h>
#include <stdio.h>

#include "outfile.h"

/* Tick marks wanted per axis (the nice step gives between about 4 and 10). */
#define TARGET_TICKS 6.0

/* An axis: the data range it shows and where its ticks go. */
typedef struct svg_axis {
    double lo;    /* data value at the start of the axis */
    double hi;    /* data value at the end of the axis */
    double step;  /* distance between ticks: 1, 2 or 5 times a power of ten */
    int decimals; /* digits after the point in tick labels */
} svg_axis;

/* The canvas and where the plot area sits on it, in pixels. */
typedef struct frame {
    double width;  /* canvas width */
    double height; /* canvas height */
    double left;   /* plot area: left edge */
    double top;    /* plot area: top edge */
    double right;  /* plot area: right edge */
    double bottom; /* plot area: bottom edge */
    svg_axis x;    /* horizontal axis */
    svg_axis y;    /* vertical axis (of log10 values when log_y) */
    bool log_y;    /* the y axis is logarithmic: data y maps through log10 */
} frame;

/* A legend entry's symbol. */
typedef enum legend_symbol {
    LEGEND_LINE = 0, /* a solid line */
    LEGEND_BAND,     /* a solid line over a shaded band */
    LEGEND_DASHED,   /* a dashed line */
    LEGEND_MARKER    /* a filled circle */
} legend_symbol;

/* Line chart canvas: 880 x 500 with a 280-pixel legend column. */
static const frame LINE_CHART_FRAME = {
    .width = 880, .height = 500, .left = 75, .top = 70, .right = 600, .bottom = 435};

/* Scatter canvas: 700 x 560 with a 110-pixel legend column. */
static const frame SCATTER_FRAME = {
    .width = 700, .height = 560, .left = 75, .top = 70, .right = 590, .bottom = 495};

const char *svg_palette_color(size_t index) {
    static const char *const colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                         "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
    return colors[index % (sizeof colors / sizeof colors[0])];
}

/* ----------------------------------------------------------------------------------------- */
/* Axes and coordinates                                                                      */
/* ----------------------------------------------------------------------------------------- */

/* An axis covering [lo, hi] with about TARGET_TICKS ticks at multiples of a 1-2-5 step, its ends
 * rounded out to ticks. An empty or non-finite range gets a unit-sized one. */
static svg_axis nice_axis(double lo, double hi) {
    if (!isfinite(lo) || !isfinite(hi)) {
        lo = 0.0;
        hi = 1.0;
    }
    if (!(hi > lo)) {
        double pad = fabs(lo) > 0.0 ? 0.05 * fabs(lo) : 0.5;
        lo -= pad;
        hi += pad;
    }
    double raw = (hi - lo) / TARGET_TICKS;
    double magnitude = pow(10.0, floor(log10(raw)));
    double normalized = raw / magnitude;
    double multiple = normalized <= 1.0 ? 1.0 : normalized <= 2.0 ? 2.0 : normalized <= 5.0 ? 5.0 : 10.0;
    svg_axis axis = {.step = multiple * magnitude};
    axis.lo = floor(lo / axis.step + 1e-9) * axis.step;
    axis.hi = ceil(hi / axis.step - 1e-9) * axis.step;
    axis.decimals = axis.step >= 1.0 ? 0 : (int)ceil(-log10(axis.step) - 1e-9);
    return axis;
}

/* Restricts an axis to [floor, ceiling] (NaN ends are no limit). */
static void limit_axis(svg_axis *axis, double floor_value, double ceiling_value) {
    if (!isnan(floor_value) && axis->lo < floor_value) {
        axis->lo = floor_value;
    }
    if (!isnan(ceiling_value) && axis->hi > ceiling_value) {
        axis->hi = ceiling_value;
    }
}

/* Pixel x of data value x. */
static double map_x(const frame *f, double x) {
    return f->left + (x - f->x.lo) / (f->x.hi - f->x.lo) * (f->right - f->left);
}

/* Pixel y of a value on the y axis (a log10 value when the axis is logarithmic). */
static double map_y_axis(const frame *f, double y) {
    return f->bottom - (y - f->y.lo) / (f->y.hi - f->y.lo) * (f->bottom - f->top);
}

/* The y axis's value of data value y: log10(y) on a logarithmic axis (NaN for y <= 0). */
static double axis_y(const frame *f, double y) { return f->log_y ? (y > 0.0 ? log10(y) : NAN) : y; }

/* Pixel y of data value y (y grows upwards). */
static double map_y(const frame *f, double y) { return map_y_axis(f, axis_y(f, y)); }

/* Grows [*lo, *hi] to include value (NaNs are ignored). */
static void include_value(double *lo, double *hi, double value) {
    if (isnan(value)) {
        return;
    }
    *lo = value < *lo ? value : *lo;
    *hi = value > *hi ? value : *hi;
}

/* ----------------------------------------------------------------------------------------- */
/* Common pieces                                                                             */
/* ----------------------------------------------------------------------------------------- */

/* Writes text with the XML special characters escaped. */
static void write_escaped(out_file *out, const char *text) {
    for (const char *c = text; *c != '\0'; c++) {
        switch (*c) {
        case '&': out_printf(out, "&amp;"); break;
        case '<': out_printf(out, "&lt;"); break;
        case '>': out_printf(out, "&gt;"); break;
        case '"': out_printf(out, "&quot;"); break;
        default: out_printf(out, "%c", *c); break;
        }
    }
}

/* Writes a <text> element at (x, y); attributes is extra markup such as anchor and size. */
static void write_text(out_file *out, double x, double y, const char *attributes, const char *text) {
    out_printf(out, "<text x=\"%.2f\" y=\"%.2f\" %s>", x, y, attributes);
    write_escaped(out, text);
    out_printf(out, "</text>\n");
}

/* Opens the document: XML declaration, <svg> root of width x height pixels, white background. */
static void write_document_start(out_file *out, double width, double height) {
    out_printf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out_printf(out,
               "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" height=\"%.0f\" "
               "viewBox=\"0 0 %.0f %.0f\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n",
               width, height, width, height);
    out_printf(out, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"white\"/>\n", width, height);
}

/* Defines the clip path clip_id as the plot area of f. */
static void write_clip_path(out_file *out, const frame *f, const char *clip_id) {
    out_printf(out,
               "<defs><clipPath id=\"%s\"><rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"/>"
               "</clipPath></defs>\n",
               clip_id, f->left, f->top, f->right - f->left, f->bottom - f->top);
}

/* Opens a one-chart document: the root, the background and the clip path "plot-area". */
static void write_header(out_file *out, const frame *f) {
    write_document_start(out, f->width, f->height);
    write_clip_path(out, f, "plot-area");
}

/* Closes the document. */
static void write_footer(out_file *out) { out_printf(out, "</svg>\n"); }

/* Writes the title and the optional subtitle, centred over the plot area. */
static void write_titles(out_file *out, const frame *f, const char *title, const char *subtitle) {
    double centre = 0.5 * (f->left + f->right);
    write_text(out, centre, 28, "text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\"", title);
    if (subtitle != NULL) {
        write_text(out, centre, 48, "text-anchor=\"middle\" font-size=\"12\" fill=\"#555555\"", subtitle);
    }
}

/* Value of tick k of an axis, snapped to 0 near zero so labels never read "-0.0". */
static double tick_value(const svg_axis *axis, long k) {
    double first = ceil(axis->lo / axis->step - 1e-9) * axis->step;
    double value = first + (double)k * axis->step;
    return fabs(value) < 1e-9 * axis->step ? 0.0 : value;
}

/* Number of ticks of an axis. */
static long tick_count(const svg_axis *axis) {
    long count = 0;
    while (tick_value(axis, count) <= axis->hi + 1e-9 * axis->step && count < 1000) {
        count++;
    }
    return count;
}

/* Writes the light grid lines at every tick of both axes. */
static void write_grid(out_file *out, const frame *f) {
    out_printf(out, "<g stroke=\"#e6e6e6\" stroke-width=\"1\">\n");
    for (long k = 0, n = tick_count(&f->x); k < n; k++) {
        double x = map_x(f, tick_value(&f->x, k));
        out_printf(out, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", x, f->top, x, f->bottom);
    }
    for (long k = 0, n = tick_count(&f->y); k < n; k++) {
        double y = map_y_axis(f, tick_value(&f->y, k));
        out_printf(out, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", f->left, y, f->right, y);
    }
    out_printf(out, "</g>\n");
}

/* Writes the x axis's tick marks and labels under the plot area. */
static void write_x_ticks(out_file *out, const frame *f) {
    char label[64];
    for (long k = 0, n = tick_count(&f->x); k < n; k++) {
        double value = tick_value(&f->x, k);
        double x = map_x(f, value);
        out_printf(out, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#333333\"/>\n", x,
                   f->bottom, x, f->bottom + 5);
        snprintf(label, sizeof label, "%.*f", f->x.decimals, value);
        write_text(out, x, f->bottom + 19, "text-anchor=\"middle\" font-size=\"12\"", label);
    }
}

/* Writes the y axis's tick marks and labels left of the plot area. */
static void write_y_ticks(out_file *out, const frame *f) {
    char label[64];
    for (long k = 0, n = tick_count(&f->y); k < n; k++) {
        double value = tick_value(&f->y, k);
        double y = map_y_axis(f, value);
        out_printf(out, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#333333\"/>\n",
                   f->left - 5, y, f->left, y);
        if (f->log_y) {
            snprintf(label, sizeof label, "%.3g", pow(10.0, value));
        } else {
            snprintf(label, sizeof label, "%.*f", f->y.decimals, value);
        }
        write_text(out, f->left - 8, y + 4, "text-anchor=\"end\" font-size=\"12\"", label);
    }
}

/* Writes the plot area's border, both axes' ticks and the axis labels. */
static void write_axes(out_file *out, const frame *f, const char *x_label, const char *y_label) {
    out_printf(
        out,
        "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" stroke=\"#333333\"/>\n",
        f->left, f->top, f->right - f->left, f->bottom - f->top);
    write_x_ticks(out, f);
    write_y_ticks(out, f);
    write_text(out, 0.5 * (f->left + f->right), f->bottom + 42, "text-anchor=\"middle\" font-size=\"13\"",
               x_label);
    char attributes[160];
    double centre = 0.5 * (f->top + f->bottom);
    snprintf(attributes, sizeof attributes,
             "text-anchor=\"middle\" font-size=\"13\" transform=\"rotate(-90 %.2f %.2f)\"", 20.0, centre);
    write_text(out, 20, centre, attributes, y_label);
}

/* Writes legend entry `index` (top to bottom) in the column right of the plot area. */
static void write_legend_entry(out_file *out, const frame *f, size_t index, legend_symbol symbol,
                               const char *color, double band_opacity, const char *label) {
    double x = f->right + 18;
    double y = f->top + 12 + 22.0 * (double)index;
    if (symbol == LEGEND_BAND) {
        out_printf(
            out,
            "<rect x=\"%.2f\" y=\"%.2f\" width=\"26\" height=\"12\" fill=\"%s\" fill-opacity=\"%.2f\"/>\n", x,
            y - 6, color, band_opacity);
    }
    if (symbol == LEGEND_MARKER) {
        out_printf(out, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"4.5\" fill=\"%s\"/>\n", x + 13, y, color);
    } else {
        out_printf(
            out,
            "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" stroke-width=\"2\"%s/>\n", x,
            y, x + 26, y, color, symbol == LEGEND_DASHED ? " stroke-dasharray=\"6 4\"" : "");
    }
    write_text(out, x + 34, y + 4, "font-size=\"12\"", label);
}

/* ----------------------------------------------------------------------------------------- */
/* Line charts                                                                               */
/* ----------------------------------------------------------------------------------------- */

/* True when point i of the series has a finite y (> 0 on a logarithmic axis) and, with `band`,
 * a finite spread. */
static bool point_usable_on(const svg_series *series, size_t i, bool band, bool log_y) {
    return isfinite(series->y[i]) && (!log_y || series->y[i] > 0.0) && (!band || isfinite(series->spread[i]));
}

/* point_usable_on a linear axis. */
static bool point_usable(const svg_series *series, size_t i, bool band) {
    return point_usable_on(series, i, band, false);
}

/* Writes the band y +- spread over the usable points [first, end) as one closed path. */
static void write_band_segment(out_file *out, const frame *f, const svg_series *series, size_t first,
                               size_t end, double opacity) {
    out_printf(out, "<path fill=\"%s\" fill-opacity=\"%.2f\" stroke=\"none\" d=\"", series->color, opacity);
    for (size_t i = first; i < end; i++) {
        out_printf(out, "%c%.2f,%.2f ", i == first ? 'M' : 'L', map_x(f, series->x[i]),
                   map_y(f, series->y[i] + series->spread[i]));
    }
    for (size_t i = end; i-- > first;) {
        out_printf(out, "L%.2f,%.2f ", map_x(f, series->x[i]), map_y(f, series->y[i] - series->spread[i]));
    }
    out_printf(out, "Z\"/>\n");
}

/* Writes the band of a series, one path per run of at least two usable points. */
static void write_band(out_file *out, const frame *f, const svg_series *series, double opacity) {
    size_t i = 0;
    while (i < series->count) {
        if (!point_usable(series, i, true)) {
            i++;
            continue;
        }
        size_t end = i;
        while (end < series->count && point_usable(series, end, true)) {
            end++;
        }
        if (end - i >= 2) {
            write_band_segment(out, f, series, i, end, opacity);
        }
        i = end;
    }
}

/* Writes the line of a series as one path (a NaN starts a new piece); a lone point gets a dot. */
static void write_line(out_file *out, const frame *f, const svg_series *series) {
    out_printf(out, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-linejoin=\"round\" d=\"",
               series->color);
    bool pen_down = false;
    for (size_t i = 0; i < series->count; i++) {
        if (!point_usable_on(series, i, false, f->log_y)) {
            pen_down = false;
            continue;
        }
        out_printf(out, "%c%.2f,%.2f ", pen_down ? 'L' : 'M', map_x(f, series->x[i]), map_y(f, series->y[i]));
        pen_down = true;
    }
    out_printf(out, "\"/>\n");
    if (series->count == 1 && point_usable_on(series, 0, false, f->log_y)) {
        out_printf(out, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%s\"/>\n", map_x(f, series->x[0]),
                   map_y(f, series->y[0]), series->color);
    }
}

/* Sets the chart's axes from its data: every x, every y +- spread, and the reference line. */
static void fit_line_axes(frame *f, const svg_line_chart *chart) {
    double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
    for (size_t s = 0; s < chart->series_count; s++) {
        const svg_series *series = &chart->series[s];
        for (size_t i = 0; i < series->count; i++) {
            include_value(&x_lo, &x_hi, series->x[i]);
            bool band = series->spread != NULL && point_usable(series, i, true);
            include_value(&y_lo, &y_hi, series->y[i] - (band ? series->spread[i] : 0.0));
            include_value(&y_lo, &y_hi, series->y[i] + (band ? series->spread[i] : 0.0));
        }
    }
    f->x = nice_axis(x_lo, x_hi);
    if (chart->log_y) {
        /* y_lo, y_hi of log10 of the positive values (a band's ends too) */
        f->log_y = true;
        y_lo = INFINITY;
        y_hi = -INFINITY;
        for (size_t s = 0; s < chart->series_count; s++) {
            for (size_t i = 0; i < chart->series[s].count; i++) {
                include_value(&y_lo, &y_hi, axis_y(f, chart->series[s].y[i]));
            }
        }
        y_hi += chart->y_headroom * (isfinite(y_hi - y_lo) ? y_hi - y_lo : 0.0);
        f->y = nice_axis(y_lo, y_hi);
        return;
    }
    include_value(&y_lo, &y_hi, chart->reference_y);
    const double data_hi = y_hi;
    y_lo = !isnan(chart->y_floor) && y_lo < chart->y_floor ? chart->y_floor : y_lo;
    y_hi = !isnan(chart->y_ceiling) && y_hi > chart->y_ceiling ? chart->y_ceiling : y_hi;
    f->y = nice_axis(y_lo, y_hi);
    /* Headroom: when the highest value is within y_headroom of the rounded top, the top moves up
     * by that fraction (between ticks: no tick is added). */
    const double room = chart->y_headroom * (f->y.hi - f->y.lo);
    if (room > 0.0 && isfinite(data_hi) && f->y.hi - data_hi < room) {
        f->y.hi = data_hi + room;
    }
    limit_axis(&f->y, chart->y_floor, chart->y_ceiling);
}

/* Writes a marker: a vertical dashed line across the plot area at x. */
static void write_marker(out_file *out, const frame *f, const svg_marker *marker) {
    double x = map_x(f, marker->x);
    out_printf(out,
               "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" stroke-width=\"1.5\" "
               "stroke-dasharray=\"4 3\"/>\n",
               x, f->top, x, f->bottom, marker->color);
}

/* Writes the dashed reference line across the plot area. */
static void write_reference(out_file *out, const frame *f, double y_value) {
    double y = map_y(f, y_value);
    out_printf(
        out,
        "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#555555\" stroke-width=\"1.2\" "
        "stroke-dasharray=\"6 4\"/>\n",
        f->left, y, f->right, y);
}

/* Writes the line chart's data (bands, reference line, lines) clipped to the clip path clip_id. */
static void write_line_data(out_file *out, const frame *f, const svg_line_chart *chart, const char *clip_id) {
    out_printf(out, "<g clip-path=\"url(#%s)\">\n", clip_id);
    for (size_t s = 0; s < chart->series_count; s++) {
        if (chart->series[s].spread != NULL) {
            write_band(out, f, &chart->series[s], chart->band_opacity);
        }
    }
    if (!isnan(chart->reference_y) && !chart->log_y) {
        write_reference(out, f, chart->reference_y);
    }
    for (size_t s = 0; s < chart->series_count; s++) {
        write_line(out, f, &chart->series[s]);
    }
    for (size_t m = 0; m < chart->marker_count; m++) {
        write_marker(out, f, &chart->markers[m]);
    }
    out_printf(out, "</g>\n");
}

/* Writes the line chart's legend: one entry per series, then the reference line. */
static void write_line_legend(out_file *out, const frame *f, const svg_line_chart *chart) {
    for (size_t s = 0; s < chart->series_count; s++) {
        const svg_series *series = &chart->series[s];
        legend_symbol symbol = series->spread != NULL ? LEGEND_BAND : LEGEND_LINE;
        write_legend_entry(out, f, s, symbol, series->color, chart->band_opacity, series->label);
    }
    size_t entry = chart->series_count;
    if (!isnan(chart->reference_y) && !chart->log_y && chart->reference_label != NULL) {
        write_legend_entry(out, f, entry++, LEGEND_DASHED, "#555555", 0.0, chart->reference_label);
    }
    for (size_t m = 0; m < chart->marker_count; m++) {
        write_legend_entry(out, f, entry++, LEGEND_DASHED, chart->markers[m].color, 0.0,
                           chart->markers[m].label);
    }
}

/* Writes everything of a line chart after the clip path: titles, grid, data, axes, legend. */
static void write_line_chart_body(out_file *out, const frame *f, const svg_line_chart *chart,
                                  const char *clip_id) {
    write_titles(out, f, chart->title, chart->subtitle);
    write_grid(out, f);
    write_line_data(out, f, chart, clip_id);
    write_axes(out, f, chart->x_label, chart->y_label);
    write_line_legend(out, f, chart);
}

bool svg_write_line_chart(const char *path, const svg_line_chart *chart) {
    frame f = LINE_CHART_FRAME;
    fit_line_axes(&f, chart);
    out_file out;
    if (!out_open(&out, path)) {
        return false;
    }
    write_header(&out, &f);
    write_line_chart_body(&out, &f, chart, "plot-area");
    write_footer(&out);
    return out_close(&out);
}

bool svg_write_line_charts(const char *path, const svg_line_chart *charts, size_t count) {
    out_file out;
    if (!out_open(&out, path)) {
        return false;
    }
    write_document_start(&out, LINE_CHART_FRAME.width, LINE_CHART_FRAME.height * (double)count);
    for (size_t k = 0; k < count; k++) {
        frame f = LINE_CHART_FRAME;
        fit_line_axes(&f, &charts[k]);
        char clip_id[32];
        snprintf(clip_id, sizeof clip_id, "plot-area-%zu", k);
        /* Each panel draws in its own coordinates, shifted down by the panels above it. */
        out_printf(&out, "<g transform=\"translate(0 %.0f)\">\n", LINE_CHART_FRAME.height * (double)k);
        write_clip_path(&out, &f, clip_id);
        write_line_chart_body(&out, &f, &charts[k], clip_id);
        out_printf(&out, "</g>\n");
    }
    write_footer(&out);
    return out_close(&out);
}

/* ----------------------------------------------------------------------------------------- */
/* Scatter plots                                                                             */
/* ----------------------------------------------------------------------------------------- */

/* Sets the scatter plot's axes from its points. */
static void fit_scatter_axes(frame *f, const svg_scatter *chart) {
    double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
    for (size_t i = 0; i < chart->count; i++) {
        include_value(&x_lo, &x_hi, chart->x[i]);
        include_value(&y_lo, &y_hi, chart->y[i]);
    }
    f->x = nice_axis(x_lo, x_hi);
    f->y = nice_axis(y_lo, y_hi);
}

/* Writes the points group by group (as matplotlib draws one scatter call per class). */
static void write_points(out_file *out, const frame *f, const svg_scatter *chart) {
    out_printf(out, "<g clip-path=\"url(#plot-area)\">\n");
    for (size_t g = 0; g < chart->group_count; g++) {
        out_printf(out, "<g fill=\"%s\" fill-opacity=\"0.8\">\n", chart->group_colors[g]);
        for (size_t i = 0; i < chart->count; i++) {
            if (chart->group[i] == (int)g && isfinite(chart->x[i]) && isfinite(chart->y[i])) {
                out_printf(out, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\"/>\n", map_x(f, chart->x[i]),
                           map_y(f, chart->y[i]));
            }
        }
        out_printf(out, "</g>\n");
    }
    out_printf(out, "</g>\n");
}

bool svg_write_scatter(const char *path, const svg_scatter *chart) {
    frame f = SCATTER_FRAME;
    fit_scatter_axes(&f, chart);
    out_file out;
    if (!out_open(&out, path)) {
        return false;
    }
    write_header(&out, &f);
    write_titles(&out, &f, chart->title, chart->subtitle);
    write_grid(&out, &f);
    write_points(&out, &f, chart);
    write_axes(&out, &f, chart->x_label, chart->y_label);
    for (size_t g = 0; g < chart->group_count; g++) {
        write_legend_entry(&out, &f, g, LEGEND_MARKER, chart->group_colors[g], 0.0, chart->group_labels[g]);
    }
    write_footer(&out);
    return out_close(&out);
}
