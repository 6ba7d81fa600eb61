#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "qb_kernels.h"
#include "qb_test.h"
#include "test_graph.h"

static test_graph g;
#define ABSENT INT32_MIN

static double round_away(double v) { return v < 0 ? -floor(-v + 0.5) : floor(v + 0.5); }

static void conv_exact(void) {
  static const int8_t filter[4] = {1, 2, 3, 4};
  static const int32_t bias[1] = {10};
  int32_t din[4] = {1, 3, 3, 1}, df[4] = {1, 2, 2, 1}, db[1] = {1}, dout[4] = {1, 2, 2, 1};
  int32_t opts[6] = {1 /* VALID */, 1, 1, 0, 1, 1};
  int ins[3], out;
  int8_t *x, *y;
  int i;
  tg_init(&g);
  ins[0] = tg_tensor(&g, QB_TYPE_INT8, 4, din, 0.5f, 1, 0);
  ins[1] = tg_tensor(&g, QB_TYPE_INT8, 4, df, 0.25f, 0, filter);
  ins[2] = tg_tensor(&g, QB_TYPE_INT32, 1, db, 0.125f, 0, bias);
  out = tg_tensor(&g, QB_TYPE_INT8, 4, dout, 1.0f, -2, 0);
  tg_op(&g, QB_OP_CONV_2D, 3, ins, 1, &out, 6, opts);
  tg_io(&g, 1, ins, 1, &out);
  CHECK_EQ(tg_ready(&g), QB_OK);
  x = (int8_t *)tg_data(&g, ins[0]);
  for (i = 0; i < 9; i++) x[i] = (int8_t)(3 + 2 * i); /* real values 1, 2, ... 9 */
  CHECK_EQ(qb_invoke(&g.it), QB_OK);
  y = (int8_t *)tg_data(&g, out);
  /* accumulators 84, 104, 144, 164 times 0.125, rounded half away from zero, minus 2 */
  CHECK_EQ(y[0], 9);
  CHECK_EQ(y[1], 11);
  CHECK_EQ(y[2], 16);
  CHECK_EQ(y[3], 19);
}

static uint32_t rng_state = 12345;
static int32_t rnd(int32_t lo, int32_t hi) {
  rng_state = rng_state * 1103515245u + 12345u;
  return lo + (int32_t)((rng_state >> 8) % (uint32_t)(hi - lo + 1));
}

/* Random SAME-padded strided conv and depthwise conv against a double-precision model of
 * the same arithmetic: every output within one step of the exactly rounded value. */
