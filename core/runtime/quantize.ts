import type { TensorData, TensorInfo } from './interpreter';
import { RuntimeError } from './errors';

/** std::round: half away from zero. */
function roundHalfAway(v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v);
}

/**
 * Float values to the tensor's int8 encoding exactly as TFLite's QUANTIZE kernel does it:
 * the quotient in single precision, rounded half away from zero, then the zero point.
 * (A double quotient rounded to float equals the single-precision quotient.)
 */
export function quantizeInt8(values: Float32Array, scale: number, zeroPoint: number): Int8Array {
  const out = new Int8Array(values.length);
  const s = Math.fround(scale);
  for (let i = 0; i < values.length; i++) {
    const q = roundHalfAway(Math.fround(values[i] / s)) + zeroPoint;
    out[i] = q < -128 ? -128 : q > 127 ? 127 : q;
  }
  return out;
}

/** DEQUANTIZE: scale * (q - zero point), computed in double and stored as float. */
export function dequantize(values: TensorData, scale: number, zeroPoint: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = scale * (Number(values[i]) - zeroPoint);
  return out;
}

/** Float input values in the encoding `info` takes (quantized when the tensor is int8). */
export function encodeInput(values: Float32Array, info: TensorInfo, where: string): TensorData {
  const elements = info.shape.reduce((a, b) => a * b, 1);
  if (values.length !== elements) {
    throw new RuntimeError(
      'RUNTIME_INPUT',
      `${where} takes ${elements} values (shape [${info.shape.join(', ')}]), got ${values.length}`,
    );
  }
  if (info.type === 'float32') return values;
  if (info.type === 'int8') return quantizeInt8(values, info.scale, info.zeroPoint);
  throw new RuntimeError(
    'RUNTIME_INPUT',
    `${where} has type ${info.type}; only float32 and int8 inputs can be fed from float samples`,
  );
}

/** Output values as floats: dequantized when quantized, widened otherwise. */
export function decodeOutput(raw: TensorData, info: TensorInfo): Float32Array {
  if (info.scale !== 0 && info.type !== 'float32')
    return dequantize(raw, info.scale, info.zeroPoint);
  if (raw instanceof Float32Array) return raw;
  const out = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = Number(raw[i]);
  return out;
}
