/* The Arduino IDE compiles the whole library, runtime included, and cannot pass -D flags. */
#if defined(ARDUINO) && !defined(QB_HAVE_RUNTIME)
#define QB_HAVE_RUNTIME
#endif

#include "qb_board.h"

#include <string.h>

#include "qb_crc32.h"
#include "qb_port.h"
#ifdef QB_HAVE_RUNTIME
#include "qb_runtime.h"
#endif

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint8_t *put8(uint8_t *p, uint8_t v) { *p = v; return p + 1; }
static uint8_t *put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); return p + 2; }
static uint8_t *put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
  return p + 4;
}
#ifdef QB_HAVE_RUNTIME
static uint8_t *put64(uint8_t *p, uint64_t v) { p = put32(p, (uint32_t)v); return put32(p, (uint32_t)(v >> 32)); }
#endif

/* Where a response payload is built: right after the header in the tx packet. */
static uint8_t *payload_start(qb_board *b) { return b->tx + QB_HEADER_BYTES; }

static void send_packet(qb_board *b, uint8_t version, uint8_t type, uint16_t seq, uint8_t flags, size_t length) {
  uint8_t *h = b->tx;
  h[0] = version;
  h[1] = type;
  put16(h + 2, seq);
  h[4] = flags;
  put16(h + 5, (uint16_t)length);
  put32(h + QB_HEADER_BYTES + length, qb_crc32(0, h, QB_HEADER_BYTES + length));
  size_t n = qb_cobs_encode(h, QB_HEADER_BYTES + length + QB_CRC_BYTES, b->wire);
  b->wire[n++] = 0;
  qb_port_write(b->wire, n);
}

static void respond(qb_board *b, uint8_t type, uint16_t seq, const uint8_t *end) {
  send_packet(b, QB_PROTOCOL_VERSION, type, seq, QB_FLAG_RESPONSE, (size_t)(end - payload_start(b)));
}

static void respond_error(qb_board *b, uint8_t type, uint16_t seq, uint16_t code, const char *a, const char *detail) {
  uint8_t *p = put16(payload_start(b), code);
  uint8_t *limit = payload_start(b) + QB_MAX_PAYLOAD;
  const char *parts[2] = {a, detail};
  for (int k = 0; k < 2; k++) {
    for (const char *s = parts[k]; s && *s && p < limit; s++) *p++ = (uint8_t)*s;
  }
  send_packet(b, QB_PROTOCOL_VERSION, type, seq, QB_FLAG_RESPONSE | QB_FLAG_ERROR, (size_t)(p - payload_start(b)));
}

/* Decimal without printf: the firmware links no stdio. */
static char *fmt_u32(char *out, uint32_t v) {
  char tmp[10];
  int n = 0;
  do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
  while (n) *out++ = tmp[--n];
  *out = 0;
  return out;
}
static char *fmt_str(char *out, const char *s) {
  while (*s) *out++ = *s++;
  *out = 0;
  return out;
}

static uint8_t *put_hello(qb_board *b, uint8_t *p) {
  const qb_board_info *info = qb_port_board();
  p = put8(p, QB_PROTOCOL_VERSION);
  p = put8(p, QB_FIRMWARE_MAJOR);
  p = put8(p, QB_FIRMWARE_MINOR);
#ifdef QB_HAVE_RUNTIME
  const int32_t *ops = NULL;
  int32_t op_count = qb_supported_ops(&ops);
  p = put8(p, 1);
#else
  const int32_t *ops = NULL;
  int32_t op_count = 0;
  p = put8(p, 0);
#endif
  p = put32(p, info->cpu_hz);
  p = put32(p, info->arena_capacity);
  p = put32(p, info->model_capacity);
  p = put16(p, QB_MAX_PAYLOAD);
  p = put16(p, (uint16_t)op_count);
  for (int32_t i = 0; i < op_count; i++) p = put16(p, (uint16_t)ops[i]);
  const char *strings[2] = {info->name, info->cpu};
  for (int k = 0; k < 2; k++) {
    size_t n = 0;
    while (strings[k][n] && n < 64) n++; /* bare-metal ports link no libc strlen */
    p = put8(p, (uint8_t)n);
    memcpy(p, strings[k], n);
    p += n;
  }
  (void)b;
  return p;
}

