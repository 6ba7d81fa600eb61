/*
 * Cortex-M4 (DSP extension) int8 CONV_2D: four output pixels against one filter per pass.
 *
 * Why four pixels and one filter: per four taps the filter word is loaded and widened once
 * (LDR, two SXTB16) for four rows whose int16 pairs come in two LDMs, then eight SMLAD:
 * 13 instructions per 16 MACs, against 16 for two pixels times two filters. And with one
 * filter per pass, the four sums share one channel's requantization constants, so they are
 * requantized in registers right after their dot product, with no accumulator array.
 *
 * Why it is exact: each row holds the window's raw int8 values as int16, taps outside the
 * image reading -in_offset, and the sum starts at bias_eff = bias + in_offset * sum(w)
 * (prepared once, qb_prepare.c). Then bias_eff + sum(x * w) over the whole window is
 * bias + sum((x + in_offset) * w) over the taps inside the image, the reference's
 * accumulator, as integers; SMLAD wraps like the reference's int32, and the sum ends
 * within +-2^30. The requantization is rq_small()'s SMMULR form (qb_conv_int8.c), taken
 * only when every sum provably stays within +-2^30 and every shift is -22 to -1; anything
 * else returns 0 and the two-pixel kernel of qb_conv_int8.c runs. The block uses the
 * arena's whole scratch area; windows too long for it go a chunk of taps at a time.
 *
 * The same file has the Cortex-M4 FULLY_CONNECTED and same-shape ADD/SUB loops.
 */
#include "qb_dsp.h"
#include "qb_kernels.h"

#if QB_DSP

/*
 * The block: groups of four taps, each group the four rows' taps in turn (16 int16), a
 * row's four taps stored t0,t2,t1,t3, the order SXTB16 and SXTB16-ROR-8 give four filter
 * bytes in. k is rounded up to whole groups; the padding slots stay 0, so a filter word
 * read past the filter's end adds nothing.
 */
static inline int32_t slot4(int32_t j, int r) { return (j >> 2) * 16 + 4 * r + ((j & 1) << 1) + ((j >> 1) & 1); }

/* Taps j .. j+n-1 of row r: src[i], or pad when src is NULL (outside the image). */
static void put4(int16_t *block, int r, int32_t j, const int8_t *src, int32_t n, int32_t pad) {
  int32_t i = 0, g;
  int16_t *o;
  /* single taps up to a group boundary (runs of a channel count not divisible by 4) */
  for (; i < n && ((j + i) & 3); i++) block[slot4(j + i, r)] = (int16_t)(src ? src[i] : pad);
  g = (n - i) >> 2;
  o = block + slot4(j + i, r);
  if (src) {
    const int8_t *sp = src + i;
    /* a group is one word in, its two int16 pairs out */
    for (; g > 0; g--, sp += 4, o += 16) {
      uint32_t v = load32(sp);
      int16x2_t even = __sxtb16((int8x4_t)v), odd = sxtb16_ror8(v);
      __asm__("strd %1, %2, [%0]" : : "r"(o), "r"(even), "r"(odd) : "memory");
    }
    i = sp - src;
  } else {
    uint32_t p2 = ((uint32_t)pad & 0xFFFFu) * 0x10001u;
    for (; g > 0; g--, o += 16, i += 4) __asm__("strd %1, %1, [%0]" : : "r"(o), "r"(p2) : "memory");
  }
  for (; i < n; i++) block[slot4(j + i, r)] = (int16_t)(src ? src[i] : pad);
}

/* Row r of the block: pixel q's window (q counts pixels over all batches) in filter order,
 * the raw int8 values; taps outside the image hold -in_offset, so that with in_offset *
 * sum(w) in the bias (bias_eff) they add nothing. */
static void gather4(const qb_conv_int8 *a, int32_t q, int16_t *block, int r) {
  int32_t pixels = a->oh * a->ow, b = q / pixels, p = q - b * pixels, pad = -a->in_offset;
  int32_t oy = p / a->ow, ox = p - oy * a->ow, ky, kx, j = 0, run = a->fw * a->ic;
  int32_t y0 = oy * a->stride_h - a->pad_h, x0 = ox * a->stride_w - a->pad_w;
  for (ky = 0; ky < a->fh; ky++) {
    int32_t yy = y0 + a->dil_h * ky;
    const int8_t *row;
    if (yy < 0 || yy >= a->ih) {
      put4(block, r, j, 0, run, pad);
      j += run;
      continue;
    }
    row = a->x + (b * a->ih + yy) * a->iw * a->ic;
    if (a->dil_w == 1 && x0 >= 0 && x0 + a->fw <= a->iw) {
      put4(block, r, j, row + x0 * a->ic, run, pad);
      j += run;
      continue;
    }
    for (kx = 0; kx < a->fw; kx++, j += a->ic) {
      int32_t xx = x0 + a->dil_w * kx;
      put4(block, r, j, xx < 0 || xx >= a->iw ? 0 : row + xx * a->ic, a->ic, pad);
    }
  }
}