static void conv_random(int depthwise) {
  static int8_t filter[3 * 3 * 4 * 8];
  static int32_t bias[8];
  int32_t din[4] = {1, 7, 6, 4}, df[4], db[1] = {8}, dout[4] = {1, 4, 3, 8};
  int32_t opts[7];
  int ins[3], out, i, oy, ox, o, ky, kx, c, worst = 0;
  int8_t *x, *y;
  const float si = 0.05f, sf = 0.02f, so = 0.1f;
  const int32_t zi = -3, zo = 5;
  if (depthwise) {
    int32_t f[4] = {1, 3, 3, 8};
    int32_t o7[7] = {0 /* SAME */, 2, 2, 2, 0, 1, 1};
    memcpy(df, f, sizeof df);
    memcpy(opts, o7, sizeof o7);
  } else {
    int32_t f[4] = {8, 3, 3, 4};
    int32_t o6[7] = {0, 2, 2, 0, 1, 1, 0};
    memcpy(df, f, sizeof df);
    memcpy(opts, o6, sizeof o6);
  }
  for (i = 0; i < (int)sizeof filter; i++) filter[i] = (int8_t)rnd(-127, 127);
  for (i = 0; i < 8; i++) bias[i] = rnd(-2000, 2000);
  tg_init(&g);
  ins[0] = tg_tensor(&g, QB_TYPE_INT8, 4, din, si, zi, 0);
  ins[1] = tg_tensor(&g, QB_TYPE_INT8, 4, df, sf, 0, filter);
  ins[2] = tg_tensor(&g, QB_TYPE_INT32, 1, db, si * sf, 0, bias);
  out = tg_tensor(&g, QB_TYPE_INT8, 4, dout, so, zo, 0);
  tg_op(&g, depthwise ? QB_OP_DEPTHWISE_CONV_2D : QB_OP_CONV_2D, 3, ins, 1, &out, depthwise ? 7 : 6, opts);
  tg_io(&g, 1, ins, 1, &out);
  CHECK_EQ(tg_ready(&g), QB_OK);
  x = (int8_t *)tg_data(&g, ins[0]);
  for (i = 0; i < 7 * 6 * 4; i++) x[i] = (int8_t)rnd(-128, 127);
  CHECK_EQ(qb_invoke(&g.it), QB_OK);
  y = (int8_t *)tg_data(&g, out);
  /* SAME, stride 2, 7x6 input, 3x3 filter: out 4x3, padding top (6+3-7)/2=1, left (4+3-6)/2=0 */
  for (oy = 0; oy < 4; oy++)
    for (ox = 0; ox < 3; ox++)
      for (o = 0; o < 8; o++) {
        double acc = bias[o], want;
        int got;
        for (ky = 0; ky < 3; ky++)
          for (kx = 0; kx < 3; kx++) {
            int yy = oy * 2 - 1 + ky, xx = ox * 2 + kx;
            if (yy < 0 || yy >= 7 || xx < 0 || xx >= 6) continue;
            if (depthwise) {
              c = o / 2;
              acc += (double)(x[(yy * 6 + xx) * 4 + c] - zi) * filter[(ky * 3 + kx) * 8 + o];
            } else {
              for (c = 0; c < 4; c++) acc += (double)(x[(yy * 6 + xx) * 4 + c] - zi) * filter[((o * 3 + ky) * 3 + kx) * 4 + c];
            }
          }
        want = round_away(acc * ((double)si * (double)sf / (double)so)) + zo;
        want = want < -128 ? -128 : (want > 127 ? 127 : want);
        got = y[(oy * 3 + ox) * 8 + o];
        if (abs(got - (int)want) > worst) worst = abs(got - (int)want);
      }
  CHECK(worst <= 1);
}

static void fully_connected(void) {
  static const int8_t w[6] = {1, -1, 2, 3, 0, -2};
  static const int32_t bias[2] = {4, -20};
  int32_t din[2] = {1, 3}, dw[2] = {2, 3}, db[1] = {2}, dout[2] = {1, 2};
  int32_t opts[1] = {QB_ACT_RELU};
  int ins[3], out;
  int8_t *x, *y;
  tg_init(&g);
  ins[0] = tg_tensor(&g, QB_TYPE_INT8, 2, din, 1.0f, 0, 0);
  ins[1] = tg_tensor(&g, QB_TYPE_INT8, 2, dw, 1.0f, 0, w);
  ins[2] = tg_tensor(&g, QB_TYPE_INT32, 1, db, 1.0f, 0, bias);
  out = tg_tensor(&g, QB_TYPE_INT8, 2, dout, 2.0f, 0, 0);
  tg_op(&g, QB_OP_FULLY_CONNECTED, 3, ins, 1, &out, 1, opts);
  tg_io(&g, 1, ins, 1, &out);
  CHECK_EQ(tg_ready(&g), QB_OK);
  x = (int8_t *)tg_data(&g, ins[0]);
  x[0] = 5;
  x[1] = 1;
  x[2] = 2;
  CHECK_EQ(qb_invoke(&g.it), QB_OK);
  y = (int8_t *)tg_data(&g, out);
  CHECK_EQ(y[0], 6); /* (5 - 1 + 4 + 4) * 0.5 */
  CHECK_EQ(y[1], 0); /* (15 + 0 - 4 - 20) * 0.5 = -4.5, clamped at zero by the fused RELU */
}

