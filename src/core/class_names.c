/* class_names.c - bnmlp_class_names: one allocation holding the struct, the pointers and the text. */
#include "core/class_names.h"

#include <stdlib.h>
#include <string.h>

#include "core/core.h"

void bnmlp_class_names_free(bnmlp_class_names *names) {
    if (!names) return;
    const bnmlp_allocator allocator = names->allocator;
    bnmlp_release(&allocator, names);
}

bnmlp_status bnmlp_class_names_create(const char *const *texts, const size_t *lengths, size_t count,
                                      const bnmlp_allocator *allocator, bnmlp_class_names **out) {
    size_t head = 0, bytes = 0, total = 0;
    if (!bnmlp_size_mul(count, sizeof(char *), &head) ||
        !bnmlp_size_add(head, sizeof(bnmlp_class_names), &head))
        return BNMLP_ERR_OVERFLOW;
    for (size_t i = 0; i < count; i++)
        if (!bnmlp_size_add(bytes, lengths[i], &bytes) || !bnmlp_size_add(bytes, 1, &bytes))
            return BNMLP_ERR_OVERFLOW;
    if (!bnmlp_size_add(head, bytes, &total)) return BNMLP_ERR_OVERFLOW;
    unsigned char *block = bnmlp_alloc(allocator, total);
    if (!block) return BNMLP_ERR_OUT_OF_MEMORY;
    bnmlp_class_names *names = (bnmlp_class_names *)(void *)block;
    const char **pointers = (const char **)(void *)(block + sizeof(bnmlp_class_names));
    char *text = (char *)block + head;
    for (size_t i = 0; i < count; i++) {
        if (lengths[i]) memcpy(text, texts[i], lengths[i]);
        text[lengths[i]] = '\0';
        pointers[i] = text;
        text += lengths[i] + 1;
    }
    *names = (bnmlp_class_names){
        .count = count, .names = pointers, .allocator = *bnmlp_allocator_or_default(allocator)};
    *out = names;
    return BNMLP_OK;
}

/* Orders pointers to names by their bytes, then by address (the later copy second). */
static int compare_names(const void *a, const void *b) {
    const char *const *p = a, *const *q = b;
    const int order = strcmp(*p, *q);
    if (order != 0) return order;
    return *p < *q ? -1 : *p > *q;
}

bnmlp_status bnmlp_class_names_distinct(const char *const *names, size_t count,
                                        const bnmlp_allocator *allocator, size_t *first) {
    if (count < 2) return BNMLP_OK;
    const char **sorted = bnmlp_alloc_zeroed(allocator, count, sizeof *sorted);
    if (!sorted) return BNMLP_ERR_OUT_OF_MEMORY;
    memcpy(sorted, names, count * sizeof *sorted);
    qsort(sorted, count, sizeof *sorted, compare_names);
    bnmlp_status status = BNMLP_OK;
    for (size_t i = 1; i < count && status == BNMLP_OK; i++)
        if (strcmp(sorted[i - 1], sorted[i]) == 0) {
            status = BNMLP_ERR_INVALID_ARGUMENT;
            for (size_t k = 0; k < count; k++)
                if (names[k] == sorted[i] || names[k] == sorted[i - 1]) *first = k; /* the later one */
        }
    bnmlp_release(allocator, sorted);
    return status;
}