void qb_board_init(qb_board *b) {
  b->rx_len = 0;
  b->rx_overflow = 0;
  b->upload_active = 0;
  b->upload_size = b->upload_crc = b->upload_next = 0;
  b->model_loaded = 0;
  b->model_bytes = b->model_crc = b->arena_required = 0;
  b->model_fits = 0;
  b->reset_requested = 0;
  b->frames_ok = b->frames_dropped = 0;
  b->profile_ops = 0;
  /* A lone delimiter first: whatever text came before (a boot banner) ends here as a
   * discarded frame instead of running into the BOOT event. */
  static const uint8_t delimiter = 0;
  qb_port_write(&delimiter, 1);
  uint8_t *end = put_hello(b, payload_start(b));
  send_packet(b, QB_PROTOCOL_VERSION, QB_EVT_BOOT, 0, QB_FLAG_RESPONSE | QB_FLAG_EVENT, (size_t)(end - payload_start(b)));
}

int qb_board_reset_requested(const qb_board *b) { return b->reset_requested; }

static void upload_begin(qb_board *b, uint16_t seq, const uint8_t *pl, size_t n) {
  const qb_board_info *info = qb_port_board();
  if (n != 8) { respond_error(b, QB_CMD_UPLOAD_BEGIN, seq, QB_PERR_BAD_PAYLOAD, "UPLOAD_BEGIN needs 8 bytes", NULL); return; }
  uint32_t size = get32(pl), crc = get32(pl + 4);
  b->model_loaded = 0;
  b->upload_active = 0;
  b->profile_ops = 0;
  if (size > info->model_capacity) {
    char msg[96], *m = msg;
    m = fmt_str(m, "model of ");
    m = fmt_u32(m, size);
    m = fmt_str(m, " bytes exceeds the board's model storage of ");
    m = fmt_u32(m, info->model_capacity);
    fmt_str(m, " bytes");
    respond_error(b, QB_CMD_UPLOAD_BEGIN, seq, QB_PERR_TOO_BIG, msg, NULL);
    return;
  }
  b->upload_active = 1;
  b->upload_size = size;
  b->upload_crc = crc;
  b->upload_next = 0;
  respond(b, QB_CMD_UPLOAD_BEGIN, seq, put32(payload_start(b), QB_MAX_PAYLOAD - 4));
}

static void upload_chunk(qb_board *b, uint16_t seq, const uint8_t *pl, size_t n) {
  if (!b->upload_active) { respond_error(b, QB_CMD_UPLOAD_CHUNK, seq, QB_PERR_NO_UPLOAD, "no upload in progress (the board may have reset)", NULL); return; }
  if (n < 4) { respond_error(b, QB_CMD_UPLOAD_CHUNK, seq, QB_PERR_BAD_PAYLOAD, "UPLOAD_CHUNK needs an offset", NULL); return; }
  uint32_t offset = get32(pl);
  size_t bytes = n - 4;
  if (offset == b->upload_next && bytes <= b->upload_size - b->upload_next) {
    memcpy(qb_port_board()->model + offset, pl + 4, bytes);
    b->upload_next += (uint32_t)bytes;
  }
  /* Duplicates and chunks past a gap are not stored; the cumulative ack tells the client. */
  respond(b, QB_CMD_UPLOAD_CHUNK, seq, put32(payload_start(b), b->upload_next));
}

#ifdef QB_HAVE_RUNTIME
static qb_interpreter *interp(qb_board *b) { (void)b; return (qb_interpreter *)qb_port_board()->interpreter; }

static void respond_runtime_error(qb_board *b, uint8_t type, uint16_t seq, qb_status st) {
  char head[64], *m = head;
  m = fmt_str(m, qb_status_string(st));
  fmt_str(m, ": ");
  respond_error(b, type, seq, QB_PERR_RUNTIME, head, qb_last_error(interp(b)));
}

static uint32_t io_bytes(qb_board *b, int outputs) {
  uint32_t total = 0;
  int32_t count = outputs ? qb_output_count(interp(b)) : qb_input_count(interp(b));
  for (int32_t i = 0; i < count; i++) {
    qb_tensor_info t;
    if ((outputs ? qb_output_info(interp(b), i, &t) : qb_input_info(interp(b), i, &t)) == QB_OK) total += t.bytes;
  }
  return total;
}

