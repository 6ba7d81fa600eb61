/**
 * Wall time of one epoch of prune-, cluster- and quantization-aware fine-tuning (PCQAT) of
 * the sample model on 60,000 Fashion-MNIST images, against plain training of the same model
 * on the same batches in the same run (tfjs trainOnBatch, no constraints): the ratio is the
 * overhead of keeping masks, centroids and fake quantization. A fixed number of timed steps
 * per mode is extrapolated to the 60,000-image epoch (--steps 0 runs the whole epoch).
 *
 *   node --import tsx bench/finetune.ts [--steps 40] [--batch-size 32] [--model FILE.keras]
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { lowerKerasModel } from '../core/compress/lower-keras';
import { compress } from '../core/compress/pipeline';
import { preset, type Recipe } from '../core/compress/recipe';
import { exportTflite } from '../core/compress/export-tflite';
import {
  applyState,
  compressWithFineTune,
  int8Accuracy,
  int8Predictions,
  type FlowResult,
} from '../core/compress/finetune-flow';
import { fineTuneStepSchema } from '../core/compress/recipe';
import { trainSampleModel } from '../core/train/sample-model';
import { writeGraphWeights } from '../core/compress/keras-weights';
import { loadTrainingData } from '../core/compress/finetune/data';
import { registerFineTuneKernels } from '../core/compress/finetune/kernels';
import { stateFromGraph, type CompressionState } from '../core/compress/finetune/state';
import { batchOf, ConstrainedTrainer, type TrainingData } from '../core/compress/finetune/trainer';
import { loadModel } from '../core/model/index';
import { initBackend } from '../core/train/backend';
import { buildSampleModel, seededRandom, shuffledIndices } from '../core/train/sample-model';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '40' },
    'batch-size': { type: 'string', default: '32' },
    model: { type: 'string' },
    /** Instead of timing: accuracy of the whole flow (issue 9 acceptance), as JSON. */
    accuracy: { type: 'boolean', default: false },
    'train-images': { type: 'string', default: '60000' },
    'float-epochs': { type: 'string', default: '2' },
    'finetune-epochs': { type: 'string', default: '2' },
    'finetune-images': { type: 'string', default: '60000' },
    'test-images': { type: 'string', default: '10000' },
    configs: { type: 'string', default: '0.5:16,0.8:8' },
    'learning-rate': { type: 'string', default: '0.0005' },
  },
});
const batchSize = Number(values['batch-size']);
const EPOCH_IMAGES = 60_000;
const stepsPerEpoch = Math.floor(EPOCH_IMAGES / batchSize);
const timedSteps = Number(values.steps) || stepsPerEpoch;
const WARMUP = 2;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
function sampleModelFile(): string | undefined {
  if (values.model) return values.model;
  const dir = path.join(root, 'resources/samples');
  const found = existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith('.keras')) : undefined;
  return found && path.join(dir, found);
}

async function freshModel(): Promise<{ model: tf.LayersModel; source: string }> {
  const file = sampleModelFile();
  if (file) return { model: (await loadModel(file)).model, source: file };
  return {
    model: buildSampleModel(1),
    source: 'buildSampleModel(1) (untrained; resources/samples has no .keras)',
  };
}

const backend = await initBackend();
registerFineTuneKernels();

if (values.accuracy) {
  console.log(JSON.stringify(await accuracyRun(), null, 2));
  process.exit(0);
}
const need = (timedSteps + WARMUP) * batchSize;
const data: TrainingData = await loadTrainingData(
  `fashion-mnist:train[0:${Math.min(EPOCH_IMAGES, need)}]`,
  [28, 28, 1],
  10,
);
const order = shuffledIndices(data.count, seededRandom(1));

function batches(run: (xs: tf.Tensor, labels: Int32Array) => void): number {
  let started = 0;
  for (let s = 0; s < WARMUP + timedSteps; s++) {
    if (s === WARMUP) started = performance.now();
    const { xs, labels } = batchOf(
      data,
      order,
      (s * batchSize) % (data.count - batchSize + 1),
      batchSize,
    );
    run(xs, labels);
    xs.dispose();
  }
  return (performance.now() - started) / 1000;
}

// Plain training: tfjs' own trainOnBatch path, what a user gets without constraints.
const plain = await freshModel();
plain.model.compile({ optimizer: tf.train.adam(1e-4), loss: 'sparseCategoricalCrossentropy' });
let plainLoss = 0;
const plainSeconds = await (async () => {
  let started = 0;
  for (let s = 0; s < WARMUP + timedSteps; s++) {
    if (s === WARMUP) started = performance.now();
    const { xs, labels } = batchOf(
      data,
      order,
      (s * batchSize) % (data.count - batchSize + 1),
      batchSize,
    );
    const ys = tf.tensor1d(Float32Array.from(labels));
    plainLoss = (await plain.model.trainOnBatch(xs, ys)) as number;
    tf.dispose([xs, ys]);
  }
  return (performance.now() - started) / 1000;
})();

