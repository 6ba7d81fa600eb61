import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { distinctCount } from '../../core/compress/cluster';
import { runGraph } from '../../core/compress/execute';
import { lowerKerasModel } from '../../core/compress/lower-keras';
import { compress } from '../../core/compress/pipeline';
import { parseRecipe } from '../../core/compress/recipe';
import { runCompressJob, type CompressReport } from '../../core/compress/run';
import { loadModel } from '../../core/model/index';
import { saveKeras } from '../../core/model/keras-writer';
import { openStore } from '../../core/store/index';
import { readTflite } from '../../core/tflite/reader';
import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';
import { seedWeights } from './models';

/** Per-layer magnitude pruning: every layer lands on 50%, and no step reads calibration data. */
const magnitudeRecipe = parseRecipe({
  name: 'magnitude-prune50-cluster16-int8',
  steps: [{ step: 'prune', sparsity: 0.5 }, { step: 'cluster', k: 16 }, { step: 'quantize' }],
});


/** A 28x28 classifier with the sample model's layer kinds: input Rescaling, Conv+BN, depthwise+BN, GAP, softmax. */
function fashionNet(): tf.LayersModel {
  const input = tf.input({ shape: [28, 28, 1], name: 'image' });
  let x = tf.layers
    .rescaling({ scale: 1 / 255, name: 'rescale' })
    .apply(input) as tf.SymbolicTensor;
  x = tf.layers
    .conv2d({
      filters: 8,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      useBias: false,
      name: 'conv',
    })
    .apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'bn' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU({ name: 'relu' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers
    .depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'dw' })
    .apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'bn_dw' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU({ name: 'relu_dw' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers
    .dense({ units: 10, activation: 'softmax', name: 'classes' })
    .apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  seedWeights(model, 21);
  return model;
}

describe('compress job and CLI', () => {
  let modelFile: string;
  let report: CompressReport;
  let out: string;

  before(async () => {
    const dir = tempDir();
    modelFile = path.join(dir, 'fashion-net.keras');
    await saveKeras(fashionNet(), modelFile);
    out = path.join(dir, 'out');
    report = await runCompressJob({
      model: modelFile,
      recipe: magnitudeRecipe,
      data: 'fashion-mnist:test[0:300]',
      out,
    });
  });

  it('writes model.tflite, model_data.h/.c, model.keras and report.json', () => {
    for (const f of ['model.tflite', 'model_data.h', 'model_data.c', 'model.keras', 'report.json'])
      assert.ok(existsSync(path.join(out, f)), f);
    const bytes = readFileSync(path.join(out, 'model.tflite'));
    assert.equal(report.sizes.tfliteBytes, bytes.length);
    assert.match(readFileSync(path.join(out, 'model_data.h'), 'utf8'), /g_model/);
    const onDisk = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
    assert.equal(onDisk.recipe.name, magnitudeRecipe.name);
    const ops = readTflite(new Uint8Array(bytes)).subgraphs[0].operators.map((o) => o.op);
    assert.deepEqual(ops, [
      'QUANTIZE',
      'CONV_2D',
      'DEPTHWISE_CONV_2D',
      'MEAN',
      'FULLY_CONNECTED',
      'SOFTMAX',
      'DEQUANTIZE',
    ]);
  });

  it('reports float and int8 accuracy, sizes and the per-layer fields', () => {
    assert.equal(report.float.samples, 300);
    assert.equal(report.int8.samples, 300);
    assert.ok(report.float.accuracy! >= 0 && report.float.accuracy! <= 1);
    assert.ok(report.int8.accuracy! >= 0 && report.int8.accuracy! <= 1);
    assert.ok(report.guarantees.ok);
    for (const key of [
      'floatParamsBytes',
      'tfliteBytes',
      'tfliteGzipBytes',
      'clusterPackedBytes',
      'sparseBytes',
    ] as const)
      assert.ok(report.sizes[key] > 0, key);
    const conv = report.layers.find((l) => l.name === 'conv')!;
    assert.deepEqual(conv.folded, ['rescale', 'bn', 'relu']);
    for (const l of report.layers.filter((x) => ['conv', 'dw', 'classes'].includes(x.name))) {
      assert.equal(l.policy, 'int8');
      assert.ok(Math.abs(l.sparsity! - 0.5) < 0.01, `${l.name} ${l.sparsity}`);
      assert.ok(l.uniqueValues! <= 16);
      assert.ok(typeof l.sqnrDb === 'number');
    }
    assert.ok(report.layers.some((l) => l.name === 'bn' && l.policy === 'fold'));
  });

  it('saves a float .keras whose kernels hold the pruned and clustered values and compute the same function', async () => {
    const saved = await loadModel(path.join(out, 'model.keras'));
    const dw = saved.model.getLayer('dw').getWeights()[0].dataSync() as Float32Array;
    assert.ok(Math.abs(dw.filter((v) => v === 0).length / dw.length - 0.5) < 0.01);
    // Pruning and clustering do not depend on calibration data: the same recipe on the same
    // model gives the graph the job exported, and the .keras must compute what it computes.
    const original = await loadModel(modelFile);
    const x = tf.randomUniform([4, 28, 28, 1], 0, 255, 'float32', 3);
    const r = compress(lowerKerasModel(original.model), {
      recipe: magnitudeRecipe,
      calibration: x,
    });
    const expected = runGraph(r.graph, x).get(r.graph.outputs[0])!;
    const got = saved.model.predict(x) as tf.Tensor;
    assert.ok(tf.max(tf.abs(got.sub(expected))).dataSync()[0] < 1e-5);
    const before = original.model.predict(x) as tf.Tensor;
    assert.ok(
      tf.max(tf.abs(before.sub(expected))).dataSync()[0] > 1e-4,
      'the saved model is the compressed one',
    );
    const conv = saved.model.getLayer('conv').getWeights()[0].dataSync() as Float32Array;
    assert.ok(distinctCount(conv) <= 16);
  });

  it('runs as `quantbench compress --json` and rejects a bad recipe before any work', () => {
    const dir = tempDir();
    const recipe = path.join(dir, 'bad.yaml');
    writeFileSync(recipe, 'steps:\n  - step: cluster\n    k: 300\n  - step: quantize\n');
    const badOut = path.join(dir, 'never');
    const bad = runCli([
      'compress',
      modelFile,
      '--recipe',
      recipe,
      '--data',
      'fashion-mnist:test[0:200]',
      '--out',
      badOut,
    ]);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /k = 300 clusters is outside 2\.\.256/);
    assert.ok(!existsSync(badOut), 'nothing written');
    const dataDir = path.join(dir, 'data');
    const good = runCli([
      'compress',
      modelFile,
      '--recipe',
      'int8',
      '--data',
      'fashion-mnist:test[0:150]',
      '--out',
      path.join(dir, 'ok'),
      '--json',
      '--data-dir',
      dataDir,
    ]);
    assert.equal(good.status, 0, good.stderr);
    const doc = JSON.parse(good.stdout);
    assert.equal(typeof doc.runId, 'number');
    const store = openStore(dataDir, { readonly: true });
    const run = store.getRun(doc.runId);
    store.close();
    assert.equal(run.status, 'succeeded');
    assert.equal(typeof doc.float.accuracy, 'number');
    assert.equal(typeof doc.int8.accuracy, 'number');
    assert.ok(
      Array.isArray(doc.layers) &&
        doc.layers.every(
          (l: Record<string, unknown>) =>
            'name' in l &&
            'type' in l &&
            'policy' in l &&
            'sparsity' in l &&
            'uniqueValues' in l &&
            'sqnrDb' in l,
        ),
    );
  });
});
