/*
 * mlp_step.c - times libbnmlp's training step, inference forward and whole circles runs.
 *
 * Uses only the public header. Each workload is warmed up, then timed over several samples; a
 * sample runs the workload's unit (one training step, one forward, one 100-epoch run) as many
 * times as needed to last about --sample-ms, and its time is divided by that count. The table
 * gives the median and the minimum per unit. bench/torch_peer.py runs the same workloads in
 * PyTorch and prints the same table and CSV; bench/run.sh runs both side by side.
 *
 * --threads N calls bnmlp_model_set_threads. The *.folded workloads time the inference forward of
 * the model bnmlp_model_fold returns (after a few training steps), beside *.infer's unfolded one.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bnmlp.h"

#define MAX_LAYERS 12      /* longest layer list of a workload */
#define TRAIN_BATCHES 4    /* distinct synthetic batches a training workload cycles through */
#define CIRCLES_EPOCHS 100 /* epochs of one circles run */

/* ----------------------------------------------------------------------------------------- */
/* Options                                                                                   */
/* ----------------------------------------------------------------------------------------- */

typedef struct options {
    int threads;           /* --threads */
    int reps;              /* --reps: timed samples per workload */
    double sample_seconds; /* --sample-ms / 1000: target length of one sample */
    double warmup_seconds; /* --warmup-ms / 1000: at least this long, and 2 units, of warm-up */
    const char *filter;    /* --filter: comma-separated substrings of workload names; NULL = all */
    int csv;               /* --csv: CSV instead of the table */
    int list;              /* --list: print the workload names and exit */
} options;

static void usage(FILE *out) {
    fprintf(out,
            "usage: mlp_step [--threads N] [--reps N] [--filter NAME[,NAME...]] [--csv] [--list]\n"
            "                [--sample-ms MS] [--warmup-ms MS]\n"
            "  --threads N    threads of the model (needs bnmlp_model_set_threads; else only 1)\n"
            "  --reps N       timed samples per workload (default 7)\n"
            "  --filter S     run only workloads whose name contains one of the comma-separated S\n"
            "                 (a part ending in $ must end the name: mlp1024.train$)\n"
            "  --csv          print CSV (impl,threads,workload,unit,median_s,min_s,samples,calls,check)\n"
            "  --list         list the workloads and exit\n"
            "  --sample-ms MS target length of one timed sample (default 50)\n"
            "  --warmup-ms MS minimum warm-up per workload (default 200)\n");
}

/* Parses a positive integer (or 0 when allow_zero); false on anything else. */
static int parse_int(const char *text, int allow_zero, int *value) {
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < (allow_zero ? 0 : 1) || v > 100000) {
        return 0;
    }
    *value = (int)v;
    return 1;
}

/* 0 on success, 1 on a usage error, 2 for --help. */
static int parse_options(int argc, char **argv, options *opt) {
    *opt = (options){.threads = 1, .reps = 7, .sample_seconds = 0.05, .warmup_seconds = 0.2};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        int n = 0;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            return 2;
        } else if (strcmp(arg, "--csv") == 0) {
            opt->csv = 1;
        } else if (strcmp(arg, "--list") == 0) {
            opt->list = 1;
        } else if (value == NULL) {
            fprintf(stderr, "mlp_step: unknown option or missing value: %s\n", arg);
            return 1;
        } else if (strcmp(arg, "--threads") == 0 && parse_int(value, 1, &n)) {
            opt->threads = n, i++;
        } else if (strcmp(arg, "--reps") == 0 && parse_int(value, 0, &n)) {
            opt->reps = n, i++;
        } else if (strcmp(arg, "--sample-ms") == 0 && parse_int(value, 1, &n)) {
            opt->sample_seconds = n / 1000.0, i++;
        } else if (strcmp(arg, "--warmup-ms") == 0 && parse_int(value, 1, &n)) {
            opt->warmup_seconds = n / 1000.0, i++;
        } else if (strcmp(arg, "--filter") == 0) {
            opt->filter = value, i++;
        } else {
            fprintf(stderr, "mlp_step: bad option or value: %s %s\n", arg, value);
            return 1;
        }
    }
    if (opt->reps < 1) {
        fprintf(stderr, "mlp_step: --reps must be at least 1\n");
        return 1;
    }
    return 0;
}

