/*
 * libFuzzer harness for the frame decoder and the command dispatcher.
 *
 * Input byte 0 picks the mode. Raw mode feeds the bytes as they are (garbage, partial
 * frames, stray delimiters). Frame mode reads records `type u8, length u16, payload` and
 * wraps each in a valid frame (CRC and COBS), so the fuzzer reaches every command handler
 * instead of stopping at the CRC check. Model mode uploads the input as a model with a
 * correct CRC and then runs every inference command on it. Every frame the board sends back must decode and
 * carry a correct CRC: a malformed answer aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qb_board.h"
#include "qb_cobs.h"
#include "qb_crc32.h"
#include "qb_port.h"

static _Alignas(16) uint8_t model[64 * 1024];
static _Alignas(16) uint8_t arena[64 * 1024];
static _Alignas(16) uint8_t interpreter[64 * 1024];
static const qb_board_info info = {"fuzz", "host", 1000000, model, sizeof model, arena, sizeof arena, interpreter, sizeof interpreter, NULL};
static qb_board board;
static uint64_t clock_us;

const qb_board_info *qb_port_board(void) { return &info; }
uint64_t qb_port_micros(void) { return ++clock_us; }
uint64_t qb_port_cycles(void) { return clock_us * 1000u; }

static uint8_t out_frame[QB_COBS_MAX_ENCODED(QB_MAX_PAYLOAD + QB_PACKET_OVERHEAD) + 1];
static size_t out_len;

static void check_frame(void) {
  static uint8_t packet[sizeof out_frame];
  size_t n = qb_cobs_decode(out_frame, out_len, packet, sizeof packet);
  if (n == (size_t)-1 || n < QB_PACKET_OVERHEAD) abort();
  uint32_t crc = (uint32_t)packet[n - 4] | ((uint32_t)packet[n - 3] << 8) | ((uint32_t)packet[n - 2] << 16) | ((uint32_t)packet[n - 1] << 24);
  if (crc != qb_crc32(0, packet, n - 4)) abort();
  if ((size_t)(packet[5] | (packet[6] << 8)) != n - QB_PACKET_OVERHEAD) abort();
  if (n - QB_PACKET_OVERHEAD > QB_MAX_PAYLOAD) abort();
}

void qb_port_write(const uint8_t *data, size_t bytes) {
  for (size_t i = 0; i < bytes; i++) {
    if (data[i] == 0) {
      if (out_len) check_frame(); /* a lone delimiter (before BOOT) is allowed */
      out_len = 0;
    } else {
      if (out_len >= sizeof out_frame) abort();
      out_frame[out_len++] = data[i];
    }
  }
}

static uint8_t packet[QB_MAX_PAYLOAD + QB_PACKET_OVERHEAD];
static uint8_t wire[QB_COBS_MAX_ENCODED(sizeof packet) + 1];

static void send(uint8_t type, uint16_t seq, const uint8_t *payload, size_t length) {
  packet[0] = QB_PROTOCOL_VERSION;
  packet[1] = type;
  packet[2] = (uint8_t)seq;
  packet[3] = (uint8_t)(seq >> 8);
  packet[4] = 0;
  packet[5] = (uint8_t)length;
  packet[6] = (uint8_t)(length >> 8);
  if (length) memcpy(packet + QB_HEADER_BYTES, payload, length);
  uint32_t crc = qb_crc32(0, packet, QB_HEADER_BYTES + length);
  for (int k = 0; k < 4; k++) packet[QB_HEADER_BYTES + length + k] = (uint8_t)(crc >> (8 * k));
  size_t n = qb_cobs_encode(packet, QB_PACKET_OVERHEAD + length, wire);
  wire[n++] = 0;
  qb_board_feed(&board, wire, n);
}

static void upload_and_run(const uint8_t *data, size_t size) {
  static uint8_t chunk[QB_MAX_PAYLOAD];
  uint32_t crc = qb_crc32(0, data, size);
  uint8_t begin[8] = {(uint8_t)size, (uint8_t)(size >> 8), (uint8_t)(size >> 16), (uint8_t)(size >> 24),
                      (uint8_t)crc, (uint8_t)(crc >> 8), (uint8_t)(crc >> 16), (uint8_t)(crc >> 24)};
  uint16_t seq = 1;
  send(QB_CMD_UPLOAD_BEGIN, seq++, begin, 8);
  for (size_t at = 0; at < size; at += QB_MAX_PAYLOAD - 4) {
    size_t n = size - at < QB_MAX_PAYLOAD - 4 ? size - at : QB_MAX_PAYLOAD - 4;
    chunk[0] = (uint8_t)at; chunk[1] = (uint8_t)(at >> 8); chunk[2] = (uint8_t)(at >> 16); chunk[3] = (uint8_t)(at >> 24);
    memcpy(chunk + 4, data + at, n);
    send(QB_CMD_UPLOAD_CHUNK, seq++, chunk, n + 4);
  }
  send(QB_CMD_UPLOAD_END, seq++, NULL, 0);
  send(QB_CMD_MODEL_INFO, seq++, NULL, 0);
  uint8_t zeros[64] = {0};
  send(QB_CMD_SET_INPUT, seq++, zeros, sizeof zeros);
  send(QB_CMD_INVOKE, seq++, NULL, 0);
  uint8_t bench[4] = {1, 0, 2, 0};
  send(QB_CMD_BENCHMARK, seq++, bench, 4);
  uint8_t eval[2] = {1, 0};
  send(QB_CMD_EVALUATE, seq++, eval, 2);
  /* A profile, then its pages: with 1 KB frames a model past 49 operators needs several. */
  uint8_t profile[4] = {0, 0, 2, 0};
  send(QB_CMD_PROFILE, seq++, profile, 4);
  for (uint16_t first = 1; first < 200; first += 48) {
    uint8_t page[4] = {(uint8_t)first, (uint8_t)(first >> 8), 1, 0};
    send(QB_CMD_PROFILE, seq++, page, 4);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  out_len = 0;
  qb_board_init(&board);
  if (size == 0) return 0;
  if ((data[0] & 3) == 2) {
    upload_and_run(data + 1, size - 1);
    return 0;
  }
  if ((data[0] & 1) == 0) {
    qb_board_feed(&board, data + 1, size - 1);
    return 0;
  }
  size_t i = 1;
  uint16_t seq = 0;
  while (i + 3 <= size) {
    uint8_t type = data[i];
    size_t length = (size_t)(data[i + 1] | (data[i + 2] << 8)) % (QB_MAX_PAYLOAD + 1);
    i += 3;
    if (length > size - i) length = size - i;
    send(type, seq, data + i, length);
    i += length;
    seq++;
  }
  return 0;
}
