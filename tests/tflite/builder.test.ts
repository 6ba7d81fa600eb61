import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TfliteModelBuilder, readTflite } from '../../core/tflite';
import { TfliteReference, missingTfliteReference } from '../helpers/tflite-reference';

function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const clampInt8 = (v: number) => Math.max(-128, Math.min(127, v));

/** NHWC conv with SAME padding as TFLite computes it (extra padding goes after). */
function conv2dSame(
  input: ArrayLike<number>,
  [h, w, cin]: number[],
  filter: ArrayLike<number>,
  [cout, kh, kw]: number[],
  stride: number,
  value: (acc: number, oc: number) => number,
): { data: number[]; shape: number[] } {
  const oh = Math.ceil(h / stride);
  const ow = Math.ceil(w / stride);
  const padTop = Math.floor(Math.max((oh - 1) * stride + kh - h, 0) / 2);
  const padLeft = Math.floor(Math.max((ow - 1) * stride + kw - w, 0) / 2);
  const data: number[] = [];
  for (let oy = 0; oy < oh; oy++)
    for (let ox = 0; ox < ow; ox++)
      for (let oc = 0; oc < cout; oc++) {
        let acc = 0;
        for (let ky = 0; ky < kh; ky++)
          for (let kx = 0; kx < kw; kx++) {
            const iy = oy * stride + ky - padTop;
            const ix = ox * stride + kx - padLeft;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            for (let ic = 0; ic < cin; ic++)
              acc +=
                input[(iy * w + ix) * cin + ic] * filter[((oc * kh + ky) * kw + kx) * cin + ic];
          }
        data.push(value(acc, oc));
      }
  return { data, shape: [1, oh, ow, cout] };
}

describe('TfliteModelBuilder', () => {
  it('builds a model whose tensors, options and signature read back as given', () => {
    const b = new TfliteModelBuilder({ description: 'unit' });
    const x = b.addTensor({ name: 'x', shape: [1, 3], type: 'float32' });
    const w = b.addTensor({
      name: 'w',
      shape: [2, 3],
      type: 'float32',
      data: new Float32Array([1, 2, 3, 4, 5, 6]),
    });
    const y = b.addTensor({ name: 'y', shape: [1, 2], type: 'float32' });
    b.addOperator('FULLY_CONNECTED', [x, w, -1], [y], { fusedActivationFunction: 'RELU6' });
    b.setInputs(x).setOutputs(y).addDefaultSignature().setMinRuntimeVersion('1.5.0');
    const model = readTflite(b.toBytes());
    assert.equal(model.description, 'unit');
    assert.deepEqual(model.operatorCodes, [
      { name: 'FULLY_CONNECTED', builtinCode: 9, version: 1 },
    ]);
    const op = model.subgraphs[0].operators[0];
    assert.deepEqual(op.inputs, [0, 1, -1]);
    assert.deepEqual(op.options, {
      type: 'FullyConnectedOptions',
      fusedActivationFunction: 'RELU6',
      weightsFormat: 'DEFAULT',
      keepNumDims: false,
      asymmetricQuantizeInputs: false,
      quantizedBiasType: 'float32',
    });
    assert.deepEqual(
      Array.from(
        new Float32Array(model.buffers[model.subgraphs[0].tensors[w].buffer].slice().buffer),
      ),
      [1, 2, 3, 4, 5, 6],
    );
    assert.deepEqual(model.signatureDefs, [
      {
        signatureKey: 'serving_default',
        subgraphIndex: 0,
        inputs: [{ name: 'x', tensorIndex: 0 }],
        outputs: [{ name: 'y', tensorIndex: 2 }],
      },
    ]);
    assert.equal(new TextDecoder().decode(model.buffers[model.metadata[0].buffer]), '1.5.0');
  });

  it('refuses option fields the op does not have', () => {
    const b = new TfliteModelBuilder();
    assert.throws(() => b.addOperator('CONV_2D', [], [], { stride: 2 }), {
      code: 'TFLITE_WRITE',
      message: /Conv2DOptions has no field stride/,
    });
    assert.throws(() => b.addOperator('NOT_AN_OP', [], []), {
      code: 'TFLITE_WRITE',
      message: /unknown builtin operator NOT_AN_OP/,
    });
  });
});

