// Wall time of each compression step for the sample model and ResNet-8, as one JSON
// document. Baseline in the same run: float inference of the calibration samples through
// the Keras model with tfjs (`predict`), so each step is also given as a ratio to it.
//   node --import tsx bench/compress.ts
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { exportTflite } from '../core/compress/export-tflite';
import { lowerKerasModel } from '../core/compress/lower-keras';
import { compress } from '../core/compress/pipeline';
import { preset } from '../core/compress/recipe';
import { loadModel } from '../core/model/index';
import { Runtime, evaluateSamples } from '../core/runtime/index';
import { buildSampleModel } from '../core/train/sample-model';
import { currentBackend, initBackend } from '../core/train/backend';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SAMPLES = 100;

function images(count: number, shape: number[], seed: number): tf.Tensor {
  return tf.randomUniform([count, ...shape], 0, 255, 'float32', seed);
}

async function benchModel(name: string, model: tf.LayersModel, calibration: tf.Tensor) {
  const t = () => performance.now();
  let t0 = t();
  const predicted = model.predict(calibration) as tf.Tensor;
  await predicted.data();
  predicted.dispose();
  const baseline = (t() - t0) / 1000;

  t0 = t();
  const graph = lowerKerasModel(model);
  const lower = (t() - t0) / 1000;
  const steps: Record<string, Record<string, number>> = {};
  for (const recipe of [
    'int8',
    'prune50-cluster16-int8',
    'prune50-cluster16-int8-keep-rescaling-float',
  ]) {
    const r = compress(graph, {
      recipe: {
        ...preset(recipe),
        steps: preset(recipe).steps.map((s) =>
          s.step === 'quantize' ? { ...s, calibration: { ...s.calibration, samples: SAMPLES } } : s,
        ),
      },
      calibration,
    });
    t0 = t();
    const bytes = exportTflite(r.quantized!);
    const exportSeconds = (t() - t0) / 1000;
    const interpreter = await Runtime.load(bytes);
    const data = calibration.dataSync() as Float32Array;
    const size = data.length / SAMPLES;
    t0 = t();
    await evaluateSamples(
      interpreter,
      Array.from({ length: SAMPLES }, (_, i) => data.subarray(i * size, (i + 1) * size)),
    );
    const int8Seconds = (t() - t0) / 1000;
    interpreter.dispose();
    steps[recipe] = {
      ...(r.timings as Record<string, number>),
      export: exportSeconds,
      int8Inference: int8Seconds,
    };
  }
  const ratios = Object.fromEntries(
    Object.entries(steps).map(([k, v]) => [
      k,
      Object.fromEntries(Object.entries(v).map(([s, sec]) => [s, +(sec / baseline).toFixed(3)])),
    ]),
  );
  return {
    model: name,
    samples: SAMPLES,
    baselineFloatPredictSeconds: baseline,
    lowerSeconds: lower,
    seconds: steps,
    ratioToBaseline: ratios,
  };
}

await initBackend();
const results = [];
const sampleFile = path.join(root, 'resources/samples/fashion-mnist-cnn.keras');
const sample = existsSync(sampleFile) ? (await loadModel(sampleFile)).model : buildSampleModel(1);
results.push(
  await benchModel(
    existsSync(sampleFile)
      ? 'fashion-mnist-cnn.keras'
      : 'sample model architecture (untrained; .keras not found)',
    sample,
    images(SAMPLES, [28, 28, 1], 1),
  ),
);
const resnetFile = path.resolve(
  process.env.QUANTBENCH_SHARED_MODELS ?? path.join(root, '..', 'shared', 'models'),
  'pretrainedResnet.h5',
);
if (existsSync(resnetFile))
  results.push(
    await benchModel(
      'pretrainedResnet.h5 (ResNet-8)',
      (await loadModel(resnetFile)).model,
      images(SAMPLES, [32, 32, 3], 2),
    ),
  );
console.log(
  JSON.stringify(
    { bench: 'compress', backend: currentBackend(), node: process.version, results },
    null,
    2,
  ),
);
