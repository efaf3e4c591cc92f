/*
 * safetensors_read.c - reading a safetensors file into a model: a new one built from the
 * architecture in the file's __metadata__ (or the caller's), or an existing one.
 *
 * The reader trusts nothing. The header's length is checked against the file's size and a cap
 * before anything is allocated; the header is read by a strict JSON reader of exactly what the
 * format needs (an object of objects; strings with every JSON escape, valid UTF-8; unsigned
 * integer arrays), which refuses duplicate keys, unknown keys inside a tensor's entry and
 * anything but spaces after the object. The data offsets must tile the data exactly (no
 * overlap, no gap, nothing after: the format's rule) and each tensor's bytes must equal its
 * shape times its element size. Then the tensors must be exactly the ones the architecture has
 * (no extra, none missing: PyTorch's load_state_dict(strict=True)), with the dtype and shape
 * they need, every float finite, every variance >= 0, every step count >= 0, and arrays a layer
 * lacks but the format writes (BatchNorm1d's weight or bias when scale or center is off) equal
 * to their identity. Only then is anything written to the model. Every error names the tensor
 * (or the header's byte) and what is wrong in *detail.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/core.h"
#include "core/file.h"
#include "export/safetensors.h"

/* The header's cap (safetensors' own reader refuses more than 100 MB). */
#define MAX_HEADER_BYTES ((uint64_t)100 << 20)

/* Most entries (tensors plus metadata keys) a header may have. */
#define MAX_ENTRIES 65536

/* Most dimensions of a tensor's shape. */
#define MAX_RANK 8

/* The dtypes of the format and their element sizes; the library reads F32 and I64 only. */
static const struct {
    const char *name;
    unsigned size;
} DTYPES[] = {
    {"F32", 4},  {"I64", 8}, {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"I16", 2}, {"U16", 2},     {"F16", 2},
    {"BF16", 2}, {"I32", 4}, {"U32", 4},  {"F64", 8}, {"U64", 8}, {"C64", 8}, {"F8_E4M3", 1}, {"F8_E5M2", 1},
};

#define DTYPE_COUNT (sizeof DTYPES / sizeof DTYPES[0])

/* A tensor's entry in the header. */
typedef struct tensor_entry {
    const char *name;   /* decoded, terminated */
    size_t name_length; /* bytes */
    size_t dtype;       /* index in DTYPES */
    size_t rank;        /* dimensions */
    uint64_t shape[MAX_RANK];
    uint64_t begin, end; /* data offsets */
    uint64_t at;         /* the entry's byte in the file, for messages */
    bool used;           /* matched to a layer's array */
} tensor_entry;

/* A metadata key and its value. */
typedef struct meta_entry {
    const char *key, *value; /* decoded, terminated */
    size_t key_length, value_length;
} meta_entry;

/* The header as read. */
typedef struct header {
    const bnmlp_allocator *allocator;
    char *strings; /* the decoded strings, one allocation */
    size_t strings_used;
    tensor_entry *tensors;
    size_t tensor_count, tensor_capacity;
    meta_entry *meta;
    size_t meta_count, meta_capacity;
    bool has_metadata;
    const unsigned char *data; /* the data after the header */
    uint64_t data_size;
    uint64_t data_at; /* the data's offset in the file (8 + N) */
} header;

static void header_free(header *h) {
    bnmlp_release(h->allocator, h->strings);
    bnmlp_release(h->allocator, h->tensors);
    bnmlp_release(h->allocator, h->meta);
}

/* ---- the JSON reader ----------------------------------------------------------------------------- */

typedef struct json {
    const unsigned char *s; /* the header's bytes */
    size_t n, pos;          /* length, position */
    header *h;
    bnmlp_status status; /* the first error */
    bnmlp_error_detail *detail;
} json;

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 3, 4)))
#endif
static bool
json_fail(json *j, bnmlp_status status, const char *format, ...) {
    if (j->status != BNMLP_OK) return false;
    j->status = status;
    if (j->detail) {
        char message[sizeof j->detail->message];
        va_list args;
        va_start(args, format);
        vsnprintf(message, sizeof message, format, args);
        va_end(args);
        bnmlp_detail_set(j->detail, 0, 0, 8 + (uint64_t)j->pos, "header byte %zu: %s", j->pos + 8, message);
    }
    return false;
}

static void skip_space(json *j) {
    while (j->pos < j->n &&
           (j->s[j->pos] == ' ' || j->s[j->pos] == '\t' || j->s[j->pos] == '\n' || j->s[j->pos] == '\r'))
        j->pos++;
}

/* Takes c (after blanks); false (with the error) when it is not there. */
static bool expect(json *j, char c, const char *what) {
    skip_space(j);
    if (j->pos < j->n && j->s[j->pos] == c) {
        j->pos++;
        return true;
    }
    return json_fail(j, BNMLP_ERR_FORMAT, "expected %s", what);
}

/* True (and taken) when the next byte after blanks is c. */
static bool take(json *j, char c) {
    skip_space(j);
    if (j->pos < j->n && j->s[j->pos] == c) {
        j->pos++;
        return true;
    }
    return false;
}

