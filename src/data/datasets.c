/*
 * datasets.c - scikit-learn 1.2's make_circles and make_moons, computed in double in the same
 * order of operations and rounded once to float32; copies, splits and conversion to tensors.
 * Recipe: reference/semantics.md sections 4 and 5, sklearn/datasets/_samples_generator.py.
 */
#include "data/data.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* np.pi: the double nearest to pi. */
static const double dataset_pi = 3.141592653589793;

/* Where the two groups of points lie: label 0 (outer) rows first, then label 1 (inner). */
typedef struct point_plan point_plan;

/* Computes point index (0 <= index < n_outer + n_inner, before shuffling) into xy[0], xy[1]. */
typedef void (*point_function)(const point_plan *plan, size_t index, double xy[2]);

struct point_plan {
    size_t n_outer;       /* points with label 0: n_samples / 2 */
    size_t n_inner;       /* points with label 1: the rest */
    double factor;        /* make_circles' inner radius (unused by make_moons) */
    point_function point; /* circle_point or moon_point */
};

/* Element i of np.linspace(0, stop, count, endpoint=False): i * (stop / count). */
static double linspace_open(double stop, size_t count, size_t i) {
    return (double)i * (stop / (double)count) + 0.0;
}

/* Element i of np.linspace(0, stop, count) (endpoint=True): i * (stop / (count - 1)), the last
 * element exactly stop; a single element is 0 * stop. */
static double linspace_closed(double stop, size_t count, size_t i) {
    if (count == 1) return (double)i * stop + 0.0;
    if (i == count - 1) return stop;
    return (double)i * (stop / (double)(count - 1)) + 0.0;
}

/* make_circles: outer circle (cos t, sin t), inner (cos t * factor, sin t * factor), t over
 * [0, 2 pi) without the endpoint. */
static void circle_point(const point_plan *plan, size_t index, double xy[2]) {
    if (index < plan->n_outer) {
        double t = linspace_open(2.0 * dataset_pi, plan->n_outer, index);
        xy[0] = cos(t);
        xy[1] = sin(t);
    } else {
        double t = linspace_open(2.0 * dataset_pi, plan->n_inner, index - plan->n_outer);
        xy[0] = cos(t) * plan->factor;
        xy[1] = sin(t) * plan->factor;
    }
}

/* make_moons: upper moon (cos t, sin t), lower moon (1 - cos t, 1 - sin t - 0.5), t over
 * [0, pi] with the endpoint. */
static void moon_point(const point_plan *plan, size_t index, double xy[2]) {
    if (index < plan->n_outer) {
        double t = linspace_closed(dataset_pi, plan->n_outer, index);
        xy[0] = cos(t);
        xy[1] = sin(t);
    } else {
        double t = linspace_closed(dataset_pi, plan->n_inner, index - plan->n_outer);
        xy[0] = 1.0 - cos(t);
        xy[1] = 1.0 - sin(t) - 0.5;
    }
}

/* See data.h. */
bnmlp_status bnmlp_data_check_sizes(size_t rows, size_t cols) {
    size_t count, bytes;
    if (!bnmlp_size_mul(rows, cols, &count) || !bnmlp_size_mul(count, sizeof(float), &bytes) ||
        !bnmlp_size_mul(rows, sizeof(int32_t), &bytes) || !bnmlp_size_mul(rows, sizeof(size_t), &bytes))
        return BNMLP_ERR_OVERFLOW;
    return BNMLP_OK;
}

/* See data.h. */
bnmlp_status bnmlp_data_allocate(const bnmlp_allocator *allocator, size_t rows, size_t cols,
                                 bnmlp_dataset *made) {
    const bnmlp_allocator *a = bnmlp_allocator_or_default(allocator);
    float *x = bnmlp_alloc(a, rows * cols * sizeof(float));
    int32_t *labels = bnmlp_alloc(a, rows * sizeof(int32_t));
    if (!x || !labels) {
        bnmlp_release(a, x);
        bnmlp_release(a, labels);
        return BNMLP_ERR_OUT_OF_MEMORY;
    }
    *made = (bnmlp_dataset){.x = x, .labels = labels, .n_samples = rows, .n_features = cols, .allocator = *a};
    return BNMLP_OK;
}

/* See data.h. */
size_t *bnmlp_data_shuffled_indices(const bnmlp_allocator *allocator, bnmlp_random *rng, size_t n) {
    size_t *order = bnmlp_alloc(allocator, n * sizeof(size_t));
    if (!order) return NULL;
    for (size_t i = 0; i < n; i++) order[i] = i;
    bnmlp_random_shuffle(rng, order, n);
    return order;
}

