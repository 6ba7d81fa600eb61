/* AVERAGE_POOL_2D, MAX_POOL_2D and MEAN over height and width (TFLite reference rounding). */
#include "qb_kernels.h"

qb_status qb_k_pool(qb_interpreter *it, const qb_op *op, int is_max) {
  const qb_tensor *in = QB_IN(it, op, 0), *out = QB_OUT(it, op, 0);
  int32_t n, ih, iw, c, on, oh, ow, oc, padding, sw, sh, fw, fh, act, pad_w, pad_h, b, oy, ox, ch, ky, kx;
  if (!qb_nhwc(in, &n, &ih, &iw, &c) || !qb_nhwc(out, &on, &oh, &ow, &oc) || on != n || oc != c)
    return qb_kernel_error(it, op, QB_ERR_KERNEL, "input and output must be 4-D with the same batch and channels");
  padding = qb_opt_int(it, op, 0, 0, 1);
  sw = qb_opt_int(it, op, 1, 0, 4);
  sh = qb_opt_int(it, op, 2, 0, 4);
  fw = qb_opt_int(it, op, 3, 0, 4);
  fh = qb_opt_int(it, op, 4, 0, 4);
  act = qb_opt_int(it, op, 5, 0, 1);
  /* Bounded so index arithmetic below stays far from int32 overflow on a corrupt file. */
  if (padding < 0 || padding > 1 || sw <= 0 || sh <= 0 || fw <= 0 || fh <= 0 || act == INT32_MIN || sw > QB_MAX_WINDOW ||
      sh > QB_MAX_WINDOW || fw > QB_MAX_WINDOW || fh > QB_MAX_WINDOW)
    return qb_kernel_error(it, op, QB_ERR_MODEL_INVALID, "bad pool options");
  if (qb_out_size(padding, ih, fh, sh, 1) != oh || qb_out_size(padding, iw, fw, sw, 1) != ow)
    return qb_kernel_error(it, op, QB_ERR_KERNEL, "output shape does not match padding and stride");
  pad_h = qb_padding(sh, 1, ih, fh, oh);
  pad_w = qb_padding(sw, 1, iw, fw, ow);
  if (in->type == QB_TYPE_INT8 && out->type == QB_TYPE_INT8) {
    const int8_t *x = (const int8_t *)qb_tensor_data(it, in);
    int8_t *y = (int8_t *)qb_tensor_data(it, out);
    int32_t lo, hi;
    if (!qb_act_range_int8(act, out, &lo, &hi)) return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "fused activation");
    for (b = 0; b < n; b++)
      for (oy = 0; oy < oh; oy++)
        for (ox = 0; ox < ow; ox++)
          for (ch = 0; ch < c; ch++) {
            int32_t y0 = oy * sh - pad_h, x0 = ox * sw - pad_w;
            int32_t ky0 = y0 < 0 ? -y0 : 0, ky1 = ih - y0 < fh ? ih - y0 : fh;
            int32_t kx0 = x0 < 0 ? -x0 : 0, kx1 = iw - x0 < fw ? iw - x0 : fw;
            int32_t acc = is_max ? -128 : 0, count = 0;
#if defined(__wasm_simd128__)
            /* sixteen channels' sums at once, each then rounded as below */
            if (!is_max && ch + 16 <= c && ky1 > ky0 && kx1 > kx0 && (int64_t)(ky1 - ky0) * (kx1 - kx0) < (1 << 22)) {
              int32_t sums[16], j, cnt = (ky1 - ky0) * (kx1 - kx0);
              qb_sum16_int8(x + ((b * ih + y0 + ky0) * iw + x0 + kx0) * c + ch, ky1 - ky0, kx1 - kx0, iw * c, c, sums);
              for (j = 0; j < 16; j++) {
                int32_t v = sums[j] > 0 ? (sums[j] + cnt / 2) / cnt : (sums[j] - cnt / 2) / cnt;
                y[((b * oh + oy) * ow + ox) * c + ch + j] = (int8_t)qb_clamp(v, lo, hi);
              }
              ch += 15;
              continue;
            }
#endif
            for (ky = ky0; ky < ky1; ky++)
              for (kx = kx0; kx < kx1; kx++) {
                int32_t v = x[((b * ih + y0 + ky) * iw + x0 + kx) * c + ch];
                if (is_max) acc = v > acc ? v : acc;
                else acc += v;
                count++;
              }
            if (count == 0) return qb_kernel_error(it, op, QB_ERR_KERNEL, "empty pooling window");
            if (!is_max) acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
            y[((b * oh + oy) * ow + ox) * c + ch] = (int8_t)qb_clamp(acc, lo, hi);
          }
    return QB_OK;
  }
  if (in->type == QB_TYPE_FLOAT32 && out->type == QB_TYPE_FLOAT32) {
    const float *x = (const float *)qb_tensor_data(it, in);
    float *y = (float *)qb_tensor_data(it, out), lo, hi;
    if (!qb_act_range_float(act, &lo, &hi)) return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "fused activation");
    for (b = 0; b < n; b++)
      for (oy = 0; oy < oh; oy++)
        for (ox = 0; ox < ow; ox++)
          for (ch = 0; ch < c; ch++) {
            int32_t y0 = oy * sh - pad_h, x0 = ox * sw - pad_w;
            int32_t ky0 = y0 < 0 ? -y0 : 0, ky1 = ih - y0 < fh ? ih - y0 : fh;
            int32_t kx0 = x0 < 0 ? -x0 : 0, kx1 = iw - x0 < fw ? iw - x0 : fw;
            float acc = is_max ? -3.402823466e38f : 0.0f;
            int32_t count = 0;
            for (ky = ky0; ky < ky1; ky++)
              for (kx = kx0; kx < kx1; kx++) {
                float v = x[((b * ih + y0 + ky) * iw + x0 + kx) * c + ch];
                if (is_max) acc = v > acc ? v : acc;
                else acc += v;
                count++;
              }
            if (count == 0) return qb_kernel_error(it, op, QB_ERR_KERNEL, "empty pooling window");
            if (!is_max) acc /= (float)count;
            y[((b * oh + oy) * ow + ox) * c + ch] = acc < lo ? lo : (acc > hi ? hi : acc);
          }
    return QB_OK;
  }
  return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "type (int8 or float32 only)");
}

