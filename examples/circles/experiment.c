/*
 * experiment.c - the runs of the study: one model per (variant, seed), trained and evaluated,
 * handed out to worker threads through a locked counter. Each run writes only its own slot.
 */
#include "experiment.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

/* The shared state of the worker threads. */
typedef struct job_queue {
    const experiment_setup *setup; /* what every run shares */
    experiment_results *results;   /* where run t writes: results->runs[t] */
    pthread_mutex_t lock;          /* guards next_task */
    size_t next_task;              /* the next run to hand out */
    size_t task_count;             /* variant_count * repeats */
} job_queue;

double monotonic_seconds(void) {
    struct timespec now;
    if (clock_gettime(CLOCK_MONOTONIC, &now) != 0) {
        return 0.0;
    }
    return (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
}

/* The batch size the run uses: a batch larger than the training half is the whole half, as in
 * Keras, and the model is built for exactly that. */
static size_t effective_batch_size(const experiment_setup *setup) {
    size_t rows = setup->train_x->rows;
    return setup->batch_size < rows ? setup->batch_size : rows;
}

/* Evaluates the trained model on both halves (inference mode) into *result. */
static bnmlp_status evaluate_both(bnmlp_model *model, const experiment_setup *setup, run_result *result) {
    bnmlp_status status =
        bnmlp_model_evaluate(model, setup->train_x, setup->train_y, NULL, &result->train_accuracy);
    if (status == BNMLP_OK) {
        status = bnmlp_model_evaluate(model, setup->test_x, setup->test_y, NULL, &result->test_accuracy);
    }
    return status;
}

/* Builds the variant's model from seed, fits it with validation on the test half after every
 * epoch, and evaluates it. A diverged fit keeps its weights and is still evaluated. */
/* Saves the model of variant v to setup->save_dir/<variant>.bnmlp. */
static bnmlp_status save_model(const experiment_setup *setup, variant v, const bnmlp_model *model) {
    char path[4096];
    int length = snprintf(path, sizeof path, "%s/%s.bnmlp", setup->save_dir, variant_name(v));
    if (length < 0 || (size_t)length >= sizeof path) {
        return BNMLP_ERR_INVALID_ARGUMENT;
    }
    return bnmlp_model_save(model, path);
}

static bnmlp_status train_and_evaluate(const experiment_setup *setup, variant v, uint32_t seed, bool save,
                                       run_result *result) {
    size_t batch_size = effective_batch_size(setup);
    bnmlp_model *model = NULL;
    bnmlp_status status = variant_create_model(v, setup->train_x->cols, setup->bn_momentum, setup->bn_average,
                                               batch_size, seed, &model);
    if (status != BNMLP_OK) {
        return status;
    }
    bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
    fit.epochs = setup->epochs;
    fit.batch_size = batch_size;
    fit.optimizer.sgd = setup->optimizer;
    fit.validation_x = setup->test_x;
    fit.validation_y = setup->test_y;
    status =
        bnmlp_model_fit(model, setup->train_x, setup->train_y, &fit, result->history, &result->epochs_run);
    if (status == BNMLP_OK || status == BNMLP_ERR_DIVERGED) {
        bnmlp_status evaluation = evaluate_both(model, setup, result);
        status = evaluation == BNMLP_OK ? status : evaluation;
    }
    if ((status == BNMLP_OK || status == BNMLP_ERR_DIVERGED) && save) {
        bnmlp_status saved = save_model(setup, v, model);
        status = saved == BNMLP_OK ? status : saved;
    }
    bnmlp_model_free(model);
    return status;
}

/* Runs task t: run r = t % repeats of variant index t / repeats, with seed + r, timed. */
static void run_task(const job_queue *queue, size_t task) {
    const experiment_setup *setup = queue->setup;
    size_t variant_index = task / setup->repeats;
    size_t run = task % setup->repeats;
    run_result *result = &queue->results->runs[task];
    uint32_t seed = setup->seed + (uint32_t)run;
    double start = monotonic_seconds();
    const bool save = setup->save_dir != NULL && run + 1 == setup->repeats;
    result->status = train_and_evaluate(setup, setup->variants[variant_index], seed, save, result);
    result->seconds = monotonic_seconds() - start;
}

/* Hands out the next task into *task; false when none are left. */
static bool take_task(job_queue *queue, size_t *task) {
    pthread_mutex_lock(&queue->lock);
    bool found = queue->next_task < queue->task_count;
    if (found) {
        *task = queue->next_task++;
    }
    pthread_mutex_unlock(&queue->lock);
    return found;
}

/* A worker thread: runs tasks until none are left. */
static void *worker_main(void *argument) {
    job_queue *queue = argument;
    size_t task = 0;
    while (take_task(queue, &task)) {
        run_task(queue, task);
    }
    return NULL;
}

/* Allocates the run slots and their history arena; false when a size overflows or memory runs out. */
static bool allocate_results(const experiment_setup *setup, experiment_results *results) {
    *results = (experiment_results){
        .variant_count = setup->variant_count, .repeats = setup->repeats, .epochs = setup->epochs};
    size_t runs = setup->variant_count * setup->repeats;
    if (setup->repeats != 0 && runs / setup->repeats != setup->variant_count) {
        return false;
    }
    if (setup->epochs != 0 && runs > SIZE_MAX / sizeof(bnmlp_epoch_record) / setup->epochs) {
        return false;
    }
    results->runs = calloc(runs, sizeof *results->runs);
    results->records = calloc(runs * setup->epochs, sizeof *results->records);
    if (results->runs == NULL || results->records == NULL) {
        return false;
    }
    for (size_t task = 0; task < runs; task++) {
        results->runs[task].history = results->records + task * setup->epochs;
        results->runs[task].status = BNMLP_ERR_INVALID_ARGUMENT; /* until the run has run */
    }
    return true;
}

/* Runs every task on up to jobs - 1 extra threads plus the calling thread. A thread that cannot
 * be started only means fewer workers. */
static void run_all(job_queue *queue, size_t jobs) {
    pthread_t threads[1024];
    size_t extra = jobs - 1;
    size_t limit = sizeof threads / sizeof threads[0];
    extra = extra < limit ? extra : limit;
    extra = extra < queue->task_count ? extra : queue->task_count;
    size_t started = 0;
    while (started < extra && pthread_create(&threads[started], NULL, worker_main, queue) == 0) {
        started++;
    }
    worker_main(queue);
    for (size_t i = 0; i < started; i++) {
        pthread_join(threads[i], NULL);
    }
}

bnmlp_status experiment_run(const experiment_setup *setup, size_t jobs, experiment_results *results) {
    if (!allocate_results(setup, results)) {
        return BNMLP_ERR_OUT_OF_MEMORY;
    }
    job_queue queue = {.setup = setup,
                       .results = results,
                       .next_task = 0,
                       .task_count = setup->variant_count * setup->repeats};
    if (pthread_mutex_init(&queue.lock, NULL) != 0) {
        return BNMLP_ERR_OUT_OF_MEMORY;
    }
    run_all(&queue, jobs < 1 ? 1 : jobs);
    pthread_mutex_destroy(&queue.lock);
    size_t variant_index = 0;
    size_t run = 0;
    if (experiment_find_failure(results, &variant_index, &run)) {
        return experiment_result(results, variant_index, run)->status;
    }
    return BNMLP_OK;
}

const run_result *experiment_result(const experiment_results *results, size_t v, size_t r) {
    return &results->runs[v * results->repeats + r];
}

bool experiment_find_failure(const experiment_results *results, size_t *variant_index, size_t *run) {
    if (results->runs == NULL) {
        return false;
    }
    for (size_t v = 0; v < results->variant_count; v++) {
        for (size_t r = 0; r < results->repeats; r++) {
            bnmlp_status status = experiment_result(results, v, r)->status;
            if (status != BNMLP_OK && status != BNMLP_ERR_DIVERGED) {
                *variant_index = v;
                *run = r;
                return true;
            }
        }
    }
    return false;
}

void experiment_results_free(experiment_results *results) {
    free(results->runs);
    free(results->records);
    *results = (experiment_results){0};
}
