#include "qb_fixedpoint.h"

int32_t qb_srdhm(int32_t a, int32_t b) {
  int64_t ab;
  int32_t nudge;
  if (a == b && a == INT32_MIN) return INT32_MAX;
  ab = (int64_t)a * (int64_t)b;
  nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
  /* Division (not a shift) so negative products truncate toward zero, as in gemmlowp. */
  return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

int32_t qb_rdbpot(int32_t x, int exponent) {
  int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
  int32_t remainder = x & mask;
  int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

int32_t qb_mbqm(int32_t x, int32_t m, int shift) {
  int left = shift > 0 ? shift : 0;
  int right = shift > 0 ? 0 : -shift;
  int32_t r = qb_rdbpot(qb_srdhm((int32_t)((uint32_t)x << left), m), right);
  /* Valid models stay far inside +-2^30 (int8 results and 20-bit-shifted ADD operands);
   * the clamp only keeps the zero-point addition that follows defined for corrupt scales. */
  return qb_clamp(r, -(1 << 30), 1 << 30);
}

typedef union { double d; uint64_t u; } qb_dbits;

double qb_frexp(double d, int *exp) {
  qb_dbits v;
  int e, bias = 0;
  v.d = d;
  e = (int)((v.u >> 52) & 0x7FF);
  if (d == 0.0 || e == 0x7FF) {
    *exp = 0;
    return d;
  }
  if (e == 0) { /* subnormal: scale into the normal range first */
    v.d = d * 18014398509481984.0; /* 2^54 */
    e = (int)((v.u >> 52) & 0x7FF);
    bias = 54;
  }
  *exp = e - 1022 - bias;
  v.u = (v.u & ~((uint64_t)0x7FF << 52)) | ((uint64_t)1022 << 52);
  return v.d;
}

int32_t qb_round_to_int_d(double x) {
  double r;
  if (x >= 2147483647.0) return INT32_MAX;
  if (x <= -2147483648.0) return INT32_MIN;
  r = (double)(int64_t)x; /* truncation; the fraction x - r is exact */
  if (x - r >= 0.5) r += 1.0;
  else if (r - x >= 0.5) r -= 1.0;
  return (int32_t)r;
}

int32_t qb_round_to_int(float x) {
  float r;
  if (x != x) return 0;
  if (x >= 2147483520.0f) return INT32_MAX;
  if (x <= -2147483648.0f) return INT32_MIN;
  r = (float)(int32_t)x;
  if (x - r >= 0.5f) return (int32_t)r + 1;
  if (r - x >= 0.5f) return (int32_t)r - 1;
  return (int32_t)r;
}

void qb_quantize_multiplier(double d, int32_t *m, int *shift) {
  double q;
  int64_t fixed;
  /* Zero, negative and NaN multipliers only come from scales a valid model cannot have;
   * map them to zero (and infinity to the largest) so the integer math stays defined. */
  if (!(d > 0.0)) {
    *m = 0;
    *shift = 0;
    return;
  }
  if (d > 1e30) {
    *m = INT32_MAX;
    *shift = 30;
    return;
  }
  q = qb_frexp(d, shift);
  /* std::round of q * 2^31; the product is >= 2^30 so adding one half is exact. */
  fixed = q >= 0 ? (int64_t)(q * 2147483648.0 + 0.5) : -(int64_t)(-q * 2147483648.0 + 0.5);
  if (fixed == ((int64_t)1 << 31)) {
    fixed /= 2;
    ++*shift;
  }
  if (*shift < -31) {
    *shift = 0;
    fixed = 0;
  }
  if (*shift > 30) {
    *shift = 30;
    fixed = ((int64_t)1 << 31) - 1;
  }
  *m = (int32_t)fixed;
}

int qb_count_leading_zeros(uint32_t x) {
  int n = 0;
  if (x == 0) return 32;
  while (!(x & 0x80000000u)) {
    x <<= 1;
    n++;
  }
  return n;
}

int32_t qb_fp_saturating_rounding_mul_by_pot(int32_t x, int exponent) {
  int32_t threshold;
  if (exponent == 0) return x;
  if (exponent < 0) return qb_rdbpot(x, -exponent);
  threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return (int32_t)((uint32_t)x << exponent);
}

static int32_t rounding_half_sum(int32_t a, int32_t b) {
  int64_t sum = (int64_t)a + (int64_t)b;
  int64_t sign = sum >= 0 ? 1 : -1;
  return (int32_t)((sum + sign) / 2);
}

/* exp(x) for x in [-1/4, 0), Q0.31 in and out. */
static int32_t exp_on_interval(int32_t a) {
  const int32_t constant_term = 1895147668;     /* exp(-1/8) */
  const int32_t constant_1_over_3 = 715827883;
  int32_t x = a + (1 << 28);
  int32_t x2 = qb_srdhm(x, x);
  int32_t x3 = qb_srdhm(x2, x);
  int32_t x4 = qb_srdhm(x2, x2);
  int32_t x4_over_4 = qb_rdbpot(x4, 2);
  int32_t poly = qb_srdhm(x4_over_4 + x3, constant_1_over_3) + x2;
  int32_t poly_over_2 = qb_rdbpot(poly, 1);
  return constant_term + qb_srdhm(constant_term, x + poly_over_2);
}

int32_t qb_fp_exp_on_negative_values(int32_t a, int integer_bits) {
  static const int32_t multipliers[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
  int fractional_bits = 31 - integer_bits;
  int32_t one_quarter = (int32_t)1 << (fractional_bits - 2);
  int32_t mask = one_quarter - 1;
  int32_t a_mod = (a & mask) - one_quarter;
  int32_t result = exp_on_interval(qb_fp_saturating_rounding_mul_by_pot(a_mod, integer_bits));
  int32_t remainder = a_mod - a;
  int e;
  for (e = -2; e <= 4; e++) {
    if (integer_bits > e) {
      int shift = fractional_bits + e;
      if (shift >= 0 && shift < 31 && (remainder & ((int32_t)1 << shift))) result = qb_srdhm(result, multipliers[e + 2]);
    }
  }
  if (integer_bits > 5) {
    int32_t clamp = -(int32_t)((int64_t)1 << (fractional_bits + 5));
    if (a < clamp) result = 0;
  }
  if (a == 0) result = INT32_MAX;
  return result;
}

/* 1/(1+x) for x in [0,1): Newton-Raphson in Q2.29 as gemmlowp does. */
int32_t qb_fp_one_over_one_plus_x_for_x_in_0_1(int32_t a) {
  const int32_t q2_one = 1 << 29;
  int32_t half_denominator = rounding_half_sum(a, INT32_MAX);
  int32_t x = 1515870810 + qb_srdhm(half_denominator, -1010580540); /* 48/17 - 32/17 d */
  int i;
  for (i = 0; i < 3; i++) {
    int32_t hdx = qb_srdhm(half_denominator, x);
    int32_t one_minus = q2_one - hdx;
    x = x + qb_fp_saturating_rounding_mul_by_pot(qb_srdhm(x, one_minus), 2);
  }
  return qb_fp_saturating_rounding_mul_by_pot(x, 1);
}

/* (1-x)/(1+x) for x in [0,1), Q0.31. */
static int32_t one_minus_x_over_one_plus_x(int32_t a) {
  const int32_t q2_one = 1 << 29;
  int32_t half_denominator = rounding_half_sum(a, INT32_MAX);
  int32_t x = 1515870810 + qb_srdhm(half_denominator, -1010580540);
  int i;
  for (i = 0; i < 3; i++) {
    int32_t hdx = qb_srdhm(half_denominator, x);
    int32_t one_minus = q2_one - hdx;
    x = x + qb_fp_saturating_rounding_mul_by_pot(qb_srdhm(x, one_minus), 2);
  }
  /* x ~ 1/(2*half_denominator) in Q2; (1-a)/(1+a) = 2/(1+a) - 1 */
  return qb_fp_saturating_rounding_mul_by_pot(x - q2_one, 2);
}

int32_t qb_fp_logistic(int32_t a, int integer_bits) {
  int32_t abs_a, pos;
  if (a == 0) return 1 << 30; /* one half */
  abs_a = a > 0 ? a : -a;
  pos = qb_fp_one_over_one_plus_x_for_x_in_0_1(qb_fp_exp_on_negative_values(-abs_a, integer_bits));
  return a > 0 ? pos : INT32_MAX - pos;
}

int32_t qb_fp_tanh(int32_t a, int integer_bits) {
  int32_t n, t;
  if (a == 0) return 0;
  n = a > 0 ? -a : a;
  /* exp(-2|a|): the doubling happens in the input format, saturating like gemmlowp. */
  t = one_minus_x_over_one_plus_x(qb_fp_exp_on_negative_values(qb_fp_saturating_rounding_mul_by_pot(n, 1), integer_bits));
  return a > 0 ? t : -t;
}