function modeRun(name: string, state: CompressionState, qat: boolean, model: tf.LayersModel) {
  const trainer = new ConstrainedTrainer(model, state, {
    optimizer: 'adam',
    learningRate: 1e-4,
    schedule: { kind: 'constant' },
    totalSteps: WARMUP + timedSteps,
    qat: qat ? { emaDecay: 0.999 } : undefined,
  });
  let loss = 0;
  const seconds = batches((xs, labels) => (loss = trainer.trainBatch(xs, labels).loss));
  trainer.dispose();
  return { name, seconds, loss };
}

// The compressed start point: the preset's prune and cluster steps on the model's weights.
const compressed = await freshModel();
const calibration = tf.tensor(data.x.subarray(0, 100 * 784), [100, 28, 28, 1]);
const result = compress(lowerKerasModel(compressed.model), {
  recipe: preset('prune50-cluster16-int8-keep-rescaling-float'),
  calibration,
});
writeGraphWeights(compressed.model, result.graph);
const state = stateFromGraph(result.graph, result.policies);
const masksOnly: CompressionState = Object.fromEntries(
  Object.entries(state).map(([k, v]) => [k, { mask: v.mask, policy: v.policy }]),
);

const runs = [
  modeRun('unconstrained custom loop', {}, false, (await freshModel()).model),
  modeRun('prune (masks held)', masksOnly, false, (await freshModel()).model),
  modeRun('prune + cluster', state, false, compressed.model),
  modeRun('prune + cluster + QAT (PCQAT)', state, true, compressed.model),
];

const perEpoch = (s: number) => Number(((s / timedSteps) * stepsPerEpoch).toFixed(1));
console.log(
  JSON.stringify(
    {
      bench: 'finetune',
      backend,
      model: plain.source,
      batchSize,
      epochImages: EPOCH_IMAGES,
      stepsPerEpoch,
      timedSteps,
      extrapolated: timedSteps < stepsPerEpoch,
      note:
        timedSteps < stepsPerEpoch
          ? `${timedSteps} timed steps per mode (after ${WARMUP} warm-up steps) scaled to ${stepsPerEpoch} steps`
          : 'whole epoch timed',
      baseline: {
        name: 'plain training (tfjs trainOnBatch)',
        msPerStep: Number(((plainSeconds / timedSteps) * 1000).toFixed(1)),
        epochSeconds: perEpoch(plainSeconds),
        loss: plainLoss,
      },
      modes: runs.map((r) => ({
        name: r.name,
        msPerStep: Number(((r.seconds / timedSteps) * 1000).toFixed(1)),
        epochSeconds: perEpoch(r.seconds),
        overVsPlain: Number((r.seconds / plainSeconds).toFixed(2)),
        loss: r.loss,
      })),
    },
    null,
    2,
  ),
);
calibration.dispose();

/** The recipe preset with other sparsity and cluster counts (BN and Rescaling kept float). */
function recipeFor(sparsity: number, k: number): Recipe {
  const base = preset('prune50-cluster16-int8-keep-rescaling-float');
  return {
    name: `prune${sparsity * 100}-cluster${k}-int8-keep-rescaling-float`,
    steps: base.steps.map((s) =>
      s.step === 'prune' ? { ...s, sparsity } : s.step === 'cluster' ? { ...s, k } : s,
    ),
  };
}

/**
 * The exported model against the fake-quantized forward it was trained as, on the test set:
 * with the activation ranges learned in training (what the flow exports) and, as the
 * baseline, with the same weights exported after re-calibrating the ranges on 100 samples.
 */
