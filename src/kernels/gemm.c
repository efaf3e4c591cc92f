/*
 * gemm.c - the GEMM driver: cache blocking, packing, the loops around the micro-kernel, and the
 * split of output tiles over threads (bnmlp_parallel_for). What is specific to an instruction
 * set (micro-kernel, tile sizes, packers, direct path) comes from the plan's descriptor.
 *
 * Loops (BLIS order), per task = one (rows, columns) tile of C:
 *   for pc over K in KC blocks:       pack op(B)[pc.., columns] into (KC, NR) micro-panels
 *                                     pack op(A)[rows, pc..]   into (MR, KC) micro-panels
 *     for jr over columns by NR:      a B micro-panel stays in L1
 *       for ir over rows by MR:       micro-kernel on an (MR, NR) tile of C
 * Every element of C sums its K terms in KC blocks (one block when K <= 4/3 KC: k_block), in
 * order: which task or thread computes it
 * never changes its value.
 */
#define _GNU_SOURCE /* sysconf's cache-size names (glibc) */

#include "kernels/gemm.h"

#include "core/core.h"
#include "kernels/bf16.h"
#include "kernels/kernels.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- blocking -------------------------------------------------------------------------------- */

/* Bytes of a cache level as the C library reports it, or fallback. */
static size_t cache_bytes(int name, size_t fallback) {
    const long bytes = sysconf(name);
    return bytes > 0 ? (size_t)bytes : fallback;
}

static size_t round_up(size_t x, size_t to) { return (x + to - 1) / to * to; }
static size_t round_down(size_t x, size_t to) { return x / to * to; }
static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }
static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }
static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

/* The K block of a float32 product of depth k: KC, or all of k when k is at most a third longer
 * than KC. A product whose K only just exceeds KC (the weight gradients' K = batch 256 against
 * KC 192) then passes over its C once instead of twice, the second pass only a short block deep:
 * measured on Zen 5, 2-4 % of the 256-2048-2048-1 training step. */
static size_t k_block(const bnmlp_gemm_plan *plan, size_t k) { return k <= plan->kc / 3 * 4 ? k : plan->kc; }

#define FALLBACK_L1_BYTES (32u * 1024u)
#define FALLBACK_L2_BYTES (1024u * 1024u)
/* K block limits (floats): long enough to amortize the C tile's loads and stores. */
#define KC_MIN 128u
#define KC_MAX 512u
/* N block (floats of a packed B row): large, B blocks stream from L3. */
#define NC_TARGET 4096u

bnmlp_status bnmlp_gemm_plan_init(bnmlp_gemm_plan *plan, const bnmlp_isa *isa) {
    if (!plan) return BNMLP_ERR_NULL_ARGUMENT;
    if (!isa) isa = bnmlp_isa_best();
    if (!bnmlp_isa_available(isa) || !isa->micro_kernel || isa->mr == 0 || isa->nr == 0 ||
        isa->mr * isa->nr > BNMLP_GEMM_MAX_TILE)
        return BNMLP_ERR_INVALID_ARGUMENT;
    bnmlp_gemm_plan p = {.isa = isa, .mr = isa->mr, .nr = isa->nr, .micro_kernel = isa->micro_kernel};
    const bnmlp_bf16_native *native = isa->bf16_native ? isa->bf16_native() : NULL;
    p.micro_kernel_bf16 = native ? native->micro_kernel : BNMLP_ISA_ENTRY(isa, micro_kernel_bf16);
    p.pack_bf16_interleaved = native ? native->pack_interleaved : BNMLP_ISA_ENTRY(isa, pack_bf16_interleaved);
    p.pack_bf16_rows = native ? native->pack_rows : BNMLP_ISA_ENTRY(isa, pack_bf16_rows);
    /* Not the portable row's reference for a vector row without its own (the AVX2 row): its packed
     * path is faster than that scalar loop on every shape. */
    p.gemm_direct_bf16 = native && native->gemm_direct ? native->gemm_direct : isa->gemm_direct_bf16;
    const size_t l1 = cache_bytes(_SC_LEVEL1_DCACHE_SIZE, FALLBACK_L1_BYTES);
    const size_t l2 = cache_bytes(_SC_LEVEL2_CACHE_SIZE, FALLBACK_L2_BYTES);
    /* A (KC, NR) B micro-panel in half of L1 (the A micro-panels stream through the rest). */
    p.kc = round_down(l1 / (2 * p.nr * sizeof(float)), 16);
    p.kc = min_size(max_size(p.kc, KC_MIN), KC_MAX);
    /* An (MC, KC) A block in half of L2. */
    p.mc = max_size(round_down(l2 / (2 * p.kc * sizeof(float)), p.mr), p.mr);
    p.nc = round_up(NC_TARGET, p.nr);
    *plan = p;
    return BNMLP_OK;
}

/* ---- scratch --------------------------------------------------------------------------------- */

/* Floats per 64 bytes: every packed block starts 64-byte aligned. */
#define ALIGN_FLOATS 16u

/* Packed floats one thread needs for an (m, n, k) product: an A block and a B block. */
static bool per_thread_floats(const bnmlp_gemm_plan *plan, size_t m, size_t n, size_t k, size_t *floats) {
    if (m > SIZE_MAX / 2 || n > SIZE_MAX / 2) return false;
    const size_t mc = min_size(plan->mc, round_up(m, plan->mr));
    const size_t nc = min_size(plan->nc, round_up(n, plan->nr));
    const size_t kc = k_block(plan, k); /* at most k */
    *floats = round_up(mc * kc, ALIGN_FLOATS) + round_up(kc * nc, ALIGN_FLOATS);
    return true;
}

