/* threadpool.c - a fixed pool of pthreads that share the tasks of one run at a time. */
#define _POSIX_C_SOURCE 200809L

#include "core/threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
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

/* A run's word: its generation in the high 32 bits, its task count in the next 16, the next task
 * to hand out in the low 16. Claiming a task checks the count of the very word it exchanges, so a
 * late thread can never claim past the end of a run while the caller prepares the next one. */
#define RUN_GENERATION(word) ((uint32_t)((word) >> 32))
#define RUN_TASK_COUNT(word) ((size_t)((word) >> 16 & 0xffffu))
#define RUN_NEXT_TASK(word) ((size_t)((word)&0xffffu))
/* The most tasks one run of the word hands out; bnmlp_threadpool_run cuts larger counts. */
#define RUN_MAX_TASKS ((size_t)0xffffu)

struct bnmlp_threadpool {
    bnmlp_allocator allocator; /* copied at create */
    size_t threads;            /* caller included */
    worker *workers;           /* threads - 1 of them */
    size_t started;            /* workers whose thread was created */

    /* Sleeping only: the mutex guards the waits on the two conditions, never a claim. */
    pthread_mutex_t mutex;
    pthread_cond_t wake; /* workers sleep here waiting for a new generation */
    pthread_cond_t done; /* the caller sleeps here waiting for finished to reach the task count */

    /* The current run. function and context are written by the caller before it publishes the
     * run's word and read by a thread only after it claimed a task of the run (which keeps the
     * run current until the task finishes), so they need no lock. */
    bnmlp_task_function function;
    void *context;
    atomic_uint_least64_t run; /* generation | task count | next task: claimed by one CAS */
    atomic_size_t finished;    /* tasks of the current run that have returned */
    uint32_t generation;       /* the caller's count of runs (the word's generation) */
    atomic_size_t sleepers;    /* workers asleep on wake (or about to be) */
    atomic_bool caller_asleep; /* the caller is asleep on done (or about to be) */
    atomic_bool stopping;      /* set by free */
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

/* Wakes the caller if it went to sleep waiting for the run's last task. The finished count was
 * raised (sequentially consistent) before this look at caller_asleep, and the caller raises
 * caller_asleep before it looks at the count: one of the two sees the other. */
static void wake_caller(bnmlp_threadpool *pool) {
    if (!atomic_load(&pool->caller_asleep)) return;
    pthread_mutex_lock(&pool->mutex);
    pthread_cond_signal(&pool->done);
    pthread_mutex_unlock(&pool->mutex);
}

/* Takes tasks of run generation until none are left. A task is claimed by one compare-and-swap
 * of the run's word, and only while its generation is current, so a thread that comes late never
 * touches a later run's tasks; idle workers need not check in, so a worker the system has not
 * scheduled never delays a run it took no task of. No lock: a thread that finds the word taken
 * retries at once, where a mutex could put it to sleep in the kernel for microseconds. */
static void take_tasks(bnmlp_threadpool *pool, size_t thread, uint32_t generation) {
    uint_least64_t word = atomic_load_explicit(&pool->run, memory_order_acquire);
    for (;;) {
        if (RUN_GENERATION(word) != generation || RUN_NEXT_TASK(word) >= RUN_TASK_COUNT(word)) return;
        /* acq_rel: every claim passes on what the caller wrote before it published the run. */
        if (!atomic_compare_exchange_weak_explicit(&pool->run, &word, word + 1u, memory_order_acq_rel,
                                                   memory_order_acquire))
            continue;
        /* An unclaimed task of the run was claimed: the run stays current until this task has
         * finished, so its fields are stable. */
        pool->function(pool->context, RUN_NEXT_TASK(word), thread);
        if (atomic_fetch_add(&pool->finished, 1) + 1 == RUN_TASK_COUNT(word)) wake_caller(pool);
        word = atomic_load_explicit(&pool->run, memory_order_acquire);
    }
}

/* The generation of the run word. */
static uint32_t current_generation(bnmlp_threadpool *pool) {
    return RUN_GENERATION(atomic_load_explicit(&pool->run, memory_order_acquire));
}

/* Polls until the run's generation differs from seen or the pool stops, for at most
 * SPIN_NANOSECONDS; true if it did. */
static bool spin_for_generation(bnmlp_threadpool *pool, uint32_t seen) {
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        for (int i = 0; i < SPINS_PER_CLOCK_READ; i++) {
            if (current_generation(pool) != seen ||
                atomic_load_explicit(&pool->stopping, memory_order_acquire))
                return true;
            cpu_relax();
        }
        if (elapsed_nanoseconds(&start) > SPIN_NANOSECONDS) return false;
    }
}

