/*
 * SOFTMAX, LOGISTIC, TANH, RELU, RELU6, LEAKY_RELU, HARD_SWISH, QUANTIZE, DEQUANTIZE.
 * The int8 SOFTMAX, LOGISTIC, TANH and HARD_SWISH are the fixed-point reference algorithms
 * of TFLite (reference_ops::Softmax, reference_integer_ops::Logistic/Tanh,
 * reference_ops::HardSwish), not the lookup tables of TFLite's optimized kernels.
 */
#include "qb_float_steps.h"
#include "qb_kernels.h"
#include "qb_math.h"

/* CalculateInputRadius: the largest |input| before the fixed-point function saturates. */
static int32_t input_radius(int integer_bits, int left_shift) {
  double pot = left_shift >= 0 ? (double)((int64_t)1 << (left_shift > 62 ? 62 : left_shift)) : 1.0 / (double)((int64_t)1 << (-left_shift > 62 ? 62 : -left_shift));
  double max_rescaled = 1.0 * ((1 << integer_bits) - 1) * (double)((int64_t)1 << (31 - integer_bits)) / pot;
  return max_rescaled >= 2147483647.0 ? INT32_MAX : (int32_t)max_rescaled; /* floor of a positive value */
}

/* diff * 2^shift, saturated instead of overflowing for absurd input scales. */
static int32_t shift_left_saturating(int32_t v, int shift) {
  int64_t r = (int64_t)v * ((int64_t)1 << shift);
  return r > INT32_MAX ? INT32_MAX : (r < INT32_MIN ? INT32_MIN : (int32_t)r);
}

qb_status qb_k_softmax(qb_interpreter *it, const qb_op *op) {
  const qb_tensor *in = QB_IN(it, op, 0), *out = QB_OUT(it, op, 0);
  float beta = qb_opt_float(it, op, 0, 1.0f);
  int32_t depth, rows, r, c;
  if (beta != beta) return qb_kernel_error(it, op, QB_ERR_MODEL_INVALID, "bad beta");
  if (in->rank < 1 || in->elements != out->elements) return qb_kernel_error(it, op, QB_ERR_KERNEL, "input and output sizes differ");
  depth = in->dims[in->rank - 1];
  if (depth <= 0) return qb_kernel_error(it, op, QB_ERR_KERNEL, "empty last dimension");
  rows = (int32_t)in->elements / depth;
  if (in->type == QB_TYPE_INT8 && out->type == QB_TYPE_INT8) {
    const int8_t *x = (const int8_t *)qb_tensor_data(it, in);
    int8_t *y = (int8_t *)qb_tensor_data(it, out);
    const int scaled_diff_bits = 5, accum_bits = 12;
    double real = (double)beta * (double)in->scale * (double)(1 << (31 - scaled_diff_bits));
    int32_t mult, diff_min;
    int left_shift;
    if (real > 2147483647.0) real = 2147483647.0;
    qb_quantize_multiplier(real, &mult, &left_shift);
    /* TFLite requires a multiplier of at least one here (QuantizeMultiplierGreaterThanOne) */
    if (left_shift < 0) return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "beta times input scale too small for int8 SOFTMAX");
    diff_min = -input_radius(scaled_diff_bits, left_shift);
    for (r = 0; r < rows; r++) {
      const int8_t *xr = x + r * depth;
      int8_t *yr = y + r * depth;
      int32_t maxv = -128, sum = 0, recip, bits_over_unit, headroom, shifted;
      for (c = 0; c < depth; c++) maxv = xr[c] > maxv ? xr[c] : maxv;
      for (c = 0; c < depth; c++) {
        int32_t diff = xr[c] - maxv;
        if (diff >= diff_min) {
          int32_t scaled = qb_srdhm(shift_left_saturating(diff, left_shift), mult);
          sum += qb_rdbpot(qb_fp_exp_on_negative_values(scaled, scaled_diff_bits), accum_bits);
        }
      }
      /* GetReciprocal: 1/sum as a Q0 value and the number of bits above one. */
      headroom = qb_count_leading_zeros((uint32_t)sum);
      bits_over_unit = accum_bits - headroom;
      shifted = (int32_t)(((uint32_t)sum << headroom) - ((uint32_t)1 << 31));
      recip = qb_fp_one_over_one_plus_x_for_x_in_0_1(shifted);
      for (c = 0; c < depth; c++) {
        int32_t diff = xr[c] - maxv;
        if (diff >= diff_min) {
          int32_t scaled = qb_srdhm(shift_left_saturating(diff, left_shift), mult);
          int32_t e = qb_fp_exp_on_negative_values(scaled, scaled_diff_bits);
          int32_t v = qb_rdbpot(qb_srdhm(recip, e), bits_over_unit + 31 - 8) - 128;
          yr[c] = (int8_t)qb_clamp(v, -128, 127);
        } else {
          yr[c] = -128;
        }
      }
    }
    return QB_OK;
  }
  if (in->type == QB_TYPE_FLOAT32 && out->type == QB_TYPE_FLOAT32) {
    const float *x = (const float *)qb_tensor_data(it, in);
    float *y = (float *)qb_tensor_data(it, out);
    for (r = 0; r < rows; r++) {
      const float *xr = x + r * depth;
      float *yr = y + r * depth, maxv = xr[0], sum = 0.0f, inv;
      for (c = 1; c < depth; c++) maxv = xr[c] > maxv ? xr[c] : maxv;
      for (c = 0; c < depth; c++) {
        yr[c] = qb_expf((xr[c] - maxv) * beta);
        sum += yr[c];
      }
      inv = 1.0f / sum;
      for (c = 0; c < depth; c++) yr[c] *= inv;
    }
    return QB_OK;
  }
  return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "type (int8 or float32 only)");
}

