import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import type { JobProgress } from '../../core/api/contract';
import { EventHub } from '../../core/app/events';
import { JobCancelledError, JobManager } from '../../core/jobs/manager';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'job-fixtures.ts');
const job = (name: string) => ({ module: fixtures, export: name });

describe('JobManager', () => {
  const events = new EventHub();
  const manager = new JobManager({ events });
  after(() => manager.shutdown());

  it('runs a job in a worker thread and reports progress with the time left', async () => {
    const seen: JobProgress[] = [];
    const off = events.on('onJobProgress', (p) => seen.push(p));
    const logs: string[] = [];
    const running = manager.start<number>('count', job('countTo'), { n: 10, delayMs: 5 }, (l) => logs.push(l));
    assert.equal(await running.done, 55);
    off();
    const mine = seen.filter((p) => p.jobId === running.jobId);
    assert.equal(mine.length, 10);
    assert.equal(mine.at(-1)!.fraction, 1);
    assert.equal(mine.at(-1)!.etaSeconds, 0);
    assert.ok(mine.every((p) => p.kind === 'count' && p.step === 'counting'));
    assert.deepEqual(logs, ['sum 55']);
    assert.deepEqual(manager.running(), []);
  });

  it('keeps the main thread responsive while a job computes', async () => {
    const running = manager.start('spin', job('spinForever'), {});
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(Date.now() - t0 < 500, 'event loop was blocked');
    manager.cancel(running.jobId);
    await assert.rejects(running.done, JobCancelledError);
  });

  it('cancels a cooperative job quickly', async () => {
    const running = manager.start('count', job('countTo'), { n: 1000, delayMs: 10 });
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    assert.equal(manager.cancel(running.jobId), true);
    await assert.rejects(running.done, JobCancelledError);
    assert.ok(Date.now() - t0 < 1000, `cancel took ${Date.now() - t0} ms`);
  });

  it('stops a job that ignores cancellation within a second', async () => {
    const running = manager.start('spin', job('spinForever'), {});
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    manager.cancel(running.jobId);
    await assert.rejects(running.done, JobCancelledError);
    assert.ok(Date.now() - t0 < 1000, `cancel took ${Date.now() - t0} ms`);
  });

  it('passes a job\'s error through with its code and hint', async () => {
    const running = manager.start('fail', job('failWithHint'), {});
    await assert.rejects(running.done, (e: Error & { code?: string; hint?: string }) => {
      assert.equal(e.code, 'BAD_INPUT');
      assert.match(e.message, /conv2d_1.*model\.h5/);
      assert.equal(e.hint, 're-export the model');
      return true;
    });
  });

  it('reports a missing handler as an error naming the module', async () => {
    const running = manager.start('missing', job('noSuchExport'), {});
    await assert.rejects(running.done, /no exported function noSuchExport/);
  });
});