size_t bnmlp_gemm_scratch_floats(const bnmlp_gemm_plan *plan, size_t max_m, size_t max_n, size_t max_k,
                                 size_t threads) {
    if (!plan) return 0;
    if (threads == 0) threads = 1;
    size_t one, all;
    if (!per_thread_floats(plan, max_m, max_n, max_k, &one)) return 0;
    if (!bnmlp_size_mul(one, threads, &all)) return 0;
    return all + ALIGN_FLOATS;
}

/* ---- packing --------------------------------------------------------------------------------- */

/* Copies count floats (a compile-time count, so the copy is inlined and vectorized). */
#define COPY_FLOATS(target, source, count)                                                                   \
    do {                                                                                                     \
        for (size_t j_ = 0; j_ < (count); j_++) (target)[j_] = (source)[j_];                                 \
    } while (0)

/* Steps [0, steps) of count consecutive panels of `width` floats (depth steps each, so panels
 * lie width * depth floats apart), from `steps` source rows ld floats apart:
 * target[q * width * depth + p * width + r] = source[p * ld + q * width + r], the last panel
 * zero-padded. A few steps per panel at a time: the writes of a panel stay sequential and each
 * source row is read in order. For the widths the micro-kernels use the copy has a compile-time
 * length, so it is inlined and vectorized. */
static void scatter_rows(float *target, const float *source, size_t ld, size_t steps, size_t count,
                         size_t width, size_t depth) {
    const size_t full = count / width * width;
    size_t i0 = 0;
/* A case of the switch below: panels of a compile-time width. */
#define SCATTER_CASE(w)                                                                                      \
    case w:                                                                                                  \
        for (; i0 < full; i0 += (w))                                                                         \
            for (size_t p_ = 0; p_ < steps; p_++)                                                            \
                COPY_FLOATS(target + i0 * depth + p_ * (w), source + p_ * ld + i0, (w));                     \
        break
    switch (width) {
        SCATTER_CASE(4);
        SCATTER_CASE(6);
        SCATTER_CASE(8);
        SCATTER_CASE(16);
        SCATTER_CASE(32);
    default:
        for (; i0 < full; i0 += width)
            for (size_t p = 0; p < steps; p++)
                COPY_FLOATS(target + i0 * depth + p * width, source + p * ld + i0, width);
        break;
    }
#undef SCATTER_CASE
    if (i0 < count) {
        for (size_t p = 0; p < steps; p++) {
            float *edge = target + i0 * depth + p * width;
            size_t r = 0;
            for (; r < count - i0; r++) edge[r] = source[p * ld + i0 + r];
            for (; r < width; r++) edge[r] = 0.0f;
        }
    }
}

/* Source rows scatter_rows takes at a time: few enough that their lines stay in L1 while every
 * panel takes its piece, enough that each panel's writes come in runs. */
#define SCATTER_STEPS 8

/* One panel of `width` floats a step from `used` source rows that run along the depth (row r
 * at source + r * ld): panel[p * width + r] = source[r * ld + p], rows past `used` zero. */
static void gather_panel(float *panel, const float *source, size_t ld, size_t depth, size_t used,
                         size_t width) {
    for (size_t r = 0; r < used; r++) {
        const float *row = source + r * ld;
        for (size_t p = 0; p < depth; p++) panel[p * width + r] = row[p];
    }
    for (size_t r = used; r < width; r++)
        for (size_t p = 0; p < depth; p++) panel[p * width + r] = 0.0f;
}

/* Packs op(A) rows [row0, row0 + rows), columns [p0, p0 + depth) into MR-row micro-panels:
 * panel q holds rows row0 + q MR .. + MR, k step by k step (MR floats each), rows past the
 * end zero. packed: (ceil(rows / MR) MR, depth). */
static void pack_a(const bnmlp_gemm_plan *plan, float *packed, const float *a, size_t lda, bool transpose_a,
                   size_t row0, size_t rows, size_t p0, size_t depth) {
    const size_t mr = plan->mr;
    if (transpose_a) {
        /* op(A)(i, p) = a[p, i]: row p of a holds step p of every panel; read a few rows at a
         * time, MR floats of each into each panel. */
        for (size_t p = 0; p < depth; p += SCATTER_STEPS)
            scatter_rows(packed + p * mr, a + (p0 + p) * lda + row0, lda, min_size(SCATTER_STEPS, depth - p),
                         rows, mr, depth);
        return;
    }
    /* op(A)(i, p) = a[i, p]: MR rows of a interleaved, step by step; full panels through the
     * descriptor's packer. */
    const bnmlp_pack_function pack_full = BNMLP_ISA_ENTRY(plan->isa, pack_a);
    for (size_t i0 = 0; i0 < rows; i0 += mr, packed += mr * depth) {
        const size_t height = min_size(mr, rows - i0);
        if (height == mr)
            pack_full(packed, a + (row0 + i0) * lda + p0, lda, depth, mr);
        else
            gather_panel(packed, a + (row0 + i0) * lda + p0, lda, depth, height, mr);
    }
}

