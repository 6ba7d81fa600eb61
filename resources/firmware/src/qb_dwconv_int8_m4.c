/*
 * Cortex-M4 (DSP extension) DEPTHWISE_CONV_2D for 3x3 windows at stride 1 or 2, depth
 * multiplier 1: the layers of DS-CNN and MobileNet style models. Other shapes take the
 * kernels of qb_conv_int8.c.
 *
 * Channel by channel (two channels per copy at stride 1), the input is copied once into a
 * plane of int16 lines (see qb_dw_plane in qb_kernels.h), the input zero point standing in
 * for taps outside the image. Along a line two outputs share each plane line's two words
 * (x0,x1) and (x2,x3):
 *   out0 = x0*w0 + x1*w1 + x2*w2 = SMLAD(x01, w01) + SMLABT(x23, w12)
 *   out1 = x1*w0 + x2*w1 + x3*w2 = SMLATB(x01, w01) + SMLAD(x23, w12)
 * so six MACs take one LDRD and four multiply-accumulates, and only the two weight pairs
 * w01 and w12 of each window row are held in registers. At stride 2 the second output is
 * SMLAD(x23, w01) + SMLABT(x45, w12), one more load per row.
 *
 * Why it is exact: as in qb_dwconv_int8_fast, the sum is bias_eff + sum(x * w) with
 * bias_eff = bias + in_offset * sum(w), which wraps to the reference's sum; the zero point
 * read outside the image cancels that tap's share of the fold. The requantization is
 * either TFLite's qb_mbqm itself, or, for channels whose sums provably stay within 2^30,
 * SMMLAR (see requant_small).
 */
#include "qb_dsp.h"
#include "qb_kernels.h"

#if QB_DSP

