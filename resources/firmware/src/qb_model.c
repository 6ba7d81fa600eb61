/*
 * .tflite reader for the subset the runtime executes. Field numbers follow
 * tensorflow/lite/schema/schema.fbs; every offset is checked through qb_flatbuf.
 */
#include "qb_flatbuf.h"
#include "qb_internal.h"

/* schema.fbs field ids */
enum { MODEL_OPERATOR_CODES = 1, MODEL_SUBGRAPHS = 2, MODEL_BUFFERS = 4 };
enum { OPCODE_DEPRECATED = 0, OPCODE_CUSTOM = 1, OPCODE_BUILTIN = 3 };
enum { SG_TENSORS = 0, SG_INPUTS = 1, SG_OUTPUTS = 2, SG_OPERATORS = 3 };
enum { T_SHAPE = 0, T_TYPE = 1, T_BUFFER = 2, T_QUANT = 4, T_SPARSITY = 6 };
enum { Q_SCALE = 2, Q_ZERO_POINT = 3, Q_DIM = 6 };
enum { B_DATA = 0, B_OFFSET = 1 };
enum { OP_OPCODE = 0, OP_INPUTS = 1, OP_OUTPUTS = 2, OP_OPTIONS = 4 };

static const int32_t supported[] = {
  QB_OP_ADD, QB_OP_AVERAGE_POOL_2D, QB_OP_CONCATENATION, QB_OP_CONV_2D, QB_OP_DEPTHWISE_CONV_2D,
  QB_OP_DEQUANTIZE, QB_OP_FULLY_CONNECTED, QB_OP_LOGISTIC, QB_OP_MAX_POOL_2D, QB_OP_MUL,
  QB_OP_RELU, QB_OP_RELU6, QB_OP_RESHAPE, QB_OP_SOFTMAX, QB_OP_TANH, QB_OP_PAD, QB_OP_MEAN,
  QB_OP_SUB, QB_OP_SQUEEZE, QB_OP_LEAKY_RELU, QB_OP_QUANTIZE, QB_OP_HARD_SWISH
};

int32_t qb_supported_ops(const int32_t **codes) {
  if (codes) *codes = supported;
  return (int32_t)(sizeof supported / sizeof supported[0]);
}

static int is_supported(int32_t code) {
  size_t i;
  for (i = 0; i < sizeof supported / sizeof supported[0]; i++)
    if (supported[i] == code) return 1;
  return 0;
}

const char *qb_op_name(int32_t code) {
  switch (code) {
    case QB_OP_ADD: return "ADD";
    case QB_OP_AVERAGE_POOL_2D: return "AVERAGE_POOL_2D";
    case QB_OP_CONCATENATION: return "CONCATENATION";
    case QB_OP_CONV_2D: return "CONV_2D";
    case QB_OP_DEPTHWISE_CONV_2D: return "DEPTHWISE_CONV_2D";
    case QB_OP_DEQUANTIZE: return "DEQUANTIZE";
    case QB_OP_FULLY_CONNECTED: return "FULLY_CONNECTED";
    case QB_OP_LOGISTIC: return "LOGISTIC";
    case QB_OP_MAX_POOL_2D: return "MAX_POOL_2D";
    case QB_OP_MUL: return "MUL";
    case QB_OP_RELU: return "RELU";
    case QB_OP_RELU6: return "RELU6";
    case QB_OP_RESHAPE: return "RESHAPE";
    case QB_OP_SOFTMAX: return "SOFTMAX";
    case QB_OP_TANH: return "TANH";
    case QB_OP_PAD: return "PAD";
    case QB_OP_MEAN: return "MEAN";
    case QB_OP_SUB: return "SUB";
    case QB_OP_SQUEEZE: return "SQUEEZE";
    case QB_OP_LEAKY_RELU: return "LEAKY_RELU";
    case QB_OP_QUANTIZE: return "QUANTIZE";
    case QB_OP_HARD_SWISH: return "HARD_SWISH";
    default: return "op";
  }
}

