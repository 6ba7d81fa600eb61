/* Kernel entry points: each reads its operator's tensors and options from the interpreter. */
#ifndef QB_KERNELS_H
#define QB_KERNELS_H

#include "qb_fixedpoint.h"
#include "qb_internal.h"

#define QB_IN(it, op, i) (&(it)->tensors[(op)->in[i]])
#define QB_OUT(it, op, i) (&(it)->tensors[(op)->out[i]])

/* Reports a kernel failure with the op index and name in qb_last_error. */
qb_status qb_kernel_error(qb_interpreter *it, const qb_op *op, qb_status st, const char *why);

/* Fused activation bounds. */
int qb_act_range_float(int32_t act, float *lo, float *hi);
int qb_act_range_int8(int32_t act, const qb_tensor *out, int32_t *lo, int32_t *hi);

/* Output size and leading padding as TFLite's ComputePaddingHeightWidth. */
/* Largest stride, window extent or depth multiplier a model may use (far above any real one). */
#define QB_MAX_WINDOW 0x100000

int32_t qb_out_size(int32_t padding, int32_t in, int32_t filter, int32_t stride, int32_t dilation);
int32_t qb_padding(int32_t stride, int32_t dilation, int32_t in, int32_t filter, int32_t out);

/* Reads a TFLite input shape as N,H,W,C (rank 4 required). */
int qb_nhwc(const qb_tensor *t, int32_t *n, int32_t *h, int32_t *w, int32_t *c);

/* int8 convolution arguments, validated by the op entry points. mult/shift (per output
 * channel) and bias_eff come from the op's prepared data (qb_prepare.c); scratch is the
 * arena's shared scratch area, qb_conv_int8_scratch() bytes at least. */
typedef struct {
  const int8_t *x, *w;
  const int32_t *bias;     /* NULL when absent (reference kernels) */
  const int32_t *bias_eff; /* bias + in_offset * sum(w) per channel (depthwise, Cortex-M4 conv); NULL when unknown */
  int8_t *y;
  int32_t n, ih, iw, ic, fh, fw, oh, ow, oc, depth_multiplier;
  int32_t stride_w, stride_h, dil_w, dil_h, pad_w, pad_h;
  int32_t in_offset, out_zp, lo, hi;
  const int32_t *mult;
  const int8_t *shift;
  void *scratch;
  uint32_t scratch_bytes; /* the whole scratch area, which a kernel may use beyond its own qb_*_scratch() */
} qb_conv_int8;

/* The input pixel under each tap of a depthwise window at output (b, oy, ox), row by row:
 * taps outside the image point at zrow, a row of the input zero point, so every depthwise
 * kernel sums over all taps the same way the reference does. */
static inline void qb_dw_window_taps(const qb_conv_int8 *a, int32_t b, int32_t oy, int32_t ox, const int8_t *zrow, const int8_t **tap) {
  int32_t y0 = oy * a->stride_h - a->pad_h, x0 = ox * a->stride_w - a->pad_w, ky, kx, t = 0;
  for (ky = 0; ky < a->fh; ky++)
    for (kx = 0; kx < a->fw; kx++, t++) {
      int32_t yy = y0 + a->dil_h * ky, xx = x0 + a->dil_w * kx;
      tap[t] = yy < 0 || yy >= a->ih || xx < 0 || xx >= a->iw ? zrow : a->x + ((b * a->ih + yy) * a->iw + xx) * a->ic;
    }
}

typedef struct {
  const int8_t *x, *w;
  const int32_t *bias;
  int8_t *y;
  int32_t batches, units, depth, in_offset, w_offset, out_zp, lo, hi;
  const int32_t *mult;
  const int8_t *shift;
  void *scratch;
  int32_t cacheable; /* 1: w, bias, mult and shift are the model's, unchanged within qb_const_generation */
} qb_fc_int8;

/* Bumped by qb_prepare (every qb_set_arena): the SIMD build keeps repacked constant weights
 * between invokes (qb_conv_int8_simd.c) for one generation only. Whoever changes weights a
 * kernel has seen as constant at the same address bumps it too (the tests do). */
extern uint32_t qb_const_generation;

/* Prepared data per output channel: folded bias and multiplier (int32), shift (int8). */
#define QB_PREPARED_BYTES_PER_CHANNEL 9u

/* Scratch bytes the fast kernels need for these shapes (0 when they decline them). */
uint32_t qb_conv_int8_scratch(int32_t fh, int32_t fw, int32_t ic, int32_t oc);
uint32_t qb_dwconv_int8_scratch(int32_t ic);
uint32_t qb_fc_int8_scratch(int32_t depth, int32_t units);
/*
 * The Cortex-M4 3x3 depthwise path (qb_dwconv_int8_m4.c) works on one channel at a time in
 * a "plane": lines of int16 input values (the input zero point where the window leaves the
 * image) along u, which is the width or, when that makes fewer and longer lines, the
 * height. Lines are `up` int16 apart (room for every tap of the line's pairs of outputs);
 * `band` output lines are computed per fill of (band - 1) * stride + 3 plane lines, in
 * `planes` planes (channels) at once. Every build sizes the scratch from this geometry, so
 * the arena is the same on all of them.
 */