/* (lo, hi) as an int16 pair */
static inline uint32_t pair16(int32_t lo, int32_t hi) { return ((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16); }

/* n input values `stride` bytes apart into a plane line, two per store (d may be only
 * halfword aligned: STR takes that, STRD would fault) */
static void copy_line(int16_t *d, const int8_t *s, int32_t stride, int32_t n) {
  int32_t i = n >> 2;
  if (i) {
    int32_t a, b, c, e;
    __asm__ volatile(
        "1:\n\t"
        "ldrsb %[a], [%[s]]\n\t"
        "ldrsb %[b], [%[s], %[st]]\n\t"
        "add %[s], %[s], %[st], lsl #1\n\t"
        "ldrsb %[c], [%[s]]\n\t"
        "ldrsb %[e], [%[s], %[st]]\n\t"
        "add %[s], %[s], %[st], lsl #1\n\t"
        "pkhbt %[a], %[a], %[b], lsl #16\n\t"
        "pkhbt %[c], %[c], %[e], lsl #16\n\t"
        "str %[a], [%[d]], #4\n\t"
        "str %[c], [%[d]], #4\n\t"
        "subs %[i], %[i], #1\n\t"
        "bne 1b"
        : [a] "=&r"(a), [b] "=&r"(b), [c] "=&r"(c), [e] "=&r"(e), [s] "+r"(s), [d] "+r"(d), [i] "+r"(i)
        : [st] "r"(stride)
        : "cc", "memory");
  }
  for (i = 0; i < (n & 3); i++, s += stride) d[i] = s[0];
}

/* copy_line() for channels c and c + 1 at once, into d and d + dp bytes: a halfword holds
 * both channels' bytes of a pixel; two pixels' halfwords packed into one word give both
 * channels' int16 pairs through SXTB16 and SXTB16 ROR 8. */
static void copy_line2(int16_t *d, int32_t dp, const int8_t *s, int32_t stride, int32_t n) {
  int32_t i = n >> 2;
  if (i) {
    int32_t a, b, c, e;
    __asm__ volatile(
        "1:\n\t"
        "ldrh %[a], [%[s]]\n\t"
        "ldrh %[b], [%[s], %[st]]\n\t"
        "add %[s], %[s], %[st], lsl #1\n\t"
        "ldrh %[c], [%[s]]\n\t"
        "ldrh %[e], [%[s], %[st]]\n\t"
        "add %[s], %[s], %[st], lsl #1\n\t"
        "pkhbt %[a], %[a], %[b], lsl #16\n\t"
        "pkhbt %[c], %[c], %[e], lsl #16\n\t"
        "sxtb16 %[b], %[a], ror #8\n\t"
        "sxtb16 %[a], %[a]\n\t"
        "sxtb16 %[e], %[c], ror #8\n\t"
        "sxtb16 %[c], %[c]\n\t"
        "str %[b], [%[d], %[dp]]\n\t"
        "str %[a], [%[d]], #4\n\t"
        "str %[e], [%[d], %[dp]]\n\t"
        "str %[c], [%[d]], #4\n\t"
        "subs %[i], %[i], #1\n\t"
        "bne 1b"
        : [a] "=&r"(a), [b] "=&r"(b), [c] "=&r"(c), [e] "=&r"(e), [s] "+r"(s), [d] "+r"(d), [i] "+r"(i)
        : [st] "r"(stride), [dp] "r"(dp)
        : "cc", "memory");
  }
  for (i = 0; i < (n & 3); i++, s += stride) {
    d[i] = s[0];
    d[i + dp / 2] = s[1];
  }
}

static void fill16(int16_t *d, int16_t v, int32_t n) {
  int32_t i;
  for (i = 0; i < n; i++) d[i] = v;
}

/*
 * The sums of one output line, `pairs` pairs of outputs, from plane lines p, p + pitch and
 * p + 2 * pitch; wb holds each window row's (w0,w1) and (w1,w2), then the bias. Each pair
 * is three LDRD, twelve multiply-accumulates (the first two start from the bias) and one
 * STRD: all fourteen registers are in use, so the line pitch is an immediate offset and
 * each pitch gets its own copy of the loop.
 *   void qb_dw_line_<pitch>(const int16_t *p, int32_t *acc, int32_t pairs, const int32_t *wb)
 */
__asm__(
    "  .syntax unified\n"
    "  .macro QB_DW_LINE pitch\n"
    "  .pushsection .text.qb_dw_line_\\pitch,\"ax\",%progbits\n"
    "  .align 2\n"
    "  .global qb_dw_line_\\pitch\n"
    "  .thumb\n"
    "  .thumb_func\n"
    "  .type qb_dw_line_\\pitch, %function\n"
    "qb_dw_line_\\pitch:\n"
    "  push {r4-r11, lr}\n"
    "  ldm r3, {r4-r9}\n"
    "  ldr r3, [r3, #24]\n"
    "1:\n"
    "  ldrd r10, r11, [r0, #(2 * \\pitch)]\n"
    "  smlad r12, r10, r6, r3\n"
    "  smlatb lr, r10, r6, r3\n"
    "  smlabt r12, r11, r7, r12\n"
    "  smlad lr, r11, r7, lr\n"
    "  ldrd r10, r11, [r0, #(4 * \\pitch)]\n"
    "  smlad r12, r10, r8, r12\n"
    "  smlatb lr, r10, r8, lr\n"
    "  smlabt r12, r11, r9, r12\n"
    "  smlad lr, r11, r9, lr\n"
    "  ldrd r10, r11, [r0], #4\n"
    "  smlad r12, r10, r4, r12\n"
    "  smlatb lr, r10, r4, lr\n"
    "  smlabt r12, r11, r5, r12\n"
    "  smlad lr, r11, r5, lr\n"
    "  strd r12, lr, [r1], #8\n"
    "  subs r2, r2, #1\n"
    "  bne 1b\n"
    "  pop {r4-r11, pc}\n"
    "  .size qb_dw_line_\\pitch, . - qb_dw_line_\\pitch\n"
    "  .popsection\n"
    "  .endm\n"
    "  QB_DW_LINE 16\n"
    "  QB_DW_LINE 32\n"
    "  QB_DW_LINE 64\n"
    "  QB_DW_LINE 128\n"
    "  QB_DW_LINE 254\n");

typedef void qb_dw_line_fn(const int16_t *p, int32_t *acc, int32_t pairs, const int32_t *wb);
qb_dw_line_fn qb_dw_line_16, qb_dw_line_32, qb_dw_line_64, qb_dw_line_128, qb_dw_line_254;

/*
 * The same sums requantized as they come out, for channels that take requant_small()'s
 * arithmetic and layers without a clamp inside int8 (lo = -128, hi = 127, as after most
 * RELUs): no line of sums goes through memory. The fourteen registers cannot hold the
 * weights and the requantization constants at once, so each pair reloads both with one
 * LDMDB (weights, and the bias into both sums) and one LDM (multiplier, cz, right shift,
 * output step) from either side of k:
 *   k[-8..-1] = (w0,w1), (w1,w2) per window row, bias, bias; k[0..4] = m, cz, right,
 *   output step in bytes, 1 when a last single output follows the pairs.
 *   void qb_dw_line_rq<stride>_<pitch>(const int16_t *p, int8_t *y, int32_t pairs, const int32_t *k)
 */
__asm__(
    /* at stride 2 the pair's second output starts at (x2,x3), its third tap at x4 */
    "  .macro QB_DW_ROW2 off, a, c\n"
    "  ldrd r10, r11, [r0, #(\\off)]\n"
    "  smlad r12, r10, \\a, r12\n"
    "  smlabt r12, r11, \\c, r12\n"
    "  smlad lr, r11, \\a, lr\n"
    "  ldr r10, [r0, #(\\off + 8)]\n"
    "  smlabt lr, r10, \\c, lr\n"
    "  .endm\n"
    "  .macro QB_DW_PAIR pitch, stride\n"
    "  ldmdb r3, {r4-r9, r12, lr}\n"
    "  .if \\stride == 1\n"
    "  ldrd r10, r11, [r0, #(2 * \\pitch)]\n"
    "  smlad r12, r10, r6, r12\n"
    "  smlatb lr, r10, r6, lr\n"
    "  smlabt r12, r11, r7, r12\n"
    "  smlad lr, r11, r7, lr\n"
    "  ldrd r10, r11, [r0, #(4 * \\pitch)]\n"
    "  smlad r12, r10, r8, r12\n"
    "  smlatb lr, r10, r8, lr\n"
    "  smlabt r12, r11, r9, r12\n"
    "  smlad lr, r11, r9, lr\n"
    "  ldrd r10, r11, [r0], #4\n"
    "  smlad r12, r10, r4, r12\n"
    "  smlatb lr, r10, r4, lr\n"
    "  smlabt r12, r11, r5, r12\n"
    "  smlad lr, r11, r5, lr\n"
    "  .else\n"
    "  QB_DW_ROW2 (2 * \\pitch), r6, r7\n"
    "  QB_DW_ROW2 (4 * \\pitch), r8, r9\n"
    "  QB_DW_ROW2 0, r4, r5\n"
    "  add r0, r0, #8\n"
    "  .endif\n"
    "  ldm r3, {r4-r7}\n"
    "  smmlar r8, r12, r4, r5\n"
    "  smmlar r9, lr, r4, r5\n"
    "  add r8, r8, r12, asr #31\n"
    "  add r9, r9, lr, asr #31\n"
    "  asr r8, r8, r6\n"
    "  asr r9, r9, r6\n"
    "  ssat r8, #8, r8\n"
    "  ssat r9, #8, r9\n"
    "  .endm\n"
    /* the first output of a pair only, for the last of an odd count (the same taps at
     * either stride) */
    "  .macro QB_DW_ONE pitch\n"
    "  ldmdb r3, {r4-r9, r12, lr}\n"
    "  ldrd r10, r11, [r0, #(2 * \\pitch)]\n"
    "  smlad r12, r10, r6, r12\n"
    "  smlabt r12, r11, r7, r12\n"
    "  ldrd r10, r11, [r0, #(4 * \\pitch)]\n"
    "  smlad r12, r10, r8, r12\n"
    "  smlabt r12, r11, r9, r12\n"
    "  ldrd r10, r11, [r0]\n"
    "  smlad r12, r10, r4, r12\n"
    "  smlabt r12, r11, r5, r12\n"
    "  ldm r3, {r4-r7}\n"
    "  smmlar r8, r12, r4, r5\n"
    "  add r8, r8, r12, asr #31\n"
    "  asr r8, r8, r6\n"
    "  ssat r8, #8, r8\n"
    "  strb r8, [r1]\n"
    "  .endm\n"
    "  .macro QB_DW_PAIR_STORE pitch, stride\n"
    "  QB_DW_PAIR \\pitch, \\stride\n"
    "  strb r8, [r1]\n"
    "  strb r9, [r1, r7]\n"
    "  add r1, r1, r7, lsl #1\n"
    "  .endm\n"
    "  .macro QB_DW_LINE_RQ pitch, stride\n"
    "  .pushsection .text.qb_dw_line_rq\\stride\\()_\\pitch,\"ax\",%progbits\n"
    "  .align 2\n"
    "  .global qb_dw_line_rq\\stride\\()_\\pitch\n"
    "  .thumb\n"
    "  .thumb_func\n"
    "  .type qb_dw_line_rq\\stride\\()_\\pitch, %function\n"
    "qb_dw_line_rq\\stride\\()_\\pitch:\n"
    "  push {r4-r11, lr}\n"
    /* two pairs per pass, then the pair and the single output left over */
    "  subs r2, r2, #2\n"
    "  blt 2f\n"
    "1:\n"
    "  QB_DW_PAIR_STORE \\pitch, \\stride\n"
    "  QB_DW_PAIR_STORE \\pitch, \\stride\n"
    "  subs r2, r2, #2\n"
    "  bge 1b\n"
    "2:\n"
    "  adds r2, r2, #2\n"
    "  beq 3f\n"
    "  QB_DW_PAIR_STORE \\pitch, \\stride\n"
    "3:\n"
    "  ldr r4, [r3, #16]\n"
    "  cmp r4, #0\n"
    "  beq 4f\n"
    "  QB_DW_ONE \\pitch\n"
    "4:\n"
    "  pop {r4-r11, pc}\n"
    "  .size qb_dw_line_rq\\stride\\()_\\pitch, . - qb_dw_line_rq\\stride\\()_\\pitch\n"
    "  .popsection\n"
    "  .endm\n"
    "  QB_DW_LINE_RQ 16, 1\n"
    "  QB_DW_LINE_RQ 32, 1\n"
    "  QB_DW_LINE_RQ 64, 1\n"
    "  QB_DW_LINE_RQ 128, 1\n"
    "  QB_DW_LINE_RQ 254, 1\n"
    "  QB_DW_LINE_RQ 16, 2\n"
    "  QB_DW_LINE_RQ 32, 2\n"
    "  QB_DW_LINE_RQ 64, 2\n"
    "  QB_DW_LINE_RQ 128, 2\n"
    "  QB_DW_LINE_RQ 254, 2\n");

typedef void qb_dw_line_rq_fn(const int16_t *p, int8_t *y, int32_t pairs, const int32_t *k);
qb_dw_line_rq_fn qb_dw_line_rq1_16, qb_dw_line_rq1_32, qb_dw_line_rq1_64, qb_dw_line_rq1_128, qb_dw_line_rq1_254;
qb_dw_line_rq_fn qb_dw_line_rq2_16, qb_dw_line_rq2_32, qb_dw_line_rq2_64, qb_dw_line_rq2_128, qb_dw_line_rq2_254;

/* The sums of one output line at stride 2, for the channels and layers the loop above does
 * not take (rare: a clamp inside int8, or sums that may pass 2^30); plain C. */
static void line_sums_s2(const int16_t *p, int32_t acc_pairs, const int32_t *kb, int32_t *acc, int32_t up) {
  int32_t o, r;
  for (o = 0; o < 2 * acc_pairs; o++) {
    uint32_t s = (uint32_t)kb[6];
    for (r = 0; r < 3; r++) {
      const int16_t *x = p + r * up + 2 * o;
      int32_t w0 = (int16_t)(kb[2 * r] & 0xFFFF), w1 = kb[2 * r] >> 16, w2 = kb[2 * r + 1] >> 16;
      s += (uint32_t)(x[0] * w0 + x[1] * w1 + x[2] * w2);
    }
    acc[o] = (int32_t)s;
  }
}

/*
 * qb_mbqm(acc, m, -right) + zp, clamped to [lo, hi], for |acc| < 2^30, 1 <= right <= 21, m >= 0, with
 * v = 2 * acc (the weights and bias were doubled) and cz = 2^(right-1) + zp * 2^right.
 * SaturatingRoundingDoublingHighMul is floor((acc * m + 2^30) / 2^31) (see rq() in
 * qb_conv_int8.c), SMMULR's floor((v * m + 2^31) / 2^32); SMMLAR adds cz to it in the same
 * instruction. RoundingDivideByPOT subtracts [r < 0] before its floor division, and [v < 0]
 * may stand in: for v < 0 and r = 0 both give 0. zp * 2^right passes through the floor
 * division exactly, and with |r| <= 2^30 and right <= 21 nothing leaves int32.
 */
static void requant_small(const int32_t *acc, int32_t n, int32_t m, int32_t cz, int32_t right, int32_t lo, int32_t hi, int8_t *y,
                          int32_t ystride) {
  int32_t i;
  for (i = 0; i < n; i++, y += ystride) {
    int32_t v = acc[i], t;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(t) : "r"(v), "r"(m), "r"(cz));
    t = __ssat((t + (v >> 31)) >> right, 8);
    *y = (int8_t)qb_clamp(t, lo, hi);
  }
}