static int hex_digit(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Four hex digits at the position into *unit. */
static bool hex4(json *j, unsigned *unit) {
    if (j->n - j->pos < 4) return json_fail(j, BNMLP_ERR_FORMAT, "a \\u escape needs four hex digits");
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        const int d = hex_digit(j->s[j->pos + (size_t)k]);
        if (d < 0) return json_fail(j, BNMLP_ERR_FORMAT, "a \\u escape needs four hex digits");
        v = v * 16 + (unsigned)d;
    }
    j->pos += 4;
    *unit = v;
    return true;
}

/* The length of the valid UTF-8 sequence at p (n bytes left), or 0. */
static size_t utf8_length(const unsigned char *p, size_t n) {
    const unsigned char c = p[0];
    size_t length;
    uint32_t code;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf)
        length = 2, code = c & 0x1fu;
    else if (c >= 0xe0 && c <= 0xef)
        length = 3, code = c & 0x0fu;
    else if (c >= 0xf0 && c <= 0xf4)
        length = 4, code = c & 0x07u;
    else
        return 0;
    if (n < length) return 0;
    for (size_t k = 1; k < length; k++) {
        if ((p[k] & 0xc0) != 0x80) return 0;
        code = code << 6 | (p[k] & 0x3fu);
    }
    if ((length == 3 && (code < 0x800 || (code >= 0xd800 && code <= 0xdfff))) ||
        (length == 4 && (code < 0x10000 || code > 0x10ffff)))
        return 0;
    return length;
}