/* True when name contains one of filter's comma-separated parts (or filter is NULL/empty); a part
 * ending in '$' must end the name ("mlp1024.train$" selects that workload, not its bf16 twin). */
static int matches_filter(const char *name, const char *filter) {
    if (filter == NULL || *filter == '\0') {
        return 1;
    }
    const char *part = filter;
    while (*part != '\0') {
        const char *comma = strchr(part, ',');
        size_t length = comma != NULL ? (size_t)(comma - part) : strlen(part);
        int anchored = length > 0 && part[length - 1] == '$';
        size_t text = anchored ? length - 1 : length;
        if (text > 0) {
            for (const char *at = name; *at != '\0'; at++) {
                if (strncmp(at, part, text) == 0 && (!anchored || at[text] == '\0')) {
                    return 1;
                }
            }
        }
        part += length + (comma != NULL ? 1 : 0);
    }
    return 0;
}

/* ----------------------------------------------------------------------------------------- */
/* Models                                                                                    */
/* ----------------------------------------------------------------------------------------- */

typedef enum layer_op { OP_DENSE, OP_BN, OP_RELU } layer_op;

/* One entry of a layer list: a dense layer (units, its activation and initializer), a batch
 * norm with Keras's defaults (momentum 0.99, epsilon 1e-3) or a ReLU layer. */
typedef struct layer_spec {
    layer_op op;
    size_t units;
    bnmlp_activation activation;
    bnmlp_initializer init;
} layer_spec;

#define DENSE(u, act, ini)                                                                                   \
    { OP_DENSE, (u), (act), (ini) }
#define BN                                                                                                   \
    { OP_BN, 0, BNMLP_ACTIVATION_LINEAR, BNMLP_INIT_GLOROT_UNIFORM }
#define RELU                                                                                                 \
    { OP_RELU, 0, BNMLP_ACTIVATION_RELU, BNMLP_INIT_GLOROT_UNIFORM }
#define END                                                                                                  \
    { OP_DENSE, 0, BNMLP_ACTIVATION_LINEAR, BNMLP_INIT_GLOROT_UNIFORM }
#define LIN BNMLP_ACTIVATION_LINEAR
#define SIG BNMLP_ACTIVATION_SIGMOID
#define GLOROT BNMLP_INIT_GLOROT_UNIFORM
#define HE BNMLP_INIT_HE_UNIFORM

/* 256 -> Dense(1024) -> BN -> ReLU -> Dense(1024) -> BN -> ReLU -> Dense(1) sigmoid. */
static const layer_spec MODEL_BIG[MAX_LAYERS] = {
    DENSE(1024, LIN, GLOROT), BN, RELU, DENSE(1024, LIN, GLOROT), BN, RELU, DENSE(1, SIG, GLOROT), END};
/* The width sweep: 256 -> Dense(W) -> BN -> ReLU -> Dense(W) -> BN -> ReLU -> Dense(1) sigmoid. */
#define SWEEP_MODEL(w)                                                                                       \
    static const layer_spec MODEL_SWEEP_##w[MAX_LAYERS] = {                                                  \
        DENSE(w, LIN, GLOROT), BN, RELU, DENSE(w, LIN, GLOROT), BN, RELU, DENSE(1, SIG, GLOROT), END}
SWEEP_MODEL(64);
SWEEP_MODEL(128);
SWEEP_MODEL(256);
SWEEP_MODEL(512);
SWEEP_MODEL(1024);
SWEEP_MODEL(2048);
/* 30 -> Dense(64) -> BN -> ReLU -> Dense(32) -> ReLU -> BN -> Dense(1) sigmoid. */
static const layer_spec MODEL_MID[MAX_LAYERS] = {
    DENSE(64, LIN, GLOROT), BN, RELU, DENSE(32, LIN, GLOROT), RELU, BN, DENSE(1, SIG, GLOROT), END};