/* Packs op(B) rows [p0, p0 + depth), columns [col0, col0 + cols) into NR-column micro-panels:
 * panel q holds columns col0 + q NR .. + NR, k step by k step (NR floats each), columns past
 * the end zero. packed: (depth, ceil(cols / NR) NR) panel by panel. */
static void pack_b(const bnmlp_gemm_plan *plan, float *packed, const float *b, size_t ldb, bool transpose_b,
                   size_t p0, size_t depth, size_t col0, size_t cols) {
    const size_t nr = plan->nr;
    if (transpose_b) {
        /* op(B)(p, j) = b[j, p]: each column of a panel is a contiguous run of a row of b; full
         * panels through the descriptor's packer. */
        const bnmlp_pack_function pack_full = BNMLP_ISA_ENTRY(plan->isa, pack_b_transposed);
        for (size_t j0 = 0; j0 < cols; j0 += nr) {
            float *panel = packed + j0 * depth;
            const size_t width = min_size(nr, cols - j0);
            if (width == nr)
                pack_full(panel, b + (col0 + j0) * ldb + p0, ldb, depth, nr);
            else
                gather_panel(panel, b + (col0 + j0) * ldb + p0, ldb, depth, width, nr);
        }
        return;
    }
    /* A few rows of b at a time (sequential reads), NR floats of each into each panel. */
    for (size_t p = 0; p < depth; p += SCATTER_STEPS)
        scatter_rows(packed + p * nr, b + (p0 + p) * ldb + col0, ldb, min_size(SCATTER_STEPS, depth - p),
                     cols, nr, depth);
}

/* ---- packing bf16 pairs ---------------------------------------------------------------------- */

/* op(A) rows [row0, + rows), values [p0, + depth) as MR-row panels of bf16 pairs. */
static void pack_a_bf16(const bnmlp_gemm_plan *plan, uint32_t *packed, const float *a, size_t lda,
                        bool transpose_a, size_t row0, size_t rows, size_t p0, size_t depth) {
    if (transpose_a)
        plan->pack_bf16_interleaved(packed, a + p0 * lda + row0, lda, depth, rows, plan->mr);
    else
        plan->pack_bf16_rows(packed, a + row0 * lda + p0, lda, depth, rows, plan->mr);
}

/* op(B) values [p0, + depth), columns [col0, + cols) as NR-column panels of bf16 pairs. */
static void pack_b_bf16(const bnmlp_gemm_plan *plan, uint32_t *packed, const float *b, size_t ldb,
                        bool transpose_b, size_t p0, size_t depth, size_t col0, size_t cols) {
    if (transpose_b)
        plan->pack_bf16_rows(packed, b + col0 * ldb + p0, ldb, depth, cols, plan->nr);
    else
        plan->pack_bf16_interleaved(packed, b + p0 * ldb + col0, ldb, depth, cols, plan->nr);
}

/* ---- op(B) packed ahead of the product --------------------------------------------------------- */

size_t bnmlp_gemm_panels_floats(const bnmlp_gemm_plan *plan, size_t k, size_t n) {
    size_t floats;
    if (!plan || k == 0 || n == 0 || n > SIZE_MAX - plan->nr) return 0;
    return bnmlp_size_mul(k, round_up(n, plan->nr), &floats) ? floats : 0;
}

/* The layout of one op(B)'s panels (gemm.h). */
typedef struct panel_layout {
    size_t k, n;   /* op(B) is (k, n) */
    size_t npad;   /* n rounded up to NR */
    size_t nr, kc; /* the plan's */
    bool bf16;     /* pairs of bf16, 2 KC values a block */
} panel_layout;

/* Values of k one K block holds. */
static size_t block_values(const panel_layout *l) { return l->bf16 ? 2 * l->kc : l->kc; }

/* Steps (floats, or pairs) a panel of K block `block` holds. */
static size_t block_steps(const panel_layout *l, size_t block) {
    const size_t values = block_values(l), depth = min_size(values, l->k - block * values);
    return l->bf16 ? (depth + 1) / 2 : depth;
}

/* Where K block `block` starts (floats, or pairs). */
static size_t block_start(const panel_layout *l, size_t block) { return block * l->kc * l->npad; }

/* Byte offset, inside a uint32 bf16 pair as stored, of element `half` (0: the low 16 bits). */
static size_t half_offset(size_t half) {
    const uint32_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    const size_t low = first ? 0 : 2; /* little endian: the low half comes first */
    return half ? 2 - low : low;
}

/* Writes v at float (or pair) `at`: the float, or bf16 half `half` of the pair (only those two
 * bytes, so a neighbour packing the other half concurrently writes another object). */
static void panel_write(const panel_layout *l, float *panels, size_t at, size_t half, float v) {
    if (!l->bf16) {
        panels[at] = v;
        return;
    }
    const uint16_t bits = bnmlp_bf16_from_float(v);
    memcpy((unsigned char *)(panels + at) + half_offset(half), &bits, sizeof bits);
}

/* Part of one stored row of b: op(B)(kk + i, j) = v[i] (along_k: a row of a transposed b) or
 * op(B)(kk, j + i) = v[i], i < count; positions counted on, not divided out per element. */
