import { QuantbenchError } from '../errors';

/** The bytes are not any model format Quantbench reads. */
export class UnknownModelFormatError extends QuantbenchError {
  constructor(file: string, detail: string) {
    super('MODEL_FORMAT_UNKNOWN', `${file}: not a model Quantbench can read (${detail})`, {
      hint: 'Give a Keras 3 .keras file, a Keras 2 .h5/.hdf5 file or a TensorFlow.js model.json',
    });
  }
}

/** A layer class that neither tfjs-layers nor Quantbench implements. */
export class UnsupportedLayerError extends QuantbenchError {
  readonly layer: string;
  readonly className: string;

  constructor(file: string, layer: string, className: string, supported: readonly string[]) {
    super(
      'MODEL_LAYER_UNSUPPORTED',
      oneLine(
        `${file}: layer "${layer}" has class ${className}, which Quantbench does not support`,
        500,
      ),
      { hint: `Supported layer classes: ${supported.join(', ')}` },
    );
    this.layer = layer;
    this.className = className;
  }
}

/** The model config is well-formed JSON but not a Keras model config Quantbench understands. */
export class ModelConfigError extends QuantbenchError {
  constructor(file: string, problem: string, options: { cause?: unknown } = {}) {
    super('MODEL_CONFIG_INVALID', oneLine(`${file}: ${problem}`, 500), {
      hint: 'Re-save the model from Keras (model.save) and import the new file',
      cause: options.cause,
    });
  }
}

/** Weights in the file do not fit the layers the config describes. */
export class ModelWeightsError extends QuantbenchError {
  constructor(file: string, problem: string) {
    super('MODEL_WEIGHTS_MISMATCH', oneLine(`${file}: ${problem}`, 500), {
      hint: 'The weights do not belong to this architecture; re-save the model from Keras in one file',
    });
  }
}

/** Text from a parser or library, squeezed onto one line so an error message stays one line. */
export function oneLine(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}