/* n bytes from src (NULL: n copies of pad) to dst, a word at a time where it can (the
 * Cortex-M4 loads and stores words at any address). */
static inline void copy_bytes(int8_t *dst, const int8_t *src, int32_t n, int32_t pad) {
  int32_t i = 0;
  if (src) {
    for (; i + 4 <= n; i += 4) {
      uint32_t v = load32(src + i);
      __builtin_memcpy(dst + i, &v, 4);
    }
    for (; i < n; i++) dst[i] = src[i];
  } else {
    uint32_t v = ((uint32_t)pad & 0xFFu) * 0x01010101u;
    for (; i + 4 <= n; i += 4) __builtin_memcpy(dst + i, &v, 4);
    for (; i < n; i++) dst[i] = (int8_t)pad;
  }
}

/*
 * gather4() for channel counts not divisible by 4, whose runs start and end inside groups
 * (each such tap was placed on its own): the window's bytes are first copied in order to
 * st, a word at a time, then widened a group at a time.
 */
static void gather4_staged(const qb_conv_int8 *a, int32_t q, int16_t *block, int r, int8_t *st) {
  int32_t pixels = a->oh * a->ow, b = q / pixels, p = q - b * pixels, pad = -a->in_offset;
  int32_t oy = p / a->ow, ox = p - oy * a->ow, ky, kx, j = 0, run = a->fw * a->ic;
  int32_t y0 = oy * a->stride_h - a->pad_h, x0 = ox * a->stride_w - a->pad_w;
  for (ky = 0; ky < a->fh; ky++) {
    int32_t yy = y0 + a->dil_h * ky;
    const int8_t *row;
    if (yy < 0 || yy >= a->ih) {
      copy_bytes(st + j, 0, run, pad);
      j += run;
      continue;
    }
    row = a->x + (b * a->ih + yy) * a->iw * a->ic;
    if (a->dil_w == 1 && x0 >= 0 && x0 + a->fw <= a->iw) {
      copy_bytes(st + j, row + x0 * a->ic, run, pad);
      j += run;
      continue;
    }
    for (kx = 0; kx < a->fw; kx++, j += a->ic) {
      int32_t xx = x0 + a->dil_w * kx;
      copy_bytes(st + j, xx < 0 || xx >= a->iw ? 0 : row + xx * a->ic, a->ic, pad);
    }
  }
  put4(block, r, 0, st, j, pad);
}

/* put4() of the part of taps j .. j+n-1 that falls in the chunk [j0, j1), at j - j0. */
static inline void put4_clip(int16_t *block, int r, int32_t j, const int8_t *src, int32_t n, int32_t pad, int32_t j0, int32_t j1) {
  int32_t s0 = j > j0 ? j : j0, e = j + n < j1 ? j + n : j1;
  if (s0 < e) put4(block, r, s0 - j0, src ? src + (s0 - j) : 0, e - s0, pad);
}

/* gather4() of taps j0 .. j1-1 of the window only. */
static void gather4_chunk(const qb_conv_int8 *a, int32_t q, int16_t *block, int r, int32_t j0, int32_t j1) {
  int32_t pixels = a->oh * a->ow, b = q / pixels, p = q - b * pixels, pad = -a->in_offset;
  int32_t oy = p / a->ow, ox = p - oy * a->ow, ky, kx, j = 0, run = a->fw * a->ic;
  int32_t y0 = oy * a->stride_h - a->pad_h, x0 = ox * a->stride_w - a->pad_w;
  for (ky = 0; ky < a->fh && j < j1; ky++) {
    int32_t yy = y0 + a->dil_h * ky;
    const int8_t *row;
    if (j + run <= j0) {
      j += run;
      continue;
    }
    if (yy < 0 || yy >= a->ih) {
      put4_clip(block, r, j, 0, run, pad, j0, j1);
      j += run;
      continue;
    }
    row = a->x + (b * a->ih + yy) * a->iw * a->ic;
    if (a->dil_w == 1 && x0 >= 0 && x0 + a->fw <= a->iw) {
      put4_clip(block, r, j, row + x0 * a->ic, run, pad, j0, j1);
      j += run;
      continue;
    }
    for (kx = 0; kx < a->fw; kx++, j += a->ic) {
      int32_t xx = x0 + a->dil_w * kx;
      put4_clip(block, r, j, xx < 0 || xx >= a->iw ? 0 : row + xx * a->ic, a->ic, pad, j0, j1);
    }
  }
}

/* Adds the four rows' dot products with filter w over `groups` groups of four taps to
 * s[0..3]. */
