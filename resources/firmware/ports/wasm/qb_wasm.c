/*
 * wasm32 port: the runtime API is exported as is; JavaScript gets memory for the model,
 * the interpreter, the arena and the I/O buffers from a bump allocator above __heap_base
 * that grows linear memory on demand. No malloc: qb_wasm_reset() frees everything at once.
 */
#include <stddef.h>
#include <stdint.h>

#include "qb_runtime.h"

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
