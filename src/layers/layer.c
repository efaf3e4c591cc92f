/* layer.c - the list of layer kinds and the table of named arrays. */
#include "layers/layer.h"

const bnmlp_array_info bnmlp_arrays[BNMLP_ARRAY_COUNT] = {
    [BNMLP_ARRAY_KERNEL] = {BNMLP_BLOCK_PARAMS, BNMLP_WEIGHT_KERNEL, true, false, "kernel"},
    [BNMLP_ARRAY_BIAS] = {BNMLP_BLOCK_PARAMS, BNMLP_WEIGHT_BIAS, false, false, "bias"},
    [BNMLP_ARRAY_GAMMA] = {BNMLP_BLOCK_PARAMS, BNMLP_WEIGHT_GAMMA, false, false, "gamma"},
    [BNMLP_ARRAY_BETA] = {BNMLP_BLOCK_PARAMS, BNMLP_WEIGHT_BETA, false, false, "beta"},
    [BNMLP_ARRAY_MOVING_MEAN] = {BNMLP_BLOCK_STATS, BNMLP_WEIGHT_MOVING_MEAN, false, false, "moving_mean"},
    [BNMLP_ARRAY_MOVING_VARIANCE] = {BNMLP_BLOCK_STATS, BNMLP_WEIGHT_MOVING_VARIANCE, false, true,
                                     "moving_variance"},
    [BNMLP_ARRAY_BIASED_MEAN] = {BNMLP_BLOCK_STATS, -1, false, false, "biased_mean"},
    [BNMLP_ARRAY_BIASED_VARIANCE] = {BNMLP_BLOCK_STATS, -1, false, true, "biased_variance"},
    [BNMLP_ARRAY_INT8_KERNEL] = {BNMLP_BLOCK_STATS, -1, false, false, "int8_kernel"},
    [BNMLP_ARRAY_WEIGHT_SCALE] = {BNMLP_BLOCK_STATS, -1, false, true, "weight_scale"},
    [BNMLP_ARRAY_INPUT_SCALE] = {BNMLP_BLOCK_STATS, -1, false, true, "input_scale"},
    [BNMLP_ARRAY_BATCH_MEAN] = {BNMLP_BLOCK_CACHES, -1, false, false, "batch_mean"},
    [BNMLP_ARRAY_BATCH_VARIANCE] = {BNMLP_BLOCK_CACHES, -1, false, false, "batch_variance"},
    [BNMLP_ARRAY_BATCH_RSTD] = {BNMLP_BLOCK_CACHES, -1, false, false, "batch_rstd"},
    [BNMLP_ARRAY_INT8_PACKED] = {BNMLP_BLOCK_CACHES, -1, false, false, "int8_packed"},
};

/* Every kind, indexed by bnmlp_layer_kind. */
static const bnmlp_layer_ops *const kinds[] = {
    [BNMLP_LAYER_DENSE] = &bnmlp_dense_ops,         [BNMLP_LAYER_ACTIVATION] = &bnmlp_activation_ops,
    [BNMLP_LAYER_BATCHNORM] = &bnmlp_batchnorm_ops, [BNMLP_LAYER_NORMALIZATION] = &bnmlp_normalization_ops,
    [BNMLP_LAYER_DROPOUT] = &bnmlp_dropout_ops,     [BNMLP_LAYER_DENSE_INT8] = &bnmlp_dense_int8_ops,
};

const bnmlp_layer_ops *bnmlp_layer_ops_of(bnmlp_layer_kind kind) {
    return (size_t)kind < sizeof kinds / sizeof kinds[0] ? kinds[kind] : NULL;
}
