// The Quantbench bench firmware for Arduino boards: flash once, then push models from the
// app over the USB serial port (`quantbench push MODEL.tflite --port /dev/ttyACM0`).
// Models are held in RAM, so the largest model is MODEL_BYTES; the arena is ARENA_BYTES.
// Latency is micros(); cycles come from the DWT cycle counter on Cortex-M3/M4/M7 and are
// micros() times F_CPU / 1e6 elsewhere.
#include <Quantbench.h>

#include "qb_board.h"
#include "qb_port.h"

#ifndef MODEL_BYTES
#define MODEL_BYTES (128 * 1024)
#endif
#ifndef ARENA_BYTES
#define ARENA_BYTES (96 * 1024)
#endif
#ifndef BOARD_NAME
#define BOARD_NAME "arduino"
#endif

alignas(16) static uint8_t model_storage[MODEL_BYTES];
alignas(16) static uint8_t arena_storage[ARENA_BYTES];
static qb_interpreter interpreter;
static qb_board board;
static qb_board_info info;

#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__)
#define HAVE_DWT 1
static volatile uint32_t *const DWT_CTRL = (uint32_t *)0xE0001000u;
static volatile uint32_t *const DWT_CYCCNT = (uint32_t *)0xE0001004u;
static volatile uint32_t *const DEMCR = (uint32_t *)0xE000EDFCu;
static uint32_t last_cyccnt;
static uint64_t cycles_high;
#endif

extern "C" {
const qb_board_info *qb_port_board(void) { return &info; }

void qb_port_write(const uint8_t *data, size_t bytes) { Serial.write(data, bytes); }

uint64_t qb_port_micros(void) {
  // micros() wraps every 71 minutes; a benchmark never spans that.
  return micros();
}

uint64_t qb_port_cycles(void) {
#ifdef HAVE_DWT
  // Widen the 32-bit counter; called at least once per invoke, far more often than it wraps.
  uint32_t now = *DWT_CYCCNT;
  if (now < last_cyccnt) cycles_high += 1ull << 32;
  last_cyccnt = now;
  return cycles_high | now;
#else
  return (uint64_t)micros() * (F_CPU / 1000000ul);
#endif
}
}

static void boot() {
  Serial.println("Quantbench bench firmware, " BOARD_NAME);
  qb_board_init(&board);
}

void setup() {
  // Opening the port from the app does not toggle DTR, so a board that resets on DTR
  // stays up; it still announces itself here when it does start.
  Serial.begin(115200);
  while (!Serial) {
  }
#ifdef HAVE_DWT
  *DEMCR |= 1u << 24;  // TRCENA
  *DWT_CYCCNT = 0;
  *DWT_CTRL |= 1u;     // CYCCNTENA
#endif
  info.name = BOARD_NAME;
  info.cpu = "arduino";
  info.cpu_hz = F_CPU;
  info.model = model_storage;
  info.model_capacity = sizeof model_storage;
  info.arena = arena_storage;
  info.arena_capacity = sizeof arena_storage;
  info.interpreter = &interpreter;
  info.interpreter_capacity = sizeof interpreter;
  boot();
}

void loop() {
  uint8_t buf[64];
  int n = Serial.available();
  if (n <= 0) return;
  if (n > (int)sizeof buf) n = sizeof buf;
  n = Serial.readBytes(buf, n);
  qb_board_feed(&board, buf, (size_t)n);
  if (qb_board_reset_requested(&board)) boot();
}
