import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { Runtime } from '../../core/runtime/index';
import type { FullyConnectedOptions, TfliteModel } from '../../core/tflite';
import { sharedModel } from './shared-models';

/**
 * What the ad01 agreement tests share: the real input, the Keras layer names of ad01.h5, a
 * float64 evaluation of a float FULLY_CONNECTED-only .tflite, and the converter's defect.
 *
 * The TFLite converter that wrote ad01_fp32.tflite and ad01_int8.tflite folded each
 * BatchNormalization into the Dense before it but left that Dense's own bias out
 * (tests/model/tflite-agreement.test.ts proves it from the bytes; docs/runtime.md).
 */

export const AD01_FRAMES = 40;
export const AD01_FEATURES = 640;

/** The ten Dense layers of ad01.h5; the first nine are each followed by a BatchNormalization. */
export const ad01DenseLayers = ['dense', ...Array.from({ length: 9 }, (_, i) => `dense_${i + 1}`)];
export const ad01BatchNormLayers = [
  'batch_normalization',
  ...Array.from({ length: 8 }, (_, i) => `batch_normalization_${i + 1}`),
];

/** 40 frames x 640 log-mel features, little-endian float32. */
export function ad01Frames(): Float32Array {
  const bytes = readFileSync(sharedModel('ad01_input_normal_id_01_00000000.bin'));
  return new Float32Array(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
  );
}

/** ad01_fp32.tflite run frame by frame in our runtime (the wasm build), outputs concatenated. */
export async function ad01RuntimeOutputs(frames: Float32Array): Promise<Float32Array> {
  const interpreter = await Runtime.load(
    new Uint8Array(readFileSync(sharedModel('ad01_fp32.tflite'))),
    {
      name: 'ad01_fp32',
    },
  );
  const ours = new Float32Array(frames.length);
  try {
    for (let f = 0; f < AD01_FRAMES; f++) {
      interpreter.setInput(0, frames.slice(f * AD01_FEATURES, (f + 1) * AD01_FEATURES));
      interpreter.invoke();
      ours.set(interpreter.getOutput(0) as Float32Array, f * AD01_FEATURES);
    }
  } finally {
    interpreter.dispose();
  }
  return ours;
}

/** A constant tensor's data as float32 (copied: flatbuffer buffers need not be 4-byte aligned). */
export function tfliteFloats(model: TfliteModel, tensor: number): Float32Array {
  const b = model.buffers[model.subgraphs[0]!.tensors[tensor]!.buffer]!;
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/**
 * Runs a float .tflite made only of FULLY_CONNECTED ops (NONE or RELU) in float64 on each
 * frame, so the result carries the file's weights without float32 rounding of the arithmetic.
 */
export function evaluateDenseTfliteFloat64(model: TfliteModel, frames: Float32Array): Float64Array {
  const graph = model.subgraphs[0]!;
  const layers = graph.operators.map((op) => {
    if (op.op !== 'FULLY_CONNECTED') throw new Error(`unexpected ${op.op} in a Dense-only model`);
    const [units, depth] = graph.tensors[op.inputs[1]!]!.shape as [number, number];
    const activation = (op.options as FullyConnectedOptions).fusedActivationFunction;
    if (activation !== 'NONE' && activation !== 'RELU') throw new Error(`unexpected ${activation}`);
    return {
      units,
      depth,
      w: tfliteFloats(model, op.inputs[1]!),
      b: tfliteFloats(model, op.inputs[2]!),
      relu: activation === 'RELU',
    };
  });
  const inputSize = layers[0]!.depth;
  const outputSize = layers.at(-1)!.units;
  const frameCount = frames.length / inputSize;
  const out = new Float64Array(frameCount * outputSize);
  for (let f = 0; f < frameCount; f++) {
    let x = Float64Array.from(frames.subarray(f * inputSize, (f + 1) * inputSize));
    for (const { units, depth, w, b, relu } of layers) {
      const y = new Float64Array(units);
      for (let u = 0; u < units; u++) {
        let s = b[u]!;
        for (let d = 0; d < depth; d++) s += w[u * depth + d]! * x[d]!;
        y[u] = relu ? Math.max(0, s) : s;
      }
      x = y;
    }
    out.set(x, f * outputSize);
  }
  return out;
}

/** Gives the imported ad01.h5 the function the converter wrote: zero bias on each Dense before a BatchNormalization. */
export function dropBiasesBeforeBatchNorm(model: tf.LayersModel): void {
  for (const name of ad01DenseLayers.slice(0, ad01BatchNormLayers.length)) {
    const layer = model.getLayer(name);
    const [kernel, bias] = layer.getWeights();
    layer.setWeights([kernel!, tf.zerosLike(bias!)]);
  }
}

export interface FrameErrors {
  /** Largest over frames of |ours - reference|_2 / |reference|_2. */
  worstRelative: number;
  /** Largest over frames of max |ours - reference| / max |reference|. */
  worstElementOfRange: number;
}

/** Errors of `ours` against `reference`, frame by frame (each frame is one output vector). */
export function frameErrors(
  ours: ArrayLike<number>,
  reference: ArrayLike<number>,
  frameSize: number,
): FrameErrors {
  if (ours.length !== reference.length)
    throw new Error(`${ours.length} outputs vs ${reference.length}`);
  let worstRelative = 0;
  let worstElementOfRange = 0;
  for (let start = 0; start < reference.length; start += frameSize) {
    let squared = 0;
    let norm = 0;
    let maxDiff = 0;
    let range = 0;
    for (let i = start; i < start + frameSize; i++) {
      const d = Math.abs(ours[i]! - reference[i]!);
      squared += d * d;
      norm += reference[i]! ** 2;
      maxDiff = Math.max(maxDiff, d);
      range = Math.max(range, Math.abs(reference[i]!));
    }
    worstRelative = Math.max(worstRelative, Math.sqrt(squared / norm));
    worstElementOfRange = Math.max(worstElementOfRange, maxDiff / range);
  }
  return { worstRelative, worstElementOfRange };
}
