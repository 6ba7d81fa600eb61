#ifndef QB_CRC32_H
#define QB_CRC32_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* CRC-32/IEEE as zlib's crc32(): pass 0 to start, the previous result to continue. */
uint32_t qb_crc32(uint32_t crc, const uint8_t *data, size_t bytes);

#ifdef __cplusplus
}
#endif
#endif
