import { DatasetSpecError } from './errors';

export type DatasetSpec = (
  | { kind: 'fashion-mnist'; split: 'train' | 'test' }
  | { kind: 'idx'; images: string; labels: string }
  | { kind: 'npz'; file: string }
  | { kind: 'npy'; x: string; y: string }
  | { kind: 'csv'; file: string; label?: string }
  | { kind: 'folder'; dir: string }
) & {
  /** `[start:end]`: half-open sample range, either end optional. */
  slice?: { start: number; end?: number };
};

export type DatasetKind = DatasetSpec['kind'];

const SLICE = /\[(\d*):(\d*)\]$/;

function two(kind: string, rest: string, names: [string, string]): [string, string] {
  const parts = rest.split(',');
  if (parts.length !== 2 || !parts[0] || !parts[1]) {
    throw new DatasetSpecError(
      `"${kind}:${rest}" needs two files: ${kind}:${names[0]},${names[1]}`,
    );
  }
  return [parts[0], parts[1]];
}

/** The one place dataset spec strings are read, for the CLI, the API and stored runs alike. */
export function parseDatasetSpec(text: string): DatasetSpec {
  let body = text.trim();
  let slice: DatasetSpec['slice'];
  const m = SLICE.exec(body);
  if (m) {
    const start = m[1] ? Number(m[1]) : 0;
    const end = m[2] ? Number(m[2]) : undefined;
    if (end !== undefined && end <= start)
      throw new DatasetSpecError(`"${text}": slice [${m[1]}:${m[2]}] is empty`);
    slice = { start, ...(end === undefined ? {} : { end }) };
    body = body.slice(0, m.index);
  }
  const colon = body.indexOf(':');
  if (colon <= 0) throw new DatasetSpecError(`"${text}" is not a dataset spec (KIND:WHAT)`);
  const kind = body.slice(0, colon);
  const rest = body.slice(colon + 1);
  if (!rest) throw new DatasetSpecError(`"${text}": nothing after "${kind}:"`);
  const spec = ((): DatasetSpec => {
    switch (kind) {
      case 'fashion-mnist':
        if (rest !== 'train' && rest !== 'test')
          throw new DatasetSpecError(`"${text}": fashion-mnist has the splits train and test`);
        return { kind, split: rest };
      case 'idx': {
        const [images, labels] = two(kind, rest, ['IMAGES', 'LABELS']);
        return { kind, images, labels };
      }
      case 'npy': {
        const [x, y] = two(kind, rest, ['X', 'Y']);
        return { kind, x, y };
      }
      case 'npz':
        return { kind, file: rest };
      case 'folder':
        return { kind, dir: rest };
      case 'csv': {
        const hash = rest.lastIndexOf('#label=');
        if (hash === -1) return { kind, file: rest };
        const label = rest.slice(hash + '#label='.length);
        if (!label) throw new DatasetSpecError(`"${text}": #label= needs a column name or index`);
        return { kind, file: rest.slice(0, hash), label };
      }
      default:
        throw new DatasetSpecError(`"${text}": unknown dataset kind "${kind}"`);
    }
  })();
  return slice ? { ...spec, slice } : spec;
}

export function formatDatasetSpec(spec: DatasetSpec): string {
  const slice = spec.slice ? `[${spec.slice.start}:${spec.slice.end ?? ''}]` : '';
  switch (spec.kind) {
    case 'fashion-mnist':
      return `fashion-mnist:${spec.split}${slice}`;
    case 'idx':
      return `idx:${spec.images},${spec.labels}${slice}`;
    case 'npy':
      return `npy:${spec.x},${spec.y}${slice}`;
    case 'npz':
      return `npz:${spec.file}${slice}`;
    case 'folder':
      return `folder:${spec.dir}${slice}`;
    case 'csv':
      return `csv:${spec.file}${spec.label === undefined ? '' : `#label=${spec.label}`}${slice}`;
  }
}
