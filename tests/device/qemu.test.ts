import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Board } from '../../core/device/board';
import { crc32 } from '../../core/device/crc32';
import { pushModel } from '../../core/device/push';
import { startQemuBoard, startVirtualBoard, type LaunchedBoard } from '../../core/device/launch';
import { missingSharedModels, sharedModel } from '../helpers/shared-models';
import { buildProtocolTarget, missingQemuTools } from './firmware';

const kws = 'kws_ref_model.tflite';

function missingTools(): string | false {
  return missingQemuTools() || missingSharedModels(kws);
}

function seededBytes(n: number, seed: number): Uint8Array {
  let s = seed;
  return Uint8Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) & 0xff);
}

describe('QEMU mps2-an386 board', { skip: missingTools() }, () => {
  const launched: LaunchedBoard[] = [];
  const boards: Board[] = [];
  before(() => buildProtocolTarget('protocol'));
  after(async () => {
    for (const b of boards) await b.close();
    for (const l of launched) await l.stop();
  });

  it('says hello, takes a model, invokes and benchmarks it, and agrees with the virtual board', async () => {
    const qemu = await startQemuBoard();
    launched.push(qemu);
    const virtual = await startVirtualBoard();
    launched.push(virtual);
    const board = await Board.connect(qemu.port);
    const reference = await Board.connect(virtual.port);
    boards.push(board, reference);

    assert.equal(board.hello!.name, 'mps2-an386');
    assert.equal(board.hello!.cpu, 'cortex-m4');
    assert.equal(board.hello!.cpuHz, 25_000_000);
    assert.ok(board.hello!.hasRuntime);

    const model = new Uint8Array(readFileSync(sharedModel(kws)));
    const upload = await board.upload(model);
    assert.equal(upload.crc, crc32(model));
    assert.ok(upload.fits);
    await reference.upload(model);
    const info = await board.modelInfo();
    assert.deepEqual({ ...info, ramBytes: 0 }, { ...(await reference.modelInfo()), ramBytes: 0 });

    for (const seed of [1, 2, 3]) {
      const input = seededBytes(info.inputs[0]!.bytes, seed);
      await board.setInput(0, input);
      await reference.setInput(0, input);
      const onBoard = await board.invoke();
      const onHost = await reference.invoke();
      assert.deepEqual(onBoard.outputs, onHost.outputs, `outputs differ for seed ${seed}`);
      // SysTick at 25 MHz: microseconds are cycles / 25 (each end rounded down separately).
      assert.ok(Math.abs(onBoard.us - onBoard.cycles / 25) <= 1, `${onBoard.us} µs for ${onBoard.cycles} cycles`);
    }

    const bench = await board.benchmark(5, 1);
    assert.equal(bench.runs, 5);
    // With -icount the emulated time is a function of the instructions run: runs of the
    // same input differ only by the SysTick interrupts they happen to take.
    assert.ok(bench.cycles.max - bench.cycles.min < bench.cycles.median / 1000, JSON.stringify(bench.cycles));
  });

  it('evaluates on the Cortex-M4 with 100% agreement with the desktop int8 runtime', async () => {
    const qemu = await startQemuBoard();
    launched.push(qemu);
    const result = await pushModel({ port: qemu.port, model: sharedModel(kws), data: 'random:21', limit: 20 });
    assert.equal(result.board.name, 'mps2-an386');
    assert.ok(result.model.arenaBytes > 0);
    assert.equal(result.eval!.samples, 20);
    assert.equal(result.eval!.agreement, 1, JSON.stringify(result.eval!.mismatches));
    assert.ok(result.eval!.meanCycles > 0);
  });
});
