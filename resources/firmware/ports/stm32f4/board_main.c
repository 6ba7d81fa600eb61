/*
 * The bench firmware for STM32F4 boards: the board protocol on the USART the build
 * chose (the ST-LINK virtual COM port on Nucleo-64), cycles from DWT CYCCNT (SysTick
 * where the core has no working DWT), the model and arena in SRAM.
 *
 * Under QEMU the same image runs on -M netduinoplus2 (an STM32F405), whose first
 * -serial is USART1 and second is USART2:
 *   qemu-system-arm -M netduinoplus2 -nographic -monitor none -icount shift=0 \
 *     -serial null -serial pty -kernel board.elf      (or flashed through -gdb, see docs/boards.md)
 */
#include "hal.h"
#include "qb_board.h"
#include "qb_port.h"

#ifndef QB_STM32_BOARD_NAME
#define QB_STM32_BOARD_NAME "stm32f4"
#endif
/* 128 KB of SRAM on every supported part: model and arena take what the protocol state
 * (about 11 KB), the interpreter (7 KB) and a 4 KB stack leave (the deepest call chain,
 * protocol to kernel, measured with -fstack-usage, is under 2 KB); port.mk sets the limits. */
#ifndef QB_STM32_MODEL_BYTES
#define QB_STM32_MODEL_BYTES (62u * 1024u)
#endif
#ifndef QB_STM32_ARENA_BYTES
#define QB_STM32_ARENA_BYTES (42u * 1024u)
#endif
#ifndef QB_STM32_FLASH_BYTES
#define QB_STM32_FLASH_BYTES (512u * 1024u)
#endif

static _Alignas(16) uint8_t model_storage[QB_STM32_MODEL_BYTES];
static _Alignas(16) uint8_t arena_storage[QB_STM32_ARENA_BYTES];
static _Alignas(16) uint8_t interpreter_storage[QB_STM32_INTERPRETER_BYTES];
static qb_board board;
static qb_board_info info = {
  QB_STM32_BOARD_NAME, "cortex-m4", 0, model_storage, QB_STM32_MODEL_BYTES, arena_storage, QB_STM32_ARENA_BYTES,
  interpreter_storage, sizeof interpreter_storage, NULL, /* profiles on qb_port_cycles (DWT), as INVOKE */
};

const qb_board_info *qb_port_board(void) { return &info; }
void qb_port_write(const uint8_t *data, size_t bytes) { uart_write(data, bytes); }
uint64_t qb_port_cycles(void) { return hal_cycles(); }
uint64_t qb_port_micros(void) { return hal_cycles() / (info.cpu_hz / 1000000u); }

static void boot(void) {
  uart_puts("Quantbench bench firmware, " QB_STM32_BOARD_NAME "\r\n");
  qb_board_init(&board);
}

int main(void) {
  info.cpu_hz = clock_init();
  uart_init(info.cpu_hz);
  cycles_init();
  boot();
  for (;;) {
    int c = uart_getc_nonblocking();
    if (c < 0) {
      uart_wait();
      continue;
    }
    uint8_t byte = (uint8_t)c;
    qb_board_feed(&board, &byte, 1);
    if (qb_board_reset_requested(&board)) boot();
  }
}
