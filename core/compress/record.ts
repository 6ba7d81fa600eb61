import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Dataset } from '../data/index';
import type { Json, Store } from '../store/index';
import type { CompressReport } from './report';
import type { Recipe } from './recipe';

/** sha256 of the exact samples (and labels) a run evaluates on. */
export async function datasetHash(dataset: Dataset): Promise<string> {
  const h = createHash('sha256');
  for await (const batch of dataset.batches(1024)) {
    h.update(new Uint8Array(batch.x.buffer, batch.x.byteOffset, batch.x.byteLength));
    h.update(new Uint8Array(batch.y.buffer, batch.y.byteOffset, batch.y.byteLength));
  }
  return h.digest('hex');
}

/** Opens a run in the experiment store for a compression about to start. */
export async function beginCompressRun(
  store: Store,
  input: { modelPath: string; format: string; recipe: Recipe; data: Dataset },
): Promise<number> {
  const model = store.recordModel({
    hash: createHash('sha256').update(readFileSync(input.modelPath)).digest('hex'),
    name: path.basename(input.modelPath),
    sourcePath: input.modelPath,
    format: input.format,
  });
  const dataset = store.recordDataset({
    spec: input.data.name,
    hash: await datasetHash(input.data),
    sampleCount: input.data.count,
    preprocessing: input.data.preprocessing as unknown as Json,
  });
  return store.beginRun({
    modelId: model.id,
    datasetId: dataset.id,
    recipe: input.recipe as unknown as Json,
    recipeName: input.recipe.name,
  });
}

/** Stores the figures, per-layer report and files of a finished compression. */
export function finishCompressRun(store: Store, runId: number, report: CompressReport): void {
  const kernels = report.layers.filter((l) => l.sparsity !== null);
  const zeros = kernels.reduce((s, l) => s + (l.sparsity ?? 0) * l.params, 0);
  const weights = kernels.reduce((s, l) => s + l.params, 0);
  const clustered = report.layers.filter((l) => l.clusters);
  store.finishRun(runId, {
    metrics: {
      floatAccuracy: report.float.accuracy,
      int8Accuracy: report.int8.accuracy,
      sparsity: weights ? zeros / weights : undefined,
      maxDistinctValues: clustered.length
        ? Math.max(...clustered.map((l) => l.uniqueValues ?? 0))
        : undefined,
    },
    sizes: {
      floatBytes: report.sizes.floatParamsBytes,
      tfliteBytes: report.sizes.tfliteBytes,
      gzipBytes: report.sizes.tfliteGzipBytes,
    },
    layers: report.layers.map((l) => ({
      name: l.name,
      type: l.type,
      policy: l.policy,
      sparsity: l.sparsity ?? undefined,
      uniqueValues: l.uniqueValues ?? undefined,
      sqnrDb: l.sqnrDb ?? undefined,
      rmseOverScale: l.rmseOverScale ?? undefined,
      cosine: l.cosine ?? undefined,
      extra: {
        op: l.op,
        macs: l.macs,
        folded: l.folded,
        weightScale: l.weightScale,
        clusters: l.clusters,
        newlyZero: l.newlyZero,
      } as unknown as Json,
    })),
    artifacts: [
      { role: 'tflite', kind: 'tflite', bytes: readFileSync(report.files.tflite) },
      { role: 'c-source', kind: 'c-source', bytes: readFileSync(report.files.source) },
      { role: 'c-header', kind: 'c-header', bytes: readFileSync(report.files.header) },
      { role: 'keras', kind: 'keras', bytes: readFileSync(report.files.keras) },
      { role: 'report', kind: 'json', bytes: readFileSync(report.files.report) },
    ],
    details: {
      sizes: report.sizes,
      fit: report.fit,
      outputSqnrDb: report.outputSqnrDb,
      guarantees: report.guarantees,
      confusion: report.confusion,
      histograms: report.histograms,
      autoExcluded: report.autoExcluded,
      removedLayers: report.removedLayers,
      ...(report.fineTune ? { fineTune: report.fineTune } : {}),
      warnings: report.warnings,
      timings: report.timings,
    } as unknown as Json,
  });
}
