import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { BatchRunner, Runtime, evaluateSamples } from '../../core/runtime';
import { randomFloat32 } from '../firmware/firmware-build';
import { missingSharedModels, sharedModel } from '../helpers/shared-models';

/**
 * Batch evaluation (one crossing into wasm per batch, shares on worker threads) gives the
 * same outputs, bit for bit and in order, as one interpreter running sample by sample.
 */
const models = [
  { name: 'ad01_int8.tflite', lo: -40, hi: 60 }, // int8 input: quantized from floats here
  { name: 'ad01_fp32.tflite', lo: -40, hi: 60 }, // float32 input
  { name: 'kws_ref_model.tflite', lo: -100, hi: 100 },
];

async function oneByOne(model: Uint8Array, x: Float32Array, count: number, elements: number) {
  const interpreter = await Runtime.load(model);
  const samples = Array.from({ length: count }, (_, s) =>
    x.slice(s * elements, (s + 1) * elements),
  );
  const results = await evaluateSamples(interpreter, samples);
  interpreter.dispose();
  const outs = results.map((r) => r.outputs[0]);
  const joined = new Float32Array(outs.reduce((n, o) => n + o.length, 0));
  outs.forEach((o, i) => joined.set(o, i * o.length));
  return joined;
}

describe('batch evaluation on worker threads', () => {
  for (const { name, lo, hi } of models) {
    it(
      `${name}: 1 and 3 threads and 2 workers alone match sample-by-sample runs, for uneven and tiny batches`,
      {
        skip: missingSharedModels(name),
      },
      async () => {
        const model = new Uint8Array(readFileSync(sharedModel(name)));
        const single = await BatchRunner.create(model, { name, threads: 1 });
        const pooled = await BatchRunner.create(model, { name, threads: 3 });
        const workers = await BatchRunner.create(model, { name, threads: 2, workersOnly: true });
        try {
          assert.equal(single.threadCount, 1);
          assert.equal(pooled.threadCount, 3);
          assert.equal(workers.threadCount, 2);
          const elements = single.input.shape.reduce((a, b) => a * b, 1);
          for (const count of [10, 2, 1, 0]) {
            const x = randomFloat32(count * elements, 90 + count, lo, hi);
            const expected = await oneByOne(model, x, count, elements);
            assert.deepEqual(
              await single.run(x, count),
              expected,
              `${name}, ${count} samples, 1 thread`,
            );
            assert.deepEqual(
              await pooled.run(x, count),
              expected,
              `${name}, ${count} samples, 3 threads`,
            );
            // Handed out together, as compress's int8 evaluation does in the background.
            const [a, b] = await Promise.all([workers.run(x, count), workers.run(x, count)]);
            assert.deepEqual(a, expected, `${name}, ${count} samples, 2 workers only`);
            assert.deepEqual(b, expected, `${name}, ${count} samples, 2 workers only, again`);
          }
        } finally {
          await single.close();
          await pooled.close();
          await workers.close();
        }
      },
    );
  }

  it(
    'a batch with too few values is refused with the sample count in the message',
    {
      skip: missingSharedModels('ad01_int8.tflite'),
    },
    async () => {
      const model = new Uint8Array(readFileSync(sharedModel('ad01_int8.tflite')));
      const runner = await BatchRunner.create(model, { name: 'ad01', threads: 2 });
      try {
        await assert.rejects(runner.run(new Float32Array(640 * 3 - 1), 3), (e: unknown) => {
          const err = e as { code?: string; message: string };
          return err.code === 'RUNTIME_INPUT' && /3 samples of 640 values/.test(err.message);
        });
        const interpreter = await Runtime.load(model);
        assert.throws(
          () => interpreter.runBatch(new Uint8Array(639), 1),
          (e: unknown) => (e as { code?: string }).code === 'RUNTIME_INPUT',
        );
        interpreter.dispose();
      } finally {
        await runner.close();
      }
    },
  );
});
