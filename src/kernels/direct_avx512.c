/*
 * direct_avx512.c - the AVX-512 row's direct GEMM path (small and thin products): the rows form
 * (B not transposed, n >= 8; or B transposed with one column per row, k < 8) and the columns
 * form (A transposed, n < 8) of gemm_direct_body.h with the output's block held in zmm registers
 * over the whole sum, and its dot form eight rows at a time (their lane sums transposed so that
 * they run side by side); every other form is the AVX2 build of that body.
 *
 * The body's rows form adds each product into C in memory, so every step of a sum waits for the
 * store of the step before; here a block of up to 2 rows x 64 columns (8 registers, the last of
 * a row masked to the columns left) is summed over every p in registers and stored once. Every
 * element still starts from the body's start value and adds its k products p ascending, each a
 * multiply then an add (never fused), so the results are the body's bit for bit on every shape
 * (tests/test_small_kernels.c). Sums of k <= 2 products (a 2-feature input layer, a one-unit
 * head's dX) hold the block's B rows and bias in registers instead, over every row of C. The dot
 * form steps its 8 rows through p together, one load of B's column per step.
 *
 * Compiled for AVX-512 F/VL through target attributes; only called through the avx512 row.
 * x86-64 only.
 */
#include "kernels/small_avx512.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels/gemm.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define DIRECT_TARGET __attribute__((target("avx2,fma,avx512f,avx512vl")))
#define DIRECT_INLINE static inline __attribute__((always_inline)) DIRECT_TARGET

/* Floats per register; registers per row of a block at most (64 columns); the body's narrow
 * bound (n below it takes the columns form). */
/* The loops over a block's registers run a literal number of times: unrolled whole, so that the
 * registers stay registers. */
#if defined(__clang__)
#define BLOCK_UNROLL _Pragma("clang loop unroll(full)")
#else
#define BLOCK_UNROLL _Pragma("GCC unroll 16")
#endif

#define LANES 16
#define MAX_VECTORS 4
#define NARROW 8
/* The body's dot lanes. */
#define DOT_LANES 8

/* The mask of register v of a row block of `vectors` whose last register holds tail's columns. */
#define MASK_AT(v, vectors, tail) ((v) + 1 == (vectors) ? (tail) : (__mmask16)0xffff)

/* The body's start value of a row's element plus its first product: ([c] [+ bias]) + s * b, or
 * 0 + s * b without either. */
DIRECT_INLINE __m512 start(const float *c, const float *bias, bool accumulate, __m512 s, const float *b,
                           __mmask16 mask) {
    const __m512 first = _mm512_mul_ps(s, _mm512_maskz_loadu_ps(mask, b));
    __m512 value = accumulate ? _mm512_maskz_loadu_ps(mask, c) : _mm512_setzero_ps();
    if (accumulate && bias)
        value = _mm512_add_ps(value, _mm512_maskz_loadu_ps(mask, bias));
    else if (bias)
        value = _mm512_maskz_loadu_ps(mask, bias);
    return _mm512_add_ps(value, first);
}

/* Rows i0 .. i0 + rows - 1 (rows 1 or 2), columns j0 .. of a block of `vectors` registers: C row
 * i = start + sum over p >= 1 of op(A)(i, p) B row p, in registers. */
DIRECT_INLINE void rows_block(size_t rows, size_t vectors, __mmask16 tail, size_t k, const float *a,
                              size_t a_row_step, size_t a_col_step, const float *b, size_t ldb,
                              const float *bias, bool accumulate, float *c, size_t ldc) {
    __m512 acc[2][MAX_VECTORS];
    BLOCK_UNROLL for (size_t r = 0; r < rows; r++) {
        const __m512 s = _mm512_set1_ps(a[r * a_row_step]);
        BLOCK_UNROLL for (size_t v = 0; v < vectors; v++) acc[r][v] =
            start(c + r * ldc + v * LANES, bias ? bias + v * LANES : NULL, accumulate, s, b + v * LANES,
                  MASK_AT(v, vectors, tail));
    }
    for (size_t p = 1; p < k; p++) {
        const float *b_row = b + p * ldb;
        __m512 bv[MAX_VECTORS];
        BLOCK_UNROLL for (size_t v = 0; v < vectors; v++) bv[v] =
            _mm512_maskz_loadu_ps(MASK_AT(v, vectors, tail), b_row + v * LANES);
        BLOCK_UNROLL for (size_t r = 0; r < rows; r++) {
            const __m512 s = _mm512_set1_ps(a[r * a_row_step + p * a_col_step]);
            BLOCK_UNROLL for (size_t v = 0; v < vectors; v++) acc[r][v] =
                _mm512_add_ps(acc[r][v], _mm512_mul_ps(s, bv[v]));
        }
    }
    BLOCK_UNROLL for (size_t r = 0; r < rows; r++) BLOCK_UNROLL for (size_t v = 0; v < vectors; v++)
        _mm512_mask_storeu_ps(c + r * ldc + v * LANES, MASK_AT(v, vectors, tail), acc[r][v]);
}

