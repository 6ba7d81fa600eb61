#include "qb_test.h"
#include "test_graph.h"
#include "qb_fixedpoint.h"

#include <string.h>

static test_graph g;

/* y is computed in place of x: the op where x dies produces y from x elementwise in float. */
static int in_place_pair(const qb_interpreter *it, int32_t x, int32_t y) {
  const qb_tensor *tx = &it->tensors[x], *ty = &it->tensors[y];
  const qb_op *op;
  int j, found = 0;
  if (tx->last_use != ty->first_use || tx->last_use < 0 || tx->last_use >= it->op_count) return 0;
  op = &it->ops[tx->last_use];
  if (op->code != QB_OP_ADD && op->code != QB_OP_SUB && op->code != QB_OP_MUL && op->code != QB_OP_QUANTIZE) return 0;
  for (j = 0; j < op->n_in; j++) found |= op->in[j] == x;
  return found && op->out[0] == y && tx->type == QB_TYPE_FLOAT32 && tx->elements == ty->elements &&
         tx->arena_offset == ty->arena_offset;
}

/* Tensors whose lifetimes overlap must not share arena bytes, except an output computed in
 * place of the input that dies at its op. */
static int plan_is_sound(const qb_interpreter *it) {
  int32_t a, b;
  for (a = 0; a < it->tensor_count; a++)
    for (b = a + 1; b < it->tensor_count; b++) {
      const qb_tensor *x = &it->tensors[a], *y = &it->tensors[b];
      if (x->is_const || y->is_const || x->last_use < -1 || y->last_use < -1) continue;
      if (x->last_use < y->first_use || y->last_use < x->first_use) continue;
      if (in_place_pair(it, a, b) || in_place_pair(it, b, a)) continue;
      if (x->arena_offset < y->arena_offset + y->bytes && y->arena_offset < x->arena_offset + x->bytes) return 0;
      if (x->arena_offset + x->bytes > it->arena_required || y->arena_offset + y->bytes > it->arena_required) return 0;
    }
  return 1;
}

int qb_test_plan_is_sound(const qb_interpreter *it) { return plan_is_sound(it); }

/*
 * A float island as the exporter writes it: int8 -> DEQUANTIZE -> MUL -> ADD -> QUANTIZE.
 * MUL, ADD and QUANTIZE reuse the DEQUANTIZE buffer, so the island costs one float
 * tensor, and the outputs are the ones computed out of place.
 */
