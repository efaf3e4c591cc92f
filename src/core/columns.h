/*
 * columns.h - internal: walking a row-major batch one block of columns at a time, with double
 * accumulators in vector registers.
 *
 * The kernels that sum columns over the rows of a batch (the bias gradient, batch norm's
 * statistics and backward sums) keep a block's accumulators and per-column constants in
 * registers for all its rows; a 16-column block reads each 64-byte line of a row once. Blocks
 * of 16 columns, then 4, then single columns cover any width. Each sum still adds its rows in
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

/* Runs block(c0, vectors) over blocks of BNMLP_WIDE_VECTORS and then of 1 vector of columns, and
 * column(c0) over the columns left (fewer than BNMLP_LANES), c0 ascending over [0, width). */
#define BNMLP_FOR_COLUMN_BLOCKS(width, block, column)                                                        \
    do {                                                                                                     \
        size_t c0_ = 0;                                                                                      \
        for (; c0_ + BNMLP_WIDE_VECTORS * BNMLP_LANES <= (width); c0_ += BNMLP_WIDE_VECTORS * BNMLP_LANES)   \
            block(c0_, BNMLP_WIDE_VECTORS);                                                                  \
        for (; c0_ + BNMLP_LANES <= (width); c0_ += BNMLP_LANES) block(c0_, 1);                              \
        for (; c0_ < (width); c0_++) column(c0_);                                                            \
    } while (0)
#endif

#endif /* BNMLP_CORE_COLUMNS_H */