static void panel_run(const panel_layout *l, float *panels, size_t kk, size_t j, const float *v, size_t count,
                      bool along_k) {
    const size_t values = block_values(l), nr = l->nr;
    while (count > 0) {
        const size_t block = kk / values, local = kk % values, steps = block_steps(l, block);
        const size_t base = block_start(l, block);
        if (!along_k) {
            /* One step of every panel: lane by lane, panel by panel. */
            const size_t step = (l->bf16 ? local / 2 : local) * nr, half = local & 1;
            size_t q = j / nr, lane = j % nr;
            for (size_t i = 0; i < count; i++) {
                panel_write(l, panels, base + q * nr * steps + step + lane, half, v[i]);
                if (++lane == nr) lane = 0, q++;
            }
            return;
        }
        /* One lane of one panel, step by step, to the end of the K block. */
        const size_t here = min_size(count, values - local), column = base + (j / nr) * nr * steps + j % nr;
        for (size_t i = 0; i < here; i++) {
            const size_t at = local + i;
            panel_write(l, panels, column + (l->bf16 ? at / 2 : at) * nr, at & 1, v[i]);
        }
        kk += here, v += here, count -= here;
    }
}

/* Elements [from, to) of stored b (row stride ld), row piece by row piece. */
static void pack_panels_edge(const panel_layout *l, bool transpose_b, const float *b, size_t ld, size_t from,
                             size_t to, float *panels) {
    while (from < to) {
        const size_t r = from / ld, c = from % ld, count = min_size(ld - c, to - from);
        if (transpose_b)
            panel_run(l, panels, c, r, b + from, count, true);
        else
            panel_run(l, panels, r, c, b + from, count, false);
        from += count;
    }
}

/* Rows [r0, r1) of a stored (k, n) b (not transposed): rows of op(B), K block by K block; r0 and
 * r1 even for bf16 unless r1 == k. */
static void pack_panels_rows(const bnmlp_gemm_plan *plan, const panel_layout *l, const float *b, size_t r0,
                             size_t r1, float *panels) {
    const size_t values = block_values(l), nr = l->nr;
    for (size_t block = r0 / values; block * values < r1; block++) {
        const size_t first = block * values, steps = block_steps(l, block);
        const size_t p0 = max_size(r0, first), p1 = min_size(r1, first + values);
        float *base = panels + block_start(l, block);
        if (!l->bf16) {
            for (size_t p = p0; p < p1; p += SCATTER_STEPS)
                scatter_rows(base + (p - first) * nr, b + p * l->n, l->n, min_size(SCATTER_STEPS, p1 - p),
                             l->n, nr, steps);
            continue;
        }
        uint32_t *pairs = (uint32_t *)(void *)base;
        for (size_t j0 = 0; j0 < l->n; j0 += nr)
            plan->pack_bf16_interleaved(pairs + j0 * steps + (p0 - first) / 2 * nr, b + p0 * l->n + j0, l->n,
                                        p1 - p0, min_size(nr, l->n - j0), nr);
    }
}

/* Rows [r0, r1) of a stored (n, k) b (transposed), whole NR-row groups: columns of op(B). */
static void pack_panels_groups(const bnmlp_gemm_plan *plan, const panel_layout *l, const float *b, size_t r0,
                               size_t r1, float *panels) {
    const size_t values = block_values(l), nr = l->nr;
    const bnmlp_pack_function pack_full = BNMLP_ISA_ENTRY(plan->isa, pack_b_transposed);
    for (size_t j0 = r0; j0 < r1; j0 += nr)
        for (size_t block = 0; block * values < l->k; block++) {
            const size_t first = block * values, steps = block_steps(l, block);
            float *panel = panels + block_start(l, block) + j0 * steps;
            const float *source = b + j0 * l->k + first;
            if (l->bf16)
                plan->pack_bf16_rows((uint32_t *)(void *)panel, source, l->k, min_size(values, l->k - first),
                                     nr, nr);
            else
                pack_full(panel, source, l->k, steps, nr);
        }
}

void bnmlp_gemm_pack_panels(const bnmlp_gemm_plan *plan, bool bf16, bool transpose_b, size_t k, size_t n,
                            const float *b, size_t from, size_t to, float *panels) {
    if (k == 0 || n == 0) return;
    const panel_layout l = {.k = k,
                            .n = n,
                            .npad = round_up(n, plan->nr),
                            .nr = plan->nr,
                            .kc = bf16 ? plan->kc : k_block(plan, k),
                            .bf16 = bf16};
    const size_t ld = transpose_b ? k : n, rows = transpose_b ? n : k;
    to = min_size(to, rows * ld);
    if (from >= to) return;
    /* Whole stored rows [r0, r1), and of them whole units [u0, u1). */
    const size_t r0 = ceil_div(from, ld), r1 = to / ld;
    const size_t unit = transpose_b ? plan->nr : bf16 ? 2 : 1;
    size_t u0 = round_up(r0, unit), u1 = round_down(r1, unit);
    if (!transpose_b && r1 == k) u1 = k; /* an odd k's last row is a whole pair (its partner zero) */
    if (u0 >= u1) {
        pack_panels_edge(&l, transpose_b, b, ld, from, to, panels);
        return;
    }
    pack_panels_edge(&l, transpose_b, b, ld, from, u0 * ld, panels);
    if (transpose_b)
        pack_panels_groups(plan, &l, b, u0, u1, panels);
    else
        pack_panels_rows(plan, &l, b, u0, u1, panels);
    pack_panels_edge(&l, transpose_b, b, ld, u1 * ld, to, panels);
}

