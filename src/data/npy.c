/*
 * npy.c - NumPy .npy files: a strict reader of 1-D and 2-D numeric arrays (format 1.0, 2.0, 3.0)
 * into float32 tensors, and a writer of float32 tensors byte-identical to numpy 1.24's np.save.
 *
 * File layout (numpy/lib/format.py): "\x93NUMPY", major, minor, header length (uint16 LE for 1.0,
 * uint32 LE for 2.0 and 3.0), the header (a Python dict literal, padded with spaces and ended by
 * '\n'), then the elements. Every size is checked against the bytes present before allocating.
 */
#include "data/data_files.h"

#include "core/bytes.h"
#include "core/core.h"

#include <stdint.h>
#include <string.h>

#define MAGIC "\x93NUMPY"
#define MAGIC_LENGTH 6

/* Most dimensions parsed from a shape (a valid file may have up to 64; more is refused). */
#define MAX_DIMS 64

/* numpy's ARRAY_ALIGN and GROWTH_AXIS_MAX_DIGITS (header padding of the writer). */
#define ARRAY_ALIGN 64
#define GROWTH_AXIS_MAX_DIGITS 21

/* Element types read. */
typedef enum npy_type { NPY_F4, NPY_F8, NPY_I1, NPY_I4, NPY_I8, NPY_U1, NPY_B1 } npy_type;

/* What the header says. */
typedef struct npy_header {
    npy_type type;      /* element type */
    size_t item_size;   /* bytes per element */
    bool big_endian;    /* '>' byte order */
    bool fortran_order; /* column-major elements */
    size_t dims[2];     /* the first two dimensions */
    size_t ndim;        /* number of dimensions */
    bool seen[3];       /* descr, fortran_order, shape found */
} npy_header;

/* A parser over the header text; offsets in messages are from the start of the file. */
typedef struct npy_parser {
    const unsigned char *text; /* the header */
    size_t length;             /* its bytes */
    size_t pos;                /* next byte */
    size_t base;               /* file offset of text[0] */
    bnmlp_error_detail *detail;
} npy_parser;

/* Reports a FORMAT error at the parser's position. */
static bnmlp_status header_error(npy_parser *p, const char *what) {
    bnmlp_detail_set(p->detail, 0, 0, p->base + p->pos, "bad .npy header: %s", what);
    return BNMLP_ERR_FORMAT;
}

static void skip_spaces(npy_parser *p) {
    while (p->pos < p->length && (p->text[p->pos] == ' ' || p->text[p->pos] == '\t' ||
                                  p->text[p->pos] == '\n' || p->text[p->pos] == '\r'))
        p->pos++;
}

/* Consumes ch (after spaces) or returns false. */
static bool accept(npy_parser *p, char ch) {
    skip_spaces(p);
    if (p->pos < p->length && p->text[p->pos] == (unsigned char)ch) {
        p->pos++;
        return true;
    }
    return false;
}

/* Reads a quoted Python string without escapes into out (room bytes, terminated); a longer string
 * is cut (then *cut is set). */
static bnmlp_status parse_string(npy_parser *p, char *out, size_t room, bool *cut) {
    skip_spaces(p);
    if (p->pos >= p->length || (p->text[p->pos] != '\'' && p->text[p->pos] != '"'))
        return header_error(p, "expected a quoted string");
    unsigned char quote = p->text[p->pos++];
    size_t n = 0;
    *cut = false;
    while (p->pos < p->length && p->text[p->pos] != quote) {
        unsigned char ch = p->text[p->pos];
        if (ch == '\\' || ch < 0x20 || ch >= 0x7F) return header_error(p, "unexpected character in a string");
        if (n + 1 < room)
            out[n++] = (char)ch;
        else
            *cut = true;
        p->pos++;
    }
    if (p->pos >= p->length) return header_error(p, "unterminated string");
    p->pos++;
    out[n] = '\0';
    return BNMLP_OK;
}

