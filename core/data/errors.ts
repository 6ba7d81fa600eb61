import { QuantbenchError } from '../errors';
import { readUserFile, UserFileError } from '../files/user-file';

/** A dataset file or folder that cannot be read as what its spec says it is. */
export class DatasetError extends QuantbenchError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super('DATASET_INVALID', message, { hint, cause });
  }
}

/** A dataset spec string that does not parse. */
export class DatasetSpecError extends QuantbenchError {
  constructor(message: string) {
    super('DATASET_SPEC', message, {
      hint: 'use fashion-mnist:test|train, idx:IMAGES,LABELS, npz:FILE, npy:X,Y, csv:FILE[#label=COL] or folder:DIR, optionally followed by [START:END]',
    });
  }
}

/** Samples whose shape cannot be fed to the model's input. */
export class DatasetShapeError extends QuantbenchError {
  constructor(message: string, hint: string) {
    super('DATASET_SHAPE', message, { hint });
  }
}

/** A whole dataset file, regular files only, with the user-file errors reported as dataset errors. */
export function readDatasetFile(file: string, what: string): Buffer {
  try {
    return readUserFile(file, { what });
  } catch (e) {
    if (e instanceof UserFileError) throw new DatasetError(e.message, e.hint, e);
    throw e;
  }
}