/* LOGISTIC and TANH int8: the input scaled into Q4.27, gemmlowp's function, rescaled. */
static qb_status sigmoid_tanh_int8(qb_interpreter *it, const qb_op *op, const qb_tensor *in, const qb_tensor *out, const int8_t *x, int8_t *y) {
  const int integer_bits = 4;
  int tanh_op = op->code == QB_OP_TANH;
  double real = (double)in->scale * (double)(1 << (31 - integer_bits));
  int left_shift;
  double q = qb_frexp(real, &left_shift);
  int64_t fixed = (int64_t)(q * 2147483648.0 + 0.5);
  int32_t mult, radius;
  uint32_t i;
  if (fixed > INT32_MAX) fixed = INT32_MAX;
  mult = (int32_t)fixed;
  radius = input_radius(integer_bits, left_shift);
  if (tanh_op ? (out->zero_point != 0) : (out->zero_point != -128))
    return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "int8 output must use the TFLite fixed scale (1/256, -128 or 1/128, 0)");
  for (i = 0; i < in->elements; i++) {
    int32_t v = x[i] - in->zero_point, r;
    if (v <= -radius) r = -128;
    else if (v >= radius) r = 127;
    else {
      int32_t q4 = qb_mbqm(v, mult, left_shift);
      if (tanh_op) r = qb_clamp(qb_rdbpot(qb_fp_tanh(q4, integer_bits), 24), -128, 127);
      else r = qb_clamp(qb_rdbpot(qb_fp_logistic(q4, integer_bits), 23) - 128, -128, 127);
    }
    y[i] = (int8_t)r;
  }
  return QB_OK;
}

/* gemmlowp's int16 SaturatingRoundingDoublingHighMul and RoundingDivideByPOT. */
static int16_t srdhm16(int16_t a, int16_t b) {
  int32_t ab = (int32_t)a * (int32_t)b;
  int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
  if (a == b && a == INT16_MIN) return INT16_MAX;
  return (int16_t)((ab + nudge) / (1 << 15));
}

static int16_t rdbpot16(int16_t x, int exponent) {
  int32_t mask = (1 << exponent) - 1, remainder = x & mask, threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (int16_t)((x >> exponent) + (remainder > threshold ? 1 : 0));
}

/* SQDMULH: like srdhm16 but truncating, which cancels srdhm16's bias (TFLite's comment). */
static int16_t sdhm16(int16_t a, int16_t b) {
  if (a == b && a == INT16_MIN) return INT16_MAX;
  return (int16_t)(((int32_t)a * (int32_t)b) / (1 << 15));
}

