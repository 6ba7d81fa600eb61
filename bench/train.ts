/**
 * Training speed of the sample model: the same fixed number of steps (same seed, same
 * batches) on the wasm backend with Quantbench's gradient kernels and on the pure-JS cpu
 * backend, in one run. The figure that matters is the ratio.
 *
 *   node --import tsx bench/train.ts [--steps 8] [--batch-size 64]
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { openDataset } from '../core/data/dataset';
import { useBackend } from '../core/train/backend';
import { buildSampleModel, trainSampleModel } from '../core/train/sample-model';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '8' },
    'batch-size': { type: 'string', default: '64' },
  },
});
const steps = Number(values.steps);
const batchSize = Number(values['batch-size']);

const train = await openDataset(`fashion-mnist:train[0:${(steps + 1) * batchSize}]`);
const all = (await train.batches(train.count).next()).value!;
const set = { x: all.x, y: all.y as Int32Array, count: all.size };

async function measure(
  backend: 'wasm' | 'cpu',
): Promise<{ backend: string; steps: number; msPerStep: number; finalLoss: number }> {
  await useBackend(backend);
  const model = buildSampleModel(1);
  // The first step builds the optimizer state and compiles kernels; it is not timed.
  await trainSampleModel(model, set, {
    epochs: 1,
    batchSize,
    seed: 1,
    learningRate: 0.003,
    maxSteps: 1,
  });
  let loss = NaN;
  const started = performance.now();
  await trainSampleModel(model, set, {
    epochs: 1,
    batchSize,
    seed: 2,
    learningRate: 0.003,
    maxSteps: steps,
    onStep: (e) => (loss = e.loss),
  });
  const ms = (performance.now() - started) / steps;
  model.dispose();
  return {
    backend: tf.getBackend(),
    steps,
    msPerStep: Number(ms.toFixed(1)),
    finalLoss: Number(loss.toFixed(4)),
  };
}

const wasm = await measure('wasm');
const cpu = await measure('cpu');
process.stdout.write(
  JSON.stringify(
    {
      benchmark: 'train',
      model: 'sample fashion-mnist CNN (buildSampleModel)',
      batchSize,
      node: process.version,
      results: [wasm, cpu],
      wasmSpeedupOverCpu: Number((cpu.msPerStep / wasm.msPerStep).toFixed(1)),
      target: 10,
    },
    null,
    2,
  ) + '\n',
);