/* Sleeps until the run's generation differs from seen or the pool stops. The worker counts
 * itself a sleeper (sequentially consistent) before it looks at the word under the mutex; the
 * caller publishes a run's word before it looks at the sleepers and broadcasts under the mutex:
 * either the worker sees the new run, or the caller sees the sleeper and wakes it. */
static void sleep_for_generation(bnmlp_threadpool *pool, uint32_t seen) {
    pthread_mutex_lock(&pool->mutex);
    atomic_fetch_add(&pool->sleepers, 1);
    while (RUN_GENERATION(atomic_load(&pool->run)) == seen && !atomic_load(&pool->stopping))
        pthread_cond_wait(&pool->wake, &pool->mutex);
    atomic_fetch_sub(&pool->sleepers, 1);
    pthread_mutex_unlock(&pool->mutex);
}

static void *worker_main(void *argument) {
    worker *self = argument;
    bnmlp_threadpool *pool = self->pool;
    uint32_t seen = 0; /* generation at create: no run can have started before the workers */
    for (;;) {
        if (!spin_for_generation(pool, seen)) sleep_for_generation(pool, seen);
        if (atomic_load_explicit(&pool->stopping, memory_order_acquire)) return NULL;
        seen = current_generation(pool);
        take_tasks(pool, self->thread, seen);
    }
}

/* Waits until count tasks of the current run have finished: polls for SPIN_NANOSECONDS, then
 * sleeps on done (see wake_caller). */
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
    atomic_store(&pool->caller_asleep, true);
    while (atomic_load(&pool->finished) != count) pthread_cond_wait(&pool->done, &pool->mutex);
    atomic_store(&pool->caller_asleep, false);
    pthread_mutex_unlock(&pool->mutex);
}

static void stop_workers(bnmlp_threadpool *pool) {
    pthread_mutex_lock(&pool->mutex);
    atomic_store(&pool->stopping, true);
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
    atomic_init(&pool->run, 0u);
    atomic_init(&pool->finished, 0);
    pool->generation = 0;
    atomic_init(&pool->sleepers, 0);
    atomic_init(&pool->caller_asleep, false);
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

/* Tasks [first, first + count) of a run too large for one word, as tasks [0, count). */
typedef struct chunk_job {
    bnmlp_task_function function;
    void *context;
    size_t first;
} chunk_job;

static void chunk_task(void *context, size_t task, size_t thread) {
    const chunk_job *job = context;
    job->function(job->context, job->first + task, thread);
}

/* One run of at most RUN_MAX_TASKS tasks on a pool of several threads. */
static void run_tasks(bnmlp_threadpool *pool, bnmlp_task_function function, void *context,
                      size_t task_count) {
    /* The previous run has finished (every claimed task returned): nobody reads these now. */
    pool->function = function;
    pool->context = context;
    atomic_store_explicit(&pool->finished, 0, memory_order_relaxed);
    const uint32_t generation = ++pool->generation;
    /* Published after the fields (release); sequentially consistent against sleep_for_generation. */
    atomic_store(&pool->run, (uint_least64_t)generation << 32 | (uint_least64_t)task_count << 16);
    if (atomic_load(&pool->sleepers) > 0) {
        pthread_mutex_lock(&pool->mutex);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->mutex);
    }
    take_tasks(pool, 0, generation);
    wait_for_tasks(pool, task_count);
}

void bnmlp_threadpool_run(bnmlp_threadpool *pool, bnmlp_task_function function, void *context,
                          size_t task_count) {
    if (task_count == 0) return;
    if (!pool || pool->threads == 1 || task_count == 1) {
        for (size_t task = 0; task < task_count; task++) function(context, task, 0);
        return;
    }
    if (task_count <= RUN_MAX_TASKS) {
        run_tasks(pool, function, context, task_count);
        return;
    }
    for (size_t first = 0; first < task_count; first += RUN_MAX_TASKS) {
        chunk_job job = {.function = function, .context = context, .first = first};
        const size_t left = task_count - first;
        run_tasks(pool, chunk_task, &job, left < RUN_MAX_TASKS ? left : RUN_MAX_TASKS);
    }
}

size_t bnmlp_online_cores(void) {
#ifdef _SC_NPROCESSORS_ONLN
    const long count = sysconf(_SC_NPROCESSORS_ONLN);
    if (count > BNMLP_MAX_THREADS) return BNMLP_MAX_THREADS;
    if (count >= 1) return (size_t)count;
#endif
    return 1;
}