/* Fills made (n rows, 2 columns): row r is point order[r] (r itself without order) plus, when
 * noise > 0, 0.0 + noise * gauss drawn in C order, as X += normal(scale=noise, size=X.shape). */
static void fill_points(const point_plan *plan, const size_t *order, double noise, bnmlp_random *rng,
                        bnmlp_dataset *made) {
    for (size_t r = 0; r < made->n_samples; r++) {
        size_t index = order ? order[r] : r;
        double xy[2];
        plan->point(plan, index, xy);
        for (size_t c = 0; c < 2; c++) {
            double value = xy[c];
            if (noise > 0.0) value += bnmlp_random_normal(rng, 0.0, noise);
            made->x[r * 2 + c] = (float)value;
        }
        made->labels[r] = index < plan->n_outer ? 0 : 1;
    }
}

/* The part shared by make_circles and make_moons: checks n_samples and noise, seeds the
 * RandomState, shuffles the rows if asked, adds noise and writes *out only on success. */
static bnmlp_status generate(point_plan *plan, size_t n_samples, bool shuffle, double noise,
                             uint32_t random_state, const bnmlp_allocator *allocator, bnmlp_dataset *out) {
    if (!bnmlp_allocator_is_valid(allocator)) return BNMLP_ERR_NULL_ARGUMENT;
    if (n_samples == 0 || !(noise >= 0.0) || !isfinite(noise)) return BNMLP_ERR_INVALID_ARGUMENT;
    bnmlp_status status = bnmlp_data_check_sizes(n_samples, 2);
    if (status != BNMLP_OK) return status;
    plan->n_outer = n_samples / 2;
    plan->n_inner = n_samples - plan->n_outer;
    bnmlp_random rng;
    bnmlp_random_seed(&rng, random_state);
    bnmlp_dataset made = {0};
    status = bnmlp_data_allocate(allocator, n_samples, 2, &made);
    size_t *order =
        status == BNMLP_OK && shuffle ? bnmlp_data_shuffled_indices(allocator, &rng, n_samples) : NULL;
    if (status != BNMLP_OK || (shuffle && !order)) {
        bnmlp_dataset_free(&made);
        return BNMLP_ERR_OUT_OF_MEMORY;
    }
    fill_points(plan, order, noise, &rng, &made);
    bnmlp_release(allocator, order);
    *out = made;
    return BNMLP_OK;
}

/* make_circles(n_samples, shuffle, noise, random_state, factor); factor must be in [0, 1). */
bnmlp_status bnmlp_make_circles(const bnmlp_circles_config *config, bnmlp_dataset *out) {
    if (!config || !out) return BNMLP_ERR_NULL_ARGUMENT;
    if (!(config->factor >= 0.0 && config->factor < 1.0)) return BNMLP_ERR_INVALID_ARGUMENT;
    point_plan plan = {.factor = config->factor, .point = circle_point};
    return generate(&plan, config->n_samples, config->shuffle, config->noise, config->random_state,
                    config->allocator, out);
}

/* make_moons(n_samples, shuffle, noise, random_state). */
bnmlp_status bnmlp_make_moons(const bnmlp_moons_config *config, bnmlp_dataset *out) {
    if (!config || !out) return BNMLP_ERR_NULL_ARGUMENT;
    point_plan plan = {.factor = 0.0, .point = moon_point};
    return generate(&plan, config->n_samples, config->shuffle, config->noise, config->random_state,
                    config->allocator, out);
}

/* Frees both arrays and zeroes the struct; NULL is a no-op. */
void bnmlp_dataset_free(bnmlp_dataset *dataset) {
    if (!dataset) return;
    bnmlp_release(&dataset->allocator, dataset->x);
    bnmlp_release(&dataset->allocator, dataset->labels);
    *dataset = (bnmlp_dataset){0};
}

/* BNMLP_OK when dataset is non-NULL with both arrays, at least one row and one column, and
 * sizes that fit size_t. */
static bnmlp_status check_dataset(const bnmlp_dataset *dataset) {
    if (!dataset || !dataset->x || !dataset->labels) return BNMLP_ERR_NULL_ARGUMENT;
    if (dataset->n_samples == 0 || dataset->n_features == 0) return BNMLP_ERR_INVALID_ARGUMENT;
    return bnmlp_data_check_sizes(dataset->n_samples, dataset->n_features);
}

