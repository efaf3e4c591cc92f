/*
 * weights.c - --class-weight balanced|C:W,... and --weight-normalization into bnmlp_loss_weights.
 * A class is a name of the model's classes (text labels) or an index; a class not listed weighs 1
 * (scikit-learn's dict class_weight); balanced is the library's bnmlp_class_weights_balanced on
 * the training rows. Normalization names come from the library.
 */
#include "weights.h"

#include <stdlib.h>
#include <string.h>

#include "numbers.h"

/* Largest weight the flag takes (a float32 keeps it and its products with the losses finite). */
#define MAX_CLASS_WEIGHT 1e6

/* The class a spec names: a class name of the model, else an index below classes; false if none. */
static bool find_class(const bnmlp_model *model, size_t classes, const char *text, size_t *out) {
    for (size_t c = 0; c < classes; c++) {
        const char *name = bnmlp_model_class_name(model, c);
        if (name != NULL && strcmp(name, text) == 0) {
            *out = c;
            return true;
        }
    }
    unsigned long long index = 0;
    if (!parse_decimal(text, 0, (double)classes - 1.0, &index)) {
        return false;
    }
    *out = (size_t)index;
    return true;
}

/* The classes of the model as "0 (\"a\"), 1 (\"b\")" or "0 to K-1", for messages. */
static void list_classes(const bnmlp_model *model, size_t classes, char *text, size_t size) {
    if (bnmlp_model_class_name(model, 0) == NULL) {
        snprintf(text, size, "the class indices 0 to %zu", classes - 1);
        return;
    }
    size_t used = (size_t)snprintf(text, size, "the class names");
    for (size_t c = 0; c < classes && used < size; c++) {
        int n = snprintf(text + used, size - used, "%s \"%s\"", c > 0 ? "," : "",
                         bnmlp_model_class_name(model, c));
        used += n > 0 ? (size_t)n : 0;
    }
    if (used < size) {
        snprintf(text + used, size - used, " or the indices 0 to %zu", classes - 1);
    }
}

/* True when a row of targets y (class indices, or one-hot rows: their first maximum) is of class c. */
static bool class_has_rows(const bnmlp_tensor *y, size_t classes, size_t c) {
    for (size_t r = 0; r < y->rows; r++) {
        const float *row = y->data + r * y->cols;
        size_t k = 0;
        if (y->cols == 1) {
            k = (size_t)row[0];
        } else {
            for (size_t j = 1; j < classes; j++) {
                k = row[j] > row[k] ? j : k;
            }
        }
        if (k == c) {
            return true;
        }
    }
    return false;
}

/* The next CLASS:WEIGHT item of *text (advanced past it and its comma) into class_text and
 * weight_text (in buffer, size bytes). CLASS may be in double quotes (a doubled quote inside
 * stands for one) to hold a comma or a colon, as a CSV field; unquoted, it runs to the last colon
 * before the next comma. False for an item without a colon or a class. */
static bool next_item(const char **text, char *buffer, size_t size, char **class_text, char **weight_text) {
    const char *at = *text;
    size_t used = 0;
    if (*at == '"') {
        for (at++; *at != '\0' && used + 1 < size; at++) {
            if (*at == '"' && at[1] != '"') {
                break;
            }
            at += *at == '"'; /* a doubled quote */
            buffer[used++] = *at;
        }
        if (*at != '"' || at[1] != ':') {
            return false;
        }
        buffer[used++] = '\0';
        at += 2;
    } else {
        const char *comma = strchr(at, ',');
        const char *end = comma != NULL ? comma : at + strlen(at);
        const char *colon = NULL;
        for (const char *p = at; p < end; p++) {
            colon = *p == ':' ? p : colon;
        }
        if (colon == NULL || colon == at || (size_t)(colon - at) + 1 >= size) {
            return false;
        }
        memcpy(buffer, at, (size_t)(colon - at));
        used = (size_t)(colon - at);
        buffer[used++] = '\0';
        at = colon + 1;
    }
    *class_text = buffer;
    *weight_text = buffer + used;
    const char *comma = strchr(at, ',');
    const size_t length = comma != NULL ? (size_t)(comma - at) : strlen(at);
    if (used + length + 1 > size) {
        return false;
    }
    memcpy(buffer + used, at, length);
    buffer[used + length] = '\0';
    *text = comma != NULL ? comma + 1 : at + length;
    return true;
}

