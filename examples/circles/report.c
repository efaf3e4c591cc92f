/*
 * report.c - formatting the summaries for people (a table) and for programs (CSV).
 */
#include "report.h"

#include <math.h>

#include "outfile.h"

/* "±" in UTF-8. */
#define PLUS_MINUS "\xC2\xB1"

/* Formats mean ± sd with four decimals ("n/a" for an undefined sd) into cell. */
static void format_mean_sd(char *cell, size_t size, double mean, double sd) {
    if (isnan(sd)) {
        snprintf(cell, size, "%.4f " PLUS_MINUS "    n/a", mean);
    } else {
        snprintf(cell, size, "%.4f " PLUS_MINUS " %.4f", mean, sd);
    }
}

/* Prints one variant's row of the table. */
static void print_summary_row(FILE *out, variant v, const variant_summary *s) {
    char train[48], test[48], epochs[32];
    format_mean_sd(train, sizeof train, s->train_accuracy_mean, s->train_accuracy_sd);
    format_mean_sd(test, sizeof test, s->test_accuracy_mean, s->test_accuracy_sd);
    if (isnan(s->epochs_to_target_mean)) {
        snprintf(epochs, sizeof epochs, "-");
    } else {
        snprintf(epochs, sizeof epochs, "%.1f", s->epochs_to_target_mean);
    }
    fprintf(out, "%-12s %5zu  %-22s %-22s %14s %6zu %12.4f\n", variant_name(v), s->runs, train, test, epochs,
            s->runs_missing_target, s->seconds_median);
}

void print_summary_table(FILE *out, const variant *variants, const variant_summary *summaries, size_t count) {
    /* Every cell of the two accuracy columns, header included, holds one two-byte "±", so
     * byte-counted widths keep the columns aligned. */
    fprintf(out, "%-12s %5s  %-22s %-22s %14s %6s %12s\n", "variant", "runs",
            "train acc mean " PLUS_MINUS " sd", "test acc mean " PLUS_MINUS " sd", "epochs to 0.80", "never",
            "median s/run");
    for (size_t i = 0; i < count; i++) {
        print_summary_row(out, variants[i], &summaries[i]);
    }
    for (size_t i = 0; i < count; i++) {
        if (summaries[i].runs_diverged > 0) {
            fprintf(out, "note: %zu run(s) of %s diverged (loss not finite); their curves stop early\n",
                    summaries[i].runs_diverged, variant_name(variants[i]));
        }
    }
}

/* Writes ",value" with 9 significant digits, or just "," when value is NaN (undefined). */
static void write_field(out_file *out, double value) {
    if (isnan(value)) {
        out_printf(out, ",");
    } else {
        out_printf(out, ",%.9g", value);
    }
}

bool write_summary_csv(const char *path, const variant *variants, const variant_summary *summaries,
                       size_t count) {
    out_file out;
    if (!out_open(&out, path)) {
        return false;
    }
    out_printf(&out, "variant,runs,train_acc_mean,train_acc_std,test_acc_mean,test_acc_std,epochs_to_80_mean,"
                     "runs_not_reaching_80,seconds_per_run_median\n");
    for (size_t i = 0; i < count; i++) {
        const variant_summary *s = &summaries[i];
        out_printf(&out, "%s,%zu", variant_name(variants[i]), s->runs);
        write_field(&out, s->train_accuracy_mean);
        write_field(&out, s->train_accuracy_sd);
        write_field(&out, s->test_accuracy_mean);
        write_field(&out, s->test_accuracy_sd);
        write_field(&out, s->epochs_to_target_mean);
        out_printf(&out, ",%zu,%.6f\n", s->runs_missing_target, s->seconds_median);
    }
    return out_close(&out);
}

/* Writes the history rows of one run. */
static void write_run_history(out_file *out, const char *name, size_t run, const run_result *result) {
    for (size_t e = 0; e < result->epochs_run; e++) {
        const bnmlp_epoch_record *record = &result->history[e];
        out_printf(out, "%s,%zu,%zu", name, run, record->epoch);
        write_field(out, record->loss);
        write_field(out, record->accuracy);
        write_field(out, record->val_loss);
        write_field(out, record->val_accuracy);
        out_printf(out, "\n");
    }
}

bool write_history_csv(const char *path, const experiment_setup *setup, const experiment_results *results) {
    out_file out;
    if (!out_open(&out, path)) {
        return false;
    }
    out_printf(&out, "variant,run,epoch,loss,acc,val_loss,val_acc\n");
    for (size_t v = 0; v < results->variant_count; v++) {
        for (size_t r = 0; r < results->repeats; r++) {
            write_run_history(&out, variant_name(setup->variants[v]), r, experiment_result(results, v, r));
        }
    }
    return out_close(&out);
}