/* Reads descr: one of the supported type strings. */
static bnmlp_status parse_descr(npy_parser *p, npy_header *h) {
    skip_spaces(p);
    if (p->pos < p->length && p->text[p->pos] == '[') {
        bnmlp_detail_set(p->detail, 0, 0, p->base + p->pos,
                         "structured arrays (a list descr) are not supported");
        return BNMLP_ERR_UNSUPPORTED;
    }
    size_t at = p->pos;
    char descr[16];
    bool cut;
    bnmlp_status status = parse_string(p, descr, sizeof descr, &cut);
    if (status != BNMLP_OK) return status;
    static const struct {
        const char *name;
        npy_type type;
        size_t size;
    } types[] = {{"f4", NPY_F4, 4}, {"f8", NPY_F8, 8}, {"i1", NPY_I1, 1}, {"i4", NPY_I4, 4},
                 {"i8", NPY_I8, 8}, {"u1", NPY_U1, 1}, {"b1", NPY_B1, 1}};
    char order = descr[0];
    for (size_t i = 0; !cut && i < sizeof types / sizeof types[0]; i++) {
        if (strlen(descr) != 3 || strcmp(descr + 1, types[i].name) != 0) continue;
        bool order_ok = order == '<' || order == '>' || (types[i].size == 1 && order == '|');
        if (!order_ok) break;
        h->type = types[i].type;
        h->item_size = types[i].size;
        h->big_endian = order == '>';
        return BNMLP_OK;
    }
    bnmlp_detail_set(p->detail, 0, 0, p->base + at,
                     "element type '%s%s' is not supported (only <f4 <f8 |i1 <i4 <i8 |u1 |b1 and '>' forms)",
                     descr, cut ? "..." : "");
    return BNMLP_ERR_UNSUPPORTED;
}

/* Reads True or False. */
static bnmlp_status parse_bool(npy_parser *p, bool *value) {
    skip_spaces(p);
    size_t rest = p->length - p->pos;
    if (rest >= 4 && memcmp(p->text + p->pos, "True", 4) == 0) {
        p->pos += 4;
        *value = true;
        return BNMLP_OK;
    }
    if (rest >= 5 && memcmp(p->text + p->pos, "False", 5) == 0) {
        p->pos += 5;
        *value = false;
        return BNMLP_OK;
    }
    return header_error(p, "fortran_order must be True or False");
}

/* Reads a non-negative decimal integer (an optional Python 2 'L' after it). */
static bnmlp_status parse_dim(npy_parser *p, size_t *value) {
    skip_spaces(p);
    size_t v = 0, digits = 0;
    while (p->pos < p->length && p->text[p->pos] >= '0' && p->text[p->pos] <= '9') {
        size_t digit = (size_t)(p->text[p->pos] - '0');
        if (v > (SIZE_MAX - digit) / 10) {
            bnmlp_detail_set(p->detail, 0, 0, p->base + p->pos, "a dimension does not fit size_t");
            return BNMLP_ERR_OVERFLOW;
        }
        v = v * 10 + digit;
        p->pos++;
        digits++;
    }
    if (digits == 0) return header_error(p, "expected a dimension (a non-negative integer)");
    if (p->pos < p->length && p->text[p->pos] == 'L') p->pos++;
    *value = v;
    return BNMLP_OK;
}

/* Reads a shape tuple: (), (n,), (a, b), ... with an optional trailing comma (required for one). */
static bnmlp_status parse_shape(npy_parser *p, npy_header *h) {
    if (!accept(p, '(')) return header_error(p, "shape must be a tuple");
    h->ndim = 0;
    bool comma = false;
    while (!accept(p, ')')) {
        if (h->ndim > 0 && !comma) return header_error(p, "expected ',' or ')' in the shape");
        if (h->ndim == MAX_DIMS) {
            bnmlp_detail_set(p->detail, 0, 0, p->base + p->pos, "more than %d dimensions", MAX_DIMS);
            return BNMLP_ERR_UNSUPPORTED;
        }
        size_t dim;
        bnmlp_status status = parse_dim(p, &dim);
        if (status != BNMLP_OK) return status;
        if (h->ndim < 2) h->dims[h->ndim] = dim;
        h->ndim++;
        comma = accept(p, ',');
    }
    if (h->ndim == 1 && !comma) return header_error(p, "a 1-D shape needs a trailing comma: (n,)");
    return BNMLP_OK;
}