/* ---- the loops around the micro-kernel ------------------------------------------------------- */

/* One product, as the tasks see it. */
typedef struct gemm_job {
    const bnmlp_gemm_plan *plan;
    bool transpose_a, transpose_b, accumulate;
    bool bf16; /* bf16 inputs: pairs packed, the plan's bf16 micro-kernel */
    size_t m, n, k;
    const float *a, *b, *bias;
    const float *b_panels; /* op(B) packed ahead (bnmlp_gemm_pack_panels), or NULL */
    size_t npad;           /* n rounded up to NR: the panels' K-block stride over K */
    size_t lda, ldb, ldc;
    float *c;
    float *scratch;       /* 64-byte aligned; thread t uses [t per_thread, (t + 1) per_thread) */
    size_t per_thread;    /* floats of one thread's scratch */
    size_t a_floats;      /* floats of the packed A block at the start of it */
    size_t row_tasks;     /* tiles down M */
    size_t rows_per_task; /* a multiple of MR */
    size_t col_tasks;     /* tiles across N */
    size_t cols_per_task; /* a multiple of NR, <= NC */
} gemm_job;

/* c (rows, cols), row stride ldc, through a full-size stack tile when the tile is partial;
 * the same additions in the same order as a full tile. */
static void edge_tile(const bnmlp_gemm_plan *plan, size_t depth, const float *a_panel, const float *b_panel,
                      float *c, size_t ldc, size_t rows, size_t cols, const float *bias, bool load_c) {
    _Alignas(64) float tile[BNMLP_GEMM_MAX_TILE];
    const size_t nr = plan->nr;
    if (load_c)
        for (size_t r = 0; r < rows; r++) memcpy(tile + r * nr, c + r * ldc, cols * sizeof *c);
    plan->micro_kernel(depth, a_panel, b_panel, tile, nr, NULL, load_c);
    for (size_t r = 0; r < rows; r++) {
        float *c_row = c + r * ldc;
        const float *t_row = tile + r * nr;
        if (bias)
            for (size_t j = 0; j < cols; j++) c_row[j] = t_row[j] + bias[j];
        else
            memcpy(c_row, t_row, cols * sizeof *c);
    }
}

/* The macro-kernel: c (rows, cols) [+]= packed A (rows, depth) . packed B (depth, cols), a B
 * micro-panel at a time (it stays in L1) against every A micro-panel (from L2). */
static void macro_kernel(const bnmlp_gemm_plan *plan, size_t depth, const float *a_packed,
                         const float *b_packed, float *c, size_t ldc, size_t rows, size_t cols,
                         const float *bias, bool load_c) {
    const size_t mr = plan->mr, nr = plan->nr;
    for (size_t j0 = 0; j0 < cols; j0 += nr) {
        const float *b_panel = b_packed + j0 * depth;
        const float *bias_panel = bias ? bias + j0 : NULL;
        const size_t width = min_size(nr, cols - j0);
        for (size_t i0 = 0; i0 < rows; i0 += mr) {
            const float *a_panel = a_packed + i0 * depth;
            float *c_tile = c + i0 * ldc + j0;
            const size_t height = min_size(mr, rows - i0);
            if (height == mr && width == nr)
                plan->micro_kernel(depth, a_panel, b_panel, c_tile, ldc, bias_panel, load_c);
            else
                edge_tile(plan, depth, a_panel, b_panel, c_tile, ldc, height, width, bias_panel, load_c);
        }
    }
}

/* The bf16 form of edge_tile: the bias goes into the kernel (it starts the accumulator), padded
 * with zeros to the tile's width. */
static void edge_tile_bf16(const bnmlp_gemm_plan *plan, size_t pairs, const uint32_t *a_panel,
                           const uint32_t *b_panel, float *c, size_t ldc, size_t rows, size_t cols,
                           const float *bias, bool load_c) {
    _Alignas(64) float tile[BNMLP_GEMM_MAX_TILE];
    _Alignas(64) float bias_tile[BNMLP_GEMM_MAX_TILE];
    const size_t nr = plan->nr;
    if (load_c)
        for (size_t r = 0; r < rows; r++) memcpy(tile + r * nr, c + r * ldc, cols * sizeof *c);
    if (bias) {
        memcpy(bias_tile, bias, cols * sizeof *bias);
        for (size_t j = cols; j < nr; j++) bias_tile[j] = 0.0f;
    }
    plan->micro_kernel_bf16(pairs, a_panel, b_panel, tile, nr, bias ? bias_tile : NULL, load_c);
    for (size_t r = 0; r < rows; r++) memcpy(c + r * ldc, tile + r * nr, cols * sizeof *c);
}

/* The bf16 macro-kernel: macro_kernel over packed pairs. */
static void macro_kernel_bf16(const bnmlp_gemm_plan *plan, size_t pairs, const uint32_t *a_packed,
                              const uint32_t *b_packed, float *c, size_t ldc, size_t rows, size_t cols,
                              const float *bias, bool load_c) {
    const size_t mr = plan->mr, nr = plan->nr;
    for (size_t j0 = 0; j0 < cols; j0 += nr) {
        const uint32_t *b_panel = b_packed + j0 * pairs;
        const float *bias_panel = bias ? bias + j0 : NULL;
        const size_t width = min_size(nr, cols - j0);
        for (size_t i0 = 0; i0 < rows; i0 += mr) {
            const uint32_t *a_panel = a_packed + i0 * pairs;
            float *c_tile = c + i0 * ldc + j0;
            const size_t height = min_size(mr, rows - i0);
            if (height == mr && width == nr)
                plan->micro_kernel_bf16(pairs, a_panel, b_panel, c_tile, ldc, bias_panel, load_c);
            else
                edge_tile_bf16(plan, pairs, a_panel, b_panel, c_tile, ldc, height, width, bias_panel, load_c);
        }
    }
}

