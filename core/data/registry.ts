import { openCsv } from './csv';
import { openFashionMnist, type FashionMnistOptions } from './fashion-mnist';
import { openFolder, type FolderOptions } from './folder';
import { openIdx } from './idx';
import { openNpy } from './npy';
import { openNpz } from './npz';
import type { DatasetKind, DatasetSpec } from './spec';
import type { DatasetSource } from './types';

export interface ReaderOptions {
  fashionMnist?: FashionMnistOptions;
  folder?: FolderOptions;
}

type Reader<K extends DatasetKind> = (
  spec: Extract<DatasetSpec, { kind: K }>,
  options: ReaderOptions,
) => Promise<DatasetSource>;

/** One reader per dataset kind; the spec parser and this table are the only places kinds are named. */
export const datasetReaders: { [K in DatasetKind]: Reader<K> } = {
  'fashion-mnist': (spec, o) => openFashionMnist(spec.split, o.fashionMnist),
  idx: (spec) => openIdx(spec.images, spec.labels),
  npy: (spec) => openNpy(spec.x, spec.y),
  npz: (spec) => openNpz(spec.file),
  csv: (spec) => openCsv(spec.file, { label: spec.label }),
  folder: (spec, o) => openFolder(spec.dir, o.folder),
};

export function openSource(spec: DatasetSpec, options: ReaderOptions): Promise<DatasetSource> {
  const reader = datasetReaders[spec.kind] as Reader<DatasetKind>;
  return reader(spec as never, options);
}
