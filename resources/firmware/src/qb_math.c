/*
 * exp in double precision by range reduction x = k ln2 + r, |r| <= ln2/2, and a Taylor
 * polynomial to r^13 (truncation error below 1e-17); rounding the result to float gives
 * the correctly rounded expf in all but rare ties, well inside the 1e-5 relative
 * tolerance the float kernels promise against TFLite.
 */
#include "qb_math.h"
#include <stdint.h>

typedef union { double d; uint64_t u; } dbits;

static double pow2i(int k) {
  dbits v;
  v.u = (uint64_t)(k + 1023) << 52;
  return v.d;
}

double qb_exp(double x) {
  const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
  const double inv_ln2 = 1.44269504088896338700e+00;
  double r, p, t;
  int k, i;
  if (x != x) return x;
  if (x > 709.78) return pow2i(1024); /* +inf */
  if (x < -745.2) return 0.0;
  t = x * inv_ln2;
  k = (int)(t < 0 ? t - 0.5 : t + 0.5);
  r = (x - k * ln2_hi) - k * ln2_lo;
  p = 1.0;
  for (i = 13; i >= 1; i--) p = 1.0 + p * r / i;
  /* Scale in two steps so k near the ends of the range does not overflow the exponent. */
  if (k > 1000) return p * pow2i(1000) * pow2i(k - 1000);
  if (k < -1000) return p * pow2i(-1000) * pow2i(k + 1000);
  return p * pow2i(k);
}

float qb_expf(float x) { return (float)qb_exp((double)x); }

float qb_tanhf(float x) {
  double a = x < 0 ? -(double)x : (double)x, e, t;
  if (x != x) return x;
  if (a < 4e-4) return (float)((double)x * (1.0 - (double)x * (double)x / 3.0));
  if (a > 20.0) return x < 0 ? -1.0f : 1.0f;
  e = qb_exp(2.0 * a);
  t = (e - 1.0) / (e + 1.0);
  return (float)(x < 0 ? -t : t);
}
