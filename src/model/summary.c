/* summary.c - the Keras-like text summary of a model. Column widths come from the content, so
 * the table stays aligned for any model (long default names such as batch_normalization_1). */
#include <string.h>

#include "model/model.h"

/* Longest name, shape and settings text of one summary line. */
#define SUMMARY_NAME_SIZE 96
#define SUMMARY_SHAPE_SIZE 32
#define SUMMARY_SETTINGS_SIZE 128

/* One layer's line: its Keras-style name, output shape and settings. */
typedef struct summary_line {
    char name[SUMMARY_NAME_SIZE];         /* "batch_normalization_1 (BatchNormalization)" */
    char shape[SUMMARY_SHAPE_SIZE];       /* "(None, 50)" */
    char settings[SUMMARY_SETTINGS_SIZE]; /* the row's describe text, "(frozen)" appended */
} summary_line;

/* Fills line for layer i. */
static void summary_describe(const bnmlp_model *model, size_t i, summary_line *line) {
    const bnmlp_layer *layer = &model->layers[i];
    size_t nth = 0; /* earlier layers of the same kind: Keras numbers its default names */
    for (size_t j = 0; j < i; j++) nth += model->layers[j].ops == layer->ops;
    const char *prefix = layer->ops->prefix, *class_name = layer->ops->class_name;
    if (nth)
        snprintf(line->name, sizeof line->name, "%s_%zu (%s)", prefix, nth, class_name);
    else
        snprintf(line->name, sizeof line->name, "%s (%s)", prefix, class_name);
    snprintf(line->shape, sizeof line->shape, "(None, %zu)", layer->out);
    line->settings[0] = '\0';
    if (layer->ops->describe) layer->ops->describe(layer, line->settings, sizeof line->settings);
    if (!layer->trainable) {
        size_t used = strlen(line->settings);
        snprintf(line->settings + used, sizeof line->settings - used, "%s(frozen)", used ? "  " : "");
    }
}

/* Writes a rule of width characters of c and a newline; nonzero on a write error. */
static int summary_rule(FILE *out, char c, size_t width) {
    int failed = 0;
    for (size_t i = 0; i < width; i++) failed |= fputc(c, out) == EOF;
    return failed | (fputc('\n', out) == EOF);
}

bnmlp_status bnmlp_model_summary(const bnmlp_model *model, FILE *out) {
    if (!model || !out) return BNMLP_ERR_NULL_ARGUMENT;
    /* The widths: the longest of each column, at least its heading (and Keras's 40 / 16 / 12). */
    int name_width = 40, shape_width = 16, params_width = 12, settings_width = 8;
    for (size_t i = 0; i < model->layer_count; i++) {
        summary_line line;
        summary_describe(model, i, &line);
        int n = (int)strlen(line.name), s = (int)strlen(line.shape), d = (int)strlen(line.settings);
        name_width = n > name_width ? n : name_width;
        shape_width = s > shape_width ? s : shape_width;
        settings_width = d > settings_width ? d : settings_width;
    }
    const size_t width = (size_t)(1 + name_width + 1 + shape_width + 1 + params_width + 2 + settings_width);
    int failed = fprintf(out, "Model: \"sequential\" (input width %zu)\n", model->input_width) < 0;
    failed |= summary_rule(out, '_', width);
    failed |= fprintf(out, " %-*s %-*s %*s  %s\n", name_width, "Layer (type)", shape_width, "Output Shape",
                      params_width, "Param #", "Settings") < 0;
    failed |= summary_rule(out, '=', width);
    size_t trainable = 0, non_trainable = 0;
    for (size_t i = 0; i < model->layer_count; i++) {
        bnmlp_layer_info info;
        bnmlp_model_layer_info(model, i, &info);
        summary_line line;
        summary_describe(model, i, &line);
        failed |= fprintf(out, " %-*s %-*s %*zu", name_width, line.name, shape_width, line.shape,
                          params_width, info.trainable_params + info.non_trainable_params) < 0;
        if (line.settings[0]) failed |= fprintf(out, "  %s", line.settings) < 0;
        failed |= fputc('\n', out) == EOF;
        trainable += info.trainable_params;
        non_trainable += info.non_trainable_params;
    }
    failed |= summary_rule(out, '=', width);
    failed |= fprintf(out, "Total params: %zu\nTrainable params: %zu\nNon-trainable params: %zu\n",
                      trainable + non_trainable, trainable, non_trainable) < 0;
    failed |= summary_rule(out, '_', width);
    failed |= fflush(out) != 0;
    return failed || ferror(out) ? BNMLP_ERR_IO : BNMLP_OK;
}
