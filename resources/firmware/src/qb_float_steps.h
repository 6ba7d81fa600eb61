/*
 * The per-element float steps of the fast float kernels, shared by the op-by-op kernels
 * (qb_k_binary.c, qb_k_activation.c) and the fused float island (qb_k_island.c), so that
 * both compute every element with the same operations and give the same bits.
 */
#ifndef QB_FLOAT_STEPS_H
#define QB_FLOAT_STEPS_H

#include <stdint.h>
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

/* The reference's activation clamp: r < lo ? lo : (r > hi ? hi : r), NaN passing through. */
static inline float qb_clampf(float r, float lo, float hi) { return r < lo ? lo : (r > hi ? hi : r); }

/* QUANTIZE's rounding of x / scale. A value past +-512 gives the same clamped int8 after
 * rounding and any int8 zero point, so it is clamped there first; in that range truncation
 * is exact and the distance to it decides the rounding as qb_round_to_int does (half away
 * from zero). NaN stays NaN through the clamp and gives 0, as there. */
static inline int32_t qb_round_clamped(float v) {
  int32_t r;
  float d;
  if (v != v) return 0;
  v = v < -512.0f ? -512.0f : (v > 512.0f ? 512.0f : v);
  r = (int32_t)v;
  d = v - (float)r;
  return r + (d >= 0.5f) - (d <= -0.5f);
}

#if defined(__wasm_simd128__)
/* qb_round_clamped(v / scale) + zero_point on four lanes (not yet clamped to int8: the
 * saturating narrows that pack four of these do that). pmax/pmin are the C ternaries (NaN
 * passes through); trunc_sat maps NaN to 0; comparison masks are -1 where true. */
static inline v128_t qb_quantize_f32x4(v128_t x, v128_t scale, v128_t zero_point) {
  v128_t v = wasm_f32x4_pmin(wasm_f32x4_pmax(wasm_f32x4_div(x, scale), wasm_f32x4_splat(-512.0f)), wasm_f32x4_splat(512.0f));
  v128_t t = wasm_f32x4_trunc(v), d = wasm_f32x4_sub(v, t);
  v128_t r = wasm_i32x4_trunc_sat_f32x4(t);
  r = wasm_i32x4_add(wasm_i32x4_sub(r, wasm_f32x4_ge(d, wasm_f32x4_splat(0.5f))), wasm_f32x4_le(d, wasm_f32x4_splat(-0.5f)));
  return wasm_i32x4_add(r, zero_point);
}

/* pmax(r, lo) is r < lo ? lo : r and pmin(t, hi) is hi < t ? hi : t: qb_clampf, NaN too. */
static inline v128_t qb_clamp_f32x4(v128_t r, v128_t lo, v128_t hi) { return wasm_f32x4_pmin(wasm_f32x4_pmax(r, lo), hi); }
#endif

#endif
