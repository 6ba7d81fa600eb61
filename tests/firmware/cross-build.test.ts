import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Runtime, quantizeInt8, type TensorData } from '../../core/runtime';
import { missingSharedModels, sharedModel } from '../helpers/shared-models';
import { tempDir } from '../helpers/tmp';
import {
  bytesOf,
  make,
  missingTool,
  randomFloat32,
  randomInt8,
  runHost,
  runMps2,
} from './firmware-build';

/**
 * One runtime, three builds: the host CLI, the wasm module core/runtime loads, and the
 * Cortex-M4 image under QEMU give byte-identical outputs for the same model and input.
 */
interface Case {
  model: string;
  input: () => TensorData;
}

const ad01Frame = (frame: number, scale: number, zeroPoint: number): Int8Array => {
  const all = new Float32Array(
    new Uint8Array(readFileSync(sharedModel('ad01_input_normal_id_01_00000000.bin'))).buffer,
  );
  return quantizeInt8(all.subarray(frame * 640, (frame + 1) * 640), scale, zeroPoint);
};

const cases: Case[] = [
  { model: 'kws_ref_model.tflite', input: () => randomInt8(490, 1) },
  { model: 'pretrainedResnet_quant.tflite', input: () => randomInt8(3072, 2) },
  // scale and zero point of ad01_int8's input tensor, checked against the model below
  { model: 'ad01_int8.tflite', input: () => ad01Frame(7, 0.391015232, 89) },
  { model: 'pretrainedResnet.tflite', input: () => randomFloat32(3072, 3) },
  {
    model: 'ad01_fp32.tflite',
    input: () =>
      new Float32Array(
        new Uint8Array(readFileSync(sharedModel('ad01_input_normal_id_01_00000000.bin'))).buffer,
      ).slice(640 * 7, 640 * 8),
  },
];

describe('host, wasm and Cortex-M4 builds agree bit for bit', () => {
  const dir = tempDir('qb-cross-');
  const skipAll =
    missingSharedModels(...cases.map((c) => c.model), 'ad01_input_normal_id_01_00000000.bin') ||
    missingTool('clang', 'wasm-ld');
  const skipArm = skipAll || missingTool('arm-none-eabi-gcc', 'qemu-system-arm');

  before(() => {
    if (!skipAll) make(['host', 'wasm']);
    if (!skipArm) make(['mps2']);
  });

  for (const c of cases) {
    it(`${c.model}: host = wasm${skipArm ? '' : ' = Cortex-M4'}`, { skip: skipAll }, async () => {
      const modelPath = sharedModel(c.model);
      const input = c.input();
      const interpreter = await Runtime.load(new Uint8Array(readFileSync(modelPath)), {
        name: c.model,
      });
      after(() => interpreter.dispose());
      const info = interpreter.inputs[0];
      if (c.model === 'ad01_int8.tflite') {
        assert.equal(Math.fround(info.scale), Math.fround(0.391015232));
        assert.equal(info.zeroPoint, 89);
      }
      interpreter.setInput(0, input);
      interpreter.invoke();
      const wasmOut = Buffer.from(bytesOf(interpreter.getOutput(0)));

      const host = runHost(modelPath, bytesOf(input), dir, c.model);
      assert.equal(host.arenaBytes, interpreter.arenaBytes);
      assert.ok(host.output.length > 0);
      assert.deepEqual(wasmOut, host.output, 'wasm and host outputs differ');

      if (!skipArm) {
        const board = runMps2(modelPath, bytesOf(input), dir, c.model.replace(/\W/g, '_'));
        assert.equal(board.arenaBytes, host.arenaBytes);
        assert.deepEqual(board.output, host.output, 'Cortex-M4 and host outputs differ');
      }
    });
  }
});
