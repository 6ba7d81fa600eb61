/*
 * wasm SIMD128 variants of the int8 fast kernels (qb_runtime_simd.wasm), bit-exact with the
 * reference loops of qb_conv_int8.c; the entry points there hand a call to these first and
 * run their own variant when one returns 0.
 *
 * - CONV_2D whose repacked filters fit (64 KiB, 4096 taps): four output pixels times eight
 *   filters per block, one pair of taps per i32x4.dot_i16x8_s (conv_c2()), the windows read
 *   from a padded int16 copy of the input or gathered into int16 rows.
 * - FULLY_CONNECTED with constant weights and depths that are multiples of 8: one or two
 *   input rows times four units on weights repacked once and kept (gemm_row4(),
 *   gemm_two_rows(); see layer_entry()), requantized in a pass of their own
 *   (gemm_requantize()).
 * - Other CONV_2D and FULLY_CONNECTED: two output pixels times four filters per block, each
 *   pixel's window read in place when the input channels are a multiple of 8, else
 *   gathered once into a row of int16 x + in_offset (0 outside the image),
 *   i32x4.dot_i16x8_s eight taps at a time against the int8 filters widened on load. A
 *   window whose tap count is not a multiple of 8 ends in one more group of eight: the
 *   filter's last eight taps against a row slot whose leading lanes are 0, so no tap is
 *   counted twice and no filter is read past its end.
 * - DEPTHWISE_CONV_2D with a multiple of 8 channels: pairs of taps on kept filters, one
 *   i32x4.dot_i16x8_s per two taps of four channels (dw_pairs()).
 * - Other DEPTHWISE_CONV_2D: sixteen channels per pass, x * w by i32x4.extmul_*_i16x8 plus the
 *   folded bias (see qb_conv_int8.c for why out-of-image taps read the zero point).
 * - The requantization of four channels at once (rq4()): qb_mbqm's two roundings, exact.
 * - Same-shape ADD/SUB: the operands rescaled in int32 lanes (shifts 0 to -31) or
 *   tabulated, the output requantized by rq4().
 * - AVERAGE_POOL_2D and MEAN sum their windows sixteen channels at a time (qb_sum16_int8()).
 *
 * Why rq4() is exact. SaturatingRoundingDoublingHighMul(x, m) for 0 <= m < 2^31 is
 * h = floor((x * m + 2^30) / 2^31) (qb_conv_int8.c derives it): the high words of the 64-bit
 * lanes (x * m + 2^30) * 2. RoundingDivideByPOT(h, r) for r >= 1 is
 * f(h) = floor(g / 2^r) with g = h + 2^(r-1) - [h < 0]. f is non-decreasing and takes
 * every integer, so clamping h to [hmin, hmax], the smallest h with f(h) = L and the largest
 * with f(h) = H, gives clamp(f(h), L, H), which is what the reference's +-2^30 clamp then
 * [lo, hi] amount to with L = lo - zp, H = hi - zp (both within +-255):
 * hmin = (2L - 1) * 2^(r-1) + [L <= 0], hmax = (2H + 1) * 2^(r-1) - [H >= 0].
 * After the clamp g lies in [L * 2^r, (H + 1) * 2^r), so for r <= 23 g * 2^(23-r) fits in
 * int32 and its arithmetic shift by 23 is floor(g / 2^r): a per-lane shift by one
 * multiplication, which SIMD128 lacks otherwise (a layer whose channels share r shifts by r
 * itself: the same floor). Channels with another shift (a multiplier
 * of 0.5 or more, or below 2^-24) or a negative multiplier take the scalar qb_mbqm.
 */
#include "qb_kernels.h"

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>

/* The reference's requantization, for channels rq4() does not take. */
static int8_t rq_scalar(int32_t acc, int32_t mult, int32_t shift, int32_t zp, int32_t lo, int32_t hi) {
  return (int8_t)qb_clamp(qb_mbqm(acc, mult, (int)shift) + zp, lo, hi);
}

/* Per channel: c = 2^(r-1) and p = 2^(23-r) for rq4(), or p = 0 when it does not apply.
 * Computed on every call (the prepared data has no room for them), four channels at a time:
 * the powers of two come from float exponent bits, since SIMD128 has no per-lane shift. */
static void rq_constants(const int32_t *mult, const int8_t *shift, int32_t n, int32_t lo, int32_t hi, int32_t *c, int32_t *p) {
  int32_t o = 0;
  if (lo <= hi)
    for (; o + 4 <= n; o += 4) {
      v128_t s = wasm_i32x4_extend_low_i16x8(wasm_i16x8_extend_low_i8x16(wasm_v128_load32_zero(shift + o)));
      v128_t ok = wasm_v128_and(wasm_v128_and(wasm_i32x4_ge(s, wasm_i32x4_splat(-23)), wasm_i32x4_le(s, wasm_i32x4_splat(-1))),
                                wasm_i32x4_ge(wasm_v128_load(mult + o), wasm_i32x4_splat(0)));
      /* 2^(-s-1) and 2^(23+s) as floats: biased exponents 126 - s and 150 + s */
      v128_t cf = wasm_i32x4_shl(wasm_i32x4_sub(wasm_i32x4_splat(126), s), 23), pf = wasm_i32x4_shl(wasm_i32x4_add(s, wasm_i32x4_splat(150)), 23);
      wasm_v128_store(c + o, wasm_v128_and(wasm_i32x4_trunc_sat_f32x4(cf), ok));
      wasm_v128_store(p + o, wasm_v128_and(wasm_i32x4_trunc_sat_f32x4(pf), ok));
    }
  for (; o < n; o++) {
    int32_t s = shift[o];
    if (mult[o] >= 0 && s <= -1 && s >= -23 && lo <= hi) {
      c[o] = 1 << (-s - 1);
      p[o] = 1 << (23 + s);
    } else {
      c[o] = 0;
      p[o] = 0;
    }
  }
}

typedef struct {
  v128_t m, c, p, hmin, hmax;
} rq_lanes;

/* Four channels' constants; l2 = 2L - 1, lz = [L <= 0], h2 = 2H + 1, hz = [H >= 0]. */
static inline rq_lanes rq_load(const int32_t *mult, const int32_t *c, const int32_t *p, v128_t l2, v128_t lz, v128_t h2, v128_t hz) {
  rq_lanes q;
  q.m = wasm_v128_load(mult);
  q.c = wasm_v128_load(c);
  q.p = wasm_v128_load(p);
  q.hmin = wasm_i32x4_add(wasm_i32x4_mul(q.c, l2), lz);
  q.hmax = wasm_i32x4_sub(wasm_i32x4_mul(q.c, h2), hz);
  return q;
}

/* g of the top of the file for four lanes: h clamped to [hmin, hmax], plus 2^(r-1) - [h < 0]. */
static inline v128_t rq_g(v128_t acc, v128_t m, v128_t c, v128_t hmin, v128_t hmax) {
  const v128_t half = wasm_i64x2_splat((int64_t)1 << 30);
  v128_t lo = wasm_i64x2_shl(wasm_i64x2_add(wasm_i64x2_extmul_low_i32x4(acc, m), half), 1);
  v128_t hi = wasm_i64x2_shl(wasm_i64x2_add(wasm_i64x2_extmul_high_i32x4(acc, m), half), 1);
  v128_t h = wasm_i32x4_min(wasm_i32x4_max(wasm_i32x4_shuffle(lo, hi, 1, 3, 5, 7), hmin), hmax);
  return wasm_i32x4_add(wasm_i32x4_add(h, c), wasm_i32x4_shr(h, 31));
}

/* qb_mbqm(acc, m, -r) clamped to [L, H], four lanes (see the top of the file). */
static inline v128_t rq4(v128_t acc, const rq_lanes *q) {
  return wasm_i32x4_shr(wasm_i32x4_mul(rq_g(acc, q->m, q->c, q->hmin, q->hmax), q->p), 23);
}

/* The four lanes' sums of a, b, c, d, as one vector (a's sum in lane 0). */
static inline v128_t hsum4(v128_t a, v128_t b, v128_t c, v128_t d) {
  v128_t ab = wasm_i32x4_add(wasm_i32x4_shuffle(a, b, 0, 1, 4, 5), wasm_i32x4_shuffle(a, b, 2, 3, 6, 7));
  v128_t cd = wasm_i32x4_add(wasm_i32x4_shuffle(c, d, 0, 1, 4, 5), wasm_i32x4_shuffle(c, d, 2, 3, 6, 7));
  return wasm_i32x4_add(wasm_i32x4_shuffle(ab, cd, 0, 2, 4, 6), wasm_i32x4_shuffle(ab, cd, 1, 3, 5, 7));
}

/* ---- rows of int16 ------------------------------------------------------------------- */

/*
 * A row holds k taps as int16 in row_len = k rounded up to 8 slots: taps below k8 = k & ~7
 * at their index; when k8 < k the last group of eight slots holds taps k - 8 .. k - 1, the
 * ones below k8 (already counted) as 0, so tap j >= k8 sits at j + (k8 + 8 - k).
 */
typedef struct {
  int32_t k, k8, pad, len;
  int32_t step; /* gather(): slots from one window row's start to the next's */
} row_shape;

static row_shape shape_of(int32_t k) {
  row_shape s;
  s.k = k;
  s.k8 = k & ~7;
  s.pad = s.k8 < k ? s.k8 + 8 - k : 0;
  s.len = (k + 7) & ~7;
  s.step = k;
  return s;
}

/* Runs of eight or more taps end in one vector that overlaps the previous one (the same
 * values written twice); shorter runs go one tap at a time. Left to itself clang turns the
 * one-tap loops into vector code with run-time checks several times the size of the work. */
static inline void copy_taps(int16_t *o, const int8_t *src, int32_t n, int32_t offset) {
  int32_t i = 0;
  if (n >= 8) {
    v128_t off = wasm_i16x8_splat((int16_t)offset);
    if (src) {
      for (; i + 8 <= n; i += 8) wasm_v128_store(o + i, wasm_i16x8_add(wasm_i16x8_load8x8(src + i), off));
      if (i < n) wasm_v128_store(o + n - 8, wasm_i16x8_add(wasm_i16x8_load8x8(src + n - 8), off));
    } else {
      for (; i + 8 <= n; i += 8) wasm_v128_store(o + i, wasm_i16x8_splat(0));
      if (i < n) wasm_v128_store(o + n - 8, wasm_i16x8_splat(0));
    }
    return;
  }
#pragma clang loop vectorize(disable) unroll(disable)
  for (; i < n; i++) o[i] = src ? (int16_t)(src[i] + offset) : 0;
}

/* Taps j .. j+n-1 of a row: src[i] + offset, or 0 when src is NULL (outside the image). */
static void put(int16_t *row, const row_shape *s, int32_t j, const int8_t *src, int32_t n, int32_t offset) {
  int32_t below = j < s->k8 ? (s->k8 - j < n ? s->k8 - j : n) : 0;
  if (below) copy_taps(row + j, src, below, offset);
  if (n > below) copy_taps(row + j + below + s->pad, src ? src + below : 0, n - below, offset);
}

