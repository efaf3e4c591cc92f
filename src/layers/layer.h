/*
 * layer.h - internal: layer kinds as descriptors.
 *
 * Every kind of layer (dense, activation, batch norm, normalization, dropout) is one bnmlp_layer_ops row in one list
 * (bnmlp_layer_ops_of). The row says what the kind is called, which named arrays a layer of it
 * holds, how they start, what scratch and how many training rows it needs, and how it runs
 * forward and backward over raw buffers. The model owns the buffers and only sequences the
 * layers: it places each named array in its block (parameters, statistics, caches), resolves
 * them into a bnmlp_layer_pass, and calls the row. The model never does a layer's arithmetic
 * and never switches over kinds.
 */
#ifndef BNMLP_LAYER_H
#define BNMLP_LAYER_H

#include "bnmlp.h"
#include "kernels/kernels.h"

/* The named arrays a layer may hold. Which exist depends on its kind and configuration. */
typedef enum bnmlp_array {
    BNMLP_ARRAY_KERNEL = 0,      /* dense W (in, out): parameter */
    BNMLP_ARRAY_BIAS,            /* dense b (out): parameter */
    BNMLP_ARRAY_GAMMA,           /* batch-norm scale (out): parameter */
    BNMLP_ARRAY_BETA,            /* batch-norm offset (out): parameter */
    BNMLP_ARRAY_MOVING_MEAN,     /* batch norm, normalization (out): statistic */
    BNMLP_ARRAY_MOVING_VARIANCE, /* batch norm, normalization (out): statistic, >= 0 */
    BNMLP_ARRAY_BIASED_MEAN,     /* debiased batch norm: the mean's accumulator (out): statistic */
    BNMLP_ARRAY_BIASED_VARIANCE, /* debiased batch norm: the variance's accumulator (out): statistic, >= 0 */
    BNMLP_ARRAY_INT8_KERNEL,     /* int8 dense: the codes (in, out), integers in [-127, 127]: statistic */
    BNMLP_ARRAY_WEIGHT_SCALE,    /* int8 dense: s_w (out), >= 0: statistic */
    BNMLP_ARRAY_INPUT_SCALE,     /* int8 dense: s_x (1), >= 0: statistic */
    BNMLP_ARRAY_BATCH_MEAN,      /* batch norm (out): cache of the last training-mode forward */
    BNMLP_ARRAY_BATCH_VARIANCE,  /* batch norm (out, biased): cache */
    BNMLP_ARRAY_BATCH_RSTD,      /* batch norm (out): cache */
    BNMLP_ARRAY_INT8_PACKED,     /* int8 dense: the packed product (kernels/int8.h) in the floats'
                                    bytes: cache, derived from the statistics above */
    BNMLP_ARRAY_COUNT
} bnmlp_array;

/* The block of the model an array lives in. */
typedef enum bnmlp_block {
    BNMLP_BLOCK_PARAMS = 0, /* the parameter arena: the optimizer updates it, it has gradients */
    BNMLP_BLOCK_STATS,      /* moving statistics: saved, never touched by the optimizer */
    BNMLP_BLOCK_CACHES      /* per-pass caches: neither saved nor updated */
} bnmlp_block;

/* What every array is: its block, its public name (bnmlp_weight; -1 when not public), whether
 * weight decay's decay_kernels_only still decays it, and whether it must stay >= 0. Indexed by
 * bnmlp_array; parameters come first, in bnmlp_weight order. */
typedef struct bnmlp_array_info {
    bnmlp_block block; /* where it lives */
    int weight;        /* the bnmlp_weight that names it, or -1 */
    bool kernel;       /* a dense kernel: decayed even with decay_kernels_only */
    bool non_negative; /* a variance: a file or a caller may not make it negative */
    const char *name;  /* for messages: "kernel", "moving_variance", ... */
} bnmlp_array_info;

extern const bnmlp_array_info bnmlp_arrays[BNMLP_ARRAY_COUNT];