/* rows_block with `vectors` a literal, for the registers to stay registers. */
#define ROWS_BLOCK_CASES(rows, vectors, tail, ...)                                                           \
    switch (vectors) {                                                                                       \
    case 1: rows_block(rows, 1, tail, __VA_ARGS__); break;                                                   \
    case 2: rows_block(rows, 2, tail, __VA_ARGS__); break;                                                   \
    case 3: rows_block(rows, 3, tail, __VA_ARGS__); break;                                                   \
    default: rows_block(rows, 4, tail, __VA_ARGS__); break;                                                  \
    }

/* Sums of at most this many products (the input layer of a 2-feature model, a one-unit head's
 * dX) take rows_small_k. */
#define SMALL_K 2

/* Rows 0 .. m - 1, columns j0 .. of a block of `vectors` registers, k <= SMALL_K (k and vectors
 * literals): the block's k rows of B and its bias are loaded once into registers and every row of
 * C is then one broadcast per product, its adds and its stores, the same operations in the same
 * order as rows_block's (start's value, then + s * b for p ascending). */
DIRECT_INLINE void rows_small_k(size_t k, size_t vectors, __mmask16 tail, size_t m, const float *a,
                                size_t a_row_step, size_t a_col_step, const float *b, size_t ldb,
                                const float *bias, bool accumulate, float *c, size_t ldc) {
    __m512 b_regs[SMALL_K][MAX_VECTORS], bias_regs[MAX_VECTORS];
    BLOCK_UNROLL for (size_t p = 0; p < k; p++) BLOCK_UNROLL for (size_t v = 0; v < vectors; v++)
        b_regs[p][v] = _mm512_maskz_loadu_ps(MASK_AT(v, vectors, tail), b + p * ldb + v * LANES);
    /* start's value without C: the bias, or +0 */
    BLOCK_UNROLL for (size_t v = 0; v < vectors; v++) bias_regs[v] =
        bias ? _mm512_maskz_loadu_ps(MASK_AT(v, vectors, tail), bias + v * LANES) : _mm512_setzero_ps();
    for (size_t i = 0; i < m; i++) {
        const float *a_i = a + i * a_row_step;
        float *c_i = c + i * ldc;
        __m512 acc[MAX_VECTORS];
        const __m512 s = _mm512_set1_ps(a_i[0]);
        BLOCK_UNROLL for (size_t v = 0; v < vectors; v++) {
            __m512 value = bias_regs[v];
            if (accumulate) {
                value = _mm512_maskz_loadu_ps(MASK_AT(v, vectors, tail), c_i + v * LANES);
                if (bias) value = _mm512_add_ps(value, bias_regs[v]);
            }
            acc[v] = _mm512_add_ps(value, _mm512_mul_ps(s, b_regs[0][v]));
        }
        BLOCK_UNROLL for (size_t p = 1; p < k; p++) {
            const __m512 s_p = _mm512_set1_ps(a_i[p * a_col_step]);
            BLOCK_UNROLL for (size_t v = 0; v < vectors; v++) acc[v] =
                _mm512_add_ps(acc[v], _mm512_mul_ps(s_p, b_regs[p][v]));
        }
        BLOCK_UNROLL for (size_t v = 0; v < vectors; v++)
            _mm512_mask_storeu_ps(c_i + v * LANES, MASK_AT(v, vectors, tail), acc[v]);
    }
}

/* rows_small_k with k and vectors literals. */
#define ROWS_SMALL_K_CASES(k, vectors, tail, ...)                                                            \
    switch ((k)*MAX_VECTORS + (vectors)) {                                                                   \
    case 1 * MAX_VECTORS + 1: rows_small_k(1, 1, tail, __VA_ARGS__); break;                                  \
    case 1 * MAX_VECTORS + 2: rows_small_k(1, 2, tail, __VA_ARGS__); break;                                  \
    case 1 * MAX_VECTORS + 3: rows_small_k(1, 3, tail, __VA_ARGS__); break;                                  \
    case 1 * MAX_VECTORS + 4: rows_small_k(1, 4, tail, __VA_ARGS__); break;                                  \
    case 2 * MAX_VECTORS + 1: rows_small_k(2, 1, tail, __VA_ARGS__); break;                                  \
    case 2 * MAX_VECTORS + 2: rows_small_k(2, 2, tail, __VA_ARGS__); break;                                  \
    case 2 * MAX_VECTORS + 3: rows_small_k(2, 3, tail, __VA_ARGS__); break;                                  \
    default: rows_small_k(2, 4, tail, __VA_ARGS__); break;                                                   \
    }