/* The row of output pixel p: its window in filter order, window row ky from slot ky * step
 * (step > fw * ic only for conv_c2()'s padded rows, whose extra slot meets a zero weight). */
static void gather(const qb_conv_int8 *a, int32_t b, int32_t p, int16_t *row, const row_shape *s) {
  int32_t oy = p / a->ow, ox = p % a->ow, ky, kx, j, run = a->fw * a->ic;
  int32_t y0 = oy * a->stride_h - a->pad_h, x0 = ox * a->stride_w - a->pad_w;
  for (ky = 0; ky < a->fh; ky++) {
    int32_t yy = y0 + a->dil_h * ky;
    const int8_t *line;
    j = ky * s->step;
    if (yy < 0 || yy >= a->ih) {
      put(row, s, j, 0, run, 0);
      continue;
    }
    line = a->x + (b * a->ih + yy) * a->iw * a->ic;
    if (a->dil_w == 1 && x0 >= 0 && x0 + a->fw <= a->iw) {
      put(row, s, j, line + x0 * a->ic, run, a->in_offset);
      continue;
    }
    for (kx = 0; kx < a->fw; kx++, j += a->ic) {
      int32_t xx = x0 + a->dil_w * kx;
      put(row, s, j, xx < 0 || xx >= a->iw ? 0 : line + xx * a->ic, a->ic, a->in_offset);
    }
  }
}

/* ---- rows times filters ---------------------------------------------------------------- */

#define DOT(acc, xv, f) acc = wasm_i32x4_add(acc, wasm_i32x4_dot_i16x8(xv, f))

/*
 * Windows read in place (input channels a multiple of 8): each pixel's window as segments of
 * seglen int8 (a row of fw taps when both pixels' windows lie inside horizontally, else one
 * tap), out-of-image ones pointing at a row of the input zero point, whose x + in_offset is 0.
 * No gather: each group of eight adds in_offset itself, one more instruction per row.
 */
typedef struct {
  const int8_t *const *sa, *const *sb;
  int32_t nseg, seglen, packed;
  v128_t off;
} segments;

/* Sums of row xa (and xb when rows == 2), or of the segments when sg is set, with filters
 * w0..w3, four lanes each. */
static inline __attribute__((always_inline)) void block(const int16_t *xa, const int16_t *xb, int rows, const int8_t *w0,
                                                        const int8_t *w1, const int8_t *w2, const int8_t *w3,
                                                        const row_shape *s, const segments *sg, v128_t *ra, v128_t *rb) {
  v128_t a0 = wasm_i32x4_splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  int32_t i, k8 = s->k8;
  if (sg && sg->packed) {
    /* w0: the four filters' groups of eight taps side by side (pack()), one pointer and
     * constant offsets; in_offset is in the folded bias, so x is used as read */
    const int8_t *wp = w0;
    int32_t g;
    for (g = 0; g < sg->nseg; g++) {
      const int8_t *pa = sg->sa[g], *pb = sg->sb[g];
      for (i = 0; i < sg->seglen; i += 8, wp += 32) {
        v128_t u = wasm_i16x8_load8x8(pa + i), v = u, f;
        if (rows == 2) v = wasm_i16x8_load8x8(pb + i);
        f = wasm_i16x8_load8x8(wp);
        DOT(a0, u, f);
        if (rows == 2) DOT(b0, v, f);
        f = wasm_i16x8_load8x8(wp + 8);
        DOT(a1, u, f);
        if (rows == 2) DOT(b1, v, f);
        f = wasm_i16x8_load8x8(wp + 16);
        DOT(a2, u, f);
        if (rows == 2) DOT(b2, v, f);
        f = wasm_i16x8_load8x8(wp + 24);
        DOT(a3, u, f);
        if (rows == 2) DOT(b3, v, f);
      }
    }
    *ra = hsum4(a0, a1, a2, a3);
    if (rows == 2) *rb = hsum4(b0, b1, b2, b3);
    return;
  }
#define MACS(u, v, wo)                                \
  {                                                   \
    v128_t f = wasm_i16x8_load8x8(w0 + (wo));         \
    DOT(a0, u, f);                                    \
    if (rows == 2) DOT(b0, v, f);                     \
    f = wasm_i16x8_load8x8(w1 + (wo));                \
    DOT(a1, u, f);                                    \
    if (rows == 2) DOT(b1, v, f);                     \
    f = wasm_i16x8_load8x8(w2 + (wo));                \
    DOT(a2, u, f);                                    \
    if (rows == 2) DOT(b2, v, f);                     \
    f = wasm_i16x8_load8x8(w3 + (wo));                \
    DOT(a3, u, f);                                    \
    if (rows == 2) DOT(b3, v, f);                     \
  }
  if (sg) {
    int32_t g, wo = 0;
    for (g = 0; g < sg->nseg; g++) {
      const int8_t *pa = sg->sa[g], *pb = sg->sb[g];
      for (i = 0; i < sg->seglen; i += 8, wo += 8) {
        v128_t u = wasm_i16x8_add(wasm_i16x8_load8x8(pa + i), sg->off), v = u;
        if (rows == 2) v = wasm_i16x8_add(wasm_i16x8_load8x8(pb + i), sg->off);
        MACS(u, v, wo)
      }
    }
  } else {
    for (i = 0; i < k8; i += 8) {
      v128_t u = wasm_v128_load(xa + i), v = u;
      if (rows == 2) v = wasm_v128_load(xb + i);
      MACS(u, v, i)
    }
    if (s->pad) {
      v128_t u = wasm_v128_load(xa + k8), v = u;
      if (rows == 2) v = wasm_v128_load(xb + k8);
      MACS(u, v, s->k - 8)
    }
  }
#undef MACS
  *ra = hsum4(a0, a1, a2, a3);
  if (rows == 2) *rb = hsum4(b0, b1, b2, b3);
}

typedef struct {
  const int8_t *w;
  const int32_t *bias, *mult, *c, *p;
  const int8_t *shift;
  int32_t oc, zp, lo, hi;
} filters;

/* One or two rows against every filter, requantized into ya[o] (and yb[o]). */
static inline __attribute__((always_inline)) void rows_times_filters(const int16_t *xa, const int16_t *xb, int rows,
                                                                     const filters *f, const row_shape *s, const segments *sg,
                                                                     int8_t *ya, int8_t *yb) {
  int32_t o, k = s->k, oc = f->oc, L = f->lo - f->zp, H = f->hi - f->zp;
  const v128_t l2 = wasm_i32x4_splat(2 * L - 1), lz = wasm_i32x4_splat(L <= 0), h2 = wasm_i32x4_splat(2 * H + 1),
               hz = wasm_i32x4_splat(H >= 0), zp = wasm_i32x4_splat(f->zp);
  const int8_t *w = f->w;
  for (o = 0; o + 4 <= oc; o += 4, w += 4 * k) {
    v128_t ra, rb = wasm_i32x4_splat(0);
    if (sg && sg->packed)
      block(0, 0, rows, w, 0, 0, 0, s, sg, &ra, &rb);
    else
      block(xa, xb, rows, w, w + k, w + 2 * k, w + 3 * k, s, sg, &ra, &rb);
    if (f->bias) {
      v128_t bv = wasm_v128_load(f->bias + o);
      ra = wasm_i32x4_add(ra, bv);
      rb = wasm_i32x4_add(rb, bv);
    }
    if (wasm_i32x4_all_true(wasm_v128_load(f->p + o))) {
      rq_lanes q = rq_load(f->mult + o, f->c + o, f->p + o, l2, lz, h2, hz);
      v128_t qa = wasm_i32x4_add(rq4(ra, &q), zp), qb = rows == 2 ? wasm_i32x4_add(rq4(rb, &q), zp) : qa;
      v128_t y8 = wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(qa, qb), wasm_i16x8_splat(0));
      wasm_v128_store32_lane(ya + o, y8, 0);
      if (rows == 2) wasm_v128_store32_lane(yb + o, y8, 1);
    } else {
      int32_t sa[4], sb[4], j;
      wasm_v128_store(sa, ra);
      wasm_v128_store(sb, rb);
      for (j = 0; j < 4; j++) {
        ya[o + j] = rq_scalar(sa[j], f->mult[o + j], f->shift[o + j], f->zp, f->lo, f->hi);
        if (rows == 2) yb[o + j] = rq_scalar(sb[j], f->mult[o + j], f->shift[o + j], f->zp, f->lo, f->hi);
      }
    }
  }
  if (o < oc) {
    /* the last one to three filters, the block's spare lanes on a repeat of the last one */
    int32_t n = oc - o, sa[4], sb[4], j;
    v128_t ra, rb = wasm_i32x4_splat(0);
    if (sg && sg->packed)
      block(0, 0, rows, w, 0, 0, 0, s, sg, &ra, &rb);
    else
      block(xa, xb, rows, w, w + (n > 1 ? k : 0), w + (n > 2 ? 2 * k : 0), w, s, sg, &ra, &rb);
    wasm_v128_store(sa, ra);
    wasm_v128_store(sb, rb);
    for (j = 0; j < n; j++) {
      int32_t bj = f->bias ? f->bias[o + j] : 0;
      ya[o + j] = rq_scalar((int32_t)((uint32_t)sa[j] + (uint32_t)bj), f->mult[o + j], f->shift[o + j], f->zp, f->lo, f->hi);
      if (rows == 2)
        yb[o + j] = rq_scalar((int32_t)((uint32_t)sb[j] + (uint32_t)bj), f->mult[o + j], f->shift[o + j], f->zp, f->lo, f->hi);
    }
  }
}

static void one_row(const int16_t *xa, const filters *f, const row_shape *s, int8_t *ya) { rows_times_filters(xa, xa, 1, f, s, 0, ya, ya); }
static void two_rows(const int16_t *xa, const int16_t *xb, const filters *f, const row_shape *s, int8_t *ya, int8_t *yb) {
  rows_times_filters(xa, xb, 2, f, s, 0, ya, yb);
}
static void one_window(const segments *sg, const filters *f, const row_shape *s, int8_t *ya) { rows_times_filters(0, 0, 1, f, s, sg, ya, ya); }
static void two_windows(const segments *sg, const filters *f, const row_shape *s, int8_t *ya, int8_t *yb) {
  rows_times_filters(0, 0, 2, f, s, sg, ya, yb);
}

/* The block's two rows, then the rq4() constants (8 bytes per filter): the layout of
 * qb_conv_int8_scratch(). The slots no tap fills (the last group's leading ones) are zeroed
 * once. */
static void setup(void *scratch, const row_shape *s, int32_t oc, const int32_t *mult, const int8_t *shift, int32_t lo, int32_t hi,
                  int16_t **rows, filters *f) {
  int16_t *block0 = (int16_t *)scratch;
  int32_t *c = (int32_t *)(void *)(block0 + 2 * s->len), i;
  for (i = 0; i < s->pad; i++) block0[s->k8 + i] = block0[s->len + s->k8 + i] = 0;
  rows[0] = block0;
  rows[1] = block0 + s->len;
  rq_constants(mult, shift, oc, lo, hi, c, c + oc);
  f->c = c;
  f->p = c + oc;
}

