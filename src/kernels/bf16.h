/*
 * bf16.h - internal: bfloat16 arithmetic as AVX512_BF16 defines it, and the bf16 matrix product.
 *
 * A bf16 value is the upper 16 bits of a float32 (sign, 8 exponent bits, 7 fraction bits), held
 * in a uint16_t. A bf16 pair is a uint32_t: element 0 in the low 16 bits, element 1 in the high
 * 16 bits (one fp32 lane of vdpbf16ps).
 *
 * The arithmetic, pinned down on AMD Zen 5 against the instructions themselves (tests/test_bf16.c
 * repeats the comparison wherever the CPU has AVX512_BF16):
 *   float32 -> bf16 (vcvtne2ps2bf16): round to nearest, ties to even; a NaN stays a NaN (quieted:
 *     the upper half with bit 6 set); a denormal float32 becomes a zero of its sign; MXCSR ignored.
 *   dot step (vdpbf16ps), per fp32 lane with pairs (a0, a1), (b0, b1):
 *     acc = ftz(fma(a1, b1, daz(acc)));  acc = ftz(fma(a0, b0, acc))
 *   the element-1 (high) product first, each a fused multiply-add (one rounding, to nearest even),
 *   denormal inputs (bf16 elements and the accumulator) read as zeros of their sign and denormal
 *   results written as zeros of their sign; MXCSR ignored. A separate multiply then add is NOT
 *   the same: a product that over- or underflows float32 still adds exactly.
 *   NaNs: a NaN in gives a NaN out; payloads follow IEEE fma on the machine at hand and are not
 *   part of the contract (tests compare NaNs as NaNs).
 */
#ifndef BNMLP_KERNELS_BF16_H
#define BNMLP_KERNELS_BF16_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* x rounded to bf16 as vcvtne2ps2bf16 does. */
uint16_t bnmlp_bf16_from_float(float x);

/* The float32 a bf16 value stands for (exact). */
float bnmlp_bf16_to_float(uint16_t x);

/* The pair (lo, hi) of bf16 roundings: element 0 = lo, element 1 = hi. */
uint32_t bnmlp_bf16_pair(float lo, float hi);

/* x, or a zero of its sign when x is denormal (flush / denormals-are-zero). */
float bnmlp_bf16_flush(float x);

/* One vdpbf16ps lane: acc after adding the products of pair a and pair b (order above). */
float bnmlp_bf16_dot_pair(float acc, uint32_t a, uint32_t b);

/* The bf16 product's naive reference, the definition every bf16 GEMM path reproduces bit for bit:
 * C (m, n) = op(A) op(B) [+ C] [+ bias] with the arguments of bnmlp_gemm, per element:
 *   acc = (accumulate ? C : 0) + (bias ? bias[j] : 0)   (one float32 addition, only with bias)
 *   for q = 0 .. ceil(k / 2) - 1: acc = bnmlp_bf16_dot_pair(acc, pair(A(i, 2q), A(i, 2q + 1)),
 *                                                           pair(B(2q, j), B(2q + 1, j)))
 * where pair rounds both to bf16 and an odd K's missing element 2q + 1 is a zero. k = 0 leaves
 * acc. */
void bnmlp_gemm_bf16_reference(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k,
                               const float *a, size_t lda, const float *b, size_t ldb, const float *bias,
                               bool accumulate, float *c, size_t ldc);

#endif /* BNMLP_KERNELS_BF16_H */
