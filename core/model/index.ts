import { closeSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import './layers/index';
import { QuantbenchError } from '../errors';
import { openUserFile, UserFileError } from '../files/user-file';
import { pickReader } from './formats/index';
import type { ImportedModel } from './imported';
import { summarizeLayers, type Shape } from './summary';

export type { ImportedModel } from './imported';

export class ModelFileError extends QuantbenchError {
  constructor(file: string, problem: string, options: { cause?: unknown } = {}) {
    super('MODEL_FILE_UNREADABLE', `${file}: ${problem}`, {
      hint: 'Check the path and that the file is readable',
      cause: options.cause,
    });
  }
}

/** Imports a Keras 3 .keras, Keras 2 .h5/.hdf5 or tfjs model.json (a directory holding model.json works too). */
export async function loadModel(file: string): Promise<ImportedModel> {
  let resolved = path.resolve(file);
  const head = new Uint8Array(16);
  let headLength: number;
  try {
    if (statSync(resolved).isDirectory()) resolved = path.join(resolved, 'model.json');
    // Refuses FIFOs and devices here, before any reader (h5wasm included) opens the path.
    const { fd } = openUserFile(resolved, { what: 'model' });
    try {
      headLength = readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if (
      error instanceof UserFileError &&
      error.code !== 'FILE_NOT_FOUND' &&
      error.code !== 'FILE_UNREADABLE'
    )
      throw error;
    const code =
      error instanceof UserFileError
        ? (error.cause as NodeJS.ErrnoException | undefined)?.code
        : (error as NodeJS.ErrnoException).code;
    throw new ModelFileError(
      resolved,
      code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? (error as Error).message})`,
      { cause: error },
    );
  }
  const reader = pickReader(resolved, head.subarray(0, headLength));
  const read = await reader.read(resolved);
  const model = read.model;
  return {
    format: read.format,
    kerasVersion: read.kerasVersion,
    path: resolved,
    model,
    layers: summarizeLayers(model),
    inputShape: model.inputs[0]!.shape as Shape,
    outputShape: model.outputs[0]!.shape as Shape,
    config: read.config,
  };
}

export {
  modelReaders,
  pickReader,
  KerasH5Error,
  KerasZipError,
  TfjsModelError,
} from './formats/index';
export type { ModelFormat, ModelReader } from './formats/index';
export {
  UnknownModelFormatError,
  UnsupportedLayerError,
  ModelConfigError,
  ModelWeightsError,
} from './errors';
export { supportedLayerClasses } from './supported';
export type { LayerSummary, Shape } from './summary';
export { saveKeras, KerasWriterError } from './keras-writer';
export { describeModel, formatDescription, type ModelDescription } from './describe';