static void test_planner_float_island(void) {
  static const float mul[1] = {0.5f}, add[1] = {-1.25f};
  int32_t d100[1] = {100}, d1[1] = {1};
  int x, deq, m, s, prod, sum, c, q, i, ins[2];
  int8_t *in, *out;
  tg_init(&g);
  x = tg_tensor(&g, QB_TYPE_INT8, 1, d100, 0.1f, 3, 0);
  deq = tg_tensor(&g, QB_TYPE_FLOAT32, 1, d100, 0.0f, 0, 0);
  m = tg_tensor(&g, QB_TYPE_FLOAT32, 1, d1, 0.0f, 0, mul);
  prod = tg_tensor(&g, QB_TYPE_FLOAT32, 1, d100, 0.0f, 0, 0);
  s = tg_tensor(&g, QB_TYPE_FLOAT32, 1, d1, 0.0f, 0, add);
  sum = tg_tensor(&g, QB_TYPE_FLOAT32, 1, d100, 0.0f, 0, 0);
  q = tg_tensor(&g, QB_TYPE_INT8, 1, d100, 0.05f, -7, 0);
  tg_op(&g, QB_OP_DEQUANTIZE, 1, &x, 1, &deq, 0, 0);
  ins[0] = deq;
  ins[1] = m;
  tg_op(&g, QB_OP_MUL, 2, ins, 1, &prod, 0, 0);
  ins[0] = s; /* the dying operand second: either side may be overwritten */
  ins[1] = prod;
  tg_op(&g, QB_OP_ADD, 2, ins, 1, &sum, 0, 0);
  tg_op(&g, QB_OP_QUANTIZE, 1, &sum, 1, &q, 0, 0);
  tg_io(&g, 1, &x, 1, &q);
  CHECK_EQ(tg_ready(&g), QB_OK);
  /* the int8 input (112) beside one float buffer (400) that every island tensor shares */
  CHECK_EQ(g.it.arena_required, 512);
  CHECK_EQ(g.it.tensors[prod].arena_offset, g.it.tensors[deq].arena_offset);
  CHECK_EQ(g.it.tensors[sum].arena_offset, g.it.tensors[deq].arena_offset);
  CHECK_EQ(g.it.tensors[q].arena_offset, g.it.tensors[deq].arena_offset);
  CHECK(plan_is_sound(&g.it));
  in = (int8_t *)tg_data(&g, x);
  for (i = 0; i < 100; i++) in[i] = (int8_t)(i * 5 - 128);
  CHECK_EQ(qb_invoke(&g.it), QB_OK);
  out = (int8_t *)tg_data(&g, q);
  for (i = 0; i < 100; i++) {
    float f = -1.25f + (float)((double)0.1f * (in[i] - 3)) * 0.5f;
    int32_t r = qb_clamp(qb_round_to_int(f / 0.05f) - 7, -128, 127);
    CHECK_EQ(out[i], r);
  }

  /* a graph input is never overwritten (a benchmark invokes again on the same input),
   * nor a tensor read after the op */
  tg_init(&g);
  x = tg_tensor(&g, QB_TYPE_FLOAT32, 1, d100, 0.0f, 0, 0);
  prod = tg_tensor(&g, QB_TYPE_FLOAT32, 1, d100, 0.0f, 0, 0);
  sum = tg_tensor(&g, QB_TYPE_FLOAT32, 1, d100, 0.0f, 0, 0);
  c = tg_tensor(&g, QB_TYPE_FLOAT32, 1, d100, 0.0f, 0, 0);
  ins[0] = x;
  ins[1] = x;
  tg_op(&g, QB_OP_MUL, 2, ins, 1, &prod, 0, 0);
  tg_op(&g, QB_OP_MUL, 2, ins + 0, 1, &sum, 0, 0);
  ins[0] = prod;
  ins[1] = sum;
  tg_op(&g, QB_OP_ADD, 2, ins, 1, &c, 0, 0);
  tg_io(&g, 1, &x, 1, &c);
  CHECK_EQ(tg_ready(&g), QB_OK);
  CHECK(g.it.tensors[prod].arena_offset != g.it.tensors[x].arena_offset);
  CHECK(g.it.tensors[sum].arena_offset != g.it.tensors[x].arena_offset);
  CHECK(plan_is_sound(&g.it));
}

static void count_op(void *context, int32_t op_index) {
  (void)op_index;
  (*(int32_t *)context)++;
}

/* Builds x (int8, 1x3x4xC) -> DEQUANTIZE -> MUL by a per-channel factor -> `second` (ADD of
 * a per-channel offset with RELU, or SUB from one value) -> QUANTIZE; `mul_out` also a graph
 * output when `exposed`, or a RESHAPE after the MUL when `reshaped`. Returns x. */
static float factor[48], offset[48];
static const float one[1] = {0.75f};