static inline __attribute__((always_inline)) void dot_4x1(const int16_t *x, const int8_t *w, int32_t groups, int32_t *s0,
                                                          int32_t *s1, int32_t *s2, int32_t *s3) {
  int32_t a0 = *s0, a1 = *s1, a2 = *s2, a3 = *s3, n = groups;
  /* two groups per pass; an odd count enters at the second. LDM needs its registers in
   * ascending order, hence the fixed ones. */
  register uint32_t p0 __asm__("r8"), p1 __asm__("r9"), p2 __asm__("r10"), p3 __asm__("r11");
  uint32_t v, t;
#define QB_GROUP                            \
  "ldr %[v], [%[w]], #4\n\t"                \
  "ldm %[x]!, {r8, r9, r10, r11}\n\t"       \
  "sxtb16 %[t], %[v]\n\t"                   \
  "sxtb16 %[v], %[v], ror #8\n\t"           \
  "smlad %[a0], %[p0], %[t], %[a0]\n\t"     \
  "smlad %[a0], %[p1], %[v], %[a0]\n\t"     \
  "smlad %[a1], %[p2], %[t], %[a1]\n\t"     \
  "smlad %[a1], %[p3], %[v], %[a1]\n\t"     \
  "ldm %[x]!, {r8, r9, r10, r11}\n\t"       \
  "smlad %[a2], %[p0], %[t], %[a2]\n\t"     \
  "smlad %[a2], %[p1], %[v], %[a2]\n\t"     \
  "smlad %[a3], %[p2], %[t], %[a3]\n\t"     \
  "smlad %[a3], %[p3], %[v], %[a3]\n\t"
  __asm__ volatile(
      "lsrs %[n], %[n], #1\n\t"
      "bcc 1f\n\t"
      "adds %[n], %[n], #1\n\t"
      "b 2f\n"
      "1:\n\t" QB_GROUP "2:\n\t" QB_GROUP
      "subs %[n], %[n], #1\n\t"
      "bne 1b"
      : [x] "+r"(x), [w] "+r"(w), [n] "+r"(n), [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [p0] "=&r"(p0),
        [p1] "=&r"(p1), [p2] "=&r"(p2), [p3] "=&r"(p3), [v] "=&r"(v), [t] "=&r"(t)
      :
      : "cc", "memory");
#undef QB_GROUP
  *s0 = a0;
  *s1 = a1;
  *s2 = a2;
  *s3 = a3;
}

/*
 * qb_mbqm(acc, m, -s) + zp for |acc| < 2^30 and s >= 1, with cz = 2^(s-1) + (zp << s):
 * SMMULR of 2acc is SaturatingRoundingDoublingHighMul (rq_small() in qb_conv_int8.c), and
 * |r| < 2^30, so adding the rounding constant and the zero point before the shift cannot
 * overflow while |zp << s| <= 2^29 (s <= 22, checked per call).
 */
static inline int32_t rq4_doubled(int32_t acc2, int32_t m, int32_t s, int32_t cz) {
  int32_t r;
  __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(acc2), "r"(m));
  return (r + (r >> 31) + cz) >> s;
}
static inline int32_t rq4(int32_t acc, int32_t m, int32_t s, int32_t cz) { return rq4_doubled((int32_t)((uint32_t)acc << 1), m, s, cz); }

/* One block of four rows against every filter; y0..y3 are the rows' outputs (a repeated
 * pixel for a short last block, written twice with the same bytes). With `full` the
 * activation range is all of int8 and SSAT alone clamps. */
static inline __attribute__((always_inline)) void block_filters(const int16_t *block, const int8_t *w, int32_t k, int32_t oc,
                                                                const int32_t *bias, const int32_t *mult, const int8_t *shift,
                                                                int32_t zp, int32_t lo, int32_t hi, int full, int8_t *y0,
                                                                int8_t *y1, int8_t *y2, int8_t *y3) {
  int32_t o, groups = (k + 3) >> 2, last = oc - 1;
  for (o = 0; o < oc; o++, w += k) {
    int32_t s0 = bias ? bias[o] : 0, s1 = s0, s2 = s0, s3 = s0, m = mult[o], s = -shift[o], cz, i;
    if (o < last || !(k & 3)) {
      dot_4x1(block, w, groups, &s0, &s1, &s2, &s3);
    } else {
      /* the last filter's last group would read past the weights: its taps one by one */
      const int16_t *g = block + 16 * (k >> 2);
      if (k >> 2) dot_4x1(block, w, k >> 2, &s0, &s1, &s2, &s3);
      for (i = 0; i < (k & 3); i++) {
        int32_t wi = w[(k & ~3) + i], at = ((i & 1) << 1) + ((i >> 1) & 1);
        s0 += g[at] * wi;
        s1 += g[4 + at] * wi;
        s2 += g[8 + at] * wi;
        s3 += g[12 + at] * wi;
      }
    }
    cz = (1 << (s - 1)) + (int32_t)((uint32_t)zp << s);
    s0 = rq4(s0, m, s, cz);
    s1 = rq4(s1, m, s, cz);
    s2 = rq4(s2, m, s, cz);
    s3 = rq4(s3, m, s, cz);
    if (full) {
      y0[o] = (int8_t)__ssat(s0, 8);
      y1[o] = (int8_t)__ssat(s1, 8);
      y2[o] = (int8_t)__ssat(s2, 8);
      y3[o] = (int8_t)__ssat(s3, 8);
    } else {
      y0[o] = (int8_t)(s0 < lo ? lo : s0 > hi ? hi : s0);
      y1[o] = (int8_t)(s1 < lo ? lo : s1 > hi ? hi : s1);
      y2[o] = (int8_t)(s2 < lo ? lo : s2 > hi ? hi : s2);
      y3[o] = (int8_t)(s3 < lo ? lo : s3 > hi ? hi : s3);
    }
  }
}