static int16_t saturating_left_shift16(int16_t v, int amount) {
  int32_t r = (int32_t)v * (1 << amount);
  return (int16_t)(r > INT16_MAX ? INT16_MAX : (r < INT16_MIN ? INT16_MIN : r));
}

/* DownScaleInt32ToInt16Multiplier */
static int16_t downscale16(int32_t m) {
  if (m >= INT32_MAX - (1 << 15)) return INT16_MAX;
  return (int16_t)((m + (1 << 15)) >> 16);
}

/* TFLite's reference int8 HardSwish: 16-bit fixed point on a 2^7 finer input scale. */
static qb_status hard_swish_int8(qb_interpreter *it, const qb_op *op, const qb_tensor *in, const qb_tensor *out, const int8_t *x, int8_t *y) {
  const float hires_input_scale = (1.0f / 128.0f) * in->scale;
  const float reluish_scale = 3.0f / 32768.0f;
  const float output_multiplier = hires_input_scale / out->scale;
  const float reluish_multiplier = hires_input_scale / reluish_scale;
  int32_t m32;
  int out_exp, relu_exp;
  int16_t out_m, relu_m;
  uint32_t i;
  qb_quantize_multiplier(output_multiplier, &m32, &out_exp);
  out_m = downscale16(m32);
  qb_quantize_multiplier(reluish_multiplier, &m32, &relu_exp);
  relu_m = downscale16(m32);
  if (out_exp > 0 || out_exp < -15 || relu_exp < -15 || relu_exp > 15)
    return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "input/output scales outside TFLite's int8 HARD_SWISH range");
  for (i = 0; i < in->elements; i++) {
    int16_t v = (int16_t)(x[i] - in->zero_point);
    int16_t hires = (int16_t)(v * (1 << 7));
    int16_t preshift = srdhm16(hires, out_m);
    int16_t reluish = hires;
    int32_t o;
    if (relu_exp > 0) reluish = saturating_left_shift16(reluish, relu_exp - 1);
    reluish = srdhm16(reluish, relu_m);
    if (relu_exp > 0) reluish = saturating_left_shift16(reluish, 1);
    if (relu_exp < 0) reluish = rdbpot16(reluish, -relu_exp);
    reluish = (int16_t)((reluish + (1 << 15)) >> 1);
    /* int16 arithmetic as in TFLite, including its wrap on the zero-point add */
    o = (int16_t)(rdbpot16(sdhm16(reluish, preshift), -out_exp) + out->zero_point);
    y[i] = (int8_t)qb_clamp(o, -128, 127);
  }
  return QB_OK;
}