static void pools(void) {
  int32_t din[4] = {1, 2, 2, 2}, dout[4] = {1, 1, 1, 2};
  int32_t opts[6] = {1, 2, 2, 2, 2, 0};
  int in, out;
  int8_t *x, *y;
  tg_init(&g);
  in = tg_tensor(&g, QB_TYPE_INT8, 4, din, 1.0f, 0, 0);
  out = tg_tensor(&g, QB_TYPE_INT8, 4, dout, 1.0f, 0, 0);
  tg_op(&g, QB_OP_AVERAGE_POOL_2D, 1, &in, 1, &out, 6, opts);
  tg_io(&g, 1, &in, 1, &out);
  CHECK_EQ(tg_ready(&g), QB_OK);
  x = (int8_t *)tg_data(&g, in);
  /* channel 0: 1,2,3,-1 (sum 5 -> 1.25 -> 1) */
  x[0] = 1; x[2] = 2; x[4] = 3; x[6] = -1;
  x[1] = -1; x[3] = -2; x[5] = -3; x[7] = -4; /* sum -10 -> -2.5 -> -3 (away from zero) */
  CHECK_EQ(qb_invoke(&g.it), QB_OK);
  y = (int8_t *)tg_data(&g, out);
  CHECK_EQ(y[0], 1);
  CHECK_EQ(y[1], -3);
  g.it.ops[0].code = QB_OP_MAX_POOL_2D;
  CHECK_EQ(qb_invoke(&g.it), QB_OK);
  CHECK_EQ(y[0], 3);
  CHECK_EQ(y[1], -1);
}

static void add_and_softmax(void) {
  int32_t d2[1] = {2}, d4[2] = {1, 4};
  int32_t act[1] = {0}, beta[1];
  int ins[2], out, sin, sout;
  int8_t *a, *b, *y;
  float one = 1.0f;
  tg_init(&g);
  ins[0] = tg_tensor(&g, QB_TYPE_INT8, 1, d2, 0.5f, 0, 0);
  ins[1] = tg_tensor(&g, QB_TYPE_INT8, 1, d2, 0.5f, 0, 0);
  out = tg_tensor(&g, QB_TYPE_INT8, 1, d2, 1.0f, 0, 0);
  tg_op(&g, QB_OP_ADD, 2, ins, 1, &out, 1, act);
  tg_io(&g, 2, ins, 1, &out);
  CHECK_EQ(tg_ready(&g), QB_OK);
  a = (int8_t *)tg_data(&g, ins[0]);
  b = (int8_t *)tg_data(&g, ins[1]);
  a[0] = 4; b[0] = 6;   /* 2.0 + 3.0 */
  a[1] = 3; b[1] = 0;   /* 1.5 rounds away from zero */
  CHECK_EQ(qb_invoke(&g.it), QB_OK);
  y = (int8_t *)tg_data(&g, out);
  CHECK_EQ(y[0], 5);
  CHECK_EQ(y[1], 2);

  memcpy(&beta[0], &one, 4);
  tg_init(&g);
  sin = tg_tensor(&g, QB_TYPE_INT8, 2, d4, 0.1f, 0, 0);
  sout = tg_tensor(&g, QB_TYPE_INT8, 2, d4, 1.0f / 256.0f, -128, 0);
  tg_op(&g, QB_OP_SOFTMAX, 1, &sin, 1, &sout, 1, beta);
  tg_io(&g, 1, &sin, 1, &sout);
  CHECK_EQ(tg_ready(&g), QB_OK);
  a = (int8_t *)tg_data(&g, sin);
  a[0] = a[1] = a[2] = a[3] = 7;
  CHECK_EQ(qb_invoke(&g.it), QB_OK);
  y = (int8_t *)tg_data(&g, sout);
  CHECK_EQ(y[0], -64); /* 1/4 in steps of 1/256 from -128 */
  CHECK_EQ(y[3], -64);
  a[0] = 127; a[1] = a[2] = a[3] = -128; /* exp(-25.5) vanishes: all mass on the first */
  CHECK_EQ(qb_invoke(&g.it), QB_OK);
  CHECK_EQ(y[0], 127);
  CHECK_EQ(y[1], -128);
}

