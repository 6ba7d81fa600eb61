/*
 * A float island in one pass: DEQUANTIZE, then ADD, SUB or MUL by constants (one value or a
 * vector over the trailing dimensions, such as a kept-float BatchNormalization's per-channel
 * factor and offset), then QUANTIZE. Op by op, each step writes a whole float tensor that the
 * next one reads back (on the sample model 75,264 elements a sample, 300 KB per tensor, past
 * the first-level cache, four passes). Here the same fast kernels run one after the other on
 * a chunk of at most QB_ISLAND_CHUNK elements at a time, in a buffer that stays in that
 * cache: every element goes through the same operations in the same order, with the same
 * operands in the same order and the same clamps, so the int8 bytes out are the op-by-op
 * ones.
 *
 * Desktop builds only (QB_FUSE_ISLANDS: host and wasm, where compress evaluates and the
 * benches run); the board builds run the ops one by one and keep their code size.
 */
#include "qb_float_steps.h"
#include "qb_kernels.h"

#if QB_FUSE_ISLANDS

#define QB_ISLAND_CHUNK 512

#if defined(__wasm_simd128__)
/* The exporter's kept-float BatchNormalization, rows of whole groups of sixteen: MUL by a
 * per-channel factor, then ADD of a per-channel offset, the island's value the first
 * operand of both, in registers: the lane operations of DEQUANTIZE's, the binary ops' and
 * QUANTIZE's SIMD loops, in their order. */
static void island_bn(const qb_island *e) {
  const v128_t in_scale = wasm_f32x4_splat(e->in_scale), in_zp = wasm_i32x4_splat(e->in_zp);
  const v128_t out_scale = wasm_f32x4_splat(e->out_scale), out_zp = wasm_i32x4_splat(e->out_zp);
  const v128_t lo0 = wasm_f32x4_splat(e->step[0].lo), hi0 = wasm_f32x4_splat(e->step[0].hi);
  const v128_t lo1 = wasm_f32x4_splat(e->step[1].lo), hi1 = wasm_f32x4_splat(e->step[1].hi);
  const int8_t *x = e->x, *end = e->x + e->n;
  int8_t *y = e->y;
  const int32_t row = e->row;
  while (x < end) {
    const float *m = e->step[0].v, *a = e->step[1].v;
    const int8_t *row_end = x + row;
    for (; x < row_end; x += 16, y += 16, m += 16, a += 16) {
      v128_t b = wasm_v128_load(x);
      v128_t b_lo = wasm_i16x8_extend_low_i8x16(b), b_hi = wasm_i16x8_extend_high_i8x16(b);
      v128_t q0, q1, q2, q3;
#define QB_BN_LANES(q, xi, k)                                                                                \
  do {                                                                                                      \
    v128_t v = wasm_f32x4_mul(in_scale, wasm_f32x4_convert_i32x4(wasm_i32x4_sub(xi, in_zp)));             \
    v = qb_clamp_f32x4(wasm_f32x4_mul(v, wasm_v128_load(m + 4 * (k))), lo0, hi0);                          \
    v = qb_clamp_f32x4(wasm_f32x4_add(v, wasm_v128_load(a + 4 * (k))), lo1, hi1);                          \
    q = qb_quantize_f32x4(v, out_scale, out_zp);                                                            \
  } while (0)
      QB_BN_LANES(q0, wasm_i32x4_extend_low_i16x8(b_lo), 0);
      QB_BN_LANES(q1, wasm_i32x4_extend_high_i16x8(b_lo), 1);
      QB_BN_LANES(q2, wasm_i32x4_extend_low_i16x8(b_hi), 2);
      QB_BN_LANES(q3, wasm_i32x4_extend_high_i16x8(b_hi), 3);
#undef QB_BN_LANES
      wasm_v128_store(y, wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(q0, q1), wasm_i16x8_narrow_i32x4(q2, q3)));
    }
  }
}
#endif

