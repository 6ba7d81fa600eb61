import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { openStore, StoreError, type Store } from '../../core/store/index';
import { tempDir } from '../helpers/tmp';
import { layers, recordFixtureModel } from './helpers/fixtures';

/**
 * Twelve runs over two models: accuracy rises and size falls in steps chosen so the
 * expected orders, pages and Pareto fronts can be written down by hand.
 */
let store: Store;
const ids: number[] = [];

const spec = [
  // model, status, int8 acc, tflite bytes, tags, latency on "m4"
  ['ad01', 'succeeded', 0.8, 1000, ['a'], 500],
  ['ad01', 'succeeded', 0.85, 1200, ['a', 'b'], 400],
  ['ad01', 'succeeded', 0.83, 1500, [], 300],
  ['ad01', 'succeeded', 0.9, 2000, ['b'], 350],
  ['ad01', 'succeeded', 0.88, 2500, [], null],
  ['ad01', 'failed', null, null, ['a'], null],
  ['kws', 'succeeded', 0.7, 800, [], 200],
  ['kws', 'succeeded', 0.95, 3000, ['b'], 900],
  ['kws', 'cancelled', null, null, [], null],
  ['kws', 'succeeded', 0.6, 500, [], null],
  ['kws', 'running', null, null, [], null],
  ['kws', 'succeeded', 0.95, 3000, [], 1000],
] as const;

before(() => {
  store = openStore(tempDir());
  const models = { ad01: recordFixtureModel(store, 'ad01'), kws: recordFixtureModel(store, 'kws') };
  const m4 = store.recordBoard({ name: 'm4', firmwareVersion: '1', port: '/dev/pts/9' });
  spec.forEach(([model, status, acc, bytes, tags, latency], i) => {
    const id = store.beginRun({
      modelId: models[model].id,
      recipe: { prune: { sparsity: i / 20 }, quantize: { bits: 8 }, keep: i % 2 ? ['bn'] : [] },
      recipeName: `r${i % 3}`,
      tags: [...tags],
    });
    ids.push(id);
    const result = {
      metrics: { floatAccuracy: acc === null ? undefined : 0.96, int8Accuracy: acc ?? undefined },
      sizes: { tfliteBytes: bytes ?? undefined },
      layers: layers(4 + (i % 2), i),
    };
    if (status === 'succeeded') store.finishRun(id, result);
    if (status === 'failed') store.failRun(id, new Error('conversion failed'));
    if (status === 'cancelled') store.cancelRun(id);
    if (latency !== null)
      store.recordDeviceRun({
        runId: id,
        boardId: m4.id,
        status: 'succeeded',
        latencyUs: { min: latency - 10, median: latency, p95: latency + 10, max: latency + 20 },
      });
  });
});

const idsOf = (runs: Array<{ id: number }>) => runs.map((r) => ids.indexOf(r.id));

