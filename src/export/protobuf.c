/*
 * protobuf.c - the protocol-buffers wire-format writer (protobuf.h): a growable buffer and the
 * few encodings an export needs.
 */
#include "export/protobuf.h"

#include <string.h>

#include "core/bytes.h"
#include "core/core.h"

void bnmlp_pb_init(bnmlp_pb_buffer *b, const bnmlp_allocator *allocator) {
    *b = (bnmlp_pb_buffer){.bytes = NULL, .size = 0, .capacity = 0, .allocator = allocator, .failed = false};
}

void bnmlp_pb_free(bnmlp_pb_buffer *b) {
    bnmlp_release(b->allocator, b->bytes);
    bnmlp_pb_init(b, b->allocator);
}

bool bnmlp_pb_failed(const bnmlp_pb_buffer *b) { return b->failed; }

size_t bnmlp_pb_varint_size(uint64_t value) {
    size_t n = 1;
    while (value >= 0x80) {
        value >>= 7;
        n++;
    }
    return n;
}

size_t bnmlp_pb_encode_varint(unsigned char *out, uint64_t value) {
    size_t n = 0;
    while (value >= 0x80) {
        out[n++] = (unsigned char)((value & 0x7F) | 0x80);
        value >>= 7;
    }
    out[n++] = (unsigned char)value;
    return n;
}

/* Makes room for extra more bytes (capacity doubles, from 256); false (and failed) when it
 * cannot. */
static bool reserve(bnmlp_pb_buffer *b, size_t extra) {
    if (b->failed) return false;
    size_t needed;
    if (!bnmlp_size_add(b->size, extra, &needed)) {
        b->failed = true;
        return false;
    }
    if (needed <= b->capacity) return true;
    size_t capacity = b->capacity ? b->capacity : 256;
    while (capacity < needed) {
        if (capacity > SIZE_MAX / 2) {
            capacity = needed;
            break;
        }
        capacity *= 2;
    }
    unsigned char *bytes = bnmlp_alloc(b->allocator, capacity);
    if (!bytes) {
        b->failed = true;
        return false;
    }
    if (b->size) memcpy(bytes, b->bytes, b->size);
    bnmlp_release(b->allocator, b->bytes);
    b->bytes = bytes;
    b->capacity = capacity;
    return true;
}

void bnmlp_pb_raw(bnmlp_pb_buffer *b, const void *data, size_t size) {
    if (size == 0 || !reserve(b, size)) return;
    memcpy(b->bytes + b->size, data, size);
    b->size += size;
}

void bnmlp_pb_varint(bnmlp_pb_buffer *b, uint64_t value) {
    unsigned char bytes[BNMLP_PB_MAX_VARINT_BYTES];
    bnmlp_pb_raw(b, bytes, bnmlp_pb_encode_varint(bytes, value));
}

void bnmlp_pb_tag(bnmlp_pb_buffer *b, uint32_t field, bnmlp_pb_wire wire) {
    if (field == 0 || field > BNMLP_PB_MAX_FIELD) {
        b->failed = true;
        return;
    }
    bnmlp_pb_varint(b, (uint64_t)field << 3 | (uint64_t)wire);
}

void bnmlp_pb_int(bnmlp_pb_buffer *b, uint32_t field, int64_t value) {
    bnmlp_pb_tag(b, field, BNMLP_PB_VARINT);
    bnmlp_pb_varint(b, (uint64_t)value); /* two's complement: -1 is ten bytes */
}

void bnmlp_pb_float(bnmlp_pb_buffer *b, uint32_t field, float value) {
    unsigned char bytes[4];
    bnmlp_store_le32(bytes, bnmlp_float_bits(value));
    bnmlp_pb_tag(b, field, BNMLP_PB_I32);
    bnmlp_pb_raw(b, bytes, sizeof bytes);
}

void bnmlp_pb_bytes(bnmlp_pb_buffer *b, uint32_t field, const void *data, size_t size) {
    bnmlp_pb_tag(b, field, BNMLP_PB_LEN);
    bnmlp_pb_varint(b, (uint64_t)size);
    bnmlp_pb_raw(b, data, size);
}

void bnmlp_pb_string(bnmlp_pb_buffer *b, uint32_t field, const char *text) {
    bnmlp_pb_bytes(b, field, text, strlen(text));
}

size_t bnmlp_pb_begin(bnmlp_pb_buffer *b, uint32_t field) {
    bnmlp_pb_tag(b, field, BNMLP_PB_LEN);
    return b->size;
}

void bnmlp_pb_end(bnmlp_pb_buffer *b, size_t mark) {
    if (b->failed) return;
    if (mark > b->size) {
        b->failed = true;
        return;
    }
    const size_t length = b->size - mark;
    unsigned char prefix[BNMLP_PB_MAX_VARINT_BYTES];
    const size_t n = bnmlp_pb_encode_varint(prefix, (uint64_t)length);
    if (!reserve(b, n)) return;
    memmove(b->bytes + mark + n, b->bytes + mark, length);
    memcpy(b->bytes + mark, prefix, n);
    b->size += n;
}
