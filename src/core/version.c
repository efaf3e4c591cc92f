/* version.c - the library's version as a string, made from the macros of bnmlp.h. */
#include "bnmlp.h"

#define BNMLP_STRINGIFY_(x) #x
#define BNMLP_STRINGIFY(x) BNMLP_STRINGIFY_(x)

const char *bnmlp_version(void) {
    return BNMLP_STRINGIFY(BNMLP_VERSION_MAJOR) "." BNMLP_STRINGIFY(BNMLP_VERSION_MINOR) "." BNMLP_STRINGIFY(
        BNMLP_VERSION_PATCH);
}