/* The tutorial: 2 -> Dense(50, relu, he_uniform) -> BN -> Dense(1, sigmoid). */
static const layer_spec MODEL_TUTORIAL_BN[MAX_LAYERS] = {DENSE(50, BNMLP_ACTIVATION_RELU, HE), BN,
                                                         DENSE(1, SIG, GLOROT), END};
/* The tutorial without batch norm: 2 -> Dense(50, relu, he_uniform) -> Dense(1, sigmoid). */
static const layer_spec MODEL_TUTORIAL_NOBN[MAX_LAYERS] = {DENSE(50, BNMLP_ACTIVATION_RELU, HE),
                                                           DENSE(1, SIG, GLOROT), END};

/* Creates, fills and builds a model; NULL (reported) on failure. */
static bnmlp_model *make_model(size_t inputs, const layer_spec *spec, size_t max_batch, uint32_t seed,
                               int threads) {
    bnmlp_status status = BNMLP_OK;
    bnmlp_model *model = bnmlp_model_create(inputs, &status);
    for (size_t i = 0; model != NULL && status == BNMLP_OK && i < MAX_LAYERS; i++) {
        const layer_spec *s = &spec[i];
        if (s->op == OP_DENSE && s->units == 0) {
            break;
        }
        if (s->op == OP_DENSE) {
            bnmlp_dense_config config = BNMLP_DENSE_DEFAULT(s->units);
            config.activation = s->activation;
            config.kernel_initializer = s->init;
            status = bnmlp_model_add_dense(model, &config);
        } else if (s->op == OP_BN) {
            bnmlp_batchnorm_config config = BNMLP_BATCHNORM_DEFAULT;
            status = bnmlp_model_add_batchnorm(model, &config);
        } else {
            status = bnmlp_model_add_activation(model, BNMLP_ACTIVATION_RELU, 0.0f);
        }
    }
    if (model != NULL && status == BNMLP_OK) {
        status = bnmlp_model_build(model, max_batch, seed);
    }
    if (model != NULL && status == BNMLP_OK) {
        status = bnmlp_model_set_threads(model, threads);
    }
    if (status != BNMLP_OK) {
        fprintf(stderr, "mlp_step: cannot make the model: %s\n", bnmlp_status_string(status));
        bnmlp_model_free(model);
        return NULL;
    }
    return model;
}

/* ----------------------------------------------------------------------------------------- */
/* Workloads                                                                                 */
/* ----------------------------------------------------------------------------------------- */

/* What a workload's unit needs; set up once, used by every call. */
typedef struct context {
    bnmlp_model *model;
    bnmlp_model *unfolded;            /* folded workloads: the model before folding, timed alongside */
    bnmlp_tensor *x[TRAIN_BATCHES];   /* synthetic inputs */
    bnmlp_tensor *y[TRAIN_BATCHES];   /* synthetic 0/1 labels */
    bnmlp_tensor *out;                /* forward output */
    size_t next;                      /* batch of the next training step */
    bnmlp_optimizer_config optimizer; /* SGD lr 0.01 momentum 0.9; Adam's defaults for ".adam" */
    /* circles runs */
    const layer_spec *spec;
    int threads;
    bnmlp_tensor *train_x, *train_y, *test_x, *test_y;
    double check; /* a number that shows the unit did its work (loss, accuracy, output mean) */
} context;

typedef enum kind { KIND_TRAIN, KIND_INFER, KIND_FOLDED, KIND_INT8, KIND_CIRCLES } kind;

typedef struct workload {
    const char *name;        /* shared with torch_peer.py */
    const char *description; /* one line for the table */
    kind kind;
    const layer_spec *spec;
    size_t inputs;
    size_t batch;
} workload;

