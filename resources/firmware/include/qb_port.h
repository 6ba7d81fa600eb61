/*
 * The per-board hooks the protocol's board loop needs. A port implements these few
 * functions and owns the memory: model storage and arena are static buffers sized for
 * the board, so the protocol never allocates.
 */
#ifndef QB_PORT_H
#define QB_PORT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  const char *name;     /* e.g. "virtual", "mps2-an386" */
  const char *cpu;      /* e.g. "x86_64", "cortex-m4" */
  uint32_t cpu_hz;
  uint8_t *model;       /* model storage, 16-byte aligned */
  uint32_t model_capacity;
  uint8_t *arena;       /* runtime arena, 16-byte aligned */
  uint32_t arena_capacity;
  void *interpreter;    /* room for the runtime's qb_interpreter, 16-byte aligned */
  uint32_t interpreter_capacity; /* checked against qb_interpreter_size() */
  /* Optional (NULL: qb_port_cycles): the counter PROFILE times operators and the whole
   * inference with, in cycles at cpu_hz. A host board counts its own thread's CPU time
   * here so that other processes on a shared machine do not land inside an operator. */
  uint64_t (*profile_cycles)(void);
} qb_board_info;

const qb_board_info *qb_port_board(void);

/* Writes all bytes to the link (blocking). */
void qb_port_write(const uint8_t *data, size_t bytes);

/* Monotonic time since start. */
uint64_t qb_port_micros(void);
uint64_t qb_port_cycles(void);

#ifdef __cplusplus
}
#endif
#endif
