/*
 * Internal types shared by the reader, the planner and the kernels. Sizes are fixed at
 * compile time so an interpreter can live in static memory (no heap anywhere).
 */
#ifndef QB_INTERNAL_H
#define QB_INTERNAL_H

#include "qb_runtime.h"

/* Arduino boards have kilobytes of RAM: smaller tables (the interpreter is static). */
#if defined(ARDUINO) && !defined(QB_MAX_TENSORS)
#define QB_MAX_TENSORS 96
#define QB_MAX_OPS 64
#endif
#ifndef QB_MAX_TENSORS
#define QB_MAX_TENSORS 256
#endif
#ifndef QB_MAX_OPS
#define QB_MAX_OPS 160
#endif
#ifndef QB_MAX_IO
#define QB_MAX_IO 8
#endif
#define QB_MAX_RANK 6
#define QB_ARENA_ALIGN 16u

/* TFLite BuiltinOperator values (schema.fbs). */
enum {
  QB_OP_ADD = 0, QB_OP_AVERAGE_POOL_2D = 1, QB_OP_CONCATENATION = 2, QB_OP_CONV_2D = 3,
  QB_OP_DEPTHWISE_CONV_2D = 4, QB_OP_DEQUANTIZE = 6, QB_OP_FULLY_CONNECTED = 9,
  QB_OP_LOGISTIC = 14, QB_OP_MAX_POOL_2D = 17, QB_OP_MUL = 18, QB_OP_RELU = 19,
  QB_OP_RELU6 = 21, QB_OP_RESHAPE = 22, QB_OP_SOFTMAX = 25, QB_OP_TANH = 28, QB_OP_PAD = 34,
  QB_OP_MEAN = 40, QB_OP_SUB = 41, QB_OP_SQUEEZE = 43, QB_OP_LEAKY_RELU = 98,
  QB_OP_QUANTIZE = 114, QB_OP_HARD_SWISH = 117
};

/* TFLite ActivationFunctionType values. */
enum { QB_ACT_NONE = 0, QB_ACT_RELU = 1, QB_ACT_RELU_N1_TO_1 = 2, QB_ACT_RELU6 = 3 };

typedef struct {
  uint8_t type;       /* qb_type */
  uint8_t rank;
  uint8_t is_const;   /* data points into the model */
  uint8_t per_axis;   /* scales_pos holds one scale per channel */
  int32_t dims[QB_MAX_RANK];
  uint32_t elements;
  uint32_t bytes;
  const uint8_t *data;  /* constant tensors only */
  uint32_t arena_offset;
  float scale;
  int32_t zero_point;
  uint32_t scales_pos;  /* file offset of the per-axis float scales */
  uint32_t scales_count;
  int32_t quantized_dimension;
  int16_t first_use;    /* op index; -1 for graph inputs */
  int16_t last_use;     /* op index; op count for graph outputs */
} qb_tensor;

typedef struct {
  int32_t code;
  uint32_t options;     /* file offset of the builtin options table, 0 when absent */
  uint8_t n_in, n_out;
  int16_t in[QB_MAX_IO];   /* -1 for an omitted optional input */
  int16_t out[QB_MAX_IO];
  uint32_t prepared;    /* arena offset of the op's prepared data (qb_prepare.c), if it has any */
} qb_op;

struct qb_interpreter {
  const uint8_t *model;
  size_t model_bytes;
  uint8_t *arena;
  size_t arena_bytes;
  size_t arena_required;
  uint32_t scratch_offset; /* per-op scratch (requantization tables), after all tensors */
  uint32_t scratch_bytes;
  int32_t loaded;
  int32_t tensor_count, op_count, input_count, output_count;
  int16_t inputs[QB_MAX_IO];
  int16_t outputs[QB_MAX_IO];
  qb_tensor tensors[QB_MAX_TENSORS];
  qb_op ops[QB_MAX_OPS];
  qb_op_observer observer;  /* per-operator profiling hook, NULL unless profiling */
  void *observer_context;
  char error[120];
};

void qb_error(qb_interpreter *it, const char *msg);
/* Bounded formatting for qb_last_error without libc. */
void qb_errorf(qb_interpreter *it, const char *a, int32_t n1, const char *b, int32_t n2, const char *c);

/* Memory helpers: the runtime provides its own so no libc is needed. */
void qb_copy(void *dst, const void *src, size_t n);
void qb_fill(void *dst, uint8_t v, size_t n);

/* Reader: fills tensors and ops from the flatbuffer, validating every access. */
qb_status qb_read_model(qb_interpreter *it);
/* Planner: assigns arena offsets by lifetime; sets arena_required. */
qb_status qb_plan(qb_interpreter *it);
/* Bytes of per-op data prepared once when the arena is bound (requantization tables,
 * folded biases), and of the scratch the op uses while it runs; see qb_prepare.c. */
uint32_t qb_prepared_bytes(const qb_interpreter *it, const qb_op *op);
uint32_t qb_scratch_bytes(const qb_interpreter *it, const qb_op *op);
/* Fills every op's prepared data; called by qb_set_arena. */
void qb_prepare(qb_interpreter *it);
/* Runs operator `index`. */
qb_status qb_run_op(qb_interpreter *it, int32_t index);

/* Desktop builds (host and wasm: compress's evaluation, the benches) run each float island
 * (DEQUANTIZE, ADD/SUB/MUL by constants, QUANTIZE) in one pass; board builds run the ops one
 * by one, so their code stays as it was. The reference build runs every op on its own. */
#ifndef QB_FUSE_ISLANDS
#if (defined(__wasm__) || defined(__x86_64__) || defined(__aarch64__)) && !defined(QB_REFERENCE_KERNELS)
#define QB_FUSE_ISLANDS 1
#else
#define QB_FUSE_ISLANDS 0
#endif
#endif
#if QB_FUSE_ISLANDS
/* When op `index` starts a float island that runs in one pass, runs it and returns how many
 * ops it covered; else 0 (nothing run: the ops go one by one). */
int32_t qb_run_island(qb_interpreter *it, int32_t index);
#endif

const char *qb_op_name(int32_t code);

/* Options table field readers (offsets validated at load time). */
int32_t qb_opt_int(const qb_interpreter *it, const qb_op *op, int field, int32_t dflt, int bytes);
float qb_opt_float(const qb_interpreter *it, const qb_op *op, int field, float dflt);
float qb_tensor_channel_scale(const qb_interpreter *it, const qb_tensor *t, int32_t channel);

static inline void *qb_tensor_data(qb_interpreter *it, const qb_tensor *t) {
  return t->is_const ? (void *)(uintptr_t)t->data : (void *)(it->arena + t->arena_offset);
}

#endif