describe('listing runs', () => {
  it('returns the newest first by default with the total count', () => {
    const page = store.listRuns();
    assert.equal(page.total, 12);
    assert.deepEqual(idsOf(page.runs), [11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
  });

  it('filters by model, tag, status, board and metric ranges, combined', () => {
    assert.equal(store.listRuns({ filter: { model: 'kws' } }).total, 6);
    assert.deepEqual(
      idsOf(store.listRuns({ filter: { tag: 'a' }, sort: { by: 'id', direction: 'asc' } }).runs),
      [0, 1, 5],
    );
    assert.deepEqual(idsOf(store.listRuns({ filter: { status: 'failed' } }).runs), [5]);
    assert.equal(store.listRuns({ filter: { board: 'm4' } }).total, 7);
    assert.equal(store.listRuns({ filter: { board: 'nowhere' } }).total, 0);
    assert.deepEqual(
      idsOf(
        store.listRuns({
          filter: { ranges: { int8Accuracy: { min: 0.85 }, tfliteBytes: { max: 2500 } } },
          sort: { by: 'id', direction: 'asc' },
        }).runs,
      ),
      [1, 3, 4],
    );
    assert.deepEqual(
      idsOf(
        store.listRuns({
          filter: { model: 'ad01', tag: 'b', board: 'm4' },
          sort: { by: 'id', direction: 'asc' },
        }).runs,
      ),
      [1, 3],
    );
    assert.equal(store.listRuns({ filter: { recipeName: 'r0' } }).total, 4);
    // a hash prefix names the model too
    assert.equal(
      store.listRuns({ filter: { model: recordFixtureModel(store, 'kws').hash.slice(0, 8) } })
        .total,
      6,
    );
  });

  it('sorts by any promoted column in both directions, unmeasured runs last', () => {
    assert.deepEqual(
      idsOf(
        store.listRuns({
          sort: { by: 'int8Accuracy', direction: 'desc' },
          filter: { model: 'ad01' },
        }).runs,
      ),
      [3, 4, 1, 2, 0, 5],
    );
    assert.deepEqual(
      idsOf(
        store.listRuns({ sort: { by: 'tfliteBytes', direction: 'asc' }, filter: { model: 'ad01' } })
          .runs,
      ),
      [0, 1, 2, 3, 4, 5],
    );
    // equal values fall back to the id in the same direction
    assert.deepEqual(
      idsOf(store.listRuns({ sort: { by: 'int8Accuracy', direction: 'desc' }, limit: 2 }).runs),
      [11, 7],
    );
    const byModel = store
      .listRuns({ sort: { by: 'model', direction: 'asc' }, limit: 100 })
      .runs.map((r) => r.modelName);
    assert.deepEqual(byModel, [...byModel].sort());
  });

  it('pages through a sorted, filtered list without gaps or repeats', () => {
    const seen: number[] = [];
    for (let offset = 0; ; offset += 5) {
      const page = store.listRuns({
        limit: 5,
        offset,
        sort: { by: 'startedAt', direction: 'asc' },
      });
      assert.equal(page.total, 12);
      if (page.runs.length === 0) break;
      seen.push(...idsOf(page.runs));
    }
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('rejects unknown sort keys, filters and page sizes with a hint', () => {
    const bad = (fn: () => unknown) =>
      assert.throws(
        fn,
        (e: unknown) => e instanceof StoreError && e.code === 'STORE_INVALID_INPUT' && !!e.hint,
      );
    bad(() => store.listRuns({ sort: { by: 'uuid; DROP TABLE runs' as never, direction: 'asc' } }));
    bad(() => store.listRuns({ filter: { ranges: { nope: { min: 1 } } as never } }));
    bad(() => store.listRuns({ filter: { status: 'done' as never } }));
    bad(() => store.listRuns({ limit: 0 }));
  });

  it('finds a run by its id or a uuid prefix', () => {
    const run = store.getRun(ids[3]!);
    assert.equal(store.resolveRunId(run.uuid.slice(0, 8)), ids[3]);
    assert.equal(store.getRun(String(ids[3])).uuid, run.uuid);
    assert.throws(
      () => store.getRun('zzzz'),
      (e: unknown) => e instanceof StoreError && e.code === 'STORE_RUN_NOT_FOUND',
    );
  });
});

describe('comparing runs', () => {
  it('shows recipe differences as paths, metric deltas, layers aligned by name and device results', () => {
    const c = store.compareRuns([ids[0]!, ids[1]!, ids[9]!]);
    assert.deepEqual(idsOf(c.runs), [0, 1, 9]);
    assert.deepEqual(c.recipeDifferences, [
      { path: '$.prune.sparsity', values: [0, 0.05, 0.45] },
      { path: '$.keep', values: [[], null, null] },
      { path: '$.keep[0]', values: [null, 'bn', 'bn'] },
    ]);
    const acc = c.metrics.find((m) => m.key === 'int8Accuracy')!;
    assert.deepEqual(acc.values, [0.8, 0.85, 0.6]);
    assert.ok(Math.abs(acc.deltas[1]! - 0.05) < 1e-12 && Math.abs(acc.deltas[2]! + 0.2) < 1e-12);
    assert.deepEqual(
      c.layers.map((l) => l.name),
      ['dense_0', 'dense_1', 'dense_2', 'dense_3', 'dense_4'],
    );
    const dense4 = c.layers.find((l) => l.name === 'dense_4')!;
    assert.equal(dense4.runs[0], null, 'run 0 has four layers only');
    assert.ok(dense4.runs[1] && dense4.runs[2]);
    assert.ok(c.layers[1]!.differing.includes('sparsity'));
    assert.ok(!c.layers[1]!.differing.includes('policy'));
    assert.equal(c.devices.length, 1);
    assert.deepEqual(
      c.devices[0]!.runs.map((d) => d?.latencyUs?.median ?? null),
      [500, 400, null],
    );
  });

  it('takes two to eight runs', () => {
    assert.throws(
      () => store.compareRuns([ids[0]!]),
      (e: unknown) => e instanceof StoreError && e.code === 'STORE_INVALID_INPUT',
    );
    assert.throws(
      () => store.compareRuns(ids.slice(0, 9)),
      (e: unknown) => e instanceof StoreError && e.code === 'STORE_INVALID_INPUT',
    );
    assert.equal(store.compareRuns(ids.slice(0, 8)).runs.length, 8);
  });
});

describe('Pareto front', () => {
  it('of int8 accuracy against .tflite size keeps only runs nothing smaller beats', () => {
    const p = store.paretoFront({ cost: 'tfliteBytes' });
    assert.deepEqual(idsOf(p.front.map((f) => f.run)), [9, 6, 0, 1, 3, 7]);
    assert.deepEqual(
      p.front.map((f) => f.cost),
      [500, 800, 1000, 1200, 2000, 3000],
    );
    assert.equal(p.dominated, 3);
  });

  it('of int8 accuracy against median latency on a board', () => {
    const p = store.paretoFront({ cost: 'latency', board: 'm4', filter: { model: 'ad01' } });
    assert.deepEqual(idsOf(p.front.map((f) => f.run)), [2, 3]);
    assert.deepEqual(
      p.front.map((f) => f.cost),
      [300, 350],
    );
    assert.throws(
      () => store.paretoFront({ cost: 'latency' }),
      (e: unknown) => e instanceof StoreError && e.code === 'STORE_INVALID_INPUT',
    );
  });
});
