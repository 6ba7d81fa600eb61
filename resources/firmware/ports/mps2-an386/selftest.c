/*
 * Runs the model and input linked into the image (qb_model_data / qb_input_data, from
 * objcopy) once and prints, on UART0:
 *   arena <bytes>
 *   ticks <SysTick ticks for qb_invoke>
 *   output <hex of all outputs, concatenated>
 *   calibration <SysTick ticks for 2000000 instructions of a counted loop>
 * Built with -DQB_SELFTEST_PER_OP (`make selftest ... SELFTEST_FLAGS=-DQB_SELFTEST_PER_OP`)
 * it runs the operators one by one and prints "op <index> <name> <ticks>" for each first.
 *   status <0 or the qb_status>
 * then exits QEMU through semihosting.
 */
#include "hal.h"
#include "qb_internal.h" /* for the interpreter's size: it lives in .bss */
#include "qb_runtime.h"

extern const uint8_t qb_model_data[], qb_model_end[];
extern const uint8_t qb_input_data[], qb_input_end[];

#ifndef SELFTEST_ARENA_BYTES
#define SELFTEST_ARENA_BYTES (2u * 1024u * 1024u)
#endif

static uint8_t arena[SELFTEST_ARENA_BYTES] __attribute__((aligned(16)));
static qb_interpreter interpreter;
static uint8_t out_buf[65536];

static void put_u64(uint64_t v) {
  char tmp[21];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) uart_putc(tmp[--n]);
}

/* 1000000 iterations of a two-instruction loop: converts ticks to instructions. */
static uint64_t calibrate(void) {
  uint32_t n = 1000000;
  uint64_t t0 = hal_ticks();
  __asm__ volatile("1: subs %0, %0, #1\n bne 1b" : "+r"(n) : : "cc");
  return hal_ticks() - t0;
}

static int fail(qb_interpreter *it, qb_status st) {
  uart_puts("error ");
  uart_puts(qb_status_string(st));
  uart_puts(": ");
  uart_puts(qb_last_error(it));
  uart_puts("\nstatus ");
  put_u64((uint64_t)st);
  uart_puts("\n");
  hal_exit(1);
  return 1;
}

int main(void) {
  static const char hex[] = "0123456789abcdef";
  qb_interpreter *it = &interpreter;
  const uint8_t *in = qb_input_data;
  uint64_t t0, t1;
  qb_status st;
  int32_t i;
  uint32_t j;
  uart_init();
  systick_init();
  if ((st = qb_load(it, qb_model_data, (size_t)(qb_model_end - qb_model_data))) != QB_OK) return fail(it, st);
  uart_puts("arena ");
  put_u64(qb_arena_required(it));
  uart_puts("\n");
  if ((st = qb_set_arena(it, arena, sizeof arena)) != QB_OK) return fail(it, st);
  for (i = 0; i < qb_input_count(it); i++) {
    qb_tensor_info info;
    qb_input_info(it, i, &info);
    if (in + info.bytes > qb_input_end) return fail(it, QB_ERR_BAD_ARGUMENT);
    if ((st = qb_set_input(it, i, in, info.bytes)) != QB_OK) return fail(it, st);
    in += info.bytes;
  }
#ifdef QB_SELFTEST_PER_OP
  /* One line per operator: "op <index> <name> <ticks>", then the sum as the total. */
  t1 = t0 = 0;
  for (i = 0; i < it->op_count; i++) {
    uint64_t a = hal_ticks(), b;
    st = qb_run_op(it, i);
    b = hal_ticks();
    if (st != QB_OK) return fail(it, st);
    uart_puts("op ");
    put_u64((uint64_t)i);
    uart_puts(" ");
    uart_puts(qb_op_name(it->ops[i].code));
    uart_puts(" ");
    put_u64(b - a);
    uart_puts("\n");
    t1 += b - a;
  }
#else
  t0 = hal_ticks();
  st = qb_invoke(it);
  t1 = hal_ticks();
  if (st != QB_OK) return fail(it, st);
#endif
  uart_puts("ticks ");
  put_u64(t1 - t0);
  uart_puts("\noutput ");
  for (i = 0; i < qb_output_count(it); i++) {
    qb_tensor_info info;
    qb_output_info(it, i, &info);
    if (info.bytes > sizeof out_buf) return fail(it, QB_ERR_BAD_ARGUMENT);
    if ((st = qb_get_output(it, i, out_buf, info.bytes)) != QB_OK) return fail(it, st);
    for (j = 0; j < info.bytes; j++) {
      uart_putc(hex[out_buf[j] >> 4]);
      uart_putc(hex[out_buf[j] & 15]);
    }
  }
  uart_puts("\ncalibration ");
  put_u64(calibrate());
  uart_puts("\nstatus 0\n");
  hal_exit(0);
  return 0;
}
