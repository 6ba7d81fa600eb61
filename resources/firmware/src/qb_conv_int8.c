/*
 * int8 CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED and same-shape ADD/SUB arithmetic: the
 * reference loops of TFLite's reference_integer_ops (ConvPerChannel,
 * DepthwiseConvPerChannel, FullyConnected, AddElementwise) and faster variants that
 * produce the same bytes.
 *
 * Why the fast variants are exact: the reference accumulates sum((x + in_offset) * w) in
 * int32 that wraps on overflow; everything after the accumulator is shared.
 * - CONV_2D and FULLY_CONNECTED gather each output pixel's window into a row of int16
 *   (x + in_offset, at most 9 bits), with 0 for taps outside the image, and take dot
 *   products of two rows against two filters at a time: the same sum, the same taps.
 * - DEPTHWISE_CONV_2D accumulates sum(x * w) and adds in_offset * sum(w) (folded into the
 *   bias once, at prepare time); taps outside the image read the input zero point, whose
 *   x * w cancels that tap's share of the fold. In wrapping (mod 2^32) arithmetic both are
 *   the reference's number.
 * - The requantization is qb_mbqm's two roundings folded into one 64-bit sum and shift
 *   (see rq_setup(), rq_right()); on the Cortex-M4, for layers whose sums provably stay
 *   within 2^30, SMMULR and a rounding shift (rq_small()).
 * - Same-shape ADD/SUB may tabulate each operand's 256 rescaled values first: the same
 *   function of the same int8 value.
 * tests/test_fast_kernels.c checks every variant on random shapes, paddings, strides,
 * dilations, zero points and multipliers.
 *
 * Three builds of the inner loops: portable C; Cortex-M4 DSP (__ARM_FEATURE_DSP: SXTB16
 * widens four int8 weights into two int16 pairs, SMLAD does two MACs); wasm SIMD128
 * (__wasm_simd128__: i32x4.dot_i16x8_s does eight).
 */
#include "qb_dsp.h"
#include "qb_kernels.h"

#if !QB_DSP && defined(__wasm_simd128__)
#define QB_WASM_SIMD 1
#include <wasm_simd128.h>
/* the four lanes' wrapping sum */
#define HSUM(v) ((int32_t)((uint32_t)wasm_i32x4_extract_lane(v, 0) + (uint32_t)wasm_i32x4_extract_lane(v, 1) + \
                           (uint32_t)wasm_i32x4_extract_lane(v, 2) + (uint32_t)wasm_i32x4_extract_lane(v, 3)))
#endif

#define WRAP_ADD(a, b) ((int32_t)((uint32_t)(a) + (uint32_t)(b)))
#define WRAP_MUL(a, b) ((int32_t)((uint32_t)(a) * (uint32_t)(b)))

/* One requantization of the reference kernels: bias, qb_mbqm, zero point, clamp. */
static int8_t requantize(int32_t acc, const int32_t *bias, int32_t mult, int32_t shift, int32_t zp, int32_t lo, int32_t hi) {
  if (bias) acc = WRAP_ADD(acc, *bias);
  acc = qb_mbqm(acc, mult, (int)shift) + zp;
  return (int8_t)qb_clamp(acc, lo, hi);
}

void qb_conv_int8_ref(const qb_conv_int8 *a) {
  int32_t b, oy, ox, o, ky, kx, c;
  for (o = 0; o < a->oc; o++)
    for (b = 0; b < a->n; b++)
      for (oy = 0; oy < a->oh; oy++)
        for (ox = 0; ox < a->ow; ox++) {
          int32_t acc = 0, y0 = oy * a->stride_h - a->pad_h, x0 = ox * a->stride_w - a->pad_w;
          for (ky = 0; ky < a->fh; ky++) {
            int32_t yy = y0 + a->dil_h * ky;
            if (yy < 0 || yy >= a->ih) continue;
            for (kx = 0; kx < a->fw; kx++) {
              int32_t xx = x0 + a->dil_w * kx;
              const int8_t *xp, *wp;
              if (xx < 0 || xx >= a->iw) continue;
              xp = a->x + ((b * a->ih + yy) * a->iw + xx) * a->ic;
              wp = a->w + ((o * a->fh + ky) * a->fw + kx) * a->ic;
              for (c = 0; c < a->ic; c++) acc = WRAP_ADD(acc, (xp[c] + a->in_offset) * wp[c]);
            }
          }
          a->y[((b * a->oh + oy) * a->ow + ox) * a->oc + o] =
              requantize(acc, a->bias ? a->bias + o : 0, a->mult[o], a->shift[o], a->out_zp, a->lo, a->hi);
        }
}

void qb_dwconv_int8_ref(const qb_conv_int8 *a) {
  int32_t b, oy, ox, c, m, ky, kx, dm = a->depth_multiplier;
  for (c = 0; c < a->ic; c++)
    for (m = 0; m < dm; m++) {
      int32_t o = c * dm + m;
      for (b = 0; b < a->n; b++)
        for (oy = 0; oy < a->oh; oy++)
          for (ox = 0; ox < a->ow; ox++) {
            int32_t acc = 0, y0 = oy * a->stride_h - a->pad_h, x0 = ox * a->stride_w - a->pad_w;
            for (ky = 0; ky < a->fh; ky++) {
              int32_t yy = y0 + a->dil_h * ky;
              if (yy < 0 || yy >= a->ih) continue;
              for (kx = 0; kx < a->fw; kx++) {
                int32_t xx = x0 + a->dil_w * kx;
                if (xx < 0 || xx >= a->iw) continue;
                acc = WRAP_ADD(acc, (a->x[((b * a->ih + yy) * a->iw + xx) * a->ic + c] + a->in_offset) * a->w[(ky * a->fw + kx) * a->oc + o]);
              }
            }
            a->y[((b * a->oh + oy) * a->ow + ox) * a->oc + o] =
                requantize(acc, a->bias ? a->bias + o : 0, a->mult[o], a->shift[o], a->out_zp, a->lo, a->hi);
          }
    }
}

