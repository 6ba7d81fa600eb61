/*
 * Board support for QEMU's mps2-an386 (Cortex-M4 with FPU): CMSDK APB UART0 and a
 * SysTick-based tick counter. The device protocol's board_main.c uses the same calls.
 */
#ifndef QB_MPS2_HAL_H
#define QB_MPS2_HAL_H

#include <stddef.h>
#include <stdint.h>

#define HAL_CPU_HZ 25000000u /* the MPS2 FPGA system clock QEMU models */

void uart_init(void);
void uart_putc(char c);
void uart_write(const void *data, size_t bytes);
void uart_puts(const char *s);
/* Returns the next received byte, or -1 when none is waiting. */
int uart_getc_nonblocking(void);
/* Reads up to `bytes` bytes, waiting at most `timeout_ticks` SysTick ticks between bytes;
 * returns the count read. */
size_t uart_read(void *data, size_t bytes, uint64_t timeout_ticks);

/* Starts SysTick from the processor clock; call once before hal_ticks(). */
void systick_init(void);
/* Processor clock ticks since systick_init (64-bit, counting wraps of the 24-bit timer).
 * Under `qemu -icount shift=0` one instruction takes 1 ns of virtual time, so one tick
 * at 25 MHz is 40 instructions and counts are identical run to run. */
uint64_t hal_ticks(void);

/* Ends the QEMU run through semihosting (needs -semihosting-config enable=on). */
void hal_exit(int code);

#endif
