/*
 * int8.c - the int8 product's packing, its portable kernel set, its reference and its driver
 * (int8.h has the arithmetic every set shares).
 */
#include "kernels/int8.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/kernels.h"

/* 1.5 2^23: v + ROUNDER - ROUNDER is v rounded to an integer for |v| <= 2^22. */
#define ROUNDER 12582912.0f

/* ---- packing ------------------------------------------------------------------------------------- */

size_t bnmlp_int8_depth(size_t in) { return (in + 3) / 4 * 4; }

/* Panels of out columns. */
static size_t panel_count(size_t out) { return (out + BNMLP_INT8_PANEL - 1) / BNMLP_INT8_PANEL; }

size_t bnmlp_int8_packed_bytes(size_t in, size_t out) {
    if (in == 0 || in > BNMLP_INT8_MAX_DEPTH || out == 0 || out > SIZE_MAX / 64) return 0;
    const size_t panels = panel_count(out), depth = bnmlp_int8_depth(in);
    if (panels > SIZE_MAX / 64 / depth) return 0;
    return panels * depth * BNMLP_INT8_PANEL + panels * BNMLP_INT8_PANEL * 12 + 64;
}

/* The buffer's first 64-byte aligned byte. */
static unsigned char *aligned(void *buffer) {
    const uintptr_t at = (uintptr_t)buffer;
    return (unsigned char *)buffer + ((64 - at % 64) % 64);
}

void bnmlp_int8_view(void *buffer, size_t in, size_t out, float input_scale, bnmlp_int8_weights *view) {
    unsigned char *base = aligned(buffer);
    const size_t panels = panel_count(out), depth = bnmlp_int8_depth(in), n = panels * BNMLP_INT8_PANEL;
    view->panels = (const int8_t *)base;
    view->compensation = (const int32_t *)(base + panels * depth * BNMLP_INT8_PANEL);
    view->scale = (const float *)(view->compensation + n);
    view->bias = view->scale + n;
    view->in = in, view->out = out, view->depth = depth, view->panel_count = panels;
    view->inv_scale = 1.0f / input_scale;
}

/* A stored code as an integer in [-127, 127] (a file's value rounded and clamped). */
static int8_t stored_code(float value) {
    const float v = value > -127.0f ? (value < 127.0f ? value : 127.0f) : -127.0f; /* NaN: -127 */
    return (int8_t)lrintf(v);
}

void bnmlp_int8_pack(void *buffer, const float *codes, const float *weight_scale, float input_scale,
                     const float *bias, size_t in, size_t out, bnmlp_int8_weights *view) {
    bnmlp_int8_view(buffer, in, out, input_scale, view);
    const size_t depth = view->depth, n = view->panel_count * BNMLP_INT8_PANEL;
    int8_t *panels = (int8_t *)view->panels;
    int32_t *comp = (int32_t *)view->compensation;
    float *scale = (float *)view->scale, *b = (float *)view->bias;
    memset(panels, 0, view->panel_count * depth * BNMLP_INT8_PANEL);
    for (size_t j = 0; j < n; j++) {
        int32_t sum = 0;
        for (size_t k = 0; j < out && k < in; k++) {
            const int8_t w = stored_code(codes[k * out + j]);
            const size_t p = j / BNMLP_INT8_PANEL, c = j % BNMLP_INT8_PANEL;
            panels[p * depth * BNMLP_INT8_PANEL + (k / 4) * 64 + c * 4 + k % 4] = w;
            sum += w;
        }
        comp[j] = 128 * sum;
        scale[j] = j < out ? input_scale * weight_scale[j] : 0.0f;
        b[j] = j < out && bias ? bias[j] : 0.0f;
    }
}

/* ---- the portable set and the reference ----------------------------------------------------------- */

int8_t bnmlp_int8_code(float x, float inv_scale) {
    float v = x * inv_scale;
    v = v > -127.0f ? v : -127.0f; /* as max(v, -127): NaN gives -127 */
    v = v < 127.0f ? v : 127.0f;   /* as min(v, 127) */
    v = (v + ROUNDER) - ROUNDER;
    return (int8_t)(int32_t)v;
}

static void quantize_portable(uint8_t *q, size_t depth, const float *x, size_t ldx, size_t rows, size_t in,
                              float inv_scale) {
    for (size_t i = 0; i < rows; i++) {
        uint8_t *row = q + i * depth;
        for (size_t k = 0; k < in; k++) row[k] = (uint8_t)bnmlp_int8_code(x[i * ldx + k], inv_scale);
        for (size_t k = in; k < depth; k++) row[k] = 0;
    }
}

/* The store of one sum. */
static float dequantize(int32_t acc, float scale, float bias) { return fmaf((float)acc, scale, bias); }