void qb_fc_int8_ref(const qb_fc_int8 *a) {
  int32_t u, b, d;
  for (u = 0; u < a->units; u++)
    for (b = 0; b < a->batches; b++) {
      int32_t acc = 0;
      const int8_t *xp = a->x + b * a->depth, *wp = a->w + u * a->depth;
      for (d = 0; d < a->depth; d++) acc = WRAP_ADD(acc, (wp[d] + a->w_offset) * (xp[d] + a->in_offset));
      a->y[b * a->units + u] = requantize(acc, a->bias ? a->bias + u : 0, a->mult[u], a->shift[u], a->out_zp, a->lo, a->hi);
    }
}

/* ---- rows of int16 and their dot products with int8 filters ------------------------ */

/*
 * A "row block" holds one or two rows of k taps, x + in_offset as int16 (0 for taps
 * outside the image). Portable and SIMD builds: row r at r * row_len(k), natural order.
 * DSP build: the rows are interleaved by groups of four taps, each group stored as
 * t0,t2,t1,t3 (the order SXTB16 and SXTB16-ROR-8 give four filter bytes in), so the dot
 * product streams one pointer with no repacking; the k % 4 tail taps follow, four slots
 * per row, in natural order.
 */
static int32_t row_len(int32_t k) { return (k + 7) & ~7; }


/* Where tap j of row r lives in a block of `rows` rows. */
static inline int32_t slot(int32_t j, int32_t k, int rows, int r) {
#if QB_DSP
  int32_t k4 = k & ~3;
  if (j < k4) return (j >> 2) * 4 * rows + 4 * r + ((j & 1) << 1) + ((j >> 1) & 1);
  return k4 * rows + 4 * r + (j - k4);
#else
  (void)rows;
  return r * row_len(k) + j;
#endif
}

/* Taps j .. j+n-1 of row r: src[i] + offset, or 0 when src is NULL (outside the image). */
static void put(int16_t *block, int rows, int r, int32_t k, int32_t j, const int8_t *src, int32_t n, int32_t offset) {
  int32_t i = 0;
#if QB_DSP
  int32_t k4 = k & ~3;
  /* single taps up to a group boundary (runs of a channel count not divisible by 4) */
  for (; i < n && ((j + i) & 3) && j + i < k4; i++) block[slot(j + i, k, rows, r)] = src ? (int16_t)(src[i] + offset) : 0;
  if (j + i < k4) {
    int32_t g = (k4 - j - i < n - i ? k4 - j - i : n - i) >> 2, step = 4 * rows;
    int16_t *o = block + slot(j + i, k, rows, r);
    i += 4 * g;
    if (src) {
      const int8_t *sp = src + i - 4 * g;
      int16x2_t off2 = (int16x2_t)(((uint32_t)offset & 0xFFFFu) * 0x10001u);
      /* a group is one word in, its two int16 pairs out */
      while (g--) {
        uint32_t v = load32(sp);
        uint32_t even = (uint32_t)__sadd16(__sxtb16((int8x4_t)v), off2), odd = (uint32_t)__sadd16(sxtb16_ror8(v), off2);
        __builtin_memcpy(o, &even, 4);
        __builtin_memcpy(o + 2, &odd, 4);
        sp += 4;
        o += step;
      }
    } else {
      uint32_t zero = 0;
      while (g--) {
        __builtin_memcpy(o, &zero, 4);
        __builtin_memcpy(o + 2, &zero, 4);
        o += step;
      }
    }
  }
#else
  {
    int16_t *o = block + slot(j, k, rows, r);
    if (src)
      for (; i < n; i++) o[i] = (int16_t)(src[i] + offset);
    else
      for (; i < n; i++) o[i] = 0;
  }
#endif
  for (; i < n; i++) block[slot(j + i, k, rows, r)] = src ? (int16_t)(src[i] + offset) : 0;
}

#if !QB_DSP
/* acc[0..3] = (xa.wa, xa.wb, xb.wa, xb.wb) over k taps of a two-row block, wrapping. */
static void dot_2x2(const int16_t *x, const int8_t *wa, const int8_t *wb, int32_t k, int32_t *acc) {
  int32_t i = 0, aa = 0, ab = 0, ba = 0, bb = 0;
  const int16_t *xa = x, *xb = x + row_len(k);
#if QB_WASM_SIMD
  {
    v128_t va = wasm_i32x4_splat(0), vab = va, vba = va, vbb = va;
    for (; i + 8 <= k; i += 8) {
      v128_t fa = wasm_i16x8_load8x8(wa + i), fb = wasm_i16x8_load8x8(wb + i);
      v128_t u = wasm_v128_load(xa + i), v = wasm_v128_load(xb + i);
      va = wasm_i32x4_add(va, wasm_i32x4_dot_i16x8(u, fa));
      vab = wasm_i32x4_add(vab, wasm_i32x4_dot_i16x8(u, fb));
      vba = wasm_i32x4_add(vba, wasm_i32x4_dot_i16x8(v, fa));
      vbb = wasm_i32x4_add(vbb, wasm_i32x4_dot_i16x8(v, fb));
    }
    aa = HSUM(va);
    ab = HSUM(vab);
    ba = HSUM(vba);
    bb = HSUM(vbb);
  }
#endif
  for (; i < k; i++) {
    aa = WRAP_ADD(aa, xa[i] * wa[i]);
    ab = WRAP_ADD(ab, xa[i] * wb[i]);
    ba = WRAP_ADD(ba, xb[i] * wa[i]);
    bb = WRAP_ADD(bb, xb[i] * wb[i]);
  }
  acc[0] = aa;
  acc[1] = ab;
  acc[2] = ba;
  acc[3] = bb;
}

/* acc[0..1] = (x.wa, x.wb) over k taps of a one-row block, wrapping. */
static void dot_1x2(const int16_t *x, const int8_t *wa, const int8_t *wb, int32_t k, int32_t *acc) {
  int32_t i = 0, aa = 0, ab = 0;
#if QB_WASM_SIMD
  v128_t va = wasm_i32x4_splat(0), vb = va;
  for (; i + 8 <= k; i += 8) {
    v128_t u = wasm_v128_load(x + i);
    va = wasm_i32x4_add(va, wasm_i32x4_dot_i16x8(u, wasm_i16x8_load8x8(wa + i)));
    vb = wasm_i32x4_add(vb, wasm_i32x4_dot_i16x8(u, wasm_i16x8_load8x8(wb + i)));
  }
  aa = HSUM(va);
  ab = HSUM(vb);
#endif
  for (; i < k; i++) {
    aa = WRAP_ADD(aa, x[i] * wa[i]);
    ab = WRAP_ADD(ab, x[i] * wb[i]);
  }
  acc[0] = aa;
  acc[1] = ab;
}
#endif