/* Where one array of a layer lives in its block: floats [offset, offset + length); length 0
 * means the layer has no such array. */
typedef struct bnmlp_slice {
    size_t offset; /* first float in the block */
    size_t length; /* floats; 0 when absent */
} bnmlp_slice;

struct bnmlp_layer_ops;

/* One layer: its kind's row, its widths and configuration, and where its arrays live. */
typedef struct bnmlp_layer {
    const struct bnmlp_layer_ops *ops; /* the kind's row */
    bnmlp_layer_kind kind;             /* ops->kind, kept for the file and layer_info */
    size_t in;                         /* input width */
    size_t out;                        /* output width */
    bool trainable;                    /* false: frozen */
    union {                            /* the kind's configuration */
        struct {
            bool use_bias;                 /* a bias array */
            bnmlp_initializer initializer; /* the kernel's initializer */
            bnmlp_precision precision;     /* its products' (the model's, bnmlp_model_set_precision) */
        } dense;
        struct {
            bnmlp_activation function; /* which activation */
            float alpha;               /* its parameter (leaky_relu's slope) */
        } activation;
        bnmlp_batchnorm_config batchnorm; /* batch norm's settings */
        struct {
            float rate;    /* the fraction of elements dropped, in [0, 1) */
            uint64_t seed; /* the key of its masks */
        } dropout;
    } config;
    bnmlp_slice arrays[BNMLP_ARRAY_COUNT]; /* each named array in its block (length 0: absent) */
    bnmlp_slice params;                    /* all of the layer's floats in the parameter arena */
    bool fuses_next;                       /* planned at build: ops->fuse_next took the next
                                              layer, so this layer's passes run it too (the
                                              model skips the next layer's own passes) */
    uint64_t steps;                        /* committed training steps of the layer so far (batch
                                              norm's t, dropout's mask step); saved in the model
                                              file */
    float *output;                         /* (max_batch, out) once built */
    float *data[BNMLP_ARRAY_COUNT];        /* each named array resolved in its block once built
                                              (NULL when absent or before build) */
    float *grad[BNMLP_ARRAY_COUNT];        /* the parameter arrays' gradients, likewise */
    float *panels[2];                      /* planned at build where the row asks for them
                                              (ops->panel_floats): its kernel packed ahead for the
                                              product of panel kind k (bnmlp_panel_kind), 64-byte
                                              aligned, zeroed at build; NULL: none. What they hold
                                              is the model's business (bnmlp_layer_pass.panels) */
} bnmlp_layer;

/* The products whose op(B) a layer's kernel may have packed ahead (gemm.h: panels). */
typedef enum bnmlp_panel_kind {
    BNMLP_PANEL_FORWARD = 0,   /* dense y = x w: op(B) = w (in, out) */
    BNMLP_PANEL_INPUT_GRADIENT /* dense dx = dy w^T: op(B) = w^T (out, in) */
} bnmlp_panel_kind;

/* The collective seam of a layer whose statistics are sums over the batch: adds count doubles
 * over every process in place (synchronized batch norm). NULL in one process. */
typedef void (*bnmlp_combine_function)(void *context, double *sums, size_t count);

