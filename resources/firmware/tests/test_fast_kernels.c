/* The fast int8 kernels produce exactly the reference kernels' bytes (random shapes,
 * paddings, strides, zero points, multipliers and clamps, including the edges). */
#include <string.h>

#include "qb_kernels.h"
#include "qb_test.h"

static uint32_t state = 2024;
static int32_t rnd(int32_t lo, int32_t hi) {
  state = state * 1664525u + 1013904223u;
  return lo + (int32_t)((state >> 8) % (uint32_t)(hi - lo + 1));
}

/* depthwise with multiplier 2 has up to 20 output channels */
static int8_t x[2 * 12 * 12 * 10], w[10 * 5 * 5 * 20], y_ref[2 * 12 * 12 * 20], y_fast[2 * 12 * 12 * 20];
static int32_t bias[64], mult[64], shift[64], scratch[256];

static void random_requant(int32_t channels) {
  int32_t c;
  for (c = 0; c < channels; c++) {
    bias[c] = rnd(-30000, 30000);
    mult[c] = rnd(1 << 30, 0x7FFFFFFF);
    shift[c] = rnd(-12, 1);
  }
}

static void fill(int8_t *p, int32_t n) {
  int32_t i;
  for (i = 0; i < n; i++) p[i] = (int8_t)rnd(-128, 127);
}

static int conv_case(int depthwise) {
  qb_conv_int8 a;
  int32_t padding = rnd(0, 1), out_count;
  memset(&a, 0, sizeof a);
  a.n = rnd(1, 2);
  a.ih = rnd(1, 12);
  a.iw = rnd(1, 12);
  a.ic = rnd(1, 10);
  a.depth_multiplier = depthwise ? rnd(1, 3) == 3 ? 2 : 1 : 1;
  a.oc = depthwise ? a.ic * a.depth_multiplier : rnd(1, 10);
  a.fh = rnd(1, 5);
  a.fw = rnd(1, 5);
  a.stride_h = rnd(1, 3);
  a.stride_w = rnd(1, 3);
  a.dil_h = a.dil_w = 1;
  a.oh = qb_out_size(padding, a.ih, a.fh, a.stride_h, 1);
  a.ow = qb_out_size(padding, a.iw, a.fw, a.stride_w, 1);
  if (a.oh <= 0 || a.ow <= 0) return 0;
  a.pad_h = qb_padding(a.stride_h, 1, a.ih, a.fh, a.oh);
  a.pad_w = qb_padding(a.stride_w, 1, a.iw, a.fw, a.ow);
  a.in_offset = rnd(-127, 128);
  a.out_zp = rnd(-128, 127);
  a.lo = rnd(-128, 0);
  a.hi = rnd(0, 127);
  fill(x, a.n * a.ih * a.iw * a.ic);
  fill(w, depthwise ? a.fh * a.fw * a.oc : a.oc * a.fh * a.fw * a.ic);
  random_requant(a.oc);
  a.x = x;
  a.w = w;
  a.bias = rnd(0, 3) ? bias : NULL;
  a.mult = mult;
  a.shift = shift;
  a.scratch = scratch;
  out_count = a.n * a.oh * a.ow * a.oc;
  a.y = y_ref;
  if (depthwise) qb_dwconv_int8_ref(&a);
  else qb_conv_int8_ref(&a);
  a.y = y_fast;
  memset(y_fast, 0x55, sizeof y_fast);
  if (depthwise ? !qb_dwconv_int8_fast(&a) : !qb_conv_int8_fast(&a)) {
    CHECK(depthwise && a.depth_multiplier != 1); /* the only case the fast variants decline */
    return 0;
  }
  CHECK(memcmp(y_ref, y_fast, (size_t)out_count) == 0);
  return 1;
}

static void fc_case(void) {
  qb_fc_int8 a;
  memset(&a, 0, sizeof a);
  a.batches = rnd(1, 3);
  a.units = rnd(1, 60);
  a.depth = rnd(1, 40);
  a.in_offset = rnd(-127, 128);
  a.out_zp = rnd(-128, 127);
  a.lo = rnd(-128, 0);
  a.hi = rnd(0, 127);
  fill(x, a.batches * a.depth);
  fill(w, a.units * a.depth);
  random_requant(a.units);
  a.x = x;
  a.w = w;
  a.bias = rnd(0, 3) ? bias : NULL;
  a.mult = mult;
  a.shift = shift;
  a.scratch = scratch;
  a.y = y_ref;
  qb_fc_int8_ref(&a);
  a.y = y_fast;
  CHECK(qb_fc_int8_fast(&a));
  CHECK(memcmp(y_ref, y_fast, (size_t)(a.batches * a.units)) == 0);
}

void test_fast_kernels(void) {
  int i, conv = 0, dw = 0;
  for (i = 0; i < 3000; i++) conv += conv_case(0);
  for (i = 0; i < 3000; i++) dw += conv_case(1);
  for (i = 0; i < 2000; i++) fc_case();
  /* enough cases actually exercised the fast paths */
  CHECK(conv > 1000);
  CHECK(dw > 1000);
}