/*
 * Per-channel constants of rq_fast(), computed once per channel for every pixel that uses
 * them. rq()'s two roundings fold into one 64-bit sum: with r = floor(P / 2^31),
 * P = x * m + 2^30, RoundingDivideByPOT(r, right) for right >= 1 is
 * floor((r + 2^(right-1) - [r < 0]) / 2^right), and floors of power-of-two divisions nest,
 * so it is floor((P + 2^(right+30) - [r < 0] * 2^31) / 2^(31+right)): the high word of
 * x * m + k - [x < 0] * 2^31 (k = 2^30 + 2^(right+30)) shifted right by right - 1 (one
 * SMLAL and one ASR on the M4). [x < 0] stands in for [r < 0]: they differ only when
 * 0 <= P < 2^31, where r = 0 and both give 0. Exact for m >= 0, |x * m| < 2^62.
 */
typedef struct {
  int64_t k;
  int32_t mult, left, right;
} rq_channel;

static inline rq_channel rq_setup(int32_t mult, int32_t shift) {
  rq_channel c;
  c.mult = mult;
  c.left = shift > 0 ? shift : 0;
  c.right = shift > 0 ? 0 : -shift;
  /* 2^30 + 2^(right+30) as its two words, without a variable 64-bit shift */
  c.k = c.right == 0 ? (int64_t)1 << 30
                     : (int64_t)(((uint64_t)(c.right >= 2 ? 1u << (c.right - 2) : 0u) << 32) | (c.right == 1 ? 0xC0000000u : 0x40000000u));
  return c;
}

/* qb_mbqm(x >> left, mult, shift) for x already shifted left by c->left. */
static inline int32_t rq_core(int32_t x, const rq_channel *c) {
  int64_t p = (int64_t)x * c->mult + c->k;
  if (c->right == 0) return (int32_t)(p >> 31);
  p += (int64_t)(x >> 31) * ((int64_t)1 << 31);
  return (int32_t)(p >> 32) >> (c->right - 1);
}

/* rq() with its channel constants hoisted; lo and hi are already minus the zero point. */
static inline int8_t rq_fast(int32_t acc, const rq_channel *c, int32_t zp, int32_t lo, int32_t hi) {
  int32_t q = rq_core((int32_t)((uint32_t)acc << c->left), c);
  q = q < lo ? lo : q;
  q = q > hi ? hi : q;
  return (int8_t)(q + zp);
}

/*
 * rq_core() for a channel with shift <= -1 (no left shift, right >= 1: the shifts real
 * scales give, except the rare multiplier >= 0.5), sh = right - 1: its sign term
 * subtracted as the sign bit itself, so with kp (rq_setup's k) hoisted per channel an
 * output is one SMLAL, three instructions for the sign and one ASR.
 */
static inline int32_t rq_right(int32_t acc, int32_t mult, int64_t kp, int32_t sh) {
  int64_t p = kp + (int64_t)acc * mult - (int64_t)((uint32_t)acc & 0x80000000u);
  return (int32_t)(p >> 32) >> sh;
}

static inline int8_t clamp_zp(int32_t q, int32_t zp, int32_t lo, int32_t hi) {
  q = q < lo ? lo : q;
  q = q > hi ? hi : q;
  return (int8_t)(q + zp);
}

#if QB_DSP
/*
 * qb_mbqm(acc, mult, -right) for right >= 1 and |acc| < 2^30 in five instructions:
 * SaturatingRoundingDoublingHighMul is floor((acc * m + 2^30) / 2^31) (see rq()), which for
 * |acc| < 2^30 is SMMULR's floor((2acc * m + 2^31) / 2^32); then |r| < 2^30, so
 * RoundingDivideByPOT's floor((r + 2^(right-1) - [r < 0]) / 2^right) cannot overflow.
 * c = 2^(right-1).
 */
static inline int32_t rq_small(int32_t acc, int32_t mult, int32_t right, int32_t c) {
  int32_t r;
  __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"((int32_t)((uint32_t)acc << 1)), "r"(mult));
  return (r + (r >> 31) + c) >> right;
}

/* Whether every accumulator of k (x + in_offset) * w products (each within +-255 * 128) plus
 * one of these biases stays within +-2^30, as rq_small() needs. */
static int small_accumulators(int32_t k, const int32_t *bias, int32_t n) {
  int64_t most = (int64_t)k * 255 * 128;
  int32_t i, b = 0;
  for (i = 0; bias && i < n; i++) {
    int64_t v = bias[i] < 0 ? -(int64_t)bias[i] : bias[i];
    if (v > b) b = (int32_t)(v > 0x7FFFFFFF ? 0x7FFFFFFF : v);
  }
  return most + b < ((int64_t)1 << 30);
}
#endif

/* rq_setup's k for shift <= -1, its two words built directly. */
static inline int64_t k_right(int32_t shift) {
  return shift == -1 ? (int64_t)0xC0000000u : (int64_t)(((uint64_t)(1u << (-shift - 2)) << 32) | 0x40000000u);
}

/* qb_mbqm(acc, mult, shift) + zp clamped to [lo, hi] for one output whose channel
 * constants are not shared (depthwise), where rq_setup's 64-bit constant costs more than
 * it saves: for mult >= 0 (every multiplier qb_quantize_multiplier makes),
 * SaturatingRoundingDoublingHighMul only saturates for mult == INT32_MIN and equals
 * floor((x * m + 2^30) / 2^31); RoundingDivideByPOT is a compare against a sign-dependent
 * threshold; clamping to [lo - zp, hi - zp] before adding zp equals qb_mbqm's
 * +-2^30 clamp followed by [lo, hi]. */
static inline int8_t rq(int32_t acc, int32_t mult, int32_t shift, int32_t zp, int32_t lo, int32_t hi) {
  int32_t left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
  int32_t x = (int32_t)((uint32_t)acc << left);
  int32_t r = (int32_t)(((int64_t)x * mult + (1 << 30)) >> 31);
  int32_t mask = (int32_t)((1u << right) - 1u);
  r = (r >> right) + ((r & mask) > (mask >> 1) + (r < 0));
  r = r < lo - zp ? lo - zp : (r > hi - zp ? hi - zp : r);
  return (int8_t)(r + zp);
}

