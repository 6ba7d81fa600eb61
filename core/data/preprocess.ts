import { DatasetShapeError } from './errors';

/**
 * How raw samples become model inputs, stored with every run so a result can be reproduced:
 * x' = ((x · scale + offset) − mean[c]) / std[c], c being the last axis.
 */
export interface Preprocessing {
  scale: number;
  offset: number;
  mean?: number[];
  std?: number[];
  /** Set when samples were reshaped to the model's input (same element count). */
  reshape?: { from: number[]; to: number[] };
  /** Set when an image folder was resized to the model's input. */
  resize?: [number, number];
}

export const IDENTITY_PREPROCESSING: Preprocessing = { scale: 1, offset: 0 };

export function checkPreprocessing(p: Preprocessing, channels: number, dataset: string): void {
  for (const [name, values] of [
    ['mean', p.mean],
    ['std', p.std],
  ] as const) {
    if (values && values.length !== 1 && values.length !== channels) {
      throw new DatasetShapeError(
        `${dataset}: --input-${name} has ${values.length} values but samples have ${channels} channels`,
        `give one value, or one per channel (${channels})`,
      );
    }
  }
  if (p.std?.some((s) => s === 0))
    throw new DatasetShapeError(
      `${dataset}: --input-std contains 0`,
      'standard deviations must be non-zero',
    );
}

/** In place: batches are fresh arrays the reader made for us. */
export function applyPreprocessing(x: Float32Array, p: Preprocessing, channels: number): void {
  const { scale, offset, mean, std } = p;
  if (scale !== 1 || offset !== 0) for (let i = 0; i < x.length; i++) x[i] = x[i]! * scale + offset;
  if (!mean && !std) return;
  for (let i = 0; i < x.length; i++) {
    const c = i % channels;
    const m = mean ? mean[mean.length === 1 ? 0 : c]! : 0;
    const s = std ? std[std.length === 1 ? 0 : c]! : 1;
    x[i] = (x[i]! - m) / s;
  }
}

const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const show = (shape: readonly (number | null)[]) => `[${shape.map((d) => d ?? '?').join(', ')}]`;

function matches(shape: readonly number[], target: readonly (number | null)[]): boolean {
  return (
    shape.length === target.length && shape.every((d, i) => target[i] === null || target[i] === d)
  );
}

/**
 * The shape samples take to fit a model input (batch axis excluded): unchanged when they
 * already fit; reshaped when the element counts agree (28x28 to 28x28x1 or 784); with
 * unknown model dimensions, a trailing axis of 1 may be added or dropped.
 */
export function fitSampleShape(
  dataset: string,
  sampleShape: readonly number[],
  inputShape: readonly (number | null)[],
): number[] {
  if (matches(sampleShape, inputShape)) return [...sampleShape];
  if (inputShape.every((d) => d !== null) && count(inputShape as number[]) === count(sampleShape))
    return inputShape as number[];
  const candidates = [
    [...sampleShape, 1],
    sampleShape.at(-1) === 1 ? sampleShape.slice(0, -1) : null,
  ];
  for (const c of candidates) if (c && matches(c, inputShape)) return c;
  throw new DatasetShapeError(
    `dataset ${dataset} has samples of shape ${show(sampleShape)} (${count(sampleShape)} values) but the model's input is ${show(inputShape)}`,
    'use a dataset made for this model, or one whose samples have the same number of values',
  );
}
