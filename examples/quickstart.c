/*
 * quickstart.c - the README's usage example, compiled and run by ctest so that it stays true:
 * the tutorial's model with batch norm after the ReLU, trained on make_circles.
 */
#include <stdio.h>

#include "bnmlp.h"

/* Prints the failing call's status and returns true when status is an error. */
static bool failed(bnmlp_status status, const char *what) {
    if (status == BNMLP_OK) return false;
    fprintf(stderr, "quickstart: %s: %s\n", what, bnmlp_status_string(status));
    return true;
}

int main(void) {
    bnmlp_dataset data = {0}, train = {0}, test = {0};
    bnmlp_circles_config circles = BNMLP_CIRCLES_DEFAULT;
    circles.n_samples = 1000, circles.noise = 0.1, circles.random_state = 1;
    if (failed(bnmlp_make_circles(&circles, &data), "make_circles")) return 1;
    /* The tutorial's split: the first 500 rows train, the rest test. */
    if (failed(bnmlp_dataset_split(&data, 500, &train, &test), "split")) return 1;
    bnmlp_tensor *x = NULL, *y = NULL, *tx = NULL, *ty = NULL;
    if (failed(bnmlp_dataset_to_tensors(&train, &x, &y), "to_tensors") ||
        failed(bnmlp_dataset_to_tensors(&test, &tx, &ty), "to_tensors"))
        return 1;

    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(2, &status);
    if (failed(status, "model_create")) return 1;
    bnmlp_dense_config hidden = BNMLP_DENSE_DEFAULT(50);
    hidden.activation = BNMLP_ACTIVATION_RELU;
    hidden.kernel_initializer = BNMLP_INIT_HE_UNIFORM;
    bnmlp_dense_config output = BNMLP_DENSE_DEFAULT(1);
    output.activation = BNMLP_ACTIVATION_SIGMOID;
    if (failed(bnmlp_model_add_dense(model, &hidden), "add_dense") ||
        failed(bnmlp_model_add_batchnorm(model, &BNMLP_BATCHNORM_DEFAULT), "add_batchnorm") ||
        failed(bnmlp_model_add_dense(model, &output), "add_dense") ||
        failed(bnmlp_model_build(model, 32, /* seed */ 1), "build"))
        return 1;

    bnmlp_fit_config fit = BNMLP_FIT_DEFAULT; /* batch 32, reshuffled every epoch */
    fit.epochs = 100;
    fit.optimizer.sgd = (bnmlp_sgd_config){.learning_rate = 0.01f, .momentum = 0.9f};
    fit.validation_x = tx, fit.validation_y = ty;
    bnmlp_epoch_record history[100];
    if (failed(bnmlp_model_fit(model, x, y, &fit, history, NULL), "fit")) return 1;

    double loss, accuracy;
    if (failed(bnmlp_model_evaluate(model, tx, ty, &loss, &accuracy), "evaluate")) return 1;
    printf("epoch 100: loss %.4f, acc %.3f, val_acc %.3f; test accuracy %.3f\n", history[99].loss,
           history[99].accuracy, history[99].val_accuracy, accuracy);
    if (failed(bnmlp_model_summary(model, stdout), "summary")) return 1;

    /* Keep it, and load it back: the loaded model predicts bit for bit the same. */
    if (failed(bnmlp_model_save(model, "quickstart.bnmlp"), "save")) return 1;
    bnmlp_model *loaded = bnmlp_model_load("quickstart.bnmlp", NULL, NULL, &status);
    if (failed(status, "load")) return 1;
    double loaded_accuracy;
    if (failed(bnmlp_model_evaluate(loaded, tx, ty, NULL, &loaded_accuracy), "evaluate")) return 1;
    printf("loaded from quickstart.bnmlp: test accuracy %.3f\n", loaded_accuracy);
    bnmlp_model_free(loaded);
    remove("quickstart.bnmlp");

    bnmlp_model_free(model);
    bnmlp_tensor_free(x), bnmlp_tensor_free(y), bnmlp_tensor_free(tx), bnmlp_tensor_free(ty);
    bnmlp_dataset_free(&data), bnmlp_dataset_free(&train), bnmlp_dataset_free(&test);
    return accuracy > 0.75 && loaded_accuracy == accuracy ? 0 : 1; /* else something is broken */
}