#if !QB_DSP
/* y0[o] (and y1[o] when acc1 is set) from the accumulators of every channel. */
static void requantize_rows(const int32_t *acc0, const int32_t *acc1, const int32_t *bias, const int32_t *mult, const int8_t *shift,
                            int32_t n, int32_t zp, int32_t lo, int32_t hi, int8_t *y0, int8_t *y1) {
  int32_t o;
  lo -= zp;
  hi -= zp;
  /* one loop per row count and bias presence, so none of them tests either per output */
  if (acc1 && bias)
    for (o = 0; o < n; o++) {
      rq_channel c = rq_setup(mult[o], shift[o]);
      y0[o] = rq_fast(WRAP_ADD(acc0[o], bias[o]), &c, zp, lo, hi);
      y1[o] = rq_fast(WRAP_ADD(acc1[o], bias[o]), &c, zp, lo, hi);
    }
  else
    for (o = 0; o < n; o++) {
      rq_channel c = rq_setup(mult[o], shift[o]);
      int32_t b = bias ? bias[o] : 0;
      y0[o] = rq_fast(WRAP_ADD(acc0[o], b), &c, zp, lo, hi);
      if (acc1) y1[o] = rq_fast(WRAP_ADD(acc1[o], b), &c, zp, lo, hi);
    }
}

/*
 * The rows of a block (one or two) against every filter of w (oc filters of k int8),
 * requantized into y[r * y_stride + o]. Filters go two at a time; an odd last filter is
 * paired with itself. acc holds 2 * oc int32.
 */
static void rows_times_filters(const int16_t *block, int rows, const int8_t *w, int32_t k, int32_t oc, const int32_t *bias,
                               const int32_t *mult, const int8_t *shift, int32_t zp, int32_t lo, int32_t hi, int32_t *acc,
                               int small, int8_t *y, int32_t y_stride) {
  int32_t o;
  (void)small; /* the Cortex-M4 build's requantization choice */
  for (o = 0; o < oc; o += 2) {
    int32_t o2 = o + 1 < oc ? o + 1 : o, d[4];
    if (rows == 2) {
      dot_2x2(block, w + o * k, w + o2 * k, k, d);
      acc[oc + o] = d[2];
      acc[oc + o2] = d[3];
    } else {
      dot_1x2(block, w + o * k, w + o2 * k, k, d);
    }
    acc[o] = d[0];
    acc[o2] = d[1];
  }
  requantize_rows(acc, rows == 2 ? acc + oc : 0, bias, mult, shift, oc, zp, lo, hi, y, y + y_stride);
}

#else /* QB_DSP */

/* Adds (xa.wa, xa.wb, xb.wa, xb.wb) over k taps of a two-row block to aa, ab, ba, bb. */
static inline void dot_2x2_dsp(const int16_t *x, const int8_t *wa, const int8_t *wb, int32_t k, int32_t *paa, int32_t *pab,
                               int32_t *pba, int32_t *pbb) {
  int32_t aa = *paa, ab = *pab, ba = *pba, bb = *pbb, n = k >> 2;
  if (n > 0) {
    /* Eight taps per pass (32 MACs in 32 instructions); an odd group of four enters at the
     * second half. A group's four words (both rows) come in one LDM, hence the fixed
     * registers in ascending order. gcc's own schedule of the same loop spills. */
    register uint32_t xa02 __asm__("r8"), xa13 __asm__("r9"), xb02 __asm__("r10"), xb13 __asm__("r11");
    uint32_t w, t;
#define QB_HALF                                   \
  "ldm %[x]!, {r8, r9, r10, r11}\n\t"             \
  "ldr %[w], [%[wa]], #4\n\t"                     \
  "sxtb16 %[t], %[w]\n\t"                         \
  "sxtb16 %[w], %[w], ror #8\n\t"                 \
  "smlad %[aa], %[xa02], %[t], %[aa]\n\t"         \
  "smlad %[aa], %[xa13], %[w], %[aa]\n\t"         \
  "smlad %[ba], %[xb02], %[t], %[ba]\n\t"         \
  "smlad %[ba], %[xb13], %[w], %[ba]\n\t"         \
  "ldr %[w], [%[wb]], #4\n\t"                     \
  "sxtb16 %[t], %[w]\n\t"                         \
  "sxtb16 %[w], %[w], ror #8\n\t"                 \
  "smlad %[ab], %[xa02], %[t], %[ab]\n\t"         \
  "smlad %[ab], %[xa13], %[w], %[ab]\n\t"         \
  "smlad %[bb], %[xb02], %[t], %[bb]\n\t"         \
  "smlad %[bb], %[xb13], %[w], %[bb]\n\t"
    __asm__ volatile(
        "lsrs %[n], %[n], #1\n\t"
        "bcc 1f\n\t"
        "adds %[n], %[n], #1\n\t"
        "b 2f\n"
        "1:\n\t" QB_HALF "2:\n\t" QB_HALF
        "subs %[n], %[n], #1\n\t"
        "bne 1b"
        : [x] "+r"(x), [wa] "+r"(wa), [wb] "+r"(wb), [n] "+r"(n), [aa] "+r"(aa), [ab] "+r"(ab), [ba] "+r"(ba), [bb] "+r"(bb),
          [xa02] "=&r"(xa02), [xa13] "=&r"(xa13), [xb02] "=&r"(xb02), [xb13] "=&r"(xb13), [w] "=&r"(w), [t] "=&r"(t)
        :
        : "cc", "memory");
#undef QB_HALF
  }
  for (k &= 3, n = 0; n < k; n++) {
    aa = WRAP_ADD(aa, x[n] * wa[n]);
    ab = WRAP_ADD(ab, x[n] * wb[n]);
    ba = WRAP_ADD(ba, x[4 + n] * wa[n]);
    bb = WRAP_ADD(bb, x[4 + n] * wb[n]);
  }
  *paa = aa;
  *pab = ab;
  *pba = ba;
  *pbb = bb;
}

