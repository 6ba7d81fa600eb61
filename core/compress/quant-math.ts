/**
 * Integer arithmetic of the TFLite quantization spec
 * (https://www.tensorflow.org/lite/performance/quantization_spec): symmetric int8
 * weights, asymmetric int8 activations, int32 bias, and the fixed-point multiplier the
 * int8 kernels use to rescale accumulators. The firmware kernels implement the same
 * formulas; these are the host side of that contract.
 */

export interface QuantParams {
  scale: number;
  zeroPoint: number;
}

export const INT8_MIN = -128;
export const INT8_MAX = 127;

/** TFLite rounds half away from zero (std::round), not half to even. Never returns -0. */
export function roundHalfAway(x: number): number {
  return x < 0 ? 0 - Math.round(-x) : Math.round(x);
}

export function clampInt8(x: number): number {
  return x < INT8_MIN ? INT8_MIN : x > INT8_MAX ? INT8_MAX : x;
}

/**
 * Symmetric int8 scale for a weight range: the spec restricts weights to [-127, 127] so
 * that zero point 0 is exact and negation never overflows. A range of zero (an all-zero
 * channel, common after pruning) gets scale 1 so dequantisation stays finite.
 */
export function symmetricScale(maxAbs: number): number {
  return maxAbs > 0 ? maxAbs / INT8_MAX : 1;
}

export function quantizeSymmetric(value: number, scale: number): number {
  const q = roundHalfAway(value / scale);
  return q < -INT8_MAX ? -INT8_MAX : q > INT8_MAX ? INT8_MAX : q;
}

/**
 * Asymmetric int8 parameters for an activation range. The range is widened to contain 0
 * so that zero (ReLU floors, padding) is exactly representable, as the converter does.
 */
export function asymmetricParams(min: number, max: number): QuantParams {
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  if (hi - lo === 0) return { scale: 1, zeroPoint: 0 };
  const scale = (hi - lo) / (INT8_MAX - INT8_MIN);
  const zeroPoint = clampInt8(roundHalfAway(INT8_MIN - lo / scale));
  return { scale, zeroPoint };
}

export function quantizeAffine(value: number, p: QuantParams): number {
  return clampInt8(roundHalfAway(value / p.scale) + p.zeroPoint);
}

export function dequantizeAffine(q: number, p: QuantParams): number {
  return (q - p.zeroPoint) * p.scale;
}

/** int32 bias at scale input_scale * weight_scale, saturated to the int32 range. */
export function quantizeBias(bias: number, inputScale: number, weightScale: number): number {
  const q = roundHalfAway(bias / (inputScale * weightScale));
  return Math.max(-2147483648, Math.min(2147483647, q));
}

export interface FixedPointMultiplier {
  /** Q31 mantissa in [2^30, 2^31) (or 0). */
  multiplier: number;
  /** Power of two: positive shifts left, negative right. */
  shift: number;
}

/** tflite::QuantizeMultiplier: real = multiplier * 2^(shift - 31). */
export function quantizeMultiplier(real: number): FixedPointMultiplier {
  if (real === 0) return { multiplier: 0, shift: 0 };
  if (!(real > 0) || !Number.isFinite(real)) {
    throw new RangeError(`cannot express ${real} as a fixed-point multiplier`);
  }
  let shift = Math.floor(Math.log2(real)) + 1;
  let mantissa = real / 2 ** shift; // in [0.5, 1)
  if (mantissa >= 1) {
    mantissa /= 2;
    shift += 1;
  } else if (mantissa < 0.5) {
    mantissa *= 2;
    shift -= 1;
  }
  let q = roundHalfAway(mantissa * 2 ** 31);
  if (q === 2 ** 31) {
    q /= 2;
    shift += 1;
  }
  if (shift < -31) return { multiplier: 0, shift: 0 };
  return { multiplier: q, shift };
}

/** gemmlowp SaturatingRoundingDoublingHighMul on int32 operands, exact via BigInt. */
export function saturatingRoundingDoublingHighMul(a: number, b: number): number {
  if (a === -2147483648 && b === -2147483648) return 2147483647;
  const ab = BigInt(a) * BigInt(b);
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  // C++ integer division truncates toward zero; BigInt division does the same.
  return Number((ab + nudge) / (1n << 31n));
}

/** gemmlowp RoundingDivideByPOT: divide by 2^exponent rounding half away from zero. */
export function roundingDivideByPOT(x: number, exponent: number): number {
  if (exponent === 0) return x;
  const mask = (1 << exponent) - 1;
  const remainder = x & mask;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/** tflite::MultiplyByQuantizedMultiplier: what an int8 kernel does to each accumulator. */
export function multiplyByQuantizedMultiplier(x: number, m: FixedPointMultiplier): number {
  const leftShift = m.shift > 0 ? m.shift : 0;
  const rightShift = m.shift > 0 ? 0 : -m.shift;
  const shifted = Number(BigInt.asIntN(32, BigInt(x) * (1n << BigInt(leftShift))));
  return roundingDivideByPOT(saturatingRoundingDoublingHighMul(shifted, m.multiplier), rightShift);
}
