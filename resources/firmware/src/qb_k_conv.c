/*
 * Reference CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED, int8 and float32, with the
 * loop order and integer rounding of TFLite's reference_integer_ops::ConvPerChannel,
 * DepthwiseConvPerChannel and FullyConnected.
 */
#include "qb_kernels.h"


typedef struct {
  int32_t pad_w, pad_h, stride_w, stride_h, dil_w, dil_h, act, depth_multiplier;
} conv_params;

static qb_status read_conv(qb_interpreter *it, const qb_op *op, int depthwise, conv_params *p,
                           int32_t ih, int32_t iw, int32_t fh, int32_t fw, int32_t oh, int32_t ow) {
  int base = depthwise ? 1 : 0;
  int32_t padding = qb_opt_int(it, op, 0, 0, 1);
  p->stride_w = qb_opt_int(it, op, 1, 0, 4);
  p->stride_h = qb_opt_int(it, op, 2, 0, 4);
  p->depth_multiplier = depthwise ? qb_opt_int(it, op, 3, 1, 4) : 1;
  p->act = qb_opt_int(it, op, 3 + base, 0, 1);
  p->dil_w = qb_opt_int(it, op, 4 + base, 1, 4);
  p->dil_h = qb_opt_int(it, op, 5 + base, 1, 4);
  /* Bounded so index arithmetic in the loops stays far from int32 overflow on a corrupt file. */
  if (padding < 0 || padding > 1 || p->stride_w <= 0 || p->stride_h <= 0 || p->dil_w <= 0 || p->dil_h <= 0 || p->act == INT32_MIN ||
      p->stride_w > QB_MAX_WINDOW || p->stride_h > QB_MAX_WINDOW || (int64_t)(fh - 1) * p->dil_h > QB_MAX_WINDOW ||
      (int64_t)(fw - 1) * p->dil_w > QB_MAX_WINDOW || p->depth_multiplier > QB_MAX_WINDOW)
    return qb_kernel_error(it, op, QB_ERR_MODEL_INVALID, "bad options (padding, stride, dilation or depth multiplier)");
  if (qb_out_size(padding, ih, fh, p->stride_h, p->dil_h) != oh || qb_out_size(padding, iw, fw, p->stride_w, p->dil_w) != ow)
    return qb_kernel_error(it, op, QB_ERR_KERNEL, "output shape does not match padding and stride");
  p->pad_h = qb_padding(p->stride_h, p->dil_h, ih, fh, oh);
  p->pad_w = qb_padding(p->stride_w, p->dil_w, iw, fw, ow);
  return QB_OK;
}

/* The taps of output pixel (oy, ox) that fall inside the image: ky in [ky0, ky1) and kx in
 * [kx0, kx1), in the order the loops visit them, so float sums keep their order. */
typedef struct {
  int32_t y0, x0, ky0, ky1, kx0, kx1;
} window;

static void taps_inside(int32_t start, int32_t dil, int32_t size, int32_t in, int32_t *k0, int32_t *k1) {
  int32_t end = start >= in ? 0 : (in - start + dil - 1) / dil;
  *k0 = start >= 0 ? 0 : (-start + dil - 1) / dil;
  *k1 = end < size ? end : size;
}

static window window_at(const conv_params *p, int32_t oy, int32_t ox, int32_t ih, int32_t iw, int32_t fh, int32_t fw) {
  window w;
  w.y0 = oy * p->stride_h - p->pad_h;
  w.x0 = ox * p->stride_w - p->pad_w;
  taps_inside(w.y0, p->dil_h, fh, ih, &w.ky0, &w.ky1);
  taps_inside(w.x0, p->dil_w, fw, iw, &w.kx0, &w.kx1);
  return w;
}

/* QB_REFERENCE_KERNELS builds run only the reference loops (for comparisons). */
static int use_fast(const qb_interpreter *it) {
  (void)it;
#ifdef QB_REFERENCE_KERNELS
  return 0;
#else
  return 1;
#endif
}

