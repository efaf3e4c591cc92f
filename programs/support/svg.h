/*
 * svg.h - a small, dependency-free SVG chart writer: line charts with shaded bands, and scatter
 * plots. Both have a title, axes with "nice" ticks and grid lines, axis labels and a legend to
 * the right of the plot area. Files are standalone SVG 1.1 that browsers open directly.
 * Shared by the example programs and the bnmlp tool (target bnmlp_program_support).
 */
#ifndef BNMLP_PROGRAM_SVG_H
#define BNMLP_PROGRAM_SVG_H

#include <stdbool.h>
#include <stddef.h>

/* One curve of a line chart, with an optional shaded band y +- spread. */
typedef struct svg_series {
    const char *label;    /* legend text */
    const char *color;    /* CSS colour, e.g. "#1f77b4" */
    const double *x;      /* count x values, increasing */
    const double *y;      /* count y values; a NaN breaks the line */
    const double *spread; /* NULL for no band, or count half-widths (a NaN breaks the band) */
    size_t count;         /* number of points */
} svg_series;

/* A vertical dashed line at an x value, with its own legend entry. */
typedef struct svg_marker {
    double x;          /* where */
    const char *label; /* legend text */
    const char *color; /* CSS colour */
} svg_marker;

/* A line chart. Fields left zero add nothing (no markers, linear y, no headroom). */
typedef struct svg_line_chart {
    const char *title;           /* bold line above the plot */
    const char *subtitle;        /* smaller grey line under the title; NULL for none */
    const char *x_label;         /* text under the x axis */
    const char *y_label;         /* text left of the y axis, rotated */
    const svg_series *series;    /* the curves, drawn in order (bands first, then lines) */
    size_t series_count;         /* number of curves */
    double band_opacity;         /* fill opacity of the bands, e.g. 0.2 */
    double reference_y;          /* y of a dashed grey horizontal line; NaN for none */
    const char *reference_label; /* its legend text */
    double y_floor;              /* the y axis never goes below this (NaN: no limit) */
    double y_ceiling;            /* the y axis never goes above this (NaN: no limit) */
    double y_headroom;           /* room kept above the highest y, as a fraction of the axis's
                                    range: the top moves up (between ticks) when the data come
                                    closer to it (0: none); y_ceiling still holds */
    bool log_y;                  /* a log10 y axis: only y > 0 is drawn; y_floor, y_ceiling and
                                    reference_y are then ignored */
    const svg_marker *markers;   /* vertical lines drawn over the data; NULL for none */
    size_t marker_count;         /* entries of markers */
} svg_line_chart;

/* A scatter plot of points in groups (one colour and legend entry per group). */
typedef struct svg_scatter {
    const char *title;               /* bold line above the plot */
    const char *subtitle;            /* smaller grey line under the title; NULL for none */
    const char *x_label;             /* text under the x axis */
    const char *y_label;             /* text left of the y axis, rotated */
    const double *x;                 /* count x values */
    const double *y;                 /* count y values */
    const int *group;                /* count group indices in [0, group_count) */
    size_t count;                    /* number of points */
    const char *const *group_labels; /* group_count legend texts */
    const char *const *group_colors; /* group_count CSS colours */
    size_t group_count;              /* number of groups */
} svg_scatter;

/* The i-th colour of matplotlib's default cycle (tab10), repeating after ten. */
const char *svg_palette_color(size_t index);

/* Writes the line chart to path. A failure is reported with the path on stderr; false then. */
bool svg_write_line_chart(const char *path, const svg_line_chart *chart);

/* Writes count line charts (>= 1) into one file at path, stacked top to bottom, each a panel of
 * the size svg_write_line_chart draws. A failure is reported with the path on stderr; false then. */
bool svg_write_line_charts(const char *path, const svg_line_chart *charts, size_t count);

/* Writes the scatter plot to path. A failure is reported with the path on stderr; false then. */
bool svg_write_scatter(const char *path, const svg_scatter *chart);

#endif /* BNMLP_PROGRAM_SVG_H */