static const workload WORKLOADS[] = {
    {"mlp1024.train", "256-1024-1024-1 BN, train step, batch 256", KIND_TRAIN, MODEL_BIG, 256, 256},
    {"mlp1024.infer", "256-1024-1024-1 BN, inference forward, batch 256", KIND_INFER, MODEL_BIG, 256, 256},
    /* The same two in bf16 (bnmlp_model_set_precision): the name's ".bf16" says so. */
    {"mlp1024.train.bf16", "256-1024-1024-1 BN, train step, batch 256, bf16 products", KIND_TRAIN, MODEL_BIG,
     256, 256},
    {"mlp1024.infer.bf16", "256-1024-1024-1 BN, inference forward, batch 256, bf16 products", KIND_INFER,
     MODEL_BIG, 256, 256},
    /* The training step with Adam (its defaults, torch.optim.Adam's): the name's ".adam" says so. */
    {"mlp1024.train.adam", "256-1024-1024-1 BN, train step, batch 256, Adam", KIND_TRAIN, MODEL_BIG, 256,
     256},
    {"mlp1024.folded", "256-1024-1024-1 BN folded, inference, batch 256", KIND_FOLDED, MODEL_BIG, 256, 256},
    {"mlp1024.infer.int8", "256-1024-1024-1 BN int8 (quantized), inference, batch 256", KIND_INT8, MODEL_BIG,
     256, 256},
    {"mlp64.train", "30-64-32-1 BN, train step, batch 32", KIND_TRAIN, MODEL_MID, 30, 32},
    {"mlp64.infer", "30-64-32-1 BN, inference forward, batch 32", KIND_INFER, MODEL_MID, 30, 32},
    {"mlp64.folded", "30-64-32-1 BN folded, inference, batch 32", KIND_FOLDED, MODEL_MID, 30, 32},
    {"tutorial.train", "2-50-BN-1, train step, batch 32", KIND_TRAIN, MODEL_TUTORIAL_BN, 2, 32},
    {"tutorial.infer", "2-50-BN-1, inference forward, batch 32", KIND_INFER, MODEL_TUTORIAL_BN, 2, 32},
    {"tutorial.folded", "2-50-BN-1 folded, inference, batch 32", KIND_FOLDED, MODEL_TUTORIAL_BN, 2, 32},
    {"circles.nobn", "circles 100 epochs + val each epoch, no BN", KIND_CIRCLES, MODEL_TUTORIAL_NOBN, 2, 32},
    {"circles.bn", "circles 100 epochs + val each epoch, BN after ReLU", KIND_CIRCLES, MODEL_TUTORIAL_BN, 2,
     32},
#define SWEEP_WORKLOAD(w)                                                                                    \
    {                                                                                                        \
        "sweep.w" #w ".train", "256-" #w "-" #w "-1 BN, train step, batch 256", KIND_TRAIN, MODEL_SWEEP_##w, \
            256, 256                                                                                         \
    }
    SWEEP_WORKLOAD(64),
    SWEEP_WORKLOAD(128),
    SWEEP_WORKLOAD(256),
    SWEEP_WORKLOAD(512),
    SWEEP_WORKLOAD(1024),
    SWEEP_WORKLOAD(2048),
#undef SWEEP_WORKLOAD
};
#define WORKLOAD_COUNT (sizeof WORKLOADS / sizeof WORKLOADS[0])

static void context_free(context *c) {
    bnmlp_model_free(c->model);
    bnmlp_model_free(c->unfolded);
    for (size_t i = 0; i < TRAIN_BATCHES; i++) {
        bnmlp_tensor_free(c->x[i]);
        bnmlp_tensor_free(c->y[i]);
    }
    bnmlp_tensor_free(c->out);
    bnmlp_tensor_free(c->train_x);
    bnmlp_tensor_free(c->train_y);
    bnmlp_tensor_free(c->test_x);
    bnmlp_tensor_free(c->test_y);
    *c = (context){0};
}

/* The precision of a workload's model: bf16 for a name ending in ".bf16", else float32. */
static bnmlp_precision workload_precision(const workload *w) {
    const size_t length = strlen(w->name);
    return length > 5 && strcmp(w->name + length - 5, ".bf16") == 0 ? BNMLP_PRECISION_BF16
                                                                    : BNMLP_PRECISION_FP32;
}

/* Synthetic standard-normal inputs and fair-coin 0/1 labels from RandomState(seed), for the
 * workload's model in the workload's precision. */