/* See data.h. */
bnmlp_status bnmlp_data_gather_rows(const bnmlp_dataset *source, const size_t *order, size_t start,
                                    size_t count, bnmlp_dataset *made) {
    size_t cols = source->n_features;
    bnmlp_status status = bnmlp_data_allocate(&source->allocator, count, cols, made);
    if (status != BNMLP_OK) return status;
    for (size_t r = 0; r < count; r++) {
        size_t row = order ? order[start + r] : start + r;
        memcpy(made->x + r * cols, source->x + row * cols, cols * sizeof(float));
        made->labels[r] = source->labels[row];
    }
    return BNMLP_OK;
}

/* Copies rows [0, n_first) and [n_first, n) (or, with order, the rows it lists in that order)
 * into *first and *rest, writing them only when both copies succeeded. */
static bnmlp_status two_parts(const bnmlp_dataset *dataset, const size_t *order, size_t n_first,
                              bnmlp_dataset *first, bnmlp_dataset *rest) {
    bnmlp_dataset made_first, made_rest;
    bnmlp_status status = bnmlp_data_gather_rows(dataset, order, 0, n_first, &made_first);
    if (status != BNMLP_OK) return status;
    status = bnmlp_data_gather_rows(dataset, order, n_first, dataset->n_samples - n_first, &made_rest);
    if (status != BNMLP_OK) {
        bnmlp_dataset_free(&made_first);
        return status;
    }
    *first = made_first;
    *rest = made_rest;
    return BNMLP_OK;
}

/* Checks the arguments of a split into two non-empty parts of sizes n_first and n - n_first. */
static bnmlp_status check_split(const bnmlp_dataset *dataset, size_t n_first, const bnmlp_dataset *first,
                                const bnmlp_dataset *rest) {
    if (!first || !rest) return BNMLP_ERR_NULL_ARGUMENT;
    bnmlp_status status = check_dataset(dataset);
    if (status != BNMLP_OK) return status;
    if (first == rest || n_first == 0 || n_first >= dataset->n_samples) return BNMLP_ERR_INVALID_ARGUMENT;
    return BNMLP_OK;
}

/* X[:n_first] into *first and X[n_first:] into *rest, as the tutorial splits its data. */
bnmlp_status bnmlp_dataset_split(const bnmlp_dataset *dataset, size_t n_first, bnmlp_dataset *first,
                                 bnmlp_dataset *rest) {
    bnmlp_status status = check_split(dataset, n_first, first, rest);
    if (status != BNMLP_OK) return status;
    return two_parts(dataset, NULL, n_first, first, rest);
}

/* train_test_split(test_size=n_test, random_state=seed, shuffle=True) of sklearn 1.2:
 * permutation = RandomState(seed).permutation(n); test = permutation[:n_test], train the rest. */
bnmlp_status bnmlp_dataset_train_test_split(const bnmlp_dataset *dataset, size_t n_test, uint32_t seed,
                                            bnmlp_dataset *train, bnmlp_dataset *test) {
    bnmlp_status status = check_split(dataset, n_test, test, train);
    if (status != BNMLP_OK) return status;
    bnmlp_random rng;
    bnmlp_random_seed(&rng, seed);
    size_t *order = bnmlp_data_shuffled_indices(&dataset->allocator, &rng, dataset->n_samples);
    if (!order) return BNMLP_ERR_OUT_OF_MEMORY;
    status = two_parts(dataset, order, n_test, test, train);
    bnmlp_release(&dataset->allocator, order);
    return status;
}

/* Copies the coordinates into a new n_samples x n_features tensor and the labels into a new
 * n_samples x 1 tensor of floats; *x and *y are written only when both exist. */
bnmlp_status bnmlp_dataset_to_tensors(const bnmlp_dataset *dataset, bnmlp_tensor **x, bnmlp_tensor **y) {
    if (!x || !y) return BNMLP_ERR_NULL_ARGUMENT;
    bnmlp_status status = check_dataset(dataset);
    if (status != BNMLP_OK) return status;
    if (x == y) return BNMLP_ERR_INVALID_ARGUMENT;
    size_t n = dataset->n_samples, cols = dataset->n_features;
    bnmlp_status status_x, status_y;
    bnmlp_tensor *made_x = bnmlp_tensor_create_with_allocator(n, cols, &dataset->allocator, &status_x);
    bnmlp_tensor *made_y = bnmlp_tensor_create_with_allocator(n, 1, &dataset->allocator, &status_y);
    if (!made_x || !made_y) {
        bnmlp_tensor_free(made_x);
        bnmlp_tensor_free(made_y);
        return made_x ? status_y : status_x;
    }
    memcpy(made_x->data, dataset->x, n * cols * sizeof(float));
    for (size_t r = 0; r < n; r++) made_y->data[r] = (float)dataset->labels[r];
    *x = made_x;
    *y = made_y;
    return BNMLP_OK;
}
