#include "hal.h"

#define REG(addr) (*(volatile uint32_t *)(addr))

/* RCC (RM0383 / RM0390 section 6) */
#define RCC_BASE 0x40023800u
#define RCC_CR REG(RCC_BASE + 0x00)
#define RCC_PLLCFGR REG(RCC_BASE + 0x04)
#define RCC_CFGR REG(RCC_BASE + 0x08)
#define RCC_AHB1ENR REG(RCC_BASE + 0x30)
#define RCC_APB1ENR REG(RCC_BASE + 0x40)
#define RCC_APB2ENR REG(RCC_BASE + 0x44)
#define RCC_CR_HSIRDY (1u << 1)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define RCC_APB1ENR_PWREN (1u << 28)

#define PWR_CR REG(0x40007000u)
#define PWR_CR_VOS_SCALE1 (3u << 14)

#define FLASH_ACR REG(0x40023C00u)
#define FLASH_ACR_PRFTEN (1u << 8)
#define FLASH_ACR_ICEN (1u << 9)
#define FLASH_ACR_DCEN (1u << 10)

#define GPIOA_BASE 0x40020000u
#define GPIOA_MODER REG(GPIOA_BASE + 0x00)
#define GPIOA_OSPEEDR REG(GPIOA_BASE + 0x08)
#define GPIOA_PUPDR REG(GPIOA_BASE + 0x0C)
#define GPIOA_AFRL REG(GPIOA_BASE + 0x20)
#define GPIOA_AFRH REG(GPIOA_BASE + 0x24)

#if QB_STM32_USART == 1
#define USART_BASE 0x40011000u
#elif QB_STM32_USART == 2
#define USART_BASE 0x40004400u
#else
#error "QB_STM32_USART must be 1 or 2"
#endif
#define USART_SR REG(USART_BASE + 0x00)
#define USART_DR REG(USART_BASE + 0x04)
#define USART_BRR REG(USART_BASE + 0x08)
#define USART_CR1 REG(USART_BASE + 0x0C)
#define USART_SR_ORE (1u << 3)
#define USART_SR_RXNE (1u << 5)
#define USART_SR_TXE (1u << 7)
#define USART_CR1_RE (1u << 2)
#define USART_CR1_TE (1u << 3)
#define USART_CR1_UE (1u << 13)

#define SYST_CSR REG(0xE000E010u)
#define SYST_RVR REG(0xE000E014u)
#define SYST_CVR REG(0xE000E018u)
#define SYST_RELOAD 0xFFFFFFu
#define DEMCR REG(0xE000EDFCu)
#define DEMCR_TRCENA (1u << 24)
#define DWT_CTRL REG(0xE0001000u)
#define DWT_CYCCNT REG(0xE0001004u)
#define DWT_CTRL_NOCYCCNT (1u << 25)
#define DWT_CTRL_CYCCNTENA 1u

/* Long enough for any real PLL or clock switch (well under a millisecond), short enough
 * that an emulator whose RCC never reports ready boots without a visible delay. */
#define READY_SPINS 200000u

#define HSI_HZ 16000000u

/* Bus prescalers once on the PLL: APB1 at most 42 MHz (45 on F446, 50 on F411), APB2 at
 * most 84 MHz (90, 100). */
#if QB_STM32_SYSCLK_MHZ == 168
#define PLL_N 336u        /* 16 MHz / M=16 * N=336 = 336 MHz VCO */
#define PLL_P_BITS 0u     /* /2 -> 168 MHz */
#define PLL_Q 7u          /* 48 MHz for USB, unused here but must be valid */
#define FLASH_WAIT 5u     /* 150 < HCLK <= 168 MHz at 2.7-3.6 V */
#define PPRE1_BITS 5u     /* /4 -> 42 MHz */
#define PPRE2_BITS 4u     /* /2 -> 84 MHz */
#define APB1_DIV 4u
#define APB2_DIV 2u
#elif QB_STM32_SYSCLK_MHZ == 100
#define PLL_N 200u        /* 200 MHz VCO */
#define PLL_P_BITS 0u     /* /2 -> 100 MHz */
#define PLL_Q 4u
#define FLASH_WAIT 3u     /* 90 < HCLK <= 100 MHz at 2.7-3.6 V (F411) */
#define PPRE1_BITS 4u     /* /2 -> 50 MHz */
#define PPRE2_BITS 0u     /* /1 -> 100 MHz */
#define APB1_DIV 2u
#define APB2_DIV 1u
#else
#error "QB_STM32_SYSCLK_MHZ must be 100 or 168"
#endif
#define PLL_M 16u