qb_status qb_k_activation(qb_interpreter *it, const qb_op *op) {
  const qb_tensor *in = QB_IN(it, op, 0), *out = QB_OUT(it, op, 0);
  uint32_t i;
  if (in->elements != out->elements || in->type != out->type) return qb_kernel_error(it, op, QB_ERR_KERNEL, "input and output differ in size or type");
  if (in->type == QB_TYPE_FLOAT32) {
    const float *x = (const float *)qb_tensor_data(it, in);
    float *y = (float *)qb_tensor_data(it, out);
    float alpha = op->code == QB_OP_LEAKY_RELU ? qb_opt_float(it, op, 0, 0.0f) : 0.0f;
    if (alpha != alpha) return qb_kernel_error(it, op, QB_ERR_MODEL_INVALID, "bad alpha");
    for (i = 0; i < in->elements; i++) {
      float v = x[i];
      switch (op->code) {
        case QB_OP_LOGISTIC: v = 1.0f / (1.0f + qb_expf(-v)); break;
        case QB_OP_TANH: v = qb_tanhf(v); break;
        case QB_OP_RELU: v = v > 0.0f ? v : 0.0f; break;
        case QB_OP_RELU6: v = v > 0.0f ? (v < 6.0f ? v : 6.0f) : 0.0f; break;
        case QB_OP_LEAKY_RELU: v = v > 0.0f ? v : v * alpha; break;
        default: { /* HARD_SWISH */
          float r = v + 3.0f;
          r = r < 0.0f ? 0.0f : (r > 6.0f ? 6.0f : r);
          v = v * r / 6.0f;
        }
      }
      y[i] = v;
    }
    return QB_OK;
  }
  if (in->type == QB_TYPE_INT8) {
    const int8_t *x = (const int8_t *)qb_tensor_data(it, in);
    int8_t *y = (int8_t *)qb_tensor_data(it, out);
    if (op->code == QB_OP_LOGISTIC || op->code == QB_OP_TANH) return sigmoid_tanh_int8(it, op, in, out, x, y);
    if (op->code == QB_OP_RELU || op->code == QB_OP_RELU6) {
      /* QuantizedReluX; the float quotient is TFLite's (single precision, then widened). */
      double real = in->scale / out->scale;
      int32_t m, lo, hi;
      int shift;
      qb_quantize_multiplier(real, &m, &shift);
      qb_act_range_int8(op->code == QB_OP_RELU ? QB_ACT_RELU : QB_ACT_RELU6, out, &lo, &hi);
      for (i = 0; i < in->elements; i++)
        y[i] = (int8_t)qb_clamp(out->zero_point + qb_mbqm(x[i] - in->zero_point, m, shift), lo, hi);
      return QB_OK;
    }
    if (op->code == QB_OP_LEAKY_RELU) {
      float alpha = qb_opt_float(it, op, 0, 0.0f);
      float identity = in->scale / out->scale, alpha_real = in->scale * alpha / out->scale;
      int32_t mi, ma;
      int si, sa;
      if (alpha != alpha) return qb_kernel_error(it, op, QB_ERR_MODEL_INVALID, "bad alpha");
      qb_quantize_multiplier(identity, &mi, &si);
      qb_quantize_multiplier(alpha_real, &ma, &sa);
      for (i = 0; i < in->elements; i++) {
        int32_t v = x[i] - in->zero_point;
        int32_t r = out->zero_point + (v >= 0 ? qb_mbqm(v, mi, si) : qb_mbqm(v, ma, sa));
        y[i] = (int8_t)qb_clamp(r, -128, 127);
      }
      return QB_OK;
    }
    return hard_swish_int8(it, op, in, out, x, y);
  }
  return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "type (int8 or float32 only)");
}

void qb_quantize_f32_ref(const float *x, int8_t *y, int32_t n, float scale, int32_t zero_point) {
  int32_t i;
  /* AffineQuantize: single-precision division, round half away from zero. The sum is taken
   * in 64 bits: a value beyond the int32 range rounds to its end, and adding the zero point
   * to that must not overflow. */
  for (i = 0; i < n; i++) {
    int64_t q = (int64_t)qb_round_to_int(x[i] / scale) + zero_point;
    y[i] = (int8_t)(q < -128 ? -128 : (q > 127 ? 127 : q));
  }
}

int qb_quantize_f32_fast(const float *x, int8_t *y, int32_t n, float scale, int32_t zero_point) {
  int32_t i = 0;
  if (zero_point < -128 || zero_point > 127) return 0;
#if defined(__wasm_simd128__)
  {
    const v128_t vs = wasm_f32x4_splat(scale), zp = wasm_i32x4_splat(zero_point);
    for (; i + 16 <= n; i += 16) {
      v128_t q[4];
      int k;
      for (k = 0; k < 4; k++) q[k] = qb_quantize_f32x4(wasm_v128_load(x + i + 4 * k), vs, zp);
      /* the saturating narrows are the clamp to [-128, 127] */
      wasm_v128_store(y + i, wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(q[0], q[1]), wasm_i16x8_narrow_i32x4(q[2], q[3])));
    }
  }
#endif
  for (; i < n; i++) y[i] = (int8_t)qb_clamp(qb_round_clamped(x[i] / scale) + zero_point, -128, 127);
  return 1;
}

void qb_dequantize_i8_ref(const int8_t *x, float *y, int32_t n, float scale, int32_t zero_point) {
  int32_t i;
  double s = (double)scale;
  for (i = 0; i < n; i++) y[i] = (float)(s * (x[i] - zero_point));
}

/* x - zero_point has at most 9 significant bits, so the reference's double product is exact
 * and rounding it to float is exactly the float product: same bits, no double arithmetic
 * (which the Cortex-M4F does in software). */
