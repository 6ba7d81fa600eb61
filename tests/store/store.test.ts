import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { openStore, StoreError } from '../../core/store/index';
import { sha256Hex } from '../../core/store/artifacts';
import { tempDir } from '../helpers/tmp';
import { layers, recordFixtureDataset, recordFixtureModel } from './helpers/fixtures';

const isStoreError = (code: string) => (e: unknown) => e instanceof StoreError && e.code === code;

describe('store writers', () => {
  it('records a succeeded run with figures, layers and content-addressed artifacts', () => {
    const store = openStore(tempDir());
    const model = recordFixtureModel(store);
    const dataset = recordFixtureDataset(store);
    const id = store.beginRun({
      modelId: model.id,
      datasetId: dataset.id,
      recipe: { prune: { sparsity: 0.5 } },
      recipeName: 'p50',
      tags: ['baseline'],
      config: { seed: 3 },
    });
    assert.equal(store.getRun(id).status, 'running');
    const tflite = Buffer.from('TFL3-bytes');
    store.finishRun(id, {
      metrics: { floatAccuracy: 0.92, int8Accuracy: 0.9, sparsity: 0.5, maxDistinctValues: 16 },
      sizes: { floatBytes: 4000, tfliteBytes: tflite.byteLength, gzipBytes: 8 },
      layers: layers(3, 0),
      artifacts: [{ role: 'tflite', kind: 'tflite', bytes: tflite }],
      details: { perClass: [0.9, 0.8] },
    });
    const run = store.getRun(id);
    assert.equal(run.status, 'succeeded');
    assert.ok(run.finishedAt! >= run.startedAt);
    assert.ok(
      Math.abs(run.accuracyDrop! - 0.02) < 1e-12,
      'accuracy drop defaults to float minus int8',
    );
    assert.equal(run.maxDistinctValues, 16);
    assert.deepEqual(run.tags, ['baseline']);
    assert.deepEqual(run.config, { seed: 3 });
    assert.deepEqual(run.details, { perClass: [0.9, 0.8] });
    assert.equal(run.dataset?.spec, 'fashion-mnist:test');
    assert.deepEqual(
      run.layers.map((l) => l.policy),
      ['float', 'int8', 'int8'],
    );
    const [artifact] = run.artifacts;
    assert.equal(artifact!.sha256, sha256Hex(tflite));
    assert.equal(
      artifact!.path,
      path.join(
        store.dataDir,
        'artifacts',
        artifact!.sha256.slice(0, 2),
        artifact!.sha256.slice(2),
      ),
    );
    assert.deepEqual(readFileSync(artifact!.path), tflite);
    assert.deepEqual(
      readdirSync(path.join(store.dataDir, 'artifacts', '.tmp')),
      [],
      'no temp files left behind',
    );
    store.close();
  });

  it('records failed and cancelled runs with their error and any partial results', () => {
    const store = openStore(tempDir());
    const model = recordFixtureModel(store);
    const failed = store.beginRun({ modelId: model.id, recipe: {} });
    store.failRun(
      failed,
      Object.assign(new Error('calibration diverged at layer conv2'), {
        code: 'COMPRESS_DIVERGED',
      }),
      { layers: layers(2, 1) },
    );
    const cancelled = store.beginRun({ modelId: model.id, recipe: {} });
    store.cancelRun(cancelled);
    const f = store.getRun(failed);
    assert.equal(f.status, 'failed');
    assert.equal(f.error, 'COMPRESS_DIVERGED: calibration diverged at layer conv2');
    assert.equal(f.layers.length, 2);
    const c = store.getRun(cancelled);
    assert.equal(c.status, 'cancelled');
    assert.equal(c.error, 'cancelled by the user');
    assert.ok(c.finishedAt);
    store.close();
  });

  it('settles a run exactly once', () => {
    const store = openStore(tempDir());
    const model = recordFixtureModel(store);
    const id = store.beginRun({ modelId: model.id, recipe: {} });
    store.finishRun(id, {});
    assert.throws(() => store.failRun(id, 'late failure'), isStoreError('STORE_RUN_NOT_RUNNING'));
    assert.throws(() => store.finishRun(999, {}), isStoreError('STORE_RUN_NOT_FOUND'));
    store.close();
  });

  it('rolls back a finish whose artifact is gone, leaving the run running and no row without its file', () => {
    const store = openStore(tempDir());
    const model = recordFixtureModel(store);
    const id = store.beginRun({ modelId: model.id, recipe: {} });
    const ghost = { sha256: 'a'.repeat(64), kind: 'tflite', bytes: 3 };
    assert.throws(
      () =>
        store.finishRun(id, {
          artifacts: [{ role: 'tflite', artifact: ghost }],
          layers: layers(2, 0),
        }),
      isStoreError('STORE_ARTIFACT_MISSING'),
    );
    const run = store.getRun(id);
    assert.equal(run.status, 'running');
    assert.deepEqual(run.layers, []);
    assert.equal(store.db.prepare('SELECT count(*) FROM artifacts').pluck().get(), 0);
    store.close();
  });

  it('keys models, data sets and boards by identity and artifacts by content', () => {
    const store = openStore(tempDir());
    assert.equal(recordFixtureModel(store).id, recordFixtureModel(store).id);
    assert.equal(recordFixtureDataset(store).id, recordFixtureDataset(store).id);
    const board = {
      name: 'mps2-an386',
      firmwareVersion: '0.1.0',
      port: '/dev/pts/5',
      cpu: 'cortex-m4',
      clockHz: 25_000_000,
    };
    assert.equal(store.recordBoard(board).id, store.recordBoard(board).id);
    assert.notEqual(
      store.recordBoard(board).id,
      store.recordBoard({ ...board, firmwareVersion: '0.2.0' }).id,
    );
    const a = store.putArtifact(Buffer.from('same'), 'report');
    const b = store.putArtifact(Buffer.from('same'), 'report');
    assert.deepEqual(a, b);
    assert.equal(store.db.prepare('SELECT count(*) FROM artifacts').pluck().get(), 1);
    store.close();
  });

  it('records device runs with latency statistics against a board', () => {
    const store = openStore(tempDir());
    const model = recordFixtureModel(store);
    const id = store.beginRun({ modelId: model.id, recipe: {} });
    store.finishRun(id, {});
    const board = store.recordBoard({
      name: 'host',
      firmwareVersion: '0.1.0',
      port: '/dev/pts/3',
      cpu: 'x86_64',
      clockHz: 1,
    });
    const dr = store.recordDeviceRun({
      runId: id,
      boardId: board.id,
      status: 'succeeded',
      latencyUs: { min: 100, median: 110, p95: 130, max: 150 },
      cycles: { min: 2500, median: 2750, p95: 3250, max: 3750 },
      accuracy: 0.9,
      agreement: 1,
      arenaBytes: 12_000,
      modelBytes: 270_000,
      uploadSeconds: 2.5,
      uploadBytesPerSecond: 108_000,
      details: { samples: 200 },
    });
    const [device] = store.getRun(id).deviceRuns;
    assert.equal(device!.id, dr);
    assert.equal(device!.board.name, 'host');
    assert.deepEqual(device!.latencyUs, { min: 100, median: 110, p95: 130, max: 150 });
    assert.deepEqual(device!.cycles, { min: 2500, median: 2750, p95: 3250, max: 3750 });
    assert.equal(device!.agreement, 1);
    assert.throws(
      () => store.recordDeviceRun({ runId: 404, boardId: board.id, status: 'failed' }),
      isStoreError('STORE_RUN_NOT_FOUND'),
    );
    store.close();
  });

  it('edits tags and notes', () => {
    const store = openStore(tempDir());
    const model = recordFixtureModel(store);
    const id = store.beginRun({ modelId: model.id, recipe: {}, tags: ['a'] });
    store.addTags(id, ['b', 'a']);
    store.removeTag(id, 'a');
    store.setNotes(id, 'best on the M4 so far');
    const run = store.getRun(id);
    assert.deepEqual(run.tags, ['b']);
    assert.equal(run.notes, 'best on the M4 so far');
    assert.throws(() => store.addTags(id, ['  ']), isStoreError('STORE_INVALID_INPUT'));
    assert.throws(() => store.setNotes(55, 'x'), isStoreError('STORE_RUN_NOT_FOUND'));
    store.close();
  });

  it('deletes a run and the artifact files no other run uses, keeping shared ones', () => {
    const store = openStore(tempDir());
    const model = recordFixtureModel(store);
    const shared = Buffer.from('shared header');
    const own = Buffer.from('model only run 1 has');
    const r1 = store.beginRun({ modelId: model.id, recipe: {} });
    store.finishRun(r1, {
      artifacts: [
        { role: 'c-source', bytes: shared },
        { role: 'tflite', bytes: own },
      ],
      layers: layers(2, 0),
    });
    const r2 = store.beginRun({ modelId: model.id, recipe: {} });
    store.finishRun(r2, { artifacts: [{ role: 'c-source', bytes: shared }] });
    const board = store.recordBoard({ name: 'host', firmwareVersion: '1', port: 'p' });
    store.recordDeviceRun({ runId: r1, boardId: board.id, status: 'succeeded' });
    const ownPath = store.getRun(r1).artifacts.find((a) => a.role === 'tflite')!.path;

    const { removedArtifacts } = store.deleteRun(r1);
    assert.deepEqual(removedArtifacts, [sha256Hex(own)]);
    assert.equal(existsSync(ownPath), false);
    assert.ok(store.files.has(sha256Hex(shared)));
    assert.throws(() => store.getRun(r1), isStoreError('STORE_RUN_NOT_FOUND'));
    for (const table of ['run_layers', 'run_tags', 'device_runs', 'run_artifacts']) {
      assert.equal(
        store.db.prepare(`SELECT count(*) FROM ${table} WHERE run_id = ?`).pluck().get(r1),
        0,
        table,
      );
    }
    assert.deepEqual(readdirSync(path.join(store.dataDir, 'artifacts', '.trash')), []);
    store.deleteRun(r2);
    assert.equal(store.files.has(sha256Hex(shared)), false);
    assert.equal(store.db.prepare('SELECT count(*) FROM artifacts').pluck().get(), 0);
    store.close();
  });

  it('marks failed the runs of a process that ended without finishing them, and only those', () => {
    const dataDir = tempDir();
    const store = openStore(dataDir);
    const model = recordFixtureModel(store);
    const mine = store.beginRun({ modelId: model.id, recipe: {} });
    const elsewhere = store.beginRun({ modelId: model.id, recipe: {} });
    store.db.prepare("UPDATE runs SET owner = 'another-host:1' WHERE id = ?").run(elsewhere);
    const storeModule = fileURLToPath(new URL('../../core/store/index.ts', import.meta.url));
    const child = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `
        const { openStore } = await import(${JSON.stringify(storeModule)});
        const s = openStore(${JSON.stringify(dataDir)});
        console.log(s.beginRun({ modelId: ${model.id}, recipe: { abandoned: true } }));
        process.exit(0);`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(child.status, 0, child.stderr);
    const abandoned = Number(child.stdout.trim());
    assert.equal(store.getRun(abandoned).status, 'running');

    assert.deepEqual(store.failInterruptedRuns(), [abandoned]);
    const run = store.getRun(abandoned);
    assert.equal(run.status, 'failed');
    assert.match(run.error!, new RegExp(`pid ${child.pid}\\) ended before the run finished`));
    assert.equal(store.getRun(mine).status, 'running', 'this process is alive');
    assert.equal(store.getRun(elsewhere).status, 'running', 'another machine is not ours to judge');
    store.close();
  });

  it('sweeps only old files no row lists', () => {
    const store = openStore(tempDir());
    const listed = store.putArtifact(Buffer.from('listed'), 'report');
    const orphan = store.files.write(Buffer.from('left by a killed writer'));
    assert.deepEqual(
      store.removeOrphanFiles().removed,
      [],
      'a young orphan may be a write in progress',
    );
    const swept = store.removeOrphanFiles({ minAgeMs: 0 });
    assert.deepEqual(swept, { removed: [orphan], freedBytes: 23 });
    assert.ok(store.files.has(listed.sha256));
    assert.equal(store.files.has(orphan), false);
    store.close();
  });

  it('puts back files of a delete that never committed when the store is next opened', () => {
    const dataDir = tempDir();
    let store = openStore(dataDir);
    const model = recordFixtureModel(store);
    const id = store.beginRun({ modelId: model.id, recipe: {} });
    const bytes = Buffer.from('survives an interrupted delete');
    store.finishRun(id, { artifacts: [{ role: 'tflite', bytes }] });
    // What a process killed inside deleteRun leaves: the file moved to .trash, rows untouched.
    store.files.trash(sha256Hex(bytes));
    assert.equal(store.files.has(sha256Hex(bytes)), false);
    store.close();
    store = openStore(dataDir);
    assert.deepEqual(store.files.read(sha256Hex(bytes)), bytes);
    store.close();
  });
});
