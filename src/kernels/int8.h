/*
 * int8.h - internal: the int8 inference product, y = dequantize(quantize(x) . W8) + b.
 *
 * Arithmetic (every path, bit for bit):
 *   code   q = clamp(rne(x * inv_scale), -127, 127) per element of x, where inv_scale =
 *          1 / s_x rounded to float once; in float: v = x * inv_scale, v = max(v, -127) (a NaN
 *          becomes -127), v = min(v, 127), then v + 1.5 2^23 - 1.5 2^23 rounds it to an integer
 *          (nearest, ties to even, under the default rounding mode), then converted exactly;
 *   sum    acc[i][j] = sum_k q[i][k] w[k][j] in int32: exact, since |acc| <= 127 * 127 * K and
 *          K <= BNMLP_INT8_MAX_DEPTH (the u8 x s8 kernels add 128 to every code and subtract
 *          comp[j] = 128 sum_k w[k][j] after: their biased sums are <= 255 * 127 * K < 2^31);
 *   store  y[i][j] = fma((float)acc[i][j], scale[j], bias[j]), scale[j] = s_x * s_w[j] rounded to
 *          float once when packing, the conversion rounding to nearest even.
 *
 * Weights are packed once (bnmlp_int8_pack) into one 64-byte aligned buffer, independent of the
 * instruction set: K padded to a multiple of 4 (depth) and N to a multiple of 16 with zero
 * codes; panel p holds columns [16 p, 16 p + 16) as depth / 4 groups of 64 bytes, byte
 * 4 c + t of group g being w[4 g + t][16 p + c] (the vpdpbusd layout: one zmm per group);
 * then comp, scale and bias, 16 per panel (zeros past out).
 *
 * The activation codes go to a (rows, depth) byte buffer in the form the kernel set reads
 * (signed, or + 128 as unsigned for vpdpbusd), padding columns zero codes. A kernel set (one
 * per instruction-set extension: AVX512-VNNI, AVX-VNNI, AVX2, portable) is its quantizer and its
 * product; each instruction-set row names the set it runs (isa.h: int8).
 */
#ifndef BNMLP_KERNELS_INT8_H
#define BNMLP_KERNELS_INT8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Columns per packed panel. */
#define BNMLP_INT8_PANEL 16

/* The widest input (K) an int8 product accepts: 255 * 127 * 65536 < 2^31. */
#define BNMLP_INT8_MAX_DEPTH 65536

/* The packed weights, as views into the packed buffer. */
typedef struct bnmlp_int8_weights {
    const int8_t *panels;        /* (panel_count, depth / 4, 16, 4) codes */
    const int32_t *compensation; /* (panel_count * 16) 128 sum_k w[k][j] */
    const float *scale;          /* (panel_count * 16) s_x s_w[j] */
    const float *bias;           /* (panel_count * 16) b[j] */
    size_t in;                   /* K */
    size_t out;                  /* N */
    size_t depth;                /* K rounded up to a multiple of 4 */
    size_t panel_count;          /* N / 16 rounded up */
    float inv_scale;             /* 1 / s_x */
} bnmlp_int8_weights;

/* q (rows, depth bytes) = the codes of x (rows, in; row stride ldx floats), as the set's
 * product reads them; columns [in, depth) the code 0. */
typedef void (*bnmlp_int8_quantize_function)(uint8_t *q, size_t depth, const float *x, size_t ldx,
                                             size_t rows, size_t in, float inv_scale);

/* y (rows, columns [16 first, min(16 last, out)); row stride ldy floats) = the store of
 * q (rows, w->depth bytes, from the set's quantizer) times panels [first, last) of w. */
typedef void (*bnmlp_int8_gemm_function)(const uint8_t *q, size_t rows, const bnmlp_int8_weights *w,
                                         size_t first, size_t last, float *y, size_t ldy);

/* One int8 kernel set. */
typedef struct bnmlp_int8_kernels {
    const char *name;                      /* "avx512vnni", "avxvnni", "avx2", "portable" */
    bool (*available)(void);               /* this build and CPU can run it */
    bnmlp_int8_quantize_function quantize; /* the codes */
    bnmlp_int8_gemm_function gemm;         /* the product and its store */
} bnmlp_int8_kernels;

/* The portable set (every machine). */
extern const bnmlp_int8_kernels bnmlp_int8_portable;

/* Every set of this build (fastest first, the portable one last), for tests and benchmarks. */
size_t bnmlp_int8_kernels_count(void);
const bnmlp_int8_kernels *bnmlp_int8_kernels_at(size_t i);

/* The int8 sets of the x86 rows (int8_x86.c): the AVX-512 row's (AVX512-VNNI, else as the AVX2
 * row's) and the AVX2 row's (AVX-VNNI, else AVX2). */
const bnmlp_int8_kernels *bnmlp_int8_for_avx512(void);
const bnmlp_int8_kernels *bnmlp_int8_for_avx2(void);

/* K rounded up to a multiple of 4. */
size_t bnmlp_int8_depth(size_t in);

/* Bytes of the packed buffer for (in, out), with 64 bytes of alignment slack; 0 on overflow or
 * in > BNMLP_INT8_MAX_DEPTH. */
size_t bnmlp_int8_packed_bytes(size_t in, size_t out);

/* Packs into buffer (bnmlp_int8_packed_bytes(in, out) bytes, any alignment): codes (in, out)
 * floats holding integers (each rounded and clamped to [-127, 127] here), weight_scale (out) s_w,
 * input_scale s_x, bias (out, NULL: zeros). Then *view describes it. */
void bnmlp_int8_pack(void *buffer, const float *codes, const float *weight_scale, float input_scale,
                     const float *bias, size_t in, size_t out, bnmlp_int8_weights *view);

/* *view of a buffer packed for (in, out) and s_x, without packing. */
void bnmlp_int8_view(void *buffer, size_t in, size_t out, float input_scale, bnmlp_int8_weights *view);

/* The code of one value (the scalar form of every quantizer). */
int8_t bnmlp_int8_code(float x, float inv_scale);

/* The reference: y (rows, out) from x (rows, in) and unpacked codes (in, out) as int8, weight
 * scales (out), s_x and bias (out, NULL: zeros), row by row with the arithmetic above. */
void bnmlp_int8_dense_reference(float *y, const float *x, size_t rows, size_t in, size_t out,
                                const int8_t *codes, const float *weight_scale, float input_scale,
                                const float *bias);

/* Floats of scratch bnmlp_int8_dense needs for rows rows of input width in (with alignment
 * slack); 0 on overflow. */
size_t bnmlp_int8_scratch_floats(size_t rows, size_t in);

#endif /* BNMLP_KERNELS_INT8_H */