int qb_dequantize_i8_fast(const int8_t *x, float *y, int32_t n, float scale, int32_t zero_point) {
  int32_t i = 0;
  if (zero_point < -128 || zero_point > 127) return 0;
#if defined(__wasm_simd128__)
  {
    /* the same int subtraction, exact conversion and float product, four lanes at a time */
    const v128_t vs = wasm_f32x4_splat(scale), zp = wasm_i32x4_splat(zero_point);
    for (; i + 16 <= n; i += 16) {
      v128_t b = wasm_v128_load(x + i), lo = wasm_i16x8_extend_low_i8x16(b), hi = wasm_i16x8_extend_high_i8x16(b);
      v128_t q[4];
      int k;
      q[0] = wasm_i32x4_extend_low_i16x8(lo);
      q[1] = wasm_i32x4_extend_high_i16x8(lo);
      q[2] = wasm_i32x4_extend_low_i16x8(hi);
      q[3] = wasm_i32x4_extend_high_i16x8(hi);
      for (k = 0; k < 4; k++) wasm_v128_store(y + i + 4 * k, wasm_f32x4_mul(vs, wasm_f32x4_convert_i32x4(wasm_i32x4_sub(q[k], zp))));
    }
  }
#endif
  for (; i < n; i++) y[i] = scale * (float)(x[i] - zero_point);
  return 1;
}

qb_status qb_k_quantize(qb_interpreter *it, const qb_op *op) {
  const qb_tensor *in = QB_IN(it, op, 0), *out = QB_OUT(it, op, 0);
  uint32_t i;
  if (in->elements != out->elements || out->type != QB_TYPE_INT8 || out->scale <= 0.0f || out->per_axis)
    return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "only per-tensor quantization to int8");
  if (in->type == QB_TYPE_FLOAT32) {
    const float *x = (const float *)qb_tensor_data(it, in);
    int8_t *y = (int8_t *)qb_tensor_data(it, out);
#ifdef QB_REFERENCE_KERNELS
    qb_quantize_f32_ref(x, y, (int32_t)in->elements, out->scale, out->zero_point);
#else
    if (!qb_quantize_f32_fast(x, y, (int32_t)in->elements, out->scale, out->zero_point))
      qb_quantize_f32_ref(x, y, (int32_t)in->elements, out->scale, out->zero_point);
#endif
    return QB_OK;
  }
  if (in->type == QB_TYPE_INT8) {
    const int8_t *x = (const int8_t *)qb_tensor_data(it, in);
    int8_t *y = (int8_t *)qb_tensor_data(it, out);
    int32_t m;
    int shift;
    qb_quantize_multiplier((double)in->scale / (double)out->scale, &m, &shift);
    for (i = 0; i < in->elements; i++) y[i] = (int8_t)qb_clamp(qb_mbqm(x[i] - in->zero_point, m, shift) + out->zero_point, -128, 127);
    return QB_OK;
  }
  return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "input must be float32 or int8");
}

qb_status qb_k_dequantize(qb_interpreter *it, const qb_op *op) {
  const qb_tensor *in = QB_IN(it, op, 0), *out = QB_OUT(it, op, 0);
  float *y = (float *)qb_tensor_data(it, out);
  uint32_t i;
  double scale = (double)in->scale;
  if (in->elements != out->elements || out->type != QB_TYPE_FLOAT32 || in->per_axis)
    return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "only per-tensor int8/uint8 to float32");
  if (in->type == QB_TYPE_INT8) {
    const int8_t *x = (const int8_t *)qb_tensor_data(it, in);
#ifdef QB_REFERENCE_KERNELS
    qb_dequantize_i8_ref(x, y, (int32_t)in->elements, in->scale, in->zero_point);
#else
    if (!qb_dequantize_i8_fast(x, y, (int32_t)in->elements, in->scale, in->zero_point))
      qb_dequantize_i8_ref(x, y, (int32_t)in->elements, in->scale, in->zero_point);
#endif
    return QB_OK;
  }
  if (in->type == QB_TYPE_UINT8) {
    const uint8_t *x = (const uint8_t *)qb_tensor_data(it, in);
    for (i = 0; i < in->elements; i++) y[i] = (float)(scale * (x[i] - in->zero_point));
    return QB_OK;
  }
  return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "input must be int8 or uint8");
}
