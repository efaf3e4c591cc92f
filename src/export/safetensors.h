/*
 * safetensors.h - internal: what the safetensors writer (safetensors.c) and reader
 * (safetensors_read.c) share: the table of tensor names, as PyTorch's nn.Sequential names the
 * state of each layer, and the text of a model's architecture that __metadata__ carries
 * ("bnmlp.layers"). docs/deploy.md documents both. Not part of the public API.
 *
 * A layer's index in the model is its index in nn.Sequential (activations and dropout count
 * too but hold no tensors); its tensors are "{index}.{suffix}" for each row of its kind below.
 */
#ifndef BNMLP_EXPORT_SAFETENSORS_H
#define BNMLP_EXPORT_SAFETENSORS_H

#include "model/model.h"

/* Element types of the format that the library writes and reads. */
typedef enum bnmlp_st_dtype {
    BNMLP_ST_F32 = 0, /* "F32": the layers' arrays */
    BNMLP_ST_I64      /* "I64": BatchNorm1d's num_batches_tracked (a 0-dimensional tensor) */
} bnmlp_st_dtype;

/* One tensor of a layer kind. */
typedef struct bnmlp_st_name {
    bnmlp_layer_kind kind; /* the layers that have it */
    const char *suffix;    /* "weight", "running_var", ... */
    int array;             /* the bnmlp_array it holds, or -1 for the layer's step count (I64) */
    bool transposed;       /* stored (out, in): the transpose of the (in, out) kernel */
    int group;             /* 0: written when the layer has the array; 1: BatchNorm1d's affine
                              pair, written when the layer has either array, the absent one as
                              fill (PyTorch has weight and bias both or neither) */
    float fill;            /* the value of an absent array written for its group (gamma 1, beta 0) */
} bnmlp_st_name;

extern const bnmlp_st_name bnmlp_st_names[];
extern const size_t bnmlp_st_name_count;

/* True when layer holds a tensor named by row: the rule of the row's group. */
bool bnmlp_st_layer_has(const bnmlp_layer *layer, const bnmlp_st_name *row);

/* Elements of row's tensor in layer (0 for the 0-dimensional step count: it is a scalar). */
size_t bnmlp_st_elements(const bnmlp_layer *layer, const bnmlp_st_name *row);

/* Writes the "bnmlp.layers" text of model's layers into text (size bytes, terminated when
 * size > 0); returns its length as snprintf does. Records are separated by ';', each is the
 * kind's prefix, then " width=N" and " name=value" for every file field of the kind
 * (file_fields.c): integers in decimal, floats with 9 significant digits. */
size_t bnmlp_st_describe_layers(const bnmlp_model *model, char *text, size_t size);

/* Appends to model (unbuilt) the layers that text (length bytes) describes, in the grammar of
 * bnmlp_st_describe_layers (fields may be missing: their defaults; unknown names, bad values and
 * a width that differs from the layer's are refused). BNMLP_ERR_FORMAT with *detail naming the
 * record, or the status of a refused layer (BNMLP_ERR_INVALID_ARGUMENT, BNMLP_ERR_OVERFLOW,
 * BNMLP_ERR_OUT_OF_MEMORY). */
bnmlp_status bnmlp_st_add_layers(bnmlp_model *model, const char *text, size_t length,
                                 bnmlp_error_detail *detail);

#endif /* BNMLP_EXPORT_SAFETENSORS_H */