static void requant_any(const int32_t *acc, int32_t n, int32_t m, int32_t shift, int32_t zp, int32_t lo, int32_t hi, int8_t *y,
                        int32_t ystride) {
  int32_t i;
  for (i = 0; i < n; i++, y += ystride) *y = (int8_t)qb_clamp(qb_mbqm(acc[i], m, (int)shift) + zp, lo, hi);
}

/* What every channel of a call shares. */
typedef struct {
  const qb_conv_int8 *a;
  qb_dw_plane g;
  int32_t *acc;
  qb_dw_line_fn *line;
  qb_dw_line_rq_fn *line_rq;
  int32_t ou, ov; /* output steps in bytes along u and v */
} dw_call;

/* Output lines v0 .. v0 + lines - 1 of batch b, channel c, from its plane. */
static void channel_lines(const dw_call *k, const int16_t *plane, int32_t b, int32_t v0, int32_t lines, int32_t c) {
  const qb_conv_int8 *a = k->a;
  const int8_t *w = a->w + c;
  int32_t oc = a->oc, m = a->mult[c], shift = a->shift[c], be = a->bias_eff[c], right = -shift, up = k->g.up, lu = k->g.lu, l, r;
  int64_t most = (be < 0 ? -(int64_t)be : be) + 9 * 128 * 128;
  int small = right >= 1 && right <= 21 && m >= 0 && most < ((int64_t)1 << 30), scale = small ? 2 : 1;
  int32_t kb[13];
  int8_t *y = a->y + (b * a->oh * a->ow + (k->g.along_h ? v0 : v0 * a->ow)) * oc + c;
  /* window row r (along v) as the pairs (w0,w1) and (w1,w2) along u */
  for (r = 0; r < 3; r++) {
    int32_t t0 = k->g.along_h ? r : 3 * r, du = k->g.along_h ? 3 : 1;
    int32_t w0 = w[t0 * oc] * scale, w1 = w[(t0 + du) * oc] * scale, w2 = w[(t0 + 2 * du) * oc] * scale;
    kb[2 * r] = (int32_t)pair16(w0, w1);
    kb[2 * r + 1] = (int32_t)pair16(w1, w2);
  }
  kb[6] = kb[7] = small ? 2 * be : be;
  if (small) {
    kb[8] = m;
    kb[9] = (int32_t)(1u << (right - 1)) + a->out_zp * (1 << right);
    kb[10] = right;
    kb[11] = k->ou;
    kb[12] = lu & 1;
  }
  for (l = 0; l < lines; l++, y += k->ov) {
    const int16_t *p = plane + l * k->g.stride * up;
    if (small && a->lo == -128 && a->hi == 127) {
      k->line_rq(p, y, lu >> 1, kb + 8);
      continue;
    }
    if (k->g.stride == 1)
      k->line(p, k->acc, (lu + 1) / 2, kb);
    else
      line_sums_s2(p, (lu + 1) / 2, kb, k->acc, up);
    if (small)
      requant_small(k->acc, lu, m, kb[9], right, a->lo, a->hi, y, k->ou);
    else
      requant_any(k->acc, lu, m, shift, a->out_zp, a->lo, a->hi, y, k->ou);
  }
}

