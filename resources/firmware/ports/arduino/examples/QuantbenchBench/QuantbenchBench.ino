// Runs the model in model_data.h on a fixed input and prints, over Serial, the arena size,
// the output bytes and the latency of qb_invoke (min and median of 11 runs, micros()).
#include <Quantbench.h>

#include "model_data.h"

#ifndef ARENA_BYTES
#define ARENA_BYTES (96 * 1024)
#endif

static qb_interpreter interpreter;
alignas(16) static uint8_t arena[ARENA_BYTES];

static void report(const char *what, qb_status st) {
  Serial.print(what);
  Serial.print(": ");
  Serial.print(qb_status_string(st));
  Serial.print(" (");
  Serial.print(qb_last_error(&interpreter));
  Serial.println(")");
}

void setup() {
  Serial.begin(115200);
  while (!Serial) {
  }
  qb_status st = qb_load(&interpreter, model_data, model_data_len);
  if (st != QB_OK) return report("load", st);
  Serial.print("arena ");
  Serial.println((unsigned long)qb_arena_required(&interpreter));
  if ((st = qb_set_arena(&interpreter, arena, sizeof arena)) != QB_OK) return report("arena", st);

  qb_tensor_info info;
  qb_input_info(&interpreter, 0, &info);
  static uint8_t input[4096];
  if (info.bytes > sizeof input) return report("input too large for this sketch", QB_ERR_BAD_ARGUMENT);
  for (uint32_t i = 0; i < info.bytes; i++) input[i] = (uint8_t)(i * 37);
  if ((st = qb_set_input(&interpreter, 0, input, info.bytes)) != QB_OK) return report("input", st);

  unsigned long us[11];
  for (int r = 0; r < 11; r++) {
    unsigned long t0 = micros();
    st = qb_invoke(&interpreter);
    us[r] = micros() - t0;
    if (st != QB_OK) return report("invoke", st);
  }
  for (int i = 1; i < 11; i++)  // insertion sort, 11 values
    for (int j = i; j > 0 && us[j - 1] > us[j]; j--) {
      unsigned long t = us[j];
      us[j] = us[j - 1];
      us[j - 1] = t;
    }
  Serial.print("latency_us min ");
  Serial.print(us[0]);
  Serial.print(" median ");
  Serial.println(us[5]);

  qb_output_info(&interpreter, 0, &info);
  static uint8_t output[4096];
  if (info.bytes <= sizeof output && qb_get_output(&interpreter, 0, output, info.bytes) == QB_OK) {
    Serial.print("output ");
    for (uint32_t i = 0; i < info.bytes; i++) {
      if (output[i] < 16) Serial.print('0');
      Serial.print(output[i], HEX);
    }
    Serial.println();
  }
}

void loop() {}
