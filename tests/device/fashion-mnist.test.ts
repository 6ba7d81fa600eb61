import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sampleModelPath } from '../../core/app/sample';
import { DEBIAN_FASHION_MNIST_DIR } from '../../core/data/fashion-mnist';
import { flashImage } from '../../core/device/gdb/flash';
import { qemuMachines, startQemuBoard, startVirtualBoard, type LaunchedBoard, type QemuMachine } from '../../core/device/launch';
import { pushModel } from '../../core/device/push';
import { runCliAsync } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';
import { buildFirmwareTargets, buildProtocolTarget, freeTcpPort, missingQemuTools } from './firmware';

/**
 * The acceptance run of every board: the sample model's int8 .tflite runs Fashion-MNIST
 * test images (1,000; 300 on the mps2 image in CI) and must agree 100% with the desktop
 * int8 result.
 * - The virtual board and the mps2-an386 image (loaded with -kernel) run the preset that
 *   keeps rescaling layers in float, so float islands run beside the int8 kernels; point
 *   QUANTBENCH_SAMPLE_INT8_TFLITE at another file to use that instead.
 * - The real-board images are flashed through the GDB loader into a QEMU machine started
 *   without -kernel, and run the fully-int8 preset: its arena and 60 KB flatbuffer fit the
 *   128 KB of SRAM an STM32F411/F446 has, which the float-island preset's arena does not.
 * The boards run side by side: an emulated board spends much of a sample waiting on its
 * UART, so four at once take little longer on two cores than the slowest alone.
 */
const given = process.env.QUANTBENCH_SAMPLE_INT8_TFLITE;
/** The sample model rescales raw pixels itself; another model may need them scaled first. */
const inputScale = Number(process.env.QUANTBENCH_SAMPLE_INPUT_SCALE ?? (given ? 1 / 255 : 1));


const skip =
  given && !existsSync(given)
    ? `${given} does not exist`
    : !existsSync(sampleModelPath())
      ? `sample model missing at ${sampleModelPath()}`
      : !existsSync(DEBIAN_FASHION_MNIST_DIR)
        ? `${DEBIAN_FASHION_MNIST_DIR} not installed (Debian package dataset-fashion-mnist)`
        : false;

type Preset = 'float-islands' | 'int8';
interface BoardCase {
  name: string;
  preset: Preset;
  /** Test images: 1,000, but 300 for the mps2 image (see below). */
  images: number;
  /** Starts the board and returns its port; the board is stopped after the suite. */
  start: () => Promise<LaunchedBoard>;
  needsQemu: boolean;
}

async function flashed(machine: QemuMachine): Promise<LaunchedBoard> {
  const gdbPort = await freeTcpPort();
  const qemu = await startQemuBoard({ machine, gdbPort });
  try {
    await flashImage(qemuMachines[machine].image, { gdb: `127.0.0.1:${gdbPort}` });
  } catch (error) {
    await qemu.stop();
    throw error;
  }
  return qemu;
}

// QEMU's UARTs take a byte at a time, about 3 KB/s here, so a board spends ~0.25 s of a
// sample on the link and 1,000 samples take 260-340 s. The flashed images keep the 1,000 the
// real-board acceptance asks for; the mps2 image, which busy-polls its UART and so also
// slows the others, runs the first 300 in CI (QUANTBENCH_MPS2_IMAGES=1000 for all of them).
const mps2Images = Number(process.env.QUANTBENCH_MPS2_IMAGES ?? 300);
const cases: BoardCase[] = [
  { name: 'virtual board', preset: 'float-islands', images: 1000, start: () => startVirtualBoard(), needsQemu: false },
  { name: 'QEMU Cortex-M4 (mps2-an386, -kernel)', preset: 'float-islands', images: mps2Images, start: () => startQemuBoard(), needsQemu: true },
  { name: 'STM32F4 (nucleo-f446re image flashed into netduinoplus2)', preset: 'int8', images: 1000, start: () => flashed('netduinoplus2'), needsQemu: true },
  { name: 'Cortex-M55 (mps3-an547 image flashed)', preset: 'int8', images: 1000, start: () => flashed('mps3-an547'), needsQemu: true },
];

describe('sample model on every board, Fashion-MNIST test images', { skip, concurrency: true }, () => {
  const launched: LaunchedBoard[] = [];
  const models: Record<Preset, string> = { 'float-islands': given ?? '', int8: '' };
  const qemuMissing = missingQemuTools();

  async function compressSample(recipe: string): Promise<string> {
    const out = tempDir();
    const r = await runCliAsync(
      ['compress', sampleModelPath(), '--recipe', recipe, '--data', 'fashion-mnist:test', '--eval-samples', '200', '--out', out, '--no-record', '--json'],
      { timeoutMs: 300_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    return path.join(out, 'model.tflite');
  }

  before(async () => {
    buildProtocolTarget('protocol');
    if (!qemuMissing) buildFirmwareTargets('stm32f4-nucleo-f446re', 'm55');
    if (!given) models['float-islands'] = await compressSample('prune50-cluster16-int8-keep-rescaling-float');
    models.int8 = await compressSample('prune50-cluster16-int8');
  });
  after(async () => {
    for (const l of launched) await l.stop();
  });

  for (const c of cases) {
    it(`agrees 100% with the desktop int8 result on ${c.images.toLocaleString('en-US')} images on the ${c.name}`, { skip: c.needsQemu && qemuMissing, timeout: 900_000 }, async (t) => {
      const board = await c.start();
      launched.push(board);
      const scale = c.preset === 'float-islands' ? inputScale : undefined;
      const result = await pushModel({ port: board.port, model: models[c.preset], bench: 20, data: 'fashion-mnist:test', limit: c.images, inputScale: scale });
      const e = result.eval!;
      assert.equal(e.samples, c.images);
      assert.equal(e.mismatchCount, 0, JSON.stringify(e.mismatches));
      assert.equal(e.agreement, 1);
      assert.equal(e.accuracy, e.desktopAccuracy);
      assert.ok(e.deviceVsTruth && e.deviceVsTruth.acc === e.accuracy);
      assert.ok(result.model.arenaBytes > 0);
      assert.ok(result.bench!.medianUs > 0);
      t.diagnostic(`${c.name}: accuracy ${e.accuracy}, median ${result.bench!.medianUs} us, ${result.bench!.medianCycles} cycles`);
    });
  }
});
