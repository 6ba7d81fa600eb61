/* RESHAPE/SQUEEZE (a byte copy), CONCATENATION and PAD. */
#include "qb_kernels.h"

static uint32_t type_size(uint8_t type) {
  switch (type) {
    case QB_TYPE_FLOAT32: case QB_TYPE_INT32: return 4;
    case QB_TYPE_INT16: return 2;
    case QB_TYPE_INT64: return 8;
    default: return 1;
  }
}

qb_status qb_k_copy(qb_interpreter *it, const qb_op *op) {
  const qb_tensor *in = QB_IN(it, op, 0), *out = QB_OUT(it, op, 0);
  if (in->bytes != out->bytes || in->type != out->type) return qb_kernel_error(it, op, QB_ERR_KERNEL, "input and output sizes differ");
  qb_copy(qb_tensor_data(it, out), qb_tensor_data(it, in), in->bytes);
  return QB_OK;
}

qb_status qb_k_concat(qb_interpreter *it, const qb_op *op) {
  const qb_tensor *out = QB_OUT(it, op, 0);
  int32_t axis = qb_opt_int(it, op, 0, 0, 4), act = qb_opt_int(it, op, 1, 0, 1), i, k;
  uint32_t outer = 1, inner, es = type_size(out->type), offset = 0, o;
  int requant = 0;
  uint8_t *y = (uint8_t *)qb_tensor_data(it, out);
  if (axis == INT32_MIN || act == INT32_MIN) return qb_kernel_error(it, op, QB_ERR_MODEL_INVALID, "bad options");
  if (axis < 0) axis += out->rank;
  if (axis < 0 || axis >= out->rank) return qb_kernel_error(it, op, QB_ERR_KERNEL, "axis out of range");
  if (act != QB_ACT_NONE) return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "fused activation");
  for (k = 0; k < axis; k++) outer *= (uint32_t)out->dims[k];
  inner = out->elements / (outer ? outer : 1);
  {
    uint32_t total = 0;
    for (i = 0; i < op->n_in; i++) {
      const qb_tensor *in;
      if (op->in[i] < 0) return qb_kernel_error(it, op, QB_ERR_MODEL_INVALID, "missing input");
      in = QB_IN(it, op, i);
      if (in->type != out->type || in->rank != out->rank) return qb_kernel_error(it, op, QB_ERR_KERNEL, "inputs must match the output type and rank");
      for (k = 0; k < out->rank; k++)
        if (k != axis && in->dims[k] != out->dims[k]) return qb_kernel_error(it, op, QB_ERR_KERNEL, "inputs differ outside the axis");
      total += in->elements;
      if (out->type == QB_TYPE_INT8 && (in->scale != out->scale || in->zero_point != out->zero_point)) requant = 1;
    }
    if (total != out->elements) return qb_kernel_error(it, op, QB_ERR_KERNEL, "input sizes do not add up to the output");
  }
  for (i = 0; i < op->n_in; i++) {
    const qb_tensor *in = QB_IN(it, op, i);
    const uint8_t *x = (const uint8_t *)qb_tensor_data(it, in);
    uint32_t chunk = in->elements / (outer ? outer : 1);
    for (o = 0; o < outer; o++) {
      if (!requant) {
        qb_copy(y + (o * inner + offset) * es, x + o * chunk * es, chunk * es);
      } else {
        /* ConcatenationWithScaling: float scale and bias, rounded half away from zero. */
        const float scale = in->scale * (1.0f / out->scale);
        const float bias = -(float)in->zero_point * scale;
        uint32_t j;
        for (j = 0; j < chunk; j++) {
          int32_t v = qb_round_to_int((float)((const int8_t *)x)[o * chunk + j] * scale + bias) + out->zero_point;
          ((int8_t *)y)[o * inner + offset + j] = (int8_t)qb_clamp(v, -128, 127);
        }
      }
    }
    offset += chunk;
  }
  return QB_OK;
}

qb_status qb_k_pad(qb_interpreter *it, const qb_op *op) {
  const qb_tensor *in = QB_IN(it, op, 0), *pads, *out = QB_OUT(it, op, 0);
  int32_t before[4], dims[4], odims[4], i, r, i0, i1, i2, i3;
  uint32_t es = type_size(in->type), o = 0;
  const uint8_t *x = (const uint8_t *)qb_tensor_data(it, in);
  uint8_t *y = (uint8_t *)qb_tensor_data(it, out), fill = 0;
  if (op->n_in < 2 || op->in[1] < 0) return qb_kernel_error(it, op, QB_ERR_MODEL_INVALID, "needs a paddings tensor");
  pads = QB_IN(it, op, 1);
  r = in->rank;
  if (r > 4 || out->rank != r || in->type != out->type || !pads->is_const || pads->type != QB_TYPE_INT32 || pads->elements != (uint32_t)(2 * r))
    return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "only constant int32 paddings on tensors up to 4-D");
  for (i = 0; i < 4; i++) {
    int32_t k = i - (4 - r);
    before[i] = k >= 0 ? ((const int32_t *)pads->data)[2 * k] : 0;
    dims[i] = k >= 0 ? in->dims[k] : 1;
    odims[i] = k >= 0 ? out->dims[k] : 1;
    if (before[i] < 0 || (k >= 0 && odims[i] != dims[i] + before[i] + ((const int32_t *)pads->data)[2 * k + 1]))
      return qb_kernel_error(it, op, QB_ERR_KERNEL, "output shape does not match the paddings");
  }
  /* Quantized padding uses the output zero point, so padded cells read as real 0. */
  if (in->type == QB_TYPE_INT8) fill = (uint8_t)(int8_t)out->zero_point;
  for (i0 = 0; i0 < odims[0]; i0++)
    for (i1 = 0; i1 < odims[1]; i1++)
      for (i2 = 0; i2 < odims[2]; i2++)
        for (i3 = 0; i3 < odims[3]; i3++, o++) {
          int32_t j0 = i0 - before[0], j1 = i1 - before[1], j2 = i2 - before[2], j3 = i3 - before[3];
          if (j0 < 0 || j0 >= dims[0] || j1 < 0 || j1 >= dims[1] || j2 < 0 || j2 >= dims[2] || j3 < 0 || j3 >= dims[3])
            qb_fill(y + o * es, fill, es);
          else
            qb_copy(y + o * es, x + (uint32_t)(((j0 * dims[1] + j1) * dims[2] + j2) * dims[3] + j3) * es, es);
        }
  return QB_OK;
}