/* Rows form, B not transposed: C row i = start + sum_p op(A)(i, p) B row p. */
DIRECT_TARGET
static void direct_rows(bool transpose_a, size_t m, size_t n, size_t k, const float *a, size_t lda,
                        const float *b, size_t ldb, const float *bias, bool accumulate, float *c,
                        size_t ldc) {
    const size_t a_row_step = transpose_a ? 1 : lda, a_col_step = transpose_a ? lda : 1;
    for (size_t j0 = 0; j0 < n; j0 += MAX_VECTORS * LANES) {
        const size_t width = n - j0 < MAX_VECTORS * LANES ? n - j0 : MAX_VECTORS * LANES;
        const size_t vectors = (width + LANES - 1) / LANES;
        const __mmask16 tail = (__mmask16)((1u << (width - (vectors - 1) * LANES)) - 1u);
        const float *bias_j = bias ? bias + j0 : NULL;
        if (k <= SMALL_K) {
            ROWS_SMALL_K_CASES(k, vectors, tail, m, a, a_row_step, a_col_step, b + j0, ldb, bias_j,
                               accumulate, c + j0, ldc)
            continue;
        }
        size_t i = 0;
        for (; i + 2 <= m; i += 2) {
            ROWS_BLOCK_CASES(2, vectors, tail, k, a + i * a_row_step, a_row_step, a_col_step, b + j0, ldb,
                             bias_j, accumulate, c + i * ldc + j0, ldc)
        }
        for (; i < m; i++) {
            ROWS_BLOCK_CASES(1, vectors, tail, k, a + i * a_row_step, a_row_step, a_col_step, b + j0, ldb,
                             bias_j, accumulate, c + i * ldc + j0, ldc)
        }
    }
}

/* Elements of a column the columns form holds in registers at a time. */
#define COLUMN_BLOCK (MAX_VECTORS * LANES)

/* Columns i0 .. of column j, a block of `vectors` registers: start values from column[]
 * (accumulate) or every one `start_value`, then += A row p (those elements) * op(B)(p, j), p
 * ascending; the sums into column[]. */
DIRECT_INLINE void column_block(size_t vectors, __mmask16 tail, float *column, bool accumulate,
                                __m512 start_value, size_t k, const float *a, size_t lda, const float *b,
                                size_t b_step) {
    __m512 acc[MAX_VECTORS];
    BLOCK_UNROLL for (size_t v = 0; v < vectors; v++) acc[v] =
        accumulate ? _mm512_maskz_loadu_ps(MASK_AT(v, vectors, tail), column + v * LANES) : start_value;
    for (size_t p = 0; p < k; p++) {
        const __m512 s = _mm512_set1_ps(b[p * b_step]);
        BLOCK_UNROLL for (size_t v = 0; v < vectors; v++) {
            const __m512 x = _mm512_maskz_loadu_ps(MASK_AT(v, vectors, tail), a + p * lda + v * LANES);
            acc[v] = _mm512_add_ps(acc[v], _mm512_mul_ps(x, s));
        }
    }
    BLOCK_UNROLL for (size_t v = 0; v < vectors; v++)
        _mm512_mask_storeu_ps(column + v * LANES, MASK_AT(v, vectors, tail), acc[v]);
}