static void quantize_pad_float(void) {
  int32_t d4[1] = {4}, dpi[2] = {1, 2}, dpo[2] = {1, 4}, dpp[2] = {2, 2};
  static const int32_t pads[4] = {0, 0, 1, 1};
  int f, q, back, pin, pp, pout, ins[2];
  float *xf, *yf;
  int8_t *p;
  tg_init(&g);
  f = tg_tensor(&g, QB_TYPE_FLOAT32, 1, d4, 0.0f, 0, 0);
  q = tg_tensor(&g, QB_TYPE_INT8, 1, d4, 0.5f, 3, 0);
  back = tg_tensor(&g, QB_TYPE_FLOAT32, 1, d4, 0.0f, 0, 0);
  tg_op(&g, QB_OP_QUANTIZE, 1, &f, 1, &q, 0, 0);
  tg_op(&g, QB_OP_DEQUANTIZE, 1, &q, 1, &back, 0, 0);
  tg_io(&g, 1, &f, 1, &back);
  CHECK_EQ(tg_ready(&g), QB_OK);
  xf = (float *)tg_data(&g, f);
  xf[0] = 1.25f;   /* 2.5 -> 3 (+3) = 6 -> 1.5 */
  xf[1] = -1.25f;  /* -2.5 -> -3 (+3) = 0 -> -1.5 */
  xf[2] = 100.0f;  /* clamps at 127 -> 62 */
  xf[3] = -0.2f;   /* -0.4 -> 0 (+3) -> 0 */
  CHECK_EQ(qb_invoke(&g.it), QB_OK);
  yf = (float *)tg_data(&g, back);
  CHECK(yf[0] == 1.5f && yf[1] == -1.5f && yf[2] == 62.0f && yf[3] == 0.0f);

  tg_init(&g);
  pin = tg_tensor(&g, QB_TYPE_INT8, 2, dpi, 1.0f, -7, 0);
  pp = tg_tensor(&g, QB_TYPE_INT32, 2, dpp, 0.0f, 0, pads);
  pout = tg_tensor(&g, QB_TYPE_INT8, 2, dpo, 1.0f, -7, 0);
  ins[0] = pin;
  ins[1] = pp;
  tg_op(&g, QB_OP_PAD, 2, ins, 1, &pout, 0, 0);
  tg_io(&g, 1, &pin, 1, &pout);
  CHECK_EQ(tg_ready(&g), QB_OK);
  p = (int8_t *)tg_data(&g, pin);
  p[0] = 1;
  p[1] = 2;
  CHECK_EQ(qb_invoke(&g.it), QB_OK);
  p = (int8_t *)tg_data(&g, pout);
  CHECK(p[0] == -7 && p[1] == 1 && p[2] == 2 && p[3] == -7);
}

static void float_activations(void) {
  int32_t d[1] = {5};
  int in, out, i, codes[4] = {QB_OP_LOGISTIC, QB_OP_TANH, QB_OP_HARD_SWISH, QB_OP_RELU6};
  float *x, *y;
  for (i = 0; i < 4; i++) {
    int k;
    tg_init(&g);
    in = tg_tensor(&g, QB_TYPE_FLOAT32, 1, d, 0.0f, 0, 0);
    out = tg_tensor(&g, QB_TYPE_FLOAT32, 1, d, 0.0f, 0, 0);
    tg_op(&g, codes[i], 1, &in, 1, &out, 0, 0);
    tg_io(&g, 1, &in, 1, &out);
    CHECK_EQ(tg_ready(&g), QB_OK);
    x = (float *)tg_data(&g, in);
    x[0] = -7.0f; x[1] = -0.3f; x[2] = 0.0f; x[3] = 0.8f; x[4] = 9.0f;
    CHECK_EQ(qb_invoke(&g.it), QB_OK);
    y = (float *)tg_data(&g, out);
    for (k = 0; k < 5; k++) {
      double v = x[k], want;
      if (codes[i] == QB_OP_LOGISTIC) want = 1.0 / (1.0 + exp(-v));
      else if (codes[i] == QB_OP_TANH) want = tanh(v);
      else if (codes[i] == QB_OP_HARD_SWISH) want = v * fmin(6.0, fmax(0.0, v + 3.0)) / 6.0;
      else want = fmin(6.0, fmax(0.0, v));
      CHECK(fabs(y[k] - want) <= 1e-6 * fabs(want) + 1e-30);
    }
  }
}

