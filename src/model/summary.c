/* summary.c - the Keras-like text summary of a model. */
#include "model/model.h"

/* Names of each layer kind, indexed by bnmlp_layer_kind: Keras's class name and the prefix of
 * its default layer names. */
static const struct {
    const char *class_name;
    const char *prefix;
} layer_names[] = {
    [BNMLP_LAYER_DENSE] = {"Dense", "dense"},
    [BNMLP_LAYER_ACTIVATION] = {"Activation", "activation"},
    [BNMLP_LAYER_BATCHNORM] = {"BatchNormalization", "batch_normalization"},
};

#define SUMMARY_RULE "_________________________________________________________________________\n"
#define SUMMARY_DOUBLE_RULE "=========================================================================\n"

bnmlp_status bnmlp_model_summary(const bnmlp_model *model, FILE *out) {
    if (!model || !out) return BNMLP_ERR_NULL_ARGUMENT;
    int failed =
        fprintf(out, "Model: \"sequential\" (input width %zu)\n" SUMMARY_RULE, model->input_width) < 0;
    failed |= fprintf(out, " %-40s %-16s %12s\n" SUMMARY_DOUBLE_RULE, "Layer (type)", "Output Shape",
                      "Param #") < 0;
    size_t seen[3] = {0, 0, 0}, trainable = 0, non_trainable = 0;
    for (size_t i = 0; i < model->layer_count; i++) {
        bnmlp_layer_info info;
        bnmlp_model_layer_info(model, i, &info);
        const bnmlp_layer *layer = &model->layers[i];
        char name[64], shape[32];
        const size_t nth = seen[layer->kind]++;
        const char *prefix = layer_names[layer->kind].prefix,
                   *class_name = layer_names[layer->kind].class_name;
        if (nth)
            snprintf(name, sizeof name, "%s_%zu (%s)", prefix, nth, class_name);
        else
            snprintf(name, sizeof name, "%s (%s)", prefix, class_name);
        snprintf(shape, sizeof shape, "(None, %zu)", layer->out);
        failed |= fprintf(out, " %-40s %-16s %12zu", name, shape,
                          info.trainable_params + info.non_trainable_params) < 0;
        if (layer->kind == BNMLP_LAYER_ACTIVATION)
            failed |= fprintf(out, "  %s", bnmlp_activation_name(layer->activation)) < 0;
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
