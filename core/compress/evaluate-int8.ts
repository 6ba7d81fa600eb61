import type { Dataset } from '../data/index';
import { argmaxRows, ClassificationTally, SquaredErrorTally } from '../eval/metrics';
import { BatchRunner } from '../runtime/index';
import type { Metric } from './report';

export interface Int8EvalOptions {
  /** Names the model in runtime errors. */
  name: string;
  /** Number of classes when the data has class labels. */
  classes: number;
  signal?: AbortSignal;
  /** Samples done so far, after each batch. */
  onBatch?: (done: number, total: number) => void;
}

export interface Int8Eval {
  metric: Metric;
  /** Per class: null when the labels are regression targets. */
  confusion: number[][] | null;
}

/**
 * Scores an exported .tflite on `data` with the wasm build of the firmware, the runtime the
 * board runs: the run's int8 figure and every float island's ablation go through here, so
 * they are measured the same way on the same samples.
 */
export async function evaluateInt8(bytes: Uint8Array, data: Dataset, options: Int8EvalOptions): Promise<Int8Eval> {
  const classify = data.labelKind === 'class';
  // Batches cross into the runtime once each and split over the machine's cores.
  const runner = await BatchRunner.create(bytes, { name: options.name });
  const classTally = new ClassificationTally(classify ? options.classes : 0);
  const errTally = new SquaredErrorTally();
  const outSize = runner.output.shape.reduce((a, b) => a * b, 1);
  try {
    for await (const batch of data.batches(256)) {
      options.signal?.throwIfAborted();
      const out = await runner.run(
        batch.x,
        batch.size,
        `${data.name} samples ${batch.offset}..${batch.offset + batch.size - 1}`,
      );
      if (classify) {
        const predicted = argmaxRows(out, batch.size, outSize);
        for (let i = 0; i < batch.size; i++) classTally.add(batch.y[i], predicted[i]);
      } else {
        errTally.add(out, batch.y.subarray(0, batch.size * outSize), batch.size);
      }
      options.onBatch?.(batch.offset + batch.size, data.count);
    }
  } finally {
    await runner.close();
  }
  return classify
    ? { metric: { accuracy: classTally.accuracy, samples: classTally.samples }, confusion: classTally.confusion }
    : { metric: { mse: errTally.mse, samples: errTally.samples }, confusion: null };
}
