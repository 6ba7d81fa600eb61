/* C unit tests of the board protocol: COBS, CRC-32 and the board loop's framing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qb_board.h"
#include "qb_cobs.h"
#include "qb_crc32.h"
#include "qb_port.h"

static int failures, checks;
#define CHECK(cond)                                                   \
  do {                                                                \
    checks++;                                                         \
    if (!(cond)) {                                                    \
      failures++;                                                     \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                 \
  } while (0)

static _Alignas(16) uint8_t model[4096];
static _Alignas(16) uint8_t arena[4096];
static const qb_board_info info = {"test", "host", 1000, model, sizeof model, arena, sizeof arena, NULL, 0, NULL};
const qb_board_info *qb_port_board(void) { return &info; }
uint64_t qb_port_micros(void) { return 0; }
uint64_t qb_port_cycles(void) { return 0; }

/* Everything the board writes, split into decoded packets. */
static uint8_t written[1 << 16];
static size_t written_len;
void qb_port_write(const uint8_t *data, size_t bytes) {
  memcpy(written + written_len, data, bytes);
  written_len += bytes;
}

typedef struct { uint8_t type, flags; uint16_t seq, length; uint8_t payload[QB_MAX_PAYLOAD]; } packet;

/* Decodes the next frame from `written`; returns 0 when none is left. */
static int next_packet(size_t *at, packet *p) {
  static uint8_t buf[sizeof written];
  while (*at < written_len && written[*at] == 0) (*at)++; /* empty frames are ignored */
  size_t start = *at;
  while (*at < written_len && written[*at] != 0) (*at)++;
  if (*at >= written_len) return 0;
  size_t n = qb_cobs_decode(written + start, *at - start, buf, sizeof buf);
  (*at)++;
  if (n == (size_t)-1 || n < QB_PACKET_OVERHEAD) return -1;
  uint32_t crc = buf[n - 4] | (buf[n - 3] << 8) | (buf[n - 2] << 16) | ((uint32_t)buf[n - 1] << 24);
  if (crc != qb_crc32(0, buf, n - 4)) return -1;
  p->type = buf[1];
  p->seq = (uint16_t)(buf[2] | (buf[3] << 8));
  p->flags = buf[4];
  p->length = (uint16_t)(buf[5] | (buf[6] << 8));
  memcpy(p->payload, buf + QB_HEADER_BYTES, p->length);
  return 1;
}

static size_t frame(uint8_t version, uint8_t type, uint16_t seq, uint8_t flags, const uint8_t *payload, uint16_t length, uint8_t *out) {
  uint8_t pkt[QB_MAX_PAYLOAD + QB_PACKET_OVERHEAD];
  pkt[0] = version; pkt[1] = type; pkt[2] = (uint8_t)seq; pkt[3] = (uint8_t)(seq >> 8);
  pkt[4] = flags; pkt[5] = (uint8_t)length; pkt[6] = (uint8_t)(length >> 8);
  if (length) memcpy(pkt + QB_HEADER_BYTES, payload, length);
  uint32_t crc = qb_crc32(0, pkt, QB_HEADER_BYTES + length);
  for (int k = 0; k < 4; k++) pkt[QB_HEADER_BYTES + length + k] = (uint8_t)(crc >> (8 * k));
  size_t n = qb_cobs_encode(pkt, QB_PACKET_OVERHEAD + length, out);
  out[n++] = 0;
  return n;
}

static void test_crc(void) {
  CHECK(qb_crc32(0, (const uint8_t *)"123456789", 9) == 0xCBF43926u);
  CHECK(qb_crc32(qb_crc32(0, (const uint8_t *)"1234", 4), (const uint8_t *)"56789", 5) == 0xCBF43926u);
  CHECK(qb_crc32(0, NULL, 0) == 0);
}

