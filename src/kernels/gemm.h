/*
 * gemm.h - internal: the library's one matrix product, C = op(A) op(B) [+ C] [+ bias].
 *
 * Row-major float32 with leading dimensions (the distance in floats between two rows as stored).
 * op(X) is X or X^T; op(A) is (M, K), op(B) is (K, N), C is (M, N). The dense layer's three
 * products:
 *   y  = x w + b     m = B,  n = OUT, k = IN:  a = x (B, IN),  b = w (IN, OUT), bias = b
 *   dw += x^T dy     m = IN, n = OUT, k = B:   a = x (B, IN) transposed, b = dy, accumulate
 *   dx = dy w^T      m = B,  n = IN,  k = OUT: a = dy, b = w (IN, OUT) transposed
 *
 * Built like BLIS / OpenBLAS: five loops around a register-blocked FMA micro-kernel, blocks
 * KC / MC / NC from the cache sizes the CPU reports, A and B panels packed (transposes resolved
 * there) into 64-byte aligned caller-owned scratch. Products below a size threshold take a
 * direct, unpacked path. A call never allocates.
 *
 * Determinism: every element of C sums its K terms in an order fixed by the shape (direct or
 * packed path), KC and the instruction set alone; threads split only output tiles (MC, NC and
 * the tile split never change a value). The same plan gives bit-identical results for every
 * thread count. Different instruction sets may differ in the last bits.
 */
#ifndef BNMLP_GEMM_H
#define BNMLP_GEMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bnmlp.h"
#include "core/threadpool.h"
#include "kernels/isa.h"

/* How a product is computed: the micro-kernel and the cache blocking. Made once (plan_init) and
 * then read-only; independent of the thread count. */
typedef struct bnmlp_gemm_plan {
    const bnmlp_isa *isa; /* the instruction set: micro-kernel, packers, direct path */
    size_t mr, nr;        /* micro-tile rows / columns of C (the row's) */
    size_t kc;            /* K block: a (KC, NR) packed B micro-panel stays in L1 */
    size_t mc;            /* M block, multiple of mr: a packed (MC, KC) A block stays in L2 */
    size_t nc;            /* N block, multiple of nr: a packed (KC, NC) B block */
    bnmlp_micro_kernel_function micro_kernel; /* the row's */
    /* the bf16 product's micro-kernel and packers, same (mr, nr) tile: the row's bf16_native set
     * where the CPU has it, else the row's emulating entries */
    bnmlp_micro_kernel_bf16_function micro_kernel_bf16;
    bnmlp_pack_bf16_function pack_bf16_interleaved, pack_bf16_rows;
    /* the bf16 product's direct path (isa.h: gemm_direct_bf16), chosen as the entries above; NULL
     * (a row without its own, e.g. AVX2): every bf16 product is packed */
    bnmlp_gemm_direct_function gemm_direct_bf16;
} bnmlp_gemm_plan;

/* Fills *plan for the instruction set isa (NULL: bnmlp_isa_best()) with blocks from the cache
 * sizes the CPU reports. BNMLP_ERR_NULL_ARGUMENT, or BNMLP_ERR_INVALID_ARGUMENT when isa is not
 * available (plan untouched). */
bnmlp_status bnmlp_gemm_plan_init(bnmlp_gemm_plan *plan, const bnmlp_isa *isa);

/* Floats of packing scratch that bnmlp_gemm needs for any product with m <= max_m, n <= max_n,
 * k <= max_k run on a pool of up to threads threads (0 counts as 1); 0 on size_t overflow. The
 * count includes slack for 64-byte alignment, so any float-aligned buffer of this size works. */
size_t bnmlp_gemm_scratch_floats(const bnmlp_gemm_plan *plan, size_t max_m, size_t max_n, size_t max_k,
                                 size_t threads);

/* C (m, n), row stride ldc = op(A) (m, k) . op(B) (k, n) [+ C if accumulate] [+ bias (n)].
 * a is (m, k) with row stride lda, or (k, m) when transpose_a; b is (k, n) with row stride ldb,
 * or (n, k) when transpose_b. bias may be NULL. pool may be NULL (the caller's thread only).
 * scratch holds scratch_floats floats, at least bnmlp_gemm_scratch_floats(plan, m, n, k,
 * threads of pool); it may be NULL when that is 0 or the product takes the direct path.
 * k = 0 leaves C (accumulate) or sets it to bias or zeros. C must not overlap A, B or bias.
 * BNMLP_ERR_NULL_ARGUMENT, BNMLP_ERR_INVALID_ARGUMENT (a leading dimension too small, or too
 * little scratch); C is unchanged on error. */
bnmlp_status bnmlp_gemm(const bnmlp_gemm_plan *plan, bnmlp_threadpool *pool, float *scratch,
                        size_t scratch_floats, bool transpose_a, bool transpose_b, size_t m, size_t n,
                        size_t k, const float *a, size_t lda, const float *b, size_t ldb, const float *bias,
                        bool accumulate, float *c, size_t ldc);