/* Parses the whole header dict into *h. */
static bnmlp_status parse_header(npy_parser *p, npy_header *h) {
    static const char *const keys[3] = {"descr", "fortran_order", "shape"};
    if (!accept(p, '{')) return header_error(p, "expected '{'");
    while (!accept(p, '}')) {
        size_t at = p->pos;
        char key[32];
        bool cut;
        bnmlp_status status = parse_string(p, key, sizeof key, &cut);
        if (status != BNMLP_OK) return status;
        int k = 0;
        while (k < 3 && (cut || strcmp(key, keys[k]) != 0)) k++;
        if (k == 3) {
            p->pos = at;
            return header_error(p, "unexpected key (only 'descr', 'fortran_order', 'shape')");
        }
        if (h->seen[k]) {
            p->pos = at;
            return header_error(p, "a key appears twice");
        }
        h->seen[k] = true;
        if (!accept(p, ':')) return header_error(p, "expected ':'");
        if (k == 0)
            status = parse_descr(p, h);
        else if (k == 1)
            status = parse_bool(p, &h->fortran_order);
        else
            status = parse_shape(p, h);
        if (status != BNMLP_OK) return status;
        if (!accept(p, ',')) {
            if (!accept(p, '}')) return header_error(p, "expected ',' or '}'");
            break;
        }
    }
    skip_spaces(p);
    if (p->pos != p->length) return header_error(p, "unexpected bytes after the dict");
    for (int k = 0; k < 3; k++) {
        if (!h->seen[k]) {
            bnmlp_detail_set(p->detail, 0, 0, p->base, "bad .npy header: the key '%s' is missing", keys[k]);
            return BNMLP_ERR_FORMAT;
        }
    }
    return BNMLP_OK;
}

/* Reads magic, version and header; *data_start gets the offset of the first element. */
static bnmlp_status read_preamble(const unsigned char *bytes, size_t size, npy_header *h, size_t *data_start,
                                  bnmlp_error_detail *detail) {
    size_t compared = size < MAGIC_LENGTH ? size : MAGIC_LENGTH;
    if (memcmp(bytes, MAGIC, compared) != 0) {
        bnmlp_detail_set(detail, 0, 0, 0, "not a .npy file (the magic \\x93NUMPY is missing)");
        return BNMLP_ERR_FORMAT;
    }
    if (size < MAGIC_LENGTH + 2) {
        bnmlp_detail_set(detail, 0, 0, size, "the file ends inside the .npy preamble");
        return BNMLP_ERR_TRUNCATED;
    }
    unsigned major = bytes[6], minor = bytes[7];
    if (!(minor == 0 && (major == 1 || major == 2 || major == 3))) {
        bnmlp_detail_set(detail, 0, 0, 6, ".npy format version %u.%u is not supported (1.0, 2.0, 3.0 are)",
                         major, minor);
        return BNMLP_ERR_VERSION;
    }
    size_t length_size = major == 1 ? 2 : 4, header_at = MAGIC_LENGTH + 2 + length_size;
    if (size < header_at) {
        bnmlp_detail_set(detail, 0, 0, size, "the file ends inside the .npy preamble");
        return BNMLP_ERR_TRUNCATED;
    }
    uint32_t header_length = major == 1 ? bnmlp_load_le16(bytes + 8) : bnmlp_load_le32(bytes + 8);
    if (header_length > size - header_at) {
        bnmlp_detail_set(detail, 0, 0, header_at, "the header says %lu bytes but only %zu follow",
                         (unsigned long)header_length, size - header_at);
        return BNMLP_ERR_TRUNCATED;
    }
    npy_parser parser = {
        .text = bytes + header_at, .length = header_length, .base = header_at, .detail = detail};
    bnmlp_status status = parse_header(&parser, h);
    if (status != BNMLP_OK) return status;
    *data_start = header_at + header_length;
    return BNMLP_OK;
}

/* Element index as a float into *out: false when not finite or beyond float32's range. */
static bool load_element(const npy_header *h, const unsigned char *p, float *out) {
    switch (h->type) {
    case NPY_F4: {
        float f = bnmlp_float_from_bits(h->big_endian ? bnmlp_load_be32(p) : bnmlp_load_le32(p));
        *out = f;
        return f - f == 0.0f;
    }
    case NPY_F8:
        return bnmlp_double_to_float(
            bnmlp_double_from_bits(h->big_endian ? bnmlp_load_be64(p) : bnmlp_load_le64(p)), out);
    case NPY_I4: {
        uint32_t bits = h->big_endian ? bnmlp_load_be32(p) : bnmlp_load_le32(p);
        int32_t v;
        memcpy(&v, &bits, sizeof v);
        *out = (float)v;
        return true;
    }
    case NPY_I8: {
        uint64_t bits = h->big_endian ? bnmlp_load_be64(p) : bnmlp_load_le64(p);
        int64_t v;
        memcpy(&v, &bits, sizeof v);
        *out = (float)v; /* rounded once to the nearest float */
        return true;
    }
    case NPY_I1: *out = (float)(int8_t)p[0]; return true;
    case NPY_U1: *out = (float)p[0]; return true;
    case NPY_B1: *out = p[0] ? 1.0f : 0.0f; return true;
    }
    return false;
}

