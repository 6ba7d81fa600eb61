import path from 'node:path';
import { UnknownModelFormatError } from '../errors';
import { kerasH5Reader } from './keras-h5';
import { kerasZipReader } from './keras-zip';
import { tfjsReader } from './tfjs';
import type { ModelReader } from './types';

/** Every model format Quantbench imports. Magic bytes decide first, the extension second. */
export const modelReaders: readonly ModelReader[] = [kerasH5Reader, kerasZipReader, tfjsReader];

/**
 * An HDF5 file saved under a .keras name (older tf.keras did this) must go to the HDF5 reader,
 * so the bytes win over the name.
 */
export function pickReader(file: string, head: Uint8Array): ModelReader {
  const byMagic = modelReaders.find((r) => r.matches(head));
  if (byMagic) return byMagic;
  const ext = path.extname(file).toLowerCase();
  const byExtension = modelReaders.find((r) => r.extensions.includes(ext));
  if (byExtension) return byExtension;
  throw new UnknownModelFormatError(
    file,
    head.length === 0
      ? 'the file is empty'
      : 'neither its first bytes nor its extension match a known format',
  );
}

export { KerasH5Error } from './keras-h5';
export { KerasZipError } from './keras-zip';
export { TfjsModelError } from './tfjs';
export type { ModelFormat, ModelReader, ReadModel } from './types';
