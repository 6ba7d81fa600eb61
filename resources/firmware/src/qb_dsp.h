/* The Cortex-M4 DSP-extension build of the int8 kernels: QB_DSP and the helpers its C and
 * assembly kernels share. Builds without the extension (or with QB_NO_DSP) see nothing. */
#ifndef QB_DSP_H
#define QB_DSP_H

#if defined(__ARM_FEATURE_DSP) && !defined(QB_NO_DSP)
#define QB_DSP 1
#include <arm_acle.h>
#include <stdint.h>

/* An unaligned word of int8 taps (one LDR on the M4). */
static inline uint32_t load32(const void *p) {
  uint32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}

/* gcc does not fold a rotate into SXTB16's operand by itself */
static inline int16x2_t sxtb16_ror8(uint32_t v) {
  int16x2_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
  return r;
}
#endif

#endif
