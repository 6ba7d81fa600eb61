import type { Interpreter, TensorData } from './interpreter';
import { decodeOutput, encodeInput } from './quantize';

/** One sample: a Float32Array for a single-input model, one array per input otherwise. */
export type Sample = Float32Array | Float32Array[];

export interface SampleResult {
  index: number;
  /** Outputs as floats (dequantized when the output is quantized). */
  outputs: Float32Array[];
  /** Outputs exactly as the runtime wrote them. */
  raw: TensorData[];
}

/**
 * Runs the interpreter over every sample in order, quantizing float inputs with the model's
 * input scale and zero point when the input is int8. Yields one result per sample, so a
 * caller can stop, count or aggregate without holding every output in memory.
 */
export async function* runSamples(
  interpreter: Interpreter,
  samples: Iterable<Sample> | AsyncIterable<Sample>,
): AsyncGenerator<SampleResult> {
  let index = 0;
  for await (const sample of samples) {
    const parts = Array.isArray(sample) ? sample : [sample];
    interpreter.inputs.forEach((info, i) => {
      interpreter.setInput(
        i,
        encodeInput(
          parts[i] ?? new Float32Array(0),
          info,
          `${interpreter.name} sample ${index} input ${i}`,
        ),
      );
    });
    interpreter.invoke();
    const raw = interpreter.outputs.map((_, i) => interpreter.getOutput(i));
    yield { index, raw, outputs: raw.map((r, i) => decodeOutput(r, interpreter.outputs[i])) };
    index++;
  }
}

/** All results of runSamples in an array. */
export async function evaluateSamples(
  interpreter: Interpreter,
  samples: Iterable<Sample> | AsyncIterable<Sample>,
): Promise<SampleResult[]> {
  const results: SampleResult[] = [];
  for await (const r of runSamples(interpreter, samples)) results.push(r);
  return results;
}
