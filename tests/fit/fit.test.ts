import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sampleModelPath } from '../../core/app/sample';
import { startVirtualBoard, type LaunchedBoard } from '../../core/device/launch';
import { pushModel } from '../../core/device/push';
import { resolveBoardProfile } from '../../core/fit/boards';
import { elfSize } from '../../core/fit/elf-size';
import { fitReport } from '../../core/fit/fit-report';
import { runCliAsync, repoRoot } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';
import { buildProtocolTarget } from '../device/firmware';

const missingArmSize = (() => {
  try {
    execFileSync('arm-none-eabi-size', ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'arm-none-eabi-size not installed (apt-get install binutils-arm-none-eabi)';
  }
})();

const f446 = resolveBoardProfile('nucleo-f446re');

function compress(preset: string, out: string, dataDir: string) {
  return runCliAsync(
    ['compress', sampleModelPath(), '--recipe', preset, '--data', 'fashion-mnist:test', '--eval-samples', '200', '--calib-data', 'fashion-mnist:train',
      '--out', out, '--board', 'nucleo-f446re', '--no-record', '--data-dir', dataDir, '--json'],
    { timeoutMs: 300_000 },
  );
}

describe('fit report', () => {
  const boards: LaunchedBoard[] = [];
  before(() => {
    buildProtocolTarget('protocol');
    buildProtocolTarget('protocol-mps2');
  });
  after(async () => {
    for (const b of boards) await b.stop();
  });

  it('compress --board nucleo-f446re --json prints the model and arena bytes push measures on a board of that size', async () => {
    const dir = tempDir('quantbench-fit-');
    const r = await compress('int8', path.join(dir, 'out'), dir);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    const fit = report.fit;
    assert.equal(fit.board.id, 'nucleo-f446re');
    assert.equal(fit.board.fits, true);
    assert.match(fit.board.verdict, /^fits nucleo-f446re: RAM \d+ of 131072 B/);
    assert.equal(fit.ram.totalBytes, fit.arenaBytes + fit.interpreterBytes);
    assert.equal(fit.flash.totalBytes, fit.flash.modelBytes + fit.flash.firmwareBytes);
    assert.deepEqual(JSON.parse(readFileSync(report.files.report, 'utf8')).fit, fit);

    const vb = await startVirtualBoard({ ramBytes: f446.ramBytes, flashBytes: f446.flashBytes });
    boards.push(vb);
    const pushed = await pushModel({ port: vb.port, model: report.files.tflite });
    assert.equal(pushed.model.bytes, fit.flash.modelBytes);
    assert.equal(pushed.model.arenaBytes, fit.arenaBytes);
  });

  it('refuses the keep-float model with exit 1 before evaluating, and its arena is still the one push measures', async () => {
    const dir = tempDir('quantbench-fit-');
    const out = path.join(dir, 'out');
    const r = await compress('int8-keep-rescaling-float', out, dir);
    assert.equal(r.status, 1, r.stderr);
    const error = JSON.parse(r.stdout).error;
    assert.equal(error.code, 'MODEL_DOES_NOT_FIT');
    assert.match(error.message, /does not fit nucleo-f446re: RAM by \d+\.\d KB \(needs \d+ B of 131072 B\)/);

    const tflite = path.join(out, 'model.tflite');
    const fit = await fitReport(new Uint8Array(readFileSync(tflite)), {
      board: f446,
      floatLayers: [1, 2, 3, 4, 5].map((i) => `batch_normalization_BatchNormalization${i}`),
    });
    assert.equal(fit.board!.fits, false);
    assert.equal(fit.board!.ramMarginBytes, f446.ramBytes - fit.arenaBytes - fit.interpreterBytes);
    const bn1 = fit.floatIslands.find((i) => i.layers.includes('batch_normalization_BatchNormalization1'))!;
    // DEQUANTIZE -> MUL -> ADD -> QUANTIZE on 28x28x32: MUL, ADD and QUANTIZE reuse the one float buffer
    assert.equal(bn1.floatBytes, 28 * 28 * 32 * 4);
    assert.equal(bn1.extraBytes, 28 * 28 * 32 * 3);
    assert.ok(fit.floatIslands.some((i) => i.atPeak));
    assert.ok(fit.peak.tensors.some((t) => t.type === 'float32' && t.bytes === 28 * 28 * 32 * 4));

    const vb = await startVirtualBoard();
    boards.push(vb);
    const pushed = await pushModel({ port: vb.port, model: tflite });
    assert.equal(pushed.model.arenaBytes, fit.arenaBytes);
  });

  it('stops before any work on a board it does not know, naming the ones it does', async () => {
    const dir = tempDir('quantbench-fit-');
    const r = await runCliAsync(['compress', sampleModelPath(), '--recipe', 'int8', '--data', 'fashion-mnist:test',
      '--out', path.join(dir, 'out'), '--board', 'nucleo-f999', '--data-dir', dir, '--json']);
    assert.equal(r.status, 1);
    const error = JSON.parse(r.stdout).error;
    assert.equal(error.code, 'BOARD_UNKNOWN');
    assert.match(error.hint, /nucleo-f446re, nucleo-f411re/);
  });

  it('takes custom board sizes from boards.json in the data directory, and says what is wrong with a bad one', () => {
    const dir = tempDir('quantbench-fit-');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'boards.json'), JSON.stringify({ boards: [{ id: 'my-board', ramBytes: 65536, flashBytes: 262144 }, { id: 'nano33ble', ramBytes: 200000, flashBytes: 1048576 }] }));
    assert.deepEqual(
      [resolveBoardProfile('my-board', dir).ramBytes, resolveBoardProfile('nano33ble', dir).ramBytes, resolveBoardProfile('nucleo-f411re', dir).ramBytes],
      [65536, 200000, 131072],
    );
    writeFileSync(path.join(dir, 'boards.json'), JSON.stringify({ boards: [{ id: 'x', ramBytes: -1, flashBytes: 1 }] }));
    assert.throws(() => resolveBoardProfile('x', dir), (e: Error & { code?: string }) => e.code === 'BOARD_SETTINGS_INVALID' && /boards\.0\.ramBytes/.test(e.message));
  });

  it('measures the firmware image the way arm-none-eabi-size does', { skip: missingArmSize }, () => {
    const elf = path.join(repoRoot, 'build', 'firmware', 'mps2', 'board.elf');
    const [text, data, bss] = execFileSync('arm-none-eabi-size', [elf], { encoding: 'utf8' }).split('\n')[1].trim().split(/\s+/).map(Number);
    assert.deepEqual(elfSize(elf), { text, data, bss, flash: text + data });
  });
});