int qb_island_fast(const qb_island *e) {
  float buf[QB_ISLAND_CHUNK];
  int32_t o, s, len;
  if (e->in_zp < -128 || e->in_zp > 127 || e->out_zp < -128 || e->out_zp > 127) return 0;
  if (e->steps < 0 || e->steps > QB_ISLAND_MAX_STEPS || e->row <= 0 || e->n % e->row != 0) return 0;
  for (s = 0; s < e->steps; s++)
    if (e->step[s].op != QB_OP_ADD && e->step[s].op != QB_OP_SUB && e->step[s].op != QB_OP_MUL) return 0;
  /* Elements run in order, each read before it is written: y must not start inside x past
   * x's start, or an element would be overwritten before it is read. */
  if ((uintptr_t)e->y > (uintptr_t)e->x && (uintptr_t)e->y < (uintptr_t)e->x + (uint32_t)e->n) return 0;
#if defined(__wasm_simd128__)
  if (e->row % 16 == 0 && e->steps == 2 && e->step[0].op == QB_OP_MUL && e->step[1].op == QB_OP_ADD && e->step[0].per_row &&
      e->step[1].per_row && !e->step[0].swap && !e->step[1].swap) {
    island_bn(e);
    return 1;
  }
#endif
  /* Other rows: the ops' fast kernels one after the other on chunks of whole rows, or of a
   * long row, in a buffer that stays in the first-level cache. */
  for (o = 0; o < e->n; o += len) {
    /* whole rows when they fit, else the rest of the row (or a chunk of it) */
    int32_t at = o % e->row, rows = 1;
    if (e->row <= QB_ISLAND_CHUNK) {
      rows = QB_ISLAND_CHUNK / e->row;
      if (rows > (e->n - o) / e->row) rows = (e->n - o) / e->row;
      len = rows * e->row;
    } else {
      len = e->row - at < QB_ISLAND_CHUNK ? e->row - at : QB_ISLAND_CHUNK;
    }
    qb_dequantize_i8_fast(e->x + o, buf, len, e->in_scale, e->in_zp);
    for (s = 0; s < e->steps; s++) {
      const qb_island_step *st = &e->step[s];
      qb_binary_f32 b;
      int32_t cols = len / rows;
      const float *v = st->per_row ? st->v + at : st->v;
      /* rows x cols, the constant repeating over the rows (or one value) */
      b.dims[0] = b.dims[1] = 1;
      b.dims[2] = rows;
      b.dims[3] = cols;
      b.sa[0] = b.sa[1] = b.sb[0] = b.sb[1] = 0;
      b.a = st->swap ? v : buf;
      b.b = st->swap ? buf : v;
      b.sa[2] = st->swap ? 0 : cols;
      b.sa[3] = st->swap ? (st->per_row ? 1 : 0) : 1;
      b.sb[2] = st->swap ? cols : 0;
      b.sb[3] = st->swap ? 1 : (st->per_row ? 1 : 0);
      b.y = buf;
      b.op = st->op;
      b.lo = st->lo;
      b.hi = st->hi;
      /* in place, as the planner runs these ops: each element read before it is written */
      if (!qb_binary_f32_fast(&b)) qb_binary_f32_ref(&b);
    }
    qb_quantize_f32_fast(buf, e->y + o, len, e->out_scale, e->out_zp);
  }
  return 1;
}

/* The op's output, if it is a full-size float tensor that only the next op reads. */
static const qb_tensor *passed_on(const qb_interpreter *it, int32_t index, uint32_t n) {
  const qb_op *op = &it->ops[index];
  const qb_tensor *t;
  if (op->n_out != 1 || op->out[0] < 0) return 0;
  t = &it->tensors[op->out[0]];
  if (t->type != QB_TYPE_FLOAT32 || t->is_const || t->elements != n || t->last_use != index + 1) return 0;
  return t;
}