/* Columns form, A transposed and C narrow: C column j = start + sum_p A row p op(B)(p, j). */
DIRECT_TARGET
static void direct_columns(bool transpose_b, size_t m, size_t n, size_t k, const float *a, size_t lda,
                           const float *b, size_t ldb, const float *bias, bool accumulate, float *c,
                           size_t ldc) {
    float column[COLUMN_BLOCK];
    for (size_t j = 0; j < n; j++) {
        /* op(B)(p, j) = b[j ldb + p] (transposed) or b[p ldb + j] */
        const float *b_j = transpose_b ? b + j * ldb : b + j;
        const size_t b_step = transpose_b ? 1 : ldb;
        for (size_t i0 = 0; i0 < m; i0 += COLUMN_BLOCK) {
            const size_t height = m - i0 < COLUMN_BLOCK ? m - i0 : COLUMN_BLOCK;
            /* Without C, every start value is +0 [+ bias] (the scalar operations, in a register:
             * scalar stores read back as vectors would stall on store forwarding). */
            __m512 start_value = _mm512_setzero_ps();
            if (accumulate)
                for (size_t i = 0; i < height; i++) {
                    float s = c[(i0 + i) * ldc + j];
                    if (bias) s += bias[j];
                    column[i] = s;
                }
            else if (bias)
                start_value = _mm512_add_ps(start_value, _mm512_set1_ps(bias[j]));
            const size_t vectors = (height + LANES - 1) / LANES;
            const __mmask16 tail = (__mmask16)((1u << (height - (vectors - 1) * LANES)) - 1u);
            switch (vectors) {
            case 1:
                column_block(1, tail, column, accumulate, start_value, k, a + i0, lda, b_j, b_step);
                break;
            case 2:
                column_block(2, tail, column, accumulate, start_value, k, a + i0, lda, b_j, b_step);
                break;
            case 3:
                column_block(3, tail, column, accumulate, start_value, k, a + i0, lda, b_j, b_step);
                break;
            default:
                column_block(4, tail, column, accumulate, start_value, k, a + i0, lda, b_j, b_step);
                break;
            }
            for (size_t i = 0; i < height; i++) c[(i0 + i) * ldc + j] = column[i];
        }
    }
}

/* ---- the dot form ------------------------------------------------------------------------------ */

/* The body's dot lanes of x . y over k: lane l sums x[p] y[p] for p = l, l + 8, ... ascending
 * from +0, the last partial step added only into the lanes it reaches. */
DIRECT_INLINE __m256 dot_lanes(const float *x, const float *y, size_t k) {
    __m256 lane = _mm256_setzero_ps();
    size_t p = 0;
    for (; p + DOT_LANES <= k; p += DOT_LANES)
        lane = _mm256_add_ps(lane, _mm256_mul_ps(_mm256_loadu_ps(x + p), _mm256_loadu_ps(y + p)));
    if (p < k) {
        const __mmask8 mask = (__mmask8)((1u << (k - p)) - 1u);
        const __m256 product =
            _mm256_mul_ps(_mm256_maskz_loadu_ps(mask, x + p), _mm256_maskz_loadu_ps(mask, y + p));
        lane = _mm256_mask_add_ps(lane, mask, lane, product);
    }
    return lane;
}

/* dot_lanes of 8 rows x_r = x + r x_step with the same y, the rows' steps interleaved: one loop
 * and one load of y per step for the 8 independent sums, each lane's operations dot_lanes'. */
DIRECT_INLINE void dot_lanes8(const float *x, size_t x_step, const float *y, size_t k,
                              __m256 lanes[DOT_LANES]) {
    BLOCK_UNROLL for (size_t r = 0; r < DOT_LANES; r++) lanes[r] = _mm256_setzero_ps();
    size_t p = 0;
    for (; p + DOT_LANES <= k; p += DOT_LANES) {
        const __m256 yv = _mm256_loadu_ps(y + p);
        BLOCK_UNROLL for (size_t r = 0; r < DOT_LANES; r++) lanes[r] =
            _mm256_add_ps(lanes[r], _mm256_mul_ps(_mm256_loadu_ps(x + r * x_step + p), yv));
    }
    if (p < k) {
        const __mmask8 mask = (__mmask8)((1u << (k - p)) - 1u);
        const __m256 yv = _mm256_maskz_loadu_ps(mask, y + p);
        BLOCK_UNROLL for (size_t r = 0; r < DOT_LANES; r++) {
            const __m256 product = _mm256_mul_ps(_mm256_maskz_loadu_ps(mask, x + r * x_step + p), yv);
            lanes[r] = _mm256_mask_add_ps(lanes[r], mask, lanes[r], product);
        }
    }
}

