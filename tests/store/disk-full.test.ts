import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { openStore, StoreError, type Store } from '../../core/store/index';
import { sha256Hex } from '../../core/store/artifacts';
import { tempDir } from '../helpers/tmp';
import { layers, recordFixtureModel } from './helpers/fixtures';

/** A real small filesystem: a 2 MiB tmpfs. Mounting needs root (CI runs as root). */
function mountTmpfs(dir: string): string | false {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'pipe' });
    return false;
  } catch (error) {
    return `cannot mount a 2 MiB tmpfs at ${dir} (needs root): ${(error as Error).message.split('\n')[0]}`;
  }
}

const mountPoint = path.join(tempDir('quantbench-diskfull-'), 'mnt');
mkdirSync(mountPoint);
const skip = mountTmpfs(mountPoint);

function fillUntilFull(store: Store, modelId: number, artifactBytes: number, detailBytes: number) {
  const committed: Array<{ id: number; sha: string }> = [];
  for (let i = 0; i < 10_000; i++) {
    const bytes = Buffer.alloc(artifactBytes, i % 251);
    bytes.writeUInt32LE(i, 0);
    try {
      const id = store.beginRun({ modelId, recipe: { i } });
      store.finishRun(id, {
        metrics: { int8Accuracy: 0.9 },
        layers: layers(20, i),
        artifacts: [{ role: 'tflite', bytes }],
        details: { padding: 'x'.repeat(detailBytes) },
      });
      committed.push({ id, sha: sha256Hex(bytes) });
    } catch (error) {
      return { committed, error };
    }
  }
  throw new Error('the 2 MiB filesystem never filled up');
}

function assertIntact(dataDir: string, committed: Array<{ id: number; sha: string }>) {
  const store = openStore(dataDir);
  try {
    assert.equal(store.db.pragma('integrity_check', { simple: true }), 'ok');
    for (const c of committed) {
      const run = store.getRun(c.id);
      assert.equal(run.status, 'succeeded');
      assert.equal(run.layers.length, 20);
      assert.equal(sha256Hex(readFileSync(run.artifacts[0]!.path)), c.sha);
    }
  } finally {
    store.close();
  }
}

describe('store on a full disk', { skip }, () => {
  after(() => {
    if (!skip) execFileSync('umount', [mountPoint]);
  });

  it('reports a full disk while writing artifact files and keeps earlier runs', () => {
    const dataDir = path.join(mountPoint, 'artifacts-fill');
    const store = openStore(dataDir);
    const model = recordFixtureModel(store);
    const { committed, error } = fillUntilFull(store, model.id, 96 * 1024, 0);
    store.close();
    assert.ok(error instanceof StoreError, `expected a StoreError, got ${String(error)}`);
    assert.equal(error.code, 'STORE_DISK_FULL');
    assert.match(error.message, new RegExp(dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    assert.match(error.hint ?? '', /free space/i);
    assert.ok(committed.length > 2, `only ${committed.length} runs fit before the disk filled`);
    assertIntact(dataDir, committed);
    rmSync(dataDir, { recursive: true });
  });

  it('reports a full disk while SQLite grows the database and keeps earlier runs', () => {
    const dataDir = path.join(mountPoint, 'database-fill');
    const store = openStore(dataDir);
    const model = recordFixtureModel(store);
    const { committed, error } = fillUntilFull(store, model.id, 64, 64 * 1024);
    store.close();
    assert.ok(error instanceof StoreError, `expected a StoreError, got ${String(error)}`);
    assert.equal(error.code, 'STORE_DISK_FULL');
    assert.match((error.cause as { code?: string }).code ?? '', /SQLITE_FULL|ENOSPC/);
    assert.ok(committed.length > 2, `only ${committed.length} runs fit before the disk filled`);
    assertIntact(dataDir, committed);
    rmSync(dataDir, { recursive: true });
  });
});
