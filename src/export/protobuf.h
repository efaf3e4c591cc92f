/*
 * protobuf.h - internal: a small writer of the protocol-buffers wire format, enough for the
 * messages an export writes (ONNX's ModelProto): varints, tagged scalar fields, length-delimited
 * bytes, strings and nested messages, appended to a growable byte buffer. No schema, no reader,
 * no library: the caller knows its field numbers (onnx.c lists ONNX's).
 *
 * The wire format, as the writer produces it:
 *   varint            7 bits a byte, least significant group first, the high bit set on every
 *                     byte but the last (300 -> AC 02); the shortest form
 *   tag               varint of (field << 3 | wire type)
 *   wire type 0       VARINT: int32, int64, uint64, bool, enum. A negative int32/int64 is the
 *                     varint of its 64-bit two's complement (10 bytes)
 *   wire type 5       I32: float, 4 bytes little-endian
 *   wire type 2       LEN: varint byte count, then the bytes (bytes, string, nested message)
 * A nested message is opened with bnmlp_pb_begin and closed with bnmlp_pb_end, which moves its
 * content up to make room for the length in front of it, so the bytes are canonical (the
 * shortest length prefix) and the same input always gives the same bytes.
 *
 * Errors are sticky: once an allocation (or a size computation) fails, every later call does
 * nothing and bnmlp_pb_failed says so; check once at the end.
 *
 * Usage:
 *     bnmlp_pb_buffer b;
 *     bnmlp_pb_init(&b, allocator);
 *     bnmlp_pb_int(&b, 1, 7);                   // field 1 = 7
 *     size_t graph = bnmlp_pb_begin(&b, 7);     // field 7: a message
 *     bnmlp_pb_string(&b, 2, "name");
 *     bnmlp_pb_end(&b, graph);
 *     if (bnmlp_pb_failed(&b)) ...;             // else b.bytes[0 .. b.size)
 *     bnmlp_pb_free(&b);
 */
#ifndef BNMLP_PROTOBUF_H
#define BNMLP_PROTOBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bnmlp.h"

/* The wire types the writer uses. */
typedef enum bnmlp_pb_wire {
    BNMLP_PB_VARINT = 0, /* a varint */
    BNMLP_PB_LEN = 2,    /* length-delimited */
    BNMLP_PB_I32 = 5     /* 4 bytes, little-endian */
} bnmlp_pb_wire;

/* The largest field number protobuf allows (2^29 - 1). */
#define BNMLP_PB_MAX_FIELD 536870911u

/* Most bytes a varint takes (a 64-bit value). */
#define BNMLP_PB_MAX_VARINT_BYTES 10

/* A growable byte buffer. Fields are read-only to callers. */
typedef struct bnmlp_pb_buffer {
    unsigned char *bytes;             /* size bytes written (NULL while empty) */
    size_t size;                      /* bytes written */
    size_t capacity;                  /* bytes allocated */
    const bnmlp_allocator *allocator; /* allocates bytes (NULL: malloc/free) */
    bool failed;                      /* an allocation or size failed: nothing more is written */
} bnmlp_pb_buffer;

/* An empty buffer that allocates from allocator (NULL: malloc and free; it must outlive b). */
void bnmlp_pb_init(bnmlp_pb_buffer *b, const bnmlp_allocator *allocator);

/* Releases the bytes; b is empty again (and not failed). */
void bnmlp_pb_free(bnmlp_pb_buffer *b);

/* True once a call failed (out of memory, or a size beyond size_t). */
bool bnmlp_pb_failed(const bnmlp_pb_buffer *b);

/* The bytes value takes as a varint, 1 to 10. */
size_t bnmlp_pb_varint_size(uint64_t value);

/* Writes value's varint into out (room for BNMLP_PB_MAX_VARINT_BYTES); returns its length. */
size_t bnmlp_pb_encode_varint(unsigned char *out, uint64_t value);

/* Appends raw bytes (size 0: nothing). */
void bnmlp_pb_raw(bnmlp_pb_buffer *b, const void *data, size_t size);

/* Appends value as a varint. */
void bnmlp_pb_varint(bnmlp_pb_buffer *b, uint64_t value);

/* Appends the tag of field (1 .. BNMLP_PB_MAX_FIELD) with wire type wire. */
void bnmlp_pb_tag(bnmlp_pb_buffer *b, uint32_t field, bnmlp_pb_wire wire);

/* Appends field = value for an int32, int64 or enum field (negative values as 10 bytes). */
void bnmlp_pb_int(bnmlp_pb_buffer *b, uint32_t field, int64_t value);

/* Appends field = value for a float field (wire type 5, the IEEE-754 bits little-endian). */
void bnmlp_pb_float(bnmlp_pb_buffer *b, uint32_t field, float value);

/* Appends field = size bytes of data (a bytes field; data may be NULL when size is 0). */
void bnmlp_pb_bytes(bnmlp_pb_buffer *b, uint32_t field, const void *data, size_t size);

/* Appends field = text (a string field: its bytes up to the terminating 0, not included). */
void bnmlp_pb_string(bnmlp_pb_buffer *b, uint32_t field, const char *text);

/* Appends field's tag as a message and returns a mark for bnmlp_pb_end: the message's fields
 * follow, then bnmlp_pb_end closes it. Messages nest. */
size_t bnmlp_pb_begin(bnmlp_pb_buffer *b, uint32_t field);

/* Closes the message opened at mark: inserts its length (a varint) before its content. */
void bnmlp_pb_end(bnmlp_pb_buffer *b, size_t mark);

#endif /* BNMLP_PROTOBUF_H */
