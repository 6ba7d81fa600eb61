/**
 * Float evaluation speed of the sample model on the Fashion-MNIST test set, per tfjs backend
 * this machine can start, in one run so the ratios compare like with like.
 *
 *   node --import tsx bench/float-eval.ts [--model FILE] [--limit N] [--cpu-limit N] [--batch-size N]
 *
 * The cpu backend is two orders of magnitude slower, so it sees a prefix of the test set
 * (--cpu-limit, default 1000 images); images per second does not depend on how many.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openDataset } from '../core/data/dataset';
import { evaluateFloat } from '../core/eval/float-eval';
import { loadModel } from '../core/model/index';
import { useBackend, type BackendName } from '../core/train/backend';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    model: {
      type: 'string',
      default: path.join(root, 'resources', 'samples', 'fashion-mnist-cnn.keras'),
    },
    limit: { type: 'string' },
    'cpu-limit': { type: 'string', default: '1000' },
    'batch-size': { type: 'string', default: '256' },
  },
});

interface Row {
  backend: BackendName;
  available: boolean;
  images?: number;
  seconds?: number;
  imagesPerSecond?: number;
  accuracy?: number;
  reason?: string;
}

const rows: Row[] = [];
for (const backend of ['tensorflow', 'wasm', 'cpu'] as const) {
  try {
    await useBackend(backend);
  } catch (error) {
    rows.push({ backend, available: false, reason: (error as Error).message });
    continue;
  }
  // Loaded per backend so the weights live where the kernels run.
  const { model, inputShape } = await loadModel(values.model);
  const limit =
    backend === 'cpu'
      ? Number(values['cpu-limit'])
      : values.limit
        ? Number(values.limit)
        : undefined;
  const dataset = await openDataset('fashion-mnist:test', {
    inputShape: inputShape.slice(1),
    limit,
  });
  // One warm-up batch: the first call compiles and allocates.
  await evaluateFloat(
    model,
    await openDataset('fashion-mnist:test', { inputShape: inputShape.slice(1), limit: 64 }),
  );
  const result = await evaluateFloat(model, dataset, { batchSize: Number(values['batch-size']) });
  rows.push({
    backend,
    available: true,
    images: result.samples,
    seconds: Number(result.seconds.toFixed(3)),
    imagesPerSecond: Math.round(result.samplesPerSecond),
    ...(result.task === 'classification' ? { accuracy: result.accuracy } : {}),
  });
  model.dispose();
}
const cpu = rows.find((r) => r.backend === 'cpu' && r.imagesPerSecond);
const report = {
  benchmark: 'float-eval',
  model: path.relative(root, values.model),
  dataset: 'fashion-mnist:test',
  node: process.version,
  backends: rows,
  speedupOverCpu: Object.fromEntries(
    rows
      .filter((r) => r.imagesPerSecond && cpu)
      .map((r) => [r.backend, Number((r.imagesPerSecond! / cpu!.imagesPerSecond!).toFixed(1))]),
  ),
};
process.stdout.write(JSON.stringify(report, null, 2) + '\n');
