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
#define UART_INTSTATUS (*(volatile uint32_t *)(UART0_BASE + 0xC))
#define UART_STATE_TX_FULL 1u
#define UART_STATE_RX_FULL 2u

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_RELOAD 0xFFFFFFu

static volatile uint32_t systick_wraps;

/* Received bytes go through the RX interrupt into a ring and the core sleeps (WFI)
 * while the line is idle, rather than spinning on the status register. */
#define RX_RING 512u
#define UART0_RX_IRQN 33u
#define NVIC_ISER(n) (*(volatile uint32_t *)(0xE000E100u + 4u * (n)))
static volatile uint8_t rx_ring[RX_RING];
static volatile uint32_t rx_head, rx_tail;

void UART0RX_Handler(void) {
  /* Cleared first: a byte arriving while the loop drains raises it again. */
  UART_INTSTATUS = 2u;
  while (UART_STATE & UART_STATE_RX_FULL) {
    uint32_t next = (rx_head + 1u) % RX_RING;
    if (next == rx_tail) {
      /* Ring full: leave the byte in the UART and stop taking interrupts, so the sender
       * is held off (QEMU waits while RX is full) until the main loop catches up. */
      UART_CTRL &= ~(1u << 3);
      break;
    }
    rx_ring[rx_head] = (uint8_t)UART_DATA;
    rx_head = next;
  }
}

void uart_init(void) {
  UART_BAUDDIV = 16; /* the smallest divisor the CMSDK UART accepts */
  UART_CTRL = 3u | (1u << 3); /* TX and RX enable, RX interrupt */
  NVIC_ISER(UART0_RX_IRQN / 32u) = 1u << (UART0_RX_IRQN % 32u);
}

void uart_wait(void) {
  /* Masked, an arriving interrupt still ends WFI; it is taken after cpsie. */
  __asm__ volatile("cpsid i" ::: "memory");
  if (rx_tail == rx_head && !(UART_STATE & UART_STATE_RX_FULL)) __asm__ volatile("wfi");
  __asm__ volatile("cpsie i" ::: "memory");
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
  if (rx_tail == rx_head) {
    /* A byte the ISR left in the UART (it stands down on a full ring). Masked, so the
     * ISR cannot take the same byte between the status check and the read. */
    int c = -1;
    __asm__ volatile("cpsid i" ::: "memory");
    if (UART_STATE & UART_STATE_RX_FULL) c = (int)(UART_DATA & 0xFFu);
    else UART_CTRL |= 1u << 3;
    __asm__ volatile("cpsie i" ::: "memory");
    return c;
  }
  uint8_t c = rx_ring[rx_tail];
  rx_tail = (rx_tail + 1u) % RX_RING;
  return c;
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
