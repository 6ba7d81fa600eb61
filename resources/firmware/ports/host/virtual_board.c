/*
 * The virtual board: the bench firmware built for the host, serving the protocol on a
 * pseudo-terminal so the client talks to it exactly as to a USB serial board.
 *
 *   virtual_board [--baud N] [--faults SPEC] [--banner TEXT] [--ram BYTES] [--flash BYTES]
 *
 * First stdout line: "port: /dev/pts/N". Runs until SIGTERM or SIGINT.
 * --baud paces both directions to N/10 bytes per second, as a UART at 8N1 would.
 * --faults flip=P,drop=P,insert=P,reset-after=N,seed=S corrupts the receive path: each
 * received byte is flipped/dropped with probability P, a random byte is inserted before
 * it with probability P, and after N received bytes the board resets once.
 */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "qb_board.h"
#include "qb_port.h"

#define MODEL_STORAGE (16u << 20)
#define ARENA_STORAGE (32u << 20)

static _Alignas(16) uint8_t model_storage[MODEL_STORAGE];
static _Alignas(16) uint8_t arena_storage[ARENA_STORAGE];
static _Alignas(16) uint8_t interpreter_storage[64 * 1024];
static qb_board board;
static qb_board_info info;
static char cpu_name[65];

static int master_fd = -1;
static unsigned long baud = 0;
static volatile sig_atomic_t stopping = 0;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t) {
  uint64_t n = now_ns();
  if (t <= n) return;
  struct timespec ts = {(time_t)((t - n) / 1000000000ull), (long)((t - n) % 1000000000ull)};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR && !stopping) {}
}

/* Nanoseconds one byte occupies on the emulated link (start + 8 data + stop bits). */
static uint64_t byte_ns(void) { return baud ? 10000000000ull / baud : 0; }

/* Output goes through a ring drained by a writer thread, so pacing the transmit
 * direction never stalls the receive direction (the link is full duplex). */
#define RING 65536
static uint8_t ring[RING];
static size_t ring_head, ring_tail;
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ring_cond = PTHREAD_COND_INITIALIZER;

static void write_all(const uint8_t *p, size_t n) {
  while (n) {
    ssize_t w = write(master_fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) { struct pollfd pf = {master_fd, POLLOUT, 0}; poll(&pf, 1, 100); continue; }
      return;
    }
    p += w;
    n -= (size_t)w;
  }
}

static void *writer(void *arg) {
  (void)arg;
  uint64_t next = now_ns();
  uint8_t chunk[64];
  for (;;) {
    pthread_mutex_lock(&ring_lock);
    /* Pacing runs on a virtual line clock: while bytes are queued the line is busy and the
     * clock only advances by byte times (so timer oversleep is made up); once the queue
     * empties the line is idle and the clock restarts from now. A lag of more than 4 KB
     * (what a UART DMA ring would hold) also restarts it, so a stall never becomes a burst. */
    int idle = ring_head == ring_tail;
    while (ring_head == ring_tail) pthread_cond_wait(&ring_cond, &ring_lock);
    size_t n = 0;
    size_t limit = baud ? 16 : sizeof chunk;
    while (ring_tail != ring_head && n < limit) { chunk[n++] = ring[ring_tail]; ring_tail = (ring_tail + 1) % RING; }
    pthread_cond_broadcast(&ring_cond);
    pthread_mutex_unlock(&ring_lock);
    if (baud) {
      uint64_t t = now_ns();
      if (idle || next + 4096 * byte_ns() < t) next = t;
      next += n * byte_ns();
      sleep_until(next);
    }
    write_all(chunk, n);
  }
  return NULL;
}

void qb_port_write(const uint8_t *data, size_t bytes) {
  pthread_mutex_lock(&ring_lock);
  for (size_t i = 0; i < bytes; i++) {
    while ((ring_head + 1) % RING == ring_tail) pthread_cond_wait(&ring_cond, &ring_lock);
    ring[ring_head] = data[i];
    ring_head = (ring_head + 1) % RING;
  }
  pthread_cond_broadcast(&ring_cond);
  pthread_mutex_unlock(&ring_lock);
}

uint64_t qb_port_micros(void) { return now_ns() / 1000u; }
uint64_t qb_port_cycles(void) { return now_ns(); }

/* Nanoseconds this thread ran: what an operator costs, without the time the scheduler gave
 * other processes while it ran (a wall clock on a loaded machine charges them to it). */
static uint64_t thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
const qb_board_info *qb_port_board(void) { return &info; }

/* Faults: a seeded xorshift so a failing run can be replayed. */
static double p_flip, p_drop, p_insert;
static unsigned long long reset_after;
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}
static double uniform(void) { return (double)(next_rand() >> 11) / 9007199254740992.0; }

