/* ADD, SUB and MUL with NumPy broadcasting up to 4-D; int8 follows TFLite's
 * reference AddElementwise/SubElementwise (left shift 20) and MulElementwise. */
#include "qb_float_steps.h"
#include "qb_kernels.h"

typedef struct { int32_t dims[4], sa[4], sb[4]; } bcast;

static int broadcast(const qb_tensor *a, const qb_tensor *b, const qb_tensor *out, bcast *bc) {
  int32_t da[4], db[4], i, stride_a = 1, stride_b = 1;
  if (a->rank > 4 || b->rank > 4 || out->rank > 4) return 0;
  for (i = 0; i < 4; i++) {
    int32_t k = i - (4 - out->rank);
    da[i] = i - (4 - a->rank) >= 0 ? a->dims[i - (4 - a->rank)] : 1;
    db[i] = i - (4 - b->rank) >= 0 ? b->dims[i - (4 - b->rank)] : 1;
    bc->dims[i] = k >= 0 ? out->dims[k] : 1;
    if ((da[i] != bc->dims[i] && da[i] != 1) || (db[i] != bc->dims[i] && db[i] != 1)) return 0;
  }
  for (i = 3; i >= 0; i--) {
    bc->sa[i] = da[i] == 1 ? 0 : stride_a;
    bc->sb[i] = db[i] == 1 ? 0 : stride_b;
    stride_a *= da[i];
    stride_b *= db[i];
  }
  return 1;
}

void qb_binary_f32_ref(const qb_binary_f32 *e) {
  int32_t i0, i1, i2, i3, o = 0;
  for (i0 = 0; i0 < e->dims[0]; i0++)
    for (i1 = 0; i1 < e->dims[1]; i1++)
      for (i2 = 0; i2 < e->dims[2]; i2++)
        for (i3 = 0; i3 < e->dims[3]; i3++) {
          float va = e->a[i0 * e->sa[0] + i1 * e->sa[1] + i2 * e->sa[2] + i3 * e->sa[3]];
          float vb = e->b[i0 * e->sb[0] + i1 * e->sb[1] + i2 * e->sb[2] + i3 * e->sb[3]];
          float r = e->op == QB_OP_ADD ? va + vb : e->op == QB_OP_SUB ? va - vb : va * vb;
          e->y[o++] = r < e->lo ? e->lo : (r > e->hi ? e->hi : r);
        }
}

/* How many elements an operand repeats with when it is the output's trailing dimensions,
 * contiguous, broadcast over all leading ones: the whole output (same shape), a channel
 * vector (per-channel BatchNormalization factors) or 1 (a scalar). 0 for any other layout. */
static int32_t period(const int32_t dims[4], const int32_t s[4]) {
  int32_t i = 3, p = 1;
  for (; i >= 0 && (dims[i] == 1 || s[i] == p); i--) p *= dims[i];
  for (; i >= 0; i--)
    if (dims[i] != 1 && s[i] != 0) return 0;
  return p;
}

/* The element loops: one operation and the reference's clamp, no index arithmetic. An
 * operand steps by 1 (a vector) or 0 (one value). The operands keep their order (a op b),
 * so every float is the reference's bit for bit. */
static void block(int32_t op, const float *a, int32_t da, const float *b, int32_t db, float *y, int32_t m, float lo, float hi) {
  int32_t j = 0;
#if defined(__wasm_simd128__)
  const v128_t vlo = wasm_f32x4_splat(lo), vhi = wasm_f32x4_splat(hi);
  const v128_t sa = wasm_f32x4_splat(a[0]), sb = wasm_f32x4_splat(b[0]);
#define QB_F32X4_LOOP(va, vb)                                                                     \
  for (; j + 4 <= m; j += 4) {                                                                    \
    v128_t r = op == QB_OP_ADD ? wasm_f32x4_add(va, vb) : op == QB_OP_SUB ? wasm_f32x4_sub(va, vb) \
                                                        : wasm_f32x4_mul(va, vb);                 \
    wasm_v128_store(y + j, qb_clamp_f32x4(r, vlo, vhi));                                          \
  }
  if (da && db) QB_F32X4_LOOP(wasm_v128_load(a + j), wasm_v128_load(b + j))
  else if (da) QB_F32X4_LOOP(wasm_v128_load(a + j), sb)
  else QB_F32X4_LOOP(sa, wasm_v128_load(b + j))
#undef QB_F32X4_LOOP
#endif
  a += j * da;
  b += j * db;
  if (op == QB_OP_ADD)
    for (; j < m; j++, a += da, b += db) y[j] = qb_clampf(*a + *b, lo, hi);
  else if (op == QB_OP_SUB)
    for (; j < m; j++, a += da, b += db) y[j] = qb_clampf(*a - *b, lo, hi);
  else
    for (; j < m; j++, a += da, b += db) y[j] = qb_clampf(*a * *b, lo, hi);
}

int qb_binary_f32_fast(const qb_binary_f32 *e) {
  int32_t pa = period(e->dims, e->sa), pb = period(e->dims, e->sb);
  int32_t n = e->dims[0] * e->dims[1] * e->dims[2] * e->dims[3], o, ao = 0, bo = 0, inner;
  if (pa == 0 || pb == 0) return 0;
  /* Both periods are products of the output's trailing dimensions, so the smaller divides
   * the larger and the larger divides n: blocks of the smaller never straddle a wrap. */
  inner = pa < pb ? pa : pb;
  if (inner == 1 && pa != pb) {
    if (pa == 1)
      for (o = 0; o < n; o += pb) block(e->op, e->a, 0, e->b, 1, e->y + o, pb, e->lo, e->hi);
    else
      for (o = 0; o < n; o += pa) block(e->op, e->a, 1, e->b, 0, e->y + o, pa, e->lo, e->hi);
  } else {
    for (o = 0; o < n; o += inner) {
      block(e->op, e->a + ao, 1, e->b + bo, 1, e->y + o, inner, e->lo, e->hi);
      ao += inner;
      bo += inner;
      if (ao == pa) ao = 0;
      if (bo == pb) bo = 0;
    }
  }
  return 1;
}

