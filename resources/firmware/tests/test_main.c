#include <stdlib.h>
#include <string.h>

#include "qb_test.h"
#include "test_fast_kernels.h"

int qb_test_failures, qb_test_checks;
static const char *models_dir;

const char *qb_test_models_dir(void) { return models_dir; }

unsigned char *qb_test_read_file(const char *dir, const char *name, size_t *size) {
  char path[1024];
  FILE *f;
  long n;
  unsigned char *buf;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  /* exact-size allocation so AddressSanitizer flags any read past the end */
  buf = malloc((size_t)n);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *size = (size_t)n;
  return buf;
}

void qb_fast_check_failed(int line) { fprintf(stderr, "test_fast_kernels.c:%d: CHECK failed\n", line); }

void test_fast_kernels(void) { qb_fast_kernel_cases(3000); }

int main(int argc, char **argv) {
  models_dir = argc > 1 ? argv[1] : getenv("QUANTBENCH_SHARED_MODELS");
  test_fixedpoint();
  test_planner();
  test_kernels();
  test_fast_kernels();
  test_reader();
  fflush(stderr);
  printf("\n%d checks, %d failed\n", qb_test_checks, qb_test_failures);
  return qb_test_failures ? 1 : 0;
}
