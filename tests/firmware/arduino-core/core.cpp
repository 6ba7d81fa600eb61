// A minimal Arduino core for the nRF52840 (Nano 33 BLE): Serial on UARTE0 with EasyDMA,
// micros() from the DWT cycle counter, and main() calling setup() then loop(). Enough
// for the Quantbench sketches to link into an image with the board's memory map.
#include <Arduino.h>

#define REG(a) (*(volatile uint32_t *)(a))
#define UARTE0 0x40002000u
#define UARTE_TASKS_STARTRX REG(UARTE0 + 0x000)
#define UARTE_TASKS_STARTTX REG(UARTE0 + 0x008)
#define UARTE_EVENTS_ENDRX REG(UARTE0 + 0x110)
#define UARTE_EVENTS_ENDTX REG(UARTE0 + 0x120)
#define UARTE_ENABLE REG(UARTE0 + 0x500)
#define UARTE_PSEL_TXD REG(UARTE0 + 0x50C)
#define UARTE_PSEL_RXD REG(UARTE0 + 0x514)
#define UARTE_BAUDRATE REG(UARTE0 + 0x524)
#define UARTE_RXD_PTR REG(UARTE0 + 0x534)
#define UARTE_RXD_MAXCNT REG(UARTE0 + 0x538)
#define UARTE_TXD_PTR REG(UARTE0 + 0x544)
#define UARTE_TXD_MAXCNT REG(UARTE0 + 0x548)

HardwareSerial Serial;
static uint8_t rx_byte;
static volatile uint32_t cycles_high, cycles_last;

void HardwareSerial::begin(unsigned long baud) {
  (void)baud;
  UARTE_PSEL_TXD = 35; /* P1.03, the Nano 33 BLE TX pin */
  UARTE_PSEL_RXD = 42; /* P1.10, RX */
  UARTE_BAUDRATE = 0x01D60000u; /* 115200 */
  UARTE_ENABLE = 8;
  UARTE_RXD_PTR = (uint32_t)(uintptr_t)&rx_byte;
  UARTE_RXD_MAXCNT = 1;
  UARTE_TASKS_STARTRX = 1;
}

int HardwareSerial::available(void) { return UARTE_EVENTS_ENDRX ? 1 : 0; }

size_t HardwareSerial::readBytes(uint8_t *buffer, size_t length) {
  size_t n = 0;
  while (n < length && UARTE_EVENTS_ENDRX) {
    buffer[n++] = rx_byte;
    UARTE_EVENTS_ENDRX = 0;
    UARTE_TASKS_STARTRX = 1;
  }
  return n;
}

size_t HardwareSerial::write(const uint8_t *buffer, size_t size) {
  static uint8_t tx[64]; /* EasyDMA reads RAM only, not flash */
  for (size_t at = 0; at < size;) {
    size_t n = size - at < sizeof tx ? size - at : sizeof tx;
    memcpy(tx, buffer + at, n);
    UARTE_EVENTS_ENDTX = 0;
    UARTE_TXD_PTR = (uint32_t)(uintptr_t)tx;
    UARTE_TXD_MAXCNT = n;
    UARTE_TASKS_STARTTX = 1;
    while (!UARTE_EVENTS_ENDTX) {
    }
    at += n;
  }
  return size;
}

size_t HardwareSerial::print(unsigned long v, int base) {
  char buf[33];
  char *p = buf + sizeof buf;
  *--p = 0;
  do {
    unsigned d = (unsigned)(v % (unsigned)base);
    *--p = (char)(d < 10 ? '0' + d : 'a' + d - 10);
    v /= (unsigned)base;
  } while (v);
  return print(p);
}

size_t HardwareSerial::print(long v, int base) {
  if (v >= 0) return print((unsigned long)v, base);
  return print('-') + print((unsigned long)-v, base);
}

unsigned long micros(void) {
  uint32_t now = REG(0xE0001004u);
  if (now < cycles_last) cycles_high++;
  cycles_last = now;
  return (unsigned long)((((uint64_t)cycles_high << 32) | now) / (F_CPU / 1000000ul));
}

unsigned long millis(void) { return micros() / 1000ul; }

extern "C" {
extern uint32_t _estack, _sidata, _sdata, _edata, _sbss, _ebss;
extern void (*__init_array_start[])(void), (*__init_array_end[])(void);
int main(void);
void Reset_Handler(void);

__attribute__((section(".isr_vector"), used)) void (*const vectors[16])(void) = {
  (void (*)(void))(uintptr_t)&_estack, Reset_Handler,
};

void Reset_Handler(void) {
  uint32_t *src = &_sidata, *dst = &_sdata;
  while (dst < &_edata) *dst++ = *src++;
  for (dst = &_sbss; dst < &_ebss;) *dst++ = 0;
  REG(0xE000ED88u) |= 0xFu << 20; /* FPU */
  for (void (**f)(void) = __init_array_start; f < __init_array_end; f++) (*f)();
  main();
  for (;;) {
  }
}

/* The runtime brings its own memcpy/memset (no libc on boards); the C++ side needs
 * these when nothing else provides them. */
void __cxa_pure_virtual(void) { for (;;) {} }
}

int main(void) {
  REG(0xE000EDFCu) |= 1u << 24; /* TRCENA */
  REG(0xE0001000u) |= 1u;       /* CYCCNTENA */
  setup();
  for (;;) loop();
}
