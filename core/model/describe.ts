import type { ImportedModel } from './imported';
import type { LayerSummary, Shape } from './summary';

/** What `inspect` reports about a Keras or tfjs model: plain data, ready for JSON. */
export interface ModelDescription {
  file: string;
  format: ImportedModel['format'];
  kerasVersion: string | null;
  inputShape: Shape;
  outputShape: Shape;
  layers: LayerSummary[];
  totals: { layers: number; params: number; trainableParams: number; macs: number };
}

export function describeModel(imported: ImportedModel): ModelDescription {
  const trainableParams = imported.model.trainableWeights.reduce(
    (n, w) => n + w.shape.reduce<number>((a, d) => a * (d ?? 1), 1),
    0,
  );
  return {
    file: imported.path,
    format: imported.format,
    kerasVersion: imported.kerasVersion ?? null,
    inputShape: imported.inputShape,
    outputShape: imported.outputShape,
    layers: imported.layers,
    totals: {
      layers: imported.layers.length,
      params: imported.layers.reduce((n, l) => n + l.params, 0),
      trainableParams,
      macs: imported.layers.reduce((n, l) => n + l.macs, 0),
    },
  };
}

const shapeText = (s: Shape | Shape[]): string =>
  Array.isArray(s[0])
    ? (s as Shape[]).map(shapeText).join(' ')
    : `(${(s as Shape).map((d) => d ?? 'None').join(', ')})`;

const FORMAT_NAMES: Record<ImportedModel['format'], string> = {
  keras3: 'Keras 3 (.keras)',
  'keras2-h5': 'Keras HDF5 (.h5)',
  tfjs: 'TensorFlow.js layers model',
};

/** A table like Keras's model.summary(), plus MACs. */
export function formatDescription(d: ModelDescription): string {
  const rows = d.layers.map((l) => [
    `${l.name} (${l.className})`,
    shapeText(l.outputShape),
    l.params.toLocaleString('en-US'),
    l.macs.toLocaleString('en-US'),
  ]);
  const head = ['Layer (type)', 'Output shape', 'Params', 'MACs'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  return [
    `${d.file}`,
    `format   ${FORMAT_NAMES[d.format]}${d.kerasVersion ? `, written by Keras ${d.kerasVersion}` : ''}`,
    `input    ${shapeText(d.inputShape)}`,
    `output   ${shapeText(d.outputShape)}`,
    '',
    line(head),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(line),
    '',
    `${d.totals.layers} layers, ${d.totals.params.toLocaleString('en-US')} parameters (${d.totals.trainableParams.toLocaleString('en-US')} trainable), ${d.totals.macs.toLocaleString('en-US')} MACs per inference`,
  ].join('\n');
}