/* Common int8 arguments: per-channel multipliers and folded biases from the op's prepared
 * data (computed once, PopulateConvolutionQuantizationParams' arithmetic), options, bias,
 * and the shared scratch area. */
static qb_status int8_args(qb_interpreter *it, const qb_op *op, const qb_tensor *b, int32_t oc, const conv_params *p, qb_conv_int8 *a) {
  const int32_t *prepared = (const int32_t *)(const void *)(it->arena + op->prepared);
  if (qb_prepared_bytes(it, op) != (uint32_t)oc * QB_PREPARED_BYTES_PER_CHANNEL || qb_scratch_bytes(it, op) > it->scratch_bytes)
    return qb_kernel_error(it, op, QB_ERR_KERNEL, "prepared data does not match the channel count");
  a->bias = b ? (const int32_t *)qb_tensor_data(it, b) : 0;
  a->bias_eff = prepared;
  a->mult = prepared + oc;
  a->shift = (const int8_t *)(prepared + 2 * oc);
  a->oc = oc;
  a->depth_multiplier = p->depth_multiplier;
  a->stride_w = p->stride_w;
  a->stride_h = p->stride_h;
  a->dil_w = p->dil_w;
  a->dil_h = p->dil_h;
  a->pad_w = p->pad_w;
  a->pad_h = p->pad_h;
  a->scratch = it->arena + it->scratch_offset;
  a->scratch_bytes = it->scratch_bytes;
  return QB_OK;
}

static const qb_tensor *bias_of(qb_interpreter *it, const qb_op *op, int32_t channels, int32_t want_type, qb_status *st) {
  const qb_tensor *b;
  *st = QB_OK;
  if (op->n_in < 3 || op->in[2] < 0) return 0;
  b = QB_IN(it, op, 2);
  if (b->type != want_type || (int32_t)b->elements != channels) *st = QB_ERR_KERNEL;
  return b;
}

