import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { runGraph } from '../../core/compress/execute';
import { exportTflite } from '../../core/compress/export-tflite';
import { checkExportedGuarantees } from '../../core/compress/guarantees';
import { lowerKerasModel } from '../../core/compress/lower-keras';
import { compress, compressAsync, type CompressProgress } from '../../core/compress/pipeline';
import type { QuantizedModel } from '../../core/compress/quantize';
import { parseRecipe, preset } from '../../core/compress/recipe';
import { RMSE_FLAG, layerReports, sizeReport } from '../../core/compress/report';
import { runSimulated } from '../../core/compress/simulate';
import { Runtime, evaluateSamples } from '../../core/runtime/index';
import { denseAutoencoder, randomFeatures, randomImages, smallCnn } from './models';

describe('compression pipeline', () => {
  it('emits progress for each stage it runs and times them', () => {
    const events: CompressProgress[] = [];
    const r = compress(lowerKerasModel(smallCnn()), {
      recipe: preset('prune50-cluster16-int8'),
      calibration: randomImages(16, 1),
      onProgress: (p) => events.push(p),
    });
    assert.deepEqual(
      [...new Set(events.map((e) => e.stage))],
      ['check', 'fold', 'prune', 'cluster', 'calibrate', 'quantize', 'analyse'],
    );
    for (const s of ['prune', 'cluster', 'calibrate', 'quantize'] as const)
      assert.ok(r.timings[s]! >= 0);
  });

  it('runs the fineTune stage between the weight stages and calibration, once, keeping masks', async () => {
    const recipe = parseRecipe({
      steps: [
        { step: 'prune', sparsity: 0.5 },
        { step: 'cluster', k: 8 },
        ...preset('prune50-cluster16-int8-keep-rescaling-float').steps.filter(
          (s) => s.step === 'quantize',
        ),
        { step: 'fineTune', epochs: 1, batchSize: 4, validationSplit: 0 },
      ],
    });
    const model = smallCnn();
    const x = randomImages(16, 2);
    const train = {
      x: x.dataSync() as Float32Array,
      y: Int32Array.from({ length: 16 }, (_, i) => i % 10),
      count: 16,
      sampleShape: [12, 12, 1],
      classes: 10,
    };
    const stages: string[] = [];
    const r = await compressAsync(lowerKerasModel(model), {
      recipe,
      calibration: x,
      onProgress: (p) => stages.at(-1) !== p.stage && stages.push(p.stage),
      fineTune: { model, train },
    });
    assert.deepEqual(stages, [
      'check',
      'fold',
      'prune',
      'cluster',
      'fineTune',
      'calibrate',
      'quantize',
      'analyse',
    ]);
    assert.equal(r.fineTuned!.outcome.steps, 4);
    assert.ok(!r.warnings.some((w) => /fineTune/.test(w)));
    assert.ok(r.quantized && r.pruned.length > 0 && r.clustered.length > 0);
    for (const n of r.graph.nodes.filter((x) => x.mask))
      n.kernel!.data.forEach((v, i) => n.mask![i] === 0 && assert.equal(v, 0));
  });

  it('skips a fineTune step with a warning when nothing to train on is given', async () => {
    const recipe = parseRecipe({
      steps: [
        { step: 'prune', sparsity: 0.5 },
        { step: 'fineTune', epochs: 1 },
        { step: 'quantize' },
      ],
    });
    const sync = compress(lowerKerasModel(smallCnn()), { recipe, calibration: randomImages(8, 1) });
    assert.ok(sync.warnings.some((w) => /fineTune steps are recorded/.test(w)));
    const async = await compressAsync(lowerKerasModel(smallCnn()), {
      recipe,
      calibration: randomImages(8, 1),
    });
    assert.ok(async.warnings.some((w) => /fineTune steps are recorded/.test(w)));
    assert.equal(async.fineTuned, undefined);
  });

  it('re-estimates the statistics of BatchNormalization layers left in the graph after pruning, touching no kernel', () => {
    const graph = lowerKerasModel(smallCnn());
    const x = randomImages(40, 4);
    const r = compress(graph, {
      recipe: preset('prune50-cluster16-int8-keep-rescaling-float'),
      calibration: x,
    });
    assert.deepEqual(r.reestimated, ['bn1', 'bn_after_relu']);
    const bn1 = r.graph.nodes.find((n) => n.name === 'bn1')!;
    const input = runGraph(r.graph, x).get('conv1')!;
    const { mean, variance } = tf.moments(input, [0, 1, 2]);
    (mean.dataSync() as Float32Array).forEach((m, c) =>
      assert.ok(Math.abs(m - bn1.bn!.mean[c]) < 1e-4),
    );
    (variance.dataSync() as Float32Array).forEach((v, c) =>
      assert.ok(Math.abs(v - bn1.bn!.variance[c]) < 1e-4 * Math.max(1, v)),
    );
    const conv1 = r.graph.nodes.find((n) => n.name === 'conv1')!;
    conv1.mask!.forEach((m, i) => m === 0 && assert.equal(conv1.kernel!.data[i], 0));
    assert.deepEqual(
      compress(graph, { recipe: preset('int8-keep-rescaling-float'), calibration: x }).reestimated,
      [],
    );
    const off = parseRecipe({
      steps: [
        { step: 'prune', sparsity: 0.5 },
        {
          step: 'quantize',
          reestimateBatchNorm: false,
          policy: [{ layers: [{ type: 'BatchNormalization' }], policy: 'float' }],
        },
      ],
    });
    assert.deepEqual(compress(graph, { recipe: off, calibration: x }).reestimated, []);
  });

  it('refuses to quantize without calibration data', () => {
    assert.throws(
      () => compress(lowerKerasModel(smallCnn()), { recipe: preset('int8') }),
      /no calibration samples/,
    );
  });

  it('reports per layer: policy, sparsity, distinct values, scales, error; and sizes', () => {
    const graph = lowerKerasModel(smallCnn());
    // One codebook per layer, so the report's per-tensor scale path is the one exercised.
    const recipe = parseRecipe({
      steps: [
        {
          step: 'prune',
          sparsity: 0.5,
          scope: 'sensitivity',
          criterion: 'activation',
          reconstruct: true,
        },
        { step: 'cluster', k: 16 },
        { step: 'quantize', calibration: { method: 'mse' } },
      ],
    });
    const r = compress(graph, { recipe, calibration: randomImages(32, 2) });
    const bytes = exportTflite(r.quantized!);
    const layers = layerReports(r, checkExportedGuarantees(bytes, r.quantized!));
    const conv2 = layers.find((l) => l.name === 'conv2')!;
    assert.equal(conv2.policy, 'int8');
    assert.equal(conv2.op, 'CONV_2D');
    assert.equal(conv2.sparsity, 0.5);
    assert.equal(conv2.pruning!.pattern, 'unstructured');
    assert.ok(conv2.pruning!.threshold > 0);
    assert.ok(conv2.uniqueValues! <= 16);
    assert.equal(conv2.weightScale!.scheme, 'per-tensor');
    assert.equal(conv2.macs, 4 * 4 * 16 * 9 * 8);
    assert.ok(
      conv2.rmseOverScale! > 0.1 && conv2.rmseOverScale! < RMSE_FLAG,
      String(conv2.rmseOverScale),
    );
    assert.ok(conv2.sqnrDb! > 20 && conv2.cosine! > 0.99);
    assert.equal(conv2.clusters!.k, 16);
    const bn1 = layers.find((l) => l.name === 'bn1')!;
    assert.equal(bn1.policy, 'fold');
    assert.equal(bn1.op, 'folded into conv1');
    const sizes = sizeReport(r, bytes);
    assert.equal(sizes.tfliteBytes, bytes.length);
    assert.ok(sizes.tfliteGzipBytes < sizes.tfliteBytes);
    // 16 values need 4 bits: packed clusters save about half of each kernel's bytes.
    assert.ok(sizes.clusterPackedBytes < sizes.tfliteBytes);
    assert.ok(sizes.sparseBytes < sizes.tfliteBytes);
    assert.ok(sizes.floatParamsBytes > 4 * (9 * 8 + 9 * 8 * 16 + 16 * 10));
  });

  it('matches the wasm runtime on the exported model to within one output step', async () => {
    const graph = lowerKerasModel(smallCnn(5));
    const x = randomImages(24, 3);
    for (const name of ['int8', 'prune50-cluster16-int8-keep-rescaling-float']) {
      const r = compress(graph, { recipe: preset(name), calibration: x });
      const interpreter = await Runtime.load(exportTflite(r.quantized!), { name });
      const data = x.dataSync() as Float32Array;
      const results = await evaluateSamples(
        interpreter,
        Array.from({ length: 24 }, (_, i) => data.slice(i * 144, (i + 1) * 144)),
      );
      interpreter.dispose();
      const sim = runSimulated(r.quantized!, x).get(r.graph.outputs[0])!.dataSync();
      let worst = 0;
      results.forEach((s, i) =>
        s.outputs[0].forEach((v, j) => (worst = Math.max(worst, Math.abs(v - sim[i * 10 + j])))),
      );
      assert.ok(worst <= 1 / 256 + 1e-7, `${name}: ${worst}`);
    }
  });

  it('autoExclude reverts the most damaged layers to float until the drop is within budget', () => {
    const graph = lowerKerasModel(denseAutoencoder());
    const x = randomFeatures(200, 9);
    const reference = runGraph(graph, x).get(graph.outputs[0])!.dataSync() as Float32Array;
    // Score: minus the mean squared distance from the float model's output.
    const score = (m: QuantizedModel, subset: number) => {
      const out = runSimulated(m, x.slice(0, subset))
        .get(m.graph.outputs[0])!
        .dataSync() as Float32Array;
      let e = 0;
      for (let i = 0; i < out.length; i++) e += (out[i] - reference[i]) ** 2;
      return -e / out.length;
    };
    // Clipping 10% of every activation range does damage that autoExclude has to undo.
    const recipe = parseRecipe({
      steps: [
        {
          step: 'quantize',
          calibration: { samples: 50, method: 'percentile', percentile: 90 },
          autoExclude: { maxAccuracyDrop: 0.004, subset: 200 },
        },
      ],
    });
    const without = compress(graph, {
      recipe: parseRecipe({ steps: [{ ...recipe.steps[0], autoExclude: undefined }] }),
      calibration: x,
    });
    assert.ok(-score(without.quantized!, 200) > 0.004, 'the recipe does damage');
    const r = compress(graph, { recipe, calibration: x, score });
    assert.ok(
      r.autoExcluded.length > 0 && r.autoExcluded.length < 5,
      JSON.stringify(r.autoExcluded),
    );
    assert.ok(-score(r.quantized!, 200) <= 0.004);
    const errors = [...without.layerErrors!]
      .sort((a, b) => b[1].rmseOverScale - a[1].rmseOverScale)
      .map(([n]) => n);
    assert.deepEqual(
      r.autoExcluded.map((a) => a.layer),
      errors.slice(0, r.autoExcluded.length),
    );
    for (const a of r.autoExcluded) {
      assert.equal(r.policies.get(a.layer)!.policy, 'float');
      assert.match(a.reason, /rank \d by own rounding error/);
    }
    const checks = checkExportedGuarantees(exportTflite(r.quantized!), r.quantized!);
    for (const a of r.autoExcluded)
      assert.equal(checks.find((c) => c.layer === a.layer)!.outputType, 'float32');
  });

  it('needs labelled data for autoExclude', () => {
    const recipe = parseRecipe({
      steps: [{ step: 'quantize', autoExclude: { maxAccuracyDrop: 0.01 } }],
    });
    assert.throws(
      () => compress(lowerKerasModel(smallCnn()), { recipe, calibration: randomImages(4, 1) }),
      /autoExclude needs labelled evaluation data/,
    );
  });
});