/*
 * block_filters() for the whole int8 range as activation range, in
 * one assembly block: gcc kept the filter loop's pointers and constants on the stack and
 * moved them one by one around each dot product (about 70 instructions per filter and
 * block); here they live in the context below, read and written a few words at a time.
 * The dot product is a body of eight groups entered at the right group for the remainder,
 * so a filter of g groups costs 2 * ceil(g / 8) instructions of loop control.
 */
typedef struct {
  const int32_t *mult; /* 0: the next filter's multiplier */
  const int8_t *shift; /* 4 */
  int8_t *y;           /* 8: the next filter's output in row 0 */
  const int32_t *bias; /* 12: the bias after the next filter's (bias_eff: a bias array even when the op has none) */
  const int16_t *block; /* 16 */
  int32_t passes;      /* 20: ceil(groups / 8) */
  uint32_t entry;      /* 24: where the first pass enters the body (Thumb address) */
  int32_t oc;          /* 28: output row stride */
  int32_t zc;          /* 32: 2 * zp + 1, see rq4(): 2^(s-1) + (zp << s) = zc << (s - 1) */
  int8_t *y_end;       /* 36 */
  const int8_t *w;     /* 40 */
  uint32_t skip;       /* 44: bytes of the body the first pass skips */
  int32_t first_bias;  /* 48 */
  int32_t wstep;       /* 52: k - 4 * groups, for block_filters_asm_step */
  int32_t *part;       /* 56: chunked windows: the next filter's four partial sums */
} m4_ctx;

/* One group of four taps: 13 instructions, 52 bytes (every one a 32-bit encoding, so the
 * entry offset is a multiple of the group count). */
#define QB_G                             \
  "ldr.w r12, [r1], #4\n\t"              \
  "ldmia.w r0!, {r8, r9, r10, r11}\n\t"  \
  "sxtb16 lr, r12\n\t"                   \
  "sxtb16 r12, r12, ror #8\n\t"          \
  "smlad r3, r8, lr, r3\n\t"             \
  "smlad r3, r9, r12, r3\n\t"            \
  "smlad r4, r10, lr, r4\n\t"            \
  "smlad r4, r11, r12, r4\n\t"           \
  "ldmia.w r0!, {r8, r9, r10, r11}\n\t"  \
  "smlad r5, r8, lr, r5\n\t"             \
  "smlad r5, r9, r12, r5\n\t"            \
  "smlad r6, r10, lr, r6\n\t"            \
  "smlad r6, r11, r12, r6\n\t"
#define QB_RQ(r)                          \
  "lsl " r ", " r ", #1\n\t"             \
  "smmulr " r ", " r ", r12\n\t"         \
  "add " r ", " r ", " r ", asr #31\n\t" \
  "add " r ", " r ", r2\n\t"             \
  "asr " r ", " r ", lr\n\t"             \
  "ssat " r ", #8, " r "\n\t"

/* One function per window length: whole groups, or with the filter pointer moved back
 * after each filter over the padding taps of its last group (WSTEP). */
