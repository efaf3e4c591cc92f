/* status.c - the explanation of every status code, and reporting one through a pointer. */
#include "core/core.h"

const char *bnmlp_status_string(bnmlp_status status) {
    switch (status) {
    case BNMLP_OK: return "success";
    case BNMLP_ERR_NULL_ARGUMENT: return "a required pointer argument was NULL";
    case BNMLP_ERR_INVALID_ARGUMENT: return "an argument is outside its documented range";
    case BNMLP_ERR_SHAPE: return "tensor shapes do not match";
    case BNMLP_ERR_BATCH_TOO_LARGE: return "the batch has more rows than the model was built for";
    case BNMLP_ERR_BATCH_TOO_SMALL:
        return "training-mode batch normalization needs at least 2 rows in a batch";
    case BNMLP_ERR_LABEL:
        return "a target the loss does not accept (a binary label not 0 or 1, a class index out of range or "
               "not an integer, or class probabilities that are negative or do not sum to 1)";
    case BNMLP_ERR_NOT_FINITE: return "the data contain NaN or infinity";
    case BNMLP_ERR_DIVERGED:
        return "a computed loss, gradient, weight, statistic or output would be NaN or infinite";
    case BNMLP_ERR_NOT_BUILT: return "the model is not built yet (call bnmlp_model_build first)";
    case BNMLP_ERR_ALREADY_BUILT: return "the model is already built: layers can no longer be added";
    case BNMLP_ERR_EMPTY_MODEL: return "the model has no layers";
    case BNMLP_ERR_OUT_OF_MEMORY: return "out of memory";
    case BNMLP_ERR_OVERFLOW: return "a size computation would overflow";
    case BNMLP_ERR_IO: return "reading or writing a file or stream failed";
    case BNMLP_ERR_FILE_OPEN: return "a file could not be opened or created";
    case BNMLP_ERR_FORMAT: return "the file's content does not follow its format";
    case BNMLP_ERR_VERSION: return "the file's format version is not supported";
    case BNMLP_ERR_UNSUPPORTED:
        return "a feature this library does not support here (a file's, an export's, or training an int8 "
               "model)";
    case BNMLP_ERR_TRUNCATED: return "the file or buffer ends before its content does";
    case BNMLP_ERR_CHECKSUM: return "the file's checksum does not match its content (corrupted)";
    }
    return "unknown status code";
}

bnmlp_status bnmlp_set_status(bnmlp_status *out, bnmlp_status status) {
    if (out) *out = status;
    return status;
}