/* Appends code point code as UTF-8 to out. */
static size_t put_utf8(char *out, uint32_t code) {
    if (code < 0x80) {
        out[0] = (char)code;
        return 1;
    }
    if (code < 0x800) {
        out[0] = (char)(0xc0 | code >> 6);
        out[1] = (char)(0x80 | (code & 0x3f));
        return 2;
    }
    if (code < 0x10000) {
        out[0] = (char)(0xe0 | code >> 12);
        out[1] = (char)(0x80 | (code >> 6 & 0x3f));
        out[2] = (char)(0x80 | (code & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | code >> 18);
    out[1] = (char)(0x80 | (code >> 12 & 0x3f));
    out[2] = (char)(0x80 | (code >> 6 & 0x3f));
    out[3] = (char)(0x80 | (code & 0x3f));
    return 4;
}

/* A string (after blanks) decoded into the header's strings: *text, *length (terminated; a NUL
 * inside is refused, as names and values are C strings). The decoded form never takes more
 * bytes than the quoted one, so the strings buffer (the header's size) always has room. */
static bool read_string(json *j, const char **text, size_t *length) {
    if (!expect(j, '"', "a string")) return false;
    char *out = j->h->strings + j->h->strings_used;
    size_t used = 0;
    for (;;) {
        if (j->pos >= j->n) return json_fail(j, BNMLP_ERR_FORMAT, "a string is not closed");
        const unsigned char c = j->s[j->pos];
        if (c == '"') {
            j->pos++;
            break;
        }
        if (c < 0x20) return json_fail(j, BNMLP_ERR_FORMAT, "a control character inside a string");
        if (c == '\\') {
            if (j->pos + 1 >= j->n) return json_fail(j, BNMLP_ERR_FORMAT, "a string is not closed");
            const unsigned char e = j->s[j->pos + 1];
            static const char FROM[] = "\"\\/bfnrt", TO[] = "\"\\/\b\f\n\r\t";
            const char *found = e ? strchr(FROM, e) : NULL;
            if (found) {
                out[used++] = TO[found - FROM];
                j->pos += 2;
                continue;
            }
            if (e != 'u') return json_fail(j, BNMLP_ERR_FORMAT, "an unknown escape in a string");
            j->pos += 2;
            unsigned unit;
            if (!hex4(j, &unit)) return false;
            uint32_t code = unit;
            if (unit >= 0xdc00 && unit <= 0xdfff)
                return json_fail(j, BNMLP_ERR_FORMAT, "a lone low surrogate in a \\u escape");
            if (unit >= 0xd800 && unit <= 0xdbff) {
                unsigned low;
                if (j->n - j->pos < 2 || j->s[j->pos] != '\\' || j->s[j->pos + 1] != 'u')
                    return json_fail(j, BNMLP_ERR_FORMAT, "a high surrogate without its low half");
                j->pos += 2;
                if (!hex4(j, &low)) return false;
                if (low < 0xdc00 || low > 0xdfff)
                    return json_fail(j, BNMLP_ERR_FORMAT, "a high surrogate without its low half");
                code = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
            }
            if (code == 0) return json_fail(j, BNMLP_ERR_FORMAT, "a NUL character inside a string");
            used += put_utf8(out + used, code);
            continue;
        }
        const size_t step = utf8_length(j->s + j->pos, j->n - j->pos);
        if (step == 0) return json_fail(j, BNMLP_ERR_FORMAT, "a string that is not valid UTF-8");
        memcpy(out + used, j->s + j->pos, step);
        used += step;
        j->pos += step;
    }
    out[used] = '\0';
    j->h->strings_used += used + 1;
    *text = out;
    *length = used;
    return true;
}

/* An unsigned integer (after blanks): digits only, no leading zero, at most 2^62. */
static bool read_integer(json *j, uint64_t *value) {
    skip_space(j);
    const size_t start = j->pos;
    uint64_t v = 0;
    while (j->pos < j->n && j->s[j->pos] >= '0' && j->s[j->pos] <= '9') {
        if (v > ((uint64_t)1 << 62) / 10) return json_fail(j, BNMLP_ERR_FORMAT, "an integer too large");
        v = v * 10 + (uint64_t)(j->s[j->pos] - '0');
        j->pos++;
    }
    if (v > ((uint64_t)1 << 62)) return json_fail(j, BNMLP_ERR_FORMAT, "an integer too large");
    if (j->pos == start) return json_fail(j, BNMLP_ERR_FORMAT, "expected an unsigned integer");
    if (j->pos - start > 1 && j->s[start] == '0')
        return json_fail(j, BNMLP_ERR_FORMAT, "an integer with a leading zero");
    if (j->pos < j->n && (j->s[j->pos] == '.' || j->s[j->pos] == 'e' || j->s[j->pos] == 'E'))
        return json_fail(j, BNMLP_ERR_FORMAT, "a number that is not an integer");
    *value = v;
    return true;
}

/* An array of unsigned integers into values (at most max); *count gets how many. */
static bool read_integers(json *j, uint64_t *values, size_t max, size_t *count, const char *what) {
    if (!expect(j, '[', "'[' of an array")) return false;
    size_t k = 0;
    if (!take(j, ']')) {
        do {
            if (k == max) return json_fail(j, BNMLP_ERR_FORMAT, "%s has too many elements", what);
            if (!read_integer(j, &values[k++])) return false;
        } while (take(j, ','));
        if (!expect(j, ']', "',' or ']' in an array")) return false;
    }
    *count = k;
    return true;
}

/* Makes room for one more element of an array of size bytes each. */
static bool grow(json *j, void **array, size_t *capacity, size_t count, size_t size) {
    if (count < *capacity) return true;
    if (j->h->tensor_count + j->h->meta_count >= MAX_ENTRIES)
        return json_fail(j, BNMLP_ERR_UNSUPPORTED, "more than %d entries", MAX_ENTRIES);
    const size_t capacity_new = *capacity ? *capacity * 2 : 16;
    void *grown = bnmlp_alloc(j->h->allocator, capacity_new * size);
    if (!grown) return json_fail(j, BNMLP_ERR_OUT_OF_MEMORY, "out of memory");
    if (count) memcpy(grown, *array, count * size);
    bnmlp_release(j->h->allocator, *array);
    *array = grown;
    *capacity = capacity_new;
    return true;
}

/* "__metadata__"'s object of strings. */
static bool read_metadata(json *j) {
    header *h = j->h;
    if (h->has_metadata) return json_fail(j, BNMLP_ERR_FORMAT, "a second __metadata__");
    h->has_metadata = true;
    if (!expect(j, '{', "'{' of __metadata__")) return false;
    if (take(j, '}')) return true;
    do {
        void *array = h->meta;
        if (!grow(j, &array, &h->meta_capacity, h->meta_count, sizeof *h->meta)) return false;
        h->meta = array;
        meta_entry *m = &h->meta[h->meta_count];
        if (!read_string(j, &m->key, &m->key_length) || !expect(j, ':', "':' after a key") ||
            !read_string(j, &m->value, &m->value_length))
            return false;
        for (size_t k = 0; k < h->meta_count; k++)
            if (h->meta[k].key_length == m->key_length && memcmp(h->meta[k].key, m->key, m->key_length) == 0)
                return json_fail(j, BNMLP_ERR_FORMAT, "the metadata key '%.60s' appears twice", m->key);
        h->meta_count++;
    } while (take(j, ','));
    return expect(j, '}', "',' or '}' in __metadata__");
}

/* A tensor's entry: exactly "dtype", "shape" and "data_offsets", each once. */
static bool read_tensor(json *j, const char *name, size_t name_length, uint64_t at) {
    header *h = j->h;
    void *array = h->tensors;
    if (!grow(j, &array, &h->tensor_capacity, h->tensor_count, sizeof *h->tensors)) return false;
    h->tensors = array;
    tensor_entry *t = &h->tensors[h->tensor_count];
    *t = (tensor_entry){.name = name, .name_length = name_length, .at = at};
    if (!expect(j, '{', "'{' of a tensor's entry")) return false;
    bool seen[3] = {false, false, false};
    if (!take(j, '}')) {
        do {
            const char *key;
            size_t key_length;
            if (!read_string(j, &key, &key_length) || !expect(j, ':', "':' after a key")) return false;
            static const char *const KEYS[3] = {"dtype", "shape", "data_offsets"};
            int which = -1;
            for (int k = 0; k < 3; k++)
                if (strcmp(key, KEYS[k]) == 0 && strlen(KEYS[k]) == key_length) which = k;
            if (which < 0)
                return json_fail(j, BNMLP_ERR_FORMAT, "tensor '%.60s': unknown key '%.30s'", name, key);
            if (seen[which])
                return json_fail(j, BNMLP_ERR_FORMAT, "tensor '%.60s': '%s' appears twice", name,
                                 KEYS[which]);
            seen[which] = true;
            if (which == 0) {
                const char *dtype;
                size_t dtype_length;
                if (!read_string(j, &dtype, &dtype_length)) return false;
                t->dtype = DTYPE_COUNT;
                for (size_t d = 0; d < DTYPE_COUNT; d++)
                    if (strcmp(DTYPES[d].name, dtype) == 0 && strlen(dtype) == dtype_length) t->dtype = d;
                if (t->dtype == DTYPE_COUNT)
                    return json_fail(j, BNMLP_ERR_FORMAT, "tensor '%.60s': unknown dtype '%.20s'", name,
                                     dtype);
            } else if (which == 1) {
                if (!read_integers(j, t->shape, MAX_RANK, &t->rank, "a shape")) return false;
            } else {
                uint64_t offsets[2] = {0, 0};
                size_t count = 0;
                if (!read_integers(j, offsets, 2, &count, "data_offsets")) return false;
                if (count != 2)
                    return json_fail(j, BNMLP_ERR_FORMAT, "tensor '%.60s': data_offsets needs two", name);
                t->begin = offsets[0];
                t->end = offsets[1];
            }
        } while (take(j, ','));
        if (!expect(j, '}', "',' or '}' in a tensor's entry")) return false;
    }
    if (!seen[0] || !seen[1] || !seen[2])
        return json_fail(j, BNMLP_ERR_FORMAT, "tensor '%.60s' lacks %s", name,
                         !seen[0]   ? "its dtype"
                         : !seen[1] ? "its shape"
                                    : "its data_offsets");
    h->tensor_count++;
    return true;
}

static int compare_names(const void *a, const void *b) {
    const tensor_entry *x = a, *y = b;
    const size_t n = x->name_length < y->name_length ? x->name_length : y->name_length;
    const int c = memcmp(x->name, y->name, n);
    return c ? c : (x->name_length > y->name_length) - (x->name_length < y->name_length);
}

static int compare_begins(const void *a, const void *b) {
    const tensor_entry *x = a, *y = b;
    if (x->begin != y->begin) return (x->begin > y->begin) - (x->begin < y->begin);
    return (x->end > y->end) - (x->end < y->end);
}

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 4, 5)))
#endif
static bnmlp_status
fail_at(bnmlp_error_detail *detail, bnmlp_status status, uint64_t offset, const char *format, ...) {
    if (detail) {
        char message[sizeof detail->message];
        va_list args;
        va_start(args, format);
        vsnprintf(message, sizeof message, format, args);
        va_end(args);
        bnmlp_detail_set(detail, 0, 0, offset, "%s", message);
    }
    return status;
}

