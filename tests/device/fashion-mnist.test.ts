import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEBIAN_FASHION_MNIST_DIR } from '../../core/data/fashion-mnist';
import { startQemuBoard, startVirtualBoard, type LaunchedBoard } from '../../core/device/launch';
import { pushModel } from '../../core/device/push';
import { sampleModelPath } from '../../core/app/sample';
import { runCliAsync } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';
import { buildProtocolTarget } from './firmware';

/**
 * The acceptance run of the board link: the sample model's int8 .tflite, 1,000 Fashion-MNIST
 * test images, on the virtual board and on the QEMU Cortex-M4, each agreeing 100% with the
 * desktop int8 result. The model is compressed here with the preset that keeps rescaling
 * layers in float, so the boards run float islands as well as int8 kernels; point
 * QUANTBENCH_SAMPLE_INT8_TFLITE at another file to use that instead.
 */
const given = process.env.QUANTBENCH_SAMPLE_INT8_TFLITE;
/** The sample model rescales raw pixels itself; another model may need them scaled first. */
const inputScale = Number(process.env.QUANTBENCH_SAMPLE_INPUT_SCALE ?? (given ? 1 / 255 : 1));
const skip =
  given && !existsSync(given)
    ? `${given} does not exist`
    : !given && !existsSync(sampleModelPath())
      ? `sample model missing at ${sampleModelPath()}`
      : !existsSync(DEBIAN_FASHION_MNIST_DIR)
        ? `${DEBIAN_FASHION_MNIST_DIR} not installed (Debian package dataset-fashion-mnist)`
        : false;

describe('sample model on boards, 1,000 Fashion-MNIST test images', { skip }, () => {
  const launched: LaunchedBoard[] = [];
  let model = given ?? '';
  before(async () => {
    buildProtocolTarget('protocol');
    if (given) return;
    const out = tempDir();
    const r = await runCliAsync(
      ['compress', sampleModelPath(), '--recipe', 'prune50-cluster16-int8-keep-rescaling-float', '--data', 'fashion-mnist:test', '--eval-samples', '200', '--out', out, '--no-record', '--json'],
      { timeoutMs: 300_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    model = path.join(out, 'model.tflite');
  });
  after(async () => {
    for (const l of launched) await l.stop();
  });

  for (const [name, start] of [['virtual board', () => startVirtualBoard()], ['QEMU Cortex-M4', () => startQemuBoard()]] as const) {
    it(`agrees 100% with the desktop int8 result on the ${name}`, { timeout: 600_000 }, async () => {
      const board = await start();
      launched.push(board);
      const result = await pushModel({ port: board.port, model, bench: 20, data: 'fashion-mnist:test', limit: 1000, inputScale });
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
