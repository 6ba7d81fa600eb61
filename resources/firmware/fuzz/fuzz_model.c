/*
 * libFuzzer harness: any byte string given to qb_load must produce a status, never a
 * crash or an out-of-bounds read; a model that loads must also invoke safely. Built with
 * -fsanitize=fuzzer,address,undefined (see the Makefile's fuzz target).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qb_runtime.h"

#define ARENA_LIMIT (1u << 20)

static uint64_t interpreter_storage[(64 * 1024) / 8];
static uint8_t arena[ARENA_LIMIT] __attribute__((aligned(16)));
static uint8_t zeros[ARENA_LIMIT];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  qb_interpreter *it = (qb_interpreter *)interpreter_storage;
  /* an exact-size copy (malloc aligns to 16) so AddressSanitizer sees every stray read */
  uint8_t *model = malloc(size ? size : 1);
  int32_t i;
  if (qb_interpreter_size() > sizeof interpreter_storage) abort();
  if (size) memcpy(model, data, size);
  if (qb_load(it, model, size) == QB_OK && qb_arena_required(it) <= ARENA_LIMIT &&
      qb_set_arena(it, arena, sizeof arena) == QB_OK) {
    for (i = 0; i < qb_input_count(it); i++) {
      qb_tensor_info info;
      if (qb_input_info(it, i, &info) == QB_OK && info.bytes <= sizeof zeros) qb_set_input(it, i, zeros, info.bytes);
    }
    qb_invoke(it);
  }
  if (qb_last_error(it) == NULL) abort();
  free(model);
  return 0;
}