/* Reads and checks the header of the size bytes at data into *h (free with header_free). */
static bnmlp_status read_header(const unsigned char *data, size_t size, const bnmlp_allocator *allocator,
                                header *h, bnmlp_error_detail *detail) {
    *h = (header){.allocator = allocator};
    if (size < 8)
        return fail_at(detail, BNMLP_ERR_TRUNCATED, 0, "the file ends before its 8-byte header length");
    const uint64_t length = bnmlp_load_le64(data);
    if (length < 2)
        return fail_at(detail, BNMLP_ERR_FORMAT, 0, "a header length of %llu bytes",
                       (unsigned long long)length);
    if (length > MAX_HEADER_BYTES)
        return fail_at(detail, BNMLP_ERR_FORMAT, 0, "a header length of %llu bytes (the limit is %llu)",
                       (unsigned long long)length, (unsigned long long)MAX_HEADER_BYTES);
    if (length > size - 8)
        return fail_at(detail, BNMLP_ERR_TRUNCATED, 0, "a header of %llu bytes in a file of %zu",
                       (unsigned long long)length, size);
    h->strings = bnmlp_alloc(allocator, (size_t)length + 1);
    if (!h->strings) return fail_at(detail, BNMLP_ERR_OUT_OF_MEMORY, 0, "out of memory");
    json j = {.s = data + 8, .n = (size_t)length, .h = h, .detail = detail};
    if (j.s[0] != '{') json_fail(&j, BNMLP_ERR_FORMAT, "the header is not a JSON object");
    j.pos = 1;
    if (j.status == BNMLP_OK && !take(&j, '}')) {
        do {
            skip_space(&j);
            const uint64_t at = 8 + (uint64_t)j.pos;
            const char *name;
            size_t name_length;
            if (!read_string(&j, &name, &name_length) || !expect(&j, ':', "':' after a key")) break;
            if (strcmp(name, "__metadata__") == 0 && name_length == 12) {
                if (!read_metadata(&j)) break;
            } else if (!read_tensor(&j, name, name_length, at)) {
                break;
            }
        } while (take(&j, ','));
        if (j.status == BNMLP_OK) expect(&j, '}', "',' or '}' after an entry");
    }
    if (j.status == BNMLP_OK) {
        skip_space(&j);
        if (j.pos != j.n) json_fail(&j, BNMLP_ERR_FORMAT, "bytes after the header's object");
    }
    if (j.status != BNMLP_OK) {
        header_free(h);
        return j.status;
    }
    h->data = data + 8 + length;
    h->data_size = (uint64_t)size - 8 - length;
    h->data_at = 8 + length;
    /* Names: no duplicate (sorted copy). */
    if (h->tensor_count > 1) {
        qsort(h->tensors, h->tensor_count, sizeof *h->tensors, compare_names);
        for (size_t k = 1; k < h->tensor_count; k++)
            if (compare_names(&h->tensors[k - 1], &h->tensors[k]) == 0) {
                const uint64_t at = h->tensors[k].at;
                char name[64];
                snprintf(name, sizeof name, "%s", h->tensors[k].name);
                header_free(h);
                return fail_at(detail, BNMLP_ERR_FORMAT, at, "the tensor '%s' appears twice", name);
            }
    }
    /* Sizes, then the tiling of the data by the offsets (in order of begin). */
    bnmlp_status status = BNMLP_OK;
    for (size_t k = 0; k < h->tensor_count && status == BNMLP_OK; k++) {
        const tensor_entry *t = &h->tensors[k];
        uint64_t bytes = DTYPES[t->dtype].size;
        bool overflow = false;
        for (size_t d = 0; d < t->rank; d++) {
            if (t->shape[d] != 0 && bytes > UINT64_MAX / t->shape[d])
                overflow = true;
            else
                bytes *= t->shape[d];
        }
        if (t->end < t->begin)
            status = fail_at(detail, BNMLP_ERR_FORMAT, t->at,
                             "tensor '%.60s': data_offsets end before they begin", t->name);
        else if (overflow || t->end - t->begin != bytes)
            status =
                fail_at(detail, BNMLP_ERR_FORMAT, t->at,
                        "tensor '%.60s': data_offsets span %llu bytes, its dtype and shape need %s", t->name,
                        (unsigned long long)(t->end - t->begin), overflow ? "more" : "another size");
        else if (t->end > h->data_size)
            status = fail_at(detail, BNMLP_ERR_TRUNCATED, t->at,
                             "tensor '%.60s': data_offsets end at %llu, after the data's %llu bytes", t->name,
                             (unsigned long long)t->end, (unsigned long long)h->data_size);
    }
    if (status == BNMLP_OK) {
        tensor_entry *order =
            h->tensor_count ? bnmlp_alloc(allocator, h->tensor_count * sizeof *order) : NULL;
        if (h->tensor_count && !order) status = fail_at(detail, BNMLP_ERR_OUT_OF_MEMORY, 0, "out of memory");
        if (order) {
            memcpy(order, h->tensors, h->tensor_count * sizeof *order);
            qsort(order, h->tensor_count, sizeof *order, compare_begins);
            uint64_t covered = 0;
            for (size_t k = 0; k < h->tensor_count && status == BNMLP_OK; k++) {
                if (order[k].begin < covered)
                    status = fail_at(detail, BNMLP_ERR_FORMAT, order[k].at,
                                     "tensor '%.60s' overlaps another tensor's data", order[k].name);
                else if (order[k].begin > covered)
                    status =
                        fail_at(detail, BNMLP_ERR_FORMAT, order[k].at,
                                "a gap in the data before tensor '%.60s' (bytes %llu to %llu)", order[k].name,
                                (unsigned long long)covered, (unsigned long long)order[k].begin);
                covered = order[k].end;
            }
            bnmlp_release(allocator, order);
            if (status == BNMLP_OK && covered != h->data_size)
                status = fail_at(detail, BNMLP_ERR_FORMAT, h->data_at + covered,
                                 "%llu bytes after the last tensor's data",
                                 (unsigned long long)(h->data_size - covered));
        } else if (status == BNMLP_OK && h->data_size != 0) {
            status = fail_at(detail, BNMLP_ERR_FORMAT, h->data_at, "data after a header without tensors");
        }
    }
    if (status != BNMLP_OK) header_free(h);
    return status;
}

