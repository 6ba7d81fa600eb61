/*
 * int8 CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED arithmetic: the reference loops of
 * TFLite's reference_integer_ops (ConvPerChannel, DepthwiseConvPerChannel, FullyConnected)
 * and faster variants that produce the same bytes.
 *
 * Why the fast variants are exact: the reference accumulates sum((x + in_offset) * w) in
 * int32 that wraps on overflow. The fast ones accumulate sum(x * w) and add
 * in_offset * sum(w) over the same taps; in wrapping (mod 2^32) arithmetic the two are the
 * same number, and everything after the accumulator is shared. tests/test_fast_kernels.c
 * checks it on random shapes, paddings, strides and zero points.
 */
#include "qb_kernels.h"

#define WRAP_ADD(a, b) ((int32_t)((uint32_t)(a) + (uint32_t)(b)))
#define WRAP_MUL(a, b) ((int32_t)((uint32_t)(a) * (uint32_t)(b)))

static int8_t requantize(const qb_conv_int8 *a, int32_t acc, int32_t o) {
  if (a->bias) acc = WRAP_ADD(acc, a->bias[o]);
  acc = qb_mbqm(acc, a->mult[o], (int)a->shift[o]) + a->out_zp;
  return (int8_t)qb_clamp(acc, a->lo, a->hi);
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
          a->y[((b * a->oh + oy) * a->ow + ox) * a->oc + o] = requantize(a, acc, o);
        }
}

/* sum(x[i] * w[i]) for n contiguous int8 pairs, wrapping; four independent sums. */
static int32_t dot(const int8_t *x, const int8_t *w, int32_t n) {
  uint32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += (uint32_t)(x[i] * w[i]);
    s1 += (uint32_t)(x[i + 1] * w[i + 1]);
    s2 += (uint32_t)(x[i + 2] * w[i + 2]);
    s3 += (uint32_t)(x[i + 3] * w[i + 3]);
  }
  for (; i < n; i++) s0 += (uint32_t)(x[i] * w[i]);
  return (int32_t)(s0 + s1 + s2 + s3);
}

static int32_t sum(const int8_t *w, int32_t n) {
  uint32_t s = 0;
  int32_t i;
  for (i = 0; i < n; i++) s += (uint32_t)(int32_t)w[i];
  return (int32_t)s;
}

/* Output-pixel major: each (ky) row of the window is one contiguous run of input and
 * filter bytes, so the inner loop is a plain dot product. */
int qb_conv_int8_fast(const qb_conv_int8 *a) {
  int32_t *wsum = a->scratch, b, oy, ox, o, ky;
  const int32_t row = a->fw * a->ic;
  if (a->dil_w != 1 || a->dil_h != 1) return 0;
  for (o = 0; o < a->oc; o++) wsum[o] = sum(a->w + o * a->fh * row, a->fh * row);
  for (b = 0; b < a->n; b++)
    for (oy = 0; oy < a->oh; oy++)
      for (ox = 0; ox < a->ow; ox++) {
        int32_t y0 = oy * a->stride_h - a->pad_h, x0 = ox * a->stride_w - a->pad_w;
        int32_t ky0 = y0 < 0 ? -y0 : 0, ky1 = a->ih - y0 < a->fh ? a->ih - y0 : a->fh;
        int32_t kx0 = x0 < 0 ? -x0 : 0, kx1 = a->iw - x0 < a->fw ? a->iw - x0 : a->fw;
        int full = ky0 == 0 && ky1 == a->fh && kx0 == 0 && kx1 == a->fw;
        int32_t run = (kx1 - kx0) * a->ic;
        int8_t *yp = a->y + ((b * a->oh + oy) * a->ow + ox) * a->oc;
        for (o = 0; o < a->oc; o++) {
          int32_t acc = 0, ws = full ? wsum[o] : 0;
          for (ky = ky0; ky < ky1; ky++) {
            const int8_t *xp = a->x + ((b * a->ih + y0 + ky) * a->iw + x0 + kx0) * a->ic;
            const int8_t *wp = a->w + ((o * a->fh + ky) * a->fw + kx0) * a->ic;
            acc = WRAP_ADD(acc, dot(xp, wp, run));
            if (!full) ws = WRAP_ADD(ws, sum(wp, run));
          }
          yp[o] = requantize(a, WRAP_ADD(acc, WRAP_MUL(a->in_offset, ws)), o);
        }
      }
  return 1;
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
            a->y[((b * a->oh + oy) * a->ow + ox) * a->oc + o] = requantize(a, acc, o);
          }
    }
}

