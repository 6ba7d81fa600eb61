import type { RunSummary } from './types';

const COLUMNS: Array<[string, (r: RunSummary) => unknown]> = [
  ['id', (r) => r.id],
  ['uuid', (r) => r.uuid],
  ['model', (r) => r.modelName],
  ['dataset', (r) => r.datasetSpec],
  ['recipe', (r) => r.recipeName],
  ['status', (r) => r.status],
  ['started_at', (r) => r.startedAt],
  ['finished_at', (r) => r.finishedAt],
  ['float_accuracy', (r) => r.floatAccuracy],
  ['int8_accuracy', (r) => r.int8Accuracy],
  ['accuracy_drop', (r) => r.accuracyDrop],
  ['float_bytes', (r) => r.floatBytes],
  ['tflite_bytes', (r) => r.tfliteBytes],
  ['gzip_bytes', (r) => r.gzipBytes],
  ['sparsity', (r) => r.sparsity],
  ['max_distinct_values', (r) => r.maxDistinctValues],
  ['tags', (r) => r.tags.join(';')],
  ['notes', (r) => r.notes],
  ['error', (r) => r.error],
];

/** RFC 4180: CRLF line ends, fields quoted when they hold a comma, quote or line break. */
export function runsToCsv(runs: RunSummary[]): string {
  const lines = [COLUMNS.map(([name]) => name).join(',')];
  for (const run of runs) lines.push(COLUMNS.map(([, get]) => csvField(get(run))).join(','));
  return lines.join('\r\n') + '\r\n';
}

function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