typedef struct {
  int32_t along_h;        /* u is the height (lines are columns) */
  int32_t stride;         /* 1 or 2, along both */
  int32_t lu, lv, iu, iv; /* outputs along u and v; input extents along u and v */
  int32_t up, band, planes;
} qb_dw_plane;
/* 1 and the geometry when the plane path covers the shape (3x3, stride 1 or 2 along both,
 * no dilation, depth multiplier 1, lines short enough for the kernel's load offsets),
 * else 0. */
int qb_dwconv_int8_plane(const qb_conv_int8 *a, qb_dw_plane *g);
/* Scratch of the plane path for this shape (0 when it does not apply); the pads are not read. */
uint32_t qb_dwconv_int8_plane_scratch(const qb_conv_int8 *a);
/* The plane path itself (Cortex-M4 DSP builds only); 0 when it declines the shape. */
int qb_dwconv_int8_m4(const qb_conv_int8 *a);
/* bias + in_offset * (sum of the channel's filter taps), wrapping: the depthwise fast kernel
 * reads out-of-image taps as the input zero point, so every window sums all taps. */
void qb_dwconv_int8_fold_bias(const int8_t *w, const int32_t *bias, int32_t taps, int32_t oc, int32_t in_offset, int32_t *out);
/* The same for CONV_2D (filters of k taps, one after another): the Cortex-M4 kernel sums
 * x * w over whole windows, taps outside the image reading -in_offset. */
void qb_conv_int8_fold_bias(const int8_t *w, const int32_t *bias, int32_t k, int32_t oc, int32_t in_offset, int32_t *out);

/* Reference kernels (TFLite's loop order and arithmetic) and faster variants that must
 * produce the same bytes; a fast variant returns 0 for shapes it does not cover. */
void qb_conv_int8_ref(const qb_conv_int8 *a);
int qb_conv_int8_fast(const qb_conv_int8 *a);
/* The Cortex-M4 CONV_2D kernel (qb_conv_int8_m4.c, DSP builds only); 0 when it declines. */
int qb_conv_int8_m4(const qb_conv_int8 *a);
void qb_dwconv_int8_ref(const qb_conv_int8 *a);
int qb_dwconv_int8_fast(const qb_conv_int8 *a);
void qb_fc_int8_ref(const qb_fc_int8 *a);
int qb_fc_int8_fast(const qb_fc_int8 *a);
/* The Cortex-M4 FULLY_CONNECTED kernel (qb_conv_int8_m4.c, DSP builds only); 0 when it declines. */
int qb_fc_int8_m4(const qb_fc_int8 *a);
/* wasm SIMD128 variants (qb_conv_int8_simd.c, SIMD builds only), called by the fast entry
 * points above; 0 when they do not cover the shape. */
int qb_conv_int8_simd(const qb_conv_int8 *a);
int qb_dwconv_int8_simd(const qb_conv_int8 *a);
int qb_fc_int8_simd(const qb_fc_int8 *a);
/* The most bytes of filters qb_conv_int8_simd() repacks (64 KiB); the tests lower it so the
 * unpacked path, taken by larger layers, runs on their small ones too. */
extern int32_t qb_conv_simd_pack_limit;
/* Calls that took each path of qb_conv_int8_simd() (QB_SIMD_CONV_C2_DIRECT: four-pixel
 * calls where some window was copied without per-tap checks; QB_SIMD_CONV_C2_PACK16: groups
 * of eight filters repacked sixteen taps at a time; QB_SIMD_CONV_C2_IMAGE: windows read
 * from the padded int16 copy of the input; QB_SIMD_CONV_C2_IMAGE_ODD: those with odd window
 * rows, read with a tap of weight 0 after each; QB_SIMD_CONV_C2_PADDED: filters packed
 * that way), for the tests to require that their
 * shapes reach every path. */
enum {
  QB_SIMD_CONV_C2,
  QB_SIMD_CONV_C2_DIRECT,
  QB_SIMD_CONV_C2_PACK16,
  QB_SIMD_CONV_C2_IMAGE,
  QB_SIMD_CONV_C2_IMAGE_ODD,
  QB_SIMD_CONV_C2_PADDED,
  QB_SIMD_CONV_IN_PLACE_PACKED,
  QB_SIMD_CONV_IN_PLACE,
  QB_SIMD_CONV_GATHERED,
  QB_SIMD_CONV_PATHS
};
extern int32_t qb_conv_simd_paths[QB_SIMD_CONV_PATHS];
/* Calls of qb_add_int8_simd() that rescaled the operands in the lanes (no tables). */
extern int32_t qb_add_simd_lanes;
/* Calls of the SIMD build's kernels on kept layers that repacked the layer and that found it
 * repacked: fully connected [0] and [1], depthwise [2] and [3], the four-pixel x
 * eight-filter conv block [4] and [5]; the tests require each. */