/* Channels innermost: every tap is a contiguous run over channels in both input and
 * filter. Uses three scratch words per channel: accumulator, tap weight sum, full sum. */
int qb_dwconv_int8_fast(const qb_conv_int8 *a) {
  int32_t *acc = a->scratch, *ws = a->scratch + a->oc, *full_sum = a->scratch + 2 * a->oc;
  int32_t b, oy, ox, ky, kx, c;
  if (a->dil_w != 1 || a->dil_h != 1 || a->depth_multiplier != 1) return 0;
  for (c = 0; c < a->oc; c++) full_sum[c] = 0;
  for (ky = 0; ky < a->fh * a->fw; ky++)
    for (c = 0; c < a->oc; c++) full_sum[c] = WRAP_ADD(full_sum[c], a->w[ky * a->oc + c]);
  for (b = 0; b < a->n; b++)
    for (oy = 0; oy < a->oh; oy++)
      for (ox = 0; ox < a->ow; ox++) {
        int32_t y0 = oy * a->stride_h - a->pad_h, x0 = ox * a->stride_w - a->pad_w;
        int32_t ky0 = y0 < 0 ? -y0 : 0, ky1 = a->ih - y0 < a->fh ? a->ih - y0 : a->fh;
        int32_t kx0 = x0 < 0 ? -x0 : 0, kx1 = a->iw - x0 < a->fw ? a->iw - x0 : a->fw;
        int full = ky0 == 0 && ky1 == a->fh && kx0 == 0 && kx1 == a->fw;
        int8_t *yp = a->y + ((b * a->oh + oy) * a->ow + ox) * a->oc;
        for (c = 0; c < a->oc; c++) acc[c] = ws[c] = 0;
        for (ky = ky0; ky < ky1; ky++)
          for (kx = kx0; kx < kx1; kx++) {
            const int8_t *xp = a->x + ((b * a->ih + y0 + ky) * a->iw + x0 + kx) * a->ic;
            const int8_t *wp = a->w + (ky * a->fw + kx) * a->oc;
            for (c = 0; c < a->oc; c++) acc[c] = WRAP_ADD(acc[c], xp[c] * wp[c]);
            if (!full)
              for (c = 0; c < a->oc; c++) ws[c] = WRAP_ADD(ws[c], wp[c]);
          }
        for (c = 0; c < a->oc; c++) yp[c] = requantize(a, WRAP_ADD(acc[c], WRAP_MUL(a->in_offset, full ? full_sum[c] : ws[c])), c);
      }
  return 1;
}

static int8_t requantize_fc(const qb_fc_int8 *a, int32_t acc, int32_t u) {
  if (a->bias) acc = WRAP_ADD(acc, a->bias[u]);
  acc = qb_mbqm(acc, a->mult[u], (int)a->shift[u]) + a->out_zp;
  return (int8_t)qb_clamp(acc, a->lo, a->hi);
}

void qb_fc_int8_ref(const qb_fc_int8 *a) {
  int32_t u, b, d;
  for (u = 0; u < a->units; u++)
    for (b = 0; b < a->batches; b++) {
      int32_t acc = 0;
      const int8_t *xp = a->x + b * a->depth, *wp = a->w + u * a->depth;
      for (d = 0; d < a->depth; d++) acc = WRAP_ADD(acc, (wp[d] + a->w_offset) * (xp[d] + a->in_offset));
      a->y[b * a->units + u] = requantize_fc(a, acc, u);
    }
}

int qb_fc_int8_fast(const qb_fc_int8 *a) {
  int32_t u, b;
  if (a->w_offset != 0) return 0;
  for (b = 0; b < a->batches; b++)
    for (u = 0; u < a->units; u++) {
      const int8_t *wp = a->w + u * a->depth;
      if (b == 0) a->scratch[u] = sum(wp, a->depth);
      a->y[b * a->units + u] = requantize_fc(a, WRAP_ADD(dot(a->x + b * a->depth, wp, a->depth), WRAP_MUL(a->in_offset, a->scratch[u])), u);
    }
  return 1;
}
