/* Vector table and reset handler for the Cortex-M55 of mps3-an547: the table sits at the
 * start of the ITCM (0x0), where the Secure VTOR points out of reset. SysTick and the
 * UART0 RX interrupt (IRQ 33) are the only ones used. */
#include <stdint.h>

extern uint32_t _estack, _sidata, _sdata, _edata, _sbss, _ebss;
extern int main(void);
void Reset_Handler(void);
void SysTick_Handler(void);
void UART0RX_Handler(void);

static void Default_Handler(void) {
  for (;;) {
  }
}

void NMI_Handler(void) __attribute__((weak, alias("Default_Handler")));
void HardFault_Handler(void) __attribute__((weak, alias("Default_Handler")));

__attribute__((section(".isr_vector"), used)) void (*const vector_table[16 + 34])(void) = {
  (void (*)(void))(uintptr_t)&_estack,
  Reset_Handler,
  NMI_Handler,
  HardFault_Handler,
  Default_Handler, /* MemManage */
  Default_Handler, /* BusFault */
  Default_Handler, /* UsageFault */
  Default_Handler, /* SecureFault */
  0, 0, 0,
  Default_Handler, /* SVCall */
  Default_Handler, /* DebugMon */
  0,
  Default_Handler, /* PendSV */
  SysTick_Handler,
  [16 + 33] = UART0RX_Handler,
};

void Reset_Handler(void) {
  uint32_t *src = &_sidata, *dst = &_sdata;
  while (dst < &_edata) *dst++ = *src++;
  for (dst = &_sbss; dst < &_ebss;) *dst++ = 0;
  /* CPACR: full access to CP10/CP11, which covers both the FPU and MVE */
  *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
  *(volatile uint32_t *)0xE000ED08u = (uint32_t)(uintptr_t)vector_table;
  __asm__ volatile("dsb\n isb");
  main();
  for (;;) {
  }
}

/* gcc may emit calls to these for struct copies and loops; there is no libc on the board. */
void *memcpy(void *dst, const void *src, unsigned int n) {
  unsigned char *d = (unsigned char *)dst;
  const unsigned char *s = (const unsigned char *)src;
  while (n--) *d++ = *s++;
  return dst;
}

void *memset(void *dst, int v, unsigned int n) {
  unsigned char *d = (unsigned char *)dst;
  while (n--) *d++ = (unsigned char)v;
  return dst;
}
