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
  const int32_t *bias_eff; /* depthwise fast kernel: bias + in_offset * sum(w) per channel */
  int8_t *y;
  int32_t n, ih, iw, ic, fh, fw, oh, ow, oc, depth_multiplier;
  int32_t stride_w, stride_h, dil_w, dil_h, pad_w, pad_h;
  int32_t in_offset, out_zp, lo, hi;
  const int32_t *mult;
  const int8_t *shift;
  void *scratch;
} qb_conv_int8;

typedef struct {
  const int8_t *x, *w;
  const int32_t *bias;
  int8_t *y;
  int32_t batches, units, depth, in_offset, w_offset, out_zp, lo, hi;
  const int32_t *mult;
  const int8_t *shift;
  void *scratch;
} qb_fc_int8;

/* Prepared data per output channel: folded bias and multiplier (int32), shift (int8). */
#define QB_PREPARED_BYTES_PER_CHANNEL 9u

/* Scratch bytes the fast kernels need for these shapes (0 when they decline them). */
uint32_t qb_conv_int8_scratch(int32_t fh, int32_t fw, int32_t ic, int32_t oc);
uint32_t qb_dwconv_int8_scratch(int32_t ic);
uint32_t qb_fc_int8_scratch(int32_t depth, int32_t units);
/* bias + in_offset * (sum of the channel's filter taps), wrapping: the depthwise fast kernel
 * reads out-of-image taps as the input zero point, so every window sums all taps. */
void qb_dwconv_int8_fold_bias(const int8_t *w, const int32_t *bias, int32_t taps, int32_t oc, int32_t in_offset, int32_t *out);

/* Reference kernels (TFLite's loop order and arithmetic) and faster variants that must
 * produce the same bytes; a fast variant returns 0 for shapes it does not cover. */
void qb_conv_int8_ref(const qb_conv_int8 *a);
int qb_conv_int8_fast(const qb_conv_int8 *a);
void qb_dwconv_int8_ref(const qb_conv_int8 *a);
int qb_dwconv_int8_fast(const qb_conv_int8 *a);
void qb_fc_int8_ref(const qb_fc_int8 *a);
int qb_fc_int8_fast(const qb_fc_int8 *a);
/* wasm SIMD128 variants (qb_conv_int8_simd.c, SIMD builds only), called by the fast entry
 * points above; 0 when they do not cover the shape. */
int qb_conv_int8_simd(const qb_conv_int8 *a);
int qb_dwconv_int8_simd(const qb_conv_int8 *a);
int qb_fc_int8_simd(const qb_fc_int8 *a);
/* The most bytes of filters qb_conv_int8_simd() repacks (64 KiB); the tests lower it so the
 * unpacked path, taken by larger layers, runs on their small ones too. */
extern int32_t qb_conv_simd_pack_limit;
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
int qb_add_int8_simd(const qb_add_int8 *a); /* SIMD builds only; 0: not covered */

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
