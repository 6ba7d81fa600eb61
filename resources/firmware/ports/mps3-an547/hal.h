#ifndef QB_AN547_HAL_H
#define QB_AN547_HAL_H

#include <stddef.h>
#include <stdint.h>

#define HAL_CPU_HZ 32000000u /* the SSE-300 system clock QEMU models for AN547 */

void uart_init(void);
void uart_write(const void *data, size_t bytes);
void uart_puts(const char *s);
/* Returns the next received byte, or -1 when none is waiting. */
int uart_getc_nonblocking(void);
/* Sleeps until something happens (a byte, a timer tick) when no byte is waiting. */
void uart_wait(void);

void systick_init(void);
/* Core clock ticks since systick_init, 64-bit (counting wraps of the 24-bit timer). */
uint64_t hal_ticks(void);

#endif
