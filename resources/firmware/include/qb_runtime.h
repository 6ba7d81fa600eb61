/*
 * Quantbench int8/float32 inference runtime: the public API.
 *
 * Portable C99, no heap: the caller owns the model bytes and the arena. Every call
 * returns a qb_status; qb_status_string() turns it into words. The same API is used by
 * the host build (virtual board, tests), the wasm build (desktop evaluation), the
 * Cortex-M4 build (QEMU mps2-an386) and the Arduino sketch.
 */
#ifndef QB_RUNTIME_H
#define QB_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QB_RUNTIME_VERSION_MAJOR 0
#define QB_RUNTIME_VERSION_MINOR 1

typedef enum {
  QB_OK = 0,
  QB_ERR_MODEL_INVALID,      /* not a .tflite, or an offset/size points outside the file */
  QB_ERR_MODEL_UNSUPPORTED,  /* valid .tflite using an op, type or option we do not run */
  QB_ERR_ARENA_TOO_SMALL,    /* arena smaller than qb_arena_required() */
  QB_ERR_BAD_ARGUMENT,       /* index out of range, wrong byte count, NULL pointer */
  QB_ERR_NOT_LOADED,         /* invoke/get before a successful qb_load */
  QB_ERR_KERNEL              /* a kernel refused its inputs (shape mismatch at run time) */
} qb_status;

typedef enum { QB_TYPE_FLOAT32 = 0, QB_TYPE_INT8 = 1, QB_TYPE_INT32 = 2, QB_TYPE_UINT8 = 3, QB_TYPE_INT16 = 4, QB_TYPE_INT64 = 5 } qb_type;

/* Describes one model input or output as the host sees it. */
typedef struct {
  qb_type type;
  int32_t rank;
  int32_t dims[6];
  uint32_t bytes;
  float scale;       /* 0 when not quantized */
  int32_t zero_point;
} qb_tensor_info;

/* Opaque interpreter state; its size is fixed so the caller can place it statically. */
typedef struct qb_interpreter qb_interpreter;
size_t qb_interpreter_size(void);

/* Parses and validates the model; `model` must stay alive and unchanged while loaded.
 * Plans the arena; no arena is needed yet. `model` should be 4-byte aligned (16 preferred). */
qb_status qb_load(qb_interpreter *it, const uint8_t *model, size_t model_bytes);

/* Bytes of arena the loaded model needs (activations and scratch, after lifetime reuse). */
size_t qb_arena_required(const qb_interpreter *it);

/* Hands the arena over; must be at least qb_arena_required() bytes, 16-byte aligned. */
qb_status qb_set_arena(qb_interpreter *it, uint8_t *arena, size_t arena_bytes);

int32_t qb_input_count(const qb_interpreter *it);
int32_t qb_output_count(const qb_interpreter *it);
qb_status qb_input_info(const qb_interpreter *it, int32_t index, qb_tensor_info *info);
qb_status qb_output_info(const qb_interpreter *it, int32_t index, qb_tensor_info *info);

/* Copies exactly info.bytes bytes in or out (raw tensor bytes, little-endian). */
qb_status qb_set_input(qb_interpreter *it, int32_t index, const void *data, size_t bytes);
qb_status qb_invoke(qb_interpreter *it);
qb_status qb_get_output(const qb_interpreter *it, int32_t index, void *data, size_t bytes);

/* One operator of the loaded graph, in execution order: what a per-layer profile reports
 * beside its time. Output offset and size are the first output's place in the arena. */
typedef struct {
  int32_t code;            /* TFLite builtin operator code */
  int32_t output_count;
  uint32_t output_offset;  /* byte offset in the arena; 0 for a constant output */
  uint32_t output_bytes;
  int32_t output_const;    /* 1 when the first output is a constant (lives in the model) */
} qb_op_info;

int32_t qb_op_count(const qb_interpreter *it);
qb_status qb_get_op_info(const qb_interpreter *it, int32_t index, qb_op_info *info);

/* Optional observer called by qb_invoke after each operator with its index (e.g. to read a
 * cycle counter). Off (NULL) by default and cleared by qb_load; while it is off qb_invoke
 * runs the plain loop, so ordinary inference pays nothing for it. */
typedef void (*qb_op_observer)(void *context, int32_t op_index);
void qb_set_op_observer(qb_interpreter *it, qb_op_observer observer, void *context);

/* Number of operators and the builtin op codes the runtime supports (for "hello"). */
int32_t qb_supported_ops(const int32_t **codes);

const char *qb_status_string(qb_status status);
/* Detail of the last error (op index and name, tensor index, ...), never NULL. */
const char *qb_last_error(const qb_interpreter *it);

#ifdef __cplusplus
}
#endif
#endif