/* One output tile of C: rows [row0, + rows_per_task), columns [col0, + cols_per_task). Each
 * packed (KC, cols) B block serves all the tile's MC row blocks. */
static void gemm_task(const gemm_job *job, size_t task, size_t thread) {
    const bnmlp_gemm_plan *plan = job->plan;
    const size_t row0 = (task / job->col_tasks) * job->rows_per_task;
    const size_t col0 = (task % job->col_tasks) * job->cols_per_task;
    if (row0 >= job->m || col0 >= job->n) return;
    const size_t row_end = row0 + min_size(job->rows_per_task, job->m - row0);
    const size_t cols = min_size(job->cols_per_task, job->n - col0);
    /* Row blocks of at most MC rows, evened out (256 rows with MC 252 run as 2 x 128, not
     * 252 + 4); a multiple of MR, so no larger than MC. */
    const size_t row_blocks = ceil_div(row_end - row0, plan->mc);
    const size_t block_rows = round_up(ceil_div(row_end - row0, row_blocks), plan->mr);
    float *a_packed = job->scratch + thread * job->per_thread;
    float *b_packed = a_packed + job->a_floats;
    if (job->bf16) {
        /* K blocks of KC pairs (2 KC values: even, so pairs never straddle two blocks). */
        uint32_t *a_pairs = (uint32_t *)(void *)a_packed, *b_pairs = (uint32_t *)(void *)b_packed;
        for (size_t p0 = 0; p0 < job->k; p0 += 2 * plan->kc) {
            const size_t depth = min_size(2 * plan->kc, job->k - p0), pairs = (depth + 1) / 2;
            const bool first = p0 == 0;
            const bool load_c = !first || job->accumulate;
            const float *bias = first && job->bias ? job->bias + col0 : NULL;
            /* The panels' block starts at (p0 / 2 KC) KC npad pairs = p0 / 2 npad. */
            const uint32_t *b_block = job->b_panels ? (const uint32_t *)(const void *)job->b_panels +
                                                          p0 / 2 * job->npad + col0 * pairs
                                                    : b_pairs;
            if (!job->b_panels)
                pack_b_bf16(plan, b_pairs, job->b, job->ldb, job->transpose_b, p0, depth, col0, cols);
            for (size_t i0 = row0; i0 < row_end; i0 += block_rows) {
                const size_t rows = min_size(block_rows, row_end - i0);
                pack_a_bf16(plan, a_pairs, job->a, job->lda, job->transpose_a, i0, rows, p0, depth);
                macro_kernel_bf16(plan, pairs, a_pairs, b_block, job->c + i0 * job->ldc + col0, job->ldc,
                                  rows, cols, bias, load_c);
            }
        }
        return;
    }
    const size_t kc = k_block(plan, job->k);
    for (size_t p0 = 0; p0 < job->k; p0 += kc) {
        const size_t depth = min_size(kc, job->k - p0);
        const bool first = p0 == 0;
        const bool load_c = !first || job->accumulate;
        const float *bias = first && job->bias ? job->bias + col0 : NULL;
        /* The panels' block starts at (p0 / KC) KC npad = p0 npad floats. */
        const float *b_block = job->b_panels ? job->b_panels + p0 * job->npad + col0 * depth : b_packed;
        if (!job->b_panels) pack_b(plan, b_packed, job->b, job->ldb, job->transpose_b, p0, depth, col0, cols);
        for (size_t i0 = row0; i0 < row_end; i0 += block_rows) {
            const size_t rows = min_size(block_rows, row_end - i0);
            pack_a(plan, a_packed, job->a, job->lda, job->transpose_a, i0, rows, p0, depth);
            macro_kernel(plan, depth, a_packed, b_block, job->c + i0 * job->ldc + col0, job->ldc, rows, cols,
                         bias, load_c);
        }
    }
}

/* Tiles [begin, end) of a product on thread `thread` (a bnmlp_range_function). */
static void gemm_tiles(void *arg, size_t begin, size_t end, size_t thread) {
    for (size_t task = begin; task < end; task++) gemm_task(arg, task, thread);
}

/* Products with fewer multiply-adds than this run on the calling thread only. */
#define THREADING_MIN_MADDS (1u << 19)
/* The direct path takes thin products (n < DIRECT_MIN_N: a packed NR-wide panel would be mostly
 * padding; m or k < DIRECT_MIN_SIDE: too little reuse to pay for packing) and tiny ones (at most
 * DIRECT_MAX_MADDS multiply-adds). Measured on Zen 4 (AVX2 plan): packing wins from about
 * 16x16x16 up, the direct path below and on every tutorial-sized product. */
#define DIRECT_MAX_MADDS 2048u
#define DIRECT_MIN_SIDE 4u
#define DIRECT_MIN_N 8u