/* Copies every output, concatenated, to p; returns the end. Caller checked the room. */
static uint8_t *put_outputs(qb_board *b, uint8_t *p, qb_status *st) {
  int32_t count = qb_output_count(interp(b));
  for (int32_t i = 0; i < count; i++) {
    qb_tensor_info t;
    *st = qb_output_info(interp(b), i, &t);
    if (*st == QB_OK) *st = qb_get_output(interp(b), i, p, t.bytes);
    if (*st != QB_OK) return p;
    p += t.bytes;
  }
  return p;
}

static int need_model(qb_board *b, uint8_t type, uint16_t seq) {
  if (!b->model_loaded) { respond_error(b, type, seq, QB_PERR_NO_MODEL, "no model loaded: upload one first", NULL); return 0; }
  if (!b->model_fits) {
    char msg[96], *m = msg;
    m = fmt_str(m, "model needs ");
    m = fmt_u32(m, b->arena_required);
    m = fmt_str(m, " bytes of arena, the board has ");
    m = fmt_u32(m, qb_port_board()->arena_capacity);
    respond_error(b, type, seq, QB_PERR_ARENA_TOO_SMALL, msg, NULL);
    return 0;
  }
  return 1;
}
#endif

static void upload_end(qb_board *b, uint16_t seq) {
  const qb_board_info *info = qb_port_board();
  if (!b->upload_active) { respond_error(b, QB_CMD_UPLOAD_END, seq, QB_PERR_NO_UPLOAD, "no upload in progress (the board may have reset)", NULL); return; }
  if (b->upload_next != b->upload_size) {
    char msg[96], *m = msg;
    m = fmt_str(m, "only ");
    m = fmt_u32(m, b->upload_next);
    m = fmt_str(m, " of ");
    m = fmt_u32(m, b->upload_size);
    fmt_str(m, " bytes arrived");
    respond_error(b, QB_CMD_UPLOAD_END, seq, QB_PERR_CRC_MISMATCH, msg, NULL);
    return;
  }
  uint32_t crc = qb_crc32(0, info->model, b->upload_size);
  if (crc != b->upload_crc) {
    respond_error(b, QB_CMD_UPLOAD_END, seq, QB_PERR_CRC_MISMATCH, "stored model CRC differs from the announced CRC", NULL);
    return;
  }
  b->upload_active = 0;
  b->model_bytes = b->upload_size;
  b->model_crc = crc;
  b->arena_required = 0;
  b->model_fits = 0;
#ifdef QB_HAVE_RUNTIME
  if (info->interpreter == NULL || qb_interpreter_size() > info->interpreter_capacity) {
    char msg[96], *m = msg;
    m = fmt_str(m, "the runtime needs ");
    m = fmt_u32(m, (uint32_t)qb_interpreter_size());
    m = fmt_str(m, " bytes of interpreter state, the port gives ");
    fmt_u32(m, info->interpreter ? info->interpreter_capacity : 0);
    respond_error(b, QB_CMD_UPLOAD_END, seq, QB_PERR_RUNTIME, msg, NULL);
    return;
  }
  qb_status st = qb_load(interp(b), info->model, b->model_bytes);
  if (st != QB_OK) { respond_runtime_error(b, QB_CMD_UPLOAD_END, seq, st); return; }
  b->arena_required = (uint32_t)qb_arena_required(interp(b));
  b->model_fits = b->arena_required <= info->arena_capacity;
  if (b->model_fits) {
    st = qb_set_arena(interp(b), info->arena, info->arena_capacity);
    if (st != QB_OK) { respond_runtime_error(b, QB_CMD_UPLOAD_END, seq, st); return; }
  }
  b->model_loaded = 1;
#endif
  uint8_t *p = put32(payload_start(b), crc);
  p = put32(p, b->arena_required);
  p = put8(p, (uint8_t)b->model_fits);
  respond(b, QB_CMD_UPLOAD_END, seq, p);
}