static int island_graph(int32_t channels, int32_t second, int exposed, int reshaped, int *q_out, int *mul_out) {
  int32_t dims[4] = {1, 3, 4, 0}, dc[1], d_one[1] = {1}, relu[1] = {QB_ACT_RELU}, i;
  int x, deq, m, prod, shaped, c, sum, q, ins[2], outs[2];
  dims[3] = channels;
  dc[0] = channels;
  for (i = 0; i < channels; i++) {
    factor[i] = 0.25f + 0.125f * (float)(i % 7) - (i % 3 == 0 ? 1.0f : 0.0f);
    offset[i] = -2.0f + 0.3f * (float)i;
  }
  tg_init(&g);
  x = tg_tensor(&g, QB_TYPE_INT8, 4, dims, 0.05f, 9, 0);
  deq = tg_tensor(&g, QB_TYPE_FLOAT32, 4, dims, 0.0f, 0, 0);
  m = tg_tensor(&g, QB_TYPE_FLOAT32, 1, dc, 0.0f, 0, factor);
  prod = tg_tensor(&g, QB_TYPE_FLOAT32, 4, dims, 0.0f, 0, 0);
  shaped = reshaped ? tg_tensor(&g, QB_TYPE_FLOAT32, 4, dims, 0.0f, 0, 0) : prod;
  c = second == QB_OP_ADD ? tg_tensor(&g, QB_TYPE_FLOAT32, 1, dc, 0.0f, 0, offset) : tg_tensor(&g, QB_TYPE_FLOAT32, 1, d_one, 0.0f, 0, one);
  sum = tg_tensor(&g, QB_TYPE_FLOAT32, 4, dims, 0.0f, 0, 0);
  q = tg_tensor(&g, QB_TYPE_INT8, 4, dims, 0.04f, -20, 0);
  tg_op(&g, QB_OP_DEQUANTIZE, 1, &x, 1, &deq, 0, 0);
  ins[0] = deq;
  ins[1] = m;
  tg_op(&g, QB_OP_MUL, 2, ins, 1, &prod, 0, 0);
  if (reshaped) tg_op(&g, QB_OP_RESHAPE, 1, &prod, 1, &shaped, 0, 0);
  /* ADD: the island's value first; SUB: the one value minus it */
  ins[0] = second == QB_OP_ADD ? shaped : c;
  ins[1] = second == QB_OP_ADD ? c : shaped;
  tg_op(&g, second, 2, ins, 1, &sum, second == QB_OP_ADD ? 1 : 0, relu);
  tg_op(&g, QB_OP_QUANTIZE, 1, &sum, 1, &q, 0, 0);
  outs[0] = q;
  outs[1] = prod;
  tg_io(&g, 1, &x, exposed ? 2 : 1, outs);
  *q_out = q;
  *mul_out = prod;
  return x;
}

/*
 * Desktop builds run a float island in one pass; the bytes must be those of its ops one by
 * one (an observer makes qb_invoke run every op on its own). Channel counts with whole
 * groups of sixteen (the SIMD build's register path) and not; islands that must not be
 * fused (an intermediate read by something else, an op between) run op by op.
 */
static void test_fused_island(void) {
  static const int32_t channels[4] = {32, 48, 5, 17};
  int32_t k, i, ops;
  for (k = 0; k < 8; k++) {
    int q, prod, x = island_graph(channels[k % 4], k < 4 ? QB_OP_ADD : QB_OP_SUB, 0, 0, &q, &prod);
    int8_t *in, *out, fused[3 * 4 * 48];
    int32_t n = 12 * channels[k % 4];
    CHECK_EQ(tg_ready(&g), QB_OK);
    in = (int8_t *)tg_data(&g, x);
    for (i = 0; i < n; i++) in[i] = (int8_t)((i * 37 + k * 11) % 256 - 128);
    CHECK_EQ(qb_invoke(&g.it), QB_OK);
    out = (int8_t *)tg_data(&g, q);
    memcpy(fused, out, (size_t)n);
#if QB_FUSE_ISLANDS
    CHECK_EQ(qb_run_island(&g.it, 0), 4);
    CHECK_EQ(qb_run_island(&g.it, 1), 0);
#endif
    ops = 0;
    qb_set_op_observer(&g.it, count_op, &ops);
    memset(out, 0x55, (size_t)n);
    CHECK_EQ(qb_invoke(&g.it), QB_OK);
    CHECK_EQ(ops, 4);
    CHECK(memcmp(fused, out, (size_t)n) == 0);
    /* and the values are the reference formulas' */
    for (i = 0; i < n; i++) {
      int32_t ch = i % channels[k % 4];
      float f = (float)((double)0.05f * (in[i] - 9)) * factor[ch];
      if (k < 4) {
        f = f + offset[ch];
        f = f < 0.0f ? 0.0f : f;
      } else {
        f = 0.75f - f;
      }
      CHECK_EQ(out[i], qb_clamp(qb_round_to_int(f / 0.04f) - 20, -128, 127));
    }
  }
#if QB_FUSE_ISLANDS
  for (k = 0; k < 2; k++) {
    int q, prod;
    island_graph(32, QB_OP_ADD, k == 0, k == 1, &q, &prod);
    CHECK_EQ(tg_ready(&g), QB_OK);
    CHECK_EQ(qb_run_island(&g.it, 0), 0);
    CHECK_EQ(qb_invoke(&g.it), QB_OK);
  }
#endif
}

