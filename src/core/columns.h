/*
 * columns.h - internal: walking a row-major batch one block of columns at a time, with double
 * accumulators in vector registers.
 *
 * The kernels that sum columns over the rows of a batch (the bias gradient, batch norm's
 * statistics and backward sums) keep a block's accumulators and per-column constants in
 * registers for all its rows. A block holds up to 16 vectors (64 columns; fewer for kernels
 * with more accumulators per column), its last vector possibly partial (1 to 3 columns, the
 * other lanes zero and never stored), so a layer of up to 64 features is one pass over the
 * batch with one independent sum per vector in flight, and no width leaves a column to a
 * scalar loop. Each sum still adds its rows in
 * ascending order, with the same operations as a row-by-row loop, so the results are those of
 * the reference loops beside each kernel (tested bit for bit).
 *
 * The vectors are GCC/clang vector types: one source (kernels/elementwise_body.h) compiles to
 * SSE2 in the portable descriptor's loops and to AVX2 or AVX-512 in those compiled with a target
 * attribute (the helpers below are always inlined, so they take their caller's instruction set).
 * Without them (another compiler) BNMLP_COLUMN_VECTORS is undefined and the kernels run their
 * reference loops.
 */
#ifndef BNMLP_CORE_COLUMNS_H
#define BNMLP_CORE_COLUMNS_H

#include <stddef.h>
#include <string.h>

#if defined(__GNUC__)
#define BNMLP_COLUMN_VECTORS 1
#define BNMLP_LANES 4        /* doubles per vector */
#define BNMLP_WIDE_VECTORS 4 /* vectors per wide block: 16 columns */
typedef float bnmlp_float4 __attribute__((vector_size(4 * sizeof(float))));
typedef double bnmlp_double4 __attribute__((vector_size(4 * sizeof(double))));

/* Inlined into each caller (and so compiled for its instruction set); vectors pass by pointer,
 * which keeps them out of any calling convention. */
#define BNMLP_BLOCK_INLINE static inline __attribute__((always_inline))

/* *out = the 4 floats at p, widened (any alignment). */
BNMLP_BLOCK_INLINE void bnmlp_widen4(bnmlp_double4 *out, const float *p) {
    bnmlp_float4 v;
    memcpy(&v, p, sizeof v);
    *out = __builtin_convertvector(v, bnmlp_double4);
}

/* *out = the 4 doubles at p (any alignment). */
BNMLP_BLOCK_INLINE void bnmlp_load4(bnmlp_double4 *out, const double *p) { memcpy(out, p, sizeof *out); }

/* The 4 doubles at p = *v (any alignment). */
BNMLP_BLOCK_INLINE void bnmlp_store4(double *p, const bnmlp_double4 *v) { memcpy(p, v, sizeof *v); }

/* *out = the first `lanes` (1 to 3) floats at p, widened, then zeros: the last, partial vector of
 * a block. Reads nothing past p[lanes - 1]. */
BNMLP_BLOCK_INLINE void bnmlp_widen_part(bnmlp_double4 *out, const float *p, size_t lanes) {
    const bnmlp_float4 v = {p[0], lanes > 1 ? p[1] : 0.0f, lanes > 2 ? p[2] : 0.0f, 0.0f};
    *out = __builtin_convertvector(v, bnmlp_double4);
}

/* *out = the first `lanes` (1 to 3) doubles at p, then zeros. */
BNMLP_BLOCK_INLINE void bnmlp_load_part(bnmlp_double4 *out, const double *p, size_t lanes) {
    const bnmlp_double4 v = {p[0], lanes > 1 ? p[1] : 0.0, lanes > 2 ? p[2] : 0.0, 0.0};
    *out = v;
}

/* The first `lanes` (1 to 3) doubles at p = those of *v. */
BNMLP_BLOCK_INLINE void bnmlp_store_part(double *p, const bnmlp_double4 *v, size_t lanes) {
    for (size_t i = 0; i < lanes; i++) p[i] = (*v)[i];
}

/* Vector k of a block of `vectors` whose last vector holds `tail` columns (BNMLP_LANES: full):
 * widened from p, loaded or stored whole or in part. */
#define BNMLP_WIDEN_AT(out, p, k, vectors, tail)                                                             \
    ((k) + 1 == (vectors) && (tail) < BNMLP_LANES ? bnmlp_widen_part((out), (p), (tail))                     \
                                                  : bnmlp_widen4((out), (p)))
#define BNMLP_LOAD_AT(out, p, k, vectors, tail)                                                              \
    ((k) + 1 == (vectors) && (tail) < BNMLP_LANES ? bnmlp_load_part((out), (p), (tail))                      \
                                                  : bnmlp_load4((out), (p)))
#define BNMLP_STORE_AT(p, v, k, vectors, tail)                                                               \
    ((k) + 1 == (vectors) && (tail) < BNMLP_LANES ? bnmlp_store_part((p), (v), (tail))                       \
                                                  : bnmlp_store4((p), (v)))

/* The largest block: 16 vectors, 64 columns (a layer of up to 64 features in one pass). */
#define BNMLP_MAX_VECTORS 16

/* Runs block(c0, vectors, tail) over [0, width), c0 ascending: blocks of max_vectors (at most
 * BNMLP_MAX_VECTORS) full vectors while more than that many columns are left, then one block of
 * the columns left, its last vector holding `tail` of them (1 to BNMLP_LANES). `vectors` is a
 * literal in every expansion, so that each block keeps its accumulators in registers for all
 * the rows: a layer of up to max_vectors * BNMLP_LANES features is summed in one pass over the
 * batch, with as many independent sums in flight as it has vectors. */
#define BNMLP_FOR_COLUMN_BLOCKS(width, max_vectors, block)                                                   \
    do {                                                                                                     \
        size_t c0_ = 0;                                                                                      \
        if ((width) == 0) break;                                                                             \
        for (; (width)-c0_ > (max_vectors)*BNMLP_LANES; c0_ += (max_vectors)*BNMLP_LANES)                    \
            block(c0_, max_vectors, BNMLP_LANES);                                                            \
        const size_t vectors_ = ((width)-c0_ + BNMLP_LANES - 1) / BNMLP_LANES;                               \
        const size_t tail_ = (width)-c0_ - (vectors_ - 1) * BNMLP_LANES;                                     \
        switch (vectors_) {                                                                                  \
        case 1: block(c0_, 1, tail_); break;                                                                 \
        case 2: block(c0_, 2, tail_); break;                                                                 \
        case 3: block(c0_, 3, tail_); break;                                                                 \
        case 4: block(c0_, 4, tail_); break;                                                                 \
        case 5: block(c0_, 5, tail_); break;                                                                 \
        case 6: block(c0_, 6, tail_); break;                                                                 \
        case 7: block(c0_, 7, tail_); break;                                                                 \
        case 8: block(c0_, 8, tail_); break;                                                                 \
        case 9: block(c0_, 9, tail_); break;                                                                 \
        case 10: block(c0_, 10, tail_); break;                                                               \
        case 11: block(c0_, 11, tail_); break;                                                               \
        case 12: block(c0_, 12, tail_); break;                                                               \
        case 13: block(c0_, 13, tail_); break;                                                               \
        case 14: block(c0_, 14, tail_); break;                                                               \
        case 15: block(c0_, 15, tail_); break;                                                               \
        default: block(c0_, 16, tail_); break;                                                               \
        }                                                                                                    \
    } while (0)
#endif

#endif /* BNMLP_CORE_COLUMNS_H */
