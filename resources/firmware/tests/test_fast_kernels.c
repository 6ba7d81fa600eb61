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

/* New weights at the same address: what the SIMD build kept as a model's constant weights
 * is stale from here on, as after qb_set_arena. */
static void fill_w(int8_t *p, int32_t n) {
  fill(p, n);
  qb_const_generation++;
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

/* What real layers have on every channel (negative shifts, sums within 2^30), which the
 * Cortex-M4 conv kernel needs on all of them: shifts over its whole range (-22 to -1),
 * biases up to the largest it takes. */
static void real_requant(int32_t channels, int32_t k) {
  int32_t c, room = (1 << 30) - 1 - k * 255 * 128;
  for (c = 0; c < channels; c++) {
    bias[c] = rnd(0, 9) ? rnd(-30000, 30000) : rnd(0, 1) ? room : -room;
    mult[c] = rnd(0, 9) ? rnd(1 << 30, 0x7FFFFFFF) : rnd(0, 1 << 30);
    shift[c] = (int8_t)(rnd(0, 4) ? rnd(-12, -1) : rnd(-22, -1));
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
  /* depthwise: multiples of 8 (the SIMD build's repacked pairs of taps) a third of the time */
  a->ic = depthwise ? (rnd(0, 2) ? rnd(1, 20) : 8 * rnd(1, 2)) : rnd(0, 3) ? rnd(1, 12) : 8 * rnd(1, 2);
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

#if defined(__ARM_FEATURE_DSP) && !defined(QB_NO_DSP)
#define M4_KERNELS 1
static int32_t m4_conv, m4_asm, m4_step, m4_add, m4_fc, m4_chunked;
#endif
static int32_t plane_s2_cases;

/* The shapes of the Cortex-M4 plane path (qb_dwconv_int8_m4.c): 3x3, stride 1 or 2, depth
 * multiplier 1; now and then long lines (up to the path's limit and past it) or many lines
 * (more than one band). */
static void plane_window(qb_conv_int8 *a) {
  int32_t kind = rnd(0, 7);
  a->fh = a->fw = 3;
  a->dil_h = a->dil_w = a->depth_multiplier = 1;
  a->stride_h = a->stride_w = rnd(0, 2) ? 1 : 2;
  if (kind == 0) {
    a->n = 1;
    a->ih = rnd(40, 80);
    a->iw = rnd(16, 32);
    a->ic = rnd(1, 3);
  } else if (kind == 1) {
    a->n = 1;
    a->ih = rnd(1, 4);
    a->iw = rnd(200, 256);
    a->ic = rnd(1, 2);
  }
  a->oc = a->ic;
  /* the activation range most models use (no clamp inside int8) */
  if (rnd(0, 2) == 0) {
    a->lo = -128;
    a->hi = 127;
  }
}

/* Returns 1 when the fast kernel ran (and was checked), 0 when it declined the shape. */
static int conv_case(int depthwise, int32_t *plane_cases) {
  qb_conv_int8 a;
  int32_t padding = rnd(0, 1), out_count, shape = rnd(0, 7);
  uint32_t need, plane_need;
  qb_dw_plane g;
  random_window(&a, depthwise);
  if (depthwise && rnd(0, 1)) plane_window(&a);
  if (!depthwise && shape == 0) {
    /* 1x1 convolution (a matrix product) */
    a.fh = a.fw = 1;
    a.dil_h = a.dil_w = 1;
  } else if (!depthwise && shape == 1) {
    /* one input channel, as KWS's first layer: windows of whole groups of four taps, and not */
    a.ic = 1;
    a.fw = rnd(0, 1) ? 4 : rnd(1, 5);
  } else if (!depthwise && shape == 2) {
    /* windows of whole groups of four taps (the Cortex-M4 kernel's assembly path) */
    a.ic = 4 * rnd(1, 3);
  } else if (!depthwise && shape == 4) {
    /* odd window rows over wide enough images, as the first layers over one or three
     * channels (3x3): the SIMD build's padded image with a tap of weight 0 after each row */
    a.ic = rnd(0, 1) ? 1 : 3;
    a.fh = rnd(2, 5);
    a.fw = 2 * rnd(0, 2) + 1;
    a.dil_w = 1;
    a.stride_w = rnd(1, 2);
    a.iw = rnd(6, 14);
  } else if (!depthwise && shape == 3) {
    /* windows long against the channel count: with the scratch area this op's own size,
     * the Cortex-M4 kernel's block does not fit and it goes a chunk of taps at a time */
    a.ic = 4 * rnd(1, 3);
    a.fh = rnd(3, 5);
    a.fw = rnd(3, 5);
    a.oc = rnd(1, 12);
  }
  /* the activation range all of int8, as after a ReLU whose zero point is -128 */
  if (!depthwise && (rnd(0, 1) || shape == 3)) {
    a.lo = -128;
    a.hi = 127;
  }
  a.oh = qb_out_size(padding, a.ih, a.fh, a.stride_h, a.dil_h);
  a.ow = qb_out_size(padding, a.iw, a.fw, a.stride_w, a.dil_w);
  if (a.oh <= 0 || a.ow <= 0) return 0;
  a.pad_h = qb_padding(a.stride_h, a.dil_h, a.ih, a.fh, a.oh);
  a.pad_w = qb_padding(a.stride_w, a.dil_w, a.iw, a.fw, a.ow);
  fill(x, a.n * a.ih * a.iw * a.ic);
  fill_w(w, depthwise ? a.fh * a.fw * a.oc : a.oc * a.fh * a.fw * a.ic);
  if (!depthwise && rnd(0, 1))
    real_requant(a.oc, a.fh * a.fw * a.ic);
  else
    random_requant(a.oc);
  a.x = x;
  a.w = w;
  a.bias = rnd(0, 3) ? bias : 0;
  a.mult = mult;
  a.shift = shift;
  a.scratch = scratch;
  need = depthwise ? qb_dwconv_int8_scratch(a.ic) : qb_conv_int8_scratch(a.fh, a.fw, a.ic, a.oc);
  plane_need = depthwise ? qb_dwconv_int8_plane_scratch(&a) : 0;
  QB_CHECK(need > 0 && need <= sizeof scratch && plane_need <= sizeof scratch);
  /* a scratch area just as large as this op's own need, or one a larger op sized */
  a.scratch_bytes = rnd(0, 3) && shape != 3 ? sizeof scratch : (need > plane_need ? need : plane_need);
  if (depthwise) qb_dwconv_int8_fold_bias(w, a.bias, a.fh * a.fw, a.oc, a.in_offset, bias_eff);
  else
    qb_conv_int8_fold_bias(w, a.bias, a.fh * a.fw * a.ic, a.oc, a.in_offset, bias_eff);
  a.bias_eff = bias_eff;
  out_count = a.n * a.oh * a.ow * a.oc;
  a.y = y_ref;
  if (depthwise) qb_dwconv_int8_ref(&a);
  else qb_conv_int8_ref(&a);
  a.y = y_fast;
  poison(y_fast, out_count);
  dirty_scratch();
#if defined(__wasm_simd128__)
  /* a third of the convolutions without repacked filters, as layers over 64 KiB run, a
   * third with room for the two-pixel block's packing only (the four-pixel block's needs
   * more when the filter count is not a multiple of 8 or the window odd), so it runs */
  {
    int32_t pick = rnd(0, 2);
    qb_conv_simd_pack_limit = pick == 0 ? 65536 : pick == 1 ? 0 : (a.oc + 3) / 4 * 4 * a.fh * a.fw * a.ic;
  }
#endif
  if (depthwise ? !qb_dwconv_int8_fast(&a) : !qb_conv_int8_fast(&a)) {
    QB_CHECK(depthwise && a.depth_multiplier != 1); /* the only case a fast variant declines */
    return 0;
  }
  QB_CHECK(same(y_ref, y_fast, out_count));
  {
    /* again, as the next invoke: the same filters, which the SIMD build now keeps repacked */
    fill(x, a.n * a.ih * a.iw * a.ic);
    a.y = y_ref;
    if (depthwise) qb_dwconv_int8_ref(&a);
    else qb_conv_int8_ref(&a);
    a.y = y_fast;
    poison(y_fast, out_count);
    dirty_scratch();
    QB_CHECK(depthwise ? qb_dwconv_int8_fast(&a) : qb_conv_int8_fast(&a));
    QB_CHECK(same(y_ref, y_fast, out_count));
  }
#if M4_KERNELS
  if (!depthwise) {
    /* the four-pixel kernel itself, which the dispatch above may have passed over */
    poison(y_fast, out_count);
    if (qb_conv_int8_m4(&a)) {
      QB_CHECK(same(y_ref, y_fast, out_count));
      m4_conv++;
      int32_t k = a.fh * a.fw * a.ic;
      /* windows longer than the scratch area's block: in chunks */
      m4_chunked += a.lo == -128 && a.hi == 127 && a.n * a.oh * a.ow >= 4 && k % 4 == 0 && (uint32_t)k * 8 > a.scratch_bytes;
      if (a.lo == -128 && a.hi == 127 && a.n * a.oh * a.ow >= 4 && a.scratch_bytes == sizeof scratch) {
        /* the assembly paths: windows of whole groups of four taps, and not */
        m4_asm += (a.fh * a.fw * a.ic) % 4 == 0;
        m4_step += (a.fh * a.fw * a.ic) % 4 != 0;
      }
    }
  }
#endif
  if (depthwise && qb_dwconv_int8_plane(&a, &g)) {
    QB_CHECK(plane_need > 0);
    ++*plane_cases;
    if (a.stride_h == 2) ++plane_s2_cases;
#if defined(__ARM_FEATURE_DSP) && !defined(QB_NO_DSP)
    /* the plane path itself, not only through the dispatch */
    poison(y_fast, out_count);
    QB_CHECK(qb_dwconv_int8_m4(&a));
    QB_CHECK(same(y_ref, y_fast, out_count));
#endif
  }
  return 1;
}

static void fc_case(void) {
  qb_fc_int8 a;
  /* one scale for the whole layer, as TFLite quantizes FULLY_CONNECTED by default (the SIMD
   * build's one-scale requantization, when the units are a multiple of 4) */
  int32_t kind = rnd(0, 2), one_scale = rnd(0, 2) == 0;
  a.batches = rnd(1, 3);
  a.units = rnd(1, 60);
  if (one_scale && rnd(0, 3)) a.units = (a.units + 3) & ~3;
  /* multiples of 8 are the SIMD build's cached path */
  a.depth = kind == 0 ? 4 * rnd(1, 22) : kind == 1 ? 8 * rnd(1, 12) : rnd(1, 90);
  a.cacheable = rnd(0, 3) != 0;
  a.in_offset = rnd(-127, 128);
  a.w_offset = 0;
  a.out_zp = rnd(-128, 127);
  a.lo = rnd(-128, 0);
  a.hi = rnd(0, 127);
  fill(x, a.batches * a.depth);
  fill_w(w, a.units * a.depth);
  if (rnd(0, 1))
    real_requant(a.units, a.depth);
  else
    random_requant(a.units);
  if (one_scale) {
    int32_t c;
    for (c = 1; c < a.units; c++) {
      mult[c] = mult[0];
      shift[c] = shift[0];
    }
  }
  if (rnd(0, 2) == 0) {
    a.lo = -128;
    a.hi = 127;
  }
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
  if (a.cacheable) {
    /* again, as the next invoke: the same weights, now repacked, new input rows */
    fill(x, a.batches * a.depth);
    a.y = y_ref;
    qb_fc_int8_ref(&a);
    a.y = y_fast;
    poison(y_fast, a.batches * a.units);
    dirty_scratch();
    QB_CHECK(qb_fc_int8_fast(&a));
    QB_CHECK(same(y_ref, y_fast, a.batches * a.units));
  }
#if M4_KERNELS
  poison(y_fast, a.batches * a.units);
  if (qb_fc_int8_m4(&a)) {
    QB_CHECK(same(y_ref, y_fast, a.batches * a.units));
    m4_fc++;
  }
#endif
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
  /* the activation range all of int8 (a residual ADD without ReLU, or one with zero point -128) */
  if (rnd(0, 1)) {
    a.lo = -128;
    a.hi = 127;
  }
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
#if M4_KERNELS
  /* the Cortex-M4 loop itself, when it takes these constants */
  poison(y_fast, a.n);
  if (qb_add_int8_m4(&a)) {
    QB_CHECK(same(y_ref, y_fast, a.n));
    m4_add++;
  }
#endif
}

/* Floats of every kind the float kernels can meet: mostly ordinary values, now and then zeros
 * of both signs, infinities, NaN, subnormals and values past the int32 range. */
static float random_float(void) {
  union { uint32_t u; float f; } v;
  switch (rnd(0, 15)) {
    case 0: v.u = (uint32_t)rnd(0, 1) << 31; break;
    case 1: v.u = rnd(0, 1) ? 0x7F800000u : 0xFF800000u; break;
    case 2: v.u = 0x7FC00000u | (uint32_t)rnd(0, 0x3FFFFF); break;
    case 3: v.u = (uint32_t)rnd(1, 0x7FFFFF) | ((uint32_t)rnd(0, 1) << 31); break;
    case 4: v.f = (float)rnd(-1000, 1000) * 1e7f; break;
    case 5: v.u = state; break;
    default: v.f = (float)rnd(-300000, 300000) / (float)rnd(1, 2000); break;
  }
  return v.f;
}

/* Same bits, or both NaN (an operation's NaN carries no value to compare). */
static int same_float(const float *a, const float *b, int32_t n) {
  int32_t i;
  for (i = 0; i < n; i++) {
    union { float f; uint32_t u; } p, q;
    p.f = a[i];
    q.f = b[i];
    if (p.u != q.u && !(a[i] != a[i] && b[i] != b[i])) return 0;
  }
  return 1;
}

#define MAX_F 600
static float fa[MAX_F], fb[MAX_F], fy_ref[MAX_F], fy_fast[MAX_F];

/* Fills the strides of an operand whose dims are `od` (1 where it broadcasts). */
static void operand_strides(const int32_t *od, int32_t *s) {
  int32_t i, st = 1;
  for (i = 3; i >= 0; i--) {
    s[i] = od[i] == 1 ? 0 : st;
    st *= od[i];
  }
}

/* Returns 1 when the fast kernel took the broadcast. Operands are the whole output, its last
 * k dimensions (a per-channel vector), one value, or (the declined case) dims set to 1 at
 * random places. */
static int binary_f32_case(void) {
  qb_binary_f32 e;
  int32_t da[4], db[4], i, n = 1, kind_a = rnd(0, 3), kind_b = rnd(0, 3), ka = rnd(0, 3), kb = rnd(0, 3);
  const int32_t ops[3] = {QB_OP_ADD, QB_OP_SUB, QB_OP_MUL};
  do {
    n = 1;
    for (i = 0; i < 4; i++) {
      e.dims[i] = rnd(0, 2) ? 1 : rnd(1, 6);
      if (i == 3) e.dims[i] = rnd(1, 40);
      n *= e.dims[i];
    }
  } while (n > MAX_F);
  for (i = 0; i < 4; i++) {
    da[i] = kind_a == 0 ? e.dims[i] : kind_a == 1 ? (i >= ka ? e.dims[i] : 1) : kind_a == 2 ? 1 : (rnd(0, 1) ? e.dims[i] : 1);
    db[i] = kind_b == 0 ? e.dims[i] : kind_b == 1 ? (i >= kb ? e.dims[i] : 1) : kind_b == 2 ? 1 : (rnd(0, 1) ? e.dims[i] : 1);
  }
  operand_strides(da, e.sa);
  operand_strides(db, e.sb);
  for (i = 0; i < n; i++) {
    fa[i] = random_float();
    fb[i] = random_float();
  }
  e.a = fa;
  e.b = fb;
  e.op = ops[rnd(0, 2)];
  switch (rnd(0, 3)) {
    case 0: qb_act_range_float(QB_ACT_NONE, &e.lo, &e.hi); break;
    case 1: qb_act_range_float(QB_ACT_RELU, &e.lo, &e.hi); break;
    case 2: qb_act_range_float(QB_ACT_RELU6, &e.lo, &e.hi); break;
    default: qb_act_range_float(QB_ACT_RELU_N1_TO_1, &e.lo, &e.hi); break;
  }
  e.y = fy_ref;
  qb_binary_f32_ref(&e);
  e.y = fy_fast;
  for (i = 0; i < n; i++) fy_fast[i] = 12345.0f;
  if (!qb_binary_f32_fast(&e)) {
    QB_CHECK(kind_a == 3 || kind_b == 3);
    return 0;
  }
  QB_CHECK(same_float(fy_ref, fy_fast, n));
  return 1;
}

/* QUANTIZE and DEQUANTIZE on random lengths (the SIMD body and its tail), scales from
 * subnormal to huge, and every int8 zero point. */
static void quantize_case(void) {
  int32_t n = rnd(1, MAX_F), i, zp = rnd(-128, 127);
  float scale = rnd(0, 9) ? (float)rnd(1, 100000) / 1048576.0f : rnd(0, 1) ? 1e-40f : 3e37f;
  for (i = 0; i < n; i++) {
    /* mostly values near a rounding tie, where the rounding direction shows */
    fa[i] = rnd(0, 3) ? ((float)rnd(-700, 700) + 0.5f * (float)rnd(-1, 1)) * scale : random_float();
  }
  fill(y_ref, n);
  qb_quantize_f32_ref(fa, y_ref, n, scale, zp);
  poison(y_fast, n);
  QB_CHECK(qb_quantize_f32_fast(fa, y_fast, n, scale, zp));
  QB_CHECK(same(y_ref, y_fast, n));
  fill(x, n);
  qb_dequantize_i8_ref(x, fy_ref, n, scale, zp);
  QB_CHECK(qb_dequantize_i8_fast(x, fy_fast, n, scale, zp));
  QB_CHECK(same_float(fy_ref, fy_fast, n));
}

#if QB_FUSE_ISLANDS
/* A float island in one pass against its ops' reference kernels one after the other:
 * DEQUANTIZE, zero to four ADD/SUB/MUL by a per-row vector or one value (either operand
 * order, every fused activation), QUANTIZE; rows of whole groups of sixteen with the
 * exporter's MUL-then-ADD (the SIMD build's register path) and any other rows and steps,
 * written in place, below the input or apart from it. Returns 1 when the case has the
 * register path's shape. */
static int island_case(void) {
  static int8_t buf[2 * MAX_F];
  qb_island e;
  const int32_t ops[3] = {QB_OP_ADD, QB_OP_SUB, QB_OP_MUL};
  int32_t bn = rnd(0, 1), row, rows, n, i, s, place = rnd(0, 2);
  row = bn ? 16 * rnd(1, 8) : rnd(1, 70);
  rows = rnd(1, MAX_F / row);
  n = row * rows;
  e.n = n;
  e.row = row;
  e.in_zp = rnd(-128, 127);
  e.out_zp = rnd(-128, 127);
  e.in_scale = rnd(0, 9) ? (float)rnd(1, 100000) / 1048576.0f : random_float();
  e.out_scale = rnd(0, 9) ? (float)rnd(1, 100000) / 1048576.0f : rnd(0, 1) ? 1e-40f : 3e37f;
  e.steps = bn ? 2 : rnd(0, QB_ISLAND_MAX_STEPS);
  for (s = 0; s < e.steps; s++) {
    qb_island_step *st = &e.step[s];
    float *v = s & 1 ? fb + 150 * (s / 2) : fa + 150 * (s / 2);
    st->op = bn ? (s == 0 ? QB_OP_MUL : QB_OP_ADD) : ops[rnd(0, 2)];
    st->swap = bn ? 0 : rnd(0, 1);
    st->per_row = bn || rnd(0, 2) ? 1 : 0;
    for (i = 0; i < (st->per_row ? row : 1); i++) v[i] = rnd(0, 15) ? (float)rnd(-30000, 30000) / 8192.0f : random_float();
    st->v = v;
    switch (rnd(0, 3)) {
      case 0: qb_act_range_float(QB_ACT_NONE, &st->lo, &st->hi); break;
      case 1: qb_act_range_float(QB_ACT_RELU, &st->lo, &st->hi); break;
      case 2: qb_act_range_float(QB_ACT_RELU6, &st->lo, &st->hi); break;
      default: qb_act_range_float(QB_ACT_RELU_N1_TO_1, &st->lo, &st->hi); break;
    }
  }
  /* the input in the second half of buf; the output on it, below it or elsewhere */
  e.x = buf + MAX_F;
  fill(buf + MAX_F, n);
  /* op by op: every float in fy_ref, the int8 result in y_ref */
  qb_dequantize_i8_ref(e.x, fy_ref, n, e.in_scale, e.in_zp);
  for (s = 0; s < e.steps; s++) {
    const qb_island_step *st = &e.step[s];
    qb_binary_f32 b;
    int32_t t[4] = {0, 0, row, 1}, c[4] = {0, 0, 0, 0};
    c[3] = st->per_row;
    b.dims[0] = b.dims[1] = 1;
    b.dims[2] = rows;
    b.dims[3] = row;
    for (i = 0; i < 4; i++) {
      b.sa[i] = st->swap ? c[i] : t[i];
      b.sb[i] = st->swap ? t[i] : c[i];
    }
    b.a = st->swap ? st->v : fy_ref;
    b.b = st->swap ? fy_ref : st->v;
    b.y = fy_fast;
    b.op = st->op;
    b.lo = st->lo;
    b.hi = st->hi;
    qb_binary_f32_ref(&b);
    for (i = 0; i < n; i++) fy_ref[i] = fy_fast[i];
  }
  qb_quantize_f32_ref(fy_ref, y_ref, n, e.out_scale, e.out_zp);
  e.y = place == 0 ? buf + MAX_F : place == 1 ? buf + MAX_F - rnd(1, MAX_F) : y_fast;
  if (place == 2) poison(y_fast, n);
  QB_CHECK(qb_island_fast(&e));
  QB_CHECK(same(y_ref, e.y, n));
  /* an output that starts inside the input past its start is declined */
  if (n > 1) {
    e.x = buf;
    e.y = buf + rnd(1, n - 1);
    QB_CHECK(!qb_island_fast(&e));
  }
  return bn;
}
#endif

void qb_fast_kernel_cases(int32_t rounds) {
  int32_t i, conv = 0, dw = 0, plane = 0, binary = 0;
  for (i = 0; i < rounds; i++) conv += conv_case(0, &plane);
  for (i = 0; i < rounds; i++) dw += conv_case(1, &plane);
  for (i = 0; i < rounds; i++) fc_case();
  for (i = 0; i < rounds; i++) add_case();
  for (i = 0; i < rounds; i++) binary += binary_f32_case();
  for (i = 0; i < rounds; i++) quantize_case();
#if QB_FUSE_ISLANDS
  {
    int32_t island = 0;
    for (i = 0; i < rounds; i++) island += island_case();
    QB_CHECK(island > rounds / 4);
  }
#endif
  /* enough cases actually exercised the fast paths */
  QB_CHECK(conv > rounds / 3);
  QB_CHECK(dw > rounds / 3);
#if M4_KERNELS
  QB_CHECK(m4_conv > rounds / 6);
  QB_CHECK(m4_asm > rounds / 30);
  QB_CHECK(m4_step > rounds / 30);
  QB_CHECK(m4_add > rounds / 10);
  QB_CHECK(m4_fc > rounds / 10);
  QB_CHECK(m4_chunked > rounds / 40);
#endif
#if defined(__wasm_simd128__)
  /* every path of qb_conv_int8_simd() */
  QB_CHECK(qb_conv_simd_paths[QB_SIMD_CONV_C2] > rounds / 6);
  QB_CHECK(qb_conv_simd_paths[QB_SIMD_CONV_C2_DIRECT] > rounds / 12);
  QB_CHECK(qb_conv_simd_paths[QB_SIMD_CONV_C2_PACK16] > rounds / 50);
  QB_CHECK(qb_conv_simd_paths[QB_SIMD_CONV_C2_IMAGE] > rounds / 12);
  QB_CHECK(qb_conv_simd_paths[QB_SIMD_CONV_C2_IMAGE_ODD] > rounds / 25);
  QB_CHECK(qb_conv_simd_paths[QB_SIMD_CONV_C2_PADDED] > rounds / 25);
  QB_CHECK(qb_conv_simd_paths[QB_SIMD_CONV_IN_PLACE_PACKED] > rounds / 100);
  QB_CHECK(qb_conv_simd_paths[QB_SIMD_CONV_IN_PLACE] > rounds / 100);
  QB_CHECK(qb_conv_simd_paths[QB_SIMD_CONV_GATHERED] > rounds / 12);
  QB_CHECK(qb_add_simd_lanes > rounds / 3);
  /* the kept fully connected, depthwise and conv layers, repacked and found again */
  QB_CHECK(qb_simd_gemm_runs[0] > rounds / 8);
  QB_CHECK(qb_simd_gemm_runs[1] > rounds / 8);
  QB_CHECK(qb_simd_gemm_runs[2] > rounds / 16);
  QB_CHECK(qb_simd_gemm_runs[3] > rounds / 16);
  QB_CHECK(qb_simd_gemm_runs[4] > rounds / 16);
  QB_CHECK(qb_simd_gemm_runs[5] > rounds / 16);
  QB_CHECK(qb_simd_gemm_uniform > rounds / 12);
#endif
  QB_CHECK(plane > rounds / 4);
  QB_CHECK(plane_s2_cases > rounds / 16);
  QB_CHECK(binary > rounds / 3);
}