void test_planner(void) {
  int32_t d100[1] = {100}, d200[1] = {200};
  int a, b, c, d, e;
  /* chain a -> b -> c: the input a lives to the end; b and c cannot share with it:
   * 112 (a) + 208 (b), c reuses nothing b holds -> 112 + 208 + 112 at most */
  tg_init(&g);
  a = tg_tensor(&g, QB_TYPE_INT8, 1, d100, 1.0f, 0, 0);
  b = tg_tensor(&g, QB_TYPE_INT8, 1, d200, 1.0f, 0, 0);
  c = tg_tensor(&g, QB_TYPE_INT8, 1, d100, 1.0f, 0, 0);
  tg_op(&g, QB_OP_RELU, 1, &a, 1, &b, 0, 0);
  tg_op(&g, QB_OP_RELU, 1, &b, 1, &c, 0, 0);
  tg_io(&g, 1, &a, 1, &c);
  CHECK_EQ(qb_plan(&g.it), QB_OK);
  CHECK_EQ(g.it.arena_required, 432);
  CHECK(plan_is_sound(&g.it));

  /* a long chain needs the input plus its two largest neighbours, not the sum of all */
  tg_init(&g);
  a = tg_tensor(&g, QB_TYPE_INT8, 1, d100, 1.0f, 0, 0);
  b = tg_tensor(&g, QB_TYPE_INT8, 1, d200, 1.0f, 0, 0);
  c = tg_tensor(&g, QB_TYPE_INT8, 1, d100, 1.0f, 0, 0);
  d = tg_tensor(&g, QB_TYPE_INT8, 1, d200, 1.0f, 0, 0);
  e = tg_tensor(&g, QB_TYPE_INT8, 1, d100, 1.0f, 0, 0);
  tg_op(&g, QB_OP_RELU, 1, &a, 1, &b, 0, 0);
  tg_op(&g, QB_OP_RELU, 1, &b, 1, &c, 0, 0);
  tg_op(&g, QB_OP_RELU, 1, &c, 1, &d, 0, 0);
  tg_op(&g, QB_OP_RELU, 1, &d, 1, &e, 0, 0);
  tg_io(&g, 1, &a, 1, &e);
  CHECK_EQ(qb_plan(&g.it), QB_OK);
  CHECK_EQ(g.it.arena_required, 432); /* the input, one 208-byte and one 112-byte slot */
  CHECK(plan_is_sound(&g.it));

  /* a skip connection keeps a alive until the ADD: a, b, c all overlap at op 1 */
  tg_init(&g);
  a = tg_tensor(&g, QB_TYPE_INT8, 1, d100, 1.0f, 0, 0);
  b = tg_tensor(&g, QB_TYPE_INT8, 1, d100, 1.0f, 0, 0);
  c = tg_tensor(&g, QB_TYPE_INT8, 1, d100, 1.0f, 0, 0);
  tg_op(&g, QB_OP_RELU, 1, &a, 1, &b, 0, 0);
  {
    int ins[2];
    ins[0] = a;
    ins[1] = b;
    tg_op(&g, QB_OP_ADD, 2, ins, 1, &c, 0, 0);
  }
  tg_io(&g, 1, &a, 1, &c);
  CHECK_EQ(qb_plan(&g.it), QB_OK);
  CHECK_EQ(g.it.arena_required, 336);
  CHECK(plan_is_sound(&g.it));

  test_planner_float_island();
  test_fused_island();
}
