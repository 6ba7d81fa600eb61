import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { DEBIAN_FASHION_MNIST_DIR } from '../../core/data/fashion-mnist';
import { startQemuBoard, startVirtualBoard, type LaunchedBoard } from '../../core/device/launch';
import { pushModel } from '../../core/device/push';
import { buildProtocolTarget } from './firmware';

/**
 * The acceptance run of the board link: the sample model's int8 .tflite, 1,000 Fashion-MNIST
 * test images, on the virtual board and on the QEMU Cortex-M4, each agreeing 100% with the
 * desktop int8 result. The model comes from the compression pipeline; point
 * QUANTBENCH_SAMPLE_INT8_TFLITE at it (and QUANTBENCH_SAMPLE_INPUT_SCALE when its inputs
 * are not pixels / 255).
 */
const model = process.env.QUANTBENCH_SAMPLE_INT8_TFLITE;
/** Raw pixels are 0..255; the sample model takes them scaled to 0..1 unless told otherwise. */
const inputScale = Number(process.env.QUANTBENCH_SAMPLE_INPUT_SCALE ?? 1 / 255);
const skip = !model
  ? 'QUANTBENCH_SAMPLE_INT8_TFLITE is not set (the sample model int8 .tflite from the compression pipeline)'
  : !existsSync(model)
    ? `${model} does not exist`
    : !existsSync(DEBIAN_FASHION_MNIST_DIR)
      ? `${DEBIAN_FASHION_MNIST_DIR} not installed (Debian package dataset-fashion-mnist)`
      : false;

describe('sample model on boards, 1,000 Fashion-MNIST test images', { skip }, () => {
  const launched: LaunchedBoard[] = [];
  before(() => buildProtocolTarget('protocol'));
  after(async () => {
    for (const l of launched) await l.stop();
  });

  for (const [name, start] of [['virtual board', () => startVirtualBoard()], ['QEMU Cortex-M4', () => startQemuBoard()]] as const) {
    it(`agrees 100% with the desktop int8 result on the ${name}`, { timeout: 600_000 }, async () => {
      const board = await start();
      launched.push(board);
      const result = await pushModel({ port: board.port, model: model!, bench: 20, data: 'fashion-mnist:test', limit: 1000, inputScale });
      const e = result.eval!;
      assert.equal(e.samples, 1000);
      assert.equal(e.mismatchCount, 0, JSON.stringify(e.mismatches));
      assert.equal(e.agreement, 1);
      assert.equal(e.accuracy, e.desktopAccuracy);
      assert.ok(e.deviceVsTruth && e.deviceVsTruth.acc === e.accuracy);
      assert.ok(result.model.arenaBytes > 0);
      assert.ok(result.bench!.medianUs > 0);
    });
  }
});
