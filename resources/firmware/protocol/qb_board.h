/*
 * The board side of the protocol: feed it received bytes, it answers through
 * qb_port_write(). One instance per link, all memory inside the struct (place it
 * statically), model and arena from qb_port_board().
 */
#ifndef QB_BOARD_H
#define QB_BOARD_H

#include <stddef.h>
#include <stdint.h>

#include "qb_cobs.h"
#include "qb_protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Small boards (Arduino) get a smaller frame and fewer timed runs: about 5 KB of state
 * instead of 30 KB. Every translation unit must see the same values. */
#ifndef QB_MAX_PAYLOAD
#ifdef ARDUINO
#define QB_MAX_PAYLOAD 1024
#else
#define QB_MAX_PAYLOAD 4096
#endif
#endif
#ifndef QB_BENCHMARK_CAPACITY
#ifdef ARDUINO
#define QB_BENCHMARK_CAPACITY 100
#else
#define QB_BENCHMARK_CAPACITY QB_BENCHMARK_MAX_RUNS
#endif
#endif

/* Operators a profile can time: the runtime's own limit on operators per model. */
#ifndef QB_PROFILE_CAPACITY
#ifdef ARDUINO
#define QB_PROFILE_CAPACITY 64
#else
#define QB_PROFILE_CAPACITY 160
#endif
#endif

#define QB_RX_CAPACITY QB_COBS_MAX_ENCODED(QB_MAX_PAYLOAD + QB_PACKET_OVERHEAD)

typedef struct {
  uint8_t rx[QB_RX_CAPACITY];
  size_t rx_len;
  int rx_overflow; /* skipping to the next 0x00 after an over-long frame */

  uint8_t tx[QB_MAX_PAYLOAD + QB_PACKET_OVERHEAD];
  uint8_t wire[QB_COBS_MAX_ENCODED(QB_MAX_PAYLOAD + QB_PACKET_OVERHEAD) + 1];

  int upload_active;
  uint32_t upload_size, upload_crc, upload_next;

  int model_loaded;
  uint32_t model_bytes, model_crc, arena_required;
  int model_fits;

  int reset_requested;
  uint32_t frames_ok, frames_dropped;

  uint64_t bench_cycles[QB_BENCHMARK_CAPACITY];
  uint64_t bench_us[QB_BENCHMARK_CAPACITY];

  /* The last PROFILE: per-operator cycles of its fastest profiled round, kept so a client
   * whose frame cannot hold every operator can page through it. Zero ops: none taken. */
  uint16_t profile_ops, profile_runs;
  uint64_t profile_invoke_cycles, profile_invoke_us, profile_total_cycles;
  uint64_t profile_cycles[QB_PROFILE_CAPACITY];
  uint64_t profile_round[QB_PROFILE_CAPACITY]; /* the round being recorded */
  uint64_t profile_stamp; /* counter at the end of the previous operator */
} qb_board;

/* Clears all state (model included) and announces the board with a BOOT event. */
void qb_board_init(qb_board *board);

/* Processes received bytes; complete frames are answered before it returns. */
void qb_board_feed(qb_board *board, const uint8_t *data, size_t bytes);

/* Set after a RESET request was answered; the port then resets (or calls qb_board_init). */
int qb_board_reset_requested(const qb_board *board);

#ifdef __cplusplus
}
#endif

#endif