bool bnmlp_gemm_is_direct(size_t m, size_t n, size_t k) {
    if (m < DIRECT_MIN_SIDE || n < DIRECT_MIN_N || k < DIRECT_MIN_SIDE) return true;
    /* m n k <= DIRECT_MAX_MADDS without overflow. */
    return m <= DIRECT_MAX_MADDS && n <= DIRECT_MAX_MADDS / m && k <= DIRECT_MAX_MADDS / (m * n);
}

bool bnmlp_gemm_bf16_is_direct(size_t m, size_t n, size_t k) {
    /* A few long rows (a one-unit head's weight gradient, m = 1) stay packed: the packers round
     * their B once, on vcvtne2ps2bf16 where the CPU has it, faster than the direct path rounds it
     * (measured on Zen 5: 1 x 1024 x 256 packed ~32 us, direct ~36-50 us). */
    /* m n k > DIRECT_MAX_MADDS without overflow. */
    const bool many = m > 0 && (k > DIRECT_MAX_MADDS / m || n > DIRECT_MAX_MADDS / (m * k));
    if (m < DIRECT_MIN_SIDE && n >= DIRECT_MIN_N && k >= DIRECT_MIN_SIDE && many) return false;
    return bnmlp_gemm_is_direct(m, n, k);
}

/* Direct products with at least this many multiply-adds split their rows over threads. */
#define DIRECT_THREADING_MIN_MADDS (1u << 17)
/* Rows of C a thread's piece of a direct product holds at least. */
#define DIRECT_ROWS_PIECE 16u

/* A direct product, as the pieces of its rows see it. */
typedef struct direct_job {
    bnmlp_gemm_direct_function direct;
    bool transpose_a, transpose_b, accumulate;
    size_t n, k, lda, ldb, ldc;
    const float *a, *b, *bias;
    float *c;
} direct_job;

/* Rows [begin, end) of a direct product (a bnmlp_range_function). Every element of C is its own
 * sum, whichever rows share the call, so pieces change no bit. */
static void direct_rows_range(void *arg, size_t begin, size_t end, size_t thread) {
    (void)thread;
    const direct_job *job = arg;
    const float *a = job->a + (job->transpose_a ? begin : begin * job->lda);
    job->direct(job->transpose_a, job->transpose_b, end - begin, job->n, job->k, a, job->lda, job->b,
                job->ldb, job->bias, job->accumulate, job->c + begin * job->ldc, job->ldc);
}

/* C = [C] [+ bias] when there is nothing to sum (k = 0). */
static void gemm_empty_sum(size_t m, size_t n, const float *bias, bool accumulate, float *c, size_t ldc) {
    for (size_t i = 0; i < m; i++) {
        float *c_row = c + i * ldc;
        for (size_t j = 0; j < n; j++) {
            float s = accumulate ? c_row[j] : 0.0f;
            if (bias) s += bias[j];
            c_row[j] = s;
        }
    }
}

/* Whether scratch (scratch_floats) holds the packed blocks of threads threads (*per_thread each). */
static bool scratch_covers(const bnmlp_gemm_plan *plan, size_t m, size_t n, size_t k, size_t threads,
                           const float *scratch, size_t scratch_floats, size_t *per_thread) {
    size_t needed;
    return per_thread_floats(plan, m, n, k, per_thread) && bnmlp_size_mul(*per_thread, threads, &needed) &&
           needed <= SIZE_MAX - ALIGN_FLOATS && needed + ALIGN_FLOATS <= scratch_floats && scratch;
}