static void parse_faults(const char *spec) {
  char *copy = strdup(spec), *save = NULL;
  for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(tok, '=');
    if (!eq) { fprintf(stderr, "virtual_board: bad --faults entry \"%s\" (expected name=value)\n", tok); exit(2); }
    *eq = 0;
    const char *v = eq + 1;
    if (!strcmp(tok, "flip")) p_flip = atof(v);
    else if (!strcmp(tok, "drop")) p_drop = atof(v);
    else if (!strcmp(tok, "insert")) p_insert = atof(v);
    else if (!strcmp(tok, "reset-after")) reset_after = strtoull(v, NULL, 10);
    else if (!strcmp(tok, "seed")) rng = strtoull(v, NULL, 10) * 0x9E3779B97F4A7C15ull + 1;
    else { fprintf(stderr, "virtual_board: unknown fault \"%s\" (flip, drop, insert, reset-after, seed)\n", tok); exit(2); }
  }
  free(copy);
}

static const char *banner;

static void boot(void) {
  if (banner) {
    qb_port_write((const uint8_t *)banner, strlen(banner));
    qb_port_write((const uint8_t *)"\r\n", 2);
  }
  qb_board_init(&board);
}

static void on_signal(int sig) { (void)sig; stopping = 1; }

static unsigned long long parse_size(const char *flag, const char *v, unsigned long long max) {
  char *end;
  unsigned long long n = strtoull(v, &end, 10);
  if (*end || n > max) {
    fprintf(stderr, "virtual_board: %s must be a byte count up to %llu, got \"%s\"\n", flag, max, v);
    exit(2);
  }
  return n;
}

int main(int argc, char **argv) {
  unsigned long long ram = 8u << 20, flash = 4u << 20;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) { fprintf(stderr, "virtual_board: %s needs a value\n", a); return 2; }
    if (!strcmp(a, "--baud")) baud = strtoul(v, NULL, 10);
    else if (!strcmp(a, "--faults")) parse_faults(v);
    else if (!strcmp(a, "--banner")) banner = v;
    else if (!strcmp(a, "--ram")) ram = parse_size(a, v, ARENA_STORAGE);
    else if (!strcmp(a, "--flash")) flash = parse_size(a, v, MODEL_STORAGE);
    else { fprintf(stderr, "virtual_board: unknown option %s\n", a); return 2; }
    i++;
  }

  struct utsname u;
  snprintf(cpu_name, sizeof cpu_name, "%s", uname(&u) == 0 ? u.machine : "host");
  info.name = "virtual";
  info.cpu = cpu_name;
  info.cpu_hz = 1000000000u; /* cycles are monotonic nanoseconds */
  info.model = model_storage;
  info.model_capacity = (uint32_t)flash;
  info.arena = arena_storage;
  info.arena_capacity = (uint32_t)ram;
  info.interpreter = interpreter_storage;
  info.interpreter_capacity = sizeof interpreter_storage;
  info.profile_cycles = thread_cpu_ns;

  master_fd = posix_openpt(O_RDWR | O_NOCTTY);
  if (master_fd < 0 || grantpt(master_fd) || unlockpt(master_fd)) { perror("virtual_board: posix_openpt"); return 1; }
  const char *slave_path = ptsname(master_fd);
  /* Holding the slave open keeps the master readable while no client is attached, and
   * setting raw mode here means bytes written before a client opens are not echoed. */
  int slave_fd = open(slave_path, O_RDWR | O_NOCTTY);
  struct termios tio;
  if (slave_fd < 0 || tcgetattr(slave_fd, &tio)) { perror("virtual_board: open pty"); return 1; }
  cfmakeraw(&tio);
  tcsetattr(slave_fd, TCSANOW, &tio);

#ifdef __linux__
  /* A test or CLI that dies without stopping us must not leave a board running. */
  prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  printf("port: %s\n", slave_path);
  fflush(stdout);

  pthread_t tid;
  pthread_create(&tid, NULL, writer, NULL);
  boot();

  unsigned long long received = 0;
  uint64_t in_next = now_ns();
  uint8_t buf[256], faulty[512];
  while (!stopping) {
    /* Same line clock as the writer: data already waiting means the line stayed busy. */
    struct pollfd pf = {master_fd, POLLIN, 0};
    int idle = poll(&pf, 1, 0) <= 0;
    if (idle && poll(&pf, 1, 200) <= 0) continue;
    /* Small reads under pacing so bytes reach the board at the emulated rate. */
    ssize_t n = read(master_fd, buf, baud ? 32 : sizeof buf);
    if (n <= 0) {
      if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EIO)) { if (errno == EIO) usleep(10000); continue; }
      break;
    }
    if (baud) {
      uint64_t t = now_ns();
      if (idle || in_next + 4096 * byte_ns() < t) in_next = t;
      in_next += (uint64_t)n * byte_ns();
      sleep_until(in_next);
    }
    size_t m = 0;
    int reset_now = 0;
    for (ssize_t i = 0; i < n; i++) {
      uint8_t c = buf[i];
      if (reset_after && ++received == reset_after) { reset_now = 1; break; }
      if (p_insert > 0 && uniform() < p_insert) faulty[m++] = (uint8_t)next_rand();
      if (p_drop > 0 && uniform() < p_drop) continue;
      if (p_flip > 0 && uniform() < p_flip) c ^= (uint8_t)(1u << (next_rand() % 8));
      faulty[m++] = c;
    }
    qb_board_feed(&board, faulty, m);
    if (reset_now || qb_board_reset_requested(&board)) {
      /* Let the RESET answer leave before the boot banner, as a real reset would. */
      boot();
    }
  }
  return 0;
}
