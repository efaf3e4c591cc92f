/*
 * progress.c - the per-epoch and per-batch progress line.
 */
/* TIOCGWINSZ and struct winsize come with the default (BSD/SVID) features of glibc. */
#define _DEFAULT_SOURCE

#include "progress.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* Longest line assembled (a line is cut or wrapped to the terminal's width after). */
#define LINE_SIZE 512

double progress_now(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}

/* The width of the terminal behind stream: TIOCGWINSZ, else $COLUMNS, else 80. */
static size_t terminal_columns(FILE *stream) {
    struct winsize size;
    if (ioctl(fileno(stream), TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
        return size.ws_col;
    }
    const char *columns = getenv("COLUMNS");
    char *end = NULL;
    long value = columns != NULL ? strtol(columns, &end, 10) : 0;
    return columns != NULL && end != columns && *end == '\0' && value > 0 && value < 10000 ? (size_t)value
                                                                                           : 80;
}

void progress_start(progress *p, FILE *stream, size_t epochs, size_t steps, bool has_accuracy) {
    *p = (progress){.stream = stream, .epochs = epochs, .steps = steps, .has_accuracy = has_accuracy};
    p->terminal = stream != NULL && isatty(fileno(stream));
    p->columns = p->terminal ? terminal_columns(stream) : 0;
    p->start = progress_now();
    p->epoch_start = p->start;
}

void progress_format_metrics(const bnmlp_epoch_record *record, bool has_accuracy, char *buffer, size_t size) {
    int used = snprintf(buffer, size, "loss: %.4f", record->loss);
    if (has_accuracy && used >= 0 && (size_t)used < size) {
        used += snprintf(buffer + used, size - (size_t)used, "  accuracy: %.4f", record->accuracy);
    }
    if (!isnan(record->val_loss) && used >= 0 && (size_t)used < size) {
        used += snprintf(buffer + used, size - (size_t)used, "  val_loss: %.4f", record->val_loss);
        if (has_accuracy && used >= 0 && (size_t)used < size) {
            snprintf(buffer + used, size - (size_t)used, "  val_accuracy: %.4f", record->val_accuracy);
        }
    }
}

/* The duration as the line shows it: milliseconds below 0.1 s, else seconds. */
static void format_duration(double seconds, char *buffer, size_t size) {
    if (seconds < 0.1) {
        snprintf(buffer, size, "%.1fms", 1000.0 * seconds);
    } else {
        snprintf(buffer, size, "%.2fs", seconds);
    }
}

/* Assembles "Epoch E/N  B/S [bar] TAIL" into line with a bar of bar_width (0: no bar), done of
 * it filled ('>' at the head while not full). Returns the length. */
static size_t compose(const progress *p, size_t epoch, size_t batch, size_t bar_width, const char *tail,
                      char *line) {
    char bar[PROGRESS_BAR_WIDTH + 3] = "";
    if (bar_width > 0) {
        size_t filled = p->steps > 0 ? bar_width * batch / p->steps : bar_width;
        bar[0] = '[';
        for (size_t i = 0; i < bar_width; i++) {
            bar[1 + i] = i < filled ? '=' : (i == filled ? '>' : '.');
        }
        bar[1 + bar_width] = ']';
        bar[2 + bar_width] = '\0';
    }
    int length = snprintf(line, LINE_SIZE, "Epoch %zu/%zu  %zu/%zu %s%s%s", epoch, p->epochs, batch, p->steps,
                          bar, bar_width > 0 ? " " : "", tail);
    return length < 0 ? 0 : (size_t)length >= LINE_SIZE ? LINE_SIZE - 1 : (size_t)length;
}

/* The widest bar that lets a line of `rest` other characters fit the terminal (0: none fits). */
static size_t bar_width_for(const progress *p, size_t rest) {
    if (!p->terminal) {
        return PROGRESS_BAR_WIDTH;
    }
    size_t room = p->columns > rest + 3 ? p->columns - 1 - rest - 3 : 0; /* brackets and a blank */
    return room >= PROGRESS_BAR_WIDTH ? PROGRESS_BAR_WIDTH : room >= PROGRESS_MIN_BAR_WIDTH ? room : 0;
}

/* Draws line over the one being redrawn: back to its start, the text, blanks over the rest. */
static void redraw(progress *p, const char *line, size_t length) {
    fprintf(p->stream, "\r%s%*s", line, p->line_length > length ? (int)(p->line_length - length) : 0, "");
    if (p->line_length > length) {
        fprintf(p->stream, "\r%s", line); /* the cursor back after the text */
    }
    p->line_length = length;
}

/* Prints a final line on a terminal: wrapped between the "  "-separated parts that would cross
 * the right edge, continuation lines indented by 4. */
static void print_wrapped(progress *p, const char *line, size_t length) {
    size_t limit = p->columns > 1 ? p->columns - 1 : 1;
    if (length <= limit) {
        redraw(p, line, length);
        fputc('\n', p->stream);
        p->line_length = 0;
        return;
    }
    redraw(p, "", 0);
    size_t column = 0;
    const char *part = line;
    while (*part != '\0') {
        const char *next = strstr(part, "  ");
        size_t part_length = next != NULL ? (size_t)(next - part) : strlen(part);
        if (column > 0 && column + 2 + part_length > limit) {
            fputs("\n    ", p->stream);
            column = 4;
        } else if (column > 0) {
            fputs("  ", p->stream);
            column += 2;
        }
        fwrite(part, 1, part_length, p->stream);
        column += part_length;
        part = next != NULL ? next + 2 : part + part_length;
    }
    fputc('\n', p->stream);
    p->line_length = 0;
}

void progress_batch(progress *p, size_t epoch, size_t batch, double loss, double accuracy) {
    if (p->stream == NULL || !p->terminal) {
        return;
    }
    char tail[160] = "", duration[32], line[LINE_SIZE];
    format_duration(progress_now() - p->epoch_start, duration, sizeof duration);
    int used = snprintf(tail, sizeof tail, "%s", duration);
    if (!isnan(loss) && used >= 0 && (size_t)used < sizeof tail) {
        used += snprintf(tail + used, sizeof tail - (size_t)used, "  loss: %.4f", loss);
    }
    if (p->has_accuracy && !isnan(accuracy) && used >= 0 && (size_t)used < sizeof tail) {
        snprintf(tail + used, sizeof tail - (size_t)used, "  accuracy: %.4f", accuracy);
    }
    size_t rest = compose(p, epoch, batch, 0, tail, line);
    size_t length = compose(p, epoch, batch, bar_width_for(p, rest), tail, line);
    size_t limit = p->columns > 1 ? p->columns - 1 : 1;
    if (length > limit) { /* a redrawn line must stay one line: cut it */
        line[limit] = '\0';
        length = limit;
    }
    redraw(p, line, length);
    fflush(p->stream);
}

void progress_epoch(progress *p, const bnmlp_epoch_record *record, const char *extra) {
    double now = progress_now();
    double seconds = now - p->epoch_start;
    p->epoch_start = now;
    if (p->stream == NULL) {
        return;
    }
    char metrics[160], duration[32], tail[LINE_SIZE - 40], line[LINE_SIZE];
    progress_format_metrics(record, p->has_accuracy, metrics, sizeof metrics);
    format_duration(seconds, duration, sizeof duration);
    snprintf(tail, sizeof tail, "%s  %s%s", duration, metrics, extra != NULL ? extra : "");
    size_t rest = compose(p, record->epoch, p->steps, 0, tail, line);
    size_t length = compose(p, record->epoch, p->steps, bar_width_for(p, rest), tail, line);
    if (p->terminal) {
        print_wrapped(p, line, length);
    } else {
        fprintf(p->stream, "%s\n", line);
    }
    fflush(p->stream);
}

void progress_break(progress *p) {
    if (p->stream != NULL && p->terminal && p->line_length > 0) {
        fputc('\n', p->stream);
        p->line_length = 0;
    }
}

void progress_finish(progress *p, size_t epochs_run) {
    double total = progress_now() - p->start;
    if (p->stream == NULL) {
        return;
    }
    progress_break(p);
    double per_epoch = epochs_run > 0 ? 1000.0 * total / (double)epochs_run : 0.0;
    fprintf(p->stream, "%zu epoch%s in %.2fs (%.1f ms/epoch)\n", epochs_run, epochs_run == 1 ? "" : "s",
            total, per_epoch);
    fflush(p->stream);
}
