import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Runtime } from '../../core/runtime';
import { TfliteModelBuilder, type TensorSpec } from '../../core/tflite';
import {
  closeTfliteReference,
  missingTfliteReference,
  runTfliteReference,
} from '../helpers/tflite-reference';
import { randomFloat32, randomInt8 } from '../firmware/firmware-build';

/**
 * Operators the shared models do not use, each in a one-op model built with
 * core/tflite's builder, run by our runtime and by the real TFLite runtime on the same
 * seeded inputs. `maxDiff` is the largest difference allowed (in int8 steps, or relative
 * for float32); see tflite-agreement.test.ts for why XNNPACK-delegated ops may differ by one.
 */
interface OpCase {
  name: string;
  op: string;
  inputs: TensorSpec[];
  output: TensorSpec;
  options?: Record<string, unknown>;
  /** Constant extra inputs (axes, paddings), appended after the runtime inputs. */
  constants?: TensorSpec[];
  maxDiff: number;
}

const q = (scale: number, zeroPoint: number) => ({ scale: [scale], zeroPoint: [zeroPoint] });
const i8 = (name: string, shape: number[], scale: number, zeroPoint: number): TensorSpec => ({
  name,
  shape,
  type: 'int8',
  quantization: q(scale, zeroPoint),
});
const f32 = (name: string, shape: number[]): TensorSpec => ({ name, shape, type: 'float32' });

const cases: OpCase[] = [
  {
    name: 'LOGISTIC int8',
    op: 'LOGISTIC',
    inputs: [i8('x', [1, 64], 0.06, 3)],
    output: i8('y', [1, 64], 1 / 256, -128),
    maxDiff: 0,
  },
  {
    name: 'TANH int8',
    op: 'TANH',
    inputs: [i8('x', [1, 64], 0.03, -5)],
    output: i8('y', [1, 64], 1 / 128, 0),
    maxDiff: 0,
  },
  {
    name: 'HARD_SWISH int8',
    op: 'HARD_SWISH',
    inputs: [i8('x', [1, 64], 0.05, -20)],
    output: i8('y', [1, 64], 0.04, -70),
    maxDiff: 0,
  },
  // XNNPACK takes int8 LEAKY_RELU (float requantization): one step apart on some values
  {
    name: 'LEAKY_RELU int8',
    op: 'LEAKY_RELU',
    inputs: [i8('x', [1, 64], 0.05, 4)],
    output: i8('y', [1, 64], 0.04, -30),
    options: { alpha: 0.2 },
    maxDiff: 1,
  },
  {
    name: 'RELU int8',
    op: 'RELU',
    inputs: [i8('x', [1, 64], 0.05, 4)],
    output: i8('y', [1, 64], 0.03, -128),
    maxDiff: 0,
  },
  {
    name: 'RELU6 int8',
    op: 'RELU6',
    inputs: [i8('x', [1, 64], 0.05, 4)],
    output: i8('y', [1, 64], 6 / 255, -128),
    maxDiff: 0,
  },
  {
    name: 'MUL int8',
    op: 'MUL',
    inputs: [i8('a', [1, 4, 4, 3], 0.05, 2), i8('b', [1, 4, 4, 3], 0.02, -7)],
    output: i8('y', [1, 4, 4, 3], 0.01, 1),
    maxDiff: 1,
  },
  {
    name: 'SUB int8',
    op: 'SUB',
    inputs: [i8('a', [1, 4, 4, 3], 0.05, 2), i8('b', [1, 4, 4, 3], 0.02, -7)],
    output: i8('y', [1, 4, 4, 3], 0.06, 1),
    maxDiff: 1,
  },
  {
    name: 'ADD int8 broadcast',
    op: 'ADD',
    inputs: [i8('a', [1, 4, 4, 3], 0.05, 2), i8('b', [1, 1, 1, 3], 0.02, -7)],
    output: i8('y', [1, 4, 4, 3], 0.06, 1),
    maxDiff: 1,
  },
  {
    name: 'MAX_POOL_2D int8',
    op: 'MAX_POOL_2D',
    inputs: [i8('x', [1, 7, 7, 4], 0.05, 2)],
    output: i8('y', [1, 4, 4, 4], 0.05, 2),
    options: { padding: 'SAME', strideW: 2, strideH: 2, filterWidth: 3, filterHeight: 3 },
    maxDiff: 0,
  },
  {
    name: 'AVERAGE_POOL_2D int8 SAME',
    op: 'AVERAGE_POOL_2D',
    inputs: [i8('x', [1, 7, 7, 4], 0.05, 2)],
    output: i8('y', [1, 4, 4, 4], 0.05, 2),
    options: { padding: 'SAME', strideW: 2, strideH: 2, filterWidth: 3, filterHeight: 3 },
    maxDiff: 1,
  },
  {
    name: 'MEAN int8 keep_dims',
    op: 'MEAN',
    inputs: [i8('x', [1, 5, 6, 8], 0.05, 2)],
    constants: [{ name: 'axes', shape: [2], type: 'int32', data: Int32Array.from([1, 2]) }],
    output: i8('y', [1, 1, 1, 8], 0.03, -4),
    options: { keepDims: true },
    maxDiff: 1,
  },
  // TFLite refuses int8 inputs whose scale differs from the output's, so only that case compares
  {
    name: 'CONCATENATION int8',
    op: 'CONCATENATION',
    inputs: [i8('a', [1, 3, 3, 2], 0.05, 2), i8('b', [1, 3, 3, 5], 0.05, 2)],
    output: i8('y', [1, 3, 3, 7], 0.05, 2),
    options: { axis: 3 },
    maxDiff: 0,
  },
  {
    name: 'PAD int8',
    op: 'PAD',
    inputs: [i8('x', [1, 3, 3, 2], 0.05, 9)],
    constants: [
      {
        name: 'pads',
        shape: [4, 2],
        type: 'int32',
        data: Int32Array.from([0, 0, 1, 2, 2, 1, 0, 0]),
      },
    ],
    output: i8('y', [1, 6, 6, 2], 0.05, 9),
    maxDiff: 0,
  },
  {
    name: 'QUANTIZE float32 to int8',
    op: 'QUANTIZE',
    inputs: [f32('x', [1, 64])],
    output: i8('y', [1, 64], 0.01, -3),
    maxDiff: 0,
  },
  {
    name: 'QUANTIZE int8 to int8',
    op: 'QUANTIZE',
    inputs: [i8('x', [1, 64], 0.05, 9)],
    output: i8('y', [1, 64], 0.03, -2),
    maxDiff: 0,
  },
  {
    name: 'DEQUANTIZE int8',
    op: 'DEQUANTIZE',
    inputs: [i8('x', [1, 64], 0.05, 9)],
    output: f32('y', [1, 64]),
    maxDiff: 0,
  },
  {
    name: 'SOFTMAX int8 beta 0.5',
    op: 'SOFTMAX',
    inputs: [i8('x', [2, 10], 0.1, 5)],
    output: i8('y', [2, 10], 1 / 256, -128),
    options: { beta: 0.5 },
    maxDiff: 0,
  },
  {
    name: 'LOGISTIC float32',
    op: 'LOGISTIC',
    inputs: [f32('x', [1, 64])],
    output: f32('y', [1, 64]),
    maxDiff: 1e-5,
  },
  {
    name: 'TANH float32',
    op: 'TANH',
    inputs: [f32('x', [1, 64])],
    output: f32('y', [1, 64]),
    maxDiff: 1e-5,
  },
  {
    name: 'HARD_SWISH float32',
    op: 'HARD_SWISH',
    inputs: [f32('x', [1, 64])],
    output: f32('y', [1, 64]),
    maxDiff: 1e-5,
  },
  {
    name: 'SOFTMAX float32',
    op: 'SOFTMAX',
    inputs: [f32('x', [2, 10])],
    output: f32('y', [2, 10]),
    options: { beta: 1 },
    maxDiff: 1e-5,
  },
  {
    name: 'MEAN float32',
    op: 'MEAN',
    inputs: [f32('x', [1, 5, 6, 8])],
    constants: [{ name: 'axes', shape: [2], type: 'int32', data: Int32Array.from([1, 2]) }],
    output: f32('y', [1, 8]),
    options: { keepDims: false },
    maxDiff: 1e-5,
  },
];

