/*
 * qb_run MODEL.tflite INPUT.bin OUTPUT.bin
 * Feeds raw input bytes (all inputs concatenated in order), writes raw output bytes (all
 * outputs concatenated) and prints the arena size, so tests can drive the host build with
 * plain files. `qb_run --info MODEL.tflite` prints the tensors and ops instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qb_runtime.h"

static unsigned char *read_all(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  unsigned char *buf;
  long n;
  if (!f) return NULL;
  if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    return NULL;
  }
  /* 16-byte alignment so constant float/int32 buffers are aligned as the runtime requires */
  buf = aligned_alloc(16, ((size_t)n + 16) & ~(size_t)15);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *size = (size_t)n;
  return buf;
}

static void print_info(const char *what, int i, const qb_tensor_info *t) {
  int d;
  printf("%s %d type=%d shape=[", what, i, (int)t->type);
  for (d = 0; d < t->rank; d++) printf("%s%d", d ? "," : "", (int)t->dims[d]);
  printf("] bytes=%u scale=%.9g zero_point=%d\n", (unsigned)t->bytes, (double)t->scale, (int)t->zero_point);
}

int main(int argc, char **argv) {
  size_t model_size = 0, in_size = 0, arena_size, offset = 0;
  unsigned char *model, *input = NULL, *arena, *output;
  qb_interpreter *it;
  qb_status st;
  int i, info = argc == 3 && strcmp(argv[1], "--info") == 0;
  FILE *out;
  if (argc != 4 && !info) {
    fprintf(stderr, "usage: qb_run MODEL.tflite INPUT.bin OUTPUT.bin | qb_run --info MODEL.tflite\n");
    return 2;
  }
  model = read_all(argv[info ? 2 : 1], &model_size);
  if (!model) {
    fprintf(stderr, "qb_run: cannot read %s\n", argv[info ? 2 : 1]);
    return 2;
  }
  it = aligned_alloc(16, (qb_interpreter_size() + 15) & ~(size_t)15);
  st = qb_load(it, model, model_size);
  if (st != QB_OK) {
    fprintf(stderr, "qb_run: %s: %s: %s\n", argv[info ? 2 : 1], qb_status_string(st), qb_last_error(it));
    return 1;
  }
  arena_size = qb_arena_required(it);
  printf("arena_bytes %lu\n", (unsigned long)arena_size);
  if (info) {
    qb_tensor_info t;
    for (i = 0; i < qb_input_count(it); i++) qb_input_info(it, i, &t), print_info("input", i, &t);
    for (i = 0; i < qb_output_count(it); i++) qb_output_info(it, i, &t), print_info("output", i, &t);
    return 0;
  }
  input = read_all(argv[2], &in_size);
  if (!input) {
    fprintf(stderr, "qb_run: cannot read %s\n", argv[2]);
    return 2;
  }
  arena = aligned_alloc(16, (arena_size + 16) & ~(size_t)15);
  if ((st = qb_set_arena(it, arena, arena_size)) != QB_OK) goto fail;
  for (i = 0; i < qb_input_count(it); i++) {
    qb_tensor_info t;
    qb_input_info(it, i, &t);
    if (offset + t.bytes > in_size) {
      fprintf(stderr, "qb_run: %s has %lu bytes, input %d needs %u more\n", argv[2], (unsigned long)in_size, i, (unsigned)t.bytes);
      return 2;
    }
    if ((st = qb_set_input(it, i, input + offset, t.bytes)) != QB_OK) goto fail;
    offset += t.bytes;
  }
  if (offset != in_size) {
    fprintf(stderr, "qb_run: %s has %lu bytes, the model takes %lu\n", argv[2], (unsigned long)in_size, (unsigned long)offset);
    return 2;
  }
  if ((st = qb_invoke(it)) != QB_OK) goto fail;
  out = fopen(argv[3], "wb");
  if (!out) {
    fprintf(stderr, "qb_run: cannot write %s\n", argv[3]);
    return 2;
  }
  for (i = 0; i < qb_output_count(it); i++) {
    qb_tensor_info t;
    qb_output_info(it, i, &t);
    output = malloc(t.bytes ? t.bytes : 1);
    if ((st = qb_get_output(it, i, output, t.bytes)) != QB_OK) goto fail;
    if (fwrite(output, 1, t.bytes, out) != t.bytes) {
      fprintf(stderr, "qb_run: short write to %s\n", argv[3]);
      return 2;
    }
    free(output);
  }
  if (fclose(out) != 0) return 2;
  return 0;
fail:
  fprintf(stderr, "qb_run: %s\n", qb_status_string(st));
  fprintf(stderr, "qb_run: %s\n", qb_last_error(it));
  return 1;
}