async function rangesComparison(
  model: tf.LayersModel,
  recipe: Recipe,
  r: FlowResult,
  test: TrainingData,
  calibration: tf.Tensor,
  emaDecay: number,
) {
  const q = recipe.steps.find((s) => s.step === 'quantize')!;
  const trainer = new ConstrainedTrainer(model, r.fineTuned.state, {
    optimizer: 'sgd',
    learningRate: 0,
    schedule: { kind: 'constant' },
    totalSteps: 1,
    qat: { emaDecay, weights: q.weights },
  });
  trainer.net.setActivationRanges(r.fineTuned.activationRanges);
  const all = Int32Array.from({ length: test.count }, (_, i) => i);
  const simulated = new Int32Array(test.count);
  for (let from = 0; from < test.count; from += 250) {
    const { xs } = batchOf(test, all, from, Math.min(250, test.count - from));
    simulated.set(trainer.predict(xs), from);
    xs.dispose();
  }
  trainer.dispose();
  const graph = lowerKerasModel(model);
  applyState(graph, r.fineTuned.state, new Map(r.oneShot.clustered.map((c) => [c.layer, c.k])));
  const recalibrated = compress(graph, {
    recipe: { name: 'recalibrated', steps: [{ ...q, equalizeFloatBatchNorm: false }] },
    calibration,
  });
  const score = (predicted: Int32Array) => {
    let agree = 0;
    let correct = 0;
    for (let i = 0; i < predicted.length; i++) {
      if (predicted[i] === simulated[i]) agree++;
      if (predicted[i] === test.y[i]) correct++;
    }
    return { int8Accuracy: correct / test.count, agreementWithFakeQuant: agree / test.count };
  };
  let fakeQuantCorrect = 0;
  for (let i = 0; i < test.count; i++) if (simulated[i] === test.y[i]) fakeQuantCorrect++;
  return {
    fakeQuantAccuracy: fakeQuantCorrect / test.count,
    learned: score(await int8Predictions(r.tflite, test, all)),
    recalibrated: score(await int8Predictions(exportTflite(recalibrated.quantized!), test, all)),
  };
}

async function accuracyRun() {
  const t0 = performance.now();
  const trainImages = Number(values['train-images']);
  const train = await loadTrainingData(`fashion-mnist:train[0:${trainImages}]`, [28, 28, 1], 10);
  const test = await loadTrainingData(
    `fashion-mnist:test[0:${Number(values['test-images'])}]`,
    [28, 28, 1],
    10,
  );
  const all = Int32Array.from({ length: test.count }, (_, i) => i);
  const file = sampleModelFile();
  let floatModel: tf.LayersModel;
  let source: string;
  if (file) {
    floatModel = (await loadModel(file)).model;
    source = file;
  } else {
    floatModel = buildSampleModel(1);
    const epochs = Number(values['float-epochs']);
    await trainSampleModel(floatModel, train, {
      epochs,
      batchSize: 64,
      seed: 1,
      learningRate: 0.003,
    });
    source = `buildSampleModel(1) trained here: ${epochs} epoch(s) on ${train.count} images (resources/samples has no .keras)`;
  }
  const floatAccuracy = new ConstrainedTrainer(
    floatModel,
    {},
    { optimizer: 'sgd', learningRate: 0, schedule: { kind: 'constant' }, totalSteps: 1 },
  ).evaluate(test, all);
  const weights = floatModel.getWeights().map((w) => w.clone());
  const ftImages = Math.min(Number(values['finetune-images']), train.count);
  const ftData: TrainingData = {
    ...train,
    count: ftImages,
    x: train.x.subarray(0, ftImages * 784),
    y: train.y.subarray(0, ftImages),
  };
  const calibration = tf.tensor(train.x.subarray(0, 100 * 784), [100, 28, 28, 1]);
  const results = [];
  for (const c of String(values.configs).split(',')) {
    const [sparsity, k] = c.split(':').map(Number) as [number, number];
    floatModel.setWeights(weights);
    const recipe = recipeFor(sparsity, k);
    const config = fineTuneStepSchema.parse({
      step: 'fineTune',
      epochs: Number(values['finetune-epochs']),
      batchSize: 32,
      learningRate: Number(values['learning-rate']),
      schedule: { kind: 'cosine' },
      validationSplit: 0.1,
      emaDecay: 0.99,
    });
    const started = performance.now();
    const r = await compressWithFineTune(floatModel, recipe, config, ftData, calibration);
    const oneShotInt8 = await int8Accuracy(exportTflite(r.oneShot.quantized!), test, all);
    const int8 = await int8Accuracy(r.tflite, test, all);
    const ranges = await rangesComparison(
      floatModel,
      recipe,
      r,
      test,
      calibration,
      config.emaDecay,
    );
    results.push({
      recipe: recipe.name,
      fineTune: {
        epochs: config.epochs,
        images: ftImages,
        bestEpoch: r.fineTuned.best.epoch,
        history: r.fineTuned.epochs,
      },
      oneShotInt8Accuracy: oneShotInt8,
      int8Accuracy: int8,
      ranges,
      dropVsFloatPoints: Number(((floatAccuracy - int8) * 100).toFixed(2)),
      guarantees: {
        ok: r.guarantees.every((g) => g.ok),
        prunedNonZero: r.guarantees.reduce((a, g) => a + g.prunedNonZero, 0),
        maxDistinctPerLayer: Math.max(
          ...r.guarantees.filter((g) => g.k !== undefined).map((g) => g.maxDistinctPerGroup),
        ),
      },
      seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
    });
  }
  calibration.dispose();
  return {
    bench: 'finetune-accuracy',
    backend,
    model: source,
    testImages: test.count,
    floatAccuracy,
    results,
    seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
  };
}
