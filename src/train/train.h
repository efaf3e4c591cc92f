/* train.h - internal: the training tier's shared step, used by train_step and fit. */
#ifndef BNMLP_TRAIN_H
#define BNMLP_TRAIN_H

#include "bnmlp.h"

/* Loss, number of correct predictions and gradients of an already checked batch (x rows x input width, y labels) in
 * training mode; the moving statistics are not updated. BNMLP_ERR_DIVERGED (and the gradient
 * arena undefined) when the loss or a gradient is not finite. */
bnmlp_status bnmlp_train_compute(bnmlp_model *model, const float *x, const float *y, size_t rows,
                                 double *loss, size_t *correct);

/* bnmlp_train_compute, then the SGD update and the moving-statistics update; on error (also an
 * update that would make a weight or velocity overflow) nothing observable changes. */
bnmlp_status bnmlp_train_step_checked(bnmlp_model *model, const float *x, const float *y, size_t rows,
                                      const bnmlp_sgd_config *optimizer, double *loss, size_t *correct);

/* Mean loss and accuracy of checked (x, y) in inference mode, in chunks of the maximum batch. */
void bnmlp_train_evaluate_checked(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                  double *loss, double *accuracy);

#endif /* BNMLP_TRAIN_H */
