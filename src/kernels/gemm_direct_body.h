/*
 * gemm_direct_body.h - the GEMM's direct, unpacked path for small or thin products. Not a normal
 * header: included once per instruction set (isa_portable.c, isa_avx2.c), each time with
 *   DIRECT_TARGET  the function attribute (empty, or a target attribute)
 *   DIRECT_ENTRY   the name of the entry point (bnmlp_gemm_direct, bnmlp_gemm_direct_avx2)
 * so the same loops compile to SSE2 or to AVX2 + FMA vectors.
 *
 * Every element starts from its start value ([c] [+ bias]) and then adds its k products, p
 * ascending, except in the dot form (see dot). Which form runs depends on the shape and the
 * transposes only.
 */
#if !defined(DIRECT_TARGET) || !defined(DIRECT_ENTRY)
#error "define DIRECT_TARGET and DIRECT_ENTRY before including gemm_direct_body.h"
#endif

/* op(A)(i, p) and op(B)(p, j) of row-major A (lda) and B (ldb). */
#define DIRECT_OP_A(i, p) (transpose_a ? a[(size_t)(p)*lda + (i)] : a[(size_t)(i)*lda + (p)])
#define DIRECT_OP_B(p, j) (transpose_b ? b[(size_t)(j)*ldb + (p)] : b[(size_t)(p)*ldb + (j)])

/* Lanes of the dot product: lane l sums the terms p = l, l + LANES, ...; lanes then add in
 * order. A fixed order (so reproducible) that vectorizes. */
#define LANES 8
/* Rows the narrow form handles at once (independent sums, one pass over B per group). */
#define ROWS_AT_ONCE 4
/* Elements of a column the column form accumulates on the stack at a time. */
#define COLUMN_BLOCK 256

/* sum_p x[p] * y[p], p in [0, k), in LANES partial sums. */
DIRECT_TARGET
static float dot(const float *restrict x, const float *restrict y, size_t k) {
    float lane[LANES] = {0};
    size_t p = 0;
    for (; p + LANES <= k; p += LANES)
        for (size_t l = 0; l < LANES; l++) lane[l] += x[p + l] * y[p + l];
    for (size_t l = 0; p < k; p++, l++) lane[l] += x[p] * y[p];
    float sum = 0.0f;
    for (size_t l = 0; l < LANES; l++) sum += lane[l];
    return sum;
}

/* c_row (n) = start values + s * y[j * y_stride]: the first product fused with the start. A
 * macro so that the contiguous case (y_stride a literal 1) compiles to its own vector loops. */
#define START_ROW(c_row, bias, accumulate, s, y, y_stride, n)                                                \
    do {                                                                                                     \
        if ((accumulate) && (bias))                                                                          \
            for (size_t j_ = 0; j_ < (n); j_++)                                                              \
                (c_row)[j_] = ((c_row)[j_] + (bias)[j_]) + (s) * (y)[j_ * (y_stride)];                       \
        else if (accumulate)                                                                                 \
            for (size_t j_ = 0; j_ < (n); j_++) (c_row)[j_] = (c_row)[j_] + (s) * (y)[j_ * (y_stride)];      \
        else if (bias)                                                                                       \
            for (size_t j_ = 0; j_ < (n); j_++) (c_row)[j_] = (bias)[j_] + (s) * (y)[j_ * (y_stride)];       \
        else                                                                                                 \
            for (size_t j_ = 0; j_ < (n); j_++) (c_row)[j_] = 0.0f + (s) * (y)[j_ * (y_stride)];             \
    } while (0)

/* Rows form, op(B) rows contiguous (B not transposed): C row i += op(A)(i, p) B row p. */
DIRECT_TARGET
static void direct_rows(bool transpose_a, size_t m, size_t n, size_t k, const float *restrict a, size_t lda,
                        const float *restrict b, size_t ldb, const float *restrict bias, bool accumulate,
                        float *restrict c, size_t ldc) {
    const size_t a_row_step = transpose_a ? 1 : lda, a_col_step = transpose_a ? lda : 1;
    for (size_t i = 0; i < m; i++) {
        float *restrict c_row = c + i * ldc;
        const float *a_row = a + i * a_row_step;
        START_ROW(c_row, bias, accumulate, a_row[0], b, 1, n);
        for (size_t p = 1; p < k; p++) {
            const float aip = a_row[p * a_col_step];
            const float *restrict b_row = b + p * ldb;
            for (size_t j = 0; j < n; j++) c_row[j] += aip * b_row[j];
        }
    }
}

/* Rows form for a transposed B with a short sum: op(B)(p, j) = b[j ldb + p]. */
DIRECT_TARGET
static void direct_rows_bt(bool transpose_a, size_t m, size_t n, size_t k, const float *restrict a,
                           size_t lda, const float *restrict b, size_t ldb, const float *restrict bias,
                           bool accumulate, float *restrict c, size_t ldc) {
    const size_t a_row_step = transpose_a ? 1 : lda, a_col_step = transpose_a ? lda : 1;
    for (size_t i = 0; i < m; i++) {
        float *restrict c_row = c + i * ldc;
        const float *a_row = a + i * a_row_step;
        if (ldb == 1)
            START_ROW(c_row, bias, accumulate, a_row[0], b, 1, n);
        else
            START_ROW(c_row, bias, accumulate, a_row[0], b, ldb, n);
        for (size_t p = 1; p < k; p++) {
            const float aip = a_row[p * a_col_step];
            for (size_t j = 0; j < n; j++) c_row[j] += aip * b[j * ldb + p];
        }
    }
}

