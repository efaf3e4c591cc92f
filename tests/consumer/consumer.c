/*
 * consumer.c - a program of another project using libbnmlp: checks the version, trains a tiny
 * model with batch norm on make_circles and evaluates it. Exit status 0 when it learned.
 */
#include <stdio.h>
#include <string.h>

#include <bnmlp.h>

/* Prints the failed call and its status; returns 1 for main. */
static int fail(const char *what, bnmlp_status status) {
    fprintf(stderr, "consumer: %s: %s\n", what, bnmlp_status_string(status));
    return 1;
}

int main(void) {
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", BNMLP_VERSION_MAJOR, BNMLP_VERSION_MINOR,
             BNMLP_VERSION_PATCH);
    if (strcmp(bnmlp_version(), expected) != 0) {
        fprintf(stderr, "consumer: header says %s, library says %s\n", expected, bnmlp_version());
        return 1;
    }
    bnmlp_dataset data;
    bnmlp_circles_config circles = BNMLP_CIRCLES_DEFAULT;
    circles.n_samples = 400, circles.noise = 0.1, circles.random_state = 1;
    bnmlp_status status = bnmlp_make_circles(&circles, &data);
    if (status != BNMLP_OK) return fail("make_circles", status);
    bnmlp_tensor *x = NULL, *y = NULL;
    status = bnmlp_dataset_to_tensors(&data, &x, &y);
    bnmlp_dataset_free(&data);
    if (status != BNMLP_OK) return fail("dataset_to_tensors", status);

    bnmlp_model *model = bnmlp_model_create(2, &status);
    if (model == NULL) return fail("model_create", status);
    bnmlp_dense_config hidden = BNMLP_DENSE_DEFAULT(16);
    hidden.activation = BNMLP_ACTIVATION_RELU;
    hidden.kernel_initializer = BNMLP_INIT_HE_UNIFORM;
    bnmlp_dense_config output = BNMLP_DENSE_DEFAULT(1);
    output.activation = BNMLP_ACTIVATION_SIGMOID;
    bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
    fit.epochs = 60;
    fit.optimizer.sgd.learning_rate = 0.05f;
    fit.optimizer.sgd.momentum = 0.9f;
    double loss = 0.0, accuracy = 0.0;
    if ((status = bnmlp_model_add_dense(model, &hidden)) != BNMLP_OK ||
        (status = bnmlp_model_add_batchnorm(model, &BNMLP_BATCHNORM_DEFAULT)) != BNMLP_OK ||
        (status = bnmlp_model_add_dense(model, &output)) != BNMLP_OK ||
        (status = bnmlp_model_build(model, 32, 1)) != BNMLP_OK ||
        (status = bnmlp_model_fit(model, x, y, &fit, NULL, NULL)) != BNMLP_OK ||
        (status = bnmlp_model_evaluate(model, x, y, &loss, &accuracy)) != BNMLP_OK) {
        bnmlp_model_free(model);
        bnmlp_tensor_free(x);
        bnmlp_tensor_free(y);
        return fail("training", status);
    }
    bnmlp_model_free(model);
    bnmlp_tensor_free(x);
    bnmlp_tensor_free(y);
    printf("bnmlp %s: loss %.4f, accuracy %.4f\n", bnmlp_version(), loss, accuracy);
    return accuracy >= 0.75 ? 0 : 1;
}
