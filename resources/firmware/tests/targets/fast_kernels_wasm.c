/*
 * The fast-kernel equivalence cases in a wasm module built like qb_runtime_simd.wasm
 * (-msimd128, so the SIMD128 kernels run). JavaScript calls qb_fast_run(rounds), then
 * reads the counts and the first failing line of test_fast_kernels.c.
 */
#include "test_fast_kernels.h"

#define EXPORT(name) __attribute__((export_name(#name)))

int qb_test_failures, qb_test_checks;
static int first_failure;

void qb_fast_check_failed(int line) {
  if (!first_failure) first_failure = line;
}

EXPORT(qb_fast_run) int qb_fast_run(int rounds) {
  qb_fast_kernel_cases(rounds);
  return qb_test_failures;
}
EXPORT(qb_fast_checks) int qb_fast_checks(void) { return qb_test_checks; }
EXPORT(qb_fast_first_failure) int qb_fast_first_failure(void) { return first_failure; }
