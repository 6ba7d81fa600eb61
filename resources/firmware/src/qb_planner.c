/*
 * Arena planner: every tensor that is not constant gets an offset; two tensors share bytes
 * only when their lifetimes (first producer or use .. last use) do not overlap, or when an
 * elementwise float op computes its output in place of an input that dies there. Greedy by
 * size, each placed at the lowest offset that fits between already placed neighbours,
 * which is the strategy TFLite Micro's greedy planner uses and is close to optimal for
 * chain-like graphs.
 */
#include "qb_internal.h"
#include "qb_kernels.h"

static uint32_t align_up(uint32_t v) { return (v + QB_ARENA_ALIGN - 1) & ~(QB_ARENA_ALIGN - 1); }

/*
 * Index of the input an op may overwrite with its output, or -1. Float islands are
 * DEQUANTIZE -> MUL/ADD/SUB... -> QUANTIZE chains of full-size float32 tensors; computing
 * the elementwise ops in place keeps one float buffer per island instead of two. Safe
 * because those kernels walk input and output in the same ascending order and read
 * element i before writing it, and QUANTIZE's int8 element i (byte i) lies at or below
 * the float element i it replaces (bytes 4i..4i+3). The overwritten input must die at
 * this op, must not be a graph input (it must survive for repeated invokes) and must not
 * be broadcast (same element count as the output).
 */
static int32_t in_place_input(const qb_interpreter *it, int32_t index) {
  const qb_op *op = &it->ops[index];
  const qb_tensor *out;
  int32_t j, n_in;
  if (op->n_out != 1 || op->out[0] < 0) return -1;
  out = &it->tensors[op->out[0]];
  if (out->is_const || out->first_use != index) return -1;
  if (op->code == QB_OP_ADD || op->code == QB_OP_SUB || op->code == QB_OP_MUL) {
    if (out->type != QB_TYPE_FLOAT32) return -1;
    n_in = 2;
  } else if (op->code == QB_OP_QUANTIZE) {
    if (out->type != QB_TYPE_INT8) return -1;
    n_in = 1;
  } else {
    return -1;
  }
  if (op->n_in < n_in) return -1;
  for (j = 0; j < n_in; j++) {
    const qb_tensor *t;
    if (op->in[j] < 0) return -1;
    t = &it->tensors[op->in[j]];
    if (t->type != QB_TYPE_FLOAT32 || t->is_const || t->first_use < 0 || t->last_use != index ||
        t->elements != out->elements)
      continue;
    /* x - x or x * x: the other operand is the same tensor, still read in step. */
    return op->in[j];
  }
  return -1;
}