qb_status qb_k_binary(qb_interpreter *it, const qb_op *op) {
  const qb_tensor *a, *b, *out;
  bcast bc;
  int32_t act, i0, i1, i2, i3, o = 0;
  if (op->n_in < 2 || op->in[1] < 0) return qb_kernel_error(it, op, QB_ERR_MODEL_INVALID, "needs two inputs");
  a = QB_IN(it, op, 0);
  b = QB_IN(it, op, 1);
  out = QB_OUT(it, op, 0);
  act = qb_opt_int(it, op, 0, 0, 1);
  if (!broadcast(a, b, out, &bc)) return qb_kernel_error(it, op, QB_ERR_KERNEL, "shapes do not broadcast to the output (4-D at most)");
  if (a->type == QB_TYPE_INT8 && b->type == QB_TYPE_INT8 && out->type == QB_TYPE_INT8) {
    const int8_t *x = (const int8_t *)qb_tensor_data(it, a), *z = (const int8_t *)qb_tensor_data(it, b);
    int8_t *y = (int8_t *)qb_tensor_data(it, out);
    int32_t lo, hi, m1 = 0, m2 = 0, mo;
    int s1 = 0, s2 = 0, so;
    const int left_shift = 20;
    if (!qb_act_range_int8(act, out, &lo, &hi)) return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "fused activation");
    if (op->code == QB_OP_MUL) {
      qb_quantize_multiplier((double)a->scale * (double)b->scale / (double)out->scale, &mo, &so);
    } else {
      /* Same expression types as TFLite's PrepareGeneralSubOp / add Prepare. */
      const double twice_max = 2 * (a->scale > b->scale ? a->scale : b->scale);
      const double r1 = a->scale / twice_max, r2 = b->scale / twice_max;
      const double ro = twice_max / ((1 << left_shift) * out->scale);
      qb_quantize_multiplier(r1, &m1, &s1);
      qb_quantize_multiplier(r2, &m2, &s2);
      qb_quantize_multiplier(ro, &mo, &so);
      if (a->elements == out->elements && b->elements == out->elements) {
        /* Same shape (a residual connection): one flat loop, no index arithmetic. */
        qb_add_int8 e;
        e.a = x; e.b = z; e.y = y;
        e.n = (int32_t)out->elements;
        e.a_offset = -a->zero_point; e.b_offset = -b->zero_point; e.out_zp = out->zero_point;
        e.lo = lo; e.hi = hi; e.sub = op->code == QB_OP_SUB;
        e.m1 = m1; e.s1 = s1; e.m2 = m2; e.s2 = s2; e.mo = mo; e.so = so;
        /* The conv kernels' scratch area, when the model has one big enough: free while this
         * op runs, and an ADD of its own would not be worth growing the arena for. */
        e.table = it->scratch_bytes >= QB_ADD_TABLE_BYTES ? (int32_t *)(void *)(it->arena + it->scratch_offset) : 0;
#ifdef QB_REFERENCE_KERNELS
        qb_add_int8_ref(&e);
#else
        qb_add_int8_fast(&e);
#endif
        return QB_OK;
      }
    }
    for (i0 = 0; i0 < bc.dims[0]; i0++)
      for (i1 = 0; i1 < bc.dims[1]; i1++)
        for (i2 = 0; i2 < bc.dims[2]; i2++)
          for (i3 = 0; i3 < bc.dims[3]; i3++) {
            int32_t va = x[i0 * bc.sa[0] + i1 * bc.sa[1] + i2 * bc.sa[2] + i3 * bc.sa[3]] - a->zero_point;
            int32_t vb = z[i0 * bc.sb[0] + i1 * bc.sb[1] + i2 * bc.sb[2] + i3 * bc.sb[3]] - b->zero_point;
            int32_t r;
            if (op->code == QB_OP_MUL) {
              r = out->zero_point + qb_mbqm(va * vb, mo, so);
            } else {
              int32_t sa = qb_mbqm(va * (1 << left_shift), m1, s1);
              int32_t sb = qb_mbqm(vb * (1 << left_shift), m2, s2);
              r = qb_mbqm(op->code == QB_OP_ADD ? sa + sb : sa - sb, mo, so) + out->zero_point;
            }
            y[o++] = (int8_t)qb_clamp(r, lo, hi);
          }
    return QB_OK;
  }
  if (a->type == QB_TYPE_FLOAT32 && b->type == QB_TYPE_FLOAT32 && out->type == QB_TYPE_FLOAT32) {
    qb_binary_f32 e;
    if (!qb_act_range_float(act, &e.lo, &e.hi)) return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "fused activation");
    e.a = (const float *)qb_tensor_data(it, a);
    e.b = (const float *)qb_tensor_data(it, b);
    e.y = (float *)qb_tensor_data(it, out);
    e.op = op->code;
    for (i0 = 0; i0 < 4; i0++) {
      e.dims[i0] = bc.dims[i0];
      e.sa[i0] = bc.sa[i0];
      e.sb[i0] = bc.sb[i0];
    }
#ifdef QB_REFERENCE_KERNELS
    qb_binary_f32_ref(&e);
#else
    if (!qb_binary_f32_fast(&e)) qb_binary_f32_ref(&e);
#endif
    return QB_OK;
  }
  return qb_kernel_error(it, op, QB_ERR_MODEL_UNSUPPORTED, "type combination (int8 or float32 only)");
}
