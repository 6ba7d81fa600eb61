#include "hal.h"

#define UART0_BASE 0x40004000u
#define UART_DATA (*(volatile uint32_t *)(UART0_BASE + 0x0))
#define UART_STATE (*(volatile uint32_t *)(UART0_BASE + 0x4))
#define UART_CTRL (*(volatile uint32_t *)(UART0_BASE + 0x8))
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x10))
#define UART_STATE_TX_FULL 1u
#define UART_STATE_RX_FULL 2u

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
/* 24 bits, the counter's width. A test image sets a short period so that every operator
 * of a profile spans many wraps (tests/device/profile.test.ts). */
#ifndef SYST_RELOAD
#define SYST_RELOAD 0xFFFFFFu
#endif

static volatile uint32_t systick_wraps;

void uart_init(void) {
  UART_BAUDDIV = 16; /* the smallest divisor the CMSDK UART accepts */
  UART_CTRL = 3u;    /* TX and RX enable */
}

void uart_putc(char c) {
  while (UART_STATE & UART_STATE_TX_FULL) {
  }
  UART_DATA = (uint8_t)c;
}

void uart_write(const void *data, size_t bytes) {
  const char *p = (const char *)data;
  while (bytes--) uart_putc(*p++);
}

void uart_puts(const char *s) {
  while (*s) uart_putc(*s++);
}

int uart_getc_nonblocking(void) {
  if (!(UART_STATE & UART_STATE_RX_FULL)) return -1;
  return (int)(UART_DATA & 0xFFu);
}

size_t uart_read(void *data, size_t bytes, uint64_t timeout_ticks) {
  uint8_t *p = (uint8_t *)data;
  size_t n = 0;
  while (n < bytes) {
    uint64_t start = hal_ticks();
    int c;
    while ((c = uart_getc_nonblocking()) < 0) {
      if (hal_ticks() - start > timeout_ticks) return n;
    }
    p[n++] = (uint8_t)c;
  }
  return n;
}

void SysTick_Handler(void) { systick_wraps++; }

void systick_init(void) {
  SYST_RVR = SYST_RELOAD;
  SYST_CVR = 0;
  SYST_CSR = 7u; /* processor clock, interrupt on wrap, enable */
}

uint64_t hal_ticks(void) {
  uint32_t wraps, value;
  /* Re-read when a wrap lands between the two reads. */
  do {
    wraps = systick_wraps;
    value = SYST_CVR;
  } while (wraps != systick_wraps);
  return (uint64_t)wraps * (SYST_RELOAD + 1u) + (SYST_RELOAD - value);
}

void hal_exit(int code) {
  /* SYS_EXIT_EXTENDED with ADP_Stopped_ApplicationExit and the exit code */
  volatile uint32_t block[2];
  block[0] = 0x20026u;
  block[1] = (uint32_t)code;
  __asm__ volatile("mov r0, #0x20\n mov r1, %0\n bkpt 0xab" : : "r"(block) : "r0", "r1", "memory");
  for (;;) {
  }
}
