import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Runtime, RuntimeError } from '../../core/runtime';
import { readTflite, writeTflite } from '../../core/tflite';
import { missingSharedModels, sharedModel } from '../helpers/shared-models';
import { tempDir } from '../helpers/tmp';
import { randomInt8 } from '../firmware/firmware-build';

const load = (name: string) => new Uint8Array(readFileSync(sharedModel(name)));

describe('core/runtime Interpreter (wasm build of the C runtime)', () => {
  const skip = missingSharedModels(
    'kws_ref_model.tflite',
    'ad01_fp32.tflite',
    'pretrainedResnet_quant.tflite',
  );

  it('describes inputs and outputs with their quantization', { skip }, async () => {
    const kws = await Runtime.load(load('kws_ref_model.tflite'), { name: 'kws' });
    assert.deepEqual(
      kws.inputs.map((t) => [t.type, t.shape, t.bytes, t.zeroPoint]),
      [['int8', [1, 49, 10, 1], 490, 83]],
    );
    assert.equal(Math.fround(kws.inputs[0].scale), Math.fround(0.584702909));
    assert.deepEqual(
      kws.outputs.map((t) => [t.type, t.shape, t.scale, t.zeroPoint]),
      [['int8', [1, 12], 1 / 256, -128]],
    );
    assert.ok(kws.arenaBytes > 0 && kws.arenaBytes % 16 === 0);
    const resnet = await Runtime.load(load('pretrainedResnet_quant.tflite'));
    // the planner reuses space: far less than the sum of all activation tensors
    const model = readTflite(load('pretrainedResnet_quant.tflite'));
    const g = model.subgraphs[0];
    const activationBytes = g.tensors
      .filter((t) => (model.buffers[t.buffer]?.length ?? 0) === 0)
      .reduce(
        (sum, t) => sum + t.shape.reduce((a, b) => a * b, 1) * (t.type === 'int8' ? 1 : 4),
        0,
      );
    assert.ok(
      resnet.arenaBytes < activationBytes / 2,
      `arena ${resnet.arenaBytes} vs ${activationBytes} bytes of activations`,
    );
  });

  it('runs deterministically and keeps separate interpreters apart', { skip }, async () => {
    const a = await Runtime.load(load('kws_ref_model.tflite'));
    const b = await Runtime.load(load('kws_ref_model.tflite'));
    const x = randomInt8(490, 9);
    a.setInput(0, x);
    b.setInput(0, randomInt8(490, 10));
    a.invoke();
    b.invoke();
    const first = a.getOutput(0);
    a.invoke();
    assert.deepEqual(a.getOutput(0), first);
    const probabilities = Array.from(first as Int8Array, (q) => (q + 128) / 256);
    const total = probabilities.reduce((s, p) => s + p, 0);
    assert.ok(Math.abs(total - 1) < 0.05, `softmax output sums to ${total}`);
  });

  it(
    'reports a corrupt model as RUNTIME_MODEL_INVALID with the runtime detail',
    { skip },
    async () => {
      const bytes = load('kws_ref_model.tflite');
      await assert.rejects(
        Runtime.load(bytes.subarray(0, 4000), { name: 'cut.tflite' }),
        (e: unknown) => {
          assert.ok(e instanceof RuntimeError);
          assert.equal(e.code, 'RUNTIME_MODEL_INVALID');
          assert.equal(e.status, 1);
          assert.match(e.message, /^cut\.tflite: loading failed/);
          assert.ok(e.detail && e.detail.length > 0);
          assert.ok(e.hint);
          return true;
        },
      );
      const notTflite = new TextEncoder().encode('this is not a flatbuffer at all, just some text');
      await assert.rejects(Runtime.load(notTflite), { code: 'RUNTIME_MODEL_INVALID' });
    },
  );

  it(
    'reports an op it cannot run as RUNTIME_MODEL_UNSUPPORTED naming the op',
    { skip },
    async () => {
      const model = readTflite(load('ad01_fp32.tflite'));
      // FLOOR (builtin 8) is valid TFLite that the runtime does not implement
      model.operatorCodes[0] = { ...model.operatorCodes[0], name: 'FLOOR', builtinCode: 8 };
      await assert.rejects(
        Runtime.load(writeTflite(model), { name: 'floor.tflite' }),
        (e: unknown) => {
          assert.ok(e instanceof RuntimeError);
          assert.equal(e.code, 'RUNTIME_MODEL_UNSUPPORTED');
          assert.match(e.detail ?? '', /unsupported builtin operator 8 at op \d+/);
          return true;
        },
      );
    },
  );

  it('rejects inputs of the wrong type or size, and use after dispose', { skip }, async () => {
    const kws = await Runtime.load(load('kws_ref_model.tflite'), { name: 'kws' });
    assert.throws(() => kws.setInput(0, new Float32Array(490)), { code: 'RUNTIME_INPUT' });
    assert.throws(() => kws.setInput(0, new Int8Array(10)), {
      code: 'RUNTIME_INPUT',
      message: /kws input 0 takes 490 int8 values, got 10/,
    });
    assert.throws(() => kws.setInput(1, new Int8Array(490)), { code: 'RUNTIME_BAD_ARGUMENT' });
    kws.dispose();
    assert.throws(() => kws.invoke(), { code: 'RUNTIME_DISPOSED' });
  });

  it('says how to build the runtime when the wasm file is missing', async () => {
    const missing = path.join(tempDir(), 'nothing.wasm');
    await assert.rejects(Runtime.load(new Uint8Array(16), { wasmPath: missing }), (e: unknown) => {
      assert.ok(e instanceof RuntimeError);
      assert.equal(e.code, 'RUNTIME_WASM_MISSING');
      assert.match(e.hint ?? '', /npm run build:firmware/);
      return true;
    });
  });
});
