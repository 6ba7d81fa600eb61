/* The fast-kernel equivalence cases, shared by the host test binary and the wasm and
 * Cortex-M4 runners in tests/targets/ (each counts checks its own way). */
#ifndef QB_TEST_FAST_KERNELS_H
#define QB_TEST_FAST_KERNELS_H

#include <stdint.h>

extern int qb_test_failures, qb_test_checks;
/* Reports a failed check at a line of test_fast_kernels.c. */
void qb_fast_check_failed(int line);

#define QB_CHECK(cond)                       \
  do {                                       \
    qb_test_checks++;                        \
    if (!(cond)) {                           \
      qb_test_failures++;                    \
      qb_fast_check_failed(__LINE__);        \
    }                                        \
  } while (0)

/* Runs `rounds` random cases of each fast kernel against its reference. */
void qb_fast_kernel_cases(int32_t rounds);

#endif