/* Everything one forward or backward call of a layer works on, resolved by the model. */
typedef struct bnmlp_layer_pass {
    const bnmlp_kernel_context *kernels; /* instruction set, pool, GEMM scratch */
    const bnmlp_layer *layer;            /* configuration and widths */
    size_t index;                        /* the layer's position in the model (0 first) */
    size_t first_row;                    /* the global index of this process's first row: its
                                            offset in the global batch under a collective
                                            (bnmlp_model_share), else 0 */
    float *const *arrays;                /* each named array (BNMLP_ARRAY_COUNT), NULL when absent */
    float *const *grads;                 /* gradients of the parameter arrays, NULL elsewhere */
    const float *x;                      /* the layer's input (rows, in) */
    float *y;                            /* forward: its output (rows, out) */
    const float *dy;                     /* backward: gradient of its output (rows, out) */
    float *dx;                           /* backward: gradient of its input (rows, in), or NULL */
    size_t rows;                         /* rows of this process */
    size_t statistics_rows;              /* rows batch statistics are over (every process's when
                                            synchronized), for batch-norm layers */
    bool batch_statistics;               /* training mode on a trainable layer (or on any layer of
                                            a row that ignores trainable): batch norm's batch
                                            statistics, dropout's mask */
    void *scratch;                       /* the layer's scratch (ops->scratch_bytes), aligned for
                                            doubles */
    float *fused_output;                 /* a fused pair (ops->fuse_next), else NULL: the next
                                            layer's output (rows, out). Forward writes the next
                                            layer's output there (and need not write y); backward
                                            reads it, and dy is then the gradient of that output */
    bool panels;                         /* the layer's panels (layer->panels) hold its current
                                            kernel in its precision: its products may read them */
    bnmlp_combine_function combine;      /* the collective seam, or NULL */
    void *combine_context;               /* passed to combine */
} bnmlp_layer_pass;