/* The same product with bf16 inputs and float32 accumulation (AVX512_BF16's vdpbf16ps): every
 * element of C is exactly bnmlp_gemm_bf16_reference's (kernels/bf16.h), whatever the plan's
 * instruction set, KC block or thread count: K is taken in pairs (k, k + 1) in order, the packers
 * round op(A) and op(B) to bf16 pairs, a KC block holds 2 KC values of k (KC pairs), and each
 * block continues the accumulator of the previous one through C. Products bnmlp_gemm_bf16_is_direct takes
 * go unpacked through the plan's gemm_direct_bf16 where it has one (same elements), rows split over threads. bnmlp_gemm_scratch_floats covers it (a bf16 block of KC pairs takes no more
 * scratch than a float32 block of KC values). Arguments, checks and errors as bnmlp_gemm. */
bnmlp_status bnmlp_gemm_bf16(const bnmlp_gemm_plan *plan, bnmlp_threadpool *pool, float *scratch,
                             size_t scratch_floats, bool transpose_a, bool transpose_b, size_t m, size_t n,
                             size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                             const float *bias, bool accumulate, float *c, size_t ldc);

/* ---- op(B) packed ahead of the product ("panels") ---------------------------------------------
 * The whole of op(B) (k, n) in exactly the bytes the packed path packs it into, K block after K
 * block in the driver's order: a float32 block holds KC values of k, a bf16 block 2 KC values
 * (KC pairs, kernels/bf16.h); each block holds ceil(n / NR) NR-column micro-panels across all of
 * n (depth x NR floats, or pairs x NR pairs, each), the last panel's columns past n zero. Block
 * b starts at b KC round_up(n, NR) floats (pairs) and its panel of column j0 (a multiple of NR)
 * at that + j0 depth (pairs): any split of the output over threads finds its panels there. The
 * panels depend on the plan (KC, NR) and on the precision: they serve only products of that plan
 * and precision, and only on the packed path (a product bnmlp_gemm[_bf16]_is_direct takes reads
 * b). */

/* Floats of the panels of an op(B) of (k, n) under plan, enough for float32 and for bf16
 * (k round_up(n, NR)); 0 when k or n is 0 or on size_t overflow. The buffer must be 64-byte
 * aligned and start zeroed: the packer below never writes the padding (columns past n, an odd
 * k's missing pair element), which must stay zero. */
size_t bnmlp_gemm_panels_floats(const bnmlp_gemm_plan *plan, size_t k, size_t n);

/* Writes into panels (bnmlp_gemm_panels_floats, 64-byte aligned, padding zero) the part of
 * op(B) that comes from elements [from, to) of the stored b: b is (k, n) when !transpose_b, (n,
 * k) when transpose_b, rows contiguous (row stride n, or k), element e at b[e]; rounded to bf16
 * pairs when bf16. Every position of the panels is written by one element (a float, or one half
 * of a bf16 pair), so disjoint ranges may be packed concurrently, in any order, and packing
 * [0, k n) piecewise gives the same bytes as packing it at once. Whole units (rows of b in NR-row
 * groups when transposed, pairs of rows for bf16 otherwise) go through the plan's packers, the
 * rest element by element. */
void bnmlp_gemm_pack_panels(const bnmlp_gemm_plan *plan, bool bf16, bool transpose_b, size_t k, size_t n,
                            const float *b, size_t from, size_t to, float *panels);

/* bnmlp_gemm and bnmlp_gemm_bf16 with op(B) already packed: b_panels (NULL: pack b as usual)
 * holds the panels of op(B) (bnmlp_gemm_pack_panels of b whole, same plan, transpose_b and
 * precision, 64-byte aligned). The packed path reads them instead of packing b; the direct path
 * still reads b, so b must be given too. The same bits as without them. */
bnmlp_status bnmlp_gemm_panels(const bnmlp_gemm_plan *plan, bnmlp_threadpool *pool, float *scratch,
                               size_t scratch_floats, bool transpose_a, bool transpose_b, size_t m, size_t n,
                               size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                               const float *b_panels, const float *bias, bool accumulate, float *c,
                               size_t ldc);
bnmlp_status bnmlp_gemm_bf16_panels(const bnmlp_gemm_plan *plan, bnmlp_threadpool *pool, float *scratch,
                                    size_t scratch_floats, bool transpose_a, bool transpose_b, size_t m,
                                    size_t n, size_t k, const float *a, size_t lda, const float *b,
                                    size_t ldb, const float *b_panels, const float *bias, bool accumulate,
                                    float *c, size_t ldc);

/* The naive triple loop bnmlp_gemm is tested against: same arguments and result (up to
 * rounding), sums in double, no scratch, no threads. */
void bnmlp_gemm_reference(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k, const float *a,
                          size_t lda, const float *b, size_t ldb, const float *bias, bool accumulate,
                          float *c, size_t ldc);