describe(
  'models from TfliteModelBuilder in the real TFLite runtime',
  { skip: missingTfliteReference() },
  () => {
    let ref: TfliteReference;
    before(async () => {
      ref = await TfliteReference.start();
    });
    after(async () => {
      await ref?.close();
    });

    it('int8 FULLY_CONNECTED + SOFTMAX matches the quantization spec computed here', async (t) => {
      const rand = random(11);
      const [sx, zx, sw, sy, zy] = [0.05, 2, 0.02, 0.1, -5];
      const weights = Int8Array.from({ length: 4 * 8 }, () => Math.floor(rand() * 255) - 127);
      const bias = Int32Array.from({ length: 4 }, () => Math.floor(rand() * 2000) - 1000);
      const b = new TfliteModelBuilder();
      const x = b.addTensor({
        name: 'x',
        shape: [1, 8],
        type: 'int8',
        quantization: { scale: [sx], zeroPoint: [zx] },
      });
      const w = b.addTensor({
        name: 'w',
        shape: [4, 8],
        type: 'int8',
        data: weights,
        quantization: { scale: [sw], zeroPoint: [0] },
      });
      const bi = b.addTensor({
        name: 'b',
        shape: [4],
        type: 'int32',
        data: bias,
        quantization: { scale: [sx * sw], zeroPoint: [0] },
      });
      const y = b.addTensor({
        name: 'y',
        shape: [1, 4],
        type: 'int8',
        quantization: { scale: [sy], zeroPoint: [zy] },
      });
      const z = b.addTensor({
        name: 'z',
        shape: [1, 4],
        type: 'int8',
        quantization: { scale: [1 / 256], zeroPoint: [-128] },
      });
      b.addOperator('FULLY_CONNECTED', [x, w, bi], [y], {}, 4);
      b.addOperator('SOFTMAX', [y], [z], { beta: 1 }, 2);
      b.setInputs(x).setOutputs(y, z);

      const samples = Array.from({ length: 16 }, () =>
        Int8Array.from({ length: 8 }, () => Math.floor(rand() * 256) - 128),
      );
      const { results } = await ref.run(b.toBytes(), samples);
      let exact = 0;
      samples.forEach((input, s) => {
        const [fc, soft] = results[s];
        const expectedFc = Array.from({ length: 4 }, (_, o) => {
          let acc = bias[o];
          for (let i = 0; i < 8; i++) acc += (input[i] - zx) * weights[o * 8 + i];
          return clampInt8(Math.round((acc * sx * sw) / sy) + zy);
        });
        expectedFc.forEach((e, o) => {
          assert.ok(
            Math.abs(fc[o] - e) <= 1,
            `sample ${s} FC output ${o}: TFLite ${fc[o]}, spec ${e}`,
          );
          if (fc[o] === e) exact++;
        });
        const logits = Array.from(fc, (q) => (q - zy) * sy);
        const max = Math.max(...logits);
        const exps = logits.map((l) => Math.exp(l - max));
        const total = exps.reduce((a, v) => a + v, 0);
        exps.forEach((e, o) => {
          const expected = clampInt8(Math.round((e / total) * 256) - 128);
          assert.ok(
            Math.abs(soft[o] - expected) <= 1,
            `sample ${s} softmax ${o}: TFLite ${soft[o]}, float ${expected}`,
          );
        });
      });
      // Off-by-one only where the real value sits on a rounding boundary: nearly all must be exact.
      t.diagnostic(`${exact} of 64 FC outputs equal the float-rounded spec value`);
      assert.ok(exact >= 60, `${exact} of 64 FC outputs exact`);
    });

    it('int8 CONV_2D with per-channel weights matches the quantization spec computed here', async (t) => {
      const rand = random(12);
      const [sx, zx, sy, zy] = [0.03, -7, 0.08, 10];
      const scales = [0.011, 0.004, 0.02];
      const filter = Int8Array.from(
        { length: 3 * 3 * 3 * 2 },
        () => Math.floor(rand() * 255) - 127,
      );
      const bias = Int32Array.from({ length: 3 }, () => Math.floor(rand() * 400) - 200);
      const b = new TfliteModelBuilder();
      const x = b.addTensor({
        name: 'x',
        shape: [1, 5, 6, 2],
        type: 'int8',
        quantization: { scale: [sx], zeroPoint: [zx] },
      });
      const f = b.addTensor({
        name: 'f',
        shape: [3, 3, 3, 2],
        type: 'int8',
        data: filter,
        quantization: { scale: scales, zeroPoint: [0, 0, 0], quantizedDimension: 0 },
      });
      const bi = b.addTensor({
        name: 'b',
        shape: [3],
        type: 'int32',
        data: bias,
        quantization: { scale: scales.map((s) => s * sx), zeroPoint: [0, 0, 0] },
      });
      const y = b.addTensor({
        name: 'y',
        shape: [1, 3, 3, 3],
        type: 'int8',
        quantization: { scale: [sy], zeroPoint: [zy] },
      });
      b.addOperator(
        'CONV_2D',
        [x, f, bi],
        [y],
        { padding: 'SAME', strideW: 2, strideH: 2, fusedActivationFunction: 'NONE' },
        3,
      );
      b.setInputs(x).setOutputs(y);
      const samples = Array.from({ length: 4 }, () =>
        Int8Array.from({ length: 5 * 6 * 2 }, () => Math.floor(rand() * 256) - 128),
      );
      const { results, outputs } = await ref.run(b.toBytes(), samples);
      assert.deepEqual(outputs[0].shape, [1, 3, 3, 3]);
      let exact = 0;
      samples.forEach((input, s) => {
        const centred = Array.from(input, (q) => q - zx);
        const expected = conv2dSame(centred, [5, 6, 2], filter, [3, 3, 3], 2, (acc, oc) =>
          clampInt8(Math.round(((acc + bias[oc]) * sx * scales[oc]) / sy) + zy),
        );
        expected.data.forEach((e, i) => {
          assert.ok(
            Math.abs(results[s][0][i] - e) <= 1,
            `sample ${s} element ${i}: TFLite ${results[s][0][i]}, spec ${e}`,
          );
          if (results[s][0][i] === e) exact++;
        });
      });
      t.diagnostic(`${exact} of 108 conv outputs equal the float-rounded spec value`);
      assert.ok(exact >= 100, `${exact} of 108 conv outputs exact`);
    });

    it('float CONV_2D with RELU6 matches a convolution computed here', async () => {
      const rand = random(13);
      const filter = Float32Array.from({ length: 4 * 3 * 3 * 2 }, () => rand() * 2 - 1);
      const bias = Float32Array.from({ length: 4 }, () => rand() - 0.5);
      const b = new TfliteModelBuilder();
      const x = b.addTensor({ name: 'x', shape: [1, 7, 5, 2], type: 'float32' });
      const f = b.addTensor({ name: 'f', shape: [4, 3, 3, 2], type: 'float32', data: filter });
      const bi = b.addTensor({ name: 'b', shape: [4], type: 'float32', data: bias });
      const y = b.addTensor({ name: 'y', shape: [1, 4, 3, 4], type: 'float32' });
      b.addOperator('CONV_2D', [x, f, bi], [y], {
        padding: 'SAME',
        strideW: 2,
        strideH: 2,
        fusedActivationFunction: 'RELU6',
      });
      b.setInputs(x).setOutputs(y);
      const samples = Array.from({ length: 3 }, () =>
        Float32Array.from({ length: 7 * 5 * 2 }, () => rand() * 8 - 4),
      );
      const { results } = await ref.run(b.toBytes(), samples);
      samples.forEach((input, s) => {
        const expected = conv2dSame(input, [7, 5, 2], filter, [4, 3, 3], 2, (acc, oc) =>
          Math.min(6, Math.max(0, acc + bias[oc])),
        );
        assert.equal(results[s][0].length, expected.data.length);
        expected.data.forEach((e, i) =>
          assert.ok(
            Math.abs(results[s][0][i] - e) < 1e-5,
            `sample ${s} element ${i}: TFLite ${results[s][0][i]}, here ${e}`,
          ),
        );
        assert.ok(
          expected.data.some((v) => v > 0 && v < 6),
          'the test exercises the unclipped range',
        );
      });
    });
  },
);