/* A kind of layer. Functions a kind does not need are NULL. */
typedef struct bnmlp_layer_ops {
    bnmlp_layer_kind kind;  /* the public kind */
    const char *class_name; /* Keras's class name: "Dense" */
    const char *prefix;     /* Keras's default layer-name prefix: "dense" */
    /* True when a frozen layer of the kind behaves as a trainable one: it has nothing to freeze,
     * so training mode is training mode for it and its steps still count (dropout: Keras's
     * Dropout ignores trainable). False: a frozen layer runs as in inference mode. */
    bool ignores_trainable;
    /* True when the kind runs inference only (int8 dense): a model holding such a layer refuses
     * training calls (BNMLP_ERR_UNSUPPORTED) and never runs its backward. */
    bool inference_only;
    /* BNMLP_OK when layer's configuration (already in it) is valid for input width layer->in. */
    bnmlp_status (*check)(const bnmlp_layer *layer);
    /* The output width and the length of each named array of layer (in and config set; out too
     * for a kind whose width is configured, as dense's units); false on size_t overflow. */
    bool (*plan)(const bnmlp_layer *layer, size_t *out, size_t lengths[BNMLP_ARRAY_COUNT]);
    /* Initial values of a freshly built layer's arrays (zeros on entry); rng draws weights. */
    void (*initialize)(const bnmlp_layer *layer, float *const arrays[BNMLP_ARRAY_COUNT], bnmlp_random *rng);
    /* Bytes of per-pass scratch the layer needs (0: none); the model plans the largest. */
    size_t (*scratch_bytes)(const bnmlp_layer *layer);
    /* Floats of the kernel context's GEMM scratch its products need at max_batch rows on
     * threads threads; 0 on overflow (a layer without products: NULL). */
    size_t (*gemm_scratch)(const bnmlp_layer *layer, const bnmlp_gemm_plan *plan, size_t max_batch,
                           size_t threads);
    /* Floats of the panels of kind `kind` the layer wants planned at max_batch rows (gemm.h:
     * its kernel's op(B) packed ahead, enough for float32 and bf16), 0 for none: where its product
     * takes the packed path, and for the input gradient only when input_gradient (a first layer's
     * is never computed). NULL: never any. */
    size_t (*panel_floats)(const bnmlp_layer *layer, const bnmlp_gemm_plan *plan, size_t max_batch,
                           bnmlp_panel_kind kind, bool input_gradient);
    /* Packs into layer->panels the part that comes from elements [from, to) of kernel (a copy of
     * the layer's BNMLP_ARRAY_KERNEL, in its layout), in the layer's precision; disjoint ranges
     * may run concurrently (bnmlp_gemm_pack_panels). */
    void (*pack_panels)(const bnmlp_layer *layer, const bnmlp_gemm_plan *plan, const float *kernel,
                        size_t from, size_t to);
    /* The fewest rows a training-mode batch needs (NULL: 1). */
    size_t (*min_training_rows)(const bnmlp_layer *layer);
    /* pass->y = the layer applied to pass->x. */
    void (*forward)(const bnmlp_layer_pass *pass);
    /* True when the layer's passes can run next (the layer right after it, of the same width)
     * inside their own: then the model, when it runs both layers in one walk, calls only this
     * layer's forward and backward with pass->fused_output (the next layer's output), and skips
     * the next layer's, with the very bits the two layers' passes give (batch norm + ReLU). NULL:
     * never. */
    bool (*fuse_next)(const bnmlp_layer *layer, const bnmlp_layer *next);
    /* Parameter gradients += from pass->dy (and pass->x, the forward's output in pass->y); and
     * pass->dx = the input gradient unless NULL. Follows a forward of the same input. A gradient
     * array whose bit is set in writes_grads is written instead (=), every element on every call:
     * the model does not zero it first. */
    void (*backward)(const bnmlp_layer_pass *pass);
    /* Bit k set: backward writes the gradient of array k (bnmlp_array) whole rather than adding
     * to it, with the very bits that adding to a zeroed array gives (no -0.0 where a sum from
     * +0.0 would give +0.0); 0: every gradient is added to a zeroed array. */
    unsigned writes_grads;
    /* After a training-mode forward with batch statistics: the statistics' update. apply false
     * only checks, apply true also writes (the model applies it to a staging copy of its
     * statistics); true when every new value is (would be) finite. NULL: nothing to update. */
    bool (*update_statistics)(const bnmlp_layer_pass *pass, bool apply);
    /* After a caller replaced array `array` of the layer: keeps hidden state consistent with it
     * (NULL: nothing to do). */
    void (*array_set)(const bnmlp_layer *layer, float *const arrays[BNMLP_ARRAY_COUNT], bnmlp_array array);
    /* After every saved array of the layer was written at once (a file load, set_params): the
     * state derived from them (the int8 layer's packed product). NULL: nothing derived. */
    void (*derive)(const bnmlp_layer *layer, float *const arrays[BNMLP_ARRAY_COUNT]);
    /* Sets the layer's state from data (Keras's adapt): x (rows >= 1, layer->in), finite (checked
     * by the caller). Computes into memory from allocator and writes arrays only on success;
     * BNMLP_ERR_OUT_OF_MEMORY, or BNMLP_ERR_NOT_FINITE when a value would not be, with nothing
     * changed. NULL: the kind has nothing to adapt. */
    bnmlp_status (*adapt)(const bnmlp_layer *layer, float *const arrays[BNMLP_ARRAY_COUNT], const float *x,
                          size_t rows, const bnmlp_allocator *allocator);
    /* The layer's settings for a summary line, e.g. "relu" (NULL: none); writes at most size
     * bytes, terminated. */
    void (*describe)(const bnmlp_layer *layer, char *text, size_t size);
    /* True when the layer is, in inference mode, one scale and shift per feature,
     * y = scale * x + shift (batch norm with its moving statistics, normalization, dropout, a
     * linear activation); then scale and shift (layer->out doubles each) get them, computed from
     * arrays as the inference pass computes its factors (for folding: src/export/fold.c). False
     * (nothing written) for any other map; NULL: never. */
    bool (*inference_affine)(const bnmlp_layer *layer, float *const arrays[BNMLP_ARRAY_COUNT], double *scale,
                             double *shift);
} bnmlp_layer_ops;

/* The row of kind, or NULL for a value that is not a bnmlp_layer_kind. */
const bnmlp_layer_ops *bnmlp_layer_ops_of(bnmlp_layer_kind kind);

/* The rows (layer.c). */
extern const bnmlp_layer_ops bnmlp_dense_ops;
extern const bnmlp_layer_ops bnmlp_activation_ops;
extern const bnmlp_layer_ops bnmlp_batchnorm_ops;
extern const bnmlp_layer_ops bnmlp_normalization_ops;
extern const bnmlp_layer_ops bnmlp_dropout_ops;
extern const bnmlp_layer_ops bnmlp_dense_int8_ops;

#endif /* BNMLP_LAYER_H */