bnmlp_status bnmlp_npy_read_buffer(const void *data, size_t size, const bnmlp_npy_read_config *config,
                                   bnmlp_tensor **out, bnmlp_error_detail *detail) {
    const bnmlp_npy_read_config defaults = BNMLP_NPY_READ_DEFAULT;
    if (!config) config = &defaults;
    if ((!data && size != 0) || !out || !bnmlp_allocator_is_valid(config->allocator)) {
        bnmlp_detail_set(detail, 0, 0, 0, "a required pointer argument is NULL (or half an allocator)");
        return BNMLP_ERR_NULL_ARGUMENT;
    }
    const unsigned char *bytes = data ? data : (const unsigned char *)"";
    npy_header h = {0};
    size_t start = 0;
    bnmlp_status status = read_preamble(bytes, size, &h, &start, detail);
    if (status != BNMLP_OK) return status;
    if (h.ndim == 0 || h.ndim > 2) {
        bnmlp_detail_set(detail, 0, 0, start, "a %zu-D array cannot become a tensor (1-D and 2-D only)",
                         h.ndim);
        return BNMLP_ERR_UNSUPPORTED;
    }
    size_t rows = h.dims[0], cols = h.ndim == 2 ? h.dims[1] : 1, count, data_bytes;
    if (rows == 0 || cols == 0) {
        bnmlp_detail_set(detail, 0, 0, start, "an empty array (a dimension of 0) cannot become a tensor");
        return BNMLP_ERR_UNSUPPORTED;
    }
    if (!bnmlp_size_mul(rows, cols, &count) || !bnmlp_size_mul(count, h.item_size, &data_bytes) ||
        count > SIZE_MAX / sizeof(float)) {
        bnmlp_detail_set(detail, 0, 0, start, "the array's size does not fit size_t");
        return BNMLP_ERR_OVERFLOW;
    }
    size_t present = size - start;
    if (present < data_bytes) {
        bnmlp_detail_set(detail, 0, 0, size, "the data need %zu bytes but only %zu follow the header",
                         data_bytes, present);
        return BNMLP_ERR_TRUNCATED;
    }
    if (present > data_bytes) {
        bnmlp_detail_set(detail, 0, 0, start + data_bytes, "%zu unexpected bytes after the data",
                         present - data_bytes);
        return BNMLP_ERR_FORMAT;
    }
    bnmlp_tensor *t = bnmlp_tensor_create_with_allocator(rows, cols, config->allocator, &status);
    if (!t) {
        bnmlp_detail_set(detail, 0, 0, 0, "cannot allocate a %zu x %zu tensor: %s", rows, cols,
                         bnmlp_status_string(status));
        return status;
    }
    for (size_t i = 0; i < count; i++) { /* i: the element's place in the file */
        size_t r = h.fortran_order ? i % rows : i / cols, c = h.fortran_order ? i / rows : i % cols;
        if (!load_element(&h, bytes + start + i * h.item_size, &t->data[r * cols + c])) {
            bnmlp_detail_set(detail, 0, 0, start + i * h.item_size,
                             "element (%zu, %zu) is NaN, infinite or beyond float32's range", r, c);
            bnmlp_tensor_free(t);
            return BNMLP_ERR_NOT_FINITE;
        }
    }
    *out = t;
    return BNMLP_OK;
}