static void model_info(qb_board *b, uint16_t seq) {
  uint8_t *p = payload_start(b);
  p = put8(p, (uint8_t)b->model_loaded);
  p = put32(p, b->model_bytes);
  p = put32(p, b->model_crc);
  p = put32(p, b->arena_required);
  p = put32(p, qb_port_board()->arena_capacity);
  p = put8(p, (uint8_t)b->model_fits);
#ifdef QB_HAVE_RUNTIME
  if (b->model_loaded) {
    int32_t ni = qb_input_count(interp(b)), no = qb_output_count(interp(b));
    p = put8(p, (uint8_t)ni);
    p = put8(p, (uint8_t)no);
    for (int32_t k = 0; k < ni + no; k++) {
      qb_tensor_info t;
      memset(&t, 0, sizeof t);
      if (k < ni) qb_input_info(interp(b), k, &t); else qb_output_info(interp(b), k - ni, &t);
      if (t.rank < 0 || t.rank > 6) t.rank = 0;
      /* 6 dims of 4 bytes + 14 fixed bytes per tensor; stop before the payload would overflow. */
      if ((size_t)(p - payload_start(b)) + 38 > QB_MAX_PAYLOAD) break;
      p = put8(p, (uint8_t)t.type);
      p = put8(p, (uint8_t)t.rank);
      for (int32_t d = 0; d < t.rank; d++) p = put32(p, (uint32_t)t.dims[d]);
      p = put32(p, t.bytes);
      uint32_t scale_bits;
      memcpy(&scale_bits, &t.scale, 4);
      p = put32(p, scale_bits);
      p = put32(p, (uint32_t)t.zero_point);
    }
    respond(b, QB_CMD_MODEL_INFO, seq, p);
    return;
  }
#endif
  p = put8(p, 0);
  p = put8(p, 0);
  respond(b, QB_CMD_MODEL_INFO, seq, p);
}

#ifdef QB_HAVE_RUNTIME
static void set_input(qb_board *b, uint16_t seq, const uint8_t *pl, size_t n) {
  if (!need_model(b, QB_CMD_SET_INPUT, seq)) return;
  if (n < 1) { respond_error(b, QB_CMD_SET_INPUT, seq, QB_PERR_BAD_PAYLOAD, "SET_INPUT needs an index", NULL); return; }
  qb_status st = qb_set_input(interp(b), pl[0], pl + 1, n - 1);
  if (st != QB_OK) { respond_runtime_error(b, QB_CMD_SET_INPUT, seq, st); return; }
  respond(b, QB_CMD_SET_INPUT, seq, payload_start(b));
}

static void invoke(qb_board *b, uint16_t seq) {
  if (!need_model(b, QB_CMD_INVOKE, seq)) return;
  if (io_bytes(b, 1) + 16 > QB_MAX_PAYLOAD) { respond_error(b, QB_CMD_INVOKE, seq, QB_PERR_BAD_PAYLOAD, "outputs larger than the frame payload", NULL); return; }
  uint64_t c0 = qb_port_cycles(), u0 = qb_port_micros();
  qb_status st = qb_invoke(interp(b));
  uint64_t c1 = qb_port_cycles(), u1 = qb_port_micros();
  if (st != QB_OK) { respond_runtime_error(b, QB_CMD_INVOKE, seq, st); return; }
  uint8_t *p = put64(payload_start(b), c1 - c0);
  p = put64(p, u1 - u0);
  p = put_outputs(b, p, &st);
  if (st != QB_OK) { respond_runtime_error(b, QB_CMD_INVOKE, seq, st); return; }
  respond(b, QB_CMD_INVOKE, seq, p);
}

static void sort_u64(uint64_t *v, uint32_t n) {
  for (uint32_t i = 1; i < n; i++) {
    uint64_t x = v[i];
    uint32_t j = i;
    while (j > 0 && v[j - 1] > x) { v[j] = v[j - 1]; j--; }
    v[j] = x;
  }
}

static uint8_t *put_stats(uint8_t *p, uint64_t *v, uint32_t n) {
  sort_u64(v, n);
  uint32_t p95 = (95u * n + 99u) / 100u;
  p95 = p95 == 0 ? 0 : p95 - 1;
  if (p95 > n - 1) p95 = n - 1;
  p = put64(p, v[0]);
  p = put64(p, v[n / 2]);
  p = put64(p, v[p95]);
  return put64(p, v[n - 1]);
}

