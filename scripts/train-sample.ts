/**
 * Trains the sample model shipped as resources/samples/fashion-mnist-cnn.keras on the full
 * Fashion-MNIST training set and reports its accuracy on the full test set.
 *
 *   npm run train:sample -- [--epochs 5] [--batch-size 64] [--seed 1] [--learning-rate 0.003]
 *                           [--fine-tune 2@0.001] [--resume FILE@N]
 *                           [--out FILE] [--fashion-mnist-dir DIR] [--backend wasm|cpu|tensorflow]
 *
 * Seeded: initialisers and the shuffle order come from --seed. The committed file is this
 * command with its defaults on the wasm backend, in one run: 3,052 s of training on the
 * shared 2-core build machine, 90.09% on the full test set.
 *
 * --resume FILE@N starts from FILE as the state after the main run and the first N fine-tune
 * cycles, and runs only the cycles after those. Every cycle starts a fresh optimizer and
 * shuffles with its own seed (seed + cycle + 1), so what the later cycles do depends only on
 * the weights they start from: appending a cycle costs that cycle, not the whole schedule.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openDataset } from '../core/data/dataset';
import { evaluateFloat } from '../core/eval/float-eval';
import { formatError, QuantbenchError } from '../core/errors';
import { loadModel } from '../core/model/index';
import { saveKeras } from '../core/model/keras-writer';
import { initBackend, type BackendName } from '../core/train/backend';
import { buildSampleModel, trainSampleModel } from '../core/train/sample-model';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      epochs: { type: 'string', default: '5' },
      'batch-size': { type: 'string', default: '64' },
      seed: { type: 'string', default: '1' },
      'learning-rate': { type: 'string', default: '0.003' },
      'fine-tune': { type: 'string', default: '2@0.001' },
      resume: { type: 'string' },
      out: {
        type: 'string',
        default: path.join(root, 'resources', 'samples', 'fashion-mnist-cnn.keras'),
      },
      'fashion-mnist-dir': { type: 'string' },
      backend: { type: 'string' },
    },
  });
  const backend = await initBackend(values.backend as BackendName | undefined);
  const fashionMnist = { dir: values['fashion-mnist-dir'] };
  const train = await openDataset('fashion-mnist:train', { fashionMnist });
  for (const notice of train.notices) process.stderr.write(`note: ${notice}\n`);
  const all = (await train.batches(train.count).next()).value!;

  const resume = values.resume ? parseResume(values.resume) : undefined;
  const model = resume
    ? (await loadModel(resume.file)).model
    : buildSampleModel(Number(values.seed));
  const set = { x: all.x, y: all.y as Int32Array, count: all.size };
  const progress = {
    onStep: ({
      epoch,
      step,
      stepsPerEpoch,
      loss,
    }: {
      epoch: number;
      step: number;
      stepsPerEpoch: number;
      loss: number;
    }) => {
      if (step % 50 === 0)
        process.stderr.write(
          `\repoch ${epoch + 1} step ${step}/${stepsPerEpoch} loss ${loss.toFixed(4)}   `,
        );
    },
    onEpoch: ({ epoch, loss, seconds }: { epoch: number; loss: number; seconds: number }) =>
      process.stderr.write(
        `\repoch ${epoch + 1}: mean loss ${loss.toFixed(4)} in ${seconds.toFixed(0)} s\n`,
      ),
  };
  const started = performance.now();
  const seed = Number(values.seed);
  const batchSize = Number(values['batch-size']);
  if (!resume)
    await trainSampleModel(model, set, {
      epochs: Number(values.epochs),
      batchSize,
      seed,
      learningRate: Number(values['learning-rate']),
      ...progress,
    });
  // Further cosine cycles with fresh optimizers (warm restarts): cheaper than a longer first
  // cycle for the last fraction of a percent. Cycle i shuffles with seed + i.
  const cycles = (values['fine-tune'] ?? '').split(',').filter(Boolean);
  for (const [i, cycle] of cycles.entries()) {
    if (resume && i < resume.cyclesDone) continue;
    const [epochs, rate] = cycle.split('@').map(Number);
    if (!Number.isInteger(epochs) || !(rate! > 0))
      throw new QuantbenchError('USAGE', `--fine-tune cycle "${cycle}" is not EPOCHS@RATE`, {
        hint: 'e.g. --fine-tune 2@0.001,1@0.0005',
      });
    await trainSampleModel(model, set, {
      epochs: epochs!,
      batchSize,
      seed: seed + i + 1,
      learningRate: rate!,
      ...progress,
    });
  }
  const trainSeconds = (performance.now() - started) / 1000;

  const test = await openDataset('fashion-mnist:test', { fashionMnist, inputShape: [28, 28, 1] });
  for (const notice of test.notices) process.stderr.write(`note: ${notice}\n`);
  const result = await evaluateFloat(model, test);
  await saveKeras(model, values.out);
  const accuracy = result.task === 'classification' ? result.accuracy : NaN;
  process.stdout.write(
    JSON.stringify(
      {
        out: path.relative(root, values.out),
        backend,
        trainSeconds: Math.round(trainSeconds),
        testSamples: result.samples,
        accuracy,
      },
      null,
      2,
    ) + '\n',
  );
}

function parseResume(spec: string): { file: string; cyclesDone: number } {
  const at = spec.lastIndexOf('@');
  const cyclesDone = Number(spec.slice(at + 1));
  if (at <= 0 || !Number.isInteger(cyclesDone) || cyclesDone < 0)
    throw new QuantbenchError('USAGE', `--resume "${spec}" is not FILE@N`, {
      hint: 'e.g. --resume resources/samples/fashion-mnist-cnn.keras@1: the file after the first fine-tune cycle',
    });
  return { file: spec.slice(0, at), cyclesDone };
}

main().catch((error: unknown) => {
  process.stderr.write(`train-sample: ${formatError(error)}\n`);
  process.exitCode = 1;
});
