import { readFile } from 'node:fs/promises';
import type { TfliteEvalResult } from '../../eval/tflite-eval';
import path from 'node:path';
import { openDataset } from '../../data/dataset';
import { QuantbenchError } from '../../errors';
import { evaluateFloat, type FloatEvalResult } from '../../eval/float-eval';
import { loadModel } from '../../model/index';
import { initBackend, type BackendName } from '../../train/backend';
import { numberOption, stringOption, UsageError } from '../args';
import type { CliCommand } from '../command';
import { emit } from '../output';
import { progressReporter } from '../progress';

function numberList(options: Record<string, string | boolean>, name: string): number[] | undefined {
  const raw = stringOption(options, name);
  if (raw === undefined) return undefined;
  const values = raw.split(',').map(Number);
  if (values.some((v) => !Number.isFinite(v)))
    throw new UsageError(`--${name} must be numbers separated by commas, got "${raw}"`);
  return values;
}

function human(result: FloatEvalResult | TfliteEvalResult, model: string): string {
  const head = [
    `model       ${model}`,
    `dataset     ${result.dataset} (${result.samples} samples)`,
    `backend     ${result.backend}, ${result.dtype}, ${result.samplesPerSecond.toFixed(0)} samples/s`,
  ];
  if (result.task !== 'classification')
    return [...head, `mse         ${result.mse.toPrecision(6)}`].join('\n');
  const names = result.classNames ?? result.perClassAccuracy.map((_, i) => String(i));
  const width = Math.max(...names.map((n) => n.length));
  return [
    ...head,
    `accuracy    ${(result.accuracy * 100).toFixed(2)}%`,
    '',
    'per class',
    ...result.perClassAccuracy.map(
      (a, i) =>
        `  ${(names[i] ?? String(i)).padEnd(width)}  ${a === null ? 'no samples' : `${(a * 100).toFixed(1)}%`}`,
    ),
  ].join('\n');
}

export const evalCommand: CliCommand = {
  name: 'eval',
  usage: `Usage: quantbench eval MODEL --data SPEC [options]

Evaluates a Keras (.keras, .h5) or tfjs (model.json) model in float32 on a dataset.

  --data SPEC               fashion-mnist:test|train, idx:IMAGES,LABELS, npz:FILE,
                            npy:X,Y, csv:FILE[#label=COL], folder:DIR; optional [START:END]
  --limit N                 evaluate at most N samples
  --input-scale S           multiply raw inputs by S (e.g. 0.00392156862745098 for 1/255)
  --input-offset O          then add O
  --input-mean M[,M...]     then subtract a mean (one value or one per channel)
  --input-std S[,S...]      then divide by a standard deviation
  --batch-size N            samples per batch (default 256)
  --reconstruction          score outputs against inputs (autoencoders): MSE
  --backend NAME            tensorflow, wasm or cpu (default: the fastest available)
  --fashion-mnist-dir DIR   where the Fashion-MNIST IDX files are
                            (else QUANTBENCH_FASHION_MNIST_DIR, Debian's package, the bundled subset)
  --json                    one JSON document: accuracy or mse, samples, dtype, backend,
                            confusion matrix, per-class accuracy, preprocessing`,
  valueOptions: [
    'data',
    'limit',
    'input-scale',
    'input-offset',
    'input-mean',
    'input-std',
    'batch-size',
    'backend',
    'fashion-mnist-dir',
  ],
  flags: ['reconstruction'],
  async run(ctx) {
    const modelPath = ctx.positionals[0];
    if (!modelPath) throw new UsageError('give the model file to evaluate');
    const spec = stringOption(ctx.options, 'data');
    if (!spec) throw new UsageError('--data SPEC is required');
    const limit = numberOption(ctx.options, 'limit');
    if (limit !== undefined && (!Number.isInteger(limit) || limit <= 0))
      throw new UsageError('--limit must be a positive integer');
    const batchSize = numberOption(ctx.options, 'batch-size') ?? 256;
    const backend = stringOption(ctx.options, 'backend');
    if (backend !== undefined && !['tensorflow', 'wasm', 'cpu'].includes(backend))
      throw new UsageError(`--backend must be tensorflow, wasm or cpu, got "${backend}"`);
    const preprocessing = {
      scale: numberOption(ctx.options, 'input-scale') ?? 1,
      offset: numberOption(ctx.options, 'input-offset') ?? 0,
      mean: numberList(ctx.options, 'input-mean'),
      std: numberList(ctx.options, 'input-std'),
    };
    if (path.extname(modelPath).toLowerCase() === '.tflite') {
      // The same C runtime the board runs, compiled to wasm: int8 and float .tflite alike.
      const bytes = await readFile(modelPath).catch((error: Error) => {
        throw new QuantbenchError('EVAL_MODEL_UNREADABLE', `${modelPath}: ${error.message}`, { hint: 'check the path' });
      });
      const { Runtime } = await import('../../runtime/index');
      const probe = await Runtime.load(bytes, { name: modelPath });
      // The dataset is fitted to one sample: the shape without its batch axis.
      const inputShape = probe.inputs[0]!.shape.slice(1);
      probe.dispose();
      const dataset = await openDataset(spec, {
        inputShape,
        limit,
        fashionMnist: { dir: stringOption(ctx.options, 'fashion-mnist-dir') },
        preprocessing,
      });
      for (const notice of dataset.notices) ctx.stderr.write(`note: ${notice}\n`);
      const { evaluateTflite } = await import('../../eval/tflite-eval');
      const result = await evaluateTflite(bytes, modelPath, dataset, { signal: ctx.signal });
      emit(ctx, { model: path.resolve(modelPath), format: 'tflite', ...result }, () =>
        `${human(result, path.resolve(modelPath))}\narena       ${result.arenaBytes} bytes`,
      );
      return 0;
    }

    await initBackend(backend as BackendName | undefined);
    const imported = await loadModel(modelPath);
    const dataset = await openDataset(spec, {
      inputShape: imported.inputShape.slice(1),
      limit,
      fashionMnist: { dir: stringOption(ctx.options, 'fashion-mnist-dir') },
      preprocessing,
    });
    for (const notice of dataset.notices) ctx.stderr.write(`note: ${notice}\n`);
    const bar = progressReporter(ctx);
    const result = await evaluateFloat(imported.model, dataset, {
      batchSize,
      reconstruction: ctx.options.reconstruction === true,
      signal: ctx.signal,
      onProgress: ({ done, total }) => bar.update(done / total, `evaluating ${done}/${total}`),
    }).finally(() => bar.done());
    emit(ctx, { model: imported.path, format: imported.format, ...result }, () =>
      human(result, imported.path),
    );
    return 0;
  },
};
