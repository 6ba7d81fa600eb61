import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openStore } from '../../core/store/index';
import { tempDir } from '../helpers/tmp';
import { startHelper, waitForLine } from './helpers/child';

describe('store with a reader and a writer process', () => {
  it('lets a second process list runs while a job writes, consistently and never "database is locked"', async () => {
    const dataDir = tempDir();
    openStore(dataDir).close();
    const writer = startHelper('writer-process.ts', [dataDir, 'Infinity', '0']);
    await waitForLine(writer.lines, (l) => l === 'ready');
    const readers = [
      startHelper('reader-process.ts', [dataDir, '4', '20']),
      startHelper('reader-process.ts', [dataDir, '4', '20']),
    ];
    const results = await Promise.all(readers.map((r) => r.exited));
    writer.child.kill('SIGTERM');
    const writerEnd = await writer.exited;
    // Still running when stopped: the writer never died on a busy or locked error either.
    assert.equal(writerEnd.signal, 'SIGTERM', writerEnd.stderr);

    const committed = writer.lines.filter((l) => l.startsWith('committed')).length;
    for (const [i, r] of readers.entries()) {
      assert.equal(results[i]!.code, 0, results[i]!.stderr);
      const report = JSON.parse(r.lines.at(-1)!) as {
        reads: number;
        maxTotal: number;
        errors: string[];
        inconsistencies: string[];
      };
      assert.deepEqual(report.errors, []);
      assert.deepEqual(report.inconsistencies, []);
      assert.ok(report.reads > 20, `reader ${i} managed only ${report.reads} reads`);
      assert.ok(report.maxTotal > 0, `reader ${i} never saw a run`);
    }
    assert.ok(committed > 10, `writer committed only ${committed} runs while readers read`);
  });
});
