/*
 * What an op computes once instead of on every invoke: per output channel the
 * requantization multiplier and shift (QuantizeMultiplier runs in double precision, about
 * 700 instructions per channel on a Cortex-M4) and the bias the fast kernel adds (for
 * DEPTHWISE_CONV_2D the input offset times the filter's tap sum folded in). It lives in
 * the arena after the scratch area, so qb_arena_required counts it, and qb_set_arena
 * fills it.
 */
#include "qb_kernels.h"

/* The filter and output-channel count of an int8 CONV_2D, DEPTHWISE_CONV_2D or
 * FULLY_CONNECTED; 0 for any other op, or for shapes its kernel will reject. */
static int32_t int8_channels(const qb_interpreter *it, const qb_op *op) {
  const qb_tensor *in, *f, *out;
  if (op->code != QB_OP_CONV_2D && op->code != QB_OP_DEPTHWISE_CONV_2D && op->code != QB_OP_FULLY_CONNECTED) return 0;
  if (op->n_in < 2 || op->n_out < 1 || op->in[0] < 0 || op->in[1] < 0 || op->out[0] < 0) return 0;
  in = &it->tensors[op->in[0]];
  f = &it->tensors[op->in[1]];
  out = &it->tensors[op->out[0]];
  if (in->type != QB_TYPE_INT8 || f->type != QB_TYPE_INT8 || out->type != QB_TYPE_INT8) return 0;
  if (op->code == QB_OP_FULLY_CONNECTED) return f->rank == 2 && f->dims[0] > 0 && f->dims[0] <= 0x100000 ? f->dims[0] : 0;
  if (f->rank != 4 || in->rank != 4) return 0;
  if (op->code == QB_OP_CONV_2D) return f->dims[0] > 0 && f->dims[0] <= 0x100000 ? f->dims[0] : 0;
  return f->dims[0] == 1 && f->dims[3] > 0 && f->dims[3] <= 0x100000 ? f->dims[3] : 0;
}

uint32_t qb_prepared_bytes(const qb_interpreter *it, const qb_op *op) {
  return (uint32_t)int8_channels(it, op) * QB_PREPARED_BYTES_PER_CHANNEL;
}

/* The larger of the two depthwise fast paths' needs; they never run at once. The plane
 * path's depends on the shape and options, read as the kernel will read them. Every invoke
 * checks this against the scratch area, so only 3x3 filters with one channel per input
 * channel and stride 1 or 2 read the other options, and only the fields the plane geometry
 * reads are set. */
static uint32_t dw_scratch(const qb_interpreter *it, const qb_op *op) {
  const qb_tensor *in = &it->tensors[op->in[0]], *f = &it->tensors[op->in[1]], *out = &it->tensors[op->out[0]];
  uint32_t general = qb_dwconv_int8_scratch(in->dims[3]), plane = 0;
  int32_t stride_w;
  if (out->rank == 4 && f->dims[1] == 3 && f->dims[2] == 3 && f->dims[3] == in->dims[3] &&
      ((stride_w = qb_opt_int(it, op, 1, 0, 4)) == 1 || stride_w == 2)) {
    qb_conv_int8 s;
    s.n = in->dims[0];
    s.ih = in->dims[1];
    s.iw = in->dims[2];
    s.ic = in->dims[3];
    s.fh = f->dims[1];
    s.fw = f->dims[2];
    s.oc = f->dims[3];
    s.oh = out->dims[1];
    s.ow = out->dims[2];
    s.stride_w = stride_w;
    s.stride_h = qb_opt_int(it, op, 2, 0, 4);
    s.depth_multiplier = 1; /* as many output channels as input channels: the kernel rejects any other */
    s.dil_w = qb_opt_int(it, op, 5, 1, 4);
    s.dil_h = qb_opt_int(it, op, 6, 1, 4);
    plane = qb_dwconv_int8_plane_scratch(&s);
  }
  return general > plane ? general : plane;
}

uint32_t qb_scratch_bytes(const qb_interpreter *it, const qb_op *op) {
  const qb_tensor *f;
  if (!int8_channels(it, op)) return 0;
  f = &it->tensors[op->in[1]];
  if (op->code == QB_OP_CONV_2D) return qb_conv_int8_scratch(f->dims[1], f->dims[2], f->dims[3], f->dims[0]);
  if (op->code == QB_OP_FULLY_CONNECTED) return qb_fc_int8_scratch(f->dims[1], f->dims[0]);
  return dw_scratch(it, op);
}

static void prepare_op(qb_interpreter *it, const qb_op *op, int32_t channels) {
  const qb_tensor *in = &it->tensors[op->in[0]], *f = &it->tensors[op->in[1]], *out = &it->tensors[op->out[0]];
  int32_t *bias_eff = (int32_t *)(void *)(it->arena + op->prepared), *mult = bias_eff + channels;
  int8_t *shift = (int8_t *)(mult + channels);
  const int32_t *bias = 0;
  int32_t c;
  if (op->n_in >= 3 && op->in[2] >= 0) {
    const qb_tensor *b = &it->tensors[op->in[2]];
    /* a wrong bias is the kernel's error to report; nothing to fold until then */
    if (b->type == QB_TYPE_INT32 && (int32_t)b->elements == channels && b->is_const) bias = (const int32_t *)(const void *)b->data;
  }
  for (c = 0; c < channels; c++) {
    int s;
    qb_quantize_multiplier((double)in->scale * (double)qb_tensor_channel_scale(it, f, c) / (double)out->scale, &mult[c], &s);
    shift[c] = (int8_t)s; /* qb_quantize_multiplier keeps it in [-31, 30] */
    bias_eff[c] = bias ? bias[c] : 0;
  }
  if (op->code == QB_OP_DEPTHWISE_CONV_2D && (uint64_t)f->dims[1] * (uint64_t)f->dims[2] * (uint64_t)channels == f->elements && f->is_const)
    qb_dwconv_int8_fold_bias((const int8_t *)(const void *)f->data, bias, f->dims[1] * f->dims[2], channels, -in->zero_point, bias_eff);
  if (op->code == QB_OP_CONV_2D && (uint64_t)f->dims[1] * f->dims[2] * f->dims[3] * (uint64_t)channels == f->elements && f->is_const)
    qb_conv_int8_fold_bias((const int8_t *)(const void *)f->data, bias, f->dims[1] * f->dims[2] * f->dims[3], channels, -in->zero_point,
                           bias_eff);
}

uint32_t qb_const_generation;

void qb_prepare(qb_interpreter *it) {
  int32_t i;
  qb_const_generation++;
  for (i = 0; i < it->op_count; i++) {
    int32_t channels = int8_channels(it, &it->ops[i]);
    if (channels) prepare_op(it, &it->ops[i], channels);
  }
}
