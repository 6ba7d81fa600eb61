import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Board } from '../../core/device/board';
import { startQemuBoard, startVirtualBoard, type LaunchedBoard } from '../../core/device/launch';
import type { DeviceProfile } from '../../core/device/profile';
import { parseProfile } from '../../core/device/protocol';
import { pushModel } from '../../core/device/push';
import { missingSharedModels, sharedModel } from '../helpers/shared-models';
import { tempDir } from '../helpers/tmp';
import { buildProtocolTarget, missingQemuTools } from './firmware';

const run = promisify(execFile);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const firmware = path.join(repo, 'resources', 'firmware');
const kws = 'kws_ref_model.tflite';
const resnet = 'pretrainedResnet_quant.tflite';

function missingQemu(): string | false {
  return missingQemuTools() || missingSharedModels(kws, resnet);
}

/** What every profile must satisfy, whatever the board. */
function checkProfile(p: DeviceProfile, ops: number, arenaBytes: number, tolerance = 0.05): void {
  assert.equal(p.ops.length, ops);
  p.ops.forEach((o, i) => {
    assert.equal(o.index, i);
    assert.ok(o.cycles > 0, `operator ${i} (${o.op}) took ${o.cycles} cycles`);
    assert.ok(o.outputBytes > 0, `operator ${i} has an output`);
    assert.ok(o.outputOffset !== null && o.outputOffset + o.outputBytes <= arenaBytes, `operator ${i}'s output lies in the ${arenaBytes}-byte arena`);
    assert.match(o.op, /^[A-Z_0-9]+$/);
  });
  assert.equal(p.sumCycles, p.ops.reduce((n, o) => n + o.cycles, 0));
  assert.equal(p.sumCycles, p.profiledCycles, "the operators are one profiled round and add up to it");
  assert.ok(Math.abs(p.sumOverWhole - 1) <= tolerance, `operators sum to ${p.sumCycles} cycles, the whole inference takes ${p.invokeCycles} (${(100 * p.sumOverWhole).toFixed(2)}%)`);
  assert.ok(Math.abs(p.ops.reduce((n, o) => n + o.share, 0) - 1) < 1e-9);
}

