/*
 * The fast-kernel equivalence cases on the Cortex-M4 image (DSP kernels) under QEMU
 * mps2-an386. Prints on UART0:
 *   checks <n> failed <m>
 *   fail <line of test_fast_kernels.c>   (one per failure, the first 20)
 * and exits QEMU with status 0 only when every check passed.
 */
#include "hal.h"
#include "test_fast_kernels.h"

int qb_test_failures, qb_test_checks;

static void put_u32(uint32_t v) {
  char tmp[11];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) uart_putc(tmp[--n]);
}

void qb_fast_check_failed(int line) {
  if (qb_test_failures > 20) return;
  uart_puts("fail ");
  put_u32((uint32_t)line);
  uart_puts("\n");
}

#ifndef QB_FAST_ROUNDS
#define QB_FAST_ROUNDS 1500
#endif

int main(void) {
  uart_init();
  qb_fast_kernel_cases(QB_FAST_ROUNDS);
  uart_puts("checks ");
  put_u32((uint32_t)qb_test_checks);
  uart_puts(" failed ");
  put_u32((uint32_t)qb_test_failures);
  uart_puts("\n");
  hal_exit(qb_test_failures ? 1 : 0);
  return 0;
}
