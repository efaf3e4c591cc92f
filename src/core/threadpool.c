/* threadpool.c - a fixed pool of pthreads that share the tasks of one run at a time. */
#define _POSIX_C_SOURCE 200809L

#include "core/threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"

/* How long an idle worker (or the caller waiting for the last task) polls before it sleeps:
 * long enough to cover the gap between two products of one training step. */
#define SPIN_NANOSECONDS 200000L
/* Polls between two looks at the clock. */
#define SPINS_PER_CLOCK_READ 64

typedef struct worker {
    bnmlp_threadpool *pool;
    size_t thread; /* 1 .. threads - 1 */
    pthread_t handle;
} worker;

struct bnmlp_threadpool {
    bnmlp_allocator allocator; /* copied at create */
    size_t threads;            /* caller included */
    worker *workers;           /* threads - 1 of them */
    size_t started;            /* workers whose thread was created */

    pthread_mutex_t mutex; /* guards the run's fields and every claim of a task */
    pthread_cond_t wake;   /* workers sleep here waiting for a new generation */
    pthread_cond_t done;   /* the caller sleeps here waiting for finished to reach task_count */

    /* The current run, written under mutex by the caller. */
    bnmlp_task_function function;
    void *context;
    size_t task_count;
    size_t next_task;       /* next task index to hand out (under mutex) */
    atomic_size_t finished; /* tasks of the current run that have returned */
    atomic_uint generation; /* bumped (under mutex) once per run; names the run */
    atomic_bool stopping;   /* set (under mutex) by free */
};

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static long elapsed_nanoseconds(const struct timespec *start) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(now.tv_sec - start->tv_sec) * 1000000000L + (now.tv_nsec - start->tv_nsec);
}

/* Takes tasks of run generation until none are left. A task is claimed under the mutex, and
 * only while its run is current, so a worker that wakes late never touches a later run's
 * tasks; idle workers need not check in, so a worker the system has not scheduled never delays
 * a run it took no task of. Tasks are coarse (tiles of a product), so the lock costs little. */
static void take_tasks(bnmlp_threadpool *pool, size_t thread, unsigned generation) {
    for (;;) {
        pthread_mutex_lock(&pool->mutex);
        if (atomic_load_explicit(&pool->generation, memory_order_relaxed) != generation ||
            pool->next_task >= pool->task_count) {
            pthread_mutex_unlock(&pool->mutex);
            return;
        }
        const size_t task = pool->next_task++;
        const size_t count = pool->task_count;
        const bnmlp_task_function function = pool->function;
        void *const context = pool->context;
        pthread_mutex_unlock(&pool->mutex);
        function(context, task, thread);
        if (atomic_fetch_add_explicit(&pool->finished, 1, memory_order_acq_rel) + 1 == count) {
            /* The last task of the run wakes the caller if it went to sleep. */
            pthread_mutex_lock(&pool->mutex);
            pthread_cond_signal(&pool->done);
            pthread_mutex_unlock(&pool->mutex);
        }
    }
}

/* Polls until generation differs from seen or the pool stops, for at most SPIN_NANOSECONDS;
 * true if it did. */
static bool spin_for_generation(bnmlp_threadpool *pool, unsigned seen) {
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        for (int i = 0; i < SPINS_PER_CLOCK_READ; i++) {
            if (atomic_load_explicit(&pool->generation, memory_order_acquire) != seen ||
                atomic_load_explicit(&pool->stopping, memory_order_acquire))
                return true;
            cpu_relax();
        }
        if (elapsed_nanoseconds(&start) > SPIN_NANOSECONDS) return false;
    }
}

static void *worker_main(void *argument) {
    worker *self = argument;
    bnmlp_threadpool *pool = self->pool;
    unsigned seen = 0; /* generation at create: no run can have started before the workers */
    for (;;) {
        if (!spin_for_generation(pool, seen)) {
            pthread_mutex_lock(&pool->mutex);
            while (atomic_load_explicit(&pool->generation, memory_order_acquire) == seen &&
                   !atomic_load_explicit(&pool->stopping, memory_order_acquire))
                pthread_cond_wait(&pool->wake, &pool->mutex);
            pthread_mutex_unlock(&pool->mutex);
        }
        if (atomic_load_explicit(&pool->stopping, memory_order_acquire)) return NULL;
        seen = atomic_load_explicit(&pool->generation, memory_order_acquire);
        take_tasks(pool, self->thread, seen);
    }
}