#define MAX_SEGMENTS 64

/* Output pixel p's window as segments (see segments); rows_whole: a segment per filter row. */
static void window_segments(const qb_conv_int8 *a, int32_t b, int32_t p, const int8_t *zrow, int rows_whole, const int8_t **seg) {
  int32_t oy = p / a->ow, ox = p % a->ow, ky, kx, n = 0;
  int32_t y0 = oy * a->stride_h - a->pad_h, x0 = ox * a->stride_w - a->pad_w;
  for (ky = 0; ky < a->fh; ky++) {
    int32_t yy = y0 + a->dil_h * ky, in = yy >= 0 && yy < a->ih;
    const int8_t *line = in ? a->x + (b * a->ih + yy) * a->iw * a->ic : zrow;
    if (rows_whole) {
      seg[n++] = in ? line + x0 * a->ic : zrow;
      continue;
    }
    for (kx = 0; kx < a->fw; kx++) {
      int32_t xx = x0 + a->dil_w * kx;
      seg[n++] = !in || xx < 0 || xx >= a->iw ? zrow : line + xx * a->ic;
    }
  }
}

/* Whether output pixel p's window lies inside the image horizontally, taps contiguous. */
static int inside_w(const qb_conv_int8 *a, int32_t p) {
  int32_t x0 = (p % a->ow) * a->stride_w - a->pad_w;
  return a->dil_w == 1 && x0 >= 0 && x0 + a->fw <= a->iw;
}

/*
 * The filters of the in-place path, repacked on every call outside the arena (the SIMD
 * build only; the arena stays the same on every build): each group of four filters as k / 8
 * runs of 32 bytes, the four filters' same eight taps side by side, so a block walks one
 * pointer with constant offsets instead of four. The group of the last one to three filters
 * repeats its last filter, as block() does unpacked. Their biases are folded with
 * in_offset * (sum of the filter's taps), as the depthwise kernel's bias_eff: x * w summed
 * plus that is (x + in_offset) * w summed, modulo 2^32 like the reference, and an
 * out-of-image tap, read from the zero-point row (x = -in_offset), still adds 0. That takes
 * one i16x8.add off every eight taps of each pixel.
 */
#define PACK_BYTES 65536
static int8_t packed_w[PACK_BYTES];
static int32_t packed_bias[PACK_BYTES / 8];
int32_t qb_conv_simd_pack_limit = PACK_BYTES;
int32_t qb_conv_simd_paths[QB_SIMD_CONV_PATHS];

static int pack(const qb_conv_int8 *a, int32_t k) {
  int32_t oc = a->oc, groups = (oc + 3) / 4, g, f, t, j;
  if ((int64_t)groups * 4 * k > (qb_conv_simd_pack_limit < PACK_BYTES ? qb_conv_simd_pack_limit : PACK_BYTES)) return 0;
  for (g = 0; g < groups; g++)
    for (f = 0; f < 4; f++) {
      int32_t o = 4 * g + f < oc ? 4 * g + f : oc - 1;
      const int8_t *src = a->w + o * k;
      int8_t *dst = packed_w + g * 4 * k + f * 8;
      for (t = 0; t < k; t += 8) wasm_v128_store64_lane(dst + 4 * t, wasm_v128_load64_zero(src + t), 0);
    }
  for (f = 0; f < oc; f++) {
    const int8_t *src = a->w + f * k;
    v128_t s4 = wasm_i32x4_splat(0);
    int32_t sum[4];
    for (t = 0; t < k; t += 8) s4 = wasm_i32x4_add(s4, wasm_i32x4_extadd_pairwise_i16x8(wasm_i16x8_load8x8(src + t)));
    wasm_v128_store(sum, s4);
    j = sum[0] + sum[1] + sum[2] + sum[3];
    packed_bias[f] = (int32_t)((uint32_t)(a->bias ? a->bias[f] : 0) + (uint32_t)a->in_offset * (uint32_t)j);
  }
  return 1;
}

/* The in-place driver: the block's area holds the zero-point row (fw * ic <= k bytes). */
static void conv_in_place(const qb_conv_int8 *a, filters *f, const row_shape *s, int8_t *zrow) {
  const int8_t *sa[MAX_SEGMENTS], *sb[MAX_SEGMENTS];
  int32_t pixels = a->oh * a->ow, b, p, i;
  segments sg;
  sg.sa = sa;
  sg.sb = sb;
  sg.off = wasm_i16x8_splat((int16_t)a->in_offset);
  sg.packed = pack(a, s->k);
  qb_conv_simd_paths[sg.packed ? QB_SIMD_CONV_IN_PLACE_PACKED : QB_SIMD_CONV_IN_PLACE]++;
  if (sg.packed) {
    f->w = packed_w;
    f->bias = packed_bias;
  }
  for (i = 0; i < a->fw * a->ic; i++) zrow[i] = (int8_t)(-a->in_offset);
  for (b = 0; b < a->n; b++) {
    int8_t *y = a->y + b * pixels * a->oc;
    for (p = 0; p < pixels; p += 2) {
      int two = p + 1 < pixels, whole = inside_w(a, p) && (!two || inside_w(a, p + 1));
      sg.nseg = whole ? a->fh : a->fh * a->fw;
      sg.seglen = whole ? a->fw * a->ic : a->ic;
      window_segments(a, b, p, zrow, whole, sa);
      if (two) {
        window_segments(a, b, p + 1, zrow, whole, sb);
        two_windows(&sg, f, s, y + p * a->oc, y + (p + 1) * a->oc);
      } else {
        one_window(&sg, f, s, y + p * a->oc);
      }
    }
  }
}

/*
 * Every window whose repacked filters fit: four output pixels times eight filters per block,
 * no horizontal sums (XNNPACK's "c2" layout). The filters are repacked on every call as
 * [tap pair][filter][2 taps] int8 per group of eight (pack_c2()), one i16x8.load8x8_s giving
 * four filters' pair; a pixel's pair of int16 taps is one v128.load32_splat from its row.
 * i32x4.dot_i16x8_s of the two adds one pair of taps to four channels, so each accumulator
 * holds four consecutive output channels for rq4(), and an odd tap count wastes one slot
 * instead of up to seven. 8 accumulators, 2 filter vectors and a splat stay within V8's 15
 * xmm registers. In V8's code a pair is about 30 instructions for 64 MACs, as many as the
 * in-place 2x4 block's; the gain is the block end (no transposition, the requantization
 * constants loaded once per four pixels, eight channels per store) and, since the windows
 * come from the padded image below, no per-pixel copy. With windows gathered per pixel the
 * 2x4 block was faster past 128 taps; with the padded image this block is faster on every
 * ResNet-8 layer in Chromium (docs/runtime.md).
 */
#define C2_MAX_K 4096
static int16_t c2_rows[4][C2_MAX_K];

/* Eight filters' taps t .. t + 15 (src, the first filter's, filters k apart) as eight pairs
 * of [filter][2 taps] (dst, 16 bytes a pair): an 8x8 transposition of 16-bit elements. */
static inline void pack_c2_16(int8_t *dst, const int8_t *src, int32_t k) {
  v128_t r0 = wasm_v128_load(src), r1 = wasm_v128_load(src + k), r2 = wasm_v128_load(src + 2 * k), r3 = wasm_v128_load(src + 3 * k);
  v128_t r4 = wasm_v128_load(src + 4 * k), r5 = wasm_v128_load(src + 5 * k), r6 = wasm_v128_load(src + 6 * k), r7 = wasm_v128_load(src + 7 * k);
  v128_t a0 = wasm_i16x8_shuffle(r0, r1, 0, 8, 1, 9, 2, 10, 3, 11), a1 = wasm_i16x8_shuffle(r0, r1, 4, 12, 5, 13, 6, 14, 7, 15);
  v128_t a2 = wasm_i16x8_shuffle(r2, r3, 0, 8, 1, 9, 2, 10, 3, 11), a3 = wasm_i16x8_shuffle(r2, r3, 4, 12, 5, 13, 6, 14, 7, 15);
  v128_t a4 = wasm_i16x8_shuffle(r4, r5, 0, 8, 1, 9, 2, 10, 3, 11), a5 = wasm_i16x8_shuffle(r4, r5, 4, 12, 5, 13, 6, 14, 7, 15);
  v128_t a6 = wasm_i16x8_shuffle(r6, r7, 0, 8, 1, 9, 2, 10, 3, 11), a7 = wasm_i16x8_shuffle(r6, r7, 4, 12, 5, 13, 6, 14, 7, 15);
  v128_t b0 = wasm_i32x4_shuffle(a0, a2, 0, 4, 1, 5), b1 = wasm_i32x4_shuffle(a0, a2, 2, 6, 3, 7);
  v128_t b2 = wasm_i32x4_shuffle(a1, a3, 0, 4, 1, 5), b3 = wasm_i32x4_shuffle(a1, a3, 2, 6, 3, 7);
  v128_t b4 = wasm_i32x4_shuffle(a4, a6, 0, 4, 1, 5), b5 = wasm_i32x4_shuffle(a4, a6, 2, 6, 3, 7);
  v128_t b6 = wasm_i32x4_shuffle(a5, a7, 0, 4, 1, 5), b7 = wasm_i32x4_shuffle(a5, a7, 2, 6, 3, 7);
  wasm_v128_store(dst, wasm_i64x2_shuffle(b0, b4, 0, 2));
  wasm_v128_store(dst + 16, wasm_i64x2_shuffle(b0, b4, 1, 3));
  wasm_v128_store(dst + 32, wasm_i64x2_shuffle(b1, b5, 0, 2));
  wasm_v128_store(dst + 48, wasm_i64x2_shuffle(b1, b5, 1, 3));
  wasm_v128_store(dst + 64, wasm_i64x2_shuffle(b2, b6, 0, 2));
  wasm_v128_store(dst + 80, wasm_i64x2_shuffle(b2, b6, 1, 3));
  wasm_v128_store(dst + 96, wasm_i64x2_shuffle(b3, b7, 0, 2));
  wasm_v128_store(dst + 112, wasm_i64x2_shuffle(b3, b7, 1, 3));
}

/* step: the packed taps from one window row's start to the next's; fw * ic, or one more when
 * that is odd and there are several window rows (each row then ends in a tap of weight 0) */
