import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { TfliteFormatError, TfliteModelBuilder, readTflite, writeTflite } from '../../core/tflite';
import { missingSharedModels, sharedModel } from '../helpers/shared-models';

/** mulberry32: a small seeded generator so every run feeds the same mutations. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function smallModel(): Uint8Array {
  const b = new TfliteModelBuilder();
  const x = b.addTensor({
    name: 'x',
    shape: [1, 4],
    type: 'int8',
    quantization: { scale: [0.1], zeroPoint: [3] },
  });
  const w = b.addTensor({
    name: 'w',
    shape: [2, 4],
    type: 'int8',
    data: new Int8Array([1, -2, 3, -4, 5, -6, 7, -8]),
    quantization: { scale: [0.01, 0.02], zeroPoint: [0, 0], quantizedDimension: 0 },
  });
  const y = b.addTensor({
    name: 'y',
    shape: [1, 2],
    type: 'int8',
    quantization: { scale: [0.05], zeroPoint: [-1] },
  });
  const z = b.addTensor({
    name: 'z',
    shape: [1, 2],
    type: 'int8',
    quantization: { scale: [1 / 256], zeroPoint: [-128] },
  });
  b.addOperator('FULLY_CONNECTED', [x, w, -1], [y], { fusedActivationFunction: 'RELU' });
  b.addOperator('SOFTMAX', [y], [z], { beta: 1 });
  b.setInputs(x).setOutputs(z).addDefaultSignature().setMinRuntimeVersion('1.14.0');
  return b.toBytes();
}

describe('readTflite on malformed input', () => {
  it('names the file and the problem for input that is not a .tflite', () => {
    for (const [bytes, pattern] of [
      [new Uint8Array(0), /only 0 bytes/],
      [new TextEncoder().encode('{"format": "layers-model"}'), /file identifier/],
      [Uint8Array.from([0xff, 0xff, 0xff, 0x7f, 0x54, 0x46, 0x4c, 0x33]), /outside the file/],
    ] as const) {
      assert.throws(
        () => readTflite(bytes, { source: 'model.tflite' }),
        (e: unknown) => {
          assert.ok(e instanceof TfliteFormatError);
          assert.equal(e.code, 'TFLITE_FORMAT');
          assert.match(e.message, /^model\.tflite: not a valid \.tflite model: /);
          assert.match(e.message, pattern);
          assert.ok(e.hint);
          return true;
        },
      );
    }
  });

  it(
    'rejects a truncated converter file',
    { skip: missingSharedModels('kws_ref_model.tflite') },
    () => {
      const bytes = new Uint8Array(readFileSync(sharedModel('kws_ref_model.tflite')));
      for (const length of [8, 100, 1000, bytes.length >> 1, bytes.length - 1000]) {
        assert.throws(
          () => readTflite(bytes.subarray(0, length), { source: 'kws' }),
          TfliteFormatError,
          `truncated to ${length}`,
        );
      }
    },
  );

  it('rejects an operator that points at a tensor that does not exist', () => {
    const model = readTflite(smallModel());
    model.subgraphs[0].operators[1].inputs = [0];
    // writeTflite refuses dangling indices, so write a valid [0] and corrupt the bytes.
    const raw = writeTflite(model);
    const at = indexOf(raw, Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0])); // int32 vector: length 1, value 0
    assert.ok(at > 0);
    raw[at + 4] = 9;
    assert.throws(() => readTflite(raw, { source: 'edited.tflite' }), {
      code: 'TFLITE_FORMAT',
      message:
        /^edited\.tflite: .*operators\[1\] \(SOFTMAX\) inputs refers to tensor 9, but subgraph 0 has 4/,
    });
  });

  for (const [label, source, iterations] of [
    ['a small builder model', 'small', 3000],
    ['the kws converter file', 'kws', 1000],
  ] as const) {
    it(
      `never crashes or hangs on ${iterations} mutations of ${label}`,
      { skip: source === 'kws' && missingSharedModels('kws_ref_model.tflite'), timeout: 60_000 },
      () => {
        const seed =
          source === 'kws'
            ? new Uint8Array(readFileSync(sharedModel('kws_ref_model.tflite')))
            : smallModel();
        // Mutate only the flatbuffer structure of big files: weight bytes parse whatever they hold.
        const structural = source === 'kws' ? structureEnd(seed) : seed.length;
        const rand = random(source === 'kws' ? 4 : 3);
        let rejected = 0;
        let accepted = 0;
        let slowest = 0;
        for (let i = 0; i < iterations; i++) {
          const bytes = seed.slice();
          const kind = i % 4;
          if (kind === 0) {
            for (let n = 1 + Math.floor(rand() * 4); n > 0; n--)
              bytes[8 + Math.floor(rand() * (structural - 8))] = Math.floor(rand() * 256);
          } else if (kind === 1) {
            const at = (8 + Math.floor(rand() * (structural - 12))) & ~3;
            new DataView(bytes.buffer).setUint32(
              at,
              [0, 0xffffffff, 0x7fffffff, 0x80000000, Math.floor(rand() * 2 ** 32)][i % 5],
              true,
            );
          } else if (kind === 2) {
            const at = 8 + Math.floor(rand() * (structural - 10));
            bytes[at] ^= 1 << Math.floor(rand() * 8);
          } else {
            const cut = Math.floor(rand() * bytes.length);
            const t0 = performance.now();
            assertReadsOrRejects(bytes.subarray(0, cut));
            slowest = Math.max(slowest, performance.now() - t0);
            rejected++;
            continue;
          }
          const t0 = performance.now();
          if (assertReadsOrRejects(bytes)) accepted++;
          else rejected++;
          slowest = Math.max(slowest, performance.now() - t0);
        }
        assert.ok(
          rejected > iterations / 10,
          `only ${rejected} of ${iterations} mutations were rejected: the fuzzer is not reaching the parser`,
        );
        assert.ok(accepted > 0, 'some mutations (of values, not structure) should still read');
        assert.ok(slowest < 2000, `slowest parse took ${slowest.toFixed(0)} ms`);
      },
    );
  }
});

/** True when the bytes read as a model; false when rejected with TfliteFormatError; any other error fails. */
function assertReadsOrRejects(bytes: Uint8Array): boolean {
  try {
    readTflite(bytes, { source: 'fuzz.tflite' });
    return true;
  } catch (error) {
    if (error instanceof TfliteFormatError) return false;
    throw error;
  }
}

/** Converter files keep buffer data after everything else; the first data vector marks where structure ends. */
function structureEnd(bytes: Uint8Array): number {
  const model = readTflite(bytes);
  const biggest = model.buffers.reduce((a, b) => (b.length > a.length ? b : a));
  const at = indexOf(bytes, biggest.subarray(0, Math.min(64, biggest.length)));
  return at > 0 ? Math.min(at, bytes.length) : bytes.length;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
