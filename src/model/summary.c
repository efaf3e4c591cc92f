/* summary.c - the Keras-like text summary of a model. */
#include "model/model.h"

#define SUMMARY_RULE "_________________________________________________________________________\n"
#define SUMMARY_DOUBLE_RULE "=========================================================================\n"

bnmlp_status bnmlp_model_summary(const bnmlp_model *model, FILE *out) {
    if (!model || !out) return BNMLP_ERR_NULL_ARGUMENT;
    int failed =
        fprintf(out, "Model: \"sequential\" (input width %zu)\n" SUMMARY_RULE, model->input_width) < 0;
    failed |= fprintf(out, " %-40s %-16s %12s\n" SUMMARY_DOUBLE_RULE, "Layer (type)", "Output Shape",
                      "Param #") < 0;
    size_t trainable = 0, non_trainable = 0;
    for (size_t i = 0; i < model->layer_count; i++) {
        bnmlp_layer_info info;
        bnmlp_model_layer_info(model, i, &info);
        const bnmlp_layer *layer = &model->layers[i];
        char name[64], shape[32];
        size_t nth = 0; /* earlier layers of the same kind: Keras numbers its default names */
        for (size_t j = 0; j < i; j++) nth += model->layers[j].ops == layer->ops;
        const char *prefix = layer->ops->prefix, *class_name = layer->ops->class_name;
        if (nth)
            snprintf(name, sizeof name, "%s_%zu (%s)", prefix, nth, class_name);
        else
            snprintf(name, sizeof name, "%s (%s)", prefix, class_name);
        snprintf(shape, sizeof shape, "(None, %zu)", layer->out);
        failed |= fprintf(out, " %-40s %-16s %12zu", name, shape,
                          info.trainable_params + info.non_trainable_params) < 0;
        if (layer->ops->describe) {
            char settings[96];
            layer->ops->describe(layer, settings, sizeof settings);
            failed |= fprintf(out, "  %s", settings) < 0;
        }
        if (!layer->trainable) failed |= fprintf(out, "  (frozen)") < 0;
        failed |= fputc('\n', out) == EOF;
        trainable += info.trainable_params;
        non_trainable += info.non_trainable_params;
    }
    failed |= fprintf(out,
                      SUMMARY_DOUBLE_RULE "Total params: %zu\nTrainable params: %zu\n"
                                          "Non-trainable params: %zu\n" SUMMARY_RULE,
                      trainable + non_trainable, trainable, non_trainable) < 0;
    failed |= fflush(out) != 0;
    return failed || ferror(out) ? BNMLP_ERR_IO : BNMLP_OK;
}