static void benchmark(qb_board *b, uint16_t seq, const uint8_t *pl, size_t n) {
  if (!need_model(b, QB_CMD_BENCHMARK, seq)) return;
  if (n != 4) { respond_error(b, QB_CMD_BENCHMARK, seq, QB_PERR_BAD_PAYLOAD, "BENCHMARK needs warmup and runs", NULL); return; }
  uint32_t warmup = get16(pl), runs = get16(pl + 2);
  if (runs == 0 || runs > QB_BENCHMARK_CAPACITY) {
    char msg[48], *m = msg;
    m = fmt_str(m, "runs must be 1 to ");
    fmt_u32(m, QB_BENCHMARK_CAPACITY);
    respond_error(b, QB_CMD_BENCHMARK, seq, QB_PERR_BAD_PAYLOAD, msg, NULL);
    return;
  }
  qb_status st = QB_OK;
  for (uint32_t i = 0; i < warmup && st == QB_OK; i++) st = qb_invoke(interp(b));
  for (uint32_t i = 0; i < runs && st == QB_OK; i++) {
    uint64_t c0 = qb_port_cycles(), u0 = qb_port_micros();
    st = qb_invoke(interp(b));
    b->bench_cycles[i] = qb_port_cycles() - c0;
    b->bench_us[i] = qb_port_micros() - u0;
  }
  if (st != QB_OK) { respond_runtime_error(b, QB_CMD_BENCHMARK, seq, st); return; }
  uint8_t *p = put16(payload_start(b), (uint16_t)runs);
  p = put_stats(p, b->bench_cycles, runs);
  p = put_stats(p, b->bench_us, runs);
  respond(b, QB_CMD_BENCHMARK, seq, p);
}

static void evaluate(qb_board *b, uint16_t seq, const uint8_t *pl, size_t n) {
  if (!need_model(b, QB_CMD_EVALUATE, seq)) return;
  uint32_t in_bytes = io_bytes(b, 0), out_bytes = io_bytes(b, 1);
  if (n < 2) { respond_error(b, QB_CMD_EVALUATE, seq, QB_PERR_BAD_PAYLOAD, "EVALUATE needs a count", NULL); return; }
  uint32_t count = get16(pl);
  if ((size_t)count * in_bytes != n - 2 || (size_t)count * out_bytes + 18 > QB_MAX_PAYLOAD) {
    respond_error(b, QB_CMD_EVALUATE, seq, QB_PERR_BAD_PAYLOAD, "sample count does not match the payload or the outputs do not fit a frame", NULL);
    return;
  }
  /* Samples are read from rx while outputs go to tx: separate buffers, no overlap. */
  const uint8_t *sample = pl + 2;
  uint8_t *p = payload_start(b) + 18;
  uint64_t cycles = 0, us = 0;
  qb_status st = QB_OK;
  int32_t inputs = qb_input_count(interp(b));
  for (uint32_t s = 0; s < count && st == QB_OK; s++) {
    for (int32_t i = 0; i < inputs && st == QB_OK; i++) {
      qb_tensor_info t;
      st = qb_input_info(interp(b), i, &t);
      if (st == QB_OK) st = qb_set_input(interp(b), i, sample, t.bytes);
      sample += t.bytes;
    }
    if (st != QB_OK) break;
    uint64_t c0 = qb_port_cycles(), u0 = qb_port_micros();
    st = qb_invoke(interp(b));
    cycles += qb_port_cycles() - c0;
    us += qb_port_micros() - u0;
    if (st == QB_OK) p = put_outputs(b, p, &st);
  }
  if (st != QB_OK) { respond_runtime_error(b, QB_CMD_EVALUATE, seq, st); return; }
  uint8_t *h = put16(payload_start(b), (uint16_t)count);
  h = put64(h, cycles);
  put64(h, us);
  respond(b, QB_CMD_EVALUATE, seq, p);
}
#endif

#ifdef QB_HAVE_RUNTIME
/* Runs after every operator of a profiled invoke: the time since the previous operator
 * ended (or the invoke began) is this operator's, less the observer's own cost (measured
 * by observer_cost), so the per-operator figures add up to the profiled inference with
 * the profiler taken out of it. */
static uint64_t profile_clock(void) {
  const qb_board_info *info = qb_port_board();
  return info->profile_cycles ? info->profile_cycles() : qb_port_cycles();
}

static void profile_observer(void *context, int32_t op) {
  qb_board *b = (qb_board *)context;
  uint64_t now = profile_clock();
  b->profile_round[op] = now - b->profile_stamp;
  b->profile_stamp = now;
}

/* What one observer call adds to the operator before it: the fewest cycles between two
 * back-to-back calls. On a microcontroller a few cycles; on the virtual board a system
 * call (its thread CPU clock), which next to a 5 us operator is not noise to leave in. */
static uint64_t observer_cost(qb_board *b) {
  uint64_t cost = 0;
  b->profile_stamp = profile_clock();
  for (int i = 0; i < 16; i++) {
    profile_observer(b, 0);
    if (i == 0 || b->profile_round[0] < cost) cost = b->profile_round[0];
  }
  return cost;
}