static void int8_logistic_tanh(void) {
  int32_t d[1] = {256};
  int in, out, i, k;
  for (k = 0; k < 2; k++) {
    int8_t *x, *y;
    int worst = 0;
    tg_init(&g);
    in = tg_tensor(&g, QB_TYPE_INT8, 1, d, 0.05f, 2, 0);
    out = tg_tensor(&g, QB_TYPE_INT8, 1, d, k ? 1.0f / 128.0f : 1.0f / 256.0f, k ? 0 : -128, 0);
    tg_op(&g, k ? QB_OP_TANH : QB_OP_LOGISTIC, 1, &in, 1, &out, 0, 0);
    tg_io(&g, 1, &in, 1, &out);
    CHECK_EQ(tg_ready(&g), QB_OK);
    x = (int8_t *)tg_data(&g, in);
    for (i = 0; i < 256; i++) x[i] = (int8_t)(i - 128);
    CHECK_EQ(qb_invoke(&g.it), QB_OK);
    y = (int8_t *)tg_data(&g, out);
    for (i = 0; i < 256; i++) {
      double v = 0.05 * (x[i] - 2), want = k ? round_away(tanh(v) * 128.0) : round_away(256.0 / (1.0 + exp(-v))) - 128;
      want = want > 127 ? 127 : want;
      if (abs(y[i] - (int)want) > worst) worst = abs(y[i] - (int)want);
    }
    CHECK(worst <= 1);
  }
}

/* int8 HARD_SWISH tracks x * relu6(x + 3) / 6 to within one output step. */
static void int8_hard_swish(void) {
  int32_t d[1] = {256};
  int in, out, i, worst = 0;
  int8_t *x, *y;
  tg_init(&g);
  in = tg_tensor(&g, QB_TYPE_INT8, 1, d, 0.04f, -10, 0);
  out = tg_tensor(&g, QB_TYPE_INT8, 1, d, 0.03f, -60, 0);
  tg_op(&g, QB_OP_HARD_SWISH, 1, &in, 1, &out, 0, 0);
  tg_io(&g, 1, &in, 1, &out);
  CHECK_EQ(tg_ready(&g), QB_OK);
  x = (int8_t *)tg_data(&g, in);
  for (i = 0; i < 256; i++) x[i] = (int8_t)(i - 128);
  CHECK_EQ(qb_invoke(&g.it), QB_OK);
  y = (int8_t *)tg_data(&g, out);
  for (i = 0; i < 256; i++) {
    double v = 0.04 * (x[i] + 10), want = round_away(v * fmin(6.0, fmax(0.0, v + 3.0)) / 6.0 / 0.03) - 60;
    want = want > 127 ? 127 : (want < -128 ? -128 : want);
    if (abs(y[i] - (int)want) > worst) worst = abs(y[i] - (int)want);
  }
  CHECK(worst <= 1);
}

void test_kernels(void) {
  int8_hard_swish();
  conv_exact();
  conv_random(0);
  conv_random(1);
  fully_connected();
  pools();
  add_and_softmax();
  quantize_pad_float();
  float_activations();
  int8_logistic_tanh();
}
