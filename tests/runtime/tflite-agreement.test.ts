import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { Runtime, quantizeInt8, type Interpreter, type TensorData } from '../../core/runtime';
import { readTflite, writeTflite, type FullyConnectedOptions } from '../../core/tflite';
import {
  AD01_FEATURES,
  AD01_FRAMES,
  ad01Frames,
  ad01RuntimeOutputs,
  evaluateDenseTfliteFloat64,
  frameErrors,
  tfliteFloats,
} from '../helpers/ad01';
import { missingSharedModels, sharedModel } from '../helpers/shared-models';
import {
  closeTfliteReference,
  missingTfliteReference,
  runTfliteReference,
  type TypedArray,
} from '../helpers/tflite-reference';
import { randomFloat32, randomInt8 } from '../firmware/firmware-build';

/**
 * Our runtime against the real TFLite runtime (tfjs-tflite's wasm build in Chromium).
 *
 * That build always runs the XNNPACK delegate, whose int8 requantization uses a float
 * multiplier with round-to-nearest-even instead of the reference kernels' fixed-point
 * multiplier with round-half-away. Ops XNNPACK takes (CONV_2D, DEPTHWISE_CONV_2D,
 * FULLY_CONNECTED, ADD) can therefore differ by one step on a small fraction of outputs;
 * ops TFLite runs itself (SOFTMAX, AVERAGE_POOL_2D, RESHAPE here) and single-layer cases
 * where no tie occurs agree exactly. Isolating each operator shows the one-step bound; over
 * a whole network those steps propagate, which the whole-model bounds below allow for.
 */
const int8Models = ['kws_ref_model.tflite', 'pretrainedResnet_quant.tflite', 'ad01_int8.tflite'];
const skip =
  missingTfliteReference() ||
  missingSharedModels(
    ...int8Models,
    'pretrainedResnet.tflite',
    'ad01_fp32.tflite',
    'ad01_input_normal_id_01_00000000.bin',
  );

const load = (name: string) => new Uint8Array(readFileSync(sharedModel(name)));

/** A 32x32x3 int8 image of 4x4 random colour blocks (input scale 1, zero point -128): closer
 * to a photo than per-pixel noise, which drives activations to extremes. */
function blockyImage(seed: number): Int8Array {
  const colours = randomInt8(8 * 8 * 3, seed);
  const image = new Int8Array(32 * 32 * 3);
  for (let y = 0; y < 32; y++)
    for (let x = 0; x < 32; x++)
      for (let c = 0; c < 3; c++)
        image[(y * 32 + x) * 3 + c] = colours[((y >> 2) * 8 + (x >> 2)) * 3 + c];
  return image;
}

function runOurs(interpreter: Interpreter, samples: TensorData[][]): TensorData[] {
  return samples.map((inputs) => {
    inputs.forEach((x, i) => interpreter.setInput(i, x));
    interpreter.invoke();
    return interpreter.getOutput(0);
  });
}

function compare(
  ours: TensorData[],
  ref: TypedArray[],
): { maxDiff: number; differing: number; total: number } {
  let maxDiff = 0;
  let differing = 0;
  let total = 0;
  ours.forEach((o, s) => {
    const r = ref[s];
    assert.equal(o.length, r.length);
    for (let i = 0; i < o.length; i++) {
      const d = Math.abs(Number(o[i]) - Number(r[i]));
      if (d > maxDiff) maxDiff = d;
      if (d !== 0) differing++;
      total++;
    }
  });
  return { maxDiff, differing, total };
}

