import { QuantbenchError } from '../errors';

/** A .tflite file that does not follow the TFLite flatbuffer schema (truncated, corrupt, not TFLite). */
export class TfliteFormatError extends QuantbenchError {
  constructor(source: string, problem: string) {
    super('TFLITE_FORMAT', `${source}: not a valid .tflite model: ${problem}`, {
      hint: 'Re-export the model with the TFLite converter or Quantbench; the file may be truncated or not a .tflite file.',
    });
  }
}

/** A model object that cannot be written as a .tflite file (dangling index, unknown op or options). */
export class TfliteWriteError extends QuantbenchError {
  constructor(problem: string) {
    super('TFLITE_WRITE', `cannot write .tflite model: ${problem}`, {
      hint: 'Fix the model graph before export: every tensor, buffer and operator code index must exist.',
    });
  }
}
