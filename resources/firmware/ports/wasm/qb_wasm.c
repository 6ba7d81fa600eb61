/*
 * wasm32 port: the runtime API is exported as is; JavaScript gets memory for the model,
 * the interpreter, the arena and the I/O buffers from a bump allocator above __heap_base
 * that grows linear memory on demand. No malloc: qb_wasm_reset() frees everything at once.
 */
#include <stddef.h>
#include <stdint.h>

#include "qb_internal.h"

#define EXPORT(name) __attribute__((export_name(#name)))

extern unsigned char __heap_base;
static uintptr_t heap_top;

EXPORT(qb_wasm_reset) void qb_wasm_reset(void) { heap_top = ((uintptr_t)&__heap_base + 15u) & ~(uintptr_t)15u; }

/* Returns a 16-byte aligned block of `bytes`, or 0 when linear memory cannot grow. */
EXPORT(qb_wasm_alloc) void *qb_wasm_alloc(uint32_t bytes) {
  uintptr_t start, end, have;
  if (heap_top == 0) qb_wasm_reset();
  start = heap_top;
  end = (start + bytes + 15u) & ~(uintptr_t)15u;
  if (end < start) return 0;
  have = __builtin_wasm_memory_size(0) * 65536u;
  if (end > have) {
    uintptr_t pages = (end - have + 65535u) / 65536u;
    if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) return 0;
  }
  heap_top = end;
  return (void *)start;
}

EXPORT(qb_wasm_info_bytes) uint32_t qb_wasm_info_bytes(void) { return sizeof(qb_tensor_info); }

/*
 * The arena plan of a loaded model, for the fit report: which tensors are alive at the
 * peak and where. Fills out[0..5] with the tensor's arena offset, bytes, first and last
 * use (op indices, -1 before the first op), whether it lives in the arena (not constant,
 * used), and its type. Index tensor_count gives the scratch area: offset, bytes.
 */
EXPORT(qb_wasm_tensor_count) int32_t qb_wasm_tensor_count(const qb_interpreter *it) { return it->loaded ? it->tensor_count : 0; }

EXPORT(qb_wasm_tensor_plan) int32_t qb_wasm_tensor_plan(const qb_interpreter *it, int32_t index, int32_t *out) {
  const qb_tensor *t;
  if (!it->loaded || index < 0 || index > it->tensor_count) return 0;
  if (index == it->tensor_count) {
    out[0] = (int32_t)it->scratch_offset;
    out[1] = (int32_t)it->scratch_bytes;
    out[2] = out[3] = out[4] = out[5] = 0;
    return 1;
  }
  t = &it->tensors[index];
  out[0] = (int32_t)t->arena_offset;
  out[1] = (int32_t)t->bytes;
  out[2] = t->first_use;
  out[3] = t->last_use;
  out[4] = !t->is_const && t->last_use >= -1;
  out[5] = t->type;
  return 1;
}

/* clang may turn copy and fill loops into calls to these; there is no libc to provide them. */
void *memcpy(void *dst, const void *src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  while (n--) *d++ = *s++;
  return dst;
}

void *memset(void *dst, int v, size_t n) {
  unsigned char *d = dst;
  while (n--) *d++ = (unsigned char)v;
  return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  if (d < s) {
    while (n--) *d++ = *s++;
  } else {
    while (n--) d[n] = s[n];
  }
  return dst;
}