/* The metadata value of key, or NULL. */
static const meta_entry *metadata(const header *h, const char *key) {
    for (size_t k = 0; k < h->meta_count; k++)
        if (strcmp(h->meta[k].key, key) == 0 && h->meta[k].key_length == strlen(key)) return &h->meta[k];
    return NULL;
}

/* The tensor named name, or NULL. */
static tensor_entry *find_tensor(const header *h, const char *name) {
    const tensor_entry key = {.name = name, .name_length = strlen(name)};
    return h->tensor_count ? bsearch(&key, h->tensors, h->tensor_count, sizeof *h->tensors, compare_names)
                           : NULL;
}

/* ---- matching the tensors to a model ---------------------------------------------------------------- */

/* Element k of an F32 tensor. */
static float f32_at(const header *h, const tensor_entry *t, size_t k) {
    return bnmlp_float_from_bits(bnmlp_load_le32(h->data + t->begin + 4 * (uint64_t)k));
}

/* Checks every tensor of the file against model's layers (nothing written). */
static bnmlp_status check_tensors(const bnmlp_model *model, header *h, bnmlp_error_detail *detail) {
    for (size_t k = 0; k < h->tensor_count; k++) h->tensors[k].used = false;
    for (size_t i = 0; i < bnmlp_model_layer_count(model); i++) {
        const bnmlp_layer *layer = bnmlp_model_layer_at(model, i);
        for (size_t r = 0; r < bnmlp_st_name_count; r++) {
            const bnmlp_st_name *row = &bnmlp_st_names[r];
            if (!bnmlp_st_layer_has(layer, row)) continue;
            char name[48];
            snprintf(name, sizeof name, "%zu.%s", i, row->suffix);
            tensor_entry *t = find_tensor(h, name);
            if (!t)
                return fail_at(detail, BNMLP_ERR_FORMAT, 0, "tensor '%s' (layer %zu, %s) is missing", name, i,
                               layer->ops->prefix);
            t->used = true;
            const char *want = row->array < 0 ? "I64" : "F32";
            if (strcmp(DTYPES[t->dtype].name, want) != 0)
                return fail_at(detail, BNMLP_ERR_UNSUPPORTED, t->at,
                               "tensor '%s' is %s; libbnmlp reads it as %s", name, DTYPES[t->dtype].name,
                               want);
            /* The shape: (out, in) for a transposed kernel, (out) for a vector, () for a count. */
            uint64_t shape[2] = {layer->out, layer->in};
            const size_t rank = row->array < 0 ? 0 : row->transposed ? 2 : 1;
            bool same = t->rank == rank;
            for (size_t d = 0; same && d < rank; d++) same = t->shape[d] == shape[d];
            if (!same) {
                char got[64] = "(", need[40];
                for (size_t d = 0; d < t->rank && strlen(got) < 40; d++)
                    snprintf(got + strlen(got), sizeof got - strlen(got), "%s%llu", d ? ", " : "",
                             (unsigned long long)t->shape[d]);
                strcat(got, ")");
                if (rank == 2)
                    snprintf(need, sizeof need, "(%zu, %zu)", layer->out, layer->in);
                else if (rank == 1)
                    snprintf(need, sizeof need, "(%zu)", layer->out);
                else
                    snprintf(need, sizeof need, "()");
                return fail_at(detail, BNMLP_ERR_SHAPE, t->at, "tensor '%s' has shape %s; layer %zu needs %s",
                               name, got, i, need);
            }
            if (row->array < 0) {
                if (bnmlp_load_le64(h->data + t->begin) > (uint64_t)INT64_MAX)
                    return fail_at(detail, BNMLP_ERR_FORMAT, h->data_at + t->begin, "tensor '%s' is negative",
                                   name);
                continue;
            }
            const bool present = layer->arrays[row->array].length > 0;
            const size_t count = bnmlp_st_elements(layer, row);
            for (size_t k = 0; k < count; k++) {
                const float v = f32_at(h, t, k);
                const uint64_t at = h->data_at + t->begin + 4 * (uint64_t)k;
                if (bnmlp_not_finite(v))
                    return fail_at(detail, BNMLP_ERR_NOT_FINITE, at,
                                   "tensor '%s', element %zu, is not finite", name, k);
                if (bnmlp_arrays[row->array].non_negative && v < 0.0f)
                    return fail_at(detail, BNMLP_ERR_FORMAT, at, "tensor '%s', element %zu, is negative (%g)",
                                   name, k, (double)v);
                if (!present && v != row->fill)
                    return fail_at(detail, BNMLP_ERR_UNSUPPORTED, at,
                                   "tensor '%s', element %zu, is %g; layer %zu has %s off, so it must be %g",
                                   name, k, (double)v, i,
                                   row->array == BNMLP_ARRAY_GAMMA ? "scale" : "center", (double)row->fill);
            }
        }
    }
    for (size_t k = 0; k < h->tensor_count; k++)
        if (!h->tensors[k].used)
            return fail_at(detail, BNMLP_ERR_FORMAT, h->tensors[k].at,
                           "tensor '%.60s' is not one the model has (%zu layers)", h->tensors[k].name,
                           bnmlp_model_layer_count(model));
    return BNMLP_OK;
}

