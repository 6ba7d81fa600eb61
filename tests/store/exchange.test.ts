import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { unzipSync, zipSync } from 'fflate';
import { openStore, StoreError, type Store } from '../../core/store/index';
import { sha256Hex } from '../../core/store/artifacts';
import { openDatabase } from '../../core/store/db';
import { tempDir } from '../helpers/tmp';
import { layers, recordFixtureDataset, recordFixtureModel } from './helpers/fixtures';

/** A colleague's store: three runs, one shared artifact, a device run, tags and notes. */
function colleague(): Store {
  const store = openStore(tempDir());
  const model = recordFixtureModel(store);
  const dataset = recordFixtureDataset(store);
  const board = store.recordBoard({
    name: 'm4',
    firmwareVersion: '0.3',
    port: 'rfc2217://lab:4000',
    cpu: 'cortex-m4',
    clockHz: 25_000_000,
  });
  for (let i = 0; i < 3; i++) {
    const id = store.beginRun({
      modelId: model.id,
      datasetId: dataset.id,
      recipe: { cluster: { k: 16 << i } },
      recipeName: `k${16 << i}`,
      tags: ['colleague', `k${i}`],
    });
    store.finishRun(id, {
      metrics: { floatAccuracy: 0.9, int8Accuracy: 0.85 + i / 100, maxDistinctValues: 16 << i },
      sizes: { tfliteBytes: 1000 + i },
      layers: layers(5, i),
      artifacts: [
        {
          role: 'tflite',
          kind: 'tflite',
          bytes: Buffer.from(`model ${i}, with "quotes", and commas`),
        },
        { role: 'report', kind: 'json', bytes: Buffer.from('{"shared":true}') },
      ],
    });
    if (i === 0) {
      store.setNotes(id, 'first try,\nline two');
      store.recordDeviceRun({
        runId: id,
        boardId: board.id,
        status: 'succeeded',
        latencyUs: { min: 1, median: 2, p95: 3, max: 4 },
        agreement: 1,
      });
    }
  }
  const failed = store.beginRun({ modelId: model.id, recipe: {} });
  store.failRun(failed, new Error('board did not answer on rfc2217://lab:4000'));
  return store;
}

/** What a run looks like regardless of which store holds it. */
function portable(store: Store) {
  return store
    .exportRuns()
    .runs.map((r) => ({ ...r, deviceRuns: r.deviceRuns }))
    .sort((a, b) => a.uuid.localeCompare(b.uuid));
}