static void test_cobs(void) {
  static uint8_t in[1000], enc[1100], dec[1000];
  size_t lengths[] = {0, 1, 253, 254, 255, 256, 508, 1000};
  for (int pattern = 0; pattern < 3; pattern++) {
    for (size_t li = 0; li < sizeof lengths / sizeof *lengths; li++) {
      size_t n = lengths[li];
      for (size_t i = 0; i < n; i++) in[i] = pattern == 0 ? 0 : pattern == 1 ? 0x11 : (uint8_t)(i * 7);
      size_t e = qb_cobs_encode(in, n, enc);
      CHECK(e <= QB_COBS_MAX_ENCODED(n));
      CHECK(memchr(enc, 0, e) == NULL);
      size_t d = qb_cobs_decode(enc, e, dec, sizeof dec);
      CHECK(d == n && memcmp(in, dec, n) == 0);
    }
  }
  uint8_t bad[] = {5, 1, 2};
  CHECK(qb_cobs_decode(bad, sizeof bad, dec, sizeof dec) == (size_t)-1);
  uint8_t zero[] = {2, 0, 1};
  CHECK(qb_cobs_decode(zero, sizeof zero, dec, sizeof dec) == (size_t)-1);
  uint8_t small[] = {4, 1, 2, 3};
  CHECK(qb_cobs_decode(small, sizeof small, dec, 2) == (size_t)-1);
}

static qb_board board;

static void test_board_framing(void) {
  static uint8_t wire[QB_RX_CAPACITY * 2];
  packet p;
  size_t at = 0;
  written_len = 0;
  qb_board_init(&board);
  CHECK(next_packet(&at, &p) == 1 && p.type == QB_EVT_BOOT && (p.flags & QB_FLAG_EVENT));

  /* A banner, then half a frame cut by a "reset", then a good HELLO. */
  const char *banner = "ROM boot v1\r\n";
  qb_board_feed(&board, (const uint8_t *)banner, strlen(banner));
  uint8_t hello_req = 1;
  size_t n = frame(1, QB_CMD_HELLO, 7, 0, &hello_req, 1, wire);
  qb_board_feed(&board, wire, n / 2);
  qb_board_feed(&board, (const uint8_t *)"\0", 1);
  qb_board_feed(&board, wire, n);
  CHECK(next_packet(&at, &p) == 1 && p.type == QB_CMD_HELLO && p.seq == 7 && p.flags == QB_FLAG_RESPONSE);
  CHECK(p.payload[0] == QB_PROTOCOL_VERSION);
  CHECK(next_packet(&at, &p) == 0);

  /* A frame longer than the receive buffer is skipped; the next one is answered. */
  memset(wire, 0x41, QB_RX_CAPACITY + 10);
  qb_board_feed(&board, wire, QB_RX_CAPACITY + 10);
  n = frame(1, QB_CMD_MODEL_INFO, 8, 0, NULL, 0, wire + 1);
  wire[0] = 0;
  qb_board_feed(&board, wire, n + 1);
  CHECK(next_packet(&at, &p) == 1 && p.type == QB_CMD_MODEL_INFO && p.seq == 8 && p.payload[0] == 0);

  /* A damaged CRC is dropped silently. */
  n = frame(1, QB_CMD_HELLO, 9, 0, &hello_req, 1, wire);
  wire[2] ^= 0x04;
  if (wire[2] == 0) wire[2] = 0x80;
  qb_board_feed(&board, wire, n);
  CHECK(next_packet(&at, &p) == 0);

  /* Another protocol version gets a VERSION error; responses are never answered. */
  n = frame(2, QB_CMD_HELLO, 10, 0, &hello_req, 1, wire);
  qb_board_feed(&board, wire, n);
  CHECK(next_packet(&at, &p) == 1 && (p.flags & QB_FLAG_ERROR) && p.payload[0] == QB_PERR_VERSION);
  n = frame(1, QB_CMD_HELLO, 11, QB_FLAG_RESPONSE, &hello_req, 1, wire);
  qb_board_feed(&board, wire, n);
  CHECK(next_packet(&at, &p) == 0);

  /* Unknown commands are named as such. */
  n = frame(1, 0x55, 12, 0, NULL, 0, wire);
  qb_board_feed(&board, wire, n);
  CHECK(next_packet(&at, &p) == 1 && (p.flags & QB_FLAG_ERROR) && p.payload[0] == QB_PERR_UNKNOWN_COMMAND);

  /* PROFILE is an inference command: this build has no runtime and says so. */
  uint8_t profile_req[4] = {0, 0, 3, 0};
  n = frame(1, QB_CMD_PROFILE, 13, 0, profile_req, 4, wire);
  qb_board_feed(&board, wire, n);
  CHECK(next_packet(&at, &p) == 1 && p.type == QB_CMD_PROFILE && (p.flags & QB_FLAG_ERROR) && p.payload[0] == QB_PERR_NO_RUNTIME);
}

