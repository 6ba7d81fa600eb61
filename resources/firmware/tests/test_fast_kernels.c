/*
 * The fast int8 kernels produce exactly the reference kernels' bytes: random shapes,
 * paddings, strides, dilations, zero points, per-channel multipliers and shifts (the whole
 * range qb_quantize_multiplier can give) and clamps, including the edges.
 *
 * No libc here: the same file runs on the host (plain and ASan), in the SIMD wasm build
 * and on the Cortex-M4 image under QEMU (tests/targets/), so each build's kernels are
 * checked against its own reference.
 */
#include "qb_kernels.h"
#include "test_fast_kernels.h"

static uint32_t state = 2024;
static int32_t rnd(int32_t lo, int32_t hi) {
  state = state * 1664525u + 1013904223u;
  return lo + (int32_t)((state >> 8) % (uint32_t)(hi - lo + 1));
}

#define MAX_X (2 * 14 * 14 * 20)
#define MAX_W (40 * 5 * 5 * 16)
#define MAX_Y (2 * 14 * 14 * 40)
static int8_t x[MAX_X], x2[MAX_X], w[MAX_W], y_ref[MAX_Y], y_fast[MAX_Y];
static int32_t bias[64], bias_eff[64], mult[64];
static int8_t shift[64];
static int32_t scratch[4096];

static void fill(int8_t *p, int32_t n) {
  int32_t i;
  for (i = 0; i < n; i++) p[i] = (int8_t)rnd(-128, 127);
}

static int same(const int8_t *a, const int8_t *b, int32_t n) {
  int32_t i;
  for (i = 0; i < n; i++)
    if (a[i] != b[i]) return 0;
  return 1;
}

static void poison(int8_t *p, int32_t n) {
  int32_t i;
  for (i = 0; i < n; i++) p[i] = 0x55;
}

/* Mostly the multipliers real scales give; now and then the extremes of the range. Half the
 * time every channel of the layer gets a shift in [-23, -1] (what real scales give), the
 * layers the SIMD build requantizes four channels at a time; now and then one channel of
 * such a layer is out of that range, which sends its group of four to the scalar path. */
static void random_requant(int32_t channels) {
  int32_t c, layer = rnd(0, 1);
  for (c = 0; c < channels; c++) {
    int32_t kind = rnd(0, 9);
    /* now and then a bias far beyond what real layers use: sums past 2^30 */
    bias[c] = rnd(0, 30) ? rnd(-30000, 30000) : (int32_t)(state ^ (state << 7));
    if (layer && rnd(0, 40)) {
      mult[c] = kind == 0 ? 0 : kind == 1 ? rnd(1, 1 << 30) : rnd(1 << 30, 0x7FFFFFFF);
      shift[c] = (int8_t)(kind == 2 ? rnd(-23, -1) : kind == 3 ? rnd(-23, -18) : rnd(-12, -1));
      continue;
    }
    mult[c] = kind == 0 ? 0 : kind == 1 ? rnd(1, 1 << 30) : rnd(1 << 30, 0x7FFFFFFF);
    shift[c] = (int8_t)(kind == 2 ? rnd(-31, 30) : rnd(-12, 1));
  }
}

/* Scratch the fast kernels must not rely on: whatever the previous op left. */
static void dirty_scratch(void) {
  int32_t i;
  for (i = 0; i < (int32_t)(sizeof scratch / sizeof scratch[0]); i++) scratch[i] = (int32_t)(state ^ (uint32_t)i * 2654435761u);
}

static void random_window(qb_conv_int8 *a, int depthwise) {
  a->n = rnd(1, 2);
  a->ih = rnd(1, 14);
  a->iw = rnd(1, 14);
  /* multiples of 8 (the SIMD build reads those windows in place) a quarter of the time */
  a->ic = depthwise ? rnd(1, 20) : rnd(0, 3) ? rnd(1, 12) : 8 * rnd(1, 2);
  a->depth_multiplier = depthwise && rnd(0, 3) == 0 ? 2 : 1;
  a->oc = depthwise ? a->ic * a->depth_multiplier : rnd(1, 40);
  a->fh = rnd(1, 5);
  a->fw = rnd(1, 5);
  a->stride_h = rnd(1, 3);
  a->stride_w = rnd(1, 3);
  a->dil_h = rnd(0, 3) ? 1 : rnd(2, 3);
  a->dil_w = rnd(0, 3) ? 1 : rnd(2, 3);
  a->in_offset = rnd(-127, 128);
  a->out_zp = rnd(-128, 127);
  a->lo = rnd(-128, 0);
  a->hi = rnd(0, 127);
}