describe('per-operator profile on the virtual board', { skip: missingSharedModels(kws) }, () => {
  const boards: LaunchedBoard[] = [];
  before(() => buildProtocolTarget('protocol'));
  after(async () => {
    for (const b of boards) await b.stop();
  });

  it('`quantbench push --profile --json` returns every operator, summing to within 5% of the whole inference', async () => {
    const vb = await startVirtualBoard();
    boards.push(vb);
    const { stdout } = await run(process.execPath, [path.join(repo, 'bin', 'quantbench.mjs'), 'push', sharedModel(kws), '--port', vb.port, '--profile', '--json'], { cwd: repo });
    const doc = JSON.parse(stdout) as { model: { arenaBytes: number }; profile: DeviceProfile };
    checkProfile(doc.profile, 13, doc.model.arenaBytes);
    assert.equal(doc.profile.cpuHz, 1e9);
    assert.ok(doc.profile.runs >= 3);
    assert.deepEqual(doc.profile.ops.slice(0, 3).map((o) => o.op), ['CONV_2D', 'DEPTHWISE_CONV_2D', 'CONV_2D']);
    assert.match(doc.profile.ops[0]!.output, /conv2d/, 'operators are named by their output tensor');
    assert.equal(doc.profile.ops.at(-1)!.op, 'SOFTMAX');
    // Convolutions do the work; a reshape or softmax does not.
    const conv = doc.profile.ops.filter((o) => o.op === 'CONV_2D').reduce((n, o) => n + o.share, 0);
    assert.ok(conv > 0.3, `convolutions take ${conv} of the time`);
  });

  it('prints a table per operator without --json', async () => {
    const vb = await startVirtualBoard();
    boards.push(vb);
    const { stdout } = await run(process.execPath, [path.join(repo, 'bin', 'quantbench.mjs'), 'push', sharedModel(kws), '--port', vb.port, '--profile'], { cwd: repo });
    assert.match(stdout, /^profile {3}13 operators, fastest of \d+ runs: \d+ cycles summed, \d+ for the whole inference \(\d+\.\d%\)$/m);
    assert.match(stdout, /^ *# {2}op +output +cycles +µs +share +arena at +bytes$/m);
    const rows = stdout.split('\n').filter((l) => /^ *\d+ {2}[A-Z]/.test(l));
    assert.equal(rows.length, 13);
    assert.match(rows[0]!, /^ *0 {2}CONV_2D +\S+ +\d+ +\d+\.\d +\d+\.\d% +0 +8000$/);
  });

  it('pages through a profile when the frame holds fewer operators, and refuses a page before a profile', async () => {
    const vb = await startVirtualBoard();
    boards.push(vb);
    const board = await Board.connect(vb.port);
    try {
      await board.upload(new Uint8Array(readFileSync(sharedModel(kws))));
      const page = new Uint8Array([5, 0, 1, 0]);
      await assert.rejects(board.request(0x0b, page), /BOARD_BAD_PAYLOAD|no profile taken yet/);
      const whole = await board.profile(2);
      // The same stored profile from operator 5 on: what a small board's client does.
      const tail = await board.request(0x0b, page);
      const parsed = parseProfile(tail);
      assert.equal(parsed.first, 5);
      assert.equal(parsed.opCount, 13);
      assert.deepEqual(parsed.entries, whole.ops.slice(5));
      await assert.rejects(board.request(0x0b, new Uint8Array([13, 0, 1, 0])), /first operator must be below 13/);
      await assert.rejects(board.request(0x0b, new Uint8Array([0, 0, 0, 0])), /runs must be 1 to 1000/);
    } finally {
      await board.close();
    }
  });
});

/**
 * Builds the QEMU board image with a SysTick period of 16,384 cycles instead of 2^24, so
 * that nearly every operator spans a counter wrap: the profile must come out the same.
 */
function buildShortWrapImage(): string {
  const out = tempDir('quantbench-wrap-');
  const elf = path.join(out, 'board.elf');
  const sources = [
    ...readdirSync(path.join(firmware, 'src')).filter((f) => f.endsWith('.c')).map((f) => path.join(firmware, 'src', f)),
    ...['qb_board.c', 'qb_cobs.c', 'qb_crc32.c'].map((f) => path.join(firmware, 'protocol', f)),
    ...['board_main.c', 'hal.c', 'startup.c'].map((f) => path.join(firmware, 'ports', 'mps2-an386', f)),
  ];
  execFileSync('arm-none-eabi-gcc', [
    '-std=c99', '-O2', '-mcpu=cortex-m4', '-mthumb', '-mfloat-abi=hard', '-mfpu=fpv4-sp-d16', '-ffunction-sections', '-fdata-sections',
    '-ffreestanding', '-ffp-contract=off', '-DQB_HAVE_RUNTIME', '-DSYST_RELOAD=0x3FFFu',
    ...['include', 'src', 'protocol', 'ports/mps2-an386'].map((d) => `-I${path.join(firmware, d)}`),
    '-nostdlib', '-nostartfiles', '-T', path.join(firmware, 'ports', 'mps2-an386', 'mps2.ld'), '-Wl,--gc-sections',
    '-o', elf, ...sources, '-lgcc',
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  return elf;
}

/** Pushes and profiles on a QEMU board, stopping it at once: an idle QEMU board spins a core. */
async function profileOnQemu(model: string, image?: string) {
  const qemu = await startQemuBoard(image ? { image } : {});
  try {
    return await pushModel({ port: qemu.port, model: sharedModel(model), profile: 3 });
  } finally {
    await qemu.stop();
  }
}

describe('per-operator profile on the QEMU mps2-an386 board (SysTick)', { skip: missingQemu() }, () => {
  before(() => buildProtocolTarget('protocol-mps2'));

  const reference = new Map<string, DeviceProfile>();
  for (const [name, ops] of [[kws, 13], [resnet, 16]] as const) {
    it(`profiles ${name}: operators sum to the whole inference within 5%, the profiler costing a few cycles`, { timeout: 300_000 }, async () => {
      const result = await profileOnQemu(name);
      const p = result.profile!;
      checkProfile(p, ops, result.model.arenaBytes);
      assert.equal(p.cpuHz, 25_000_000);
      // With -icount the plain and the profiled inference differ only by what the observer's
      // cost leaves behind (the runtime's call to it, one counter read of the plain
      // timing): a few cycles per operator either way.
      assert.ok(Math.abs(p.profiledCycles - p.invokeCycles) < 4 * ops, `profiled ${p.profiledCycles}, plain ${p.invokeCycles}`);
      assert.ok(Math.abs(p.sumOverWhole - 1) < 0.001);
      reference.set(name, p);
    });
  }

  it('handles SysTick wraps inside operators: a 16,384-cycle period gives the same profile', { timeout: 300_000 }, async () => {
    // ResNet-8: the one model here long enough, with the fast kernels, to span many periods.
    const normal = reference.get(resnet);
    assert.ok(normal, 'the ResNet-8 profile above ran first');
    const result = await profileOnQemu(resnet, buildShortWrapImage());
    const p = result.profile!;
    checkProfile(p, 16, result.model.arenaBytes);
    // About 36 wraps per inference, each adding the interrupt handler's few cycles; a
    // mishandled wrap would be off by 16,384 cycles or wrap to 2^64.
    assert.ok(p.invokeCycles > 16_384 * 20, 'the inference spans many wraps');
    p.ops.forEach((o, i) => {
      const expected = normal.ops[i]!.cycles;
      assert.ok(Math.abs(o.cycles - expected) <= Math.max(50, expected * 0.002), `operator ${i}: ${o.cycles} cycles with short wraps, ${expected} without`);
    });
    assert.ok(Math.abs(p.invokeCycles - normal.invokeCycles) <= normal.invokeCycles * 0.002);
  });
});