static int profile_take(qb_board *b, uint16_t seq, uint32_t runs) {
  int32_t ops = qb_op_count(interp(b));
  if (ops > QB_PROFILE_CAPACITY) {
    char msg[96], *m = msg;
    m = fmt_str(m, "model has ");
    m = fmt_u32(m, (uint32_t)ops);
    m = fmt_str(m, " operators, this board profiles at most ");
    fmt_u32(m, QB_PROFILE_CAPACITY);
    respond_error(b, QB_CMD_PROFILE, seq, QB_PERR_RUNTIME, msg, NULL);
    return 0;
  }
  b->profile_ops = 0;
  qb_status st = QB_OK;
  uint64_t invoke_cycles = 0, invoke_us = 0, total = 0;
  /* The fastest round on both sides: the one least disturbed by whatever else the CPU does
   * (a host's other processes, an interrupt); under QEMU every round is the same. The
   * operators are those of the fastest profiled round, so they add up to its total (a sum
   * of per-operator minima from different rounds would undercount on a noisy machine). */
  for (uint32_t r = 0; r < runs && st == QB_OK; r++) {
    uint64_t c0 = profile_clock(), u0 = qb_port_micros();
    st = qb_invoke(interp(b));
    uint64_t c = profile_clock() - c0, u = qb_port_micros() - u0;
    if (r == 0 || c < invoke_cycles) invoke_cycles = c;
    if (r == 0 || u < invoke_us) invoke_us = u;
    if (st != QB_OK) break;
    qb_set_op_observer(interp(b), profile_observer, b);
    b->profile_stamp = c0 = profile_clock();
    st = qb_invoke(interp(b));
    c = b->profile_stamp - c0;
    qb_set_op_observer(interp(b), NULL, NULL);
    if (st == QB_OK && (r == 0 || c < total)) {
      total = c;
      memcpy(b->profile_cycles, b->profile_round, (size_t)ops * sizeof b->profile_cycles[0]);
    }
  }
  if (st != QB_OK) { respond_runtime_error(b, QB_CMD_PROFILE, seq, st); return 0; }
  /* An operator quicker than the counter can tell from the observer's cost keeps one
   * cycle: it ran, and a zero would read as "not timed". */
  uint64_t cost = observer_cost(b);
  total = 0;
  for (int32_t i = 0; i < ops; i++) {
    b->profile_cycles[i] = b->profile_cycles[i] > cost ? b->profile_cycles[i] - cost : 1;
    total += b->profile_cycles[i];
  }
  b->profile_ops = (uint16_t)ops;
  b->profile_runs = (uint16_t)runs;
  b->profile_invoke_cycles = invoke_cycles;
  b->profile_invoke_us = invoke_us;
  b->profile_total_cycles = total;
  return 1;
}

static void profile(qb_board *b, uint16_t seq, const uint8_t *pl, size_t n) {
  if (!need_model(b, QB_CMD_PROFILE, seq)) return;
  if (n != 4) { respond_error(b, QB_CMD_PROFILE, seq, QB_PERR_BAD_PAYLOAD, "PROFILE needs first and runs", NULL); return; }
  uint32_t first = get16(pl), runs = get16(pl + 2);
  if (first == 0) {
    if (runs == 0 || runs > QB_BENCHMARK_CAPACITY) {
      char msg[48], *m = msg;
      m = fmt_str(m, "runs must be 1 to ");
      fmt_u32(m, QB_BENCHMARK_CAPACITY);
      respond_error(b, QB_CMD_PROFILE, seq, QB_PERR_BAD_PAYLOAD, msg, NULL);
      return;
    }
    if (!profile_take(b, seq, runs)) return;
  } else if (b->profile_ops == 0) {
    respond_error(b, QB_CMD_PROFILE, seq, QB_PERR_BAD_PAYLOAD, "no profile taken yet: ask for operator 0 first", NULL);
    return;
  } else if (first >= b->profile_ops) {
    char msg[64], *m = msg;
    m = fmt_str(m, "first operator must be below ");
    fmt_u32(m, b->profile_ops);
    respond_error(b, QB_CMD_PROFILE, seq, QB_PERR_BAD_PAYLOAD, msg, NULL);
    return;
  }
  uint32_t room = (QB_MAX_PAYLOAD - QB_PROFILE_HEADER_BYTES) / QB_PROFILE_ENTRY_BYTES;
  uint32_t count = b->profile_ops - first;
  if (count > room) count = room;
  uint8_t *p = put16(payload_start(b), b->profile_ops);
  p = put16(p, (uint16_t)first);
  p = put16(p, (uint16_t)count);
  p = put64(p, b->profile_invoke_cycles);
  p = put64(p, b->profile_invoke_us);
  p = put64(p, b->profile_total_cycles);
  for (uint32_t k = first; k < first + count; k++) {
    qb_op_info op;
    if (qb_get_op_info(interp(b), (int32_t)k, &op) != QB_OK) memset(&op, 0, sizeof op);
    p = put16(p, (uint16_t)op.code);
    p = put8(p, (uint8_t)op.output_count);
    p = put8(p, (uint8_t)op.output_const);
    p = put64(p, b->profile_cycles[k]);
    p = put32(p, op.output_offset);
    p = put32(p, op.output_bytes);
  }
  respond(b, QB_CMD_PROFILE, seq, p);
}
#endif

