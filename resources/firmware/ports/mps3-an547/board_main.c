/*
 * The bench firmware for QEMU's mps3-an547 (Cortex-M55): the board protocol on CMSDK
 * UART0, time from SysTick at the 32 MHz system clock, model and arena in the 4 MB of
 * internal SRAM at 0x21000000. Run with
 *   qemu-system-arm -M mps3-an547 -nographic -monitor none -icount shift=0 -serial pty -kernel board.elf
 * or flash it through -gdb (docs/boards.md).
 */
#include "hal.h"
#include "qb_board.h"
#include "qb_port.h"

#define MODEL_STORAGE (1536u * 1024u)
#define ARENA_STORAGE (2048u * 1024u)

static _Alignas(16) uint8_t model_storage[MODEL_STORAGE];
static _Alignas(16) uint8_t arena_storage[ARENA_STORAGE];
static _Alignas(16) uint8_t interpreter_storage[32 * 1024];
static qb_board board;
static const qb_board_info info = {
  "mps3-an547", "cortex-m55", HAL_CPU_HZ, model_storage, MODEL_STORAGE, arena_storage, ARENA_STORAGE,
  interpreter_storage, sizeof interpreter_storage, NULL, /* profiles on qb_port_cycles, as INVOKE */
};

const qb_board_info *qb_port_board(void) { return &info; }
void qb_port_write(const uint8_t *data, size_t bytes) { uart_write(data, bytes); }
uint64_t qb_port_cycles(void) { return hal_ticks(); }
uint64_t qb_port_micros(void) { return hal_ticks() / (HAL_CPU_HZ / 1000000u); }

static void boot(void) {
  uart_puts("Quantbench bench firmware, mps3-an547\r\n");
  qb_board_init(&board);
}

int main(void) {
  uart_init();
  systick_init();
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
