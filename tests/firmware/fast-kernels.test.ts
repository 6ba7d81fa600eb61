import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Interpreter } from '../../core/runtime/interpreter';
import { missingSharedModels, sharedModel } from '../helpers/shared-models';
import { buildDir, bytesOf, make, missingTool, randomInt8 } from './firmware-build';

/**
 * Every fast int8 kernel (conv, depthwise, fully connected, same-shape ADD/SUB) gives the
 * reference kernel's bytes on random shapes, strides, paddings, dilations, zero points
 * and per-channel multipliers, in each build's own instruction set: the host build runs
 * the cases inside qb_tests (c-unit.test.ts, plain and ASan); here the wasm SIMD128
 * kernels and the Cortex-M4 DSP kernels (QEMU mps2-an386) run the same C file. Then the
 * SIMD runtime the desktop loads gives the plain wasm runtime's outputs on real models.
 */
const ROUNDS = 1500;

interface FastKernelExports {
  qb_fast_run(rounds: number): number;
  qb_fast_checks(): number;
  qb_fast_first_failure(): number;
}

describe('fast kernels = reference kernels on every target', () => {
  const skipWasm = missingTool('clang', 'wasm-ld');
  const skipArm = missingTool('arm-none-eabi-gcc', 'qemu-system-arm');

  it('wasm SIMD128 kernels', { skip: skipWasm }, async () => {
    make(['fast-kernel-tests']);
    const bytes = readFileSync(path.join(buildDir, 'tests', 'fast_kernels_simd.wasm'));
    const { instance } = await WebAssembly.instantiate(bytes);
    const e = instance.exports as unknown as FastKernelExports;
    const failed = e.qb_fast_run(ROUNDS);
    assert.equal(
      failed,
      0,
      `first failing check at test_fast_kernels.c:${e.qb_fast_first_failure()}`,
    );
    assert.ok(e.qb_fast_checks() > 4 * ROUNDS, `only ${e.qb_fast_checks()} checks ran`);
  });

  it('Cortex-M4 DSP kernels under QEMU mps2-an386', { skip: skipArm }, () => {
    make(['mps2', 'fast-kernel-tests']);
    const r = spawnSync(
      'qemu-system-arm',
      [
        '-M',
        'mps2-an386',
        '-nographic',
        '-monitor',
        'none',
        '-semihosting-config',
        'enable=on,target=native',
        '-serial',
        'stdio',
        '-kernel',
        path.join(buildDir, 'tests', 'fast_kernels_mps2.elf'),
      ],
      { encoding: 'utf8', timeout: 300_000 },
    );
    const summary = /checks (\d+) failed (\d+)/.exec(r.stdout ?? '');
    assert.ok(summary, `no summary from the image:\n${r.stdout}${r.stderr}`);
    assert.equal(summary[2], '0', r.stdout);
    assert.ok(Number(summary[1]) > 4 * ROUNDS, `only ${summary[1]} checks ran`);
    assert.equal(r.status, 0, r.stdout);
  });

  const models = [
    { model: 'kws_ref_model.tflite', inputBytes: 490 },
    { model: 'pretrainedResnet_quant.tflite', inputBytes: 3072 },
    { model: 'ad01_int8.tflite', inputBytes: 640 },
  ];
  for (const m of models) {
    it(
      `${m.model}: qb_runtime_simd.wasm = qb_runtime.wasm`,
      {
        skip: skipWasm || missingSharedModels(m.model),
      },
      async () => {
        make(['wasm']);
        const model = new Uint8Array(readFileSync(sharedModel(m.model)));
        const plain = await Interpreter.load(model);
        const simd = await Interpreter.load(model, {
          wasmPath: path.join(buildDir, 'wasm', 'qb_runtime_simd.wasm'),
        });
        after(() => {
          plain.dispose();
          simd.dispose();
        });
        assert.equal(simd.arenaBytes, plain.arenaBytes);
        for (let seed = 1; seed <= 8; seed++) {
          const input = randomInt8(m.inputBytes, seed);
          plain.setInput(0, input);
          simd.setInput(0, input);
          plain.invoke();
          simd.invoke();
          assert.deepEqual(
            Buffer.from(bytesOf(simd.getOutput(0))),
            Buffer.from(bytesOf(plain.getOutput(0))),
            `outputs differ for input seed ${seed}`,
          );
        }
      },
    );
  }
});