static int pack_c2(const qb_conv_int8 *a, int32_t k, int32_t ke, int32_t step) {
  int32_t oc = a->oc, groups = (oc + 7) / 8, g, q, f, t, run = a->fw * a->ic;
  if (ke > C2_MAX_K || (int64_t)groups * 8 * ke > (qb_conv_simd_pack_limit < PACK_BYTES ? qb_conv_simd_pack_limit : PACK_BYTES)) return 0;
  if (step != run && a->fh > 1) {
    /* window rows padded to an even count, one pair at a time: small first layers only */
    for (g = 0; g < groups; g++)
      for (f = 0; f < 8; f++) {
        int32_t o = 8 * g + f;
        int8_t *dst = packed_w + g * 8 * ke + 2 * f;
        for (q = 0; q < ke; q++) {
          int32_t j = q % step;
          dst[8 * (q & ~1) + (q & 1)] = o < oc && j < run ? a->w[o * k + q / step * run + j] : 0;
        }
      }
    qb_conv_simd_paths[QB_SIMD_CONV_C2_PADDED]++;
  } else {
    for (g = 0; g < groups; g++) {
      /* groups of eight filters sixteen taps at a time; the rest one pair at a time */
      t = 0;
      if (8 * g + 8 <= oc && k >= 16) {
        for (; t + 16 <= k; t += 16) pack_c2_16(packed_w + g * 8 * ke + 8 * t, a->w + 8 * g * k + t, k);
        qb_conv_simd_paths[QB_SIMD_CONV_C2_PACK16]++;
      }
      for (f = 0; f < 8; f++) {
        int32_t o = 8 * g + f;
        int8_t *dst = packed_w + g * 8 * ke + 2 * f;
        if (o >= oc) {
          for (q = 0; q < ke; q += 2) dst[8 * q] = dst[8 * q + 1] = 0;
          continue;
        }
        for (q = t; q + 1 < k; q += 2) wasm_v128_store16_lane(dst + 8 * q, wasm_v128_load16_splat(a->w + o * k + q), 0);
        if (q < k) {
          dst[8 * q] = a->w[o * k + q];
          dst[8 * q + 1] = 0;
        }
      }
    }
  }
  for (f = 0; f < oc; f++) packed_bias[f] = a->bias ? a->bias[f] : 0;
  for (; f < groups * 8; f++) packed_bias[f] = 0;
  return 1;
}

/* The filters and biases conv_c2() reads: packed_w and packed_bias as pack_c2() leaves them,
 * or a copy kept between invokes (c2_filters()). */
static const int8_t *c2_w = packed_w;
static const int32_t *c2_b = packed_bias;

/* y[j] (j < n) from four channels' sums starting at channel o. */
static inline void c2_store(v128_t acc, int32_t o, int32_t n, const filters *f, v128_t l2, v128_t lz, v128_t h2, v128_t hz,
                            int8_t *y) {
  if (n == 4 && wasm_i32x4_all_true(wasm_v128_load(f->p + o))) {
    rq_lanes q = rq_load(f->mult + o, f->c + o, f->p + o, l2, lz, h2, hz);
    v128_t v = wasm_i32x4_add(rq4(acc, &q), wasm_i32x4_splat(f->zp));
    v = wasm_i16x8_narrow_i32x4(v, v);
    wasm_v128_store32_lane(y, wasm_i8x16_narrow_i16x8(v, v), 0);
  } else {
    int32_t s4[4], j;
    wasm_v128_store(s4, acc);
    for (j = 0; j < n; j++) y[j] = rq_scalar(s4[j], f->mult[o + j], f->shift[o + j], f->zp, f->lo, f->hi);
  }
}

/* rq_load()'s hmin and hmax per channel, once per call rather than per pixel */
static int32_t c2_hmin[PACK_BYTES / 8], c2_hmax[PACK_BYTES / 8];
/* per group of eight filters: all eight are filters of the layer and take rq4() */
static uint8_t c2_whole[PACK_BYTES / 64];


/* The row of output pixel (oy, ox) when its window lies inside the image (no dilation along
 * the width): each window row is fw * ic contiguous input bytes, copied eight at a time with
 * an overlapping last vector, without gather()'s per-tap bounds checks. Border pixels take
 * gather(). */
static inline int gather_c2(const qb_conv_int8 *a, int32_t b, int32_t oy, int32_t ox, int16_t *row, const row_shape *s) {
  int32_t y0 = oy * a->stride_h - a->pad_h, x0 = ox * a->stride_w - a->pad_w, run = a->fw * a->ic, ky, i;
  if (a->dil_w == 1 && run >= 8 && x0 >= 0 && x0 + a->fw <= a->iw && y0 >= 0 && y0 + a->dil_h * (a->fh - 1) < a->ih) {
    const int8_t *src = a->x + ((b * a->ih + y0) * a->iw + x0) * a->ic;
    int32_t pitch = a->dil_h * a->iw * a->ic;
    v128_t off = wasm_i16x8_splat((int16_t)a->in_offset);
    for (ky = 0; ky < a->fh; ky++, src += pitch, row += s->step) {
      for (i = 0; i + 8 <= run; i += 8) wasm_v128_store(row + i, wasm_i16x8_add(wasm_i16x8_load8x8(src + i), off));
      if (i < run) wasm_v128_store(row + run - 8, wasm_i16x8_add(wasm_i16x8_load8x8(src + run - 8), off));
    }
    return 1;
  }
  gather(a, b, oy * a->ow + ox, row, s);
  return 0;
}

/*
 * For the four-pixel block the input is first copied once per call into c2_image as int16
 * x + in_offset with zero rows and columns where the windows leave the image (the padding),
 * when no dilation runs along the width. Taps go in pairs; an odd window row is read with
 * the value after it, which meets the zero weight the filters were packed with there.
 * Four pixels of one output row then read their window rows in place there, a pixel
 * stride_w * ic values after the one before: no copy per pixel. Tiles that cross an output
 * row, and layers whose padded image does not fit, gather rows as before.
 */
#define C2_IMAGE 65536
static int16_t c2_image[C2_IMAGE];

/* Row q of the padded image holds input row q - pad_h, column c input column c - pad_w. */
static void c2_fill_image(const qb_conv_int8 *a, int32_t b, int32_t wp, int32_t hp) {
  int32_t ic = a->ic, yy, inside = a->iw < wp - a->pad_w ? a->iw : wp - a->pad_w;
  for (yy = 0; yy < hp; yy++) {
    int32_t sy = yy - a->pad_h;
    int16_t *o = c2_image + yy * wp * ic;
    if (sy < 0 || sy >= a->ih) {
      copy_taps(o, 0, wp * ic, 0);
      continue;
    }
    if (a->pad_w) copy_taps(o, 0, a->pad_w * ic, 0);
    copy_taps(o + a->pad_w * ic, a->x + (b * a->ih + sy) * a->iw * ic, inside * ic, a->in_offset);
    if (a->pad_w + inside < wp) copy_taps(o + (a->pad_w + inside) * ic, 0, (wp - a->pad_w - inside) * ic, 0);
  }
}

static void conv_c2(const qb_conv_int8 *a, const filters *f, int32_t k, int32_t ke, int32_t step) {
  int32_t pixels = a->oh * a->ow, oc = a->oc, b, p, g, i, n, direct = 0, ic = a->ic, run = a->fw * ic;
  int32_t L = f->lo - f->zp, H = f->hi - f->zp;
  const v128_t l2 = wasm_i32x4_splat(2 * L - 1), lz = wasm_i32x4_splat(L <= 0), h2 = wasm_i32x4_splat(2 * H + 1),
               hz = wasm_i32x4_splat(H >= 0);
  /* the padded image's width and height: every column and row a window reaches */
  int32_t wp = (a->ow - 1) * a->stride_w + a->fw, hp = (a->oh - 1) * a->stride_h + a->dil_h * (a->fh - 1) + 1;
  /* an odd run read as step = run + 1 values reads one past the window row: within the
   * image, or for the last window row of the last pixel the one slot past it, counted here */
  int use_image = a->dil_w == 1 && step % 2 == 0 && a->ow >= 4 && (int64_t)wp * hp * ic + (step - run) <= C2_IMAGE;
  int32_t ps = a->stride_w * ic, rs = a->dil_h * wp * ic;
  row_shape s;
  s.k = k;
  s.k8 = ke;
  s.pad = 0;
  s.len = ke;
  s.step = step;
  for (i = 0; i < 4; i++) c2_rows[i][ke - 1] = 0;
  for (i = 0; i < oc; i++) {
    c2_hmin[i] = (2 * L - 1) * f->c[i] + (L <= 0);
    c2_hmax[i] = (2 * H + 1) * f->c[i] - (H >= 0);
  }
  for (g = 0; g * 8 < oc; g++) {
    c2_whole[g] = g * 8 + 8 <= oc;
    for (i = 0; i < 8 && c2_whole[g]; i++) c2_whole[g] = f->p[g * 8 + i] != 0;
  }
  for (b = 0; b < a->n; b++) {
    int8_t *y = a->y + b * pixels * oc;
    int32_t oy = 0, ox = 0;
    if (use_image) c2_fill_image(a, b, wp, hp);
    for (p = 0; p < pixels; p += 4) {
      const int16_t *r0 = c2_rows[0], *r1, *r2, *r3;
      int in_image = use_image && ox + 4 <= a->ow;
      n = pixels - p < 4 ? pixels - p : 4;
      if (in_image) {
        r0 = c2_image + (oy * a->stride_h * wp + ox * a->stride_w) * ic;
        ox += 4;
        if (ox == a->ow) {
          ox = 0;
          oy++;
        }
      } else {
        for (i = 0; i < n; i++) {
          direct |= gather_c2(a, b, oy, ox, c2_rows[i], &s);
          if (++ox == a->ow) {
            ox = 0;
            oy++;
          }
        }
      }
      r1 = c2_rows[n > 1 ? 1 : 0];
      r2 = c2_rows[n > 2 ? 2 : 0];
      r3 = c2_rows[n > 3 ? 3 : 0];
      for (g = 0; g * 8 < oc; g++) {
        const int8_t *wp8 = c2_w + g * 8 * ke;
        int32_t q, o = 8 * g, m = oc - o < 8 ? oc - o : 8;
        /* the sums start at the bias (c2_b has 0 past the last filter) */
        v128_t a0 = wasm_v128_load(c2_b + o), a1 = wasm_v128_load(c2_b + o + 4), b0 = a0, b1 = a1, c0 = a0, c1 = a1, d0 = a0,
               d1 = a1;
        int8_t *yp = y + p * oc + o;
        if (in_image) {
          int32_t ky;
          for (ky = 0; ky < a->fh; ky++) {
            const int16_t *r = r0 + ky * rs;
            for (q = 0; q < step; q += 2, wp8 += 16) {
              v128_t w0 = wasm_i16x8_load8x8(wp8), w1 = wasm_i16x8_load8x8(wp8 + 8), x;
              x = wasm_v128_load32_splat(r + q);
              DOT(a0, x, w0);
              DOT(a1, x, w1);
              x = wasm_v128_load32_splat(r + ps + q);
              DOT(b0, x, w0);
              DOT(b1, x, w1);
              x = wasm_v128_load32_splat(r + 2 * ps + q);
              DOT(c0, x, w0);
              DOT(c1, x, w1);
              x = wasm_v128_load32_splat(r + 3 * ps + q);
              DOT(d0, x, w0);
              DOT(d1, x, w1);
            }
          }
        } else {
          for (q = 0; q < ke; q += 2, wp8 += 16) {
            v128_t w0 = wasm_i16x8_load8x8(wp8), w1 = wasm_i16x8_load8x8(wp8 + 8), x;
            x = wasm_v128_load32_splat(r0 + q);
            DOT(a0, x, w0);
            DOT(a1, x, w1);
            x = wasm_v128_load32_splat(r1 + q);
            DOT(b0, x, w0);
            DOT(b1, x, w1);
            x = wasm_v128_load32_splat(r2 + q);
            DOT(c0, x, w0);
            DOT(c1, x, w1);
            x = wasm_v128_load32_splat(r3 + q);
            DOT(d0, x, w0);
            DOT(d1, x, w1);
          }
        }
        if (c2_whole[g]) {
          /* eight channels that all take rq4(): their constants loaded once for the pixels */
          rq_lanes q0, q1;
          v128_t zp = wasm_i32x4_splat(f->zp), v;
          q0.m = wasm_v128_load(f->mult + o);
          q0.c = wasm_v128_load(f->c + o);
          q0.p = wasm_v128_load(f->p + o);
          q0.hmin = wasm_v128_load(c2_hmin + o);
          q0.hmax = wasm_v128_load(c2_hmax + o);
          q1.m = wasm_v128_load(f->mult + o + 4);
          q1.c = wasm_v128_load(f->c + o + 4);
          q1.p = wasm_v128_load(f->p + o + 4);
          q1.hmin = wasm_v128_load(c2_hmin + o + 4);
          q1.hmax = wasm_v128_load(c2_hmax + o + 4);
#define C2_PIXEL(i, lo4, hi4)                                                                                      \
  if (n > i) {                                                                                                     \
    v = wasm_i16x8_narrow_i32x4(wasm_i32x4_add(rq4(lo4, &q0), zp), wasm_i32x4_add(rq4(hi4, &q1), zp));             \
    wasm_v128_store64_lane(yp + i * oc, wasm_i8x16_narrow_i16x8(v, v), 0);                                         \
  }
          C2_PIXEL(0, a0, a1)
          C2_PIXEL(1, b0, b1)
          C2_PIXEL(2, c0, c1)
          C2_PIXEL(3, d0, d1)
#undef C2_PIXEL
          continue;
        }
#define C2_PIXEL(i, lo4, hi4)                                                           \
  if (n > i) {                                                                          \
    c2_store(lo4, o, m < 4 ? m : 4, f, l2, lz, h2, hz, yp + i * oc);                   \
    if (m > 4) c2_store(hi4, o + 4, m - 4, f, l2, lz, h2, hz, yp + i * oc + 4);        \
  }
        C2_PIXEL(0, a0, a1)
        C2_PIXEL(1, b0, b1)
        C2_PIXEL(2, c0, c1)
        C2_PIXEL(3, d0, d1)
#undef C2_PIXEL
      }
    }
  }
  qb_conv_simd_paths[QB_SIMD_CONV_C2_DIRECT] += direct;
  qb_conv_simd_paths[QB_SIMD_CONV_C2_IMAGE] += use_image;
  qb_conv_simd_paths[QB_SIMD_CONV_C2_IMAGE_ODD] += use_image && step != run;
}