qb_status qb_k_conv2d(qb_interpreter *it, const qb_op *op) {
  const qb_tensor *in, *f, *out, *b;
  int32_t n, ih, iw, ic, oc, fh, fw, fc, on, oh, ow, occ, batch, oy, ox, o, ky, kx, c;
  conv_params p;
  qb_status st;
  if (op->n_in < 2) return qb_kernel_error(it, op, QB_ERR_MODEL_INVALID, "needs input and filter");
  in = QB_IN(it, op, 0);
  f = QB_IN(it, op, 1);
  out = QB_OUT(it, op, 0);
  if (!qb_nhwc(in, &n, &ih, &iw, &ic) || !qb_nhwc(f, &oc, &fh, &fw, &fc) || !qb_nhwc(out, &on, &oh, &ow, &occ))
    return qb_kernel_error(it, op, QB_ERR_KERNEL, "tensors must be 4-D");
  if (fc != ic || occ != oc || on != n) return qb_kernel_error(it, op, QB_ERR_KERNEL, "channel counts do not match (grouped convolution is not supported)");
  if ((st = read_conv(it, op, 0, &p, ih, iw, fh, fw, oh, ow)) != QB_OK) return st;
  if (in->type == QB_TYPE_INT8 && f->type == QB_TYPE_INT8 && out->type == QB_TYPE_INT8) {
    const int8_t *x = (const int8_t *)qb_tensor_data(it, in), *w = (const int8_t *)qb_tensor_data(it, f);
    int8_t *y = (int8_t *)qb_tensor_data(it, out);
    int32_t lo, hi, in_offset = -in->zero_point;
    b = bias_of(it, op, oc, QB_TYPE_INT32, &st);
    if (st != QB_OK) return qb_kernel_error(it, op, st, "bias must be int32 with one value per output channel");
    if (f->per_axis && (f->quantized_dimension != 0 || (int32_t)f->scales_count != oc)) return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "filter scales must be per output channel");
    if (!qb_act_range_int8(p.act, out, &lo, &hi)) return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "fused activation");
    {
      qb_conv_int8 a;
      if ((st = int8_args(it, op, b, oc, &p, &a)) != QB_OK) return st;
      a.x = x; a.w = w; a.y = y;
      a.n = n; a.ih = ih; a.iw = iw; a.ic = ic; a.fh = fh; a.fw = fw; a.oh = oh; a.ow = ow;
      a.in_offset = in_offset; a.out_zp = out->zero_point; a.lo = lo; a.hi = hi;
      /* the folded bias was computed from constant filter and bias */
      if (!f->is_const || (b && !b->is_const)) a.bias_eff = 0;
      if (!use_fast(it) || !qb_conv_int8_fast(&a)) qb_conv_int8_ref(&a);
    }
    return QB_OK;
  }
  if (in->type == QB_TYPE_FLOAT32 && f->type == QB_TYPE_FLOAT32 && out->type == QB_TYPE_FLOAT32) {
    const float *x = (const float *)qb_tensor_data(it, in), *w = (const float *)qb_tensor_data(it, f), *bias;
    float *y = (float *)qb_tensor_data(it, out), lo, hi;
    b = bias_of(it, op, oc, QB_TYPE_FLOAT32, &st);
    if (st != QB_OK) return qb_kernel_error(it, op, st, "bias must be float32 with one value per output channel");
    if (!qb_act_range_float(p.act, &lo, &hi)) return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "fused activation");
    bias = b ? (const float *)qb_tensor_data(it, b) : 0;
    for (batch = 0; batch < n; batch++)
      for (oy = 0; oy < oh; oy++)
        for (ox = 0; ox < ow; ox++)
          for (o = 0; o < oc; o++) {
            float acc = 0.0f;
            window win = window_at(&p, oy, ox, ih, iw, fh, fw);
            for (ky = win.ky0; ky < win.ky1; ky++) {
              int32_t yy = win.y0 + p.dil_h * ky;
              for (kx = win.kx0; kx < win.kx1; kx++) {
                int32_t xx = win.x0 + p.dil_w * kx;
                const float *xp, *wp;
                xp = x + ((batch * ih + yy) * iw + xx) * ic;
                wp = w + ((o * fh + ky) * fw + kx) * ic;
                for (c = 0; c < ic; c++) acc += xp[c] * wp[c];
              }
            }
            if (bias) acc += bias[o];
            y[((batch * oh + oy) * ow + ox) * oc + o] = acc < lo ? lo : (acc > hi ? hi : acc);
          }
    return QB_OK;
  }
  return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "type combination (int8 or float32 only)");
}

