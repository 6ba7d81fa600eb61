/* Vector table and reset handler for STM32F4: the table sits at the start of flash
 * (0x08000000, aliased at 0x0 when booting from flash). SysTick and the protocol
 * USART's interrupt are the only ones used; the table covers the F405's 82 IRQs. */
#include <stdint.h>

extern uint32_t _estack, _sidata, _sdata, _edata, _sbss, _ebss;
extern int main(void);
void Reset_Handler(void);
void SysTick_Handler(void);
void USART_IRQHandler(void);

static void Default_Handler(void) {
  for (;;) {
  }
}

void NMI_Handler(void) __attribute__((weak, alias("Default_Handler")));
void HardFault_Handler(void) __attribute__((weak, alias("Default_Handler")));

__attribute__((section(".isr_vector"), used)) void (*const vector_table[16 + 82])(void) = {
  (void (*)(void))(uintptr_t)&_estack,
  Reset_Handler,
  NMI_Handler,
  HardFault_Handler,
  Default_Handler, /* MemManage */
  Default_Handler, /* BusFault */
  Default_Handler, /* UsageFault */
  0, 0, 0, 0,
  Default_Handler, /* SVCall */
  Default_Handler, /* DebugMon */
  0,
  Default_Handler, /* PendSV */
  SysTick_Handler,
  [16 + 37] = USART_IRQHandler, /* USART1 */
  [16 + 38] = USART_IRQHandler, /* USART2 */
};

void Reset_Handler(void) {
  uint32_t *src = &_sidata, *dst = &_sdata;
  while (dst < &_edata) *dst++ = *src++;
  for (dst = &_sbss; dst < &_ebss;) *dst++ = 0;
  /* CPACR: full access to CP10/CP11 so the hard-float code can run */
  *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
  /* VTOR: the table where this image was linked, whichever way the board booted (a
   * debugger may start it by setting PC without a reset through the 0x0 alias). */
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