static int fill_synthetic(context *c, const workload *w, uint32_t seed) {
    if (c->model != NULL && bnmlp_model_set_precision(c->model, workload_precision(w)) != BNMLP_OK) {
        fprintf(stderr, "mlp_step: cannot set the precision\n");
        return 0;
    }
    bnmlp_random rng;
    bnmlp_random_seed(&rng, seed);
    bnmlp_status status = BNMLP_OK;
    for (size_t b = 0; b < TRAIN_BATCHES && status == BNMLP_OK; b++) {
        c->x[b] = bnmlp_tensor_create(w->batch, w->inputs, &status);
        if (status == BNMLP_OK) {
            c->y[b] = bnmlp_tensor_create(w->batch, 1, &status);
        }
        if (status == BNMLP_OK) {
            for (size_t i = 0; i < w->batch * w->inputs; i++) {
                c->x[b]->data[i] = (float)bnmlp_random_gauss(&rng);
            }
            for (size_t i = 0; i < w->batch; i++) {
                c->y[b]->data[i] = (float)(bnmlp_random_uint32(&rng) & 1u);
            }
        }
    }
    if (status == BNMLP_OK) {
        c->out = bnmlp_tensor_create(w->batch, 1, &status);
    }
    if (status != BNMLP_OK) {
        fprintf(stderr, "mlp_step: cannot allocate data: %s\n", bnmlp_status_string(status));
        return 0;
    }
    return 1;
}

/* make_circles(1000, noise 0.1, random_state 1): first 500 rows train, the rest test. */
static int fill_circles(context *c) {
    bnmlp_dataset data, train, test;
    bnmlp_circles_config config = BNMLP_CIRCLES_DEFAULT;
    config.n_samples = 1000, config.noise = 0.1, config.random_state = 1;
    bnmlp_status status = bnmlp_make_circles(&config, &data);
    if (status != BNMLP_OK) {
        fprintf(stderr, "mlp_step: make_circles: %s\n", bnmlp_status_string(status));
        return 0;
    }
    status = bnmlp_dataset_split(&data, 500, &train, &test);
    bnmlp_dataset_free(&data);
    if (status == BNMLP_OK) {
        status = bnmlp_dataset_to_tensors(&train, &c->train_x, &c->train_y);
        if (status == BNMLP_OK) {
            status = bnmlp_dataset_to_tensors(&test, &c->test_x, &c->test_y);
        }
        bnmlp_dataset_free(&train);
        bnmlp_dataset_free(&test);
    }
    if (status != BNMLP_OK) {
        fprintf(stderr, "mlp_step: circles data: %s\n", bnmlp_status_string(status));
        return 0;
    }
    return 1;
}

static int unit_train(context *c);

/* The folded workloads: the model trained TRAIN_BATCHES steps (moving statistics that are not
 * the initial ones), then replaced by bnmlp_model_fold's model, whose forward is timed; the
 * unfolded one is kept in c->unfolded and timed in the same samples (variant 1). */
static int fold_model(context *c) {
    for (size_t b = 0; b < TRAIN_BATCHES; b++) {
        if (!unit_train(c)) {
            return 0;
        }
    }
    bnmlp_status status = BNMLP_OK;
    bnmlp_model *folded = bnmlp_model_fold(c->model, NULL, &status);
    if (folded == NULL) {
        fprintf(stderr, "mlp_step: fold: %s\n", bnmlp_status_string(status));
        return 0;
    }
    c->unfolded = c->model;
    c->model = folded;
    return 1;
}

/* The int8 workloads: the model trained TRAIN_BATCHES steps as the folded ones, then replaced by
 * bnmlp_model_quantize's model calibrated on those training batches, whose forward is timed;
 * the float model is kept in c->unfolded and timed in the same samples (variant 1). */
static int quantize_model(context *c) {
    for (size_t b = 0; b < TRAIN_BATCHES; b++) {
        if (!unit_train(c)) {
            return 0;
        }
    }
    const size_t rows = c->x[0]->rows, cols = c->x[0]->cols;
    bnmlp_status status = BNMLP_OK;
    bnmlp_tensor *calibration = bnmlp_tensor_create(rows * TRAIN_BATCHES, cols, &status);
    if (calibration == NULL) {
        fprintf(stderr, "mlp_step: calibration rows: %s\n", bnmlp_status_string(status));
        return 0;
    }
    for (size_t b = 0; b < TRAIN_BATCHES; b++) {
        memcpy(calibration->data + b * rows * cols, c->x[b]->data, rows * cols * sizeof(float));
    }
    bnmlp_model *quantized = bnmlp_model_quantize(c->model, calibration, NULL, &status);
    bnmlp_tensor_free(calibration);
    if (quantized == NULL) {
        fprintf(stderr, "mlp_step: quantize: %s\n", bnmlp_status_string(status));
        return 0;
    }
    c->unfolded = c->model;
    c->model = quantized;
    return 1;
}

