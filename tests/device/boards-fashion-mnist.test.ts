import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { sampleModelPath } from '../../core/app/sample';
import { DEBIAN_FASHION_MNIST_DIR } from '../../core/data/fashion-mnist';
import { flashImage } from '../../core/device/gdb/flash';
import { qemuMachines, startQemuBoard, type QemuMachine } from '../../core/device/launch';
import { pushModel } from '../../core/device/push';
import { runCliAsync } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';
import { buildFirmwareTargets, freeTcpPort } from './firmware';

/**
 * The acceptance run for the real-board images: each is flashed through the GDB loader
 * into a QEMU machine started without -kernel, then the sample model runs 1,000
 * Fashion-MNIST test images on it and must agree 100% with the desktop int8 result.
 * The model is the fully-int8 preset: its 37 KB arena and 60 KB flatbuffer fit the
 * 128 KB of SRAM an STM32F411/F446 has (the float-island preset needs a 207 KB arena).
 */
function missing(): string | false {
  for (const tool of ['qemu-system-arm', 'arm-none-eabi-gcc']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is not installed`;
    }
  }
  if (!existsSync(sampleModelPath())) return `sample model missing at ${sampleModelPath()}`;
  if (!existsSync(DEBIAN_FASHION_MNIST_DIR)) return `${DEBIAN_FASHION_MNIST_DIR} not installed (Debian package dataset-fashion-mnist)`;
  return false;
}

const boards: Array<{ machine: QemuMachine; target: string; name: string }> = [
  { machine: 'netduinoplus2', target: 'stm32f4-nucleo-f446re', name: 'STM32F4 (nucleo-f446re image on netduinoplus2)' },
  { machine: 'mps3-an547', target: 'm55', name: 'Cortex-M55 (mps3-an547)' },
];

// The two boards run side by side, one QEMU per core, to keep CI's wall time down.
describe('flashed board images, 1,000 Fashion-MNIST test images', { skip: missing(), concurrency: true }, () => {
  let model = '';
  before(async () => {
    buildFirmwareTargets(...boards.map((b) => b.target));
    const out = tempDir();
    const r = await runCliAsync(
      ['compress', sampleModelPath(), '--recipe', 'prune50-cluster16-int8', '--data', 'fashion-mnist:test', '--eval-samples', '200', '--out', out, '--no-record', '--json'],
      { timeoutMs: 300_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    model = path.join(out, 'model.tflite');
  });

  for (const b of boards) {
    it(`agrees 100% with the desktop int8 result on the ${b.name}`, { timeout: 900_000 }, async (t) => {
      const gdbPort = await freeTcpPort();
      const qemu = await startQemuBoard({ machine: b.machine, gdbPort });
      t.after(() => qemu.stop());
      await flashImage(qemuMachines[b.machine].image, { gdb: `127.0.0.1:${gdbPort}` });
      const result = await pushModel({ port: qemu.port, model, bench: 20, data: 'fashion-mnist:test', limit: 1000 });
      const e = result.eval!;
      assert.equal(e.samples, 1000);
      assert.equal(e.mismatchCount, 0, JSON.stringify(e.mismatches));
      assert.equal(e.agreement, 1);
      assert.equal(e.accuracy, e.desktopAccuracy);
      assert.ok(result.model.arenaBytes > 0);
      assert.ok(result.bench!.medianUs > 0);
      t.diagnostic(`${b.name}: accuracy ${e.accuracy}, median ${result.bench!.medianUs} us, ${result.bench!.medianCycles} cycles`);
    });
  }
});
