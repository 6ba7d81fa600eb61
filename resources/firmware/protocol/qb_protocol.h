/*
 * Wire constants of the board protocol. docs/protocol.md is the specification; the
 * TypeScript mirror is core/device/protocol.ts.
 */
#ifndef QB_PROTOCOL_H
#define QB_PROTOCOL_H

#define QB_PROTOCOL_VERSION 1
#define QB_FIRMWARE_MAJOR 0
#define QB_FIRMWARE_MINOR 1

#define QB_HEADER_BYTES 7
#define QB_CRC_BYTES 4
#define QB_PACKET_OVERHEAD (QB_HEADER_BYTES + QB_CRC_BYTES)

#define QB_FLAG_RESPONSE 0x01
#define QB_FLAG_ERROR 0x02
#define QB_FLAG_EVENT 0x04

enum {
  QB_CMD_HELLO = 0x01,
  QB_CMD_UPLOAD_BEGIN = 0x02,
  QB_CMD_UPLOAD_CHUNK = 0x03,
  QB_CMD_UPLOAD_END = 0x04,
  QB_CMD_MODEL_INFO = 0x05,
  QB_CMD_SET_INPUT = 0x06,
  QB_CMD_INVOKE = 0x07,
  QB_CMD_BENCHMARK = 0x08,
  QB_CMD_EVALUATE = 0x09,
  QB_CMD_RESET = 0x0A,
  QB_CMD_PROFILE = 0x0B,
  QB_EVT_BOOT = 0x7F
};

enum {
  QB_PERR_VERSION = 1,
  QB_PERR_UNKNOWN_COMMAND = 2,
  QB_PERR_BAD_PAYLOAD = 3,
  QB_PERR_TOO_BIG = 4,
  QB_PERR_NO_UPLOAD = 5,
  QB_PERR_CRC_MISMATCH = 6,
  QB_PERR_NO_MODEL = 7,
  QB_PERR_RUNTIME = 8,
  QB_PERR_ARENA_TOO_SMALL = 9,
  QB_PERR_NO_RUNTIME = 10
};

#define QB_BENCHMARK_MAX_RUNS 1000

/* PROFILE: response header and one entry per operator (docs/protocol.md, "Profile"). */
#define QB_PROFILE_HEADER_BYTES 30
#define QB_PROFILE_ENTRY_BYTES 20

#endif