static void gemm_portable(const uint8_t *q, size_t rows, const bnmlp_int8_weights *w, size_t first,
                          size_t last, float *y, size_t ldy) {
    const size_t depth = w->depth;
    for (size_t p = first; p < last; p++) {
        const int8_t *panel = w->panels + p * depth * BNMLP_INT8_PANEL;
        const size_t j0 = p * BNMLP_INT8_PANEL;
        const size_t width = w->out - j0 < BNMLP_INT8_PANEL ? w->out - j0 : BNMLP_INT8_PANEL;
        for (size_t i = 0; i < rows; i++) {
            const int8_t *a = (const int8_t *)q + i * depth;
            int32_t acc[BNMLP_INT8_PANEL] = {0};
            for (size_t g = 0; g < depth / 4; g++)
                for (size_t c = 0; c < BNMLP_INT8_PANEL; c++)
                    for (size_t t = 0; t < 4; t++)
                        acc[c] += (int32_t)a[4 * g + t] * (int32_t)panel[g * 64 + c * 4 + t];
            for (size_t c = 0; c < width; c++)
                y[i * ldy + j0 + c] = dequantize(acc[c], w->scale[j0 + c], w->bias[j0 + c]);
        }
    }
}

static bool portable_available(void) { return true; }

const bnmlp_int8_kernels bnmlp_int8_portable = {
    .name = "portable",
    .available = portable_available,
    .quantize = quantize_portable,
    .gemm = gemm_portable,
};

void bnmlp_int8_dense_reference(float *y, const float *x, size_t rows, size_t in, size_t out,
                                const int8_t *codes, const float *weight_scale, float input_scale,
                                const float *bias) {
    const float inv_scale = 1.0f / input_scale;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < out; j++) {
            int32_t acc = 0;
            for (size_t k = 0; k < in; k++)
                acc += (int32_t)bnmlp_int8_code(x[i * in + k], inv_scale) * (int32_t)codes[k * out + j];
            const float scale = input_scale * weight_scale[j];
            y[i * out + j] = dequantize(acc, scale, bias ? bias[j] : 0.0f);
        }
}

/* ---- the list of sets ------------------------------------------------------------------------------ */

#if defined(__x86_64__)
extern const bnmlp_int8_kernels bnmlp_int8_avx512vnni, bnmlp_int8_avxvnni, bnmlp_int8_avx2;
#endif

static const bnmlp_int8_kernels *const sets[] = {
#if defined(__x86_64__)
    &bnmlp_int8_avx512vnni,
    &bnmlp_int8_avxvnni,
    &bnmlp_int8_avx2,
#endif
    &bnmlp_int8_portable,
};

size_t bnmlp_int8_kernels_count(void) { return sizeof sets / sizeof sets[0]; }

const bnmlp_int8_kernels *bnmlp_int8_kernels_at(size_t i) {
    return i < bnmlp_int8_kernels_count() ? sets[i] : NULL;
}

/* ---- the driver ------------------------------------------------------------------------------------- */

size_t bnmlp_int8_scratch_floats(size_t rows, size_t in) {
    const size_t depth = bnmlp_int8_depth(in);
    if (rows == 0) rows = 1;
    if (depth == 0 || rows > (SIZE_MAX - 128) / depth) return 0;
    return (rows * depth + 3) / 4 + 16;
}

/* What the pieces of one product share. */
typedef struct int8_job {
    const bnmlp_int8_kernels *set;
    const bnmlp_int8_weights *w;
    const float *x;
    uint8_t *q;
    float *y;
    size_t rows;
} int8_job;

static void quantize_rows(void *arg, size_t begin, size_t end, size_t thread) {
    (void)thread;
    const int8_job *job = arg;
    const size_t depth = job->w->depth, in = job->w->in;
    job->set->quantize(job->q + begin * depth, depth, job->x + begin * in, in, end - begin, in,
                       job->w->inv_scale);
}

/* Pieces are groups of four panels (64 columns: the widest tile). */
static void multiply_panels(void *arg, size_t begin, size_t end, size_t thread) {
    (void)thread;
    const int8_job *job = arg;
    const size_t last = 4 * end < job->w->panel_count ? 4 * end : job->w->panel_count;
    job->set->gemm(job->q, job->rows, job->w, 4 * begin, last, job->y, job->w->out);
}

void bnmlp_kernel_int8_dense(const bnmlp_kernel_context *context, float *y, const float *x, size_t rows,
                             const bnmlp_int8_weights *w, float *scratch) {
    const bnmlp_isa *isa = bnmlp_kernel_isa(context);
    const bnmlp_int8_kernels *set = isa && isa->int8 ? isa->int8() : NULL;
    if (!set) set = &bnmlp_int8_portable;
    int8_job job = {.set = set, .w = w, .x = x, .q = aligned(scratch), .y = y, .rows = rows};
    bnmlp_parallel_for(context, rows, 16, quantize_rows, &job);
    bnmlp_parallel_for(context, (w->panel_count + 3) / 4, 1, multiply_panels, &job);
}
