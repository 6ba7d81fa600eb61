#include "qb_cobs.h"

size_t qb_cobs_encode(const uint8_t *in, size_t bytes, uint8_t *out) {
  size_t code_at = 0, o = 1;
  uint8_t code = 1;
  for (size_t i = 0; i < bytes; i++) {
    if (in[i] == 0) {
      out[code_at] = code;
      code_at = o++;
      code = 1;
    } else {
      out[o++] = in[i];
      if (++code == 0xFF) {
        out[code_at] = code;
        code_at = o++;
        code = 1;
      }
    }
  }
  out[code_at] = code;
  return o;
}

size_t qb_cobs_decode(const uint8_t *in, size_t bytes, uint8_t *out, size_t capacity) {
  size_t i = 0, o = 0;
  while (i < bytes) {
    uint8_t code = in[i++];
    if (code == 0) return (size_t)-1;
    /* Decoding in place is safe: the write position never passes the read position. */
    for (uint8_t k = 1; k < code; k++) {
      if (i >= bytes || o >= capacity || in[i] == 0) return (size_t)-1;
      out[o++] = in[i++];
    }
    if (code != 0xFF && i < bytes) {
      if (o >= capacity) return (size_t)-1;
      out[o++] = 0;
    }
  }
  return o;
}
