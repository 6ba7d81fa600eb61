import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Board } from '../../core/device/board';
import { crc32 } from '../../core/device/crc32';
import { DeviceError } from '../../core/device/errors';
import { startVirtualBoard, type LaunchedBoard } from '../../core/device/launch';
import { Command, u32le } from '../../core/device/protocol';
import { missingSharedModels, sharedModel } from '../helpers/shared-models';
import { buildProtocolTarget } from './firmware';

const kws = 'kws_ref_model.tflite';
const running: LaunchedBoard[] = [];
const boards: Board[] = [];

async function launch(options: Parameters<typeof startVirtualBoard>[0] = {}): Promise<{ vb: LaunchedBoard; board: Board }> {
  const vb = await startVirtualBoard(options);
  running.push(vb);
  const board = await Board.connect(vb.port);
  boards.push(board);
  return { vb, board };
}

function seededBytes(n: number, seed: number): Uint8Array {
  let s = seed;
  return Uint8Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) & 0xff);
}

before(() => buildProtocolTarget('protocol'));
after(async () => {
  for (const b of boards) await b.close().catch(() => {});
  for (const vb of running) await vb.stop();
});

describe('virtual board over its pseudo-terminal', () => {
  it('says hello with its limits after a boot banner', async () => {
    const { vb, board } = await launch({ banner: 'Quantbench virtual board booting', ramBytes: 1 << 20, flashBytes: 2 << 20 });
    assert.match(vb.port, /^\/dev\/pts\/\d+$/);
    assert.equal(board.hello!.protocol, 1);
    assert.equal(board.hello!.name, 'virtual');
    assert.equal(board.hello!.ramBytes, 1 << 20);
    assert.equal(board.hello!.flashBytes, 2 << 20);
    assert.ok(board.hello!.maxPayload >= 1024);
  });

  it('uploads, verifies, and runs a model: invoke, benchmark and evaluate agree', { skip: missingSharedModels(kws) }, async () => {
    const { board } = await launch();
    const model = new Uint8Array(readFileSync(sharedModel(kws)));
    const upload = await board.upload(model);
    assert.equal(upload.bytes, model.length);
    assert.equal(upload.crc, crc32(model));
    assert.ok(upload.fits && upload.arenaRequired > 0);
    const info = await board.modelInfo();
    assert.ok(info.loaded);
    assert.equal(info.modelBytes, model.length);
    assert.equal(info.arenaRequired, upload.arenaRequired);
    assert.equal(info.inputs.length, 1);
    const samples = [1, 2, 3, 4, 5].map((seed) => seededBytes(info.inputs[0]!.bytes, seed));
    const outputBytes = info.outputs.reduce((n, t) => n + t.bytes, 0);
    const invoked = [];
    for (const s of samples) {
      await board.setInput(0, s);
      const r = await board.invoke();
      assert.equal(r.outputs.length, outputBytes);
      assert.ok(r.cycles > 0 && r.us >= 0);
      invoked.push(r.outputs);
    }
    assert.notDeepEqual(invoked[0], invoked[1], 'different inputs should give different outputs');
    const evaluated = await board.evaluate(samples, outputBytes);
    assert.deepEqual(evaluated.outputs, invoked);
    const bench = await board.benchmark(20, 2);
    assert.equal(bench.runs, 20);
    assert.ok(bench.cycles.min <= bench.cycles.median && bench.cycles.median <= bench.cycles.p95 && bench.cycles.p95 <= bench.cycles.max);
    assert.ok(bench.us.median > 0);
  });

  it('waits out a board stalled for 9 s mid-evaluation (a loaded host, an emulator short of CPU) and gets every output', { skip: missingSharedModels(kws), timeout: 120_000 }, async () => {
    const { vb, board } = await launch();
    const model = new Uint8Array(readFileSync(sharedModel(kws)));
    await board.upload(model);
    const info = await board.modelInfo();
    const outputBytes = info.outputs.reduce((n, t) => n + t.bytes, 0);
    const samples = Array.from({ length: 60 }, (_, i) => seededBytes(info.inputs[0]!.bytes, 100 + i));
    const expected = [];
    for (const s of samples.slice(0, 3)) {
      await board.setInput(0, s);
      expected.push((await board.invoke()).outputs);
    }
    // The stall outlasts four attempts at the first timeout (about 8 s), which the
    // doubling retries must cover; the process is stopped, not killed, so the port stays.
    let batches = 0;
    let stalled = false;
    const evaluated = await board.evaluate(samples, outputBytes, () => {
      if (++batches !== 2 || stalled) return;
      stalled = true;
      vb.process.kill('SIGSTOP');
      setTimeout(() => vb.process.kill('SIGCONT'), 9000);
    });
    assert.ok(stalled, 'the board was stalled mid-evaluation');
    assert.equal(evaluated.outputs.length, samples.length);
    assert.deepEqual(evaluated.outputs.slice(0, 3), expected);
  });

  it('refuses a model larger than its storage with both numbers, before and at UPLOAD_BEGIN', async () => {
    const { board } = await launch({ flashBytes: 1000 });
    await assert.rejects(board.upload(new Uint8Array(5000)), (e: DeviceError) => {
      assert.equal(e.code, 'BOARD_TOO_BIG');
      assert.match(e.message, /5000 bytes.*1000 bytes/);
      assert.match(e.message, new RegExp(board.port));
      return true;
    });
    // The board checks on its own too, for clients that skip the HELLO limits.
    await assert.rejects(board.request(Command.uploadBegin, u32le(5000, 0)), (e: DeviceError) => {
      assert.equal(e.code, 'BOARD_TOO_BIG');
      assert.match(e.message, /5000 bytes exceeds the board's model storage of 1000 bytes/);
      return true;
    });
  });

  it('rejects bytes that are not a model at UPLOAD_END, with the runtime\'s reason', async () => {
    const { board } = await launch();
    await assert.rejects(board.upload(seededBytes(3000, 8)), (e: DeviceError) => {
      assert.equal(e.code, 'BOARD_RUNTIME');
      assert.match(e.message, new RegExp(`board on ${board.port} refused uploadEnd: .+`));
      return true;
    });
  });

  it('resets on request, announces itself again and forgets the model', { skip: missingSharedModels(kws) }, async () => {
    const { board } = await launch({ banner: 'booting' });
    const model = new Uint8Array(readFileSync(sharedModel(kws)));
    await board.upload(model);
    assert.ok((await board.modelInfo()).loaded);
    await board.reset();
    const info = await board.modelInfo();
    assert.equal(info.loaded, false);
    assert.equal(info.modelBytes, 0);
  });

  it('reports a corrupted upload as a CRC mismatch', async () => {
    const { board } = await launch();
    await board.request(Command.uploadBegin, u32le(8, 1234));
    await board.request(Command.uploadChunk, new Uint8Array([...u32le(0), 1, 2, 3, 4, 5, 6, 7, 8]));
    await assert.rejects(board.request(Command.uploadEnd, new Uint8Array(0)), { code: 'BOARD_CRC_MISMATCH' });
  });
});

describe('faults on the link', () => {
  it('completes and verifies 20 of 20 uploads with 0.1% flipped and 0.1% dropped bytes', { skip: missingSharedModels(kws) }, async () => {
    const { board } = await launch({ faults: 'flip=0.001,drop=0.001,seed=11' });
    const model = new Uint8Array(readFileSync(sharedModel(kws)));
    let rewinds = 0;
    for (let i = 0; i < 20; i++) {
      const r = await board.upload(model);
      assert.equal(r.crc, crc32(model), `upload ${i + 1}`);
      rewinds += r.rewinds;
    }
    assert.ok(rewinds > 0, 'the faults should have cost at least one resend');
    assert.ok((await board.modelInfo()).loaded);
  });

  it('says the board reset when it does so mid-upload, and a retry succeeds', { skip: missingSharedModels(kws) }, async () => {
    const { board } = await launch({ faults: 'reset-after=20000', banner: 'rebooting' });
    const model = new Uint8Array(readFileSync(sharedModel(kws)));
    await assert.rejects(board.upload(model), (e: DeviceError) => {
      assert.equal(e.code, 'DEVICE_RESET_DURING_UPLOAD');
      assert.match(e.message, new RegExp(`board on ${board.port} reset during the upload`));
      assert.match(e.hint!, /push again/);
      return true;
    });
    const r = await board.upload(model);
    assert.equal(r.crc, crc32(model));
  });

  it('fails within 5 s, naming the port, when nothing answers', async () => {
    const socat = spawn('socat', ['-d', '-d', 'pty,raw,echo=0', 'pty,raw,echo=0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    after(() => socat.kill());
    const port = await new Promise<string>((resolve, reject) => {
      let text = '';
      socat.stderr.on('data', (c: Buffer) => {
        text += c.toString();
        const m = /PTY is (\/dev\/pts\/\d+)/.exec(text);
        if (m) resolve(m[1]!);
      });
      socat.once('error', reject);
    });
    const started = performance.now();
    await assert.rejects(Board.connect(port), (e: DeviceError) => {
      assert.equal(e.code, 'DEVICE_TIMEOUT');
      assert.match(e.message, new RegExp(`no answer from ${port}`));
      return true;
    });
    assert.ok(performance.now() - started < 5000, `took ${performance.now() - started} ms`);
  });

  it('fails within 5 s, naming the port, when the port disappears mid-upload', { skip: missingSharedModels('ad01_int8.tflite') }, async () => {
    const { vb, board } = await launch({ baud: 115200 });
    const model = new Uint8Array(readFileSync(sharedModel('ad01_int8.tflite')));
    const upload = board.upload(model);
    setTimeout(() => vb.process.kill('SIGKILL'), 300);
    const started = performance.now();
    await assert.rejects(upload, (e: DeviceError) => {
      assert.match(e.code, /DEVICE_(DISCONNECTED|TIMEOUT)/);
      assert.match(e.message, new RegExp(board.port));
      return true;
    });
    assert.ok(performance.now() - started < 5000, `took ${performance.now() - started} ms`);
  });
});