static int c2_filters(const qb_conv_int8 *a, int32_t k, int32_t ke, int32_t step);

int qb_conv_int8_simd(const qb_conv_int8 *a) {
  int32_t k = a->fh * a->fw * a->ic, pixels = a->oh * a->ow, b, p, run = a->fw * a->ic, step, ke;
  row_shape s = shape_of(k);
  int16_t *rows[2];
  filters f;
  if (k < 8) return 0;
  setup(a->scratch, &s, a->oc, a->mult, a->shift, a->lo, a->hi, rows, &f);
  f.w = a->w;
  f.bias = a->bias;
  f.mult = a->mult;
  f.shift = a->shift;
  f.oc = a->oc;
  f.zp = a->out_zp;
  f.lo = a->lo;
  f.hi = a->hi;
  /* Taps go in pairs, and a pair must not straddle two window rows for conv_c2() to read
   * windows in place from its padded image: an odd window row (first layers: 3x3 over one or
   * three channels) is packed as one more tap of weight 0, whose x, the next value in the
   * image or the row, adds nothing (with one window row that is k rounded up to even). */
  step = (run + 1) & ~1;
  ke = a->fh * step;
  if (c2_filters(a, k, ke, step)) {
    qb_conv_simd_paths[QB_SIMD_CONV_C2]++;
    conv_c2(a, &f, k, ke, step);
    return 1;
  }
  if (a->ic % 8 == 0 && a->fh * a->fw <= MAX_SEGMENTS) {
    conv_in_place(a, &f, &s, (int8_t *)rows[0]);
    return 1;
  }
  qb_conv_simd_paths[QB_SIMD_CONV_GATHERED]++;
  s.step = run;
  for (b = 0; b < a->n; b++) {
    int8_t *y = a->y + b * pixels * a->oc;
    for (p = 0; p + 1 < pixels; p += 2) {
      gather(a, b, p, rows[0], &s);
      gather(a, b, p + 1, rows[1], &s);
      two_rows(rows[0], rows[1], &f, &s, y + p * a->oc, y + (p + 1) * a->oc);
    }
    if (p < pixels) {
      gather(a, b, p, rows[0], &s);
      one_row(rows[0], &f, &s, y + p * a->oc);
    }
  }
  return 1;
}

/* ---- layers kept repacked between invokes; FULLY_CONNECTED on them ------------------------ */

/*
 * A layer's constant weights repacked once and kept, with everything per unit that does
 * not change between invokes, in a static area of the SIMD build (outside the arena, which
 * stays the same on every build). Per layer (an entry): the weights by groups of four units
 * as depth / 8 runs of 32 bytes (the four units' same eight taps side by side, units past
 * the last one zero), so a pass walks one pointer with constant offsets; per unit the bias
 * with in_offset * (sum of the unit's weights) folded in (x * w summed plus that is
 * (x + in_offset) * w summed, modulo 2^32 like the reference, so the input is read as it
 * is, no widening copy with the offset added), and rq4()'s constants.
 *
 * An entry is found by the weights' address and the layer's parameters, and is valid for
 * one qb_const_generation: qb_prepare bumps it on every qb_set_arena, so a model loaded
 * into an instance where another model was (core/runtime makes an instance per
 * interpreter, other hosts may not) never meets the other's entries, and two interpreters
 * in one instance each find their own (different addresses). The area is emptied when the
 * generation changes; layers that no longer fit take the other path, so a model larger
 * than the area does not repack on every invoke. Callers pass cacheable = 1 only for
 * weights and bias that are constant tensors of the model. Depthwise layers (dw_pairs())
 * and the four-pixel conv block (c2_filters()) keep their repacked filters here too.
 */
#define GEMM_CACHE_BYTES (640 * 1024)
#define GEMM_ENTRIES 64
static v128_t gemm_area[GEMM_CACHE_BYTES / 16];
typedef struct {
  const int8_t *w;
  const int32_t *bias, *mult;
  const int8_t *shift;
  int32_t kind, units, depth, in_offset, zp, lo, hi;
  /* in gemm_area: packed weights, then per unit (rounded up to 4) bias, m, c, p, hmin, hmax */
  int8_t *pw;
  int32_t *beff, *m, *c, *p, *hmin, *hmax;
  uint8_t *ok; /* per group of four units: all take rq4() */
  /* FULLY_CONNECTED of one scale (TFLite's default for it) and units a multiple of 4 (every
   * store four bytes): every unit's m, c and hmin, hmax splat, and the shift r by which
   * rq4()'s multiplication by p = 2^(23-r) becomes a shift */
  int32_t uniform;
  v128_t um, uc, uhmin, uhmax;
  uint32_t ur;
} gemm_layer;
static gemm_layer gemm_entries[GEMM_ENTRIES];
static int32_t gemm_count, gemm_next;
static uint32_t gemm_used, gemm_generation;
int32_t qb_simd_gemm_runs[6];
int32_t qb_simd_gemm_uniform;

/* The entry of a layer (kind 0: fully connected, 1: depthwise, 2: conv_c2()), or a new one with pw_bytes
 * for its repacked weights (*fresh set: the caller fills them) and the per-unit constants
 * filled; 0 when it does not fit. */
static gemm_layer *layer_entry(int32_t kind, const int8_t *w, const int32_t *bias, const int32_t *mult, const int8_t *shift,
                               int32_t units, int32_t depth, int32_t in_offset, int32_t zp, int32_t lo, int32_t hi, uint64_t pw_bytes,
                               int *fresh) {
  int32_t i, j, n4 = (units + 3) & ~3, L = lo - zp, H = hi - zp;
  uint64_t need = ((pw_bytes + 15u) & ~(uint64_t)15u) + (uint64_t)n4 * 24u + (uint64_t)n4 / 4u;
  gemm_layer *e;
  uint8_t *base = (uint8_t *)gemm_area;
  *fresh = 0;
  if (gemm_generation != qb_const_generation) {
    gemm_generation = qb_const_generation;
    gemm_count = gemm_next = 0;
    gemm_used = 0;
  }
  /* ops run in order: the entry after the last one found is the usual hit */
  for (j = 0; j < gemm_count; j++) {
    e = &gemm_entries[(gemm_next + j) % gemm_count];
    if (e->kind == kind && e->w == w && e->bias == bias && e->mult == mult && e->shift == shift && e->units == units &&
        e->depth == depth && e->in_offset == in_offset && e->zp == zp && e->lo == lo && e->hi == hi) {
      gemm_next = (gemm_next + j + 1) % gemm_count;
      qb_simd_gemm_runs[2 * kind + 1]++;
      return e;
    }
  }
  if (gemm_count == GEMM_ENTRIES || gemm_used + need + 16u > GEMM_CACHE_BYTES) return 0;
  e = &gemm_entries[gemm_count];
  e->kind = kind;
  e->w = w;
  e->bias = bias;
  e->mult = mult;
  e->shift = shift;
  e->units = units;
  e->depth = depth;
  e->in_offset = in_offset;
  e->zp = zp;
  e->lo = lo;
  e->hi = hi;
  e->pw = (int8_t *)(base + gemm_used);
  e->beff = (int32_t *)(void *)(base + gemm_used + ((pw_bytes + 15u) & ~(uint64_t)15u));
  e->m = e->beff + n4;
  e->c = e->m + n4;
  e->p = e->c + n4;
  e->hmin = e->p + n4;
  e->hmax = e->hmin + n4;
  e->ok = (uint8_t *)(e->hmax + n4);
  gemm_used = (uint32_t)((gemm_used + need + 15u) & ~(uint64_t)15u);
  for (i = 0; i < n4; i++) {
    if (i >= units) {
      e->beff[i] = e->m[i] = e->c[i] = e->p[i] = e->hmin[i] = e->hmax[i] = 0;
      continue;
    }
    e->beff[i] = bias ? bias[i] : 0;
    e->m[i] = mult[i];
    rq_constants(mult + i, shift + i, 1, lo, hi, e->c + i, e->p + i);
    e->hmin[i] = (2 * L - 1) * e->c[i] + (L <= 0);
    e->hmax[i] = (2 * H + 1) * e->c[i] - (H >= 0);
  }
  for (i = 0; i < n4; i += 4) e->ok[i / 4] = e->p[i] && e->p[i + 1] && e->p[i + 2] && e->p[i + 3];
  e->uniform = units % 4 == 0 && e->p[0] != 0;
  for (i = 1; i < units && e->uniform; i++) e->uniform = e->m[i] == e->m[0] && e->c[i] == e->c[0] && e->p[i] == e->p[0];
  if (e->uniform) {
    e->um = wasm_i32x4_splat(e->m[0]);
    e->uc = wasm_i32x4_splat(e->c[0]);
    e->uhmin = wasm_i32x4_splat(e->hmin[0]);
    e->uhmax = wasm_i32x4_splat(e->hmax[0]);
    e->ur = (uint32_t)-shift[0]; /* rq_constants() set p = 2^(23 + shift) */
  }
  gemm_count++;
  qb_simd_gemm_runs[2 * kind]++;
  gemm_next = 0; /* the next op's entry, if it has one, is after this: the first on the next invoke */
  *fresh = 1;
  return e;
}