static uint32_t apb1_hz = HSI_HZ, apb2_hz = HSI_HZ;
static void uart_enable_rx_interrupt(void);

static int wait_set(volatile uint32_t *reg, uint32_t mask, uint32_t value) {
  for (uint32_t i = 0; i < READY_SPINS; i++) {
    if ((*reg & mask) == value) return 1;
  }
  return 0;
}

uint32_t clock_init(void) {
  /* HSI is on and ready from reset on every STM32F4; a register that reads 0 here means
   * the RCC is not modelled (an emulator) and the core runs at whatever clock that
   * machine gives it. */
  if (!(RCC_CR & RCC_CR_HSIRDY)) {
    apb1_hz = apb2_hz = QB_STM32_UNMODELLED_RCC_HZ;
    return QB_STM32_UNMODELLED_RCC_HZ;
  }
  RCC_APB1ENR |= RCC_APB1ENR_PWREN;
  (void)RCC_APB1ENR; /* the enable takes effect before the PWR write */
  PWR_CR |= PWR_CR_VOS_SCALE1;

  /* Wait states first: the core must never run faster than the flash allows. */
  FLASH_ACR = FLASH_WAIT | FLASH_ACR_PRFTEN | FLASH_ACR_ICEN | FLASH_ACR_DCEN;
  if (!wait_set(&FLASH_ACR, 0xFu, FLASH_WAIT)) return HSI_HZ;

  RCC_CR &= ~RCC_CR_PLLON;
  /* PLL source HSI (bit 22 clear), so the image needs no crystal or ST-LINK MCO. */
  RCC_PLLCFGR = PLL_M | (PLL_N << 6) | (PLL_P_BITS << 16) | (PLL_Q << 24);
  RCC_CR |= RCC_CR_PLLON;
  if (!wait_set(&RCC_CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY)) {
    RCC_CR &= ~RCC_CR_PLLON;
    return HSI_HZ;
  }
  RCC_CFGR = (PPRE1_BITS << 10) | (PPRE2_BITS << 13); /* AHB /1, still on HSI */
  RCC_CFGR = (RCC_CFGR & ~3u) | 2u;                    /* switch to the PLL */
  if (!wait_set(&RCC_CFGR, 0xCu, 0x8u)) {
    RCC_CFGR = 0;
    return HSI_HZ;
  }
  apb1_hz = QB_STM32_SYSCLK_MHZ * 1000000u / APB1_DIV;
  apb2_hz = QB_STM32_SYSCLK_MHZ * 1000000u / APB2_DIV;
  return QB_STM32_SYSCLK_MHZ * 1000000u;
}

void uart_init(uint32_t core_hz) {
  (void)core_hz;
  RCC_AHB1ENR |= 1u; /* GPIOA */
#if QB_STM32_USART == 1
  const uint32_t tx = 9, rx = 10, pclk = apb2_hz;
  RCC_APB2ENR |= 1u << 4;
#else
  const uint32_t tx = 2, rx = 3, pclk = apb1_hz;
  RCC_APB1ENR |= 1u << 17;
#endif
  (void)RCC_AHB1ENR;
  /* Alternate function 7 (USART1/2) on both pins, high speed, pull-up on RX so a
   * disconnected line idles high instead of reading noise as start bits. */
  GPIOA_MODER = (GPIOA_MODER & ~((3u << (2 * tx)) | (3u << (2 * rx)))) | (2u << (2 * tx)) | (2u << (2 * rx));
  GPIOA_OSPEEDR |= (3u << (2 * tx)) | (3u << (2 * rx));
  GPIOA_PUPDR = (GPIOA_PUPDR & ~(3u << (2 * rx))) | (1u << (2 * rx));
  for (uint32_t pin = tx; pin <= rx; pin += rx - tx) {
    volatile uint32_t *afr = pin < 8 ? &GPIOA_AFRL : &GPIOA_AFRH;
    uint32_t shift = 4 * (pin & 7u);
    *afr = (*afr & ~(0xFu << shift)) | (7u << shift);
  }
  /* 16x oversampling: BRR holds USARTDIV * 16, rounded. */
  USART_BRR = (pclk + QB_STM32_BAUD / 2) / QB_STM32_BAUD;
  USART_CR1 = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE;
  uart_enable_rx_interrupt();
}

/* Received bytes go through an interrupt into a ring, so none is lost while the main
 * loop runs an inference or checks a frame, and the core sleeps (WFI) while the line
 * is idle instead of spinning on the status register. */