/* bnmlp_gemm (bf16 false) or bnmlp_gemm_bf16. */
static bnmlp_status gemm_run(const bnmlp_gemm_plan *plan, bnmlp_threadpool *pool, float *scratch,
                             size_t scratch_floats, bool transpose_a, bool transpose_b, size_t m, size_t n,
                             size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                             const float *b_panels, const float *bias, bool accumulate, float *c, size_t ldc,
                             bool bf16) {
    if (!plan) return BNMLP_ERR_NULL_ARGUMENT;
    if (bf16 && (!plan->micro_kernel_bf16 || !plan->pack_bf16_interleaved || !plan->pack_bf16_rows))
        return BNMLP_ERR_INVALID_ARGUMENT;
    if (m == 0 || n == 0) return BNMLP_OK;
    if (!c || (k > 0 && (!a || !b))) return BNMLP_ERR_NULL_ARGUMENT;
    if (ldc < n) return BNMLP_ERR_INVALID_ARGUMENT;
    if (k > 0 && (lda < (transpose_a ? m : k) || ldb < (transpose_b ? k : n)))
        return BNMLP_ERR_INVALID_ARGUMENT;
    if (k == 0) {
        gemm_empty_sum(m, n, bias, accumulate, c, ldc);
        return BNMLP_OK;
    }
    const size_t threads = n * m > THREADING_MIN_MADDS / k ? bnmlp_threadpool_threads(pool) : 1;
    size_t per_thread = 0;
    /* bf16 keeps bnmlp_gemm_scratch_floats' contract on every path (the direct one uses none). */
    if (bf16 && !scratch_covers(plan, m, n, k, threads, scratch, scratch_floats, &per_thread))
        return BNMLP_ERR_INVALID_ARGUMENT;
    if (bf16 ? plan->gemm_direct_bf16 && bnmlp_gemm_bf16_is_direct(m, n, k) : bnmlp_gemm_is_direct(m, n, k)) {
        const bnmlp_gemm_direct_function direct =
            bf16 ? plan->gemm_direct_bf16 : BNMLP_ISA_ENTRY(plan->isa, gemm_direct);
        const bool threaded = pool && n * m > DIRECT_THREADING_MIN_MADDS / k;
        if (!threaded) { /* every product of a tiny model: one call, no job, no split */
            direct(transpose_a, transpose_b, m, n, k, a, lda, b, ldb, bias, accumulate, c, ldc);
            return BNMLP_OK;
        }
        /* Thin products of a big model (a one-unit head's) split their rows over the threads. */
        const direct_job job = {.direct = direct,
                                .transpose_a = transpose_a,
                                .transpose_b = transpose_b,
                                .accumulate = accumulate,
                                .n = n,
                                .k = k,
                                .lda = lda,
                                .ldb = ldb,
                                .ldc = ldc,
                                .a = a,
                                .b = b,
                                .bias = bias,
                                .c = c};
        const bnmlp_kernel_context threads_only = {.plan = *plan, .pool = pool};
        bnmlp_parallel_for(&threads_only, m, DIRECT_ROWS_PIECE, direct_rows_range, (void *)&job);
        return BNMLP_OK;
    }

    gemm_job job = {.plan = plan, .a = a, .b = b, .bias = bias, .c = c, .m = m, .n = n, .k = k};
    job.b_panels = b_panels, job.npad = round_up(n, plan->nr);
    job.transpose_a = transpose_a, job.transpose_b = transpose_b, job.accumulate = accumulate,
    job.bf16 = bf16;
    job.lda = lda, job.ldb = ldb, job.ldc = ldc;
    if (!scratch_covers(plan, m, n, k, threads, scratch, scratch_floats, &job.per_thread))
        return BNMLP_ERR_INVALID_ARGUMENT;
    job.scratch = (float *)(((uintptr_t)scratch + 63u) & ~(uintptr_t)63u);
    job.a_floats = round_up(min_size(plan->mc, round_up(m, plan->mr)) * k_block(plan, k), ALIGN_FLOATS);

    /* Output tiles: columns in NC blocks, split further until every thread has one; rows split
     * only when there are too few columns. Neither changes any element's value. */
    job.col_tasks = max_size(ceil_div(n, plan->nc), threads);
    job.col_tasks = min_size(job.col_tasks, ceil_div(n, plan->nr));
    job.cols_per_task = round_up(ceil_div(n, job.col_tasks), plan->nr);
    job.col_tasks = ceil_div(n, job.cols_per_task);
    job.row_tasks = min_size(ceil_div(threads, job.col_tasks), ceil_div(m, plan->mr));
    job.rows_per_task = round_up(ceil_div(m, job.row_tasks), plan->mr);
    const size_t tasks = job.row_tasks * job.col_tasks;
    /* A tile or more per piece; a product too small to thread is one piece on this thread. */
    const bnmlp_kernel_context threads_only = {.plan = *plan, .pool = pool};
    bnmlp_parallel_for(&threads_only, tasks, threads == 1 ? tasks : 1, gemm_tiles, &job);
    return BNMLP_OK;
}

bnmlp_status bnmlp_gemm(const bnmlp_gemm_plan *plan, bnmlp_threadpool *pool, float *scratch,
                        size_t scratch_floats, bool transpose_a, bool transpose_b, size_t m, size_t n,
                        size_t k, const float *a, size_t lda, const float *b, size_t ldb, const float *bias,
                        bool accumulate, float *c, size_t ldc) {
    return gemm_run(plan, pool, scratch, scratch_floats, transpose_a, transpose_b, m, n, k, a, lda, b, ldb,
                    NULL, bias, accumulate, c, ldc, false);
}

bnmlp_status bnmlp_gemm_bf16(const bnmlp_gemm_plan *plan, bnmlp_threadpool *pool, float *scratch,
                             size_t scratch_floats, bool transpose_a, bool transpose_b, size_t m, size_t n,
                             size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                             const float *bias, bool accumulate, float *c, size_t ldc) {
    return gemm_run(plan, pool, scratch, scratch_floats, transpose_a, transpose_b, m, n, k, a, lda, b, ldb,
                    NULL, bias, accumulate, c, ldc, true);
}

bnmlp_status bnmlp_gemm_panels(const bnmlp_gemm_plan *plan, bnmlp_threadpool *pool, float *scratch,
                               size_t scratch_floats, bool transpose_a, bool transpose_b, size_t m, size_t n,
                               size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                               const float *b_panels, const float *bias, bool accumulate, float *c,
                               size_t ldc) {
    return gemm_run(plan, pool, scratch, scratch_floats, transpose_a, transpose_b, m, n, k, a, lda, b, ldb,
                    b_panels, bias, accumulate, c, ldc, false);
}

bnmlp_status bnmlp_gemm_bf16_panels(const bnmlp_gemm_plan *plan, bnmlp_threadpool *pool, float *scratch,
                                    size_t scratch_floats, bool transpose_a, bool transpose_b, size_t m,
                                    size_t n, size_t k, const float *a, size_t lda, const float *b,
                                    size_t ldb, const float *b_panels, const float *bias, bool accumulate,
                                    float *c, size_t ldc) {
    return gemm_run(plan, pool, scratch, scratch_floats, transpose_a, transpose_b, m, n, k, a, lda, b, ldb,
                    b_panels, bias, accumulate, c, ldc, true);
}
