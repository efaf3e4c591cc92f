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

/* The mean BCE of the last forward of x (n outputs `output`) against y: from the logit behind
 * a final sigmoid, else from the clipped probabilities. delta (n), if not NULL, receives its
 * gradient with respect to the logit or output; *top the layer count backward starts below. */
double bnmlp_train_loss(const bnmlp_model *model, const float *x, const float *output, const float *y,
                        size_t n, float *delta, size_t *top);

/* Mean loss and accuracy of checked (x, y) in inference mode, in chunks of the maximum batch. */
void bnmlp_train_evaluate_checked(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                  double *loss, double *accuracy);

#endif /* BNMLP_TRAIN_H */