static void test_upload_window(void) {
  static uint8_t wire[8192];
  packet p;
  size_t at;
  uint8_t data[300];
  for (int i = 0; i < 300; i++) data[i] = (uint8_t)(i * 13 + 1);
  uint32_t crc = qb_crc32(0, data, sizeof data);
  uint8_t begin[8] = {44, 1, 0, 0, (uint8_t)crc, (uint8_t)(crc >> 8), (uint8_t)(crc >> 16), (uint8_t)(crc >> 24)};
  written_len = 0;
  at = 0;
  qb_board_feed(&board, wire, frame(1, QB_CMD_UPLOAD_BEGIN, 1, 0, begin, 8, wire));
  CHECK(next_packet(&at, &p) == 1 && !(p.flags & QB_FLAG_ERROR));
  /* Chunks at 0, 200 (gap: 100..199 lost), 100, 100 (duplicate), 200. */
  uint32_t offsets[] = {0, 200, 100, 100, 200};
  uint32_t expect[] = {100, 100, 200, 200, 300};
  for (int k = 0; k < 5; k++) {
    uint8_t chunk[104];
    uint32_t o = offsets[k];
    chunk[0] = (uint8_t)o; chunk[1] = (uint8_t)(o >> 8); chunk[2] = 0; chunk[3] = 0;
    memcpy(chunk + 4, data + o, 100);
    qb_board_feed(&board, wire, frame(1, QB_CMD_UPLOAD_CHUNK, (uint16_t)(2 + k), 0, chunk, 104, wire));
    CHECK(next_packet(&at, &p) == 1 && p.length == 4);
    uint32_t next = p.payload[0] | (p.payload[1] << 8);
    CHECK(next == expect[k]);
  }
  qb_board_feed(&board, wire, frame(1, QB_CMD_UPLOAD_END, 9, 0, NULL, 0, wire));
  CHECK(next_packet(&at, &p) == 1);
  /* Whatever the runtime thinks of these bytes, the CRC matched: no CRC_MISMATCH. */
  CHECK(!(p.flags & QB_FLAG_ERROR) || p.payload[0] != QB_PERR_CRC_MISMATCH);
  CHECK(memcmp(model, data, sizeof data) == 0);

  /* Too big for storage: refused at UPLOAD_BEGIN with the numbers. */
  uint8_t huge[8] = {0, 0, 1, 0, 0, 0, 0, 0};
  qb_board_feed(&board, wire, frame(1, QB_CMD_UPLOAD_BEGIN, 10, 0, huge, 8, wire));
  CHECK(next_packet(&at, &p) == 1 && (p.flags & QB_FLAG_ERROR) && p.payload[0] == QB_PERR_TOO_BIG);
  p.payload[p.length] = 0;
  CHECK(strstr((const char *)p.payload + 2, "65536 bytes exceeds the board's model storage of 4096 bytes") != NULL);
}

int main(void) {
  test_crc();
  test_cobs();
  test_board_framing();
  test_upload_window();
  printf("%d checks, %d failed\n", checks, failures);
  return failures ? 1 : 0;
}