static int context_init(context *c, const workload *w, int threads) {
    *c = (context){0};
    const size_t length = strlen(w->name);
    if (length > 5 && strcmp(w->name + length - 5, ".adam") == 0) {
        c->optimizer = BNMLP_OPTIMIZER_ADAM_DEFAULT; /* lr 1e-3, PyTorch's */
    } else {
        c->optimizer = BNMLP_OPTIMIZER_SGD_DEFAULT;
        c->optimizer.sgd.learning_rate = 0.01f;
        c->optimizer.sgd.momentum = 0.9f;
    }
    c->spec = w->spec;
    c->threads = threads;
    if (w->kind == KIND_CIRCLES) {
        return fill_circles(c);
    }
    c->model = make_model(w->inputs, w->spec, w->batch, 1, threads);
    return c->model != NULL && fill_synthetic(c, w, 42) && (w->kind != KIND_FOLDED || fold_model(c)) &&
           (w->kind != KIND_INT8 || quantize_model(c));
}

/* One training step on the next synthetic batch. */
static int unit_train(context *c) {
    float loss = 0.0f;
    size_t b = c->next;
    c->next = (c->next + 1) % TRAIN_BATCHES;
    bnmlp_status status = bnmlp_model_train_step(c->model, c->x[b], c->y[b], &c->optimizer, &loss, NULL);
    if (status != BNMLP_OK) {
        fprintf(stderr, "mlp_step: train step: %s\n", bnmlp_status_string(status));
        return 0;
    }
    c->check = loss;
    return 1;
}

/* One inference-mode forward of the first synthetic batch. */
static int unit_infer(context *c) {
    bnmlp_status status = bnmlp_model_forward(c->model, c->x[0], BNMLP_MODE_INFERENCE, c->out);
    if (status != BNMLP_OK) {
        fprintf(stderr, "mlp_step: forward: %s\n", bnmlp_status_string(status));
        return 0;
    }
    c->check = c->out->data[0];
    return 1;
}

/* A whole circles run as the tutorial does it: build the model (seed 1), fit 100 epochs of
 * shuffled batches of 32 with SGD(0.01, 0.9) and validation on the test half after every epoch. */
static int unit_circles(context *c) {
    bnmlp_model *model = make_model(2, c->spec, 32, 1, c->threads);
    if (model == NULL) {
        return 0;
    }
    bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
    fit.epochs = CIRCLES_EPOCHS;
    fit.batch_size = 32;
    fit.optimizer = c->optimizer;
    fit.validation_x = c->test_x;
    fit.validation_y = c->test_y;
    bnmlp_epoch_record history[CIRCLES_EPOCHS];
    size_t epochs_run = 0;
    bnmlp_status status = bnmlp_model_fit(model, c->train_x, c->train_y, &fit, history, &epochs_run);
    bnmlp_model_free(model);
    if (status != BNMLP_OK || epochs_run != CIRCLES_EPOCHS) {
        fprintf(stderr, "mlp_step: fit: %s\n", bnmlp_status_string(status));
        return 0;
    }
    c->check = history[CIRCLES_EPOCHS - 1].val_accuracy;
    return 1;
}

static int run_unit(const workload *w, context *c) {
    switch (w->kind) {
    case KIND_TRAIN: return unit_train(c);
    case KIND_INFER:
    case KIND_FOLDED:
    case KIND_INT8: return unit_infer(c);
    case KIND_CIRCLES: return unit_circles(c);
    }
    return 0;
}

