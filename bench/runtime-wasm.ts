/**
 * int8 inference throughput of the wasm build (core/runtime, in Node) against the real
 * TFLite runtime compiled to wasm (tfjs-tflite in headless Chromium, with the XNNPACK
 * delegate it always applies), on the shared int8 models, in one run. Prints one JSON
 * document with invocations per second and the ratio ours / TFLite.
 *
 *   node --import tsx bench/runtime-wasm.ts [--runs N]
 *
 * TFLite's time per inference is taken as the difference between a call with 1 + N samples
 * and a call with 1 sample, which cancels model loading and page overhead; each sample
 * still carries its input across the page boundary (a few kB), which slightly favours us.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Runtime } from '../core/runtime';
import { TfliteReference, missingTfliteReference } from '../tests/helpers/tflite-reference';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const modelsDir = path.resolve(
  process.env.QUANTBENCH_SHARED_MODELS ?? path.join(root, '..', 'shared', 'models'),
);
const { values } = parseArgs({ options: { runs: { type: 'string', default: '200' } } });
const runs = Number(values.runs);
const models = ['kws_ref_model.tflite', 'pretrainedResnet_quant.tflite', 'ad01_int8.tflite'];

function input(bytes: number, seed: number): Int8Array {
  return Int8Array.from({ length: bytes }, (_, i) => (((i + 1) * 2654435761 + seed) >>> 24) - 128);
}

const skip = missingTfliteReference();
const reference = skip ? undefined : await TfliteReference.start();
const results = [];
try {
  for (const name of models) {
    const bytes = new Uint8Array(readFileSync(path.join(modelsDir, name)));
    const interpreter = await Runtime.load(bytes, { name });
    const samples = Array.from({ length: runs }, (_, s) => input(interpreter.inputs[0].bytes, s));
    for (const x of samples.slice(0, 5)) {
      interpreter.setInput(0, x);
      interpreter.invoke();
    }
    const t0 = process.hrtime.bigint();
    for (const x of samples) {
      interpreter.setInput(0, x);
      interpreter.invoke();
      interpreter.getOutput(0);
    }
    const oursMs = Number(process.hrtime.bigint() - t0) / 1e6 / runs;
    let tfliteMs: number | undefined;
    if (reference) {
      await reference.run(bytes, samples.slice(0, 1)); // warm the page and the wasm
      const a = process.hrtime.bigint();
      await reference.run(bytes, samples.slice(0, 1));
      const b = process.hrtime.bigint();
      await reference.run(bytes, [samples[0], ...samples]);
      const c = process.hrtime.bigint();
      tfliteMs = (Number(c - b) - Number(b - a)) / 1e6 / runs;
    }
    results.push({
      model: name,
      runs,
      oursMsPerInference: Number(oursMs.toFixed(4)),
      oursPerSecond: Math.round(1000 / oursMs),
      tfliteMsPerInference: tfliteMs === undefined ? null : Number(tfliteMs.toFixed(4)),
      tflitePerSecond: tfliteMs === undefined ? null : Math.round(1000 / tfliteMs),
      ratioOursOverTflite: tfliteMs === undefined ? null : Number((tfliteMs / oursMs).toFixed(3)),
    });
    interpreter.dispose();
  }
} finally {
  await reference?.close();
}
console.log(
  JSON.stringify(
    {
      bench: 'runtime-wasm',
      ours:
        'build/firmware/wasm/qb_runtime.wasm (clang -O2, portable C kernels, no SIMD) in Node ' +
        process.version,
      tflite: skip
        ? `not run: ${skip}`
        : 'tfjs-tflite 0.0.1-alpha.10 wasm (XNNPACK, single thread SIMD) in headless Chromium',
      ratio: 'throughput ours / TFLite (above 1: ours faster)',
      results,
    },
    null,
    2,
  ),
);