#define RX_RING 512u
static volatile uint8_t rx_ring[RX_RING];
static volatile uint32_t rx_head, rx_tail;
#if QB_STM32_USART == 1
#define USART_IRQN 37u
#else
#define USART_IRQN 38u
#endif
#define NVIC_ISER(n) REG(0xE000E100u + 4u * (n))
#define USART_CR1_RXNEIE (1u << 5)

void USART_IRQHandler(void) {
  uint32_t next = (rx_head + 1u) % RX_RING;
  if (next == rx_tail) {
    /* Ring full: stop taking interrupts and leave the byte in DR until the main loop
     * catches up (QEMU holds the sender off meanwhile; silicon may overrun, which the
     * protocol's CRC and retry absorb). */
    USART_CR1 &= ~USART_CR1_RXNEIE;
    return;
  }
  uint32_t sr = USART_SR;
  /* Reading DR after SR clears RXNE and an overrun (ORE) alike. */
  uint32_t dr = USART_DR;
  if (sr & USART_SR_RXNE) {
    rx_ring[rx_head] = (uint8_t)dr;
    rx_head = next;
  }
}

static void uart_enable_rx_interrupt(void) {
  USART_CR1 |= USART_CR1_RXNEIE;
  NVIC_ISER(USART_IRQN / 32u) = 1u << (USART_IRQN % 32u);
}

static void uart_putc(uint8_t c) {
  while (!(USART_SR & USART_SR_TXE)) {
  }
  USART_DR = c;
}

void uart_write(const void *data, size_t bytes) {
  const uint8_t *p = (const uint8_t *)data;
  while (bytes--) uart_putc(*p++);
}

void uart_puts(const char *s) {
  while (*s) uart_putc((uint8_t)*s++);
}

int uart_getc_nonblocking(void) {
  if (rx_tail == rx_head) return -1;
  uint8_t c = rx_ring[rx_tail];
  rx_tail = (rx_tail + 1u) % RX_RING;
  /* Room again: take interrupts (RXNEIE is level-triggered, so a waiting byte fires). */
  USART_CR1 |= USART_CR1_RXNEIE;
  return c;
}

void uart_wait(void) {
  /* Masked, an arriving interrupt still ends WFI; it is taken after cpsie, so a byte
   * that lands between the check and the WFI cannot leave the core asleep. */
  __asm__ volatile("cpsid i" ::: "memory");
  if (rx_tail == rx_head) __asm__ volatile("wfi");
  __asm__ volatile("cpsie i" ::: "memory");
}

/* SysTick wraps every 2^24 cycles; its interrupt extends whichever counter is in use
 * to 64 bits. DWT CYCCNT wraps every 2^32 cycles, so one sample per SysTick period
 * never misses a wrap. */
static volatile uint32_t tick_wraps;
static volatile uint32_t dwt_high, dwt_last;
static int use_dwt;

void SysTick_Handler(void) {
  if (use_dwt) {
    uint32_t now = DWT_CYCCNT;
    if (now < dwt_last) dwt_high++;
    dwt_last = now;
  }
  tick_wraps++;
}

void cycles_init(void) {
  DEMCR |= DEMCR_TRCENA;
  if (!(DWT_CTRL & DWT_CTRL_NOCYCCNT)) {
    DWT_CYCCNT = 0;
    DWT_CTRL |= DWT_CTRL_CYCCNTENA;
    for (volatile int i = 0; i < 16; i++) {
    }
    /* Cores without a working DWT (QEMU reads the block as zero) fall back to SysTick. */
    use_dwt = DWT_CYCCNT != 0;
  }
  SYST_RVR = SYST_RELOAD;
  SYST_CVR = 0;
  SYST_CSR = 7u; /* core clock, interrupt on wrap, enable */
}

int cycles_from_dwt(void) { return use_dwt; }

uint64_t hal_cycles(void) {
  uint32_t seq, hi, last, lo;
  if (use_dwt) {
    do {
      seq = tick_wraps;
      hi = dwt_high;
      last = dwt_last;
      lo = DWT_CYCCNT;
    } while (seq != tick_wraps);
    if (lo < last) hi++; /* wrapped since the last SysTick sample */
    return ((uint64_t)hi << 32) | lo;
  }
  do {
    seq = tick_wraps;
    lo = SYST_CVR;
  } while (seq != tick_wraps);
  return (uint64_t)seq * (SYST_RELOAD + 1u) + (SYST_RELOAD - lo);
}
