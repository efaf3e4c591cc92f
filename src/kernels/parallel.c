/*
 * parallel.c - bnmlp_parallel_for, the library's one rule for splitting work over threads.
 */
#include "kernels/kernels.h"

/* One split range, as the pool's tasks see it. */
typedef struct range_job {
    bnmlp_range_function fn;
    void *arg;
    size_t quotient, remainder; /* piece i holds quotient indices, one more when i < remainder */
} range_job;

/* Piece `task`: [task q + min(task, r), ... + q + (task < r)). */
static void range_task(void *context, size_t task, size_t thread) {
    const range_job *job = context;
    const size_t extra = task < job->remainder ? task : job->remainder;
    const size_t begin = task * job->quotient + extra;
    const size_t end = begin + job->quotient + (task < job->remainder ? 1 : 0);
    job->fn(job->arg, begin, end, thread);
}

void bnmlp_parallel_for_split(const bnmlp_kernel_context *context, size_t n, size_t min_piece,
                              bnmlp_range_function fn, void *arg) {
    if (n == 0) return;
    if (min_piece == 0) min_piece = 1;
    bnmlp_threadpool *pool = context ? context->pool : NULL;
    size_t pieces = bnmlp_threadpool_threads(pool);
    if (pieces > n / min_piece) pieces = n / min_piece;
    if (pieces <= 1) {
        fn(arg, 0, n, 0);
        return;
    }
    range_job job = {.fn = fn, .arg = arg, .quotient = n / pieces, .remainder = n % pieces};
    bnmlp_threadpool_run(pool, range_task, &job, pieces);
}