/* Copies the checked tensors into the model; allocates a row of floats for a kernel. */
static bnmlp_status apply_tensors(bnmlp_model *model, const header *h, bnmlp_error_detail *detail) {
    const bnmlp_allocator *allocator = bnmlp_model_allocator(model);
    size_t most = 0;
    for (size_t i = 0; i < bnmlp_model_layer_count(model); i++) {
        const bnmlp_layer *layer = bnmlp_model_layer_at(model, i);
        for (size_t r = 0; r < bnmlp_st_name_count; r++)
            if (bnmlp_st_layer_has(layer, &bnmlp_st_names[r]) &&
                bnmlp_st_elements(layer, &bnmlp_st_names[r]) > most)
                most = bnmlp_st_elements(layer, &bnmlp_st_names[r]);
    }
    float *buffer = most ? bnmlp_alloc(allocator, most * sizeof *buffer) : NULL;
    if (most && !buffer) return fail_at(detail, BNMLP_ERR_OUT_OF_MEMORY, 0, "out of memory");
    /* Step counts first: a debiased layer's hidden state follows its statistics and t. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < bnmlp_model_layer_count(model); i++) {
            const bnmlp_layer *layer = bnmlp_model_layer_at(model, i);
            for (size_t r = 0; r < bnmlp_st_name_count; r++) {
                const bnmlp_st_name *row = &bnmlp_st_names[r];
                if ((row->array < 0) != (pass == 0) || !bnmlp_st_layer_has(layer, row)) continue;
                char name[48];
                snprintf(name, sizeof name, "%zu.%s", i, row->suffix);
                const tensor_entry *t = find_tensor(h, name);
                if (row->array < 0) {
                    bnmlp_model_set_layer_steps(model, i, bnmlp_load_le64(h->data + t->begin));
                    continue;
                }
                const int weight = bnmlp_arrays[row->array].weight;
                if (!layer->arrays[row->array].length || weight < 0) continue;
                const size_t count = bnmlp_st_elements(layer, row);
                for (size_t k = 0; k < count; k++) {
                    const size_t to = row->transposed ? (k % layer->in) * layer->out + k / layer->in : k;
                    buffer[to] = f32_at(h, t, k);
                }
                bnmlp_model_set_weights(model, i, (bnmlp_weight)weight, buffer, count);
            }
        }
    bnmlp_release(allocator, buffer);
    return BNMLP_OK;
}

/* ---- the public calls ------------------------------------------------------------------------------------ */

bnmlp_status bnmlp_model_load_safetensors_buffer(bnmlp_model *model, const void *data, size_t size,
                                                 bnmlp_error_detail *detail) {
    if (!model || (!data && size)) return BNMLP_ERR_NULL_ARGUMENT;
    if (!bnmlp_model_is_built(model))
        return fail_at(detail, BNMLP_ERR_NOT_BUILT, 0, "the model is not built");
    header h;
    bnmlp_status status = read_header(data, size, bnmlp_model_allocator(model), &h, detail);
    if (status != BNMLP_OK) return status;
    status = check_tensors(model, &h, detail);
    if (status == BNMLP_OK) status = apply_tensors(model, &h, detail);
    header_free(&h);
    return status;
}

bnmlp_status bnmlp_model_load_safetensors(bnmlp_model *model, const char *path, bnmlp_error_detail *detail) {
    if (!model || !path) return BNMLP_ERR_NULL_ARGUMENT;
    if (!bnmlp_model_is_built(model))
        return fail_at(detail, BNMLP_ERR_NOT_BUILT, 0, "the model is not built");
    unsigned char *bytes = NULL;
    size_t size = 0;
    const bnmlp_allocator *allocator = bnmlp_model_allocator(model);
    bnmlp_status status =
        bnmlp_file_read_all(path, allocator, BNMLP_DATA_MAX_FILE_BYTES_DEFAULT, &bytes, &size, detail);
    if (status != BNMLP_OK) return status;
    status = bnmlp_model_load_safetensors_buffer(model, bytes, size, detail);
    bnmlp_release(allocator, bytes);
    return status;
}

/* The input width the file says: its "bnmlp.input_width", else the width of layer 0's tensors
 * (a Linear's second dimension, a vector's length). */
static bnmlp_status input_width_of(header *h, size_t *width, bnmlp_error_detail *detail) {
    const meta_entry *m = metadata(h, "bnmlp.input_width");
    if (m) {
        uint64_t v = 0;
        bool ok = m->value_length > 0 && m->value_length <= 9 && m->value[0] != '0';
        for (size_t k = 0; ok && k < m->value_length; k++) {
            ok = m->value[k] >= '0' && m->value[k] <= '9';
            v = v * 10 + (uint64_t)(m->value[k] - '0');
        }
        if (!ok || v > ((uint64_t)1 << 24))
            return fail_at(detail, BNMLP_ERR_FORMAT, 0,
                           "metadata bnmlp.input_width is not an integer from 1 to 2^24");
        *width = (size_t)v;
        return BNMLP_OK;
    }
    /* A Linear's weight is (out, in); a BatchNorm1d's or Normalization's statistics are (in). */
    static const struct {
        const char *name;
        size_t rank;
    } WIDTHS[] = {{"0.weight", 2}, {"0.running_mean", 1}, {"0.mean", 1}};
    for (size_t k = 0; k < sizeof WIDTHS / sizeof WIDTHS[0]; k++) {
        const tensor_entry *t = find_tensor(h, WIDTHS[k].name);
        if (t && t->rank == WIDTHS[k].rank && t->shape[t->rank - 1] > 0 &&
            t->shape[t->rank - 1] <= ((uint64_t)1 << 24)) {
            *width = (size_t)t->shape[t->rank - 1];
            return BNMLP_OK;
        }
    }
    return fail_at(detail, BNMLP_ERR_UNSUPPORTED, 0,
                   "the file does not say its input width (no bnmlp.input_width, no tensor of layer 0)");
}

bnmlp_status bnmlp_safetensors_input_width(const char *path, size_t *width, bnmlp_error_detail *detail) {
    if (!path || !width) return BNMLP_ERR_NULL_ARGUMENT;
    unsigned char *bytes = NULL;
    size_t size = 0;
    bnmlp_status status =
        bnmlp_file_read_all(path, NULL, BNMLP_DATA_MAX_FILE_BYTES_DEFAULT, &bytes, &size, detail);
    if (status != BNMLP_OK) return status;
    header h;
    status = read_header(bytes, size, NULL, &h, detail);
    if (status == BNMLP_OK) {
        status = input_width_of(&h, width, detail);
        header_free(&h);
    }
    bnmlp_release(NULL, bytes);
    return status;
}

bnmlp_model *bnmlp_model_import_safetensors_buffer(const void *data, size_t size,
                                                   const bnmlp_safetensors_config *config,
                                                   bnmlp_status *status, bnmlp_error_detail *detail) {
    const bnmlp_safetensors_config defaults = BNMLP_SAFETENSORS_DEFAULT;
    const bnmlp_safetensors_config *c = config ? config : &defaults;
    if (!data && size) {
        bnmlp_set_status(status, BNMLP_ERR_NULL_ARGUMENT);
        return NULL;
    }
    if (c->max_batch == 0 || !bnmlp_allocator_is_valid(c->allocator)) {
        bnmlp_set_status(status, fail_at(detail, BNMLP_ERR_INVALID_ARGUMENT, 0,
                                         "max_batch is 0 or the allocator has one function"));
        return NULL;
    }
    header h;
    bnmlp_status s = read_header(data, size, c->allocator, &h, detail);
    if (s != BNMLP_OK) {
        bnmlp_set_status(status, s);
        return NULL;
    }
    const char *layers = c->layers;
    size_t layers_length = layers ? strlen(layers) : 0;
    bnmlp_loss loss = c->loss;
    size_t width = c->layers ? c->input_width : 0;
    if (!layers) {
        const meta_entry *m = metadata(&h, "bnmlp.layers");
        if (!m)
            s = fail_at(
                detail, BNMLP_ERR_UNSUPPORTED, 0,
                "the file has no architecture (no bnmlp.layers metadata): give the layers, or build the "
                "model and load the file into it");
        else
            layers = m->value, layers_length = m->value_length;
        const meta_entry *l = metadata(&h, "bnmlp.loss");
        loss = BNMLP_LOSS_BINARY_CROSSENTROPY;
        if (s == BNMLP_OK && l && bnmlp_loss_from_name(l->value, &loss) != BNMLP_OK)
            s = fail_at(detail, BNMLP_ERR_FORMAT, 0, "metadata bnmlp.loss names no loss: '%.40s'", l->value);
    }
    if (s == BNMLP_OK && width == 0) s = input_width_of(&h, &width, detail);
    bnmlp_model *model = NULL;
    if (s == BNMLP_OK) model = bnmlp_model_create_with_allocator(width, c->allocator, &s);
    if (s == BNMLP_OK) s = bnmlp_st_add_layers(model, layers, layers_length, detail);
    /* The tensors against the described layers before the build allocates anything for them. */
    if (s == BNMLP_OK) s = check_tensors(model, &h, detail);
    if (s == BNMLP_OK) {
        s = bnmlp_model_set_loss(model, loss);
        if (s == BNMLP_OK) s = bnmlp_model_build(model, c->max_batch, c->seed);
        if (s != BNMLP_OK)
            fail_at(detail, s, 0, "the described model cannot be built: %s", bnmlp_status_string(s));
    }
    if (s == BNMLP_OK) s = apply_tensors(model, &h, detail);
    header_free(&h);
    if (s != BNMLP_OK) {
        bnmlp_model_free(model);
        model = NULL;
    }
    bnmlp_set_status(status, s);
    return model;
}

bnmlp_model *bnmlp_model_import_safetensors(const char *path, const bnmlp_safetensors_config *config,
                                            bnmlp_status *status, bnmlp_error_detail *detail) {
    if (!path) {
        bnmlp_set_status(status, BNMLP_ERR_NULL_ARGUMENT);
        return NULL;
    }
    const bnmlp_safetensors_config defaults = BNMLP_SAFETENSORS_DEFAULT;
    const bnmlp_safetensors_config *c = config ? config : &defaults;
    if (!bnmlp_allocator_is_valid(c->allocator)) {
        bnmlp_set_status(status, BNMLP_ERR_INVALID_ARGUMENT);
        return NULL;
    }
    unsigned char *bytes = NULL;
    size_t size = 0;
    bnmlp_status s = bnmlp_file_read_all(path, c->allocator, c->max_file_bytes, &bytes, &size, detail);
    if (s != BNMLP_OK) {
        bnmlp_set_status(status, s);
        return NULL;
    }
    bnmlp_model *model = bnmlp_model_import_safetensors_buffer(bytes, size, c, status, detail);
    bnmlp_release(c->allocator, bytes);
    return model;
}
