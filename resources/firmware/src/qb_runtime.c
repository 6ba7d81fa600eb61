/* The public API: load, plan, bind the arena, copy tensors in and out, invoke. */
#include "qb_internal.h"

void qb_copy(void *dst, const void *src, size_t n) {
  uint8_t *d = (uint8_t *)dst;
  const uint8_t *s = (const uint8_t *)src;
  while (n--) *d++ = *s++;
}

void qb_fill(void *dst, uint8_t v, size_t n) {
  uint8_t *d = (uint8_t *)dst;
  while (n--) *d++ = v;
}

static size_t append(char *buf, size_t at, size_t cap, const char *s) {
  while (s && *s && at + 1 < cap) buf[at++] = *s++;
  buf[at] = 0;
  return at;
}

static size_t append_int(char *buf, size_t at, size_t cap, int32_t v) {
  char tmp[12];
  int n = 0;
  uint32_t u = v < 0 ? (uint32_t)0 - (uint32_t)v : (uint32_t)v;
  do { tmp[n++] = (char)('0' + u % 10); u /= 10; } while (u);
  if (v < 0 && at + 1 < cap) buf[at++] = '-';
  while (n && at + 1 < cap) buf[at++] = tmp[--n];
  buf[at] = 0;
  return at;
}

void qb_error(qb_interpreter *it, const char *msg) { append(it->error, 0, sizeof it->error, msg); }

void qb_errorf(qb_interpreter *it, const char *a, int32_t n1, const char *b, int32_t n2, const char *c) {
  size_t at = 0, cap = sizeof it->error;
  at = append(it->error, at, cap, a);
  at = append_int(it->error, at, cap, n1);
  if (b) {
    at = append(it->error, at, cap, b);
    at = append_int(it->error, at, cap, n2);
  }
  append(it->error, at, cap, c);
}

size_t qb_interpreter_size(void) { return sizeof(qb_interpreter); }

qb_status qb_load(qb_interpreter *it, const uint8_t *model, size_t model_bytes) {
  qb_status st;
  if (!it) return QB_ERR_BAD_ARGUMENT;
  qb_fill(it, 0, sizeof *it);
  if (!model) {
    append(it->error, 0, sizeof it->error, "model pointer is NULL");
    return QB_ERR_BAD_ARGUMENT;
  }
  if (((uintptr_t)model & 3u) != 0) {
    append(it->error, 0, sizeof it->error, "model must be loaded at a 4-byte aligned address");
    return QB_ERR_BAD_ARGUMENT;
  }
  it->model = model;
  it->model_bytes = model_bytes;
  if ((st = qb_read_model(it)) != QB_OK) return st;
  if ((st = qb_plan(it)) != QB_OK) return st;
  it->loaded = 1;
  it->error[0] = 0;
  return QB_OK;
}

size_t qb_arena_required(const qb_interpreter *it) { return it && it->loaded ? it->arena_required : 0; }

qb_status qb_set_arena(qb_interpreter *it, uint8_t *arena, size_t arena_bytes) {
  if (!it || !it->loaded) return QB_ERR_NOT_LOADED;
  if (!arena || ((uintptr_t)arena & (QB_ARENA_ALIGN - 1)) != 0) {
    append(it->error, 0, sizeof it->error, "arena must be 16-byte aligned");
    return QB_ERR_BAD_ARGUMENT;
  }
  if (arena_bytes < it->arena_required) {
    qb_errorf(it, "arena has ", (int32_t)arena_bytes, " bytes, model needs ", (int32_t)it->arena_required, 0);
    return QB_ERR_ARENA_TOO_SMALL;
  }
  it->arena = arena;
  it->arena_bytes = arena_bytes;
  qb_prepare(it);
  return QB_OK;
}

int32_t qb_input_count(const qb_interpreter *it) { return it && it->loaded ? it->input_count : 0; }
int32_t qb_output_count(const qb_interpreter *it) { return it && it->loaded ? it->output_count : 0; }

static void fill_info(const qb_tensor *t, qb_tensor_info *info) {
  int i;
  info->type = (qb_type)t->type;
  info->rank = t->rank;
  for (i = 0; i < QB_MAX_RANK; i++) info->dims[i] = i < t->rank ? t->dims[i] : 0;
  info->bytes = t->bytes;
  info->scale = t->scale;
  info->zero_point = t->zero_point;
}

qb_status qb_input_info(const qb_interpreter *it, int32_t index, qb_tensor_info *info) {
  if (!it || !it->loaded) return QB_ERR_NOT_LOADED;
  if (!info || index < 0 || index >= it->input_count) return QB_ERR_BAD_ARGUMENT;
  fill_info(&it->tensors[it->inputs[index]], info);
  return QB_OK;
}