describe('agreement with the real TFLite runtime', { skip }, () => {
  after(() => closeTfliteReference());

  for (const name of int8Models) {
    it(`${name}: every operator alone is within one int8 step of TFLite`, async () => {
      const model = readTflite(load(name));
      const g = model.subgraphs[0];
      const isConstant = (t: number) => (model.buffers[g.tensors[t].buffer]?.length ?? 0) > 0;
      for (const [k, op] of g.operators.entries()) {
        const inputs = op.inputs.filter((t) => t >= 0 && !isConstant(t));
        const single = writeTflite({
          ...model,
          signatureDefs: [],
          subgraphs: [{ ...g, inputs, outputs: op.outputs, operators: [op] }],
        });
        const interpreter = await Runtime.load(single, { name: `${name} op ${k} ${op.op}` });
        const samples = [0, 1, 2].map((s) =>
          interpreter.inputs.map((info, j) => randomInt8(info.bytes, 1000 * k + 10 * s + j)),
        );
        const ref = (await runTfliteReference(single, samples)).map((outs) => outs[0]);
        const stats = compare(runOurs(interpreter, samples), ref);
        interpreter.dispose();
        assert.ok(stats.maxDiff <= 1, `${name} op ${k} ${op.op}: max difference ${stats.maxDiff}`);
        // measured at most 1.6% of outputs (ad01 op 2, 6 of 384) on these inputs
        assert.ok(
          stats.differing <= stats.total * 0.03,
          `${name} op ${k} ${op.op}: ${stats.differing}/${stats.total} outputs differ`,
        );
        if (op.op === 'RESHAPE' || op.op === 'SOFTMAX' || op.op === 'AVERAGE_POOL_2D')
          assert.equal(stats.maxDiff, 0, `${op.op} runs outside XNNPACK and must match exactly`);
      }
    });
  }

  it('ad01_int8.tflite on the 40 real input frames stays within 3 steps of TFLite', async () => {
    const interpreter = await Runtime.load(load('ad01_int8.tflite'), { name: 'ad01_int8' });
    const { scale, zeroPoint } = interpreter.inputs[0];
    const frames = ad01Frames();
    const samples = Array.from({ length: 40 }, (_, f) => [
      quantizeInt8(frames.subarray(f * 640, f * 640 + 640), scale, zeroPoint),
    ]);
    const ref = (await runTfliteReference(load('ad01_int8.tflite'), samples)).map((o) => o[0]);
    const stats = compare(runOurs(interpreter, samples), ref);
    assert.ok(stats.maxDiff <= 3, `max difference ${stats.maxDiff}`);
  });

  for (const name of ['kws_ref_model.tflite', 'pretrainedResnet_quant.tflite']) {
    it(`${name}: logits within 4 steps of TFLite, same class where the winner is clear`, async () => {
      // Softmax turns a one-step logit difference into several probability steps, so the
      // bound is on the logits (the graph cut before its final SOFTMAX): measured 1 step
      // for kws and 4 for the ResNet, whose last FULLY_CONNECTED sums 64 pooled features
      // that may each differ by one step.
      const model = readTflite(load(name));
      const g = model.subgraphs[0];
      const ops = g.operators.slice(0, -1);
      assert.equal(g.operators.at(-1)?.op, 'SOFTMAX');
      const logitsModel = writeTflite({
        ...model,
        signatureDefs: [],
        subgraphs: [{ ...g, outputs: ops[ops.length - 1].outputs, operators: ops }],
      });
      const samples = Array.from({ length: 24 }, (_, s) => [
        name.startsWith('kws') ? randomInt8(490, 500 + s) : blockyImage(500 + s),
      ]);
      const logits = await Runtime.load(logitsModel, { name: `${name} logits` });
      const ours = runOurs(logits, samples);
      const ref = (await runTfliteReference(logitsModel, samples)).map((o) => o[0]);
      const stats = compare(ours, ref);
      assert.ok(stats.maxDiff <= 4, `max logit difference ${stats.maxDiff} steps`);
      // Where TFLite's winning logit leads by more than twice that bound, ours must pick it too.
      const ranked = (a: ArrayLike<number | bigint>) =>
        Array.from(a, Number)
          .map((v, i) => [v, i])
          .sort((x, y) => y[0] - x[0]);
      let decisive = 0;
      ours.forEach((o, s) => {
        const [[top, topIndex], [second]] = ranked(ref[s]);
        if (top - second <= 8) return;
        decisive++;
        assert.equal(ranked(o)[0][1], topIndex, `sample ${s}: top class differs`);
      });
      assert.ok(decisive >= 3, `only ${decisive} samples had a clear winner`);
    });
  }

  it('pretrainedResnet.tflite: float32 outputs within 1e-4 relative of TFLite', async () => {
    const name = 'pretrainedResnet.tflite';
    const interpreter = await Runtime.load(load(name), { name });
    const samples = Array.from({ length: 8 }, (_, s) => [randomFloat32(3072, 300 + s)]);
    const ours = runOurs(interpreter, samples);
    const ref = (await runTfliteReference(load(name), samples)).map((o) => o[0]);
    ours.forEach((o, s) => {
      for (let i = 0; i < o.length; i++) {
        const r = Number(ref[s][i]);
        const d = Math.abs(Number(o[i]) - r);
        assert.ok(
          d <= 1e-4 * Math.abs(r) + 1e-6,
          `${name} sample ${s} output ${i}: ${o[i]} vs ${r}`,
        );
      }
    });
  });

  it('ad01_fp32.tflite: float32 outputs within 1e-4 relative of TFLite on the 40 real frames', async (t) => {
    const interpreter = await Runtime.load(load('ad01_fp32.tflite'), { name: 'ad01_fp32' });
    const frames = ad01Frames();
    const samples = Array.from({ length: AD01_FRAMES }, (_, f) => [
      frames.slice(f * AD01_FEATURES, (f + 1) * AD01_FEATURES),
    ]);
    const ours = runOurs(interpreter, samples).flatMap((o) => Array.from(o as Float32Array));
    const ref = (await runTfliteReference(load('ad01_fp32.tflite'), samples)).flatMap((o) =>
      Array.from(o[0] as Float32Array),
    );
    const errors = frameErrors(ours, ref, AD01_FEATURES);
    t.diagnostic(JSON.stringify(errors));
    // Relative error of each output frame as a vector; single elements see the first layer's
    // cancellation (see the float64 comparison below), bounded at twice that.
    assert.ok(errors.worstRelative < 1e-4, JSON.stringify(errors));
    assert.ok(errors.worstElementOfRange < 2e-4, JSON.stringify(errors));
  });
});