static const gemm_layer *gemm_find(const int8_t *w, const int32_t *bias, const int32_t *mult, const int8_t *shift, int32_t units,
                                   int32_t depth, int32_t in_offset, int32_t zp, int32_t lo, int32_t hi) {
  int32_t i, t, n4 = (units + 3) & ~3, fresh;
  gemm_layer *e = layer_entry(0, w, bias, mult, shift, units, depth, in_offset, zp, lo, hi, (uint64_t)n4 * (uint64_t)depth, &fresh);
  if (!e || !fresh) return e;
  for (i = 0; i < n4; i++) {
    int8_t *dst = e->pw + (i / 4) * 4 * depth + (i % 4) * 8;
    int32_t sum = 0;
    if (i >= units) {
      for (t = 0; t < depth; t += 8) wasm_v128_store64_lane(dst + 4 * t, wasm_i64x2_splat(0), 0);
      continue;
    }
    for (t = 0; t < depth; t++) {
      dst[32 * (t / 8) + t % 8] = w[i * depth + t];
      sum += w[i * depth + t];
    }
    e->beff[i] = (int32_t)((uint32_t)e->beff[i] + (uint32_t)in_offset * (uint32_t)sum);
  }
  return e;
}

/*
 * conv_c2()'s repacked filters and biases kept for constant filter and bias (bias_eff is set
 * only for those, qb_k_conv2d), copied once from what pack_c2() leaves: repacking them took
 * about 10 of the 75 us of the sample's 128 -> 256 1x1 layer on every invoke.
 */
static int c2_filters(const qb_conv_int8 *a, int32_t k, int32_t ke, int32_t step) {
  int32_t groups = (a->oc + 7) / 8, i, fresh;
  uint64_t wb = (uint64_t)groups * 8u * (uint64_t)ke;
  gemm_layer *e;
  c2_w = packed_w;
  c2_b = packed_bias;
  /* pack_c2()'s own limits first: an entry is made only for filters it packs */
  if (!a->bias_eff || ke > C2_MAX_K || (int64_t)wb > (qb_conv_simd_pack_limit < PACK_BYTES ? qb_conv_simd_pack_limit : PACK_BYTES))
    return pack_c2(a, k, ke, step);
  /* keyed on ke: filters at the same address kept with another layout are not this layer's */
  e = layer_entry(2, a->w, a->bias, a->mult, a->shift, a->oc, ke, a->in_offset, a->out_zp, a->lo, a->hi, wb + (uint64_t)groups * 32u,
                  &fresh);
  if (!e) return pack_c2(a, k, ke, step);
  if (fresh) {
    pack_c2(a, k, ke, step);
    for (i = 0; i < (int32_t)wb; i += 16) wasm_v128_store(e->pw + i, wasm_v128_load(packed_w + i));
    for (i = 0; i < groups * 8; i += 4) wasm_v128_store(e->pw + wb + 4 * i, wasm_v128_load(packed_bias + i));
  }
  c2_w = e->pw;
  c2_b = (const int32_t *)(const void *)(e->pw + wb);
  return 1;
}

/* n (at most 4) units' outputs from their sums (bias not yet added), units o.. */
static inline void gemm_store4(v128_t acc, const gemm_layer *e, int32_t o, int32_t n, int8_t *y) {
  acc = wasm_i32x4_add(acc, wasm_v128_load(e->beff + o));
  if (n == 4 && e->ok[o / 4]) {
    rq_lanes q;
    v128_t v;
    q.m = wasm_v128_load(e->m + o);
    q.c = wasm_v128_load(e->c + o);
    q.p = wasm_v128_load(e->p + o);
    q.hmin = wasm_v128_load(e->hmin + o);
    q.hmax = wasm_v128_load(e->hmax + o);
    v = wasm_i32x4_add(rq4(acc, &q), wasm_i32x4_splat(e->zp));
    v = wasm_i16x8_narrow_i32x4(v, v);
    wasm_v128_store32_lane(y, wasm_i8x16_narrow_i16x8(v, v), 0);
  } else {
    int32_t s4[4], j;
    wasm_v128_store(s4, acc);
    for (j = 0; j < n; j++) y[j] = rq_scalar(s4[j], e->mult[o + j], e->shift[o + j], e->zp, e->lo, e->hi);
  }
}

/* Every unit's output from its sum (bias not yet added), in a pass of its own after the
 * sums: interleaved with them, each four units' requantization (a chain of about twenty
 * dependent instructions) held up the multiplications of the next four (ad01 about 5%
 * slower in Node 20). A layer of one scale reads its constants from the entry instead of
 * per four units, and shifts where rq4() multiplies (ad01 about 3.5%). */
static void gemm_requantize(const gemm_layer *e, const int32_t *sums, int8_t *y) {
  int32_t o, units = e->units;
  if (!e->uniform) {
    for (o = 0; o < units; o += 4) gemm_store4(wasm_v128_load(sums + o), e, o, units - o < 4 ? units - o : 4, y + o);
    return;
  }
  qb_simd_gemm_uniform++;
  for (o = 0; o < units; o += 4) {
    v128_t v = wasm_i32x4_add(wasm_v128_load(sums + o), wasm_v128_load(e->beff + o));
    v = wasm_i32x4_shr(rq_g(v, e->um, e->uc, e->uhmin, e->uhmax), e->ur);
    v = wasm_i32x4_add(v, wasm_i32x4_splat(e->zp));
    v = wasm_i16x8_narrow_i32x4(v, v);
    wasm_v128_store32_lane(y + o, wasm_i8x16_narrow_i16x8(v, v), 0);
  }
}

/* One row's sums into sums[0 .. units rounded up to 4), four units a pass, two groups of
 * eight taps an iteration (half the loop's own
 * instructions: ad01 13.70 against 14.34 us an invoke in Node 20, fastest block). Eight
 * units a pass, one input load per eight weight loads, was slower: V8 loads the eight
 * weight vectors first, and with eight accumulators spilled two of them on every group of
 * taps (ad01 16.6 against 14.8 us an invoke). */
static void gemm_row4(const gemm_layer *e, const int8_t *x, int32_t *sums) {
  int32_t o, t, d = e->depth, units = e->units;
  for (o = 0; o < units; o += 4) {
    const int8_t *wp = e->pw + o * d;
    v128_t a0 = wasm_i32x4_splat(0), a1 = a0, a2 = a0, a3 = a0;
    t = 0;
    if (d & 8) {
      v128_t u = wasm_i16x8_load8x8(x);
      DOT(a0, u, wasm_i16x8_load8x8(wp));
      DOT(a1, u, wasm_i16x8_load8x8(wp + 8));
      DOT(a2, u, wasm_i16x8_load8x8(wp + 16));
      DOT(a3, u, wasm_i16x8_load8x8(wp + 24));
      t = 8;
      wp += 32;
    }
    for (; t < d; t += 16, wp += 64) {
      v128_t u = wasm_i16x8_load8x8(x + t);
      DOT(a0, u, wasm_i16x8_load8x8(wp));
      DOT(a1, u, wasm_i16x8_load8x8(wp + 8));
      DOT(a2, u, wasm_i16x8_load8x8(wp + 16));
      DOT(a3, u, wasm_i16x8_load8x8(wp + 24));
      u = wasm_i16x8_load8x8(x + t + 8);
      DOT(a0, u, wasm_i16x8_load8x8(wp + 32));
      DOT(a1, u, wasm_i16x8_load8x8(wp + 40));
      DOT(a2, u, wasm_i16x8_load8x8(wp + 48));
      DOT(a3, u, wasm_i16x8_load8x8(wp + 56));
    }
    wasm_v128_store(sums + o, hsum4(a0, a1, a2, a3));
  }
}

/* Two rows' sums against every unit: four units a pass (sixteen accumulators would not fit
 * V8's registers). */
static void gemm_two_rows(const gemm_layer *e, const int8_t *xa, const int8_t *xb, int32_t *sa, int32_t *sb) {
  int32_t o, t, d = e->depth, units = e->units;
  for (o = 0; o < units; o += 4) {
    const int8_t *wp = e->pw + o * d;
    v128_t a0 = wasm_i32x4_splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0, f;
    for (t = 0; t < d; t += 8, wp += 32) {
      v128_t u = wasm_i16x8_load8x8(xa + t), v = wasm_i16x8_load8x8(xb + t);
      f = wasm_i16x8_load8x8(wp);
      DOT(a0, u, f);
      DOT(b0, v, f);
      f = wasm_i16x8_load8x8(wp + 8);
      DOT(a1, u, f);
      DOT(b1, v, f);
      f = wasm_i16x8_load8x8(wp + 16);
      DOT(a2, u, f);
      DOT(b2, v, f);
      f = wasm_i16x8_load8x8(wp + 24);
      DOT(a3, u, f);
      DOT(b3, v, f);
    }
    wasm_v128_store(sa + o, hsum4(a0, a1, a2, a3));
    wasm_v128_store(sb + o, hsum4(b0, b1, b2, b3));
  }
}

/* rows rows of depth int8 values, one after another in x, into rows rows of units in y;
 * the sums of two rows in scratch (qb_fc_int8_scratch() has room: 8 bytes a unit and more). */
static int gemm_cached(const int8_t *x, int8_t *y, int32_t rows, const int8_t *w, const int32_t *bias, const int32_t *mult,
                       const int8_t *shift, int32_t units, int32_t depth, int32_t in_offset, int32_t zp, int32_t lo, int32_t hi,
                       void *scratch) {
  const gemm_layer *e;
  int32_t r, *sa = (int32_t *)scratch, *sb = sa + ((units + 3) & ~3);
  if (depth % 8 != 0 || units <= 0 || rows <= 0) return 0;
  e = gemm_find(w, bias, mult, shift, units, depth, in_offset, zp, lo, hi);
  if (!e) return 0;
  for (r = 0; r + 1 < rows; r += 2) {
    gemm_two_rows(e, x + r * depth, x + (r + 1) * depth, sa, sb);
    gemm_requantize(e, sa, y + r * units);
    gemm_requantize(e, sb, y + (r + 1) * units);
  }
  if (r < rows) {
    gemm_row4(e, x + r * depth, sa);
    gemm_requantize(e, sa, y + r * units);
  }
  return 1;
}

