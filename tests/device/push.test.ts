import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { startVirtualBoard, type LaunchedBoard } from '../../core/device/launch';
import { OutputComparer, orderStats } from '../../core/device/metrics';
import { pushModel } from '../../core/device/push';
import { missingSharedModels, sharedModel } from '../helpers/shared-models';
import { buildProtocolTarget } from './firmware';

const run = promisify(execFile);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const kws = 'kws_ref_model.tflite';

describe('output comparison metrics', () => {
  it('computes RMSE, MAE, L2 relative error and cosine as defined', () => {
    const c = new OutputComparer();
    c.add([1, 2, 3], [1, 2, 5]);
    const r = c.result();
    assert.ok(Math.abs(r.rmse - Math.sqrt(4 / 3)) < 1e-12);
    assert.ok(Math.abs(r.mae - 2 / 3) < 1e-12);
    assert.ok(Math.abs(r.l2r - 2 / Math.sqrt(30)) < 1e-12);
    assert.ok(Math.abs(r.cos - 20 / Math.sqrt(14 * 30)) < 1e-12);
    const same = new OutputComparer();
    same.add([0.5, -1], [0.5, -1]);
    assert.deepEqual(same.result(), { rmse: 0, mae: 0, l2r: 0, cos: 1 });
  });

  it('takes order statistics the way the board does', () => {
    const s = orderStats([5, 1, 4, 2, 3, 10, 9, 8, 7, 6]);
    assert.deepEqual([s.min, s.median, s.p95, s.max], [1, 6, 10, 10]);
  });
});

describe('push', { skip: missingSharedModels(kws) }, () => {
  const boards: LaunchedBoard[] = [];
  before(() => buildProtocolTarget('protocol'));
  after(async () => {
    for (const b of boards) await b.stop();
  });

  it('`quantbench push --json` reports board, upload, bench and a 100% agreeing evaluation', async () => {
    const vb = await startVirtualBoard();
    boards.push(vb);
    const { stdout } = await run(
      process.execPath,
      [path.join(repo, 'bin', 'quantbench.mjs'), 'push', sharedModel(kws), '--port', vb.port, '--bench', '10', '--eval', '--data', 'random:5', '--limit', '30', '--json'],
      { cwd: repo },
    );
    const doc = JSON.parse(stdout);
    assert.equal(doc.board.name, 'virtual');
    assert.equal(doc.board.firmware, '0.1');
    assert.equal(doc.upload.bytes, 53936);
    assert.ok(doc.upload.seconds > 0);
    assert.ok(doc.model.arenaBytes > 0);
    assert.equal(doc.bench.runs, 10);
    assert.ok(doc.bench.medianUs > 0 && doc.bench.medianCycles > 0);
    assert.equal(doc.eval.samples, 30);
    assert.equal(doc.eval.agreement, 1);
    assert.equal(doc.eval.accuracy, null, 'random inputs have no labels');
    assert.deepEqual(doc.eval.deviceVsDesktop, { rmse: 0, mae: 0, l2r: 0, cos: 1 });
  });

  it('reports the board and progress, and stops mid-upload when cancelled', async () => {
    const vb = await startVirtualBoard({ baud: 115200 });
    boards.push(vb);
    const controller = new AbortController();
    const steps: [string, number | null][] = [];
    let boardName = '';
    const started = performance.now();
    const push = pushModel({
      port: vb.port,
      model: sharedModel(kws),
      signal: controller.signal,
      onBoard: (hello) => (boardName = hello.name),
      onProgress: (step, fraction) => {
        steps.push([step, fraction]);
        if (fraction !== null && fraction > 0.2) controller.abort();
      },
    });
    await assert.rejects(push, (e: Error & { code: string }) => {
      assert.equal(e.code, 'DEVICE_CANCELLED');
      assert.match(e.message, new RegExp(`upload to ${vb.port} was cancelled after \\d+ of 53936 bytes`));
      return true;
    });
    assert.equal(boardName, 'virtual');
    assert.ok(steps.length > 0 && steps.every(([step, f]) => step === 'upload' && f !== null && f > 0 && f < 1));
    assert.ok(performance.now() - started < 4000, 'a 53,936-byte upload at 115200 baud takes about 4.7 s; cancelling must cut it short');
  });

  it('refuses a model whose arena does not fit, with both numbers', async () => {
    const vb = await startVirtualBoard({ ramBytes: 1000 });
    boards.push(vb);
    await assert.rejects(pushModel({ port: vb.port, model: sharedModel(kws), bench: 1 }), (e: Error & { code: string }) => {
      assert.equal(e.code, 'BOARD_ARENA_TOO_SMALL');
      assert.match(e.message, new RegExp(`needs \\d+ bytes of arena; virtual on ${vb.port} has 1000`));
      return true;
    });
  });
});