/**
 * TFLite's reference FULLY_CONNECTED for float32 (reference_ops::FullyConnected): the products
 * summed in input order in a float32 accumulator starting at 0, then the bias, then the clamp.
 * Math.fround after each step makes JavaScript round exactly as float32 hardware does. Layers
 * where `float32Sum` is false sum in float64 instead, to see where the rounding error comes from.
 */
function emulateDenseTflite(
  model: ReturnType<typeof readTflite>,
  frames: Float32Array,
  float32Sum: (layer: number) => boolean,
): Float64Array {
  const graph = model.subgraphs[0];
  const layers = graph.operators.map((op, k) => ({
    units: graph.tensors[op.inputs[1]].shape[0],
    depth: graph.tensors[op.inputs[1]].shape[1],
    w: tfliteFloats(model, op.inputs[1]),
    b: tfliteFloats(model, op.inputs[2]),
    relu: (op.options as FullyConnectedOptions).fusedActivationFunction === 'RELU',
    f32: float32Sum(k),
  }));
  const out = new Float64Array(AD01_FRAMES * AD01_FEATURES);
  for (let f = 0; f < AD01_FRAMES; f++) {
    let x = Float64Array.from(frames.subarray(f * AD01_FEATURES, (f + 1) * AD01_FEATURES));
    for (const { units, depth, w, b, relu, f32 } of layers) {
      const y = new Float64Array(units);
      for (let u = 0; u < units; u++) {
        let total = 0;
        if (f32) {
          for (let d = 0; d < depth; d++)
            total = Math.fround(total + Math.fround(x[d] * w[u * depth + d]));
          total = Math.fround(total + b[u]);
        } else {
          for (let d = 0; d < depth; d++) total += x[d] * w[u * depth + d];
          total += b[u];
        }
        y[u] = relu && total < 0 ? 0 : total;
      }
      x = y;
    }
    out.set(x, f * AD01_FEATURES);
  }
  return out;
}