#define QB_BLOCK_ASM(name, WSTEP, INIT, END) \
static void name(m4_ctx *c) { \
  __asm__ volatile( \
      "push {r0-r12, lr}\n\t" \
      "mov r7, %[c]\n\t" \
      "adr r12, 2f\n\t" \
      "ldr r0, [r7, #44]\n\t" \
      "add r12, r12, r0\n\t" \
      "orr r12, r12, #1\n\t" \
      "str r12, [r7, #24]\n\t" \
      "ldr r1, [r7, #40]\n\t" \
      "ldr r3, [r7, #48]\n" \
      "1:\n\t" \
      "ldrd r0, r2, [r7, #16]\n\t" \
      INIT \
      "ldr pc, [r7, #24]\n\t" \
      ".p2align 2\n" \
      "2:\n\t" QB_G QB_G QB_G QB_G QB_G QB_G QB_G QB_G \
      "subs r2, r2, #1\n\t" \
      "bne 2b\n\t" \
      WSTEP END "ldm r7, {r8, r9, r10, r11}\n\t" \
      "ldr r12, [r8], #4\n\t" \
      "ldrsb lr, [r9], #1\n\t" \
      "mvn lr, lr\n\t" \
      "ldrd r0, r2, [r7, #28]\n\t" \
      "lsl r2, r2, lr\n\t" \
      "add lr, lr, #1\n\t" \
      QB_RQ("r3") QB_RQ("r4") QB_RQ("r5") QB_RQ("r6") \
      "strb r3, [r10]\n\t" \
      "strb r4, [r10, r0]\n\t" \
      "add r2, r10, r0, lsl #1\n\t" \
      "strb r5, [r2]\n\t" \
      "strb r6, [r2, r0]\n\t" \
      "add r10, r10, #1\n\t" \
      "ldr r0, [r7, #36]\n\t" \
      "cmp r10, r0\n\t" \
      "it ne\n\t" \
      "ldrne r3, [r11], #4\n\t" \
      "stm r7, {r8, r9, r10, r11}\n\t" \
      "bne 1b\n\t" \
      "pop {r0-r12, lr}" \
      : \
      : [c] "r"(c) \
      : "cc", "memory"); \
}
#define QB_STEP "ldr r0, [r7, #52]\n\tadd r1, r1, r0\n\t"
#define QB_FROM_BIAS "mov r4, r3\n\tmov r5, r3\n\tmov r6, r3\n\t"
#define QB_FROM_PART "ldr r8, [r7, #56]\n\tldm r8, {r3, r4, r5, r6}\n\t"
#define QB_PART_NEXT "ldr r0, [r7, #56]\n\tadd r0, r0, #16\n\tstr r0, [r7, #56]\n\t"
QB_BLOCK_ASM(block_filters_asm, "", QB_FROM_BIAS, "")
QB_BLOCK_ASM(block_filters_asm_step, QB_STEP, QB_FROM_BIAS, "")
/* the last chunk of a window too long for the scratch area: from the partial sums */
QB_BLOCK_ASM(block_filters_asm_last, QB_STEP, QB_FROM_PART, QB_PART_NEXT)
#undef QB_BLOCK_ASM

/* The other chunks: the four sums stored as partial sums instead of requantized; y only
 * counts the filters. */
#define QB_CHUNK_ASM(name, INIT)                \
  static void name(m4_ctx *c) {                 \
    __asm__ volatile("push {r0-r12, lr}\n\t"   \
                     "mov r7, %[c]\n\t"         \
                     "adr r12, 2f\n\t"          \
                     "ldr r0, [r7, #44]\n\t"    \
                     "add r12, r12, r0\n\t"     \
                     "orr r12, r12, #1\n\t"     \
                     "str r12, [r7, #24]\n\t"   \
                     "ldr r1, [r7, #40]\n\t"    \
                     "ldr r3, [r7, #48]\n"       \
                     "1:\n\t"                   \
                     "ldrd r0, r2, [r7, #16]\n\t" INIT "ldr pc, [r7, #24]\n\t" \
                     ".p2align 2\n"              \
                     "2:\n\t" QB_G QB_G QB_G QB_G QB_G QB_G QB_G QB_G \
                     "subs r2, r2, #1\n\t"      \
                     "bne 2b\n\t" QB_STEP       \
                     "ldr r8, [r7, #56]\n\t"    \
                     "stm r8!, {r3, r4, r5, r6}\n\t" \
                     "str r8, [r7, #56]\n\t"    \
                     "ldrd r10, r11, [r7, #8]\n\t" \
                     "add r10, r10, #1\n\t"     \
                     "ldr r0, [r7, #36]\n\t"    \
                     "cmp r10, r0\n\t"          \
                     "it ne\n\t"                \
                     "ldrne r3, [r11], #4\n\t"  \
                     "strd r10, r11, [r7, #8]\n\t" \
                     "bne 1b\n\t"               \
                     "pop {r0-r12, lr}"          \
                     :                           \
                     : [c] "r"(c)                \
                     : "cc", "memory");          \
  }
QB_CHUNK_ASM(block_filters_asm_first, QB_FROM_BIAS)
QB_CHUNK_ASM(block_filters_asm_middle, QB_FROM_PART)
#undef QB_CHUNK_ASM
#undef QB_STEP
#undef QB_FROM_BIAS
#undef QB_FROM_PART
#undef QB_PART_NEXT
#undef QB_G
#undef QB_RQ

/* Bytes of the four-row block for k taps. */
static uint32_t block_bytes(int32_t k) { return (uint32_t)((k + 3) & ~3) * 4 * 2; }