int qb_dwconv_int8_m4(const qb_conv_int8 *a) {
  dw_call k;
  int16_t *plane = (int16_t *)a->scratch, *plane1, zp16 = (int16_t)(-a->in_offset);
  int32_t pad_u, pad_v, su, sv, b, v0, c, i, ic = a->ic, up, lines_max, st;
  if (!qb_dwconv_int8_plane(a, &k.g)) return 0;
  pad_u = k.g.along_h ? a->pad_h : a->pad_w;
  pad_v = k.g.along_h ? a->pad_w : a->pad_h;
  up = k.g.up;
  st = k.g.stride;
  if (pad_u < 0 || pad_v < 0 || pad_u + k.g.iu > up) return 0;
  k.a = a;
  k.line = up == 16 ? qb_dw_line_16 : up == 32 ? qb_dw_line_32 : up == 64 ? qb_dw_line_64 : up == 128 ? qb_dw_line_128 : qb_dw_line_254;
  if (st == 1)
    k.line_rq = up == 16 ? qb_dw_line_rq1_16 : up == 32 ? qb_dw_line_rq1_32 : up == 64 ? qb_dw_line_rq1_64 : up == 128 ? qb_dw_line_rq1_128 : qb_dw_line_rq1_254;
  else
    k.line_rq = up == 16 ? qb_dw_line_rq2_16 : up == 32 ? qb_dw_line_rq2_32 : up == 64 ? qb_dw_line_rq2_64 : up == 128 ? qb_dw_line_rq2_128 : qb_dw_line_rq2_254;
  lines_max = (k.g.band - 1) * st + 3;
  plane1 = plane + lines_max * up;
  k.acc = (int32_t *)(void *)(plane + k.g.planes * lines_max * up);
  /* byte steps along u and v in the input and the output */
  su = k.g.along_h ? a->iw * ic : ic;
  sv = k.g.along_h ? ic : a->iw * ic;
  k.ou = k.g.along_h ? a->ow * a->oc : a->oc;
  k.ov = k.g.along_h ? a->oc : a->ow * a->oc;
  /* the pads along u are never written after this */
  fill16(plane, zp16, k.g.planes * lines_max * up);
  for (b = 0; b < a->n; b++)
    for (v0 = 0; v0 < k.g.lv; v0 += k.g.band) {
      int32_t lines = k.g.lv - v0 < k.g.band ? k.g.lv - v0 : k.g.band, in_lines = (lines - 1) * st + 3, iv0 = v0 * st - pad_v;
      const int8_t *xb = a->x + b * a->ih * a->iw * ic;
      /* plane lines outside the image hold the zero point for every channel of the band */
      for (i = 0; i < in_lines; i++)
        if (iv0 + i < 0 || iv0 + i >= k.g.iv) {
          fill16(plane + i * up + pad_u, zp16, k.g.iu);
          if (k.g.planes == 2) fill16(plane1 + i * up + pad_u, zp16, k.g.iu);
        }
      c = 0;
      /* two channels per copy of the input, then one plane after the other */
      if (k.g.planes == 2)
        for (; c + 2 <= ic; c += 2) {
          for (i = 0; i < in_lines; i++)
            if (iv0 + i >= 0 && iv0 + i < k.g.iv) copy_line2(plane + i * up + pad_u, lines_max * up * 2, xb + (iv0 + i) * sv + c, su, k.g.iu);
          channel_lines(&k, plane, b, v0, lines, c);
          channel_lines(&k, plane1, b, v0, lines, c + 1);
        }
      for (; c < ic; c++) {
        for (i = 0; i < in_lines; i++)
          if (iv0 + i >= 0 && iv0 + i < k.g.iv) copy_line(plane + i * up + pad_u, xb + (iv0 + i) * sv + c, su, k.g.iu);
        channel_lines(&k, plane, b, v0, lines, c);
      }
    }
  return 1;
}

#endif
