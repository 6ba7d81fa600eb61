/*
 * Arena planner: every tensor that is not constant gets an offset; two tensors share bytes
 * only when their lifetimes (first producer or use .. last use) do not overlap. Greedy by
 * size, each placed at the lowest offset that fits between already placed neighbours,
 * which is the strategy TFLite Micro's greedy planner uses and is close to optimal for
 * chain-like graphs.
 */
#include "qb_internal.h"
#include "qb_kernels.h"

static uint32_t align_up(uint32_t v) { return (v + QB_ARENA_ALIGN - 1) & ~(QB_ARENA_ALIGN - 1); }

static int overlaps(const qb_tensor *a, const qb_tensor *b) {
  return !(a->last_use < b->first_use || b->last_use < a->first_use);
}

qb_status qb_plan(qb_interpreter *it) {
  int16_t order[QB_MAX_TENSORS];
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
    qb_tensor *t = &it->tensors[i];
    if (t->is_const || t->last_use < -1) continue;
    /* insertion sort, largest first; ties keep tensor order so plans are reproducible */
    for (j = n; j > 0 && it->tensors[order[j - 1]].bytes < t->bytes; j--) order[j] = order[j - 1];
    order[j] = (int16_t)i;
    n++;
  }
  for (i = 0; i < n; i++) {
    qb_tensor *t = &it->tensors[order[i]];
    uint32_t size = align_up(t->bytes), offset = 0;
    int moved = 1;
    /* Repeat until no placed neighbour in time overlaps [offset, offset+size). */
    while (moved) {
      moved = 0;
      for (k = 0; k < i; k++) {
        const qb_tensor *o = &it->tensors[order[k]];
        if (!overlaps(t, o)) continue;
        if (offset < o->arena_offset + align_up(o->bytes) && o->arena_offset < offset + size) {
          offset = o->arena_offset + align_up(o->bytes);
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
