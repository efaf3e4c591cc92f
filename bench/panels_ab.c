/*
 * panels_ab.c - in-process A/B of the dense kernels' panels (src/model/panels.c) on the big
 * MLP (256-1024-BN-ReLU-1024-BN-ReLU-1, batch 256, SGD momentum): one model built with training
 * panels, timed in alternating rounds with its panels on and off (bnmlp_model_use_panels), so
 * that both sides see the same machine noise; the training step and the inference forward, fp32
 * and bf16. Internal headers (like bench/gemm): the switches are not public.
 *
 *   panels_ab [--threads N] [--rounds N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bnmlp.h"
#include "model/model.h"

#define BATCH 256
#define IN 256
#define MAX_ROUNDS 200

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int by_value(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static bnmlp_model *make_model(size_t threads, bnmlp_precision precision) {
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(IN, &status);
    const bnmlp_dense_config hidden = BNMLP_DENSE_DEFAULT(1024), head = BNMLP_DENSE_DEFAULT(1);
    const bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
    for (int l = 0; model && l < 2; l++) {
        bnmlp_model_add_dense(model, &hidden);
        bnmlp_model_add_batchnorm(model, &bn);
        bnmlp_model_add_activation(model, BNMLP_ACTIVATION_RELU, 0.0f);
    }
    if (!model || bnmlp_model_add_dense(model, &head) != BNMLP_OK ||
        bnmlp_model_add_activation(model, BNMLP_ACTIVATION_SIGMOID, 0.0f) != BNMLP_OK ||
        bnmlp_model_set_training_panels(model, BNMLP_TRAINING_PANELS_ON) != BNMLP_OK ||
        bnmlp_model_build(model, BATCH, 1) != BNMLP_OK ||
        bnmlp_model_set_threads(model, threads) != BNMLP_OK ||
        bnmlp_model_set_precision(model, precision) != BNMLP_OK) {
        fprintf(stderr, "panels_ab: cannot make the model\n");
        exit(1);
    }
    return model;
}

int main(int argc, char **argv) {
    size_t threads = 1, rounds = 40;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--threads") == 0) threads = (size_t)strtoul(argv[i + 1], NULL, 10);
        if (strcmp(argv[i], "--rounds") == 0) rounds = (size_t)strtoul(argv[i + 1], NULL, 10);
    }
    if (threads < 1) threads = 1;
    if (rounds < 2 || rounds > MAX_ROUNDS) rounds = 40;
    static float x[BATCH * IN], y[BATCH], out[BATCH];
    for (size_t i = 0; i < BATCH * IN; i++) x[i] = (float)((i * 7919u) % 1000u) / 1000.0f - 0.5f;
    for (size_t i = 0; i < BATCH; i++) y[i] = (float)(i & 1u);
    const bnmlp_tensor tx = {.data = x, .rows = BATCH, .cols = IN},
                       ty = {.data = y, .rows = BATCH, .cols = 1};
    bnmlp_tensor tout = {.data = out, .rows = BATCH, .cols = 1};
    bnmlp_optimizer_config optimizer = BNMLP_OPTIMIZER_DEFAULT;
    bnmlp_optimizer_set(&optimizer, "learning_rate", 0.01);
    bnmlp_optimizer_set(&optimizer, "momentum", 0.9);
    printf("panels_ab: 256-1024-1024-1 BN, batch 256, %zu thread(s), %zu rounds (medians, minima)\n", threads,
           rounds);
    for (int p = 0; p < 2; p++) {
        const bnmlp_precision precision = p ? BNMLP_PRECISION_BF16 : BNMLP_PRECISION_FP32;
        bnmlp_model *model = make_model(threads, precision);
        static double step[2][MAX_ROUNDS], infer[2][MAX_ROUNDS];
        for (size_t r = 0; r < 2 * rounds; r++) {
            const int on = (int)(r & 1u);
            bnmlp_model_use_panels(model, on);
            float loss;
            for (int w = 0; w < 2; w++) bnmlp_model_train_step(model, &tx, &ty, &optimizer, &loss, NULL);
            double t0 = now();
            for (int k = 0; k < 5; k++) bnmlp_model_train_step(model, &tx, &ty, &optimizer, &loss, NULL);
            step[on][r / 2] = (now() - t0) / 5;
            bnmlp_model_predict(model, &tx, &tout); /* packs the panels after the steps */
            t0 = now();
            for (int k = 0; k < 5; k++) bnmlp_model_predict(model, &tx, &tout);
            infer[on][r / 2] = (now() - t0) / 5;
        }
        for (int on = 0; on < 2; on++) {
            qsort(step[on], rounds, sizeof(double), by_value);
            qsort(infer[on], rounds, sizeof(double), by_value);
            printf(
                "%s panels %-3s  train step %7.3f ms (min %7.3f)   inference forward %7.3f ms (min %7.3f)\n",
                bnmlp_precision_name(precision), on ? "on" : "off", step[on][rounds / 2] * 1e3,
                step[on][0] * 1e3, infer[on][rounds / 2] * 1e3, infer[on][0] * 1e3);
        }
        bnmlp_model_free(model);
    }
    return 0;
}
