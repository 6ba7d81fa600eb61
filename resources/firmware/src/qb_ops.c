/* Operator dispatch and the helpers every kernel shares. */
#include "qb_kernels.h"

qb_status qb_kernel_error(qb_interpreter *it, const qb_op *op, qb_status st, const char *why) {
  int32_t index = (int32_t)(op - it->ops);
  qb_errorf(it, "op ", index, 0, 0, " ");
  {
    /* append "<NAME>: <why>" after the index */
    size_t at = 0;
    const char *parts[3];
    int p;
    parts[0] = qb_op_name(op->code);
    parts[1] = ": ";
    parts[2] = why;
    while (it->error[at]) at++;
    for (p = 0; p < 3; p++) {
      const char *s = parts[p];
      while (*s && at + 1 < sizeof it->error) it->error[at++] = *s++;
    }
    it->error[at] = 0;
  }
  return st;
}

int qb_act_range_float(int32_t act, float *lo, float *hi) {
  switch (act) {
    case QB_ACT_NONE: *lo = -3.402823466e38f; *hi = 3.402823466e38f; return 1;
    case QB_ACT_RELU: *lo = 0.0f; *hi = 3.402823466e38f; return 1;
    case QB_ACT_RELU_N1_TO_1: *lo = -1.0f; *hi = 1.0f; return 1;
    case QB_ACT_RELU6: *lo = 0.0f; *hi = 6.0f; return 1;
    default: return 0;
  }
}

static int32_t quantize_value(const qb_tensor *t, float f) { return t->zero_point + qb_round_to_int(f / t->scale); }

int qb_act_range_int8(int32_t act, const qb_tensor *out, int32_t *lo, int32_t *hi) {
  *lo = -128;
  *hi = 127;
  switch (act) {
    case QB_ACT_NONE: return 1;
    case QB_ACT_RELU: *lo = qb_clamp(quantize_value(out, 0.0f), -128, 127); return 1;
    case QB_ACT_RELU6:
      *lo = qb_clamp(quantize_value(out, 0.0f), -128, 127);
      *hi = qb_clamp(quantize_value(out, 6.0f), -128, 127);
      return 1;
    case QB_ACT_RELU_N1_TO_1:
      *lo = qb_clamp(quantize_value(out, -1.0f), -128, 127);
      *hi = qb_clamp(quantize_value(out, 1.0f), -128, 127);
      return 1;
    default: return 0;
  }
}

/* Strides and dilations come from the file unchecked: work in 64 bits so a corrupt option
   gives a shape mismatch (an error), never a signed overflow. */
int32_t qb_out_size(int32_t padding, int32_t in, int32_t filter, int32_t stride, int32_t dilation) {
  int64_t eff = (int64_t)(filter - 1) * dilation + 1;
  int64_t size;
  if (stride <= 0) return -1;
  size = padding == 0 ? ((int64_t)in + stride - 1) / stride : ((int64_t)in + stride - eff) / stride;
  return size < 0 || size > INT32_MAX ? -1 : (int32_t)size;
}

int32_t qb_padding(int32_t stride, int32_t dilation, int32_t in, int32_t filter, int32_t out) {
  int64_t eff = (int64_t)(filter - 1) * dilation + 1;
  int64_t total = (int64_t)(out - 1) * stride + eff - in;
  return total > 0 && total / 2 <= INT32_MAX ? (int32_t)(total / 2) : 0;
}

int qb_nhwc(const qb_tensor *t, int32_t *n, int32_t *h, int32_t *w, int32_t *c) {
  if (t->rank != 4) return 0;
  *n = t->dims[0];
  *h = t->dims[1];
  *w = t->dims[2];
  *c = t->dims[3];
  return 1;
}

qb_status qb_run_op(qb_interpreter *it, int32_t index) {
  const qb_op *op = &it->ops[index];
  switch (op->code) {
    case QB_OP_CONV_2D: return qb_k_conv2d(it, op);
    case QB_OP_DEPTHWISE_CONV_2D: return qb_k_depthwise(it, op);
    case QB_OP_FULLY_CONNECTED: return qb_k_fully_connected(it, op);
    case QB_OP_AVERAGE_POOL_2D: return qb_k_pool(it, op, 0);
    case QB_OP_MAX_POOL_2D: return qb_k_pool(it, op, 1);
    case QB_OP_MEAN: return qb_k_mean(it, op);
    case QB_OP_ADD:
    case QB_OP_SUB:
    case QB_OP_MUL: return qb_k_binary(it, op);
    case QB_OP_CONCATENATION: return qb_k_concat(it, op);
    case QB_OP_PAD: return qb_k_pad(it, op);
    case QB_OP_RESHAPE:
    case QB_OP_SQUEEZE: return qb_k_copy(it, op);
    case QB_OP_SOFTMAX: return qb_k_softmax(it, op);
    case QB_OP_LOGISTIC:
    case QB_OP_TANH:
    case QB_OP_RELU:
    case QB_OP_RELU6:
    case QB_OP_LEAKY_RELU:
    case QB_OP_HARD_SWISH: return qb_k_activation(it, op);
    case QB_OP_QUANTIZE: return qb_k_quantize(it, op);
    case QB_OP_DEQUANTIZE: return qb_k_dequantize(it, op);
    default: return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "no kernel");
  }
}