/** Largest sum of |product| over |result| among the first layer's positive outputs: the cancellation. */
function firstLayerCancellation(
  model: ReturnType<typeof readTflite>,
  frames: Float32Array,
): number {
  const op = model.subgraphs[0].operators[0];
  const w = tfliteFloats(model, op.inputs[1]);
  const b = tfliteFloats(model, op.inputs[2]);
  const units = b.length;
  let worst = 0;
  for (let f = 0; f < AD01_FRAMES; f++)
    for (let u = 0; u < units; u++) {
      let sum = b[u];
      let magnitude = Math.abs(b[u]);
      for (let d = 0; d < AD01_FEATURES; d++) {
        const p = frames[f * AD01_FEATURES + d] * w[u * AD01_FEATURES + d];
        sum += p;
        magnitude += Math.abs(p);
      }
      if (sum > 0) worst = Math.max(worst, magnitude / sum);
    }
  return worst;
}

describe(
  'ad01_fp32.tflite in our runtime, against its own weights',
  {
    skip: missingSharedModels('ad01_fp32.tflite', 'ad01_input_normal_id_01_00000000.bin'),
  },
  () => {
    const model = () => readTflite(load('ad01_fp32.tflite'));
    const run = async () => {
      const frames = ad01Frames();
      return { frames, ours: await ad01RuntimeOutputs(frames) };
    };

    it("computes every output bit for bit as TFLite's reference float32 kernel does", async () => {
      const { frames, ours } = await run();
      const expected = emulateDenseTflite(model(), frames, () => true);
      for (let i = 0; i < ours.length; i++)
        assert.ok(
          Object.is(ours[i], expected[i]),
          `frame ${Math.floor(i / AD01_FEATURES)} output ${i % AD01_FEATURES}: ${ours[i]} vs ${expected[i]}`,
        );
    });

    it('agrees with a float64 evaluation of the same weights on the 40 real frames (relative error < 1e-4)', async (t) => {
      const { frames, ours } = await run();
      const errors = frameErrors(ours, evaluateDenseTfliteFloat64(model(), frames), AD01_FEATURES);
      t.diagnostic(JSON.stringify(errors));
      assert.ok(errors.worstRelative < 1e-4, JSON.stringify(errors));
      // Single outputs move by about 1e-4 of the frame's range: the first layer's float32 sum
      // (next test), which any float32 runtime has in some order.
      assert.ok(errors.worstElementOfRange < 2e-4, JSON.stringify(errors));
    });

    it('owes that error to the float32 sum in the first layer, where the products cancel', (t) => {
      const frames = ad01Frames();
      const exact = evaluateDenseTfliteFloat64(model(), frames);
      const error = (float32Sum: (layer: number) => boolean) =>
        frameErrors(emulateDenseTflite(model(), frames, float32Sum), exact, AD01_FEATURES)
          .worstElementOfRange;
      const all = error(() => true);
      const firstOnly = error((k) => k === 0);
      const allButFirst = error((k) => k > 0);
      const cancellation = firstLayerCancellation(model(), frames);
      t.diagnostic(
        `float32 sums everywhere ${all}, in the first layer only ${firstOnly}, everywhere else ${allButFirst}; first-layer sum of |products| up to ${cancellation.toExponential(2)} times the output`,
      );
      assert.ok(firstOnly > 0.9 * all, `first layer alone: ${firstOnly} of ${all}`);
      assert.ok(allButFirst < 0.05 * all, `other layers: ${allButFirst} of ${all}`);
      assert.ok(cancellation > 1e4, `cancellation ${cancellation}`);
    });
  },
);