extern int32_t qb_simd_gemm_runs[6];
/* Calls of the kept fully connected layers' requantization that took the one-scale path. */
extern int32_t qb_simd_gemm_uniform;
/* Sixteen channels' sums over a window of NHWC int8 pixels (AVERAGE_POOL_2D, MEAN). */
void qb_sum16_int8(const int8_t *x, int32_t rows, int32_t cols, int32_t row_stride, int32_t px_stride, int32_t *sums);
/* Same-shape int8 ADD/SUB with multipliers already computed (no broadcasting). */
typedef struct {
  const int8_t *a, *b;
  int8_t *y;
  int32_t n, a_offset, b_offset, out_zp, lo, hi, sub;
  int32_t m1, s1, m2, s2, mo, so;
  int32_t *table; /* NULL, or QB_ADD_TABLE_BYTES of scratch for the fast kernel's rescale tables */
} qb_add_int8;
#define QB_ADD_TABLE_BYTES 2048u
void qb_add_int8_ref(const qb_add_int8 *a);
void qb_add_int8_fast(const qb_add_int8 *a);
/* The Cortex-M4 ADD/SUB loop (qb_conv_int8_m4.c, DSP builds only); 0 when it declines. */
int qb_add_int8_m4(const qb_add_int8 *a);

/* float32 ADD/SUB/MUL (op: QB_OP_ADD, QB_OP_SUB or QB_OP_MUL) over the output's 4-D dims
 * with each operand's strides (0 where it broadcasts), clamped to [lo, hi]. The fast variant
 * covers operands that are the whole output, repeat over its trailing dimensions (a
 * per-channel vector) or are one value, and returns 0 for any other broadcast. */
typedef struct {
  const float *a, *b;
  float *y;
  int32_t dims[4], sa[4], sb[4];
  int32_t op;
  float lo, hi;
} qb_binary_f32;
void qb_binary_f32_ref(const qb_binary_f32 *e);
int qb_binary_f32_fast(const qb_binary_f32 *e);

/* float32 to int8 QUANTIZE (AffineQuantize) and int8 to float32 DEQUANTIZE, per tensor. The
 * fast variants return 0 for zero points outside the int8 range (never in a valid model). */
void qb_quantize_f32_ref(const float *x, int8_t *y, int32_t n, float scale, int32_t zero_point);
int qb_quantize_f32_fast(const float *x, int8_t *y, int32_t n, float scale, int32_t zero_point);
void qb_dequantize_i8_ref(const int8_t *x, float *y, int32_t n, float scale, int32_t zero_point);
int qb_dequantize_i8_fast(const int8_t *x, float *y, int32_t n, float scale, int32_t zero_point);
int qb_add_int8_simd(const qb_add_int8 *a); /* SIMD builds only; 0: not covered */

#if QB_FUSE_ISLANDS
/* A float island in one pass (qb_k_island.c): int8 x dequantized with in_scale and in_zp,
 * then each step `f = clamp(f op v, lo, hi)` (`v op f` when swap; v[c] for the element's
 * place c in its row of `row` elements when per_row, else v[0]), then quantized to int8 y
 * with out_scale and out_zp: element for element what the ops' fast kernels give one after
 * the other. 0 for zero points outside int8, or when y starts inside x past its start (an
 * element would be overwritten before it is read). */
#define QB_ISLAND_MAX_STEPS 4
typedef struct {
  int32_t op, swap, per_row;
  const float *v;
  float lo, hi;
} qb_island_step;
typedef struct {
  const int8_t *x;
  int8_t *y;
  int32_t n, row, in_zp, out_zp, steps;
  float in_scale, out_scale;
  qb_island_step step[QB_ISLAND_MAX_STEPS];
} qb_island;
int qb_island_fast(const qb_island *e);
#endif

qb_status qb_k_conv2d(qb_interpreter *it, const qb_op *op);
qb_status qb_k_depthwise(qb_interpreter *it, const qb_op *op);
qb_status qb_k_fully_connected(qb_interpreter *it, const qb_op *op);
qb_status qb_k_pool(qb_interpreter *it, const qb_op *op, int is_max);
qb_status qb_k_mean(qb_interpreter *it, const qb_op *op);
qb_status qb_k_binary(qb_interpreter *it, const qb_op *op);
qb_status qb_k_concat(qb_interpreter *it, const qb_op *op);
qb_status qb_k_pad(qb_interpreter *it, const qb_op *op);
qb_status qb_k_copy(qb_interpreter *it, const qb_op *op);
qb_status qb_k_softmax(qb_interpreter *it, const qb_op *op);
qb_status qb_k_activation(qb_interpreter *it, const qb_op *op);
qb_status qb_k_quantize(qb_interpreter *it, const qb_op *op);
qb_status qb_k_dequantize(qb_interpreter *it, const qb_op *op);

#endif