static int map_type(int64_t tfl, uint8_t *out, uint32_t *size) {
  switch (tfl) {
    case 0: *out = QB_TYPE_FLOAT32; *size = 4; return 1;
    case 2: *out = QB_TYPE_INT32; *size = 4; return 1;
    case 3: *out = QB_TYPE_UINT8; *size = 1; return 1;
    case 4: *out = QB_TYPE_INT64; *size = 8; return 1;
    case 7: *out = QB_TYPE_INT16; *size = 2; return 1;
    case 9: *out = QB_TYPE_INT8; *size = 1; return 1;
    default: return 0;
  }
}

static float bits_to_float(uint32_t bits) {
  union { uint32_t u; float f; } v;
  v.u = bits;
  return v.f;
}

float qb_tensor_channel_scale(const qb_interpreter *it, const qb_tensor *t, int32_t channel) {
  qb_fb fb;
  uint32_t bits;
  if (!t->per_axis) return t->scale;
  fb.base = it->model;
  fb.size = (uint32_t)it->model_bytes;
  /* Bounds were checked at load (scales_count covers the channel dimension). */
  if (channel < 0 || (uint32_t)channel >= t->scales_count || !qb_fb_u32(&fb, t->scales_pos + 4u * (uint32_t)channel, &bits))
    return t->scale;
  return bits_to_float(bits);
}

#define INVALID0(msg) do { qb_error(it, msg); return QB_ERR_MODEL_INVALID; } while (0)
#define INVALID(msg, n) do { qb_errorf(it, msg, n, 0, 0, 0); return QB_ERR_MODEL_INVALID; } while (0)

/* Kernels turn scales into integer multipliers: NaN, infinity or a negative scale would
 * make that conversion undefined, so they are rejected here. */
static int scale_ok(float s) { return s == s && s >= 0.0f && s <= 3.0e38f; }

static int zero_point_ok(uint8_t type, int64_t zp) {
  if (type == QB_TYPE_INT8) return zp >= -128 && zp <= 127;
  if (type == QB_TYPE_UINT8) return zp >= 0 && zp <= 255;
  if (type == QB_TYPE_INT16) return zp == 0;
  return zp >= -65536 && zp <= 65536;
}

static qb_status read_quant(qb_interpreter *it, const qb_fb *fb, uint32_t q, qb_tensor *t, int32_t index) {
  uint32_t sp, sn, zp, zn, bits;
  uint64_t z;
  int64_t dim;
  if (qb_fb_vector(fb, q, Q_SCALE, 4, &sp, &sn) == QB_FB_BAD) INVALID("bad quantization scales on tensor ", index);
  if (qb_fb_vector(fb, q, Q_ZERO_POINT, 8, &zp, &zn) == QB_FB_BAD) INVALID("bad zero points on tensor ", index);
  if (!qb_fb_scalar(fb, q, Q_DIM, 4, 0, 1, &dim)) INVALID("bad quantized_dimension on tensor ", index);
  if (sn == 0) return QB_OK;
  if (!qb_fb_u32(fb, sp, &bits)) INVALID("bad scale on tensor ", index);
  t->scale = bits_to_float(bits);
  if (zn > 0) {
    if (!qb_fb_u64(fb, zp, &z)) INVALID("bad zero point on tensor ", index);
    if (!zero_point_ok(t->type, (int64_t)z)) INVALID("zero point out of range for the type of tensor ", index);
    t->zero_point = (int32_t)(int64_t)z;
  }
  if (!scale_ok(t->scale)) INVALID("scale not finite and positive on tensor ", index);
  if (sn > 1) {
    uint32_t k;
    for (k = 1; k < sn; k++) {
      if (!qb_fb_u32(fb, sp + 4 * k, &bits) || !scale_ok(bits_to_float(bits))) INVALID("bad per-axis scale on tensor ", index);
    }
    if (dim < 0 || dim >= t->rank || (uint32_t)t->dims[dim] != sn) INVALID("per-axis scale count does not match the channel dimension on tensor ", index);
    t->per_axis = 1;
    t->scales_pos = sp;
    t->scales_count = sn;
    t->quantized_dimension = (int32_t)dim;
  }
  return QB_OK;
}