/* Returns 1 when the fast kernel ran (and was checked), 0 when it declined the shape. */
static int conv_case(int depthwise) {
  qb_conv_int8 a;
  int32_t padding = rnd(0, 1), out_count;
  uint32_t need;
  random_window(&a, depthwise);
  a.oh = qb_out_size(padding, a.ih, a.fh, a.stride_h, a.dil_h);
  a.ow = qb_out_size(padding, a.iw, a.fw, a.stride_w, a.dil_w);
  if (a.oh <= 0 || a.ow <= 0) return 0;
  a.pad_h = qb_padding(a.stride_h, a.dil_h, a.ih, a.fh, a.oh);
  a.pad_w = qb_padding(a.stride_w, a.dil_w, a.iw, a.fw, a.ow);
  fill(x, a.n * a.ih * a.iw * a.ic);
  fill(w, depthwise ? a.fh * a.fw * a.oc : a.oc * a.fh * a.fw * a.ic);
  random_requant(a.oc);
  a.x = x;
  a.w = w;
  a.bias = rnd(0, 3) ? bias : 0;
  a.mult = mult;
  a.shift = shift;
  a.scratch = scratch;
  need = depthwise ? qb_dwconv_int8_scratch(a.ic) : qb_conv_int8_scratch(a.fh, a.fw, a.ic, a.oc);
  QB_CHECK(need > 0 && need <= sizeof scratch);
  if (depthwise) qb_dwconv_int8_fold_bias(w, a.bias, a.fh * a.fw, a.oc, a.in_offset, bias_eff);
  a.bias_eff = bias_eff;
  out_count = a.n * a.oh * a.ow * a.oc;
  a.y = y_ref;
  if (depthwise) qb_dwconv_int8_ref(&a);
  else qb_conv_int8_ref(&a);
  a.y = y_fast;
  poison(y_fast, out_count);
  dirty_scratch();
#if defined(__wasm_simd128__)
  /* half the in-place convolutions without the repacked filters, as layers over 64 KiB run */
  qb_conv_simd_pack_limit = rnd(0, 1) ? 65536 : 0;
#endif
  if (depthwise ? !qb_dwconv_int8_fast(&a) : !qb_conv_int8_fast(&a)) {
    QB_CHECK(depthwise && a.depth_multiplier != 1); /* the only case a fast variant declines */
    return 0;
  }
  QB_CHECK(same(y_ref, y_fast, out_count));
  return 1;
}

static void fc_case(void) {
  qb_fc_int8 a;
  a.batches = rnd(1, 3);
  a.units = rnd(1, 60);
  a.depth = rnd(1, 90);
  a.in_offset = rnd(-127, 128);
  a.w_offset = 0;
  a.out_zp = rnd(-128, 127);
  a.lo = rnd(-128, 0);
  a.hi = rnd(0, 127);
  fill(x, a.batches * a.depth);
  fill(w, a.units * a.depth);
  random_requant(a.units);
  a.x = x;
  a.w = w;
  a.bias = rnd(0, 3) ? bias : 0;
  a.mult = mult;
  a.shift = shift;
  a.scratch = scratch;
  QB_CHECK(qb_fc_int8_scratch(a.depth, a.units) <= sizeof scratch);
  a.y = y_ref;
  qb_fc_int8_ref(&a);
  a.y = y_fast;
  poison(y_fast, a.batches * a.units);
  dirty_scratch();
  QB_CHECK(qb_fc_int8_fast(&a));
  QB_CHECK(same(y_ref, y_fast, a.batches * a.units));
}

/* Multipliers as the ADD kernel derives them from random scales. */
static void add_case(void) {
  qb_add_int8 a;
  float sa = (float)rnd(1, 1000) / 4096.0f, sb = (float)rnd(1, 1000) / 4096.0f, so = (float)rnd(1, 2000) / 4096.0f;
  double twice_max = 2 * (sa > sb ? sa : sb);
  int s;
  a.n = rnd(1, 500);
  fill(x, a.n);
  fill(x2, a.n);
  a.a = x;
  a.b = x2;
  a.a_offset = rnd(-127, 128);
  a.b_offset = rnd(-127, 128);
  a.out_zp = rnd(-128, 127);
  a.lo = rnd(-128, 0);
  a.hi = rnd(0, 127);
  a.sub = rnd(0, 1);
  qb_quantize_multiplier(sa / twice_max, &a.m1, &s);
  a.s1 = s;
  qb_quantize_multiplier(sb / twice_max, &a.m2, &s);
  a.s2 = s;
  qb_quantize_multiplier(twice_max / ((1 << 20) * (double)so), &a.mo, &s);
  a.so = s;
  if (rnd(0, 3) == 0) {
    /* any multipliers the fast kernel takes (shifts up to 2 on the operands), so that each of
     * its rescale paths (shift above, at and below zero) runs */
    a.m1 = rnd(0, 3) ? rnd(1 << 30, 0x7FFFFFFF) : rnd(0, 1 << 30);
    a.s1 = rnd(-4, 2);
    a.m2 = rnd(0, 3) ? rnd(1 << 30, 0x7FFFFFFF) : rnd(0, 1 << 30);
    a.s2 = rnd(-4, 2);
    a.mo = rnd(1 << 30, 0x7FFFFFFF);
    a.so = rnd(0, 3) ? rnd(-31, -1) : rnd(0, 30);
  }
  /* with and without scratch for the rescale tables */
  a.table = rnd(0, 1) ? (int32_t *)scratch : 0;
  a.y = y_ref;
  qb_add_int8_ref(&a);
  a.y = y_fast;
  poison(y_fast, a.n);
  qb_add_int8_fast(&a);
  QB_CHECK(same(y_ref, y_fast, a.n));
}

void qb_fast_kernel_cases(int32_t rounds) {
  int32_t i, conv = 0, dw = 0;
  for (i = 0; i < rounds; i++) conv += conv_case(0);
  for (i = 0; i < rounds; i++) dw += conv_case(1);
  for (i = 0; i < rounds; i++) fc_case();
  for (i = 0; i < rounds; i++) add_case();
  /* enough cases actually exercised the fast paths */
  QB_CHECK(conv > rounds / 3);
  QB_CHECK(dw > rounds / 3);
}
