#include "test_graph.h"

#include <string.h>

void tg_init(test_graph *g) {
  memset(g, 0, sizeof *g);
  g->it.model = g->options;
  g->options_used = 16; /* offset 0 means "no options" */
}

int tg_tensor(test_graph *g, qb_type type, int rank, const int32_t *dims, float scale, int32_t zp, const void *const_data) {
  qb_tensor *t = &g->it.tensors[g->it.tensor_count];
  uint32_t size = type == QB_TYPE_FLOAT32 || type == QB_TYPE_INT32 ? 4 : 1, n = 1;
  int i;
  t->type = (uint8_t)type;
  t->rank = (uint8_t)rank;
  for (i = 0; i < rank; i++) {
    t->dims[i] = dims[i];
    n *= (uint32_t)dims[i];
  }
  t->elements = n;
  t->bytes = n * size;
  t->scale = scale;
  t->zero_point = zp;
  if (const_data) {
    t->is_const = 1;
    t->data = const_data;
  }
  return g->it.tensor_count++;
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

/* vtable | table (soffset, then one 4-byte slot per present field) */
static uint32_t opts_table(test_graph *g, int n, const int32_t *fields) {
  uint8_t *p = g->options + g->options_used;
  uint32_t vt = g->options_used, vt_size = 4 + 2 * (uint32_t)n, table, slot = 4;
  int i;
  table = (vt + vt_size + 3) & ~3u;
  p[0] = (uint8_t)vt_size;
  p[1] = 0;
  for (i = 0; i < n; i++) {
    uint16_t off = 0;
    if (fields[i] != INT32_MIN) {
      off = (uint16_t)slot;
      put32(g->options + table + slot, (uint32_t)fields[i]);
      slot += 4;
    }
    p[4 + 2 * i] = (uint8_t)off;
    p[5 + 2 * i] = (uint8_t)(off >> 8);
  }
  p[2] = (uint8_t)slot;
  p[3] = 0;
  put32(g->options + table, table - vt);
  g->options_used = table + slot;
  g->it.model_bytes = g->options_used;
  return table;
}

int tg_op(test_graph *g, int32_t code, int n_in, const int *in, int n_out, const int *out, int n_fields, const int32_t *fields) {
  qb_op *op = &g->it.ops[g->it.op_count];
  int i;
  op->code = code;
  op->n_in = (uint8_t)n_in;
  op->n_out = (uint8_t)n_out;
  for (i = 0; i < n_in; i++) op->in[i] = (int16_t)in[i];
  for (i = 0; i < n_out; i++) op->out[i] = (int16_t)out[i];
  op->options = n_fields ? opts_table(g, n_fields, fields) : 0;
  return g->it.op_count++;
}

void tg_io(test_graph *g, int n_in, const int *in, int n_out, const int *out) {
  int i;
  g->it.input_count = n_in;
  g->it.output_count = n_out;
  for (i = 0; i < n_in; i++) g->it.inputs[i] = (int16_t)in[i];
  for (i = 0; i < n_out; i++) g->it.outputs[i] = (int16_t)out[i];
}

qb_status tg_ready(test_graph *g) {
  qb_status st = qb_plan(&g->it);
  if (st != QB_OK) return st;
  g->it.loaded = 1;
  if (g->it.arena_required > sizeof g->arena) return QB_ERR_ARENA_TOO_SMALL;
  return qb_set_arena(&g->it, g->arena, sizeof g->arena);
}

void *tg_data(test_graph *g, int tensor) { return qb_tensor_data(&g->it, &g->it.tensors[tensor]); }