/* Adds (x.wa, x.wb) over k taps of a one-row block to aa, ab. */
static inline void dot_1x2_dsp(const int16_t *x, const int8_t *wa, const int8_t *wb, int32_t k, int32_t *paa, int32_t *pab) {
  int32_t aa = *paa, ab = *pab, n = k >> 2, i;
  while (n--) {
    uint32_t w = load32(wa), v = load32(wb);
    int16x2_t x02 = (int16x2_t)load32(x), x13 = (int16x2_t)load32(x + 2);
    aa = __smlad(x02, __sxtb16((int8x4_t)w), aa);
    aa = __smlad(x13, sxtb16_ror8(w), aa);
    ab = __smlad(x02, __sxtb16((int8x4_t)v), ab);
    ab = __smlad(x13, sxtb16_ror8(v), ab);
    wa += 4;
    wb += 4;
    x += 4;
  }
  for (k &= 3, i = 0; i < k; i++) {
    aa = WRAP_ADD(aa, x[i] * wa[i]);
    ab = WRAP_ADD(ab, x[i] * wb[i]);
  }
  *paa = aa;
  *pab = ab;
}

/* y0[o] (and y1[o] when two rows) from the accumulators of every channel. */
static inline __attribute__((always_inline)) void requantize_dsp(const int32_t *acc0, const int32_t *acc1, int rows,
                                                                 const int32_t *mult, const int8_t *shift, int32_t n, int32_t zp,
                                                                 int32_t lo, int32_t hi, int small, int8_t *y0, int8_t *y1) {
  int32_t o;
  lo -= zp;
  hi -= zp;
  for (o = 0; o < n; o++) {
    int32_t s = shift[o], m = mult[o];
    if (small && s < 0) {
      int32_t c = 1 << (-s - 1);
      y0[o] = clamp_zp(rq_small(acc0[o], m, -s, c), zp, lo, hi);
      if (rows == 2) y1[o] = clamp_zp(rq_small(acc1[o], m, -s, c), zp, lo, hi);
    } else if (s < 0) {
      int64_t kp = k_right(s);
      y0[o] = clamp_zp(rq_right(acc0[o], m, kp, -s - 1), zp, lo, hi);
      if (rows == 2) y1[o] = clamp_zp(rq_right(acc1[o], m, kp, -s - 1), zp, lo, hi);
    } else {
      rq_channel c = rq_setup(m, s);
      y0[o] = rq_fast(acc0[o], &c, zp, lo, hi);
      if (rows == 2) y1[o] = rq_fast(acc1[o], &c, zp, lo, hi);
    }
  }
}

/*
 * rows_times_filters() with each filter pair's accumulators started at the bias; the
 * requantization follows in its own loop, where few values are live (gcc spilled a dozen
 * of them per filter pair when both shared one loop).
 */
static inline __attribute__((always_inline)) void filter_pairs(const int16_t *block, int rows, const int8_t *w, int32_t k, int32_t oc,
                                                               const int32_t *bias, const int32_t *mult, const int8_t *shift, int32_t zp,
                                                               int32_t lo, int32_t hi, int32_t *acc, int small, int8_t *y, int32_t y_stride) {
  int32_t o, *acc1 = acc + oc, *p0 = acc, *p1 = acc1;
  const int8_t *wo = w;
  /* pointers walk the filters and accumulators: no index arithmetic per pair */
  for (o = 0; o + 1 < oc; o += 2, wo += 2 * k, p0 += 2, p1 += 2) {
    int32_t aa = bias ? bias[o] : 0, ab = bias ? bias[o + 1] : 0, ba = aa, bb = ab;
    if (rows == 2) {
      dot_2x2_dsp(block, wo, wo + k, k, &aa, &ab, &ba, &bb);
      p1[0] = ba;
      p1[1] = bb;
    } else {
      dot_1x2_dsp(block, wo, wo + k, k, &aa, &ab);
    }
    p0[0] = aa;
    p0[1] = ab;
  }
  if (o < oc) {
    /* an odd last filter, paired with itself */
    int32_t aa = bias ? bias[o] : 0, ab = aa, ba = aa, bb = aa;
    if (rows == 2) {
      dot_2x2_dsp(block, wo, wo, k, &aa, &ab, &ba, &bb);
      p1[0] = ba;
    } else {
      dot_1x2_dsp(block, wo, wo, k, &aa, &ab);
    }
    p0[0] = aa;
  }
  requantize_dsp(acc, acc1, rows, mult, shift, oc, zp, lo, hi, small, y, y + y_stride);
}

/* one copy per row count, so that neither tests it per filter pair */
static void rows_times_filters(const int16_t *block, int rows, const int8_t *w, int32_t k, int32_t oc, const int32_t *bias,
                               const int32_t *mult, const int8_t *shift, int32_t zp, int32_t lo, int32_t hi, int32_t *acc,
                               int small, int8_t *y, int32_t y_stride) {
  if (rows == 2)
    filter_pairs(block, 2, w, k, oc, bias, mult, shift, zp, lo, hi, acc, small, y, y_stride);
  else
    filter_pairs(block, 1, w, k, oc, bias, mult, shift, zp, lo, hi, acc, small, y, y_stride);
}
#endif

/* ---- CONV_2D ----------------------------------------------------------------------- */

/* A block of two rows, then 2 * oc accumulators. */
uint32_t qb_conv_int8_scratch(int32_t fh, int32_t fw, int32_t ic, int32_t oc) {
  int64_t k = (int64_t)fh * fw * ic;
  if (k <= 0 || k > 0x1000000 || oc <= 0 || oc > 0x1000000) return 0;
  return (uint32_t)(2 * row_len((int32_t)k) * 2 + 8 * oc);
}

/* Row r of the block: output pixel p's window in filter order. */
static void gather(const qb_conv_int8 *a, int32_t b, int32_t p, int16_t *block, int rows, int r, int32_t k) {
  int32_t oy = p / a->ow, ox = p % a->ow, ky, kx, j = 0, run = a->fw * a->ic;
  int32_t y0 = oy * a->stride_h - a->pad_h, x0 = ox * a->stride_w - a->pad_w;
  for (ky = 0; ky < a->fh; ky++) {
    int32_t yy = y0 + a->dil_h * ky;
    const int8_t *row;
    if (yy < 0 || yy >= a->ih) {
      put(block, rows, r, k, j, 0, run, 0);
      j += run;
      continue;
    }
    row = a->x + (b * a->ih + yy) * a->iw * a->ic;
    if (a->dil_w == 1 && x0 >= 0 && x0 + a->fw <= a->iw) {
      put(block, rows, r, k, j, row + x0 * a->ic, run, a->in_offset);
      j += run;
      continue;
    }
    for (kx = 0; kx < a->fw; kx++, j += a->ic) {
      int32_t xx = x0 + a->dil_w * kx;
      put(block, rows, r, k, j, xx < 0 || xx >= a->iw ? 0 : row + xx * a->ic, a->ic, a->in_offset);
    }
  }
}