/* Column form, A transposed and C narrow: C column j += A row p op(B)(p, j), a block of the
 * column at a time on the stack (the inner loop runs along A's rows). */
DIRECT_TARGET
static void direct_columns(bool transpose_b, size_t m, size_t n, size_t k, const float *restrict a,
                           size_t lda, const float *restrict b, size_t ldb, const float *restrict bias,
                           bool accumulate, float *restrict c, size_t ldc) {
    float column[COLUMN_BLOCK];
    for (size_t j = 0; j < n; j++) {
        for (size_t i0 = 0; i0 < m; i0 += COLUMN_BLOCK) {
            const size_t height = m - i0 < COLUMN_BLOCK ? m - i0 : COLUMN_BLOCK;
            for (size_t i = 0; i < height; i++) {
                float s = accumulate ? c[(i0 + i) * ldc + j] : 0.0f;
                if (bias) s += bias[j];
                column[i] = s;
            }
            for (size_t p = 0; p < k; p++) {
                const float bpj = transpose_b ? b[j * ldb + p] : b[p * ldb + j];
                const float *restrict a_row = a + p * lda + i0;
                for (size_t i = 0; i < height; i++) column[i] += a_row[i] * bpj;
            }
            for (size_t i = 0; i < height; i++) c[(i0 + i) * ldc + j] = column[i];
        }
    }
}

/* Narrow form, A not transposed, B not transposed, C narrow: ROWS_AT_ONCE rows side by side,
 * each element a plain sum over p. */
DIRECT_TARGET
static void direct_narrow(size_t m, size_t n, size_t k, const float *restrict a, size_t lda,
                          const float *restrict b, size_t ldb, const float *restrict bias, bool accumulate,
                          float *restrict c, size_t ldc) {
    size_t i = 0;
    for (; i + ROWS_AT_ONCE <= m; i += ROWS_AT_ONCE) {
        const float *a0 = a + i * lda;
        for (size_t j = 0; j < n; j++) {
            float acc[ROWS_AT_ONCE];
            for (size_t r = 0; r < ROWS_AT_ONCE; r++) {
                acc[r] = accumulate ? c[(i + r) * ldc + j] : 0.0f;
                if (bias) acc[r] += bias[j];
            }
            for (size_t p = 0; p < k; p++) {
                const float bpj = b[p * ldb + j];
                for (size_t r = 0; r < ROWS_AT_ONCE; r++) acc[r] += a0[r * lda + p] * bpj;
            }
            for (size_t r = 0; r < ROWS_AT_ONCE; r++) c[(i + r) * ldc + j] = acc[r];
        }
    }
    for (; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            float s = accumulate ? c[i * ldc + j] : 0.0f;
            if (bias) s += bias[j];
            for (size_t p = 0; p < k; p++) s += a[i * lda + p] * b[p * ldb + j];
            c[i * ldc + j] = s;
        }
    }
}

/* Dot form, A not transposed, every column of op(B) contiguous along p (B transposed: column j
 * starts at b + j column_step; or B one column wide): each element is its start value plus a
 * LANES-way dot product. */
DIRECT_TARGET
static void direct_dots(size_t m, size_t n, size_t k, const float *restrict a, size_t lda,
                        const float *restrict b, size_t column_step, const float *restrict bias,
                        bool accumulate, float *restrict c, size_t ldc) {
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            float s = accumulate ? c[i * ldc + j] : 0.0f;
            if (bias) s += bias[j];
            c[i * ldc + j] = s + dot(a + i * lda, b + j * column_step, k);
        }
    }
}

/* Anything else (both transposed and a long sum): a plain sum per element. */
DIRECT_TARGET
static void direct_general(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k, const float *a,
                           size_t lda, const float *b, size_t ldb, const float *bias, bool accumulate,
                           float *c, size_t ldc) {
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            float s = accumulate ? c[i * ldc + j] : 0.0f;
            if (bias) s += bias[j];
            for (size_t p = 0; p < k; p++) s += DIRECT_OP_A(i, p) * DIRECT_OP_B(p, j);
            c[i * ldc + j] = s;
        }
    }
}

DIRECT_TARGET
void DIRECT_ENTRY(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k, const float *a,
                  size_t lda, const float *b, size_t ldb, const float *bias, bool accumulate, float *c,
                  size_t ldc) {
    const bool narrow = n < LANES;
    if (transpose_a && narrow)
        direct_columns(transpose_b, m, n, k, a, lda, b, ldb, bias, accumulate, c, ldc);
    else if (!transpose_b && !narrow)
        direct_rows(transpose_a, m, n, k, a, lda, b, ldb, bias, accumulate, c, ldc);
    else if (transpose_b && k < LANES)
        direct_rows_bt(transpose_a, m, n, k, a, lda, b, ldb, bias, accumulate, c, ldc);
    else if (!transpose_a && !transpose_b && ldb == 1) /* n == 1: B's column is contiguous */
        direct_dots(m, n, k, a, lda, b, 1, bias, accumulate, c, ldc);
    else if (!transpose_a && !transpose_b)
        direct_narrow(m, n, k, a, lda, b, ldb, bias, accumulate, c, ldc);
    else if (!transpose_a)
        direct_dots(m, n, k, a, lda, b, ldb, bias, accumulate, c, ldc);
    else
        direct_general(transpose_a, transpose_b, m, n, k, a, lda, b, ldb, bias, accumulate, c, ldc);
}

#undef DIRECT_OP_A
#undef DIRECT_OP_B
#undef LANES
#undef ROWS_AT_ONCE
#undef COLUMN_BLOCK
#undef START_ROW
