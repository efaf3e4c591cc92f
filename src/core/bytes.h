/*
 * bytes.h - internal: little- and big-endian loads and stores, independent of the host's byte
 * order and of alignment. Not part of the public API.
 */
#ifndef BNMLP_BYTES_H
#define BNMLP_BYTES_H

#include <stdint.h>
#include <string.h>

/* The 16-bit little-endian value at p[0..2). */
static inline uint16_t bnmlp_load_le16(const unsigned char *p) {
    return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

/* The 32-bit little-endian value at p[0..4). */
static inline uint32_t bnmlp_load_le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The 64-bit little-endian value at p[0..8). */
static inline uint64_t bnmlp_load_le64(const unsigned char *p) {
    return (uint64_t)bnmlp_load_le32(p) | (uint64_t)bnmlp_load_le32(p + 4) << 32;
}

/* The 32-bit big-endian value at p[0..4). */
static inline uint32_t bnmlp_load_be32(const unsigned char *p) {
    return (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
}

/* The 64-bit big-endian value at p[0..8). */
static inline uint64_t bnmlp_load_be64(const unsigned char *p) {
    return (uint64_t)bnmlp_load_be32(p) << 32 | (uint64_t)bnmlp_load_be32(p + 4);
}

/* Stores v little-endian into p[0..2). */
static inline void bnmlp_store_le16(unsigned char *p, uint16_t v) {
    p[0] = (unsigned char)(v & 0xFF);
    p[1] = (unsigned char)(v >> 8);
}

/* Stores v little-endian into p[0..4). */
static inline void bnmlp_store_le32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i) & 0xFF);
}

/* Stores v little-endian into p[0..8). */
static inline void bnmlp_store_le64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i) & 0xFF);
}

/* The float whose IEEE-754 bits are bits. */
static inline float bnmlp_float_from_bits(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* The IEEE-754 bits of f. */
static inline uint32_t bnmlp_float_bits(float f) {
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bits;
}

/* The double whose IEEE-754 bits are bits. */
static inline double bnmlp_double_from_bits(uint64_t bits) {
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

#endif /* BNMLP_BYTES_H */
