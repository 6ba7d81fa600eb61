/*
 * Board support for QEMU's mps3-an547 (Corstone SSE-300 with a Cortex-M55): CMSDK APB
 * UART0 and SysTick at the 32 MHz system clock. The core boots in the Secure state, so
 * the UART is reached through its Secure alias (0x5930_3000; 0x4930_3000 is the
 * Non-secure one).
 */
#include "hal.h"

#define UART0_BASE 0x59303000u
#define UART_DATA (*(volatile uint32_t *)(UART0_BASE + 0x0))
#define UART_STATE (*(volatile uint32_t *)(UART0_BASE + 0x4))
#define UART_CTRL (*(volatile uint32_t *)(UART0_BASE + 0x8))
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x10))
#define UART_STATE_TX_FULL 1u
#define UART_STATE_RX_FULL 2u

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_RELOAD 0xFFFFFFu

static volatile uint32_t systick_wraps;

void uart_init(void) {
  UART_BAUDDIV = 16; /* the smallest divisor the CMSDK UART accepts */
  UART_CTRL = 3u;    /* TX and RX enable */
}

static void uart_putc(uint8_t c) {
  while (UART_STATE & UART_STATE_TX_FULL) {
  }
  UART_DATA = c;
}

void uart_write(const void *data, size_t bytes) {
  const uint8_t *p = (const uint8_t *)data;
  while (bytes--) uart_putc(*p++);
}

void uart_puts(const char *s) {
  while (*s) uart_putc((uint8_t)*s++);
}

int uart_getc_nonblocking(void) {
  if (!(UART_STATE & UART_STATE_RX_FULL)) return -1;
  return (int)(UART_DATA & 0xFFu);
}

void SysTick_Handler(void) { systick_wraps++; }

void systick_init(void) {
  SYST_RVR = SYST_RELOAD;
  SYST_CVR = 0;
  SYST_CSR = 7u; /* processor clock, interrupt on wrap, enable */
}

uint64_t hal_ticks(void) {
  uint32_t wraps, value;
  do {
    wraps = systick_wraps;
    value = SYST_CVR;
  } while (wraps != systick_wraps);
  return (uint64_t)wraps * (SYST_RELOAD + 1u) + (SYST_RELOAD - value);
}
