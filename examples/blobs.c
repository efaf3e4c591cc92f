/*
 * blobs.c - a 3-class softmax model on scikit-learn's make_blobs, with and without batch norm,
 * trained with SGD and with Adam, over several seeds; prints a table of test accuracies.
 *
 * Usage: blobs [--repeats R] [--epochs E] [--std S] [--random-state K]   (defaults 10, 30, 1.0, 3)
 * Exit status: 0 on success, 1 when a run fails, 2 for a bad argument.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bnmlp.h"

/* The model and training settings of one row of the table. */
typedef struct setup {
    const char *name;               /* row label */
    bool batchnorm;                 /* Dense(32, relu) -> [BatchNorm] -> Dense(3, softmax) */
    bnmlp_optimizer_kind optimizer; /* SGD(0.01, momentum 0.9) or Adam(0.01) */
} setup;

static const setup SETUPS[] = {
    {"sgd", false, BNMLP_OPTIMIZER_SGD},
    {"sgd + bn", true, BNMLP_OPTIMIZER_SGD},
    {"adam", false, BNMLP_OPTIMIZER_ADAM},
    {"adam + bn", true, BNMLP_OPTIMIZER_ADAM},
};

/* The train and test tensors of the data set. */
typedef struct data {
    bnmlp_tensor *x, *y, *test_x, *test_y;
} data;

/* make_blobs(1000, 2 features, 3 centers, cluster_std std, random_state), 25% test. */
static bnmlp_status make_data(double std, uint32_t random_state, data *out) {
    bnmlp_blobs_config config = BNMLP_BLOBS_DEFAULT;
    config.n_samples = 1000, config.cluster_std = std, config.random_state = random_state;
    bnmlp_dataset all, train, test;
    bnmlp_status status = bnmlp_make_blobs(&config, &all);
    if (status != BNMLP_OK) return status;
    status = bnmlp_dataset_train_test_split(&all, 250, 0, &train, &test);
    bnmlp_dataset_free(&all);
    if (status != BNMLP_OK) return status;
    status = bnmlp_dataset_to_tensors(&train, &out->x, &out->y);
    if (status == BNMLP_OK) status = bnmlp_dataset_to_tensors(&test, &out->test_x, &out->test_y);
    bnmlp_dataset_free(&train);
    bnmlp_dataset_free(&test);
    return status;
}

/* Builds the row's model from seed, fits it for epochs and evaluates it on the test part. */
static bnmlp_status run(const setup *s, const data *d, size_t epochs, uint32_t seed, double *accuracy) {
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(2, &status);
    if (!model) return status;
    bnmlp_dense_config hidden = BNMLP_DENSE_DEFAULT(32);
    hidden.activation = BNMLP_ACTIVATION_RELU;
    hidden.kernel_initializer = BNMLP_INIT_HE_UNIFORM;
    bnmlp_dense_config head = BNMLP_DENSE_DEFAULT(3);
    head.activation = BNMLP_ACTIVATION_SOFTMAX;
    status = bnmlp_model_add_dense(model, &hidden);
    if (status == BNMLP_OK && s->batchnorm)
        status = bnmlp_model_add_batchnorm(model, &BNMLP_BATCHNORM_DEFAULT);
    if (status == BNMLP_OK) status = bnmlp_model_add_dense(model, &head);
    if (status == BNMLP_OK) status = bnmlp_model_set_loss(model, BNMLP_LOSS_CATEGORICAL_CROSSENTROPY);
    if (status == BNMLP_OK) status = bnmlp_model_build(model, 32, seed);
    bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
    fit.epochs = epochs;
    bnmlp_optimizer_defaults(s->optimizer, &fit.optimizer);
    fit.optimizer.sgd.momentum = 0.9f;
    fit.optimizer.adam.learning_rate = 0.01f;
    if (status == BNMLP_OK) status = bnmlp_model_fit(model, d->x, d->y, &fit, NULL, NULL);
    if (status == BNMLP_OK) status = bnmlp_model_evaluate(model, d->test_x, d->test_y, NULL, accuracy);
    bnmlp_model_free(model);
    return status;
}

/* Reads "--name value" pairs; false on anything else. */
static bool parse(int argc, char **argv, size_t *repeats, size_t *epochs, double *std,
                  uint32_t *random_state) {
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc) return false;
        char *end;
        const double value = strtod(argv[i + 1], &end);
        if (*end != '\0' || !(value >= 0.0) || value > 4294967295.0) return false;
        const bool whole = value == floor(value), counted = whole && value >= 1.0 && value <= 1e6;
        if (strcmp(argv[i], "--repeats") == 0 && counted)
            *repeats = (size_t)value;
        else if (strcmp(argv[i], "--epochs") == 0 && counted)
            *epochs = (size_t)value;
        else if (strcmp(argv[i], "--std") == 0 && value > 0.0 && value <= 1e6)
            *std = value;
        else if (strcmp(argv[i], "--random-state") == 0 && whole)
            *random_state = (uint32_t)value;
        else
            return false;
    }
    return true;
}

int main(int argc, char **argv) {
    size_t repeats = 10, epochs = 30;
    double std = 1.0;
    uint32_t random_state = 3;
    if (!parse(argc, argv, &repeats, &epochs, &std, &random_state)) {
        fprintf(stderr, "usage: blobs [--repeats R] [--epochs E] [--std S] [--random-state K]\n");
        return 2;
    }
    data d = {0};
    bnmlp_status status = make_data(std, random_state, &d);
    if (status != BNMLP_OK) {
        fprintf(stderr, "blobs: data: %s\n", bnmlp_status_string(status));
        return 1;
    }
    printf("make_blobs(1000, 3 centers, cluster_std %g, random_state %lu), 750 train / 250 test;\n"
           "Dense(32, relu) -> [BatchNorm] -> Dense(3, softmax), categorical cross-entropy, batch 32,\n"
           "%zu epochs; SGD(0.01, momentum 0.9) or Adam(0.01); %zu seeds per row\n\n",
           std, (unsigned long)random_state, epochs, repeats);
    printf("%-10s  %-22s  %s\n", "optimizer", "test acc mean ± sd", "min");
    int exit_status = 0;
    for (size_t k = 0; k < sizeof SETUPS / sizeof SETUPS[0] && exit_status == 0; k++) {
        double sum = 0.0, squares = 0.0, lowest = 1.0;
        for (size_t r = 0; r < repeats; r++) {
            double accuracy = 0.0;
            status = run(&SETUPS[k], &d, epochs, (uint32_t)(1 + r), &accuracy);
            if (status != BNMLP_OK) {
                fprintf(stderr, "blobs: %s, seed %zu: %s\n", SETUPS[k].name, 1 + r,
                        bnmlp_status_string(status));
                exit_status = 1;
                break;
            }
            sum += accuracy, squares += accuracy * accuracy;
            lowest = accuracy < lowest ? accuracy : lowest;
        }
        const double mean = sum / (double)repeats;
        const double sd = repeats > 1 ? sqrt(fmax(0.0, (squares - sum * mean) / (double)(repeats - 1))) : 0.0;
        if (exit_status == 0) printf("%-10s  %.4f ± %.4f         %.4f\n", SETUPS[k].name, mean, sd, lowest);
    }
    bnmlp_tensor_free(d.x), bnmlp_tensor_free(d.y), bnmlp_tensor_free(d.test_x), bnmlp_tensor_free(d.test_y);
    return exit_status;
}
