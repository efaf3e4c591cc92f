/* crc32.c - CRC-32 as zlib, PNG and gzip compute it (IEEE 802.3, reflected, polynomial
 * 0xEDB88320, initial value and final xor 0xFFFFFFFF), with a 16-entry table of nibbles. */
#include "core/core.h"

/* The CRC of each 4-bit value, for the reflected polynomial 0xEDB88320. */
static const uint32_t NIBBLE[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u, 0x4DB26158u, 0x5005713Cu,
    0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu, 0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
};

uint32_t bnmlp_crc32_update(uint32_t crc, const void *data, size_t size) {
    const unsigned char *p = data;
    crc = ~crc;
    for (size_t i = 0; i < size; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ NIBBLE[crc & 0x0F];
        crc = (crc >> 4) ^ NIBBLE[crc & 0x0F];
    }
    return ~crc;
}