int qb_conv_int8_m4(const qb_conv_int8 *a) {
  int32_t k = a->fh * a->fw * a->ic, total = a->n * a->oh * a->ow, q, i, oc = a->oc;
  int16_t *block = (int16_t *)a->scratch;
  int64_t most = (int64_t)k * 255 * 128, b = 0;
  int full = a->lo == -128 && a->hi == 127;
  /* chunked windows: taps of as many whole groups as fit beside 4 * oc partial sums */
  int32_t chunk = a->scratch_bytes > 16u * (uint32_t)oc ? (int32_t)((a->scratch_bytes - 16u * (uint32_t)oc) / 32u) * 4 : 0;
  int chunked = block_bytes(k) > a->scratch_bytes && full && total >= 4 && !(k & 3) && chunk >= 32;
  if (block_bytes(k) > a->scratch_bytes && !chunked) return 0;
  if (!a->bias_eff) return 0;
  for (i = 0; i < oc; i++) {
    int64_t v = a->bias ? a->bias[i] : 0;
    v = v < 0 ? -v : v;
    if (v > b) b = v;
    if (a->shift[i] >= 0 || a->shift[i] < -22) return 0;
  }
  if (most + b >= ((int64_t)1 << 30)) return 0;
  if (chunked) {
    m4_ctx c;
    int32_t *part = (int32_t *)(void *)((int8_t *)block + block_bytes(chunk)), j0, r;
    c.oc = oc;
    c.zc = 2 * a->out_zp + 1;
    c.block = block;
    for (q = 0; q < total; q += 4) {
      int32_t q0 = q + 4 <= total ? q : total - 4;
      for (j0 = 0; j0 < k; j0 += chunk) {
        int32_t len = k - j0 < chunk ? k - j0 : chunk, groups = len >> 2;
        for (r = 0; r < 4; r++) gather4_chunk(a, q0 + r, block, r, j0, j0 + len);
        c.passes = (groups + 7) >> 3;
        c.skip = (uint32_t)(8 * c.passes - groups) * 52u;
        c.wstep = k - len;
        c.mult = a->mult;
        c.shift = a->shift;
        c.y = a->y + q0 * oc;
        c.y_end = c.y + oc;
        c.first_bias = a->bias_eff[0];
        c.bias = a->bias_eff + 1;
        c.w = a->w + j0;
        c.part = part;
        if (j0 == 0)
          block_filters_asm_first(&c);
        else if (j0 + len < k)
          block_filters_asm_middle(&c);
        else
          block_filters_asm_last(&c);
      }
    }
    return 1;
  }
  /* the padding slots of the last group, which gather4 never writes */
  for (i = k; i < ((k + 3) & ~3); i++) {
    block[slot4(i, 0)] = 0;
    block[slot4(i, 1)] = 0;
    block[slot4(i, 2)] = 0;
    block[slot4(i, 3)] = 0;
  }
  /* the padded copy of the last filter is needed only when groups are not whole */
  if (full && total >= 4 && block_bytes(k) + (k & 3 ? (uint32_t)((k + 3) & ~3) : 0u) <= a->scratch_bytes) {
    /* the last block starts at total - 4: pixels computed twice get the same bytes */
    m4_ctx c;
    int32_t groups = (k + 3) >> 2;
    int8_t *last = (int8_t *)block + block_bytes(k);
    if (k & 3) {
      /* the last filter's last group would read past the weights: it runs from a copy
       * padded with zeros (the block's padding taps are 0 as well) */
      for (i = 0; i < ((k + 3) & ~3); i++) last[i] = i < k ? a->w[(oc - 1) * k + i] : 0;
    }
    c.wstep = k - 4 * groups;
    c.passes = (groups + 7) >> 3;
    c.skip = (uint32_t)(8 * c.passes - groups) * 52u;
    c.oc = oc;
    c.zc = 2 * a->out_zp + 1;
    c.block = block;
    /* after the block and the padded filter copy, room for a staged window */
    int8_t *st = last + ((k + 3) & ~3);
    int staged = (a->ic & 3) && block_bytes(k) + 2u * (uint32_t)((k + 3) & ~3) <= a->scratch_bytes;
    for (q = 0; q < total; q += 4) {
      int32_t q0 = q + 4 <= total ? q : total - 4;
      if (staged) {
        gather4_staged(a, q0, block, 0, st);
        gather4_staged(a, q0 + 1, block, 1, st);
        gather4_staged(a, q0 + 2, block, 2, st);
        gather4_staged(a, q0 + 3, block, 3, st);
      } else {
        gather4(a, q0, block, 0);
        gather4(a, q0 + 1, block, 1);
        gather4(a, q0 + 2, block, 2);
        gather4(a, q0 + 3, block, 3);
      }
      c.mult = a->mult;
      c.shift = a->shift;
      c.y = a->y + q0 * oc;
      c.y_end = c.y + oc;
      c.first_bias = a->bias_eff[0];
      c.bias = a->bias_eff + 1;
      c.w = a->w;
      if (!(k & 3)) {
        block_filters_asm(&c);
        continue;
      }
      if (oc > 1) {
        c.y_end = c.y + oc - 1;
        block_filters_asm_step(&c);
      }
      /* mult, shift and y have moved on to the last filter */
      c.y_end = a->y + q0 * oc + oc;
      c.first_bias = a->bias_eff[oc - 1];
      c.w = last;
      block_filters_asm_step(&c);
    }
    return 1;
  }
  for (q = 0; q < total; q += 4) {
    int32_t q1 = q + 1 < total ? q + 1 : total - 1, q2 = q + 2 < total ? q + 2 : total - 1, q3 = q + 3 < total ? q + 3 : total - 1;
    gather4(a, q, block, 0);
    gather4(a, q1, block, 1);
    gather4(a, q2, block, 2);
    gather4(a, q3, block, 3);
    if (full)
      block_filters(block, a->w, k, oc, a->bias_eff, a->mult, a->shift, a->out_zp, a->lo, a->hi, 1, a->y + q * oc, a->y + q1 * oc,
                    a->y + q2 * oc, a->y + q3 * oc);
    else
      block_filters(block, a->w, k, oc, a->bias_eff, a->mult, a->shift, a->out_zp, a->lo, a->hi, 0, a->y + q * oc, a->y + q1 * oc,
                    a->y + q2 * oc, a->y + q3 * oc);
  }
  return 1;
}