function build(c: OpCase): Uint8Array {
  const b = new TfliteModelBuilder();
  const ins = c.inputs.map((spec) => b.addTensor(spec));
  const consts = (c.constants ?? []).map((spec) => b.addTensor(spec));
  const out = b.addTensor(c.output);
  b.addOperator(c.op, [...ins, ...consts], [out], c.options ?? {});
  b.setInputs(...ins).setOutputs(out);
  return b.toBytes();
}

function sample(c: OpCase, s: number): Array<Int8Array | Float32Array> {
  return c.inputs.map((spec, j) => {
    const n = spec.shape.reduce((a, v) => a * v, 1);
    return spec.type === 'int8'
      ? randomInt8(n, 7000 + 10 * s + j)
      : randomFloat32(n, 7000 + 10 * s + j, -6, 6);
  });
}

describe(
  'single operators against the real TFLite runtime',
  { skip: missingTfliteReference() },
  () => {
    after(() => closeTfliteReference());

    for (const c of cases) {
      it(`${c.name}: within ${c.maxDiff} of TFLite`, async () => {
        const model = build(c);
        const interpreter = await Runtime.load(model, { name: c.name });
        const samples = [0, 1, 2, 3].map((s) => sample(c, s));
        const ref = await runTfliteReference(model, samples);
        let worst = 0;
        samples.forEach((inputs, s) => {
          inputs.forEach((x, i) => interpreter.setInput(i, x));
          interpreter.invoke();
          const ours = interpreter.getOutput(0);
          const theirs = ref[s][0];
          assert.equal(ours.length, theirs.length);
          for (let k = 0; k < ours.length; k++) {
            const a = Number(ours[k]);
            const r = Number(theirs[k]);
            const d =
              c.output.type === 'float32'
                ? Math.abs(a - r) / Math.max(Math.abs(r), 1e-3)
                : Math.abs(a - r);
            if (d > worst) worst = d;
          }
        });
        assert.ok(worst <= c.maxDiff, `${c.name}: largest difference ${worst}`);
      });
    }
  },
);
