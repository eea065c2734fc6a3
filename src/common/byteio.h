/* Reading and writing multi-byte fields one byte at a time, so that file
 * formats never depend on the host's byte order. */
#ifndef NNDL_COMMON_BYTEIO_H
#define NNDL_COMMON_BYTEIO_H

#include <stdint.h>
#include <string.h>

static inline uint32_t read_u32_be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint32_t read_u32_le(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static inline uint64_t read_u64_le(const uint8_t *p)
{
    return (uint64_t)read_u32_le(p + 4) << 32 | read_u32_le(p);
}

static inline void write_u32_le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void write_u64_le(uint8_t *p, uint64_t v)
{
    write_u32_le(p, (uint32_t)v);
    write_u32_le(p + 4, (uint32_t)(v >> 32));
}

/* IEEE 754 binary32, stored as its bit pattern in little-endian order. */
static inline float read_f32_le(const uint8_t *p)
{
    uint32_t bits = read_u32_le(p);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline void write_f32_le(uint8_t *p, float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    write_u32_le(p, bits);
}

#endif
