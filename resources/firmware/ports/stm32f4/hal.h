/*
 * Register-level board support for STM32F4 boards (no vendor HAL): system clock from the
 * PLL, one USART for the board protocol, and a 64-bit cycle counter.
 *
 * Which board the image is for is a build define (see port.mk):
 *   QB_STM32_BOARD_NAME  reported in HELLO, e.g. "nucleo-f446re"
 *   QB_STM32_USART       1 (PA9 TX, PA10 RX) or 2 (PA2 TX, PA3 RX: the ST-LINK virtual
 *                        COM port on Nucleo-64 boards)
 *   QB_STM32_SYSCLK_MHZ  PLL target: 100 (F411) or 168 (F405/F407/F446)
 */
#ifndef QB_STM32F4_HAL_H
#define QB_STM32F4_HAL_H

#include <stddef.h>
#include <stdint.h>

#ifndef QB_STM32_USART
#define QB_STM32_USART 2
#endif
#ifndef QB_STM32_SYSCLK_MHZ
#define QB_STM32_SYSCLK_MHZ 168
#endif
#ifndef QB_STM32_BAUD
#define QB_STM32_BAUD 115200u
#endif
/* The core clock of an emulator that does not model the RCC (QEMU's netduinoplus2 runs
 * its STM32F405 at a fixed 168 MHz): what SysTick counts there. */
#ifndef QB_STM32_UNMODELLED_RCC_HZ
#define QB_STM32_UNMODELLED_RCC_HZ 168000000u
#endif

/* Sets up flash wait states, caches and the PLL; returns the core clock in Hz. Falls
 * back to the 16 MHz HSI when the PLL does not lock within a bounded wait. */
uint32_t clock_init(void);

/* The USART named by QB_STM32_USART at QB_STM32_BAUD on its pins. */
void uart_init(uint32_t core_hz);
void uart_write(const void *data, size_t bytes);
void uart_puts(const char *s);
/* Returns the next received byte, or -1 when none is waiting. */
int uart_getc_nonblocking(void);
/* Sleeps until something happens (a byte, a timer tick) when no byte is waiting. */
void uart_wait(void);

/* Starts the cycle counter: DWT CYCCNT where the core has one that counts, else SysTick
 * at the core clock. Both count core clock cycles. */
void cycles_init(void);
uint64_t hal_cycles(void);
/* 1 when hal_cycles() reads DWT CYCCNT, 0 when it reads SysTick. */
int cycles_from_dwt(void);

#endif