/* ---- FULLY_CONNECTED ---------------------------------------------------------------- */

/*
 * One input row against four filters per pass: per four taps the row's two int16 pairs in
 * one LDRD, then per filter LDR, two SXTB16 and two SMLAD: 21 instructions per 16 MACs
 * (the two-filter C loop took 17 per 8). The row is x + in_offset as int16 in groups of
 * four stored t0,t2,t1,t3, built once per batch. Depth a multiple of 4, sums within 2^30
 * and shifts -22 to -1 (rq4()), as every layer of the shared models; else 0.
 */
/* The row, the four filters, the group count and the four sums, in the order one LDM
 * takes them into r0-r9: gcc found no registers for fourteen operands here. */
typedef struct {
  const int16_t *x;
  const int8_t *w[4];
  int32_t groups;
  int32_t acc[4];
} fc_ctx;

static void dot_1x4(fc_ctx *c) {
#define QB_F(p, a)                 \
  "ldr r12, [" p "], #4\n\t"      \
  "sxtb16 lr, r12\n\t"            \
  "sxtb16 r12, r12, ror #8\n\t"   \
  "smlad " a ", r10, lr, " a "\n\t" \
  "smlad " a ", r11, r12, " a "\n\t"
#define QB_GROUP "ldrd r10, r11, [r0], #8\n\t" QB_F("r1", "r6") QB_F("r2", "r7") QB_F("r3", "r8") QB_F("r4", "r9")
  __asm__ volatile(
      "push {r0-r12, lr}\n\t"
      "mov r12, %[c]\n\t"
      "push {r12}\n\t"
      "ldm r12, {r0, r1, r2, r3, r4, r5, r6, r7, r8, r9}\n\t"
      "lsrs r5, r5, #1\n\t"
      "bcc 1f\n\t"
      "adds r5, r5, #1\n\t"
      "b 2f\n"
      "1:\n\t" QB_GROUP "2:\n\t" QB_GROUP
      "subs r5, r5, #1\n\t"
      "bne 1b\n\t"
      "pop {r12}\n\t"
      "add r12, r12, #24\n\t"
      "stm r12, {r6, r7, r8, r9}\n\t"
      "pop {r0-r12, lr}"
      :
      : [c] "r"(c)
      : "cc", "memory");
#undef QB_GROUP
#undef QB_F
}

int qb_fc_int8_m4(const qb_fc_int8 *a) {
  int32_t depth = a->depth, units = a->units, groups = depth >> 2, zp = a->out_zp, lo = a->lo, hi = a->hi, b, o, i;
  int16_t *row = (int16_t *)a->scratch;
  int64_t most = (int64_t)depth * 255 * 128, big = 0;
  int16x2_t off2 = (int16x2_t)(((uint32_t)a->in_offset & 0xFFFFu) * 0x10001u);
  if ((depth & 3) || depth == 0 || a->w_offset != 0) return 0;
  for (o = 0; o < units; o++) {
    int64_t v = a->bias ? a->bias[o] : 0;
    v = v < 0 ? -v : v;
    if (v > big) big = v;
    if (a->shift[o] >= 0 || a->shift[o] < -22) return 0;
  }
  if (most + big >= ((int64_t)1 << 30)) return 0;
  for (b = 0; b < a->batches; b++) {
    const int8_t *x = a->x + b * depth;
    int8_t *y = a->y + b * units;
    /* qb_fc_int8_scratch() holds two rows of depth int16: this is one */
    for (i = 0; i < groups; i++) {
      uint32_t v = load32(x + 4 * i);
      int16x2_t even = __sadd16(__sxtb16((int8x4_t)v), off2), odd = __sadd16(sxtb16_ror8(v), off2);
      __builtin_memcpy(row + 4 * i, &even, 4);
      __builtin_memcpy(row + 4 * i + 2, &odd, 4);
    }
    for (o = 0; o < units; o += 4) {
      /* a short last pass repeats its last filter and keeps only the real outputs */
      fc_ctx c;
      int32_t j, m = units - o < 4 ? units - o : 4;
      for (j = 0; j < 4; j++) {
        int32_t u = o + (j < m ? j : m - 1);
        c.w[j] = a->w + u * depth;
        c.acc[j] = a->bias ? a->bias[u] : 0;
      }
      c.x = row;
      c.groups = groups;
      dot_1x4(&c);
      for (j = 0; j < m; j++) {
        int32_t s = -a->shift[o + j], q = rq4(c.acc[j], a->mult[o + j], s, (1 << (s - 1)) + (int32_t)((uint32_t)zp << s));
        y[o + j] = (int8_t)(q < lo ? lo : q > hi ? hi : q);
      }
    }
  }
  return 1;
}

