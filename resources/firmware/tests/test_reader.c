#include <stdlib.h>
#include <string.h>

#include "qb_internal.h"
#include "qb_test.h"

int qb_test_plan_is_sound(const qb_interpreter *it);

static qb_interpreter it;
static uint8_t arena[1 << 20] __attribute__((aligned(16)));

static const char *const models[] = {
  "kws_ref_model.tflite", "pretrainedResnet_quant.tflite", "ad01_int8.tflite", "pretrainedResnet.tflite", "ad01_fp32.tflite",
};

/* Loads, and when that succeeds runs once on zero input; must never crash or read outside
 * `bytes` (the sanitizer build checks that). */
static qb_status load_and_run(const uint8_t *bytes, size_t n) {
  qb_status st = qb_load(&it, bytes, n);
  int32_t i;
  if (st != QB_OK) {
    CHECK(qb_last_error(&it)[0] != 0);
    return st;
  }
  if (qb_arena_required(&it) > sizeof arena) return QB_OK;
  if (qb_set_arena(&it, arena, sizeof arena) != QB_OK) return QB_ERR_ARENA_TOO_SMALL;
  for (i = 0; i < qb_input_count(&it); i++) {
    qb_tensor_info info;
    if (qb_input_info(&it, i, &info) == QB_OK && info.bytes <= sizeof arena / 2) {
      static uint8_t zeros[1 << 19];
      qb_set_input(&it, i, zeros, info.bytes);
    }
  }
  qb_invoke(&it);
  return QB_OK;
}

static uint8_t *aligned_copy(const uint8_t *src, size_t n) {
  /* exact size so the sanitizer catches a read one byte past the end; malloc aligns to 16
   * on the 64-bit hosts the tests run on */
  uint8_t *p = malloc(n ? n : 1);
  if (n) memcpy(p, src, n);
  return p;
}

void test_reader(void) {
  const char *dir = qb_test_models_dir();
  size_t k;
  uint32_t rng = 7;
  static const uint8_t garbage[16] = {0x10, 0, 0, 0, 'T', 'F', 'L', '3', 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0};
  uint8_t *tiny = aligned_copy(garbage, sizeof garbage);

  CHECK_EQ(qb_load(&it, tiny, 4), QB_ERR_MODEL_INVALID);
  CHECK_EQ(qb_load(&it, tiny, sizeof garbage), QB_ERR_MODEL_INVALID);
  CHECK_EQ(qb_load(&it, NULL, 100), QB_ERR_BAD_ARGUMENT);
  CHECK_EQ(qb_invoke(&it), QB_ERR_NOT_LOADED);
  free(tiny);

  if (!dir) {
    printf("SKIP reader tests on real models: no shared models folder given\n");
    return;
  }
  for (k = 0; k < sizeof models / sizeof models[0]; k++) {
    size_t n = 0, cut;
    uint8_t *raw = qb_test_read_file(dir, models[k], &n), *m;
    int flips;
    if (!raw) {
      printf("SKIP %s: not found in %s\n", models[k], dir);
      continue;
    }
    m = aligned_copy(raw, n);
    CHECK_EQ(qb_load(&it, m, n), QB_OK);
    CHECK(qb_arena_required(&it) > 0);
    CHECK(qb_test_plan_is_sound(&it));
    CHECK_EQ(qb_input_count(&it), 1);
    CHECK_EQ(qb_output_count(&it), 1);
    /* every truncation is rejected, never read past */
    for (cut = 0; cut < n; cut += n / 211 + 1) {
      uint8_t *t = aligned_copy(m, cut);
      CHECK(qb_load(&it, t, cut) != QB_OK);
      free(t);
    }
    /* a wrong file identifier is rejected */
    m[4] = 'X';
    CHECK_EQ(qb_load(&it, m, n), QB_ERR_MODEL_INVALID);
    m[4] = 'T';
    /* random byte corruption of the smaller models: any status, no crash, no stray read */
    if (n < 400000) {
      for (flips = 0; flips < 300; flips++) {
        uint8_t *c = aligned_copy(m, n);
        int j;
        for (j = 0; j < 4; j++) {
          rng = rng * 1664525u + 1013904223u;
          c[(rng >> 4) % n] ^= (uint8_t)(1u << ((rng >> 28) & 7));
        }
        load_and_run(c, n);
        free(c);
      }
    }
    free(m);
    free(raw);
  }
}
