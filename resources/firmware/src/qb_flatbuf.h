/*
 * A bounds-checked view of a flatbuffer (https://flatbuffers.dev/internals/). Every
 * accessor checks its offset against the buffer size first and reports failure, so a
 * corrupt or hostile model can never make the reader touch memory outside it.
 */
#ifndef QB_FLATBUF_H
#define QB_FLATBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  const uint8_t *base;
  uint32_t size;
} qb_fb;

int qb_fb_u8(const qb_fb *fb, uint32_t pos, uint8_t *out);
int qb_fb_u16(const qb_fb *fb, uint32_t pos, uint16_t *out);
int qb_fb_u32(const qb_fb *fb, uint32_t pos, uint32_t *out);
int qb_fb_u64(const qb_fb *fb, uint32_t pos, uint64_t *out);

/* Validates the table at `table` (its vtable and declared size). */
int qb_fb_table_ok(const qb_fb *fb, uint32_t table);
/* Absolute position of field `id` of a validated table, 0 when absent, UINT32_MAX when bad. */
uint32_t qb_fb_field(const qb_fb *fb, uint32_t table, int id, uint32_t width);
/* Follows the uoffset stored in field `id` to a sub-table; 0 when absent, UINT32_MAX when bad. */
uint32_t qb_fb_subtable(const qb_fb *fb, uint32_t table, int id);
/* Follows field `id` to a vector of `elem` byte elements; 0 when absent, UINT32_MAX when bad.
 * On success *data is the position of element 0 and *count the element count. */
uint32_t qb_fb_vector(const qb_fb *fb, uint32_t table, int id, uint32_t elem, uint32_t *data, uint32_t *count);
/* Scalar field with a default when absent; returns 0 when the field is out of bounds. */
int qb_fb_scalar(const qb_fb *fb, uint32_t table, int id, uint32_t width, int64_t dflt, int sign, int64_t *out);

#define QB_FB_BAD 0xFFFFFFFFu

#endif
