import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { EventHub } from '../../core/app/events';
import { QuantbenchError } from '../../core/errors';
import { defaultMaxConcurrentJobs, JobCancelledError, JobManager } from '../../core/jobs/manager';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'job-fixtures.ts');
const job = (name: string) => ({ module: fixtures, export: name });

describe('JobManager limits', () => {
  const manager = new JobManager({ events: new EventHub(), maxConcurrent: 1, maxHeapMb: 64 });
  after(() => manager.shutdown());

  it('queues jobs beyond the concurrency limit and starts them as slots free up', async () => {
    const first = manager.start('spin', job('spinForever'), {});
    const second = manager.start<number>('count', job('countTo'), { n: 3, delayMs: 1 });
    const third = manager.start<number>('count', job('countTo'), { n: 2, delayMs: 1 });
    assert.deepEqual(
      manager.running().map((j) => j.queued),
      [false, true, true],
    );
    // Cancelling a queued job settles it without ever starting a thread.
    manager.cancel(third.jobId);
    await assert.rejects(third.done, JobCancelledError);
    manager.cancel(first.jobId);
    await assert.rejects(first.done, JobCancelledError);
    assert.equal(await second.done, 6);
    assert.deepEqual(manager.running(), []);
  });

  it('stops a job that outgrows its heap with JOB_OUT_OF_MEMORY, and keeps running others', { timeout: 60_000 }, async () => {
    const hog = manager.start('hog', job('hoardMemory'), {});
    await assert.rejects(hog.done, (e: unknown) => e instanceof QuantbenchError && e.code === 'JOB_OUT_OF_MEMORY' && /64 MiB/.test(e.message));
    assert.equal(await manager.start<number>('count', job('countTo'), { n: 2, delayMs: 1 }).done, 3);
  });

  it('defaults to one job fewer than the cores, and at least one', () => {
    assert.ok(defaultMaxConcurrentJobs() >= 1);
  });
});