/* ---- same-shape ADD / SUB ---------------------------------------------------------- */

/* qb_mbqm((v + offset) << 20, m, shift) for shift <= 0, as qb_conv_int8.c's scale_no_left():
 * for shift < 0 the two roundings folded into one 64-bit sum (rq_right() there). */
static int32_t scale_operand(int32_t v, int32_t m, int32_t shift) {
  int32_t x = (int32_t)((uint32_t)v << 20), sh;
  int64_t k, p;
  if (shift == 0) return (int32_t)(((int64_t)x * m + (1 << 30)) >> 31);
  sh = -shift - 1;
  k = shift == -1 ? (int64_t)0xC0000000u : (int64_t)(((uint64_t)(1u << (-shift - 2)) << 32) | 0x40000000u);
  p = k + (int64_t)x * m - (int64_t)((uint32_t)x & 0x80000000u);
  return (int32_t)(p >> 32) >> sh;
}

/*
 * Each operand's 256 rescaled values are tabulated (doubled, for SMMULR), then an element
 * is two loads from the tables, their sum and rq4()'s requantization: 12 instructions,
 * four elements per pass. The sums stay within +-2^29 (each rescaled operand is at most
 * 255 << 20 times a multiplier below 1), so SMMULR's form applies to every output; the
 * output shift must be -22 to -1 (the zero point is added before the shift, as in rq4())
 * and the activation range all of int8. Other cases return 0.
 */
int qb_add_int8_m4(const qb_add_int8 *a) {
  int32_t *ta, *tb, v, s = -a->so, n4 = a->n & ~3, i;
  int32_t cz;
  if (!a->table || a->s1 > 0 || a->s2 > 0 || a->so > -1 || a->so < -22 || a->m1 < 0 || a->m2 < 0 || a->mo < 0) return 0;
  if (a->lo != -128 || a->hi != 127) return 0;
  ta = a->table + 128;
  tb = a->table + 384;
  for (v = -128; v < 128; v++) {
    int32_t sb = scale_operand(v + a->b_offset, a->m2, a->s2);
    ta[v] = 2 * scale_operand(v + a->a_offset, a->m1, a->s1);
    tb[v] = 2 * (a->sub ? -sb : sb);
  }
  cz = (1 << (s - 1)) + (int32_t)((uint32_t)a->out_zp << s);
  if (n4) {
    const int8_t *x = a->a, *z = a->b, *end = a->a + n4;
    int8_t *y = a->y;
    uint32_t xv, zv, t, u;
#define QB_E(ror)                              \
  "sxtb %[t], %[xv]" ror "\n\t"               \
  "sxtb %[u], %[zv]" ror "\n\t"               \
  "ldr %[t], [%[ta], %[t], lsl #2]\n\t"      \
  "ldr %[u], [%[tb], %[u], lsl #2]\n\t"      \
  "add %[t], %[t], %[u]\n\t"                 \
  "smmulr %[t], %[t], %[m]\n\t"              \
  "add %[t], %[t], %[t], asr #31\n\t"        \
  "add %[t], %[t], %[cz]\n\t"                \
  "asr %[t], %[t], %[s]\n\t"                 \
  "ssat %[t], #8, %[t]\n\t"                  \
  "strb %[t], [%[y]], #1\n\t"
    __asm__ volatile(
        "1:\n\t"
        "ldr %[xv], [%[x]], #4\n\t"
        "ldr %[zv], [%[z]], #4\n\t" QB_E("") QB_E(", ror #8") QB_E(", ror #16") QB_E(", ror #24")
        "cmp %[x], %[end]\n\t"
        "bne 1b"
        : [x] "+r"(x), [z] "+r"(z), [y] "+r"(y), [xv] "=&r"(xv), [zv] "=&r"(zv), [t] "=&r"(t), [u] "=&r"(u)
        : [end] "r"(end), [ta] "r"(ta), [tb] "r"(tb), [m] "r"(a->mo), [cz] "r"(cz), [s] "r"(s)
        : "cc", "memory");
#undef QB_E
  }
  for (i = n4; i < a->n; i++) a->y[i] = (int8_t)__ssat(rq4_doubled(ta[a->a[i]] + tb[a->b[i]], a->mo, s, cz), 8);
  return 1;
}

#else
/* ISO C wants at least one declaration in a translation unit. */
typedef int qb_conv_int8_m4_is_cortex_m4_only;
#endif