qb_status qb_output_info(const qb_interpreter *it, int32_t index, qb_tensor_info *info) {
  if (!it || !it->loaded) return QB_ERR_NOT_LOADED;
  if (!info || index < 0 || index >= it->output_count) return QB_ERR_BAD_ARGUMENT;
  fill_info(&it->tensors[it->outputs[index]], info);
  return QB_OK;
}

qb_status qb_set_input(qb_interpreter *it, int32_t index, const void *data, size_t bytes) {
  const qb_tensor *t;
  if (!it || !it->loaded) return QB_ERR_NOT_LOADED;
  if (!it->arena) {
    append(it->error, 0, sizeof it->error, "no arena: call qb_set_arena first");
    return QB_ERR_NOT_LOADED;
  }
  if (index < 0 || index >= it->input_count || !data) {
    qb_errorf(it, "no input ", index, 0, 0, 0);
    return QB_ERR_BAD_ARGUMENT;
  }
  t = &it->tensors[it->inputs[index]];
  if (bytes != t->bytes) {
    qb_errorf(it, "input ", index, " takes bytes: ", (int32_t)t->bytes, 0);
    return QB_ERR_BAD_ARGUMENT;
  }
  qb_copy(qb_tensor_data(it, t), data, bytes);
  return QB_OK;
}

qb_status qb_invoke(qb_interpreter *it) {
  int32_t i;
  qb_status st;
  if (!it || !it->loaded) return QB_ERR_NOT_LOADED;
  if (!it->arena) {
    append(it->error, 0, sizeof it->error, "no arena: call qb_set_arena first");
    return QB_ERR_NOT_LOADED;
  }
  if (!it->observer) {
    for (i = 0; i < it->op_count; i++) {
#if QB_FUSE_ISLANDS
      if (it->ops[i].code == QB_OP_DEQUANTIZE) {
        int32_t fused = qb_run_island(it, i);
        if (fused) {
          i += fused - 1;
          continue;
        }
      }
#endif
      if ((st = qb_run_op(it, i)) != QB_OK) return st;
    }
    return QB_OK;
  }
  /* With an observer every op runs on its own, so each one's output is there to look at. */
  for (i = 0; i < it->op_count; i++) {
    if ((st = qb_run_op(it, i)) != QB_OK) return st;
    it->observer(it->observer_context, i);
  }
  return QB_OK;
}

void qb_set_op_observer(qb_interpreter *it, qb_op_observer observer, void *context) {
  if (!it) return;
  it->observer = observer;
  it->observer_context = context;
}

int32_t qb_op_count(const qb_interpreter *it) { return it && it->loaded ? it->op_count : 0; }

qb_status qb_get_op_info(const qb_interpreter *it, int32_t index, qb_op_info *info) {
  const qb_op *op;
  const qb_tensor *t;
  if (!it || !it->loaded) return QB_ERR_NOT_LOADED;
  if (index < 0 || index >= it->op_count || !info) return QB_ERR_BAD_ARGUMENT;
  op = &it->ops[index];
  info->code = op->code;
  info->output_count = op->n_out;
  info->output_offset = 0;
  info->output_bytes = 0;
  info->output_const = 0;
  if (op->n_out > 0 && op->out[0] >= 0) {
    t = &it->tensors[op->out[0]];
    info->output_const = t->is_const;
    info->output_offset = t->is_const ? 0 : t->arena_offset;
    info->output_bytes = t->bytes;
  }
  return QB_OK;
}

qb_status qb_get_output(const qb_interpreter *it, int32_t index, void *data, size_t bytes) {
  const qb_tensor *t;
  if (!it || !it->loaded || !it->arena) return QB_ERR_NOT_LOADED;
  if (index < 0 || index >= it->output_count || !data) return QB_ERR_BAD_ARGUMENT;
  t = &it->tensors[it->outputs[index]];
  if (bytes != t->bytes) return QB_ERR_BAD_ARGUMENT;
  qb_copy(data, t->is_const ? t->data : it->arena + t->arena_offset, bytes);
  return QB_OK;
}

const char *qb_status_string(qb_status status) {
  switch (status) {
    case QB_OK: return "ok";
    case QB_ERR_MODEL_INVALID: return "model is not a valid .tflite file";
    case QB_ERR_MODEL_UNSUPPORTED: return "model uses an op, type or option the runtime does not support";
    case QB_ERR_ARENA_TOO_SMALL: return "arena too small";
    case QB_ERR_BAD_ARGUMENT: return "bad argument";
    case QB_ERR_NOT_LOADED: return "no model loaded";
    case QB_ERR_KERNEL: return "kernel rejected its inputs";
    default: return "unknown status";
  }
}

const char *qb_last_error(const qb_interpreter *it) { return it ? it->error : ""; }