/* Variant 1 of a folded workload: the same forward through the unfolded model. */
static int unit_infer_unfolded(context *c) {
    bnmlp_model *folded = c->model;
    c->model = c->unfolded;
    const int ok = unit_infer(c);
    c->model = folded;
    return ok;
}

/* Timed variants of a workload: a folded workload also times its unfolded model. */
static int variants_of(const workload *w) { return w->kind == KIND_FOLDED || w->kind == KIND_INT8 ? 2 : 1; }

static int run_variant(const workload *w, context *c, int variant) {
    return variant == 0 ? run_unit(w, c) : unit_infer_unfolded(c);
}

/* ----------------------------------------------------------------------------------------- */
/* Timing                                                                                    */
/* ----------------------------------------------------------------------------------------- */

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct result {
    double median; /* seconds per unit */
    double min;    /* seconds per unit */
    long calls;    /* units per sample */
    double check;
} result;

/* Pieces a sample of a workload with two variants is cut into: the variants take turns piece by
 * piece (in alternating order), so both see the same machine, however busy it is. */
#define VARIANT_PIECES 16

/* The median of n sorted samples. */
static double median_of(const double *sorted, int n) {
    return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
}

/* Warms up, sizes the samples, times opt->reps samples of each variant of the workload (r[0]; a
 * folded workload's unfolded model in r[1]). 0 on failure. */
static int time_workload(const workload *w, const options *opt, result r[3]) {
    context c;
    if (!context_init(&c, w, opt->threads)) {
        context_free(&c);
        return 0;
    }
    const int variants = variants_of(w), pieces = variants > 1 ? VARIANT_PIECES : 1;
    int ok = 1;
    long warm_calls = 0;
    double start = now_seconds(), elapsed = 0.0;
    while (ok && (warm_calls < 2 || elapsed < opt->warmup_seconds)) {
        for (int v = 0; ok && v < variants; v++) {
            ok = run_variant(w, &c, v);
        }
        warm_calls++;
        elapsed = now_seconds() - start;
    }
    double per_call = elapsed / (double)(warm_calls * variants);
    long calls = (long)ceil(opt->sample_seconds / (per_call > 1e-9 ? per_call : 1e-9));
    calls = calls < pieces ? pieces : calls;
    double *samples = malloc(2 * (size_t)opt->reps * sizeof *samples);
    double *ratios = malloc((size_t)opt->reps * VARIANT_PIECES * sizeof *ratios); /* per piece */
    ok = ok && samples != NULL && ratios != NULL;
    for (int s = 0; ok && s < opt->reps; s++) {
        double spent[2] = {0.0, 0.0};
        for (int p = 0; ok && p < pieces; p++) {
            const long n = calls / pieces + (p < calls % pieces ? 1 : 0);
            double piece[2] = {0.0, 0.0};
            for (int k = 0; ok && k < variants; k++) {
                const int v = p % 2 == 0 ? k : variants - 1 - k;
                double t0 = now_seconds();
                for (long i = 0; ok && i < n; i++) {
                    ok = run_variant(w, &c, v);
                }
                piece[v] = now_seconds() - t0;
                spent[v] += piece[v];
            }
            ratios[s * pieces + p] = piece[0] > 0.0 ? piece[1] / piece[0] : 1.0;
        }
        for (int v = 0; v < variants; v++) {
            samples[v * opt->reps + s] = spent[v] / (double)calls;
        }
    }
    for (int v = 0; ok && v < variants; v++) {
        double *own = samples + v * opt->reps;
        qsort(own, (size_t)opt->reps, sizeof *own, compare_doubles);
        r[v].median = median_of(own, opt->reps);
        r[v].min = own[0];
        r[v].calls = calls;
        if (variants > 1) { /* each variant's own check: its first output */
            ok = run_variant(w, &c, v);
        }
        r[v].check = c.check;
    }
    if (ok && variants > 1) { /* the median over pieces of unfolded / folded time */
        const int n = opt->reps * pieces;
        qsort(ratios, (size_t)n, sizeof *ratios, compare_doubles);
        r[2] =
            (result){.median = median_of(ratios, n), .min = ratios[0], .calls = calls / pieces, .check = n};
    }
    free(ratios);
    free(samples);
    context_free(&c);
    return ok;
}