/* True when bnmlp_gemm computes an (m, n, k) product on the direct, unpacked path (a function
 * of the shape only). */
bool bnmlp_gemm_is_direct(size_t m, size_t n, size_t k);

/* True when bnmlp_gemm_bf16 computes an (m, n, k) product on the direct path (the plan's
 * gemm_direct_bf16): bnmlp_gemm_is_direct's shapes but those of a few long rows (m < 4 with wide
 * n and long k, which packing serves faster). */
bool bnmlp_gemm_bf16_is_direct(size_t m, size_t n, size_t k);

/* The direct, unpacked path bnmlp_gemm takes when bnmlp_gemm_is_direct (same contract, k > 0,
 * no checks), portable build (the portable row's gemm_direct); exposed for tests and benchmarks. */
void bnmlp_gemm_direct(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k, const float *a,
                       size_t lda, const float *b, size_t ldb, const float *bias, bool accumulate, float *c,
                       size_t ldc);

/* The GEMM entries of the descriptors (isa_<name>.c), one set per instruction set. */
void bnmlp_gemm_micro_portable(size_t k, const float *a, const float *b, float *c, size_t ldc,
                               const float *bias, bool load_c);
/* The bf16 micro-kernels (isa.h: bnmlp_micro_kernel_bf16_function), one per row's tile. */
void bnmlp_gemm_micro_bf16_portable(size_t pairs, const uint32_t *a, const uint32_t *b, float *c, size_t ldc,
                                    const float *bias, bool load_c);
/* The portable bf16 packers (isa.h: bnmlp_pack_bf16_function). */
void bnmlp_pack_bf16_interleaved_portable(uint32_t *panel, const float *source, size_t ld, size_t depth,
                                          size_t count, size_t width);
void bnmlp_pack_bf16_rows_portable(uint32_t *panel, const float *source, size_t ld, size_t depth,
                                   size_t count, size_t width);
#if defined(__x86_64__)
/* AVX2 emulation of vdpbf16ps (FMA + compare-and-mask flushing), 6 x 16. */
void bnmlp_gemm_micro_bf16_avx2(size_t pairs, const uint32_t *a, const uint32_t *b, float *c, size_t ldc,
                                const float *bias, bool load_c);
/* AVX-512F emulation, 8 x 32. */
void bnmlp_gemm_micro_bf16_avx512(size_t pairs, const uint32_t *a, const uint32_t *b, float *c, size_t ldc,
                                  const float *bias, bool load_c);
/* The AVX-512 row's direct bf16 path (isa.h: gemm_direct_bf16): bnmlp_gemm_bf16_reference's
 * elements bit for bit, vectorized over C's columns or rows without packing (direct_bf16_avx512.c). */
void bnmlp_gemm_direct_bf16_avx512(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k,
                                   const float *a, size_t lda, const float *b, size_t ldb, const float *bias,
                                   bool accumulate, float *c, size_t ldc);
/* The AVX-512 row's bf16_native: vdpbf16ps and vcvtne2ps2bf16 (8 x 32), or NULL without
 * AVX512_BF16 (isa_avx512bf16.c). */
const bnmlp_bf16_native *bnmlp_bf16_native_avx512bf16(void);
void bnmlp_gemm_micro_avx2(size_t k, const float *a, const float *b, float *c, size_t ldc, const float *bias,
                           bool load_c);
void bnmlp_gemm_micro_avx512(size_t k, const float *a, const float *b, float *c, size_t ldc,
                             const float *bias, bool load_c);
/* bnmlp_gemm_direct compiled for AVX2 + FMA (plans for AVX2 and AVX-512 use it). */
void bnmlp_gemm_direct_avx2(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k, const float *a,
                            size_t lda, const float *b, size_t ldb, const float *bias, bool accumulate,
                            float *c, size_t ldc);
/* panel (depth, mr) = a (mr, depth; row stride lda) transposed, mr 6 or 8; AVX2. */
void bnmlp_gemm_pack_a_avx2(float *panel, const float *a, size_t lda, size_t depth, size_t mr);
/* panel (depth, nr) = rows (nr, depth; row stride ldb) transposed, nr a multiple of 8; AVX2. */
void bnmlp_gemm_pack_b_transposed_avx2(float *panel, const float *rows, size_t ldb, size_t depth, size_t nr);
#endif

#define BNMLP_GEMM_PORTABLE_MR 4
#define BNMLP_GEMM_PORTABLE_NR 8
#define BNMLP_GEMM_AVX2_MR 6
#define BNMLP_GEMM_AVX2_NR 16
#define BNMLP_GEMM_AVX512_MR 8
#define BNMLP_GEMM_AVX512_NR 32
/* Largest micro-tile of any kernel (edge tiles go through a stack buffer of this size). */
#define BNMLP_GEMM_MAX_TILE (16 * 32)

#endif /* BNMLP_GEMM_H */
