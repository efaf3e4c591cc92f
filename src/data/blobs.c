/*
 * blobs.c - scikit-learn 1.2's make_blobs with an integer number of centers, on numpy's legacy
 * RandomState stream: centers = uniform(box_min, box_max, size=(centers, n_features)); per
 * center i, normal(loc=centers[i], scale=cluster_std, size=(count_i, n_features)); then
 * sklearn.utils.shuffle. Computed in double and rounded once to float32.
 * Recipe: reference/semantics.md sections 5 and 8, sklearn/datasets/_samples_generator.py.
 */
#include "data/data.h"

#include <math.h>
#include <stdint.h>

/* low + range * u and loc + scale * gauss must round as numpy does, without a fused
 * multiply-add. gcc does not contract in ISO C mode (-std=c11); clang is told so explicitly. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* BNMLP_OK when every value of config is in range (sizes that fit are checked apart):
 * n_samples, n_features and centers > 0, centers a valid int32 label count, cluster_std finite
 * and >= +0 (numpy refuses -0.0 as "scale < 0"), a finite box with min < max and a finite width
 * (numpy's uniform raises OverflowError otherwise). */
static bnmlp_status check_blobs_config(const bnmlp_blobs_config *config) {
    if (!bnmlp_allocator_is_valid(config->allocator)) return BNMLP_ERR_NULL_ARGUMENT;
    if (config->n_samples == 0 || config->n_features == 0 || config->centers == 0 ||
        config->centers > (size_t)INT32_MAX)
        return BNMLP_ERR_INVALID_ARGUMENT;
    double std = config->cluster_std, low = config->center_box_min, high = config->center_box_max;
    if (!isfinite(std) || signbit(std)) return BNMLP_ERR_INVALID_ARGUMENT;
    if (!isfinite(low) || !isfinite(high) || !(low < high) || !isfinite(high - low))
        return BNMLP_ERR_INVALID_ARGUMENT;
    return BNMLP_OK;
}

/* centers (n_centers, n_features) row-major = RandomState.uniform(low, high, size=...):
 * low + (high - low) * random_sample(), in C order. */
static void draw_centers(bnmlp_random *rng, const bnmlp_blobs_config *config, double *centers) {
    double low = config->center_box_min, range = config->center_box_max - config->center_box_min;
    size_t count = config->centers * config->n_features;
    for (size_t i = 0; i < count; i++) centers[i] = low + range * bnmlp_random_double(rng);
}

/* Fills made (n_samples x n_features) center by center, unshuffled: center i gets
 * n_samples / centers rows, one more for the first n_samples % centers centers, each row
 * normal(loc=centers[i], scale=cluster_std) drawn feature by feature, label i. */
static void draw_points(bnmlp_random *rng, const bnmlp_blobs_config *config, const double *centers,
                        bnmlp_dataset *made) {
    size_t cols = config->n_features, per_center = config->n_samples / config->centers;
    size_t extra = config->n_samples % config->centers, row = 0;
    for (size_t c = 0; c < config->centers; c++) {
        size_t count = per_center + (c < extra ? 1 : 0);
        const double *loc = centers + c * cols;
        for (size_t r = 0; r < count; r++, row++) {
            for (size_t f = 0; f < cols; f++) {
                made->x[row * cols + f] = (float)bnmlp_random_normal(rng, loc[f], config->cluster_std);
            }
            made->labels[row] = (int32_t)c;
        }
    }
}

/* Replaces *made by its rows in the order of one RandomState.shuffle of arange(n) (as
 * sklearn.utils.shuffle(X, y, random_state=generator)); on failure *made is freed. */
static bnmlp_status shuffle_rows(bnmlp_random *rng, const bnmlp_allocator *allocator, bnmlp_dataset *made) {
    size_t *order = bnmlp_data_shuffled_indices(allocator, rng, made->n_samples);
    bnmlp_dataset shuffled = {0};
    bnmlp_status status =
        order ? bnmlp_data_gather_rows(made, order, 0, made->n_samples, &shuffled) : BNMLP_ERR_OUT_OF_MEMORY;
    bnmlp_release(allocator, order);
    bnmlp_dataset_free(made);
    *made = shuffled;
    return status;
}

/* make_blobs(n_samples, n_features, centers, cluster_std, center_box, shuffle, random_state). */
bnmlp_status bnmlp_make_blobs(const bnmlp_blobs_config *config, bnmlp_dataset *out) {
    if (!config || !out) return BNMLP_ERR_NULL_ARGUMENT;
    bnmlp_status status = check_blobs_config(config);
    if (status != BNMLP_OK) return status;
    size_t center_values, center_bytes;
    status = bnmlp_data_check_sizes(config->n_samples, config->n_features);
    if (status != BNMLP_OK) return status;
    if (!bnmlp_size_mul(config->centers, config->n_features, &center_values) ||
        !bnmlp_size_mul(center_values, sizeof(double), &center_bytes))
        return BNMLP_ERR_OVERFLOW;

    const bnmlp_allocator *allocator = config->allocator;
    double *centers = bnmlp_alloc(allocator, center_bytes);
    if (!centers) return BNMLP_ERR_OUT_OF_MEMORY;
    bnmlp_dataset made = {0};
    status = bnmlp_data_allocate(allocator, config->n_samples, config->n_features, &made);
    if (status != BNMLP_OK) {
        bnmlp_release(allocator, centers);
        return status;
    }
    bnmlp_random rng;
    bnmlp_random_seed(&rng, config->random_state);
    draw_centers(&rng, config, centers);
    draw_points(&rng, config, centers, &made);
    bnmlp_release(allocator, centers);
    if (config->shuffle) {
        status = shuffle_rows(&rng, allocator, &made);
        if (status != BNMLP_OK) return status;
    }
    *out = made;
    return BNMLP_OK;
}