int qb_conv_int8_fast(const qb_conv_int8 *a) {
  int32_t k = a->fh * a->fw * a->ic, pixels = a->oh * a->ow, b, p;
  int16_t *block = (int16_t *)a->scratch;
  int32_t *acc = (int32_t *)(void *)(block + 2 * row_len(k));
#if QB_DSP
  int small;
  if (qb_conv_int8_m4(a)) return 1;
  small = small_accumulators(k, a->bias, a->oc);
#else
  int small = 0;
#endif
#if QB_WASM_SIMD
  if (qb_conv_int8_simd(a)) return 1;
#endif
  for (b = 0; b < a->n; b++)
    for (p = 0; p < pixels; p += 2) {
      int rows = p + 1 < pixels ? 2 : 1;
      gather(a, b, p, block, rows, 0, k);
      if (rows == 2) gather(a, b, p + 1, block, rows, 1, k);
      rows_times_filters(block, rows, a->w, k, a->oc, a->bias, a->mult, a->shift, a->out_zp, a->lo, a->hi, acc, small,
                         a->y + (b * pixels + p) * a->oc, a->oc);
    }
  return 1;
}

/* ---- FULLY_CONNECTED --------------------------------------------------------------- */

uint32_t qb_fc_int8_scratch(int32_t depth, int32_t units) { return qb_conv_int8_scratch(1, 1, depth, units); }

/* A 1x1 convolution over `batches` pixels; the weights' zero point must be 0 (int8
 * weights are symmetric in the TFLite quantization spec). */
int qb_fc_int8_fast(const qb_fc_int8 *a) {
  int16_t *block = (int16_t *)a->scratch;
  int32_t *acc = (int32_t *)(void *)(block + 2 * row_len(a->depth)), b;
#if QB_DSP
  int small = small_accumulators(a->depth, a->bias, a->units);
#else
  int small = 0;
#endif
  if (a->w_offset != 0) return 0;
#if QB_DSP
  if (qb_fc_int8_m4(a)) return 1;
#endif
#if QB_WASM_SIMD
  if (qb_fc_int8_simd(a)) return 1;
#endif
  for (b = 0; b < a->batches; b += 2) {
    int rows = b + 1 < a->batches ? 2 : 1;
    put(block, rows, 0, a->depth, 0, a->x + b * a->depth, a->depth, a->in_offset);
    if (rows == 2) put(block, rows, 1, a->depth, 0, a->x + (b + 1) * a->depth, a->depth, a->in_offset);
    rows_times_filters(block, rows, a->w, a->depth, a->units, a->bias, a->mult, a->shift, a->out_zp, a->lo, a->hi, acc, small,
                       a->y + b * a->units, a->units);
  }
  return 1;
}

/* ---- DEPTHWISE_CONV_2D ------------------------------------------------------------- */

/* Windows up to this many taps go through the fast kernel (a pointer per tap on the stack). */
#define QB_DW_MAX_TAPS 64

uint32_t qb_dwconv_int8_scratch(int32_t ic) {
  if (ic <= 0 || ic > 0x1000000) return 0;
  /* one int64 requantization constant per channel (the Cortex-M4 kernel's), a row of zero
   * points, then one int32 accumulator per channel */
  return (uint32_t)(8 * ic + ((ic + 3) & ~3) + 4 * ic);
}

/* Plane lines of at most this many int16: the M4 kernel reaches two lines ahead through
 * LDRD's immediate offset, at most 1020 bytes, so the line pitch is built into its code. */
#define QB_DW_PLANE_MAX_UP 254
/* Shapes with many lines fill the planes in bands that stay within this many bytes, so the
 * scratch does not grow with the image: two planes at stride 1 (a pair of channels per
 * copy of the input), one at stride 2, whose layers are smaller than the convolutions
 * around them (the sample's arena stays as it was). */
#define QB_DW_PLANE_BYTES 4096u
#define QB_DW_PLANE_BYTES_S2 1024u

/* Plane line pitch for lu outputs along a line: the taps of its pairs of outputs plus two,
 * rounded up to one of the pitches the M4 kernel is built for (16, 32, 64, 128, 254
 * int16); 0 beyond the last. */
static int32_t plane_up(int32_t lu, int32_t stride) {
  int32_t need = lu > QB_DW_PLANE_MAX_UP ? QB_DW_PLANE_MAX_UP + 1 : 2 * stride * ((lu + 1) / 2) + 2, up = 16;
  while (up < need && up < 128) up *= 2;
  return up >= need ? up : need <= QB_DW_PLANE_MAX_UP ? QB_DW_PLANE_MAX_UP : 0;
}

int qb_dwconv_int8_plane(const qb_conv_int8 *a, qb_dw_plane *g) {
  int32_t up_w, up_h, s = a->stride_h, lines;
  int along_h;
  if (a->fh != 3 || a->fw != 3 || (s != 1 && s != 2) || a->stride_w != s || a->dil_h != 1 || a->dil_w != 1 || a->depth_multiplier != 1 ||
      a->n <= 0 || a->ic <= 0 || a->oc != a->ic || a->oh <= 0 || a->ow <= 0 || a->ih <= 0 || a->iw <= 0 || a->oh > 0x10000 ||
      a->ow > 0x10000 || a->ih > s * a->oh + 2 || a->iw > s * a->ow + 2)
    return 0;
  up_w = plane_up(a->ow, s);
  up_h = plane_up(a->oh, s);
  if (!up_w && !up_h) return 0;
  /* fewer, longer lines: each line costs a fixed setup and up to one wasted output */
  if (!up_w) along_h = 1;
  else if (!up_h) along_h = 0;
  else along_h = (int64_t)(2 * ((a->oh + 1) / 2) + 4) * a->ow < (int64_t)(2 * ((a->ow + 1) / 2) + 4) * a->oh;
  g->along_h = along_h;
  g->stride = s;
  g->lu = along_h ? a->oh : a->ow;
  g->lv = along_h ? a->ow : a->oh;
  g->iu = along_h ? a->ih : a->iw;
  g->iv = along_h ? a->iw : a->ih;
  g->up = along_h ? up_h : up_w;
  g->planes = s == 1 ? 2 : 1;
  /* plane lines that fit, and the output lines they serve: (band - 1) * stride + 3 lines */
  lines = (int32_t)((s == 1 ? QB_DW_PLANE_BYTES : QB_DW_PLANE_BYTES_S2) / (uint32_t)(g->planes * g->up * 2));
  g->band = lines < 3 ? 1 : (lines - 3) / s + 1;
  if (g->band > g->lv) g->band = g->lv;
  return 1;
}