int qb_fc_int8_simd(const qb_fc_int8 *a) {
  row_shape s = shape_of(a->depth);
  int16_t *rows[2];
  filters f;
  int32_t b;
  if (a->depth < 8 || a->w_offset != 0) return 0;
  if (a->cacheable && gemm_cached(a->x, a->y, a->batches, a->w, a->bias, a->mult, a->shift, a->units, a->depth, a->in_offset, a->out_zp,
                                  a->lo, a->hi, a->scratch))
    return 1;
  setup(a->scratch, &s, a->units, a->mult, a->shift, a->lo, a->hi, rows, &f);
  f.w = a->w;
  f.bias = a->bias;
  f.mult = a->mult;
  f.shift = a->shift;
  f.oc = a->units;
  f.zp = a->out_zp;
  f.lo = a->lo;
  f.hi = a->hi;
  for (b = 0; b + 1 < a->batches; b += 2) {
    put(rows[0], &s, 0, a->x + b * a->depth, a->depth, a->in_offset);
    put(rows[1], &s, 0, a->x + (b + 1) * a->depth, a->depth, a->in_offset);
    two_rows(rows[0], rows[1], &f, &s, a->y + b * a->units, a->y + (b + 1) * a->units);
  }
  if (b < a->batches) {
    put(rows[0], &s, 0, a->x + b * a->depth, a->depth, a->in_offset);
    one_row(rows[0], &f, &s, a->y + b * a->units);
  }
  return 1;
}

/* ---- DEPTHWISE_CONV_2D ------------------------------------------------------------------ */

#define DW_MAX_TAPS 64

/* Eight channels of every tap into two int32x4. */
#define DW8(lo4, hi4, off)                                                       \
  {                                                                              \
    v128_t xv = wasm_i16x8_load8x8(tap[t] + c + (off)), wv = wasm_i16x8_load8x8(wp + (off)); \
    lo4 = wasm_i32x4_add(lo4, wasm_i32x4_extmul_low_i16x8(xv, wv));              \
    hi4 = wasm_i32x4_add(hi4, wasm_i32x4_extmul_high_i16x8(xv, wv));             \
  }

/*
 * Layers with a multiple of 8 channels, on filters kept repacked (the area of the fully
 * connected kernel above; the fast path runs only on constant filter and bias, whose
 * folded bias_eff the entry keeps): taps in pairs, each channel's two weights side by side
 * as int16, the last odd tap paired with a weight of 0. Two taps' eight channels are
 * interleaved by one i16x8 shuffle each half, so one i32x4.dot_i16x8_s adds two taps of
 * four channels: per eight channels and two taps 2 loads, 2 shuffles, 2 dots and 2 adds,
 * against 4 extended multiplies (three x86 instructions each in V8) and 4 adds before.
 */
static inline v128_t dw_rq(v128_t acc, const gemm_layer *e, int32_t c) {
  rq_lanes q;
  q.m = wasm_v128_load(e->m + c);
  q.c = wasm_v128_load(e->c + c);
  q.p = wasm_v128_load(e->p + c);
  q.hmin = wasm_v128_load(e->hmin + c);
  q.hmax = wasm_v128_load(e->hmax + c);
  return wasm_i32x4_add(rq4(acc, &q), wasm_i32x4_splat(e->zp));
}

/* Eight channels' sums from channel c into y[c..c+7]. */
static inline void dw_store8(v128_t s0, v128_t s1, const gemm_layer *e, int32_t c, int8_t *y) {
  if (e->ok[c / 4] && e->ok[c / 4 + 1]) {
    v128_t v = wasm_i16x8_narrow_i32x4(dw_rq(s0, e, c), dw_rq(s1, e, c + 4));
    wasm_v128_store64_lane(y + c, wasm_i8x16_narrow_i16x8(v, v), 0);
  } else {
    int32_t acc[8], i;
    wasm_v128_store(acc, s0);
    wasm_v128_store(acc + 4, s1);
    for (i = 0; i < 8; i++) y[c + i] = rq_scalar(acc[i], e->mult[c + i], e->shift[c + i], e->zp, e->lo, e->hi);
  }
}

#define DW_PAIR(s0, s1, off)                                                                                      \
  {                                                                                                               \
    v128_t xa = wasm_i16x8_load8x8(tap[2 * q] + c + (off)), xb = wasm_i16x8_load8x8(tap[2 * q + 1] + c + (off));  \
    s0 = wasm_i32x4_add(s0, wasm_i32x4_dot_i16x8(wasm_i16x8_shuffle(xa, xb, 0, 8, 1, 9, 2, 10, 3, 11), wasm_v128_load(wq + 2 * (off)))); \
    s1 = wasm_i32x4_add(s1, wasm_i32x4_dot_i16x8(wasm_i16x8_shuffle(xa, xb, 4, 12, 5, 13, 6, 14, 7, 15),            \
                                                 wasm_v128_load(wq + 2 * (off) + 8)));                            \
  }

static int dw_pairs(const qb_conv_int8 *a, int8_t *zrow) {
  const int8_t *tap[DW_MAX_TAPS + 1];
  int32_t taps = a->fh * a->fw, pairs = (taps + 1) / 2, oc = a->oc, b, oy, ox, c, q, fresh;
  gemm_layer *e;
  if (oc % 8 != 0 || !a->bias_eff)
    return 0;
  e = layer_entry(1, a->w, a->bias_eff, a->mult, a->shift, oc, taps, a->in_offset, a->out_zp, a->lo, a->hi,
                  (uint64_t)pairs * (uint64_t)oc * 4u, &fresh);
  if (!e) return 0;
  if (fresh) {
    int16_t *pw = (int16_t *)(void *)e->pw;
    for (q = 0; q < pairs; q++)
      for (c = 0; c < oc; c++) {
        pw[(q * oc + c) * 2] = a->w[2 * q * oc + c];
        pw[(q * oc + c) * 2 + 1] = 2 * q + 1 < taps ? a->w[(2 * q + 1) * oc + c] : 0;
      }
  }
  for (b = 0; b < a->n; b++)
    for (oy = 0; oy < a->oh; oy++)
      for (ox = 0; ox < a->ow; ox++) {
        int8_t *y = a->y + ((b * a->oh + oy) * a->ow + ox) * oc;
        qb_dw_window_taps(a, b, oy, ox, zrow, tap);
        tap[taps] = tap[0]; /* the odd tap's partner, against weights of 0 */
        for (c = 0; c + 16 <= oc; c += 16) {
          v128_t s0 = wasm_v128_load(e->beff + c), s1 = wasm_v128_load(e->beff + c + 4), s2 = wasm_v128_load(e->beff + c + 8),
                 s3 = wasm_v128_load(e->beff + c + 12);
          const int16_t *wq = (const int16_t *)(const void *)e->pw + 2 * c;
          for (q = 0; q < pairs; q++, wq += 2 * oc) {
            DW_PAIR(s0, s1, 0)
            DW_PAIR(s2, s3, 8)
          }
          dw_store8(s0, s1, e, c, y);
          dw_store8(s2, s3, e, c + 8, y);
        }
        if (c < oc) {
          v128_t s0 = wasm_v128_load(e->beff + c), s1 = wasm_v128_load(e->beff + c + 4);
          const int16_t *wq = (const int16_t *)(const void *)e->pw + 2 * c;
          for (q = 0; q < pairs; q++, wq += 2 * oc) DW_PAIR(s0, s1, 0)
          dw_store8(s0, s1, e, c, y);
        }
      }
  return 1;
}
#undef DW_PAIR

int qb_dwconv_int8_simd(const qb_conv_int8 *a) {
  const int8_t *tap[DW_MAX_TAPS];
  int32_t *cc = (int32_t *)a->scratch, *pp = cc + a->ic;
  int8_t *zrow = (int8_t *)(pp + a->ic);
  int32_t taps = a->fh * a->fw, oc = a->oc, b, oy, ox, t, c, j;
  const int32_t *bias_eff = a->bias_eff, *mult = a->mult;
  const int8_t *shift = a->shift, *w = a->w;
  int32_t zpi = a->out_zp, lo = a->lo, hi = a->hi, L = lo - zpi, H = hi - zpi;
  v128_t l2 = wasm_i32x4_splat(2 * L - 1), lz = wasm_i32x4_splat(L <= 0), h2 = wasm_i32x4_splat(2 * H + 1), hz = wasm_i32x4_splat(H >= 0),
         zp = wasm_i32x4_splat(zpi);
  if (a->depth_multiplier != 1 || taps > DW_MAX_TAPS) return 0;
  for (c = 0; c < a->ic; c++) zrow[c] = (int8_t)(-a->in_offset);
  if (dw_pairs(a, zrow)) return 1;
  rq_constants(mult, shift, oc, lo, hi, cc, pp);
  for (b = 0; b < a->n; b++)
    for (oy = 0; oy < a->oh; oy++)
      for (ox = 0; ox < a->ow; ox++) {
        int8_t *y = a->y + ((b * a->oh + oy) * a->ow + ox) * oc;
        qb_dw_window_taps(a, b, oy, ox, zrow, tap);
        for (c = 0; c + 8 <= oc;) {
          int wide = c + 16 <= oc;
          v128_t s0 = wasm_v128_load(bias_eff + c), s1 = wasm_v128_load(bias_eff + c + 4), s2 = s0, s3 = s1;
          const int8_t *wp = w + c;
          if (wide) {
            s2 = wasm_v128_load(bias_eff + c + 8);
            s3 = wasm_v128_load(bias_eff + c + 12);
            for (t = 0; t < taps; t++, wp += oc) {
              DW8(s0, s1, 0)
              DW8(s2, s3, 8)
            }
          } else {
            for (t = 0; t < taps; t++, wp += oc) DW8(s0, s1, 0)
          }
          for (j = 0; j < (wide ? 16 : 8); j += 8) {
            v128_t lo4 = j ? s2 : s0, hi4 = j ? s3 : s1;
            if (wasm_i32x4_all_true(wasm_v128_load(pp + c + j)) && wasm_i32x4_all_true(wasm_v128_load(pp + c + j + 4))) {
              rq_lanes q0 = rq_load(mult + c + j, cc + c + j, pp + c + j, l2, lz, h2, hz);
              rq_lanes q1 = rq_load(mult + c + j + 4, cc + c + j + 4, pp + c + j + 4, l2, lz, h2, hz);
              v128_t v = wasm_i16x8_narrow_i32x4(wasm_i32x4_add(rq4(lo4, &q0), zp), wasm_i32x4_add(rq4(hi4, &q1), zp));
              wasm_v128_store64_lane(y + c + j, wasm_i8x16_narrow_i16x8(v, v), 0);
            } else {
              int32_t acc[8], i;
              wasm_v128_store(acc, lo4);
              wasm_v128_store(acc + 4, hi4);
              for (i = 0; i < 8; i++) y[c + j + i] = rq_scalar(acc[i], mult[c + j + i], shift[c + j + i], zpi, lo, hi);
            }
          }
          c += wide ? 16 : 8;
        }
        for (; c < oc; c++) {
          int32_t acc = bias_eff[c];
          for (t = 0; t < taps; t++) acc = (int32_t)((uint32_t)acc + (uint32_t)(tap[t][c] * w[t * oc + c]));
          y[c] = rq_scalar(acc, mult[c], shift[c], zpi, lo, hi);
        }
      }
  return 1;
}
#undef DW8

