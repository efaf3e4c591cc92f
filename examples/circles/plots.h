/*
 * plots.h - the example's figures: the data set's scatter plot, each variant's learning curves
 * and the overlay of every variant's test accuracy.
 */
#ifndef CIRCLES_PLOTS_H
#define CIRCLES_PLOTS_H

#include <stdbool.h>
#include <stddef.h>

#include "bnmlp.h"
#include "stats.h"
#include "variant.h"

/* The data set as points coloured by class, like the tutorial's first figure; description (the
 * generator call) is the subtitle. Failures are reported with the path; false then. */
bool plot_dataset(const char *path, const bnmlp_dataset *dataset, const char *dataset_name,
                  const char *description);

/* Learning curves of one variant: training accuracy (as fit reports it) and test accuracy per
 * epoch, mean over runs with a +-1 sd band. subtitle says what was averaged. */
bool plot_variant_curves(const char *path, variant v, const accuracy_curves *curves, const char *subtitle);

/* Test accuracy per epoch of every variant (mean with a light +-1 sd band), one curve each;
 * curves[i] belongs to variants[i]. */
bool plot_test_overlay(const char *path, const variant *variants, const accuracy_curves *curves, size_t count,
                       const char *subtitle);

#endif /* CIRCLES_PLOTS_H */
