#include "qb_flatbuf.h"

/* Little-endian assembly byte by byte: no alignment assumptions, same on every target. */
int qb_fb_u8(const qb_fb *fb, uint32_t pos, uint8_t *out) {
  if (pos >= fb->size) return 0;
  *out = fb->base[pos];
  return 1;
}

int qb_fb_u16(const qb_fb *fb, uint32_t pos, uint16_t *out) {
  if (pos > fb->size || fb->size - pos < 2) return 0;
  *out = (uint16_t)(fb->base[pos] | (fb->base[pos + 1] << 8));
  return 1;
}

int qb_fb_u32(const qb_fb *fb, uint32_t pos, uint32_t *out) {
  const uint8_t *p;
  if (pos > fb->size || fb->size - pos < 4) return 0;
  p = fb->base + pos;
  *out = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
  return 1;
}

int qb_fb_u64(const qb_fb *fb, uint32_t pos, uint64_t *out) {
  uint32_t lo, hi;
  if (!qb_fb_u32(fb, pos, &lo) || pos > UINT32_MAX - 4 || !qb_fb_u32(fb, pos + 4, &hi)) return 0;
  *out = (uint64_t)lo | ((uint64_t)hi << 32);
  return 1;
}

static int vtable_of(const qb_fb *fb, uint32_t table, uint32_t *vt, uint16_t *vt_size, uint16_t *tbl_size) {
  uint32_t soff;
  int64_t v;
  if (!qb_fb_u32(fb, table, &soff)) return 0;
  v = (int64_t)table - (int64_t)(int32_t)soff;
  if (v < 0 || v > (int64_t)fb->size) return 0;
  *vt = (uint32_t)v;
  if (!qb_fb_u16(fb, *vt, vt_size) || !qb_fb_u16(fb, *vt + 2, tbl_size)) return 0;
  if (*vt_size < 4 || (*vt_size & 1) || (uint32_t)*vt_size > fb->size - *vt) return 0;
  if (*tbl_size < 4 || (uint32_t)*tbl_size > fb->size - table) return 0;
  return 1;
}

int qb_fb_table_ok(const qb_fb *fb, uint32_t table) {
  uint32_t vt;
  uint16_t vs, ts;
  return table != 0 && vtable_of(fb, table, &vt, &vs, &ts);
}

uint32_t qb_fb_field(const qb_fb *fb, uint32_t table, int id, uint32_t width) {
  uint32_t vt;
  uint16_t vs, ts, off;
  uint32_t slot = 4u + 2u * (uint32_t)id;
  if (!vtable_of(fb, table, &vt, &vs, &ts)) return QB_FB_BAD;
  if (slot + 2 > vs) return 0;
  if (!qb_fb_u16(fb, vt + slot, &off)) return QB_FB_BAD;
  if (off == 0) return 0;
  if ((uint32_t)off + width > ts) return QB_FB_BAD;
  return table + off;
}

static uint32_t follow(const qb_fb *fb, uint32_t table, int id) {
  uint32_t pos = qb_fb_field(fb, table, id, 4), rel;
  if (pos == 0 || pos == QB_FB_BAD) return pos;
  if (!qb_fb_u32(fb, pos, &rel) || rel == 0 || rel > fb->size - pos) return QB_FB_BAD;
  return pos + rel;
}

uint32_t qb_fb_subtable(const qb_fb *fb, uint32_t table, int id) {
  uint32_t t = follow(fb, table, id);
  if (t == 0 || t == QB_FB_BAD) return t;
  return qb_fb_table_ok(fb, t) ? t : QB_FB_BAD;
}

uint32_t qb_fb_vector(const qb_fb *fb, uint32_t table, int id, uint32_t elem, uint32_t *data, uint32_t *count) {
  uint32_t v = follow(fb, table, id), n;
  *data = 0;
  *count = 0;
  if (v == 0 || v == QB_FB_BAD) return v;
  if (!qb_fb_u32(fb, v, &n)) return QB_FB_BAD;
  if (elem != 0 && n > (fb->size - v - 4) / elem) return QB_FB_BAD;
  *data = v + 4;
  *count = n;
  return v;
}

int qb_fb_scalar(const qb_fb *fb, uint32_t table, int id, uint32_t width, int64_t dflt, int sign, int64_t *out) {
  uint32_t pos = qb_fb_field(fb, table, id, width);
  if (pos == QB_FB_BAD) return 0;
  if (pos == 0) {
    *out = dflt;
    return 1;
  }
  if (width == 1) {
    uint8_t v;
    if (!qb_fb_u8(fb, pos, &v)) return 0;
    *out = sign ? (int64_t)(int8_t)v : (int64_t)v;
  } else if (width == 2) {
    uint16_t v;
    if (!qb_fb_u16(fb, pos, &v)) return 0;
    *out = sign ? (int64_t)(int16_t)v : (int64_t)v;
  } else if (width == 4) {
    uint32_t v;
    if (!qb_fb_u32(fb, pos, &v)) return 0;
    *out = sign ? (int64_t)(int32_t)v : (int64_t)v;
  } else {
    uint64_t v;
    if (!qb_fb_u64(fb, pos, &v)) return 0;
    *out = (int64_t)v;
  }
  return 1;
}