qb_status qb_k_depthwise(qb_interpreter *it, const qb_op *op) {
  const qb_tensor *in, *f, *out, *b;
  int32_t n, ih, iw, ic, one, fh, fw, oc, on, oh, ow, occ, batch, oy, ox, c, m, ky, kx;
  conv_params p;
  qb_status st;
  if (op->n_in < 2) return qb_kernel_error(it, op, QB_ERR_MODEL_INVALID, "needs input and filter");
  in = QB_IN(it, op, 0);
  f = QB_IN(it, op, 1);
  out = QB_OUT(it, op, 0);
  if (!qb_nhwc(in, &n, &ih, &iw, &ic) || !qb_nhwc(f, &one, &fh, &fw, &oc) || !qb_nhwc(out, &on, &oh, &ow, &occ))
    return qb_kernel_error(it, op, QB_ERR_KERNEL, "tensors must be 4-D");
  if ((st = read_conv(it, op, 1, &p, ih, iw, fh, fw, oh, ow)) != QB_OK) return st;
  if (one != 1 || occ != oc || on != n || p.depth_multiplier <= 0 || (int64_t)ic * p.depth_multiplier != oc)
    return qb_kernel_error(it, op, QB_ERR_KERNEL, "channel counts do not match the depth multiplier");
  if (in->type == QB_TYPE_INT8 && f->type == QB_TYPE_INT8 && out->type == QB_TYPE_INT8) {
    const int8_t *x = (const int8_t *)qb_tensor_data(it, in), *w = (const int8_t *)qb_tensor_data(it, f);
    int8_t *y = (int8_t *)qb_tensor_data(it, out);
    int32_t lo, hi, in_offset = -in->zero_point;
    b = bias_of(it, op, oc, QB_TYPE_INT32, &st);
    if (st != QB_OK) return qb_kernel_error(it, op, st, "bias must be int32 with one value per output channel");
    if (f->per_axis && (f->quantized_dimension != 3 || (int32_t)f->scales_count != oc)) return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "filter scales must be per output channel");
    if (!qb_act_range_int8(p.act, out, &lo, &hi)) return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "fused activation");
    {
      qb_conv_int8 a;
      if ((st = int8_args(it, op, b, oc, &p, &a)) != QB_OK) return st;
      a.x = x; a.w = w; a.y = y;
      a.n = n; a.ih = ih; a.iw = iw; a.ic = ic; a.fh = fh; a.fw = fw; a.oh = oh; a.ow = ow;
      a.in_offset = in_offset; a.out_zp = out->zero_point; a.lo = lo; a.hi = hi;
      /* the folded bias was computed from constant filter and bias */
      if (!use_fast(it) || !f->is_const || (b && !b->is_const) || !qb_dwconv_int8_fast(&a)) qb_dwconv_int8_ref(&a);
    }
    return QB_OK;
  }
  if (in->type == QB_TYPE_FLOAT32 && f->type == QB_TYPE_FLOAT32 && out->type == QB_TYPE_FLOAT32) {
    const float *x = (const float *)qb_tensor_data(it, in), *w = (const float *)qb_tensor_data(it, f), *bias;
    float *y = (float *)qb_tensor_data(it, out), lo, hi;
    b = bias_of(it, op, oc, QB_TYPE_FLOAT32, &st);
    if (st != QB_OK) return qb_kernel_error(it, op, st, "bias must be float32 with one value per output channel");
    if (!qb_act_range_float(p.act, &lo, &hi)) return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "fused activation");
    bias = b ? (const float *)qb_tensor_data(it, b) : 0;
    for (batch = 0; batch < n; batch++)
      for (oy = 0; oy < oh; oy++)
        for (ox = 0; ox < ow; ox++)
          for (c = 0; c < ic; c++)
            for (m = 0; m < p.depth_multiplier; m++) {
              int32_t o = c * p.depth_multiplier + m;
              float acc = 0.0f;
              window win = window_at(&p, oy, ox, ih, iw, fh, fw);
              for (ky = win.ky0; ky < win.ky1; ky++) {
                int32_t yy = win.y0 + p.dil_h * ky;
                for (kx = win.kx0; kx < win.kx1; kx++) {
                  int32_t xx = win.x0 + p.dil_w * kx;
                  acc += x[((batch * ih + yy) * iw + xx) * ic + c] * w[(ky * fw + kx) * oc + o];
                }
              }
              if (bias) acc += bias[o];
              y[((batch * oh + oy) * ow + ox) * oc + o] = acc < lo ? lo : (acc > hi ? hi : acc);
            }
    return QB_OK;
  }
  return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "type combination (int8 or float32 only)");
}