/* Formats seconds with a unit that keeps 3-4 significant digits. */
static const char *format_time(double seconds, char *buffer, size_t size) {
    if (seconds >= 1.0) {
        snprintf(buffer, size, "%.3f s", seconds);
    } else if (seconds >= 1e-3) {
        snprintf(buffer, size, "%.3f ms", seconds * 1e3);
    } else {
        snprintf(buffer, size, "%.2f us", seconds * 1e6);
    }
    return buffer;
}

static const char *unit_name(kind k) {
    return k == KIND_TRAIN ? "step" : k == KIND_CIRCLES ? "run" : "forward";
}

int main(int argc, char **argv) {
    options opt;
    int parsed = parse_options(argc, argv, &opt);
    if (parsed != 0) {
        usage(parsed == 2 ? stdout : stderr);
        return parsed == 2 ? 0 : 2;
    }
    if (opt.list) {
        for (size_t i = 0; i < WORKLOAD_COUNT; i++) {
            printf("%-16s %s\n", WORKLOADS[i].name, WORKLOADS[i].description);
        }
        return 0;
    }
    if (opt.csv) {
        printf("impl,threads,workload,unit,median_s,min_s,samples,calls,check\n");
    } else {
        printf("libbnmlp %d.%d.%d, threads %d, %d samples per workload (medians and minima per unit)\n",
               BNMLP_VERSION_MAJOR, BNMLP_VERSION_MINOR, BNMLP_VERSION_PATCH, opt.threads, opt.reps);
        printf("%-16s %-52s %-8s %12s %12s %6s %9s\n", "workload", "what", "unit", "median", "min", "calls",
               "check");
    }
    int failures = 0, ran = 0;
    for (size_t i = 0; i < WORKLOAD_COUNT; i++) {
        const workload *w = &WORKLOADS[i];
        if (!matches_filter(w->name, opt.filter)) {
            continue;
        }
        ran++;
        result results[3], r;
        if (!time_workload(w, &opt, results)) {
            fprintf(stderr, "mlp_step: workload %s failed\n", w->name);
            failures++;
            continue;
        }
        /* A folded workload's second row: its unfolded model, timed in the same samples (impl
         * "bnmlp-unfolded" in the CSV); and in the CSV a third: impl "bnmlp-fold-speedup", unit
         * "ratio", the median (and the least) over every piece of the unfolded model's time over
         * the folded one's, with the number of pieces as its check. An int8 workload's rows are the same,
         * its second row the float model before quantizing (and folding). */
        for (int v = 0; v < variants_of(w); v++) {
            r = results[v];
            if (opt.csv) {
                printf("%s,%d,%s,%s,%.9g,%.9g,%d,%ld,%.6g\n", v == 0 ? "bnmlp" : "bnmlp-unfolded",
                       opt.threads, w->name, unit_name(w->kind), r.median, r.min, opt.reps, r.calls, r.check);
            } else {
                char median[32], minimum[32];
                printf("%-16s %-52s %-8s %12s %12s %6ld %9.4g\n", v == 0 ? w->name : "  (unfolded)",
                       v == 0 ? w->description : "the same model before folding, same samples",
                       unit_name(w->kind), format_time(r.median, median, sizeof median),
                       format_time(r.min, minimum, sizeof minimum), r.calls, r.check);
            }
        }
        if (variants_of(w) > 1) {
            r = results[2];
            if (opt.csv) {
                printf("bnmlp-fold-speedup,%d,%s,ratio,%.6g,%.6g,%d,%ld,%.0f\n", opt.threads, w->name,
                       r.median, r.min, opt.reps, r.calls, r.check);
            } else {
                printf("%-16s %-52s %-8s %12.3f %12.3f %6ld %9.0f\n", "  (speedup)",
                       "unfolded / folded time, median over paired pieces", "ratio", r.median, r.min, r.calls,
                       r.check);
            }
        }
        fflush(stdout);
    }
    if (ran == 0) {
        fprintf(stderr, "mlp_step: no workload matches --filter %s (see --list)\n", opt.filter);
        return 2;
    }
    return failures == 0 ? 0 : 1;
}