/* in[r] (8 rows of 8 lanes) transposed: out[l] holds lane l of the 8 rows. */
DIRECT_INLINE void transpose8(const __m256 in[8], __m256 out[8]) {
    const __m256 t0 = _mm256_unpacklo_ps(in[0], in[1]), t1 = _mm256_unpackhi_ps(in[0], in[1]);
    const __m256 t2 = _mm256_unpacklo_ps(in[2], in[3]), t3 = _mm256_unpackhi_ps(in[2], in[3]);
    const __m256 t4 = _mm256_unpacklo_ps(in[4], in[5]), t5 = _mm256_unpackhi_ps(in[4], in[5]);
    const __m256 t6 = _mm256_unpacklo_ps(in[6], in[7]), t7 = _mm256_unpackhi_ps(in[6], in[7]);
    const __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    out[0] = _mm256_permute2f128_ps(u0, u4, 0x20), out[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    out[2] = _mm256_permute2f128_ps(u2, u6, 0x20), out[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    out[4] = _mm256_permute2f128_ps(u0, u4, 0x31), out[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    out[6] = _mm256_permute2f128_ps(u2, u6, 0x31), out[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/* Dot form, A not transposed, every column of op(B) contiguous along p (column j at b + j
 * column_step): C(i, j) = start + the body's 8-lane dot, its lanes added in order from +0. Eight
 * rows at a time: their lanes transposed so that the 8 in-order lane sums run side by side. */
DIRECT_TARGET
static void direct_dots(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b,
                        size_t column_step, const float *bias, bool accumulate, float *c, size_t ldc) {
    size_t i = 0;
    for (; i + DOT_LANES <= m; i += DOT_LANES) {
        for (size_t j = 0; j < n; j++) {
            const float *b_j = b + j * column_step;
            __m256 lanes[DOT_LANES], by_lane[DOT_LANES];
            dot_lanes8(a + i * lda, lda, b_j, k, lanes);
            transpose8(lanes, by_lane);
            __m256 sum = _mm256_setzero_ps();
            BLOCK_UNROLL for (size_t l = 0; l < DOT_LANES; l++) sum = _mm256_add_ps(sum, by_lane[l]);
            /* The rows' start values built in a register (8 scalar stores read back as one vector
             * would stall on store forwarding): ([C] or +0) [+ bias], the scalar operations. */
            __m256 start_values = _mm256_setzero_ps();
            if (accumulate) {
                const float *c_j = c + i * ldc + j;
                start_values = _mm256_setr_ps(c_j[0], c_j[ldc], c_j[2 * ldc], c_j[3 * ldc], c_j[4 * ldc],
                                              c_j[5 * ldc], c_j[6 * ldc], c_j[7 * ldc]);
            }
            if (bias) start_values = _mm256_add_ps(start_values, _mm256_set1_ps(bias[j]));
            float sums[DOT_LANES];
            _mm256_storeu_ps(sums, _mm256_add_ps(start_values, sum));
            for (size_t r = 0; r < DOT_LANES; r++) c[(i + r) * ldc + j] = sums[r];
        }
    }
    for (; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            float lane[DOT_LANES];
            _mm256_storeu_ps(lane, dot_lanes(a + i * lda, b + j * column_step, k));
            float s = accumulate ? c[i * ldc + j] : 0.0f, sum = 0.0f;
            if (bias) s += bias[j];
            for (size_t l = 0; l < DOT_LANES; l++) sum += lane[l];
            c[i * ldc + j] = s + sum;
        }
    }
}

DIRECT_TARGET
void bnmlp_gemm_direct_avx512(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k,
                              const float *a, size_t lda, const float *b, size_t ldb, const float *bias,
                              bool accumulate, float *c, size_t ldc) {
    /* The body's choice of form (gemm_direct_body.h), in its order. */
    const bool narrow = n < NARROW;
    if (transpose_a && narrow)
        direct_columns(transpose_b, m, n, k, a, lda, b, ldb, bias, accumulate, c, ldc);
    else if (!transpose_b && !narrow && k > 0)
        direct_rows(transpose_a, m, n, k, a, lda, b, ldb, bias, accumulate, c, ldc);
    else if (transpose_b && k < NARROW && ldb == 1 && k > 0)
        /* the body's rows form for a transposed B: op(B)(p, j) = b[j + p], row p of op(B) at b + p */
        direct_rows(transpose_a, m, n, k, a, lda, b, 1, bias, accumulate, c, ldc);
    else if (transpose_b && k < NARROW)
        bnmlp_gemm_direct_avx2(transpose_a, transpose_b, m, n, k, a, lda, b, ldb, bias, accumulate, c, ldc);
    else if (!transpose_a && !transpose_b && ldb == 1) /* n == 1: B's column is contiguous */
        direct_dots(m, n, k, a, lda, b, 1, bias, accumulate, c, ldc);
    else if (!transpose_a && transpose_b)
        direct_dots(m, n, k, a, lda, b, ldb, bias, accumulate, c, ldc);
    else
        bnmlp_gemm_direct_avx2(transpose_a, transpose_b, m, n, k, a, lda, b, ldb, bias, accumulate, c, ldc);
}

#endif /* __x86_64__ */
