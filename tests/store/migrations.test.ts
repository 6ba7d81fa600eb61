import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { openDatabase } from '../../core/store/db';
import { DB_FILE_NAME, latestSchemaVersion, openStore, StoreError } from '../../core/store/index';
import { migrations } from '../../core/store/migrations/index';
import { sha256Hex } from '../../core/store/artifacts';
import { tempDir } from '../helpers/tmp';
import { writeFileSync, mkdirSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);

describe('migrations', () => {
  it('are numbered 1, 2, … with no gaps, and the latest is what a new store reports', () => {
    assert.deepEqual(
      migrations.map((m) => m.version),
      migrations.map((_, i) => i + 1),
    );
    const store = openStore(tempDir());
    assert.equal(store.schemaVersion, latestSchemaVersion);
    store.close();
  });

  it('upgrades a database written with schema 1 to the current schema with its data intact', () => {
    const dataDir = tempDir();
    const file = path.join(dataDir, DB_FILE_NAME);
    const v1 = openDatabase(file, { targetVersion: 1 });
    assert.equal(v1.pragma('user_version', { simple: true }), 1);
    const tflite = Buffer.from('TFL3 model bytes of a schema-1 run');
    const sha = sha256Hex(tflite);
    mkdirSync(path.join(dataDir, 'artifacts', sha.slice(0, 2)), { recursive: true });
    writeFileSync(path.join(dataDir, 'artifacts', sha.slice(0, 2), sha.slice(2)), tflite);
    v1.exec(`
      INSERT INTO models (id, hash, name, source_path, format, layer_summary, created_at)
        VALUES (1, 'abc123', 'ad01', '/m/ad01.h5', 'h5', '{"layers":7}', '2026-01-01T00:00:00.000Z');
      INSERT INTO datasets (id, hash, spec, sample_count, preprocessing, created_at)
        VALUES (1, 'def456', 'toyadmos:test', 400, '{"frames":5}', '2026-01-01T00:00:00.000Z');
      INSERT INTO runs (id, uuid, model_id, dataset_id, recipe_name, recipe, status, started_at, finished_at,
                        float_accuracy, int8_accuracy, accuracy_drop, tflite_bytes, sparsity, config, metrics)
        VALUES (7, '11111111-2222-3333-4444-555555555555', 1, 1, 'p50', '{"prune":{"sparsity":0.5}}', 'succeeded',
                '2026-01-01T00:00:01.000Z', '2026-01-01T00:05:00.000Z', 0.91, 0.9, 0.01, 270000, 0.5, '{"seed":1}', '{"perClass":[0.9]}');
      INSERT INTO runs (id, uuid, model_id, recipe, status, error, started_at)
        VALUES (8, '66666666-2222-3333-4444-555555555555', 1, '{}', 'failed', 'out of memory', '2026-01-02T00:00:00.000Z');
      INSERT INTO run_layers (run_id, position, name, type, policy, sparsity, unique_values, sqnr_db)
        VALUES (7, 0, 'conv1', 'Conv2D', 'int8', 0.5, 16, 31.5), (7, 1, 'bn1', 'BatchNormalization', 'float', NULL, NULL, NULL);
      INSERT INTO artifacts (sha256, kind, bytes, created_at) VALUES ('${sha}', 'tflite', ${tflite.byteLength}, '2026-01-01T00:05:00.000Z');
      INSERT INTO run_artifacts (run_id, role, sha256) VALUES (7, 'tflite', '${sha}');
    `);
    v1.close();

    const store = openStore(dataDir);
    try {
      assert.equal(store.schemaVersion, latestSchemaVersion);
      const run = store.getRun(7);
      assert.equal(run.uuid, '11111111-2222-3333-4444-555555555555');
      assert.equal(run.model.name, 'ad01');
      assert.deepEqual(run.model.layerSummary, { layers: 7 });
      assert.equal(run.dataset?.sampleCount, 400);
      assert.deepEqual(run.recipe, { prune: { sparsity: 0.5 } });
      assert.deepEqual(run.config, { seed: 1 });
      assert.deepEqual(run.details, { perClass: [0.9] });
      assert.equal(run.int8Accuracy, 0.9);
      assert.equal(run.tfliteBytes, 270000);
      assert.deepEqual(
        run.layers.map((l) => [l.name, l.policy, l.uniqueValues]),
        [
          ['conv1', 'int8', 16],
          ['bn1', 'float', null],
        ],
      );
      assert.deepEqual(
        run.artifacts.map((a) => [a.role, a.sha256]),
        [['tflite', sha]],
      );
      // What schema 2 added starts empty and works on the old rows.
      assert.deepEqual(run.tags, []);
      assert.equal(run.notes, null);
      assert.deepEqual(run.deviceRuns, []);
      store.addTags(7, ['from-v1']);
      store.setNotes(7, 'kept across the upgrade');
      const board = store.recordBoard({
        name: 'host',
        firmwareVersion: '0.1.0',
        port: '/dev/pts/4',
      });
      store.recordDeviceRun({
        runId: 7,
        boardId: board.id,
        status: 'succeeded',
        latencyUs: { min: 10, median: 11, p95: 12, max: 13 },
      });
      assert.equal(store.getRun(8).error, 'out of memory');
      assert.equal(store.listRuns({ filter: { tag: 'from-v1', board: 'host' } }).total, 1);
      assert.equal(store.db.pragma('integrity_check', { simple: true }), 'ok');
      assert.deepEqual(store.db.pragma('foreign_key_check'), []);
    } finally {
      store.close();
    }
  });

  it('migrates once when several processes open an old database at the same moment', async () => {
    const dataDir = tempDir();
    openDatabase(path.join(dataDir, DB_FILE_NAME), { targetVersion: 1 }).close();
    const storeModule = fileURLToPath(new URL('../../core/store/index.ts', import.meta.url));
    const script = `const { openStore } = await import(${JSON.stringify(storeModule)});
      const s = openStore(${JSON.stringify(dataDir)}); console.log(s.schemaVersion); s.close();`;
    const results = await Promise.all(
      [0, 1, 2].map(() =>
        exec(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]),
      ),
    );
    assert.deepEqual(
      results.map((r) => r.stdout.trim()),
      [0, 1, 2].map(() => String(latestSchemaVersion)),
    );
  });

  it('refuses a database from a newer Quantbench and says to update', () => {
    const dataDir = tempDir();
    const db = openDatabase(path.join(dataDir, DB_FILE_NAME));
    db.pragma(`user_version = ${latestSchemaVersion + 1}`);
    db.close();
    assert.throws(
      () => openStore(dataDir),
      (e: unknown) =>
        e instanceof StoreError &&
        e.code === 'STORE_SCHEMA_TOO_NEW' &&
        /Update Quantbench/.test(e.hint ?? ''),
    );
  });

  it('leaves the database at its old version when a migration fails', () => {
    const dataDir = tempDir();
    const file = path.join(dataDir, DB_FILE_NAME);
    const v1 = openDatabase(file, { targetVersion: 1 });
    // A table in the way of migration 2 makes it fail half-way.
    v1.exec('CREATE TABLE boards (x INTEGER)');
    v1.close();
    assert.throws(
      () => openStore(dataDir),
      (e: unknown) =>
        e instanceof StoreError &&
        e.code === 'STORE_MIGRATION_FAILED' &&
        /schema 2/.test(e.message),
    );
    const again = openDatabase(file, { targetVersion: 1 });
    assert.equal(again.pragma('user_version', { simple: true }), 1);
    const columns = (again.pragma('table_info(runs)') as Array<{ name: string }>).map(
      (c) => c.name,
    );
    assert.ok(!columns.includes('notes'), 'migration 2 was half-applied');
    again.close();
  });
});
