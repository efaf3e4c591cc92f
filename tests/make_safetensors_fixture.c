/*
 * make_safetensors_fixture.c - writes tests/fixtures/safetensors/libbnmlp_model.safetensors: a
 * model libbnmlp trained (every kind of layer that has a PyTorch twin or the documented
 * Normalization module: normalization, dense, batch norm with momentum 0.9 and with center off,
 * ReLU, dropout, leaky ReLU, softmax), exported with bnmlp_model_export. Run by hand, then check
 * the file with PyTorch (tests/fixtures/safetensors/README.md):
 *
 *     build/tests/make_safetensors_fixture tests/fixtures/safetensors/libbnmlp_model.safetensors
 *     /usr/bin/python3 tools/gen_safetensors_fixtures.py --check tests/fixtures/safetensors/libbnmlp_model.safetensors
 */
#include <stdio.h>

#include "bnmlp.h"

#define TRY(expression)                                                                                      \
    do {                                                                                                     \
        const bnmlp_status s_ = (expression);                                                                \
        if (s_ != BNMLP_OK) {                                                                                \
            fprintf(stderr, "%s: %s\n", #expression, bnmlp_status_string(s_));                               \
            return 1;                                                                                        \
        }                                                                                                    \
    } while (0)

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: make_safetensors_fixture OUT.safetensors\n");
        return 2;
    }
    bnmlp_blobs_config blobs = BNMLP_BLOBS_DEFAULT;
    blobs.n_samples = 300;
    blobs.n_features = 4;
    blobs.centers = 3;
    blobs.random_state = 11;
    bnmlp_dataset data;
    TRY(bnmlp_make_blobs(&blobs, &data));
    bnmlp_tensor *x = NULL, *y = NULL;
    TRY(bnmlp_dataset_to_tensors(&data, &x, &y));
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(4, &status);
    TRY(status);
    TRY(bnmlp_model_add_normalization(model));
    TRY(bnmlp_model_add_dense(model, &BNMLP_DENSE_DEFAULT(8)));
    bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
    bn.momentum = 0.9f;
    TRY(bnmlp_model_add_batchnorm(model, &bn));
    TRY(bnmlp_model_add_activation(model, BNMLP_ACTIVATION_RELU, 0.0f));
    TRY(bnmlp_model_add_dropout(model, 0.1f, 5));
    bnmlp_dense_config dense = BNMLP_DENSE_DEFAULT(6);
    dense.use_bias = false;
    TRY(bnmlp_model_add_dense(model, &dense));
    TRY(bnmlp_model_add_activation(model, BNMLP_ACTIVATION_LEAKY_RELU, 0.2f));
    bnmlp_batchnorm_config no_center = BNMLP_BATCHNORM_DEFAULT;
    no_center.center = false;
    no_center.moving_variance_estimator = BNMLP_VARIANCE_UNBIASED;
    TRY(bnmlp_model_add_batchnorm(model, &no_center));
    TRY(bnmlp_model_add_dense(model, &BNMLP_DENSE_DEFAULT(3)));
    TRY(bnmlp_model_add_activation(model, BNMLP_ACTIVATION_SOFTMAX, 0.0f));
    TRY(bnmlp_model_set_loss(model, BNMLP_LOSS_CATEGORICAL_CROSSENTROPY));
    TRY(bnmlp_model_build(model, 32, 3));
    TRY(bnmlp_model_set_threads(model, 1));
    TRY(bnmlp_model_adapt(model, 0, x));
    bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
    fit.epochs = 5;
    fit.optimizer = BNMLP_OPTIMIZER_ADAM_DEFAULT;
    TRY(bnmlp_model_fit(model, x, y, &fit, NULL, NULL));
    bnmlp_error_detail detail = {0};
    status = bnmlp_model_export(model, "safetensors", argv[1], NULL, &detail);
    if (status != BNMLP_OK) {
        fprintf(stderr, "export: %s: %s\n", bnmlp_status_string(status), detail.message);
        return 1;
    }
    bnmlp_model_free(model);
    bnmlp_tensor_free(x);
    bnmlp_tensor_free(y);
    bnmlp_dataset_free(&data);
    return 0;
}
