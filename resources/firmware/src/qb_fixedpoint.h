/*
 * Integer arithmetic of the TFLite quantization spec
 * (https://www.tensorflow.org/lite/performance/quantization_spec): the rounding of
 * gemmlowp's SaturatingRoundingDoublingHighMul and RoundingDivideByPOT, the multiplier
 * decomposition of QuantizeMultiplier, and the gemmlowp fixed-point exp/reciprocal used
 * by the int8 SOFTMAX, LOGISTIC and TANH reference kernels.
 */
#ifndef QB_FIXEDPOINT_H
#define QB_FIXEDPOINT_H

#include <stdint.h>

int32_t qb_srdhm(int32_t a, int32_t b);
int32_t qb_rdbpot(int32_t x, int exponent);
/* MultiplyByQuantizedMultiplier: x * m * 2^shift with TFLite's two roundings. */
int32_t qb_mbqm(int32_t x, int32_t m, int shift);
/* QuantizeMultiplier: d = m * 2^(shift - 31), m in [2^30, 2^31). */
void qb_quantize_multiplier(double d, int32_t *m, int *shift);
/* std::frexp for finite doubles. */
double qb_frexp(double d, int *exp);
/* std::round of a float (half away from zero), clamped to the int32 range. */
int32_t qb_round_to_int(float x);
int32_t qb_round_to_int_d(double x);

/* gemmlowp fixed point, raw int32 values. */
int32_t qb_fp_exp_on_negative_values(int32_t a, int integer_bits);
int32_t qb_fp_one_over_one_plus_x_for_x_in_0_1(int32_t a);
int32_t qb_fp_saturating_rounding_mul_by_pot(int32_t x, int exponent);
int32_t qb_fp_logistic(int32_t a, int integer_bits);
int32_t qb_fp_tanh(int32_t a, int integer_bits);
int qb_count_leading_zeros(uint32_t x);

static inline int32_t qb_clamp(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

#endif