static qb_status read_tensor(qb_interpreter *it, const qb_fb *fb, uint32_t tt, uint32_t buffers, uint32_t nbuffers, int32_t index) {
  qb_tensor *t = &it->tensors[index];
  uint32_t sp, sn, i, esize, q;
  int64_t type, buf;
  uint64_t elements = 1;
  qb_status st;
  if (!qb_fb_table_ok(fb, tt)) INVALID("bad table for tensor ", index);
  if (qb_fb_vector(fb, tt, T_SHAPE, 4, &sp, &sn) == QB_FB_BAD) INVALID("bad shape on tensor ", index);
  if (sn > QB_MAX_RANK) { qb_errorf(it, "rank above 6 on tensor ", index, 0, 0, 0); return QB_ERR_MODEL_UNSUPPORTED; }
  t->rank = (uint8_t)sn;
  for (i = 0; i < sn; i++) {
    uint32_t d;
    if (!qb_fb_u32(fb, sp + 4 * i, &d)) INVALID("bad shape on tensor ", index);
    if ((int32_t)d < 0) { qb_errorf(it, "dynamic dimension on tensor ", index, 0, 0, 0); return QB_ERR_MODEL_UNSUPPORTED; }
    t->dims[i] = (int32_t)d;
    elements *= d;
    if (elements > 0x10000000u) { qb_errorf(it, "tensor too large: ", index, 0, 0, 0); return QB_ERR_MODEL_UNSUPPORTED; }
  }
  if (!qb_fb_scalar(fb, tt, T_TYPE, 1, 0, 1, &type)) INVALID("bad type on tensor ", index);
  if (!map_type(type, &t->type, &esize)) { qb_errorf(it, "unsupported tensor type ", (int32_t)type, " on tensor ", index, 0); return QB_ERR_MODEL_UNSUPPORTED; }
  if (qb_fb_field(fb, tt, T_SPARSITY, 4) != 0) { qb_errorf(it, "sparse tensor ", index, 0, 0, 0); return QB_ERR_MODEL_UNSUPPORTED; }
  if (elements * esize > 0x40000000u) { qb_errorf(it, "tensor larger than 1 GB: ", index, 0, 0, 0); return QB_ERR_MODEL_UNSUPPORTED; }
  t->elements = (uint32_t)elements;
  t->bytes = (uint32_t)elements * esize;
  t->scale = 0.0f;
  t->zero_point = 0;
  q = qb_fb_subtable(fb, tt, T_QUANT);
  if (q == QB_FB_BAD) INVALID("bad quantization table on tensor ", index);
  if (q != 0 && (st = read_quant(it, fb, q, t, index)) != QB_OK) return st;
  if (!qb_fb_scalar(fb, tt, T_BUFFER, 4, 0, 0, &buf)) INVALID("bad buffer index on tensor ", index);
  if (buf != 0) {
    uint32_t btable, bpos, dp, dn;
    int64_t boff;
    if ((uint64_t)buf >= nbuffers) INVALID("buffer index out of range on tensor ", index);
    if (!qb_fb_u32(fb, buffers + 4 * (uint32_t)buf, &bpos) || bpos > fb->size - (buffers + 4 * (uint32_t)buf)) INVALID("bad buffer offset for tensor ", index);
    btable = buffers + 4 * (uint32_t)buf + bpos;
    if (!qb_fb_table_ok(fb, btable)) INVALID("bad buffer table for tensor ", index);
    if (qb_fb_vector(fb, btable, B_DATA, 1, &dp, &dn) == QB_FB_BAD) INVALID("bad buffer data for tensor ", index);
    if (!qb_fb_scalar(fb, btable, B_OFFSET, 8, 0, 0, &boff)) INVALID("bad buffer table for tensor ", index);
    if (boff > 1) { qb_errorf(it, "external buffer (offset/size) on tensor ", index, 0, 0, 0); return QB_ERR_MODEL_UNSUPPORTED; }
    if (dn != 0) {
      if (dn != t->bytes) INVALID("buffer size does not match the shape of tensor ", index);
      t->data = it->model + dp;
      t->is_const = 1;
      if (esize > 1 && ((uintptr_t)t->data & (esize < 4 ? esize - 1 : 3)) != 0) {
        qb_errorf(it, "constant data not aligned for tensor ", index, " (load the model at a 16-byte aligned address)", 0, 0);
        return QB_ERR_MODEL_UNSUPPORTED;
      }
    }
  }
  return QB_OK;
}

