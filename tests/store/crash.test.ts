import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { openStore } from '../../core/store/index';
import { sha256Hex } from '../../core/store/artifacts';
import { tempDir } from '../helpers/tmp';
import { startHelper, waitForLine } from './helpers/child';

const KILLS = 30;

describe('store under SIGKILL', () => {
  it(`keeps every run whose write returned, with its artifacts, across ${KILLS} kills mid-write`, async (t) => {
    const dataDir = tempDir();
    const committed = new Map<number, { uuid: string; shas: string[] }>();
    const deleting = new Set<number>();

    for (let round = 0; round < KILLS; round++) {
      const { child, lines, exited } = startHelper('writer-process.ts', [dataDir, 'Infinity', '4']);
      await waitForLine(lines, (l) => l === 'ready');
      // Let it get into the loop, then kill it at a random point of a write.
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 180));
      child.kill('SIGKILL');
      const { signal, stderr } = await exited;
      assert.equal(signal, 'SIGKILL', `writer ended on its own: ${stderr}`);
      for (const line of lines) {
        const [what, id, uuid, ...shas] = line.split(' ');
        if (what === 'committed') committed.set(Number(id), { uuid: uuid!, shas });
        if (what === 'deleting') deleting.add(Number(id));
      }
    }

    const store = openStore(dataDir);
    try {
      assert.equal(store.db.pragma('integrity_check', { simple: true }), 'ok');
      assert.deepEqual(store.db.pragma('foreign_key_check'), []);

      let checked = 0;
      for (const [id, expected] of committed) {
        if (deleting.has(id)) continue;
        const run = store.getRun(id);
        assert.equal(run.uuid, expected.uuid);
        assert.equal(run.status, 'succeeded');
        assert.equal(run.layers.length, 20);
        assert.deepEqual(run.artifacts.map((a) => a.sha256).sort(), [...expected.shas].sort());
        for (const a of run.artifacts)
          assert.equal(sha256Hex(readFileSync(a.path)), a.sha256, `run ${id} ${a.role}`);
        checked++;
      }
      // Whatever the kills interrupted, no row anywhere names a missing or damaged file.
      const all = store.db.prepare('SELECT sha256 FROM artifacts').pluck().all() as string[];
      for (const sha of all) assert.equal(sha256Hex(store.files.read(sha)), sha);
      // A run cut off between beginRun and finishRun is never half-finished: opening the store
      // settled it as failed, because the process recording it is gone.
      const half = store.db
        .prepare("SELECT count(*) FROM runs WHERE status = 'succeeded' AND int8_accuracy IS NULL")
        .pluck()
        .get();
      assert.equal(half, 0);
      assert.equal(
        store.db.prepare("SELECT count(*) FROM runs WHERE status = 'running'").pluck().get(),
        0,
      );
      const interrupted = store.listRuns({ filter: { status: 'failed' }, limit: 1000 }).runs;
      assert.ok(interrupted.length > 0, 'no kill landed between a run starting and its commit');
      for (const r of interrupted) {
        assert.match(r.error ?? '', /^interrupted: the process recording this run \(pid \d+\)/);
      }
      assert.ok(checked >= KILLS, `only ${checked} committed runs were checked`);

      // Files written by runs that never committed are swept; every listed file stays.
      const { removed } = store.removeOrphanFiles({ minAgeMs: 0 });
      const listed = new Set(all);
      assert.deepEqual(
        store.files.listStored().filter((sha) => !listed.has(sha)),
        [],
        'orphan files remain',
      );
      for (const sha of all) assert.ok(store.files.has(sha), `listed artifact ${sha} was swept`);
      t.diagnostic(
        `${committed.size} runs committed, ${interrupted.length} interrupted and settled as failed, ` +
          `${deleting.size} deleted, ${removed.length} orphan files swept`,
      );
    } finally {
      store.close();
    }
  });
});
