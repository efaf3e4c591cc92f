/*
 * isa.c - the list of instruction-set descriptors and the choice among them.
 */
#include "kernels/isa.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
extern const bnmlp_isa bnmlp_isa_avx2, bnmlp_isa_avx512;
#endif

/* Every instruction set of this build, fastest first; the portable row last. A new instruction
 * set is its file (isa_<name>.c) and one line here. */
static const bnmlp_isa *const isa_list[] = {
#if defined(__x86_64__)
    &bnmlp_isa_avx512,
    &bnmlp_isa_avx2,
#endif
    &bnmlp_isa_portable,
};

#define ISA_COUNT (sizeof isa_list / sizeof isa_list[0])

size_t bnmlp_isa_count(void) { return ISA_COUNT; }

const bnmlp_isa *bnmlp_isa_at(size_t i) { return i < ISA_COUNT ? isa_list[i] : NULL; }

const bnmlp_isa *bnmlp_isa_find(const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < ISA_COUNT; i++)
        if (strcmp(isa_list[i]->name, name) == 0) return isa_list[i];
    return NULL;
}

bool bnmlp_isa_available(const bnmlp_isa *isa) { return isa && isa->available(); }

const bnmlp_isa *bnmlp_isa_best(void) {
    const bnmlp_isa *fallback = NULL; /* the fastest available one, should every one defer */
    for (size_t i = 0; i < ISA_COUNT; i++) {
        const bnmlp_isa *isa = isa_list[i];
        if (!bnmlp_isa_available(isa)) continue;
        if (!fallback) fallback = isa;
        if (isa->defer_to_slower && isa->defer_to_slower()) continue;
        return isa;
    }
    return fallback ? fallback : &bnmlp_isa_portable;
}

bool bnmlp_isa_from_environment(const bnmlp_isa **isa) {
    if (!isa) return false;
    const char *value = getenv("BNMLP_ISA");
    const bnmlp_isa *found;
    if (!value || !value[0] || strcmp(value, "best") == 0)
        found = bnmlp_isa_best();
    else if (!(found = bnmlp_isa_find(value)))
        return false;
    *isa = found;
    return true;
}

const char *bnmlp_isa_name(const bnmlp_isa *isa) { return isa ? isa->name : "unknown"; }