static int same_shape(const qb_tensor *a, const qb_tensor *b) {
  int32_t i;
  if (a->rank != b->rank) return 0;
  for (i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) return 0;
  return 1;
}

/* The trailing elements a constant operand spans when it broadcasts over the leading
 * dimensions of `out` (its own dimensions those of out's last ones, leading 1s allowed), or
 * 0 when it does not. */
static uint32_t trailing_span(const qb_tensor *v, const qb_tensor *out) {
  int32_t i, k, span = 1, leading = 1;
  if (v->rank > out->rank) return 0;
  for (i = 0; i < v->rank; i++) {
    k = out->rank - v->rank + i;
    if (v->dims[i] != out->dims[k]) {
      if (v->dims[i] != 1 || !leading) return 0;
      continue;
    }
    if (v->dims[i] != 1) leading = 0;
    if (!leading) span *= v->dims[i];
  }
  return (uint32_t)span;
}

int32_t qb_run_island(qb_interpreter *it, int32_t index) {
  const qb_op *op = &it->ops[index];
  const qb_tensor *in, *cur, *out;
  qb_island e;
  uint32_t n, row = 1;
  int32_t k;
  if (op->code != QB_OP_DEQUANTIZE || op->n_in < 1 || op->in[0] < 0) return 0;
  in = &it->tensors[op->in[0]];
  if (in->type != QB_TYPE_INT8 || in->per_axis) return 0;
  n = in->elements;
  if (!(cur = passed_on(it, index, n))) return 0;
  e.steps = 0;
  for (k = index + 1; k < it->op_count; k++) {
    const qb_op *s = &it->ops[k];
    const qb_tensor *v;
    qb_island_step *st;
    uint32_t span;
    int32_t other;
    if (s->code == QB_OP_QUANTIZE) break;
    if ((s->code != QB_OP_ADD && s->code != QB_OP_SUB && s->code != QB_OP_MUL) || e.steps == QB_ISLAND_MAX_STEPS) return 0;
    if (s->n_in < 2 || s->in[0] < 0 || s->in[1] < 0) return 0;
    st = &e.step[e.steps];
    st->swap = &it->tensors[s->in[1]] == cur;
    if (!st->swap && &it->tensors[s->in[0]] != cur) return 0;
    other = s->in[st->swap ? 0 : 1];
    v = &it->tensors[other];
    if (v->type != QB_TYPE_FLOAT32 || !v->is_const || v == cur) return 0;
    if (!qb_act_range_float(qb_opt_int(it, s, 0, 0, 1), &st->lo, &st->hi)) return 0;
    if (!(out = passed_on(it, k, n)) || !same_shape(out, cur) || out->rank > 4) return 0;
    span = trailing_span(v, out);
    if (span == 0 || span != v->elements) return 0;
    /* every vector spans the same trailing elements: one row of constants */
    if (span > 1) {
      if (row > 1 && span != row) return 0;
      row = span;
    }
    st->op = s->code;
    st->v = (const float *)(const void *)v->data;
    st->per_row = span > 1;
    e.steps++;
    cur = out;
  }
  if (k == it->op_count) return 0;
  op = &it->ops[k];
  if (op->n_in < 1 || &it->tensors[op->in[0]] != cur || op->n_out < 1 || op->out[0] < 0) return 0;
  out = &it->tensors[op->out[0]];
  if (out->type != QB_TYPE_INT8 || out->per_axis || !(out->scale > 0.0f) || out->elements != n) return 0;
  e.x = (const int8_t *)qb_tensor_data(it, in);
  e.y = (int8_t *)qb_tensor_data(it, out);
  e.n = (int32_t)n;
  e.row = row > 1 ? (int32_t)row : (int32_t)n;
  e.in_scale = in->scale;
  e.in_zp = in->zero_point;
  e.out_scale = out->scale;
  e.out_zp = out->zero_point;
  if (n == 0 || !qb_island_fast(&e)) return 0;
  return k - index + 1;
}

#endif