/* --class-weight C:W,C:W... into values (classes of them, 1 where not listed). */
static bool read_pairs(const char *spec, const bnmlp_model *model, size_t classes, float *values,
                       char *problem, size_t size) {
    bool *seen = calloc(classes, sizeof *seen);
    const size_t buffer_size = strlen(spec) + 2;
    char *buffer = malloc(buffer_size);
    bool ok = seen != NULL && buffer != NULL;
    if (!ok) {
        snprintf(problem, size, "--class-weight: out of memory");
    }
    for (size_t c = 0; c < classes; c++) {
        values[c] = 1.0f;
    }
    char names[512];
    for (const char *text = spec; ok && *text != '\0';) {
        const char *item = text;
        char *class_text = NULL, *weight_text = NULL;
        double weight = 0.0;
        size_t c = 0;
        if (!next_item(&text, buffer, buffer_size, &class_text, &weight_text)) {
            const char *comma = strchr(item, ',');
            snprintf(problem, size, "bad --class-weight item '%.*s' (expected CLASS:WEIGHT, or balanced)",
                     (int)(comma != NULL ? (size_t)(comma - item) : strlen(item)), item);
            ok = false;
        } else if (!find_class(model, classes, class_text, &c)) {
            list_classes(model, classes, names, sizeof names);
            snprintf(problem, size, "--class-weight: unknown class '%s' (the model's classes: %s)",
                     class_text, names);
            ok = false;
        } else if (!parse_real(weight_text, 0.0, MAX_CLASS_WEIGHT, CLOSED, &weight)) {
            snprintf(problem, size,
                     "--class-weight: the weight '%s' of class %s is not a number from 0 to %g", weight_text,
                     class_text, MAX_CLASS_WEIGHT);
            ok = false;
        } else if (seen[c]) {
            snprintf(problem, size, "--class-weight: class %s (index %zu) is given twice", class_text, c);
            ok = false;
        } else {
            seen[c] = true;
            values[c] = (float)weight;
        }
    }
    free(seen);
    free(buffer);
    return ok;
}

bool weights_apply(const cli_options *opts, const bnmlp_model *model, const bnmlp_tensor *train_y,
                   bnmlp_loss_weights *weights, float **storage, char *problem, size_t size) {
    *storage = NULL;
    bnmlp_weight_normalization normalization = BNMLP_WEIGHTS_OVER_BATCH_SIZE;
    if (opts->weight_normalization != NULL &&
        bnmlp_weight_normalization_from_name(opts->weight_normalization, &normalization) != BNMLP_OK) {
        char names[128] = "";
        for (size_t i = 0, used = 0; i < bnmlp_weight_normalization_count() && used < sizeof names; i++) {
            int n = snprintf(names + used, sizeof names - used, "%s%s", i > 0 ? ", " : "",
                             bnmlp_weight_normalization_name((bnmlp_weight_normalization)i));
            used += n > 0 ? (size_t)n : 0;
        }
        snprintf(problem, size, "unknown --weight-normalization '%s' (expected one of %s)",
                 opts->weight_normalization, names);
        return false;
    }
    if (opts->class_weight == NULL) {
        if (opts->weight_normalization != NULL) {
            snprintf(problem, size, "--weight-normalization needs --class-weight");
            return false;
        }
        return true;
    }
    const size_t classes = bnmlp_model_class_count(model);
    if (classes == 0) {
        snprintf(problem, size,
                 "--class-weight needs classes: the loss %s with %zu output(s) has none (weights apply to "
                 "binary cross-entropy with one output and categorical cross-entropy)",
                 bnmlp_loss_name(bnmlp_model_loss(model)), bnmlp_model_output_width(model));
        return false;
    }
    float *values = malloc(classes * sizeof *values);
    if (values == NULL) {
        snprintf(problem, size, "--class-weight: out of memory");
        return false;
    }
    bool ok = true;
    if (strcmp(opts->class_weight, "balanced") == 0) {
        const bnmlp_status status = bnmlp_class_weights_balanced(train_y, classes, values);
        if (status != BNMLP_OK) {
            /* The only way it fails on checked labels: a class without a training row. */
            size_t missing = 0;
            while (missing + 1 < classes && class_has_rows(train_y, classes, missing)) {
                missing++;
            }
            const char *name = bnmlp_model_class_name(model, missing);
            snprintf(problem, size,
                     "--class-weight balanced: class %zu%s%s%s has no training row, so its weight would be "
                     "infinite (give the weights as CLASS:WEIGHT)",
                     missing, name ? " (\"" : "", name ? name : "", name ? "\")" : "");
            ok = false;
        }
    } else {
        ok = read_pairs(opts->class_weight, model, classes, values, problem, size);
    }
    if (!ok) {
        free(values);
        return false;
    }
    *storage = values;
    weights->class_weights = values;
    weights->class_count = classes;
    weights->normalization = normalization;
    return true;
}

void weights_print(FILE *out, const char *source, const bnmlp_loss_weights *weights,
                   const bnmlp_model *model) {
    if (weights->class_weights == NULL) {
        return;
    }
    fprintf(out, "Class weights (%s, normalization %s):", source,
            bnmlp_weight_normalization_name(weights->normalization));
    for (size_t c = 0; c < weights->class_count; c++) {
        const char *name = bnmlp_model_class_name(model, c);
        if (name != NULL) {
            fprintf(out, "%s %zu \"%s\": %.6g", c > 0 ? "," : "", c, name, (double)weights->class_weights[c]);
        } else {
            fprintf(out, "%s %zu: %.6g", c > 0 ? "," : "", c, (double)weights->class_weights[c]);
        }
    }
    fputc('\n', out);
}
