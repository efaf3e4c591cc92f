/*
 * make_model_corpus.c - writes the model harness's seed corpus: small models of every layer
 * kind and option, as model files and as checkpoints, checkpoints of fits with training
 * controls (the SCHD, ESTP, PLAT, BEST sections), a bf16 model (the dense layers' precision
 * field) and an int8-quantized one (the DENSE_INT8 layer's arrays), into the directory given.
 *   build-fuzz/tests/fuzz/make_model_corpus tests/fuzz/corpus/model
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bnmlp.h"

/* Builds a small model of the given shape (0: dense only, SGD; 1: batch norm, centered RMSprop
 * with momentum; 2: softmax, keras2, debiased, AdamW; 3: MSE, cumulative, Adam) and trains it a
 * little; with controls, under early stopping (restoring the best weights) and a schedule (shapes
 * 0, 2) or the plateau (1, 3). */
static bnmlp_model *make(int shape, bool controls) {
    bnmlp_model *model = bnmlp_model_create(2, NULL);
    bnmlp_dense_config hidden = BNMLP_DENSE_DEFAULT(3);
    hidden.activation = shape == 3 ? BNMLP_ACTIVATION_TANH : BNMLP_ACTIVATION_RELU;
    bnmlp_model_add_dense(model, &hidden);
    bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
    if (shape == 2)
        bn.moving_variance_estimator = BNMLP_VARIANCE_KERAS2, bn.moving_average = BNMLP_AVERAGE_DEBIASED;
    if (shape == 3) bn.moving_average = BNMLP_AVERAGE_CUMULATIVE, bn.center = false;
    if (shape > 0) bnmlp_model_add_batchnorm(model, &bn);
    bnmlp_dense_config head = BNMLP_DENSE_DEFAULT(shape == 2 ? 2 : 1);
    head.activation = shape == 2   ? BNMLP_ACTIVATION_SOFTMAX
                      : shape == 3 ? BNMLP_ACTIVATION_LINEAR
                                   : BNMLP_ACTIVATION_SIGMOID;
    head.use_bias = shape != 1;
    bnmlp_model_add_dense(model, &head);
    if (shape == 2) bnmlp_model_set_loss(model, BNMLP_LOSS_CATEGORICAL_CROSSENTROPY);
    if (shape == 3) bnmlp_model_set_loss(model, BNMLP_LOSS_MEAN_SQUARED_ERROR);
    bnmlp_model_build(model, 4, (uint32_t)shape);
    float x[12] = {1, 2, -1, 0.5f, 3, -2, 0, 1, 2, 2, -1, -1}, y[6] = {1, 0, 1, 0, 1, 0};
    bnmlp_tensor tx = bnmlp_tensor_view(x, 6, 2), ty = bnmlp_tensor_view(y, 6, 1);
    bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
    fit.epochs = 2, fit.batch_size = 3;
    const bnmlp_optimizer_kind kinds[4] = {BNMLP_OPTIMIZER_SGD, BNMLP_OPTIMIZER_RMSPROP,
                                           BNMLP_OPTIMIZER_ADAMW, BNMLP_OPTIMIZER_ADAM};
    bnmlp_optimizer_defaults(kinds[shape], &fit.optimizer);
    fit.optimizer.rmsprop.centered = true, fit.optimizer.rmsprop.momentum = 0.5f;
    if (controls) {
        fit.early_stopping.enabled = true, fit.early_stopping.monitor = BNMLP_MONITOR_LOSS;
        fit.early_stopping.patience = 5, fit.early_stopping.restore_best_weights = true;
        if (shape % 2 == 0)
            fit.schedule.kind = BNMLP_SCHEDULE_MULTISTEP, fit.schedule.milestone_count = 1,
            fit.schedule.milestones[0] = 1;
        else
            fit.reduce_lr.enabled = true, fit.reduce_lr.monitor = BNMLP_MONITOR_LOSS,
            fit.reduce_lr.patience = 0;
    }
    bnmlp_model_fit(model, &tx, &ty, &fit, NULL, NULL);
    return model;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: make_model_corpus DIR\n");
        return 2;
    }
    for (int shape = 0; shape < 4; shape++) {
        bnmlp_model *model = make(shape, false);
        char path[512];
        snprintf(path, sizeof path, "%s/model%d.bnmlp", argv[1], shape);
        if (bnmlp_model_save(model, path) != BNMLP_OK) return 1;
        snprintf(path, sizeof path, "%s/checkpoint%d.bnmlp", argv[1], shape);
        if (bnmlp_model_save_checkpoint(model, path) != BNMLP_OK) return 1;
        bnmlp_model_free(model);
        model = make(shape, true);
        snprintf(path, sizeof path, "%s/controls%d.bnmlp", argv[1], shape);
        if (bnmlp_model_save_checkpoint(model, path) != BNMLP_OK) return 1;
        bnmlp_model_free(model);
    }
    /* Shape 1 (batch norm) in bf16, and quantized to int8 (calibrated on the training rows). */
    for (int variant = 0; variant < 2; variant++) {
        bnmlp_model *model = make(1, false);
        bnmlp_model *saved = model;
        if (variant == 0 && bnmlp_model_set_precision(model, BNMLP_PRECISION_BF16) != BNMLP_OK) return 1;
        if (variant == 1) {
            float x[12] = {1, 2, -1, 0.5f, 3, -2, 0, 1, 2, 2, -1, -1};
            const bnmlp_tensor calibration = bnmlp_tensor_view(x, 6, 2);
            saved = bnmlp_model_quantize(model, &calibration, NULL, NULL);
            if (!saved) return 1;
        }
        char path[512];
        snprintf(path, sizeof path, "%s/%s.bnmlp", argv[1], variant == 0 ? "bf16" : "int8");
        if (bnmlp_model_save(saved, path) != BNMLP_OK) return 1;
        if (variant == 0) {
            snprintf(path, sizeof path, "%s/bf16-checkpoint.bnmlp", argv[1]);
            if (bnmlp_model_save_checkpoint(saved, path) != BNMLP_OK) return 1;
        }
        if (saved != model) bnmlp_model_free(saved);
        bnmlp_model_free(model);
    }
    return 0;
}