qb_status qb_plan(qb_interpreter *it) {
  int16_t order[QB_MAX_TENSORS];
  /* root[t]: the tensor whose bytes t shares (itself unless computed in place);
   * a root's first_use..last_use and bytes cover every tensor sharing it. */
  int16_t root[QB_MAX_TENSORS];
  uint32_t group_bytes[QB_MAX_TENSORS];
  int16_t group_last[QB_MAX_TENSORS];
  int32_t i, j, k, n = 0;
  uint32_t total = 0;
  for (i = 0; i < it->tensor_count; i++) {
    it->tensors[i].first_use = INT16_MAX;
    it->tensors[i].last_use = -2;
  }
  /* Graph inputs live through the whole invoke, so invoking again (a benchmark loop)
   * sees the same input instead of whatever a later tensor wrote over it. */
  for (i = 0; i < it->input_count; i++) {
    qb_tensor *t = &it->tensors[it->inputs[i]];
    t->first_use = -1;
    t->last_use = (int16_t)it->op_count;
  }
  for (i = 0; i < it->op_count; i++) {
    const qb_op *op = &it->ops[i];
    for (j = 0; j < op->n_in + op->n_out; j++) {
      int16_t ti = j < op->n_in ? op->in[j] : op->out[j - op->n_in];
      qb_tensor *t;
      if (ti < 0) continue;
      t = &it->tensors[ti];
      if (t->first_use > i) t->first_use = (int16_t)i;
      if (t->last_use < i) t->last_use = (int16_t)i;
    }
  }
  for (i = 0; i < it->output_count; i++) {
    qb_tensor *t = &it->tensors[it->outputs[i]];
    if (t->first_use > it->op_count) t->first_use = (int16_t)it->op_count;
    t->last_use = (int16_t)it->op_count;
  }
  for (i = 0; i < it->tensor_count; i++) {
    root[i] = (int16_t)i;
    group_bytes[i] = it->tensors[i].bytes;
    group_last[i] = it->tensors[i].last_use;
  }
  for (i = 0; i < it->op_count; i++) {
    int32_t in = in_place_input(it, i), r, out;
    if (in < 0) continue;
    out = it->ops[i].out[0];
    r = root[in];
    root[out] = (int16_t)r;
    if (it->tensors[out].bytes > group_bytes[r]) group_bytes[r] = it->tensors[out].bytes;
    if (it->tensors[out].last_use > group_last[r]) group_last[r] = it->tensors[out].last_use;
  }
  for (i = 0; i < it->tensor_count; i++) {
    qb_tensor *t = &it->tensors[i];
    if (t->is_const || t->last_use < -1 || root[i] != i) continue;
    /* insertion sort, largest first; ties keep tensor order so plans are reproducible */
    for (j = n; j > 0 && group_bytes[order[j - 1]] < group_bytes[i]; j--) order[j] = order[j - 1];
    order[j] = (int16_t)i;
    n++;
  }
  /* Roots are placed for their group's whole lifetime and largest size; a root is its
   * group's first member, so its first_use is the group's. */
  for (i = 0; i < n; i++) {
    qb_tensor *t = &it->tensors[order[i]];
    uint32_t size = align_up(group_bytes[order[i]]), offset = 0;
    int moved = 1;
    /* Repeat until no placed neighbour in time overlaps [offset, offset+size). */
    while (moved) {
      moved = 0;
      for (k = 0; k < i; k++) {
        const qb_tensor *o = &it->tensors[order[k]];
        uint32_t o_end = o->arena_offset + align_up(group_bytes[order[k]]);
        if (group_last[order[i]] < o->first_use || group_last[order[k]] < t->first_use) continue;
        if (offset < o_end && o->arena_offset < offset + size) {
          offset = o_end;
          moved = 1;
        }
      }
    }
    /* Offsets stay below 2^31 (every tensor is below 2^30 bytes), so the sums cannot wrap. */
    if ((uint64_t)offset + size > 0x7FFFFFFFu) {
      qb_errorf(it, "activations need more than 2 GB of arena at tensor ", order[i], 0, 0, 0);
      return QB_ERR_MODEL_UNSUPPORTED;
    }
    t->arena_offset = offset;
    if (offset + size > total) total = offset + size;
  }
  for (i = 0; i < it->tensor_count; i++)
    if (root[i] != i) it->tensors[i].arena_offset = it->tensors[root[i]].arena_offset;
  /* One scratch area, used by one op at a time, after every tensor. */
  it->scratch_offset = align_up(total);
  it->scratch_bytes = 0;
  for (i = 0; i < it->op_count; i++) {
    uint32_t need = qb_scratch_bytes(it, &it->ops[i]);
    if (need > it->scratch_bytes) it->scratch_bytes = need;
  }
  if ((uint64_t)it->scratch_offset + it->scratch_bytes > 0x7FFFFFFFu) {
    qb_error(it, "scratch does not fit in a 2 GB arena");
    return QB_ERR_MODEL_UNSUPPORTED;
  }
  /* Then each op's prepared data (filled by qb_prepare when the arena is bound). */
  total = it->scratch_offset + align_up(it->scratch_bytes);
  for (i = 0; i < it->op_count; i++) {
    uint32_t bytes = qb_prepared_bytes(it, &it->ops[i]);
    it->ops[i].prepared = total;
    if ((uint64_t)total + align_up(bytes) > 0x7FFFFFFFu) {
      qb_error(it, "prepared data does not fit in a 2 GB arena");
      return QB_ERR_MODEL_UNSUPPORTED;
    }
    total += align_up(bytes);
  }
  it->arena_required = total;
  return QB_OK;
}