/* Waits until count tasks of the current run have finished. */
static void wait_for_tasks(bnmlp_threadpool *pool, size_t count) {
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        for (int i = 0; i < SPINS_PER_CLOCK_READ; i++) {
            if (atomic_load_explicit(&pool->finished, memory_order_acquire) == count) return;
            cpu_relax();
        }
        if (elapsed_nanoseconds(&start) > SPIN_NANOSECONDS) break;
    }
    pthread_mutex_lock(&pool->mutex);
    while (atomic_load_explicit(&pool->finished, memory_order_acquire) != count)
        pthread_cond_wait(&pool->done, &pool->mutex);
    pthread_mutex_unlock(&pool->mutex);
}

static void stop_workers(bnmlp_threadpool *pool) {
    pthread_mutex_lock(&pool->mutex);
    atomic_store_explicit(&pool->stopping, true, memory_order_release);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mutex);
    for (size_t i = 0; i < pool->started; i++) pthread_join(pool->workers[i].handle, NULL);
    pool->started = 0;
}

bnmlp_threadpool *bnmlp_threadpool_create(size_t threads, const bnmlp_allocator *allocator,
                                          bnmlp_status *status) {
    if (threads == 0) threads = 1;
    const bnmlp_allocator *a = allocator ? allocator : &bnmlp_default_allocator;
    bnmlp_threadpool *pool = bnmlp_alloc(a, sizeof *pool);
    if (!pool) {
        bnmlp_set_status(status, BNMLP_ERR_OUT_OF_MEMORY);
        return NULL;
    }
    pool->allocator = *a;
    pool->threads = threads;
    pool->started = 0;
    pool->function = NULL;
    pool->context = NULL;
    pool->task_count = 0;
    pool->next_task = 0;
    atomic_init(&pool->finished, 0);
    atomic_init(&pool->generation, 0u);
    atomic_init(&pool->stopping, false);
    pool->workers = NULL;
    if (threads > 1) {
        pool->workers = bnmlp_alloc_zeroed(a, threads - 1, sizeof *pool->workers);
        if (!pool->workers) {
            bnmlp_release(a, pool);
            bnmlp_set_status(status, BNMLP_ERR_OUT_OF_MEMORY);
            return NULL;
        }
    }
    pthread_mutex_init(&pool->mutex, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->done, NULL);
    for (size_t i = 0; i + 1 < threads; i++) {
        pool->workers[i].pool = pool;
        pool->workers[i].thread = i + 1;
        if (pthread_create(&pool->workers[i].handle, NULL, worker_main, &pool->workers[i]) != 0) {
            bnmlp_threadpool_free(pool);
            bnmlp_set_status(status, BNMLP_ERR_INVALID_ARGUMENT);
            return NULL;
        }
        pool->started++;
    }
    bnmlp_set_status(status, BNMLP_OK);
    return pool;
}

void bnmlp_threadpool_free(bnmlp_threadpool *pool) {
    if (!pool) return;
    stop_workers(pool);
    pthread_cond_destroy(&pool->done);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->mutex);
    const bnmlp_allocator a = pool->allocator;
    bnmlp_release(&a, pool->workers);
    bnmlp_release(&a, pool);
}

size_t bnmlp_threadpool_threads(const bnmlp_threadpool *pool) { return pool ? pool->threads : 1; }

void bnmlp_threadpool_run(bnmlp_threadpool *pool, bnmlp_task_function function, void *context,
                          size_t task_count) {
    if (task_count == 0) return;
    if (!pool || pool->threads == 1 || task_count == 1) {
        for (size_t task = 0; task < task_count; task++) function(context, task, 0);
        return;
    }
    pthread_mutex_lock(&pool->mutex);
    pool->function = function;
    pool->context = context;
    pool->task_count = task_count;
    pool->next_task = 0;
    atomic_store_explicit(&pool->finished, 0, memory_order_relaxed);
    const unsigned generation = atomic_fetch_add_explicit(&pool->generation, 1u, memory_order_release) + 1u;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mutex);
    take_tasks(pool, 0, generation);
    wait_for_tasks(pool, task_count);
}

size_t bnmlp_online_cores(void) {
#ifdef _SC_NPROCESSORS_ONLN
    const long count = sysconf(_SC_NPROCESSORS_ONLN);
    if (count > BNMLP_MAX_THREADS) return BNMLP_MAX_THREADS;
    if (count >= 1) return (size_t)count;
#endif
    return 1;
}