static void dispatch(qb_board *b, uint8_t type, uint16_t seq, const uint8_t *pl, size_t n) {
  switch (type) {
    case QB_CMD_HELLO: respond(b, type, seq, put_hello(b, payload_start(b))); return;
    case QB_CMD_UPLOAD_BEGIN: upload_begin(b, seq, pl, n); return;
    case QB_CMD_UPLOAD_CHUNK: upload_chunk(b, seq, pl, n); return;
    case QB_CMD_UPLOAD_END: upload_end(b, seq); return;
    case QB_CMD_MODEL_INFO: model_info(b, seq); return;
    case QB_CMD_RESET:
      respond(b, type, seq, payload_start(b));
      b->reset_requested = 1;
      return;
#ifdef QB_HAVE_RUNTIME
    case QB_CMD_SET_INPUT: set_input(b, seq, pl, n); return;
    case QB_CMD_INVOKE: invoke(b, seq); return;
    case QB_CMD_BENCHMARK: benchmark(b, seq, pl, n); return;
    case QB_CMD_EVALUATE: evaluate(b, seq, pl, n); return;
    case QB_CMD_PROFILE: profile(b, seq, pl, n); return;
#else
    case QB_CMD_SET_INPUT:
    case QB_CMD_INVOKE:
    case QB_CMD_BENCHMARK:
    case QB_CMD_EVALUATE:
    case QB_CMD_PROFILE:
      respond_error(b, type, seq, QB_PERR_NO_RUNTIME, "this firmware was built without the inference runtime", NULL);
      return;
#endif
    default: respond_error(b, type, seq, QB_PERR_UNKNOWN_COMMAND, "unknown command", NULL); return;
  }
}

static void handle_frame(qb_board *b) {
  size_t n = qb_cobs_decode(b->rx, b->rx_len, b->rx, sizeof b->rx);
  if (n == (size_t)-1 || n < QB_PACKET_OVERHEAD) { b->frames_dropped++; return; }
  const uint8_t *h = b->rx;
  size_t length = get16(h + 5);
  if (length != n - QB_PACKET_OVERHEAD || qb_crc32(0, h, n - QB_CRC_BYTES) != get32(h + n - QB_CRC_BYTES)) {
    b->frames_dropped++;
    return;
  }
  b->frames_ok++;
  uint16_t seq = get16(h + 2);
  if (h[0] != QB_PROTOCOL_VERSION) {
    respond_error(b, h[1], seq, QB_PERR_VERSION, "the board speaks protocol version 1", NULL);
    return;
  }
  if (h[4] & QB_FLAG_RESPONSE) return; /* our own echo or a confused peer: never answer a response */
  dispatch(b, h[1], seq, h + QB_HEADER_BYTES, length);
}

void qb_board_feed(qb_board *b, const uint8_t *data, size_t bytes) {
  for (size_t i = 0; i < bytes; i++) {
    uint8_t c = data[i];
    if (c == 0) {
      if (!b->rx_overflow && b->rx_len > 0) handle_frame(b);
      else if (b->rx_overflow) b->frames_dropped++;
      b->rx_len = 0;
      b->rx_overflow = 0;
    } else if (b->rx_len < sizeof b->rx) {
      b->rx[b->rx_len++] = c;
    } else {
      b->rx_overflow = 1;
    }
  }
}