static qb_status read_index_list(qb_interpreter *it, const qb_fb *fb, uint32_t table, int id, int16_t *out, uint8_t *n, int32_t max, int allow_optional, int32_t op) {
  uint32_t p, c, i, v;
  if (qb_fb_vector(fb, table, id, 4, &p, &c) == QB_FB_BAD) INVALID("bad tensor index list at op ", op);
  if ((int32_t)c > max) { qb_errorf(it, "too many inputs/outputs at op ", op, 0, 0, 0); return QB_ERR_MODEL_UNSUPPORTED; }
  for (i = 0; i < c; i++) {
    int32_t s;
    if (!qb_fb_u32(fb, p + 4 * i, &v)) INVALID("bad tensor index at op ", op);
    s = (int32_t)v;
    if (s < -1 || s >= it->tensor_count || (s == -1 && !allow_optional)) INVALID("tensor index out of range at op ", op);
    out[i] = (int16_t)s;
  }
  *n = (uint8_t)c;
  return QB_OK;
}

qb_status qb_read_model(qb_interpreter *it) {
  qb_fb fb;
  uint32_t root, codes, ncodes, sgs, nsg, sg, bufs, nbufs, tens, nten, ops, nops, i, pos;
  qb_status st;
  uint8_t n;
  if (it->model_bytes < 8 || it->model_bytes > 0x7FFFFFFFu) INVALID("file too small or too large: bytes ", (int32_t)it->model_bytes);
  fb.base = it->model;
  fb.size = (uint32_t)it->model_bytes;
  if (it->model[4] != 'T' || it->model[5] != 'F' || it->model[6] != 'L' || it->model[7] != '3') INVALID0("missing TFL3 file identifier");
  if (!qb_fb_u32(&fb, 0, &root) || !qb_fb_table_ok(&fb, root)) INVALID0("bad root table");
  if (qb_fb_vector(&fb, root, MODEL_OPERATOR_CODES, 4, &codes, &ncodes) == QB_FB_BAD) INVALID0("bad operator_codes");
  if (qb_fb_vector(&fb, root, MODEL_SUBGRAPHS, 4, &sgs, &nsg) == QB_FB_BAD || nsg == 0) INVALID0("no subgraph");
  if (qb_fb_vector(&fb, root, MODEL_BUFFERS, 4, &bufs, &nbufs) == QB_FB_BAD) INVALID0("bad buffers");
  if (!qb_fb_u32(&fb, sgs, &pos) || pos > fb.size - sgs || !qb_fb_table_ok(&fb, sgs + pos)) INVALID0("bad subgraph table");
  sg = sgs + pos;
  if (qb_fb_vector(&fb, sg, SG_TENSORS, 4, &tens, &nten) == QB_FB_BAD) INVALID0("bad tensors");
  if (qb_fb_vector(&fb, sg, SG_OPERATORS, 4, &ops, &nops) == QB_FB_BAD) INVALID0("bad operators");
  if (nten > QB_MAX_TENSORS) { qb_errorf(it, "too many tensors: ", (int32_t)nten, " (limit ", QB_MAX_TENSORS, ")"); return QB_ERR_MODEL_UNSUPPORTED; }
  if (nops > QB_MAX_OPS) { qb_errorf(it, "too many operators: ", (int32_t)nops, " (limit ", QB_MAX_OPS, ")"); return QB_ERR_MODEL_UNSUPPORTED; }
  it->tensor_count = (int32_t)nten;
  it->op_count = (int32_t)nops;
  for (i = 0; i < nten; i++) {
    if (!qb_fb_u32(&fb, tens + 4 * i, &pos) || pos > fb.size - (tens + 4 * i)) INVALID("bad tensor offset ", (int32_t)i);
    if ((st = read_tensor(it, &fb, tens + 4 * i + pos, bufs, nbufs, (int32_t)i)) != QB_OK) return st;
  }
  if ((st = read_index_list(it, &fb, sg, SG_INPUTS, it->inputs, &n, QB_MAX_IO, 0, -1)) != QB_OK) return st;
  it->input_count = n;
  if ((st = read_index_list(it, &fb, sg, SG_OUTPUTS, it->outputs, &n, QB_MAX_IO, 0, -1)) != QB_OK) return st;
  it->output_count = n;
  for (i = 0; i < nops; i++) {
    qb_op *op = &it->ops[i];
    uint32_t ot, ct, opt;
    int64_t idx, dep, bi;
    if (!qb_fb_u32(&fb, ops + 4 * i, &pos) || pos > fb.size - (ops + 4 * i)) INVALID("bad operator offset ", (int32_t)i);
    ot = ops + 4 * i + pos;
    if (!qb_fb_table_ok(&fb, ot)) INVALID("bad operator table ", (int32_t)i);
    if (!qb_fb_scalar(&fb, ot, OP_OPCODE, 4, 0, 0, &idx) || (uint64_t)idx >= ncodes) INVALID("opcode index out of range at op ", (int32_t)i);
    if (!qb_fb_u32(&fb, codes + 4 * (uint32_t)idx, &pos) || pos > fb.size - (codes + 4 * (uint32_t)idx)) INVALID("bad operator code at op ", (int32_t)i);
    ct = codes + 4 * (uint32_t)idx + pos;
    if (!qb_fb_table_ok(&fb, ct)) INVALID("bad operator code table at op ", (int32_t)i);
    if (!qb_fb_scalar(&fb, ct, OPCODE_DEPRECATED, 1, 0, 1, &dep) || !qb_fb_scalar(&fb, ct, OPCODE_BUILTIN, 4, 0, 1, &bi)) INVALID("bad operator code at op ", (int32_t)i);
    /* Files from before builtin_code existed only fill the deprecated byte; newer ones keep
     * it at 127 for codes above 127, so the larger of the two is the real code. */
    op->code = (int32_t)(dep > bi ? dep : bi);
    if (qb_fb_field(&fb, ct, OPCODE_CUSTOM, 4) != 0) { qb_errorf(it, "custom operator at op ", (int32_t)i, 0, 0, 0); return QB_ERR_MODEL_UNSUPPORTED; }
    if (!is_supported(op->code)) { qb_errorf(it, "unsupported builtin operator ", op->code, " at op ", (int32_t)i, 0); return QB_ERR_MODEL_UNSUPPORTED; }
    if ((st = read_index_list(it, &fb, ot, OP_INPUTS, op->in, &op->n_in, QB_MAX_IO, 1, (int32_t)i)) != QB_OK) return st;
    if ((st = read_index_list(it, &fb, ot, OP_OUTPUTS, op->out, &op->n_out, QB_MAX_IO, 0, (int32_t)i)) != QB_OK) return st;
    if (op->n_in < 1 || op->n_out < 1) INVALID("operator without inputs or outputs at op ", (int32_t)i);
    if (op->in[0] < 0) INVALID("missing first input at op ", (int32_t)i);
    opt = qb_fb_subtable(&fb, ot, OP_OPTIONS);
    if (opt == QB_FB_BAD) INVALID("bad builtin options at op ", (int32_t)i);
    op->options = opt;
  }
  return QB_OK;
}

int32_t qb_opt_int(const qb_interpreter *it, const qb_op *op, int field, int32_t dflt, int bytes) {
  qb_fb fb;
  int64_t v;
  if (op->options == 0) return dflt;
  fb.base = it->model;
  fb.size = (uint32_t)it->model_bytes;
  /* A field that does not fit its table is reported by the caller through the sentinel. */
  if (!qb_fb_scalar(&fb, op->options, field, (uint32_t)bytes, dflt, 1, &v)) return INT32_MIN;
  return (int32_t)v;
}

float qb_opt_float(const qb_interpreter *it, const qb_op *op, int field, float dflt) {
  qb_fb fb;
  uint32_t pos, bits;
  if (op->options == 0) return dflt;
  fb.base = it->model;
  fb.size = (uint32_t)it->model_bytes;
  pos = qb_fb_field(&fb, op->options, field, 4);
  if (pos == 0) return dflt;
  if (pos == QB_FB_BAD || !qb_fb_u32(&fb, pos, &bits)) return bits_to_float(0x7FC00000u); /* NaN: rejected by callers */
  return bits_to_float(bits);
}
