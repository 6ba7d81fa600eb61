// The slice of the Arduino API the Quantbench library and its example sketches use,
// declared as the board cores declare it, so they compile and link for a board whose
// core cannot be installed here (see core.cpp for the nRF52840 side).
#ifndef ARDUINO_H_MINIMAL
#define ARDUINO_H_MINIMAL

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifndef F_CPU
#error "F_CPU must be defined by the build, as arduino-cli does"
#endif

#define DEC 10
#define HEX 16

unsigned long micros(void);
unsigned long millis(void);

class HardwareSerial {
 public:
  void begin(unsigned long baud);
  operator bool() const { return true; }
  int available(void);
  size_t readBytes(uint8_t *buffer, size_t length);
  size_t readBytes(char *buffer, size_t length) { return readBytes((uint8_t *)buffer, length); }
  size_t write(uint8_t c) { return write(&c, 1); }
  size_t write(const uint8_t *buffer, size_t size);
  size_t print(const char *s) { return write((const uint8_t *)s, strlen(s)); }
  size_t print(char c) { return write((uint8_t)c); }
  size_t print(unsigned long n, int base = 10);
  size_t print(long n, int base = 10);
  size_t print(unsigned int n, int base = 10) { return print((unsigned long)n, base); }
  size_t print(int n, int base = 10) { return print((long)n, base); }
  size_t println(void) { return print("\r\n"); }
  template <typename T> size_t println(T v) { size_t n = print(v); return n + println(); }
  template <typename T> size_t println(T v, int base) { size_t n = print(v, base); return n + println(); }
};

extern HardwareSerial Serial;

void setup(void);
void loop(void);

#endif
