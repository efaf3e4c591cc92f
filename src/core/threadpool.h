/*
 * threadpool.h - internal: a small fixed pool of worker threads (pthreads) for data-parallel
 * loops. No global state: every pool is independent, two pools in two threads never interfere.
 *
 * bnmlp_threadpool_run hands out task indices 0 .. task_count-1; the calling thread takes tasks
 * too, and run returns only when every task has finished. A pool of n threads creates n - 1
 * workers (n = 1 creates none and runs everything on the caller). A task is claimed by one
 * compare-and-swap, without a lock. Idle workers spin briefly, then sleep on a condition variable
 * (woken only when one sleeps). All allocation happens in create; run never allocates.
 * One pool must not be run from two threads at once (it belongs to one model).
 */
#ifndef BNMLP_THREADPOOL_H
#define BNMLP_THREADPOOL_H

#include <stddef.h>

#include "bnmlp.h"

typedef struct bnmlp_threadpool bnmlp_threadpool;

/* The most threads a pool has (bnmlp_model_set_threads refuses more). */
#define BNMLP_MAX_THREADS 1024

/* One task: task in [0, task_count), thread in [0, threads) names the thread running it (0 is
 * the caller), so a task can use per-thread scratch. */
typedef void (*bnmlp_task_function)(void *context, size_t task, size_t thread);

/* A pool of threads threads in all (the caller counts as one; threads 0 is treated as 1), its
 * memory from allocator (NULL: malloc). NULL on failure, with *status (may be NULL) set to
 * BNMLP_ERR_OUT_OF_MEMORY or BNMLP_ERR_INVALID_ARGUMENT (a thread could not be started). */
bnmlp_threadpool *bnmlp_threadpool_create(size_t threads, const bnmlp_allocator *allocator,
                                          bnmlp_status *status);

/* Stops and joins the workers and releases the pool; NULL is a no-op. */
void bnmlp_threadpool_free(bnmlp_threadpool *pool);

/* The number of online cores (sysconf), at least 1 and at most 1024; 1 where it cannot be asked. */
size_t bnmlp_online_cores(void);

/* Threads in the pool, the caller included (1 for a NULL pool). */
size_t bnmlp_threadpool_threads(const bnmlp_threadpool *pool);

/* Runs function(context, task, thread) once for every task in [0, task_count) and returns when
 * all are done. pool NULL (or of 1 thread) runs them in order on the calling thread. */
void bnmlp_threadpool_run(bnmlp_threadpool *pool, bnmlp_task_function function, void *context,
                          size_t task_count);

#endif /* BNMLP_THREADPOOL_H */