uint32_t qb_dwconv_int8_plane_scratch(const qb_conv_int8 *a) {
  qb_dw_plane g;
  if (!qb_dwconv_int8_plane(a, &g)) return 0;
  /* the planes' lines of int16, then one line of int32 sums (pairs of outputs) */
  return (uint32_t)(g.planes * ((g.band - 1) * g.stride + 3) * g.up * 2 + 8 * ((g.lu + 1) / 2));
}

void qb_dwconv_int8_fold_bias(const int8_t *w, const int32_t *bias, int32_t taps, int32_t oc, int32_t in_offset, int32_t *out) {
  int32_t c, t;
  for (c = 0; c < oc; c++) {
    int32_t s = 0;
    for (t = 0; t < taps; t++) s = WRAP_ADD(s, w[t * oc + c]);
    out[c] = WRAP_ADD(bias ? bias[c] : 0, WRAP_MUL(in_offset, s));
  }
}

void qb_conv_int8_fold_bias(const int8_t *w, const int32_t *bias, int32_t k, int32_t oc, int32_t in_offset, int32_t *out) {
  int32_t c, t;
  for (c = 0; c < oc; c++) {
    int32_t s = 0;
    for (t = 0; t < k; t++) s = WRAP_ADD(s, w[c * k + t]);
    out[c] = WRAP_ADD(bias ? bias[c] : 0, WRAP_MUL(in_offset, s));
  }
}

int qb_dwconv_int8_fast(const qb_conv_int8 *a) {
  const int8_t *tap[QB_DW_MAX_TAPS];
  int64_t *kp = (int64_t *)a->scratch;
  int8_t *zrow = (int8_t *)(kp + a->ic);
  int32_t *acc = (int32_t *)(void *)(zrow + ((a->ic + 3) & ~3));
  int32_t taps = a->fh * a->fw, oc = a->oc, b, oy, ox, t, c;
  /* the int8 stores to y may alias *a, so its fields are read into locals once */
  const int32_t *bias_eff = a->bias_eff, *mult = a->mult;
  const int8_t *shift = a->shift, *w = a->w;
  int32_t zp = a->out_zp, lo = a->lo, hi = a->hi;
#if QB_DSP
  int all_right = 1;
  if (qb_dwconv_int8_m4(a)) return 1;
#endif
  if (a->depth_multiplier != 1 || taps > QB_DW_MAX_TAPS) return 0;
#if QB_WASM_SIMD
  if (qb_dwconv_int8_simd(a)) return 1;
#endif
  for (c = 0; c < a->ic; c++) zrow[c] = (int8_t)(-a->in_offset);
#if QB_DSP
  /* rq_right()'s constant once per channel rather than once per output */
  for (c = 0; c < oc; c++)
    if (shift[c] < 0)
      kp[c] = k_right(shift[c]);
    else
      all_right = 0;
#else
  (void)kp;
#endif
  for (b = 0; b < a->n; b++)
    for (oy = 0; oy < a->oh; oy++)
      for (ox = 0; ox < a->ow; ox++) {
        int8_t *y = a->y + ((b * a->oh + oy) * a->ow + ox) * oc;
        qb_dw_window_taps(a, b, oy, ox, zrow, tap);
        c = 0;
#if QB_DSP
        /* four channels per pass, their accumulators in registers */
        for (; c + 4 <= oc; c += 4) {
          int32_t s0 = bias_eff[c], s1 = bias_eff[c + 1], s2 = bias_eff[c + 2], s3 = bias_eff[c + 3];
          const int8_t *wp = w + c;
          for (t = 0; t < taps; t++, wp += oc) {
            uint32_t xv = load32(tap[t] + c), wv = load32(wp);
            int32_t xe = __sxtb16((int8x4_t)xv), xo = sxtb16_ror8(xv);
            int32_t we = __sxtb16((int8x4_t)wv), wo = sxtb16_ror8(wv);
            s0 = __smlabb(xe, we, s0);
            s2 = __smlatt(xe, we, s2);
            s1 = __smlabb(xo, wo, s1);
            s3 = __smlatt(xo, wo, s3);
          }
          if (all_right) {
            y[c] = clamp_zp(rq_right(s0, mult[c], kp[c], -shift[c] - 1), zp, lo - zp, hi - zp);
            y[c + 1] = clamp_zp(rq_right(s1, mult[c + 1], kp[c + 1], -shift[c + 1] - 1), zp, lo - zp, hi - zp);
            y[c + 2] = clamp_zp(rq_right(s2, mult[c + 2], kp[c + 2], -shift[c + 2] - 1), zp, lo - zp, hi - zp);
            y[c + 3] = clamp_zp(rq_right(s3, mult[c + 3], kp[c + 3], -shift[c + 3] - 1), zp, lo - zp, hi - zp);
          } else {
            y[c] = rq(s0, mult[c], shift[c], zp, lo, hi);
            y[c + 1] = rq(s1, mult[c + 1], shift[c + 1], zp, lo, hi);
            y[c + 2] = rq(s2, mult[c + 2], shift[c + 2], zp, lo, hi);
            y[c + 3] = rq(s3, mult[c + 3], shift[c + 3], zp, lo, hi);
          }
        }
#elif QB_WASM_SIMD
        /* eight channels per pass: widen to int16, multiply into two int32x4 */
        for (; c + 8 <= oc; c += 8) {
          v128_t lo4 = wasm_v128_load(bias_eff + c), hi4 = wasm_v128_load(bias_eff + c + 4);
          const int8_t *wp = w + c;
          int32_t j;
          for (t = 0; t < taps; t++, wp += oc) {
            v128_t xv = wasm_i16x8_load8x8(tap[t] + c), wv = wasm_i16x8_load8x8(wp);
            lo4 = wasm_i32x4_add(lo4, wasm_i32x4_extmul_low_i16x8(xv, wv));
            hi4 = wasm_i32x4_add(hi4, wasm_i32x4_extmul_high_i16x8(xv, wv));
          }
          wasm_v128_store(acc, lo4);
          wasm_v128_store(acc + 4, hi4);
          for (j = 0; j < 8; j++) y[c + j] = rq(acc[j], mult[c + j], shift[c + j], zp, lo, hi);
        }
#endif
        if (c < oc) {
          int32_t c0 = c;
          for (; c < oc; c++) acc[c] = bias_eff[c];
          for (t = 0; t < taps; t++) {
            const int8_t *xp = tap[t], *wp = w + t * oc;
            for (c = c0; c < oc; c++) acc[c] = WRAP_ADD(acc[c], xp[c] * wp[c]);
          }
          for (c = c0; c < oc; c++) y[c] = rq(acc[c], mult[c], shift[c], zp, lo, hi);
        }
      }
  return 1;
}

