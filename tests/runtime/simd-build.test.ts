import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Runtime, chooseRuntimeBuild, engineSupportsWasmSimd } from '../../core/runtime';
import { TfliteModelBuilder, type TensorSpec } from '../../core/tflite';
import { randomInt8 } from '../firmware/firmware-build';
import { runtimeBuildsDir } from '../helpers/runtime-builds';
import { missingSharedModels, sharedModel } from '../helpers/shared-models';

/**
 * The desktop loads the SIMD128 build of the runtime when the engine runs wasm SIMD and the
 * file exists, else the plain build; either way the outputs are the same bytes.
 */
const builds = runtimeBuildsDir();
const skip = 'skip' in builds ? builds.skip : false;
const dir = 'dir' in builds ? builds.dir : '';
const models = ['pretrainedResnet_quant.tflite', 'kws_ref_model.tflite', 'ad01_int8.tflite'];

describe('choosing the SIMD or the plain wasm build', { skip }, () => {
  const plainOnly = mkdtempSync(path.join(os.tmpdir(), 'qb-plain-only-'));
  after(() => {
    rmSync(plainOnly, { recursive: true, force: true });
    if ('cleanup' in builds) builds.cleanup();
  });

  it('Node runs wasm SIMD, so auto takes the SIMD file when it is there', () => {
    assert.equal(engineSupportsWasmSimd(), true);
    assert.deepEqual(chooseRuntimeBuild('auto', dir), {
      path: path.join(dir, 'qb_runtime_simd.wasm'),
      build: 'simd',
    });
    assert.equal(chooseRuntimeBuild('plain', dir).build, 'plain');
  });

  it(
    'falls back to the plain build when the SIMD file is absent, and says so when forced',
    {
      skip: missingSharedModels('ad01_int8.tflite'),
    },
    async () => {
      copyFileSync(path.join(dir, 'qb_runtime.wasm'), path.join(plainOnly, 'qb_runtime.wasm'));
      assert.deepEqual(chooseRuntimeBuild('auto', plainOnly), {
        path: path.join(plainOnly, 'qb_runtime.wasm'),
        build: 'plain',
      });
      const model = new Uint8Array(readFileSync(sharedModel('ad01_int8.tflite')));
      const it = await Runtime.load(model, { wasmDir: plainOnly });
      assert.equal(it.runtime.build, 'plain');
      it.dispose();
      await assert.rejects(
        Runtime.load(model, { wasmDir: plainOnly, build: 'simd' }),
        (e: unknown) =>
          (e as { code?: string }).code === 'RUNTIME_WASM_MISSING' &&
          String((e as Error).message).includes('qb_runtime_simd.wasm'),
      );
    },
  );

  for (const name of models) {
    it(
      `${name}: the SIMD and the plain build give identical outputs`,
      {
        skip: missingSharedModels(name),
      },
      async () => {
        const model = new Uint8Array(readFileSync(sharedModel(name)));
        const simd = await Runtime.load(model, { name, wasmDir: dir, build: 'simd' });
        const plain = await Runtime.load(model, { name, wasmDir: dir, build: 'plain' });
        assert.equal(simd.runtime.build, 'simd');
        assert.equal(plain.runtime.build, 'plain');
        for (let s = 0; s < 4; s++) {
          const x = randomInt8(plain.inputs[0].bytes, 7000 + s);
          simd.setInput(0, x);
          plain.setInput(0, x);
          simd.invoke();
          plain.invoke();
          assert.deepEqual(simd.getOutput(0), plain.getOutput(0), `${name} sample ${s}`);
        }
        simd.dispose();
        plain.dispose();
      },
    );
  }

  // The SIMD build sums pooling windows sixteen channels at a time: 37 channels take two
  // such blocks and five single channels; SAME padding gives clipped windows at the border.
  const i8 = (name: string, shape: number[], scale: number, zeroPoint: number): TensorSpec => ({
    name,
    shape,
    type: 'int8',
    quantization: { scale: [scale], zeroPoint: [zeroPoint] },
  });
  const pools: Array<{ name: string; build: () => Uint8Array }> = [
    {
      name: 'AVERAGE_POOL_2D int8, SAME, 3x3 stride 2',
      build: () => {
        const b = new TfliteModelBuilder();
        const x = b.addTensor(i8('x', [2, 9, 7, 37], 0.05, 3));
        const y = b.addTensor(i8('y', [2, 5, 4, 37], 0.05, 3));
        b.addOperator('AVERAGE_POOL_2D', [x], [y], {
          padding: 'SAME',
          strideW: 2,
          strideH: 2,
          filterWidth: 3,
          filterHeight: 3,
        });
        return b.setInputs(x).setOutputs(y).toBytes();
      },
    },
    {
      name: 'MEAN int8 over height and width',
      build: () => {
        const b = new TfliteModelBuilder();
        const x = b.addTensor(i8('x', [2, 6, 5, 37], 0.05, -7));
        const axes = b.addTensor({
          name: 'axes',
          shape: [2],
          type: 'int32',
          data: Int32Array.from([1, 2]),
        });
        const y = b.addTensor(i8('y', [2, 1, 1, 37], 0.03, 4));
        b.addOperator('MEAN', [x, axes], [y], { keepDims: true });
        return b.setInputs(x).setOutputs(y).toBytes();
      },
    },
  ];
  for (const c of pools) {
    it(`${c.name}: the SIMD and the plain build give identical outputs`, async () => {
      const model = c.build();
      const simd = await Runtime.load(model, { name: c.name, wasmDir: dir, build: 'simd' });
      const plain = await Runtime.load(model, { name: c.name, wasmDir: dir, build: 'plain' });
      for (let s = 0; s < 4; s++) {
        const x = randomInt8(plain.inputs[0].bytes, 8000 + s);
        simd.setInput(0, x);
        plain.setInput(0, x);
        simd.invoke();
        plain.invoke();
        assert.deepEqual(simd.getOutput(0), plain.getOutput(0), `${c.name} sample ${s}`);
      }
      simd.dispose();
      plain.dispose();
    });
  }
});