describe('export and import', () => {
  it('round-trips every run through a .qbx bundle into an empty store', () => {
    const src = colleague();
    const file = path.join(tempDir(), 'runs.qbx');
    const summary = src.exportToFile(file);
    assert.deepEqual(
      { runs: summary.runs, artifacts: summary.artifacts, format: summary.format },
      { runs: 4, artifacts: 4, format: 'qbx' },
    );
    const entries = Object.keys(unzipSync(readFileSync(file))).sort();
    assert.equal(entries.length, 5);
    assert.ok(entries.includes('export.json'));

    const dst = openStore(tempDir());
    const result = dst.importFrom(file);
    assert.deepEqual(
      { ...result, file: undefined },
      {
        file: undefined,
        runsAdded: 4,
        runsSkipped: 0,
        deviceRunsAdded: 1,
        artifactsAdded: 4,
        artifactsMissing: 0,
      },
    );
    assert.deepEqual(portable(dst), portable(src));
    for (const run of dst.listRuns().runs)
      for (const a of dst.getRun(run.id).artifacts)
        assert.equal(sha256Hex(readFileSync(a.path)), a.sha256);
  });

  it('merges without duplicates: importing again, or runs already present, adds nothing', () => {
    const src = colleague();
    const dir = path.join(tempDir(), 'bundle');
    src.exportToFile(dir);
    const dst = openStore(tempDir());
    // dst already has one of the runs, with a tag of its own
    const one = src.listRuns({ filter: { tag: 'k1' } }).runs[0]!;
    const partial = path.join(tempDir(), 'one.qbx');
    src.exportToFile(partial, { tag: 'k1' });
    assert.equal(dst.importFrom(partial).runsAdded, 1);
    dst.addTags(dst.resolveRunId(one.uuid), ['mine']);

    const first = dst.importFrom(dir);
    assert.equal(first.runsAdded, 3);
    assert.equal(first.runsSkipped, 1);
    const second = dst.importFrom(dir);
    assert.deepEqual(
      [second.runsAdded, second.runsSkipped, second.deviceRunsAdded, second.artifactsAdded],
      [0, 4, 0, 0],
    );
    assert.equal(dst.listRuns().total, 4);
    assert.equal(dst.db.prepare('SELECT count(*) FROM models').pluck().get(), 1);
    assert.equal(dst.db.prepare('SELECT count(*) FROM boards').pluck().get(), 1);
    assert.equal(dst.db.prepare('SELECT count(*) FROM device_runs').pluck().get(), 1);
    assert.deepEqual(dst.getRun(one.uuid).tags, ['colleague', 'k1', 'mine']);
  });

  it('imports another Quantbench database file, even one at an older schema', () => {
    const src = colleague();
    const dst = openStore(tempDir());
    assert.equal(dst.importFrom(src.dbPath).runsAdded, 4);
    assert.deepEqual(portable(dst), portable(src));

    // A schema-1 database with one run, as an older Quantbench left it.
    const oldDir = tempDir();
    const v1 = openDatabase(path.join(oldDir, 'quantbench.sqlite'), { targetVersion: 1 });
    v1.exec(`INSERT INTO models (id, hash, name, format, created_at) VALUES (1, 'old', 'vww', 'h5', '2025-01-01T00:00:00.000Z');
             INSERT INTO runs (uuid, model_id, recipe, status, started_at, int8_accuracy) VALUES ('99999999-0000-0000-0000-000000000000', 1, '{}', 'succeeded', '2025-01-01T00:00:00.000Z', 0.8);`);
    v1.close();
    assert.equal(dst.importFrom(path.join(oldDir, 'quantbench.sqlite')).runsAdded, 1);
    const v1File = openDatabase(path.join(oldDir, 'quantbench.sqlite'), { readonly: true });
    assert.equal(
      v1File.pragma('user_version', { simple: true }),
      1,
      "the colleague's file is not migrated in place",
    );
    v1File.close();
    assert.equal(dst.getRun('99999999').modelName, 'vww');
  });

  it('writes CSV a spreadsheet reads back, quoting commas, quotes and line breaks', () => {
    const src = colleague();
    const file = path.join(tempDir(), 'runs.csv');
    assert.equal(src.exportToFile(file, { status: 'succeeded' }).runs, 3);
    const text = readFileSync(file, 'utf8');
    const header = text.split('\r\n')[0]!.split(',');
    assert.deepEqual(header.slice(0, 6), ['id', 'uuid', 'model', 'dataset', 'recipe', 'status']);
    assert.ok(text.includes('"first try,\nline two"'));
    assert.equal(text.split('\r\n').filter(Boolean).length, 4);
  });

  it('imports a bare .json export, dropping only the artifact links it has no files for', () => {
    const src = colleague();
    const file = path.join(tempDir(), 'runs.json');
    src.exportToFile(file);
    const dst = openStore(tempDir());
    const result = dst.importFrom(file);
    assert.equal(result.runsAdded, 4);
    assert.equal(result.artifactsMissing, 6);
    for (const run of dst.listRuns().runs) assert.deepEqual(dst.getRun(run.id).artifacts, []);
  });

  it('refuses a damaged bundle and a file that is no export, saying what is wrong', () => {
    const src = colleague();
    const file = path.join(tempDir(), 'runs.qbx');
    src.exportToFile(file);
    const entries = unzipSync(readFileSync(file));
    const sha = Object.keys(entries).find((k) => k.startsWith('artifacts/'))!;
    entries[sha] = Buffer.from('tampered');
    const damaged = path.join(tempDir(), 'damaged.qbx');
    writeFileSync(damaged, zipSync(entries));
    const dst = openStore(tempDir());
    assert.throws(
      () => dst.importFrom(damaged),
      (e: unknown) =>
        e instanceof StoreError && e.code === 'STORE_IMPORT_CORRUPT' && e.message.includes(damaged),
    );
    assert.equal(dst.listRuns().total, 0);

    const notExport = path.join(tempDir(), 'other.json');
    writeFileSync(notExport, JSON.stringify({ format: 'something-else' }));
    assert.throws(
      () => dst.importFrom(notExport),
      (e: unknown) => e instanceof StoreError && e.code === 'STORE_IMPORT_INVALID' && !!e.hint,
    );
    assert.throws(
      () => dst.importFrom(path.join(tempDir(), 'missing.qbx')),
      (e: unknown) => e instanceof StoreError && e.code === 'STORE_IMPORT_NOT_FOUND',
    );
    assert.deepEqual(dst.files.listStored(), [], 'a refused bundle leaves no files behind');
  });
});