/* ---- same-shape ADD / SUB ---------------------------------------------------------- */

void qb_add_int8_ref(const qb_add_int8 *a) {
  int32_t i;
  for (i = 0; i < a->n; i++) {
    int32_t sa = qb_mbqm((a->a[i] + a->a_offset) * (1 << 20), a->m1, (int)a->s1);
    int32_t sb = qb_mbqm((a->b[i] + a->b_offset) * (1 << 20), a->m2, (int)a->s2);
    int32_t r = qb_mbqm(a->sub ? sa - sb : sa + sb, a->mo, (int)a->so) + a->out_zp;
    a->y[i] = (int8_t)qb_clamp(r, a->lo, a->hi);
  }
}

/* The operands' rescale (x << 20, multiplier < 2^31, shift <= 2) stays well inside
 * +-2^30, so qb_mbqm's clamp never acts on it and rq's rounding applies; the last
 * requantization is rq itself. */
static inline int32_t scale_operand(int32_t v, const rq_channel *c) {
  return rq_core((int32_t)((uint32_t)v << (20 + c->left)), c);
}

/* scale_operand() for a shift <= 0 (left = 0), k = k_right(shift) when shift < 0. */
static inline int32_t scale_no_left(int32_t v, int32_t mult, int32_t shift, int64_t k) {
  int32_t x = (int32_t)((uint32_t)v << 20);
  if (shift == 0) return (int32_t)(((int64_t)x * mult + (1 << 30)) >> 31);
  return rq_right(x, mult, k, -shift - 1);
}

/* The usual case: every shift <= 0 (an operand's multiplier is at most 0.5, and the output's
 * is small), so no rescale shifts left and each is one 64-bit sum, as in rq_right(). */
static void add_no_left(const qb_add_int8 *a) {
  int32_t i, n = a->n, zp = a->out_zp, lo = a->lo - zp, hi = a->hi - zp, ao = a->a_offset, bo = a->b_offset;
  int32_t m1 = a->m1, s1 = a->s1, m2 = a->m2, s2 = a->s2, mo = a->mo, sho = -a->so - 1;
  int64_t k1 = s1 < 0 ? k_right(s1) : 0, k2 = s2 < 0 ? k_right(s2) : 0, ko = k_right(a->so);
  const int8_t *x = a->a, *z = a->b;
  int8_t *y = a->y;
  if (a->table) {
    /* each operand has 256 values: rescale them once, then two loads per element */
    int32_t *ta = a->table + 128, *tb = a->table + 384, v;
    for (v = -128; v < 128; v++) {
      ta[v] = scale_no_left(v + ao, m1, s1, k1);
      tb[v] = a->sub ? -scale_no_left(v + bo, m2, s2, k2) : scale_no_left(v + bo, m2, s2, k2);
    }
    for (i = 0; i < n; i++) y[i] = clamp_zp(rq_right(ta[x[i]] + tb[z[i]], mo, ko, sho), zp, lo, hi);
    return;
  }
  if (a->sub)
    for (i = 0; i < n; i++)
      y[i] = clamp_zp(rq_right(scale_no_left(x[i] + ao, m1, s1, k1) - scale_no_left(z[i] + bo, m2, s2, k2), mo, ko, sho), zp, lo, hi);
  else
    for (i = 0; i < n; i++)
      y[i] = clamp_zp(rq_right(scale_no_left(x[i] + ao, m1, s1, k1) + scale_no_left(z[i] + bo, m2, s2, k2), mo, ko, sho), zp, lo, hi);
}

void qb_add_int8_fast(const qb_add_int8 *a) {
  rq_channel c1, c2, co;
  int32_t i, zp = a->out_zp, lo = a->lo - a->out_zp, hi = a->hi - a->out_zp, ao = a->a_offset, bo = a->b_offset;
  const int8_t *x = a->a, *z = a->b;
  int8_t *y = a->y;
#if QB_WASM_SIMD
  if (qb_add_int8_simd(a)) return;
#endif
  /* The fast formula needs |operand << 20 << left| < 2^31 and mult >= 0; otherwise the
   * reference (same bytes by definition) runs. */
  if (a->s1 > 2 || a->s2 > 2 || a->m1 < 0 || a->m2 < 0 || a->mo < 0) {
    qb_add_int8_ref(a);
    return;
  }
#if QB_DSP
  if (qb_add_int8_m4(a)) return;
#endif
  if (a->s1 <= 0 && a->s2 <= 0 && a->so < 0) {
    add_no_left(a);
    return;
  }
  c1 = rq_setup(a->m1, a->s1);
  c2 = rq_setup(a->m2, a->s2);
  co = rq_setup(a->mo, a->so);
  if (a->sub)
    for (i = 0; i < a->n; i++) y[i] = rq_fast(scale_operand(x[i] + ao, &c1) - scale_operand(z[i] + bo, &c2), &co, zp, lo, hi);
  else
    for (i = 0; i < a->n; i++) y[i] = rq_fast(scale_operand(x[i] + ao, &c1) + scale_operand(z[i] + bo, &c2), &co, zp, lo, hi);
}
