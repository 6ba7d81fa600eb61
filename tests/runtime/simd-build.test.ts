import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Runtime, chooseRuntimeBuild, engineSupportsWasmSimd } from '../../core/runtime';
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
});