/* MEAN over axes {1, 2} of an NHWC tensor: global average pooling. */
qb_status qb_k_mean(qb_interpreter *it, const qb_op *op) {
  const qb_tensor *in = QB_IN(it, op, 0), *axes, *out = QB_OUT(it, op, 0);
  int32_t n, h, w, c, b, ch, i, count, has1 = 0, has2 = 0;
  if (op->n_in < 2 || op->in[1] < 0) return qb_kernel_error(it, op, QB_ERR_MODEL_INVALID, "needs an axis tensor");
  axes = QB_IN(it, op, 1);
  if (!qb_nhwc(in, &n, &h, &w, &c) || axes->type != QB_TYPE_INT32 || !axes->is_const)
    return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "only a 4-D input with constant int32 axes");
  for (i = 0; i < (int32_t)axes->elements; i++) {
    int32_t a = ((const int32_t *)axes->data)[i];
    if (a < 0) a += 4;
    if (a == 1) has1 = 1;
    else if (a == 2) has2 = 1;
    else return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "only the mean over height and width");
  }
  if (!has1 || !has2 || out->elements != (uint32_t)(n * c)) return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "only the mean over height and width");
  count = h * w;
  if (count <= 0) return qb_kernel_error(it, op, QB_ERR_KERNEL, "empty input");
  if (in->type == QB_TYPE_INT8 && out->type == QB_TYPE_INT8) {
    const int8_t *x = (const int8_t *)qb_tensor_data(it, in);
    int8_t *y = (int8_t *)qb_tensor_data(it, out);
    int32_t m;
    int shift;
    qb_quantize_multiplier((double)in->scale / (double)out->scale, &m, &shift);
    for (b = 0; b < n; b++)
      for (ch = 0; ch < c; ch++) {
        int32_t acc = 0;
#if defined(__wasm_simd128__)
        /* sixteen channels' sums at once; sum(x - zp) = sum(x) - count * zp, no overflow */
        if (ch + 16 <= c && count < (1 << 22)) {
          int32_t sums[16], j;
          qb_sum16_int8(x + b * count * c + ch, 1, count, 0, c, sums);
          for (j = 0; j < 16; j++) {
            acc = qb_mbqm(sums[j] - count * in->zero_point, m, shift);
            acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
            y[b * c + ch + j] = (int8_t)qb_clamp(acc + out->zero_point, -128, 127);
          }
          ch += 15;
          continue;
        }
#endif
        for (i = 0; i < count; i++) acc += x[(b * count + i) * c + ch] - in->zero_point;
        acc = qb_mbqm(acc, m, shift);
        acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
        y[b * c + ch] = (int8_t)qb_clamp(acc + out->zero_point, -128, 127);
      }
    return QB_OK;
  }
  if (in->type == QB_TYPE_FLOAT32 && out->type == QB_TYPE_FLOAT32) {
    const float *x = (const float *)qb_tensor_data(it, in);
    float *y = (float *)qb_tensor_data(it, out);
    for (b = 0; b < n; b++)
      for (ch = 0; ch < c; ch++) {
        float acc = 0.0f;
        for (i = 0; i < count; i++) acc += x[(b * count + i) * c + ch];
        y[b * c + ch] = acc / (float)count;
      }
    return QB_OK;
  }
  return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "type (int8 or float32 only)");
}
