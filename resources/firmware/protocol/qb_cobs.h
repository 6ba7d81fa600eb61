#ifndef QB_COBS_H
#define QB_COBS_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Worst-case encoded size of `bytes` input bytes (without the 0x00 delimiter). */
#define QB_COBS_MAX_ENCODED(bytes) ((bytes) + (bytes) / 254u + 1u)

/* Encodes into `out` (capacity QB_COBS_MAX_ENCODED(bytes)); returns the encoded length. */
size_t qb_cobs_encode(const uint8_t *in, size_t bytes, uint8_t *out);

/* Decodes `bytes` (no delimiter) into `out`, which may equal `in`. Returns the decoded
 * length, or (size_t)-1 when the input is not valid COBS or exceeds `capacity`. */
size_t qb_cobs_decode(const uint8_t *in, size_t bytes, uint8_t *out, size_t capacity);

#ifdef __cplusplus
}
#endif
#endif