qb_status qb_k_fully_connected(qb_interpreter *it, const qb_op *op) {
  const qb_tensor *in, *f, *out, *b;
  int32_t units, depth, batches, bi, u, d, act;
  qb_status st;
  if (op->n_in < 2) return qb_kernel_error(it, op, QB_ERR_MODEL_INVALID, "needs input and weights");
  in = QB_IN(it, op, 0);
  f = QB_IN(it, op, 1);
  out = QB_OUT(it, op, 0);
  act = qb_opt_int(it, op, 0, 0, 1);
  if (qb_opt_int(it, op, 1, 0, 1) != 0) return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "shuffled weights format");
  if (f->rank != 2) return qb_kernel_error(it, op, QB_ERR_KERNEL, "weights must be 2-D");
  units = f->dims[0];
  depth = f->dims[1];
  if (depth <= 0 || in->elements % (uint32_t)depth != 0) return qb_kernel_error(it, op, QB_ERR_KERNEL, "input size is not a multiple of the weight depth");
  batches = (int32_t)(in->elements / (uint32_t)depth);
  if (out->elements != (uint32_t)(batches * units)) return qb_kernel_error(it, op, QB_ERR_KERNEL, "output size does not match batches x units");
  if (in->type == QB_TYPE_INT8 && f->type == QB_TYPE_INT8 && out->type == QB_TYPE_INT8) {
    const int8_t *x = (const int8_t *)qb_tensor_data(it, in), *w = (const int8_t *)qb_tensor_data(it, f);
    int8_t *y = (int8_t *)qb_tensor_data(it, out);
    int32_t lo, hi, in_offset = -in->zero_point, w_offset = -f->zero_point;
    b = bias_of(it, op, units, QB_TYPE_INT32, &st);
    if (st != QB_OK) return qb_kernel_error(it, op, st, "bias must be int32 with one value per unit");
    if (f->per_axis && (f->quantized_dimension != 0 || (int32_t)f->scales_count != units)) return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "weight scales must be per unit");
    if (!qb_act_range_int8(act, out, &lo, &hi)) return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "fused activation");
    {
      qb_fc_int8 a;
      const int32_t *prepared = (const int32_t *)(const void *)(it->arena + op->prepared);
      if (qb_prepared_bytes(it, op) != (uint32_t)units * QB_PREPARED_BYTES_PER_CHANNEL || qb_scratch_bytes(it, op) > it->scratch_bytes)
        return qb_kernel_error(it, op, QB_ERR_KERNEL, "prepared data does not match the unit count");
      a.x = x; a.w = w; a.y = y;
      a.bias = b ? (const int32_t *)qb_tensor_data(it, b) : 0;
      a.batches = batches; a.units = units; a.depth = depth;
      a.in_offset = in_offset; a.w_offset = w_offset; a.out_zp = out->zero_point; a.lo = lo; a.hi = hi;
      a.mult = prepared + units; a.shift = (const int8_t *)(prepared + 2 * units); a.scratch = it->arena + it->scratch_offset;
      a.cacheable = f->is_const && (!b || b->is_const);
      if (!use_fast(it) || !qb_fc_int8_fast(&a)) qb_fc_int8_ref(&a);
    }
    return QB_OK;
  }
  if (in->type == QB_TYPE_FLOAT32 && f->type == QB_TYPE_FLOAT32 && out->type == QB_TYPE_FLOAT32) {
    const float *x = (const float *)qb_tensor_data(it, in), *w = (const float *)qb_tensor_data(it, f), *bias;
    float *y = (float *)qb_tensor_data(it, out), lo, hi;
    b = bias_of(it, op, units, QB_TYPE_FLOAT32, &st);
    if (st != QB_OK) return qb_kernel_error(it, op, st, "bias must be float32 with one value per unit");
    if (!qb_act_range_float(act, &lo, &hi)) return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "fused activation");
    bias = b ? (const float *)qb_tensor_data(it, b) : 0;
    for (bi = 0; bi < batches; bi++)
      for (u = 0; u < units; u++) {
        float acc = 0.0f;
        const float *xp = x + bi * depth, *wp = w + u * depth;
        for (d = 0; d < depth; d++) acc += xp[d] * wp[d];
        if (bias) acc += bias[u];
        y[bi * units + u] = acc < lo ? lo : (acc > hi ? hi : acc);
      }
    return QB_OK;
  }
  return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "type combination (int8 or float32 only)");
}
