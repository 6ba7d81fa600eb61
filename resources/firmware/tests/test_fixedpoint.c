#include "qb_fixedpoint.h"
#include "qb_math.h"
#include "qb_test.h"

void test_fixedpoint(void) {
  int32_t m;
  int shift;
  double q;
  int e;

  /* SaturatingRoundingDoublingHighMul: the one overflow case saturates; positive ties round up */
  CHECK_EQ(qb_srdhm(INT32_MIN, INT32_MIN), INT32_MAX);
  CHECK_EQ(qb_srdhm(1 << 30, 1 << 30), 1 << 29);
  CHECK_EQ(qb_srdhm(3, 1 << 30), 2);   /* 1.5 -> 2 */
  CHECK_EQ(qb_srdhm(-3, 1 << 30), -1); /* -1.5 -> -1: the negative nudge truncates toward zero */
  CHECK_EQ(qb_srdhm(-1, 1 << 30), 0);  /* -0.5 -> 0 */
  CHECK_EQ(qb_srdhm(1, 1 << 30), 1);   /* 0.5 -> 1 */

  /* RoundingDivideByPOT: round half away from zero */
  CHECK_EQ(qb_rdbpot(5, 1), 3);
  CHECK_EQ(qb_rdbpot(-5, 1), -3);
  CHECK_EQ(qb_rdbpot(3, 1), 2);
  CHECK_EQ(qb_rdbpot(-3, 1), -2);
  CHECK_EQ(qb_rdbpot(-6, 2), -2); /* -1.5 */
  CHECK_EQ(qb_rdbpot(7, 0), 7);

  /* QuantizeMultiplier */
  qb_quantize_multiplier(0.5, &m, &shift);
  CHECK_EQ(m, 1 << 30);
  CHECK_EQ(shift, 0);
  qb_quantize_multiplier(1.0, &m, &shift);
  CHECK_EQ(m, 1 << 30);
  CHECK_EQ(shift, 1);
  qb_quantize_multiplier(0.75, &m, &shift);
  CHECK_EQ(m, 1610612736);
  CHECK_EQ(shift, 0);
  qb_quantize_multiplier(0.0, &m, &shift);
  CHECK_EQ(m, 0);
  qb_quantize_multiplier(1e-12, &m, &shift); /* below 2^-31: becomes zero */
  CHECK_EQ(m, 0);
  CHECK_EQ(shift, 0);
  /* a significand that rounds up to 2^31 moves to the next exponent */
  qb_quantize_multiplier(0.99999999999999, &m, &shift);
  CHECK_EQ(m, 1 << 30);
  CHECK_EQ(shift, 1);

  q = qb_frexp(48.0, &e);
  CHECK(q == 0.75 && e == 6);
  q = qb_frexp(4.9406564584124654e-324, &e); /* smallest subnormal */
  CHECK(q == 0.5 && e == -1073);

  /* MultiplyByQuantizedMultiplier */
  CHECK_EQ(qb_mbqm(100, 1 << 30, 0), 50);
  CHECK_EQ(qb_mbqm(100, 1 << 30, 1), 100);
  CHECK_EQ(qb_mbqm(-101, 1 << 30, -1), -25); /* -25.25 */
  CHECK_EQ(qb_mbqm(-102, 1 << 30, -2), -13); /* -12.75 */

  /* std::round semantics */
  CHECK_EQ(qb_round_to_int(2.5f), 3);
  CHECK_EQ(qb_round_to_int(-2.5f), -3);
  CHECK_EQ(qb_round_to_int(0.49999997f), 0);
  CHECK_EQ(qb_round_to_int(-0.5f), -1);
  CHECK_EQ(qb_round_to_int(3e9f), INT32_MAX);

  /* gemmlowp exp: exp(0) is one; elsewhere its polynomial is good to about 3e-7 */
  CHECK_EQ(qb_fp_exp_on_negative_values(0, 5), INT32_MAX);
  {
    int32_t v = qb_fp_exp_on_negative_values(-(1 << 26), 5);
    CHECK(v > 790015084 - 640 && v < 790015084 + 640);
    v = qb_fp_exp_on_negative_values(-(1 << 24), 5); /* exp(-0.25) */
    CHECK(v > 1672461947 - 640 && v < 1672461947 + 640);
  }
  /* 1/(1+x) at x=0.5 is 2/3 */
  {
    int32_t v = qb_fp_one_over_one_plus_x_for_x_in_0_1(1 << 30);
    CHECK(v > 1431655765 - 16 && v < 1431655765 + 16);
  }
  CHECK_EQ(qb_fp_logistic(0, 4), 1 << 30);
  CHECK_EQ(qb_fp_tanh(0, 4), 0);
  {
    /* logistic(1) = 0.7310586, tanh(1) = 0.7615942 (Q4.27 input 1 << 27) */
    int32_t l = qb_fp_logistic(1 << 27, 4), t = qb_fp_tanh(1 << 27, 4), tn = qb_fp_tanh(-(1 << 27), 4);
    CHECK(l > 1569936343 - 4096 && l < 1569936343 + 4096);
    CHECK(t > 1635510996 - 4096 && t < 1635510996 + 4096);
    CHECK_EQ(tn, -t);
  }

  /* float helpers against known values */
  CHECK(qb_expf(0.0f) == 1.0f);
  CHECK(qb_expf(1.0f) == 2.71828182f);
  CHECK(qb_expf(-10.0f) == 4.539993e-05f);
  CHECK(qb_expf(-200.0f) == 0.0f);
  CHECK(qb_tanhf(0.5f) == 0.46211716f);
  CHECK(qb_tanhf(-3.0f) == -0.9950547814f);
  CHECK(qb_tanhf(1e-6f) == 1e-6f);
}