/* ---- same-shape ADD / SUB ------------------------------------------------------------------ */

/*
 * Each operand's 256 possible rescaled values tabulated with the reference's own qb_mbqm,
 * then the output requantization four elements at a time by rq4() with one shift for every
 * lane. An operand rescale in SIMD lanes needs per-call shift amounts and int32 multiplies,
 * which ran at half the speed of these table loads.
 */
/*
 * Operands whose shift is 0 to -31 (every ADD/SUB TFLite prepares: an operand's multiplier
 * is at most 0.5) are rescaled in the lanes instead, sixteen elements a pass. With v = x +
 * offset (|v| <= 255) and m = mh * 2^11 + ml (0 <= ml < 2^11), SaturatingRoundingDoublingHighMul
 * (v << 20, m) = floor((v * m + 2^10) / 2^11) = v * mh + floor((v * ml + 2^10) / 2^11): the
 * first term is a multiple of 2^11, so it leaves the floor unchanged. Both products fit in
 * int32 (|v * mh| < 2^28, |v * ml| < 2^19). RoundingDivideByPOT(h, r) is then
 * floor((h + 2^(r-1) - [h < 0]) / 2^r) (see rq4()), an arithmetic shift by the same r in every
 * lane; for r = 0 the two added terms are masked to 0. The rescaled values stay within
 * +-2^28, so qb_mbqm's +-2^30 clamp never acts on them.
 */
typedef struct {
  v128_t mh, ml, c, neg;
  int32_t r;
} add_operand;

static add_operand add_operand_of(int32_t m, int32_t shift) {
  add_operand o;
  o.r = -shift;
  o.mh = wasm_i32x4_splat(m >> 11);
  o.ml = wasm_i32x4_splat(m & 2047);
  o.c = wasm_i32x4_splat(o.r ? 1 << (o.r - 1) : 0);
  o.neg = wasm_i32x4_splat(o.r ? -1 : 0);
  return o;
}

/* The shift goes as its own argument, read once a pass (volatile): a splat of it hoisted out
 * of the loop makes clang 14 shift lane by lane. */
static inline v128_t add_rescale(v128_t v, const add_operand *o, uint32_t r) {
  v128_t h = wasm_i32x4_add(wasm_i32x4_mul(v, o->mh), wasm_i32x4_shr(wasm_i32x4_add(wasm_i32x4_mul(v, o->ml), wasm_i32x4_splat(1 << 10)), 11));
  return wasm_i32x4_shr(wasm_i32x4_add(wasm_i32x4_add(h, o->c), wasm_v128_and(wasm_i32x4_shr(h, 31), o->neg)), r);
}

/* Added to the output requantization: lanes of va (int16 x + offset) and vb, rescaled and
 * summed (vb's negated for SUB: (t ^ sgn) - sgn). */
static inline v128_t add_lanes(v128_t va, v128_t vb, const add_operand *oa, const add_operand *ob, uint32_t ra, uint32_t rb, v128_t sgn) {
  v128_t tb = add_rescale(vb, ob, rb);
  return wasm_i32x4_add(add_rescale(va, oa, ra), wasm_i32x4_sub(wasm_v128_xor(tb, sgn), sgn));
}

int32_t qb_add_simd_lanes;

int qb_add_int8_simd(const qb_add_int8 *a) {
  int32_t *ta = a->table ? a->table + 128 : 0, *tb = ta + 256, i, v, n = a->n, zpi = a->out_zp, so = a->so;
  rq_lanes q;
  v128_t zp = wasm_i32x4_splat(zpi);
  const int8_t *x = a->a, *z = a->b;
  if (a->mo < 0 || so < -23 || so > -1 || a->lo > a->hi) return 0;
  {
    int32_t L = a->lo - zpi, H = a->hi - zpi, c = 1 << (-so - 1), pw = 1 << (23 + so);
    q.m = wasm_i32x4_splat(a->mo);
    q.c = wasm_i32x4_splat(c);
    q.p = wasm_i32x4_splat(pw);
    q.hmin = wasm_i32x4_splat((2 * L - 1) * c + (L <= 0));
    q.hmax = wasm_i32x4_splat((2 * H + 1) * c - (H >= 0));
  }
  if (a->m1 >= 0 && a->m2 >= 0 && a->s1 <= 0 && a->s1 >= -31 && a->s2 <= 0 && a->s2 >= -31) {
    add_operand oa = add_operand_of(a->m1, a->s1), ob = add_operand_of(a->m2, a->s2);
    v128_t offa = wasm_i16x8_splat((int16_t)a->a_offset), offb = wasm_i16x8_splat((int16_t)a->b_offset);
    v128_t sgn = wasm_i32x4_splat(a->sub ? -1 : 0);
    volatile uint32_t shifts[2];
    shifts[0] = (uint32_t)oa.r;
    shifts[1] = (uint32_t)ob.r;
    for (i = 0; i + 16 <= n; i += 16) {
      uint32_t ra = shifts[0], rb = shifts[1];
      v128_t xa = wasm_v128_load(x + i), xb = wasm_v128_load(z + i);
      v128_t al = wasm_i16x8_add(wasm_i16x8_extend_low_i8x16(xa), offa), ah = wasm_i16x8_add(wasm_i16x8_extend_high_i8x16(xa), offa);
      v128_t bl = wasm_i16x8_add(wasm_i16x8_extend_low_i8x16(xb), offb), bh = wasm_i16x8_add(wasm_i16x8_extend_high_i8x16(xb), offb);
      v128_t s0 = add_lanes(wasm_i32x4_extend_low_i16x8(al), wasm_i32x4_extend_low_i16x8(bl), &oa, &ob, ra, rb, sgn);
      v128_t s1 = add_lanes(wasm_i32x4_extend_high_i16x8(al), wasm_i32x4_extend_high_i16x8(bl), &oa, &ob, ra, rb, sgn);
      v128_t s2 = add_lanes(wasm_i32x4_extend_low_i16x8(ah), wasm_i32x4_extend_low_i16x8(bh), &oa, &ob, ra, rb, sgn);
      v128_t s3 = add_lanes(wasm_i32x4_extend_high_i16x8(ah), wasm_i32x4_extend_high_i16x8(bh), &oa, &ob, ra, rb, sgn);
      v128_t lo = wasm_i16x8_narrow_i32x4(wasm_i32x4_add(rq4(s0, &q), zp), wasm_i32x4_add(rq4(s1, &q), zp));
      v128_t hi = wasm_i16x8_narrow_i32x4(wasm_i32x4_add(rq4(s2, &q), zp), wasm_i32x4_add(rq4(s3, &q), zp));
      wasm_v128_store(a->y + i, wasm_i8x16_narrow_i16x8(lo, hi));
    }
    for (; i < n; i++) {
      int32_t sa = qb_mbqm((x[i] + a->a_offset) * (1 << 20), a->m1, (int)a->s1);
      int32_t sb = qb_mbqm((z[i] + a->b_offset) * (1 << 20), a->m2, (int)a->s2);
      a->y[i] = (int8_t)qb_clamp(qb_mbqm(a->sub ? sa - sb : sa + sb, a->mo, (int)so) + zpi, a->lo, a->hi);
    }
    qb_add_simd_lanes++;
    return 1;
  }
  if (!ta) return 0;
  for (v = -128; v < 128; v++) {
    ta[v] = qb_mbqm((v + a->a_offset) * (1 << 20), a->m1, (int)a->s1);
    tb[v] = qb_mbqm((v + a->b_offset) * (1 << 20), a->m2, (int)a->s2);
    if (a->sub) tb[v] = -tb[v];
  }
  for (i = 0; i + 8 <= n; i += 8) {
    v128_t s0 = wasm_i32x4_make(ta[x[i]] + tb[z[i]], ta[x[i + 1]] + tb[z[i + 1]], ta[x[i + 2]] + tb[z[i + 2]], ta[x[i + 3]] + tb[z[i + 3]]);
    v128_t s1 = wasm_i32x4_make(ta[x[i + 4]] + tb[z[i + 4]], ta[x[i + 5]] + tb[z[i + 5]], ta[x[i + 6]] + tb[z[i + 6]], ta[x[i + 7]] + tb[z[i + 7]]);
    v128_t y16 = wasm_i16x8_narrow_i32x4(wasm_i32x4_add(rq4(s0, &q), zp), wasm_i32x4_add(rq4(s1, &q), zp));
    wasm_v128_store64_lane(a->y + i, wasm_i8x16_narrow_i16x8(y16, y16), 0);
  }
  for (; i < n; i++) a->y[i] = (int8_t)qb_clamp(qb_mbqm(ta[x[i]] + tb[z[i]], a->mo, (int)so) + zpi, a->lo, a->hi);
  return 1;
}

/* ---- window sums for AVERAGE_POOL_2D and MEAN ----------------------------------------------- */

/* sums[j] = the sum of channel j (j < 16) over rows x cols pixels from x (exact: at most
 * 2^23 int8 values per lane before an int32 could overflow, far above any window). */
void qb_sum16_int8(const int8_t *x, int32_t rows, int32_t cols, int32_t row_stride, int32_t px_stride, int32_t *sums) {
  v128_t s0 = wasm_i32x4_splat(0), s1 = s0, s2 = s0, s3 = s0;
  int32_t r, q;
  for (r = 0; r < rows; r++, x += row_stride) {
    const int8_t *p = x;
    for (q = 0; q < cols; q++, p += px_stride) {
      v128_t v = wasm_v128_load(p), lo = wasm_i16x8_extend_low_i8x16(v), hi = wasm_i16x8_extend_high_i8x16(v);
      s0 = wasm_i32x4_add(s0, wasm_i32x4_extend_low_i16x8(lo));
      s1 = wasm_i32x4_add(s1, wasm_i32x4_extend_high_i16x8(lo));
      s2 = wasm_i32x4_add(s2, wasm_i32x4_extend_low_i16x8(hi));
      s3 = wasm_i32x4_add(s3, wasm_i32x4_extend_high_i16x8(hi));
    }
  }
  wasm_v128_store(sums, s0);
  wasm_v128_store(sums + 4, s1);
  wasm_v128_store(sums + 8, s2);
  wasm_v128_store(sums + 12, s3);
}

#endif
