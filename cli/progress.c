/*
 * progress.c - the per-epoch progress line.
 */
#include "progress.h"

#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double progress_now(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}

void progress_start(progress *p, FILE *stream, size_t epochs, size_t steps, bool has_accuracy) {
    *p = (progress){.stream = stream, .epochs = epochs, .steps = steps, .has_accuracy = has_accuracy};
    p->terminal = stream != NULL && isatty(fileno(stream));
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

void progress_epoch(progress *p, const bnmlp_epoch_record *record) {
    double now = progress_now();
    double seconds = now - p->epoch_start;
    p->epoch_start = now;
    if (p->stream == NULL) {
        return;
    }
    char bar[PROGRESS_BAR_WIDTH + 1];
    memset(bar, '=', PROGRESS_BAR_WIDTH);
    bar[PROGRESS_BAR_WIDTH] = '\0';
    char metrics[160];
    progress_format_metrics(record, p->has_accuracy, metrics, sizeof metrics);
    char duration[32];
    if (seconds < 0.1) {
        snprintf(duration, sizeof duration, "%.1fms", 1000.0 * seconds);
    } else {
        snprintf(duration, sizeof duration, "%.2fs", seconds);
    }
    char line[320];
    int length = snprintf(line, sizeof line, "Epoch %zu/%zu  %zu/%zu [%s] %s  %s", record->epoch, p->epochs,
                          p->steps, p->steps, bar, duration, metrics);
    size_t drawn = length < 0 ? 0 : (size_t)length >= sizeof line ? sizeof line - 1 : (size_t)length;
    if (p->terminal) {
        /* Back to the start of the line, the new text, and blanks over what a longer line left. */
        fprintf(p->stream, "\r%s%*s", line, p->line_length > drawn ? (int)(p->line_length - drawn) : 0, "");
        p->line_length = drawn;
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