bnmlp_status bnmlp_npy_read(const char *path, const bnmlp_npy_read_config *config, bnmlp_tensor **out,
                            bnmlp_error_detail *detail) {
    const bnmlp_npy_read_config defaults = BNMLP_NPY_READ_DEFAULT;
    if (!config) config = &defaults;
    if (!path || !out || !bnmlp_allocator_is_valid(config->allocator)) {
        bnmlp_detail_set(detail, 0, 0, 0, "a required pointer argument is NULL (or half an allocator)");
        return BNMLP_ERR_NULL_ARGUMENT;
    }
    unsigned char *bytes = NULL;
    size_t size = 0;
    bnmlp_status status =
        bnmlp_file_read_all(path, config->allocator, config->max_file_bytes, &bytes, &size, detail);
    if (status != BNMLP_OK) return status;
    status = bnmlp_npy_read_buffer(bytes, size, config, out, detail);
    bnmlp_release(config->allocator, bytes);
    return status;
}

/* ------------------------------------------------------------------------------------------ */
/* Writing                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* Builds numpy 1.24's preamble and header for a C-order '<f4' array of the given shape into out
 * (room >= 256): magic, version, length, dict, growth spaces, padding, '\n'. Returns its length. */
static size_t build_header(unsigned char *out, size_t room, size_t rows, size_t cols, bool one_dimensional) {
    char dict[160];
    int n =
        one_dimensional
            ? snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu,), }", rows)
            : snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }",
                       rows, cols);
    char first[32];
    int first_digits = snprintf(first, sizeof first, "%zu", rows);
    size_t length = (size_t)n + (size_t)(GROWTH_AXIS_MAX_DIGITS - first_digits); /* dict + growth spaces */
    size_t with_newline = length + 1;
    size_t padding = ARRAY_ALIGN - (MAGIC_LENGTH + 2 + 2 + with_newline) % ARRAY_ALIGN;
    size_t header_length = with_newline + padding; /* < 65536: always format 1.0 */
    (void)room;
    memcpy(out, MAGIC, MAGIC_LENGTH);
    out[6] = 1;
    out[7] = 0;
    bnmlp_store_le16(out + 8, (uint16_t)header_length);
    memcpy(out + 10, dict, (size_t)n);
    memset(out + 10 + n, ' ', header_length - 1 - (size_t)n);
    out[10 + header_length - 1] = '\n';
    return 10 + header_length;
}

bnmlp_status bnmlp_npy_write_with_fault(const char *path, const bnmlp_tensor *tensor,
                                        const bnmlp_npy_write_config *config, bnmlp_error_detail *detail,
                                        const bnmlp_file_fault *fault) {
    const bnmlp_npy_write_config defaults = BNMLP_NPY_WRITE_DEFAULT;
    if (!config) config = &defaults;
    if (!path || !tensor || !bnmlp_allocator_is_valid(config->allocator)) {
        bnmlp_detail_set(detail, 0, 0, 0, "a required pointer argument is NULL (or half an allocator)");
        return BNMLP_ERR_NULL_ARGUMENT;
    }
    bnmlp_status status = bnmlp_tensor_check_shape(tensor, 0, 0);
    if (status != BNMLP_OK) {
        bnmlp_detail_set(detail, 0, 0, 0, "the tensor is not valid: %s", bnmlp_status_string(status));
        return status;
    }
    size_t count = tensor->rows * tensor->cols; /* checked above */
    if (!bnmlp_all_finite(tensor->data, count)) {
        bnmlp_detail_set(detail, 0, 0, 0, "the tensor holds NaN or infinity, which the reader refuses");
        return BNMLP_ERR_NOT_FINITE;
    }
    unsigned char buffer[4096];
    size_t used = build_header(buffer, sizeof buffer, tensor->rows, tensor->cols,
                               config->one_dimensional && tensor->cols == 1);
    bnmlp_file_writer w;
    status = bnmlp_file_writer_open(&w, path, config->allocator, fault, detail);
    if (status != BNMLP_OK) return status;
    for (size_t i = 0; i < count && w.status == BNMLP_OK; i++) {
        if (used + 4 > sizeof buffer) {
            bnmlp_file_writer_write(&w, buffer, used);
            used = 0;
        }
        bnmlp_store_le32(buffer + used, bnmlp_float_bits(tensor->data[i]));
        used += 4;
    }
    bnmlp_file_writer_write(&w, buffer, used);
    return bnmlp_file_writer_commit(&w, detail);
}

bnmlp_status bnmlp_npy_write(const char *path, const bnmlp_tensor *tensor,
                             const bnmlp_npy_write_config *config, bnmlp_error_detail *detail) {
    return bnmlp_npy_write_with_fault(path, tensor, config, detail, NULL);
}
