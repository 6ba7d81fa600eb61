/**
 * Experiment store timings at scale: 10,000 runs with 20 layers each, device runs on two
 * boards. Prints one JSON document with the median of repeated calls per query, its ratio to a
 * bare SQLite page read measured in the same run, and whether the targets are met
 * (a page under 20 ms, a compare of 8 runs under 50 ms).
 *
 *   node --import tsx bench/store.ts [RUNS]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { openStore, type LayerReport } from '../core/store/index';

const RUNS = Number(process.argv[2] ?? 10_000);
const LAYERS = 20;
const REPEATS = 31;

function layerReport(seed: number): LayerReport[] {
  return Array.from({ length: LAYERS }, (_, i) => ({
    name: `block${Math.floor(i / 4)}/${['conv', 'bn', 'relu', 'pool'][i % 4]}`,
    type: ['Conv2D', 'BatchNormalization', 'ReLU', 'MaxPooling2D'][i % 4]!,
    policy: i % 4 === 1 ? 'float' : 'int8',
    sparsity: ((seed + i) % 9) / 10,
    uniqueValues: 8 + ((seed * 13 + i) % 248),
    sqnrDb: 15 + ((seed + i * 7) % 25),
    rmseOverScale: ((seed + i) % 50) / 100,
    cosine: 0.99 + ((seed + i) % 10) / 1000,
    extra: { channels: 16 << (i % 3), mergedCentroids: (seed + i) % 3 },
  }));
}

function time(fn: () => unknown): { medianMs: number; p95Ms: number; minMs: number } {
  for (let i = 0; i < 3; i++) fn();
  const samples: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return {
    medianMs: round(samples[Math.floor(samples.length / 2)]!),
    p95Ms: round(samples[Math.floor(samples.length * 0.95)]!),
    minMs: round(samples[0]!),
  };
}

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'quantbench-bench-store-'));
try {
  const store = openStore(dataDir);
  const models = ['ad01', 'kws', 'resnet8', 'vww'].map((name, i) =>
    store.recordModel({
      hash: String(i).repeat(64),
      name,
      format: 'h5',
      sourcePath: `/models/${name}.h5`,
    }),
  );
  const boards = ['m4', 'host'].map((name) =>
    store.recordBoard({ name, firmwareVersion: '0.1.0', port: `/dev/pts/${name.length}` }),
  );

  // Bulk setup in one outer transaction (each run's own transaction becomes a savepoint),
  // so building 10,000 runs takes seconds instead of 20,000 synced commits.
  const setupStart = performance.now();
  store.db.transaction(() => {
    for (let i = 0; i < RUNS; i++) {
      const id = store.beginRun({
        modelId: models[i % models.length]!.id,
        recipe: {
          prune: { sparsity: (i % 9) / 10, schedule: 'polynomial' },
          cluster: { k: 8 << (i % 4) },
          keepFloat: ['BatchNormalization'],
        },
        recipeName: `sweep-${i % 40}`,
        tags: i % 10 === 0 ? ['baseline', `week${i % 7}`] : [`week${i % 7}`],
      });
      const int8 = 0.6 + ((i * 7919) % 3500) / 10_000;
      store.finishRun(id, {
        metrics: {
          floatAccuracy: 0.96,
          int8Accuracy: int8,
          sparsity: (i % 9) / 10,
          maxDistinctValues: 8 << (i % 4),
        },
        sizes: {
          floatBytes: 1_000_000,
          tfliteBytes: 40_000 + ((i * 104_729) % 260_000),
          gzipBytes: 30_000 + ((i * 7_717) % 200_000),
        },
        layers: layerReport(i),
        artifacts:
          i % 50 === 0
            ? [{ role: 'tflite', kind: 'tflite', bytes: Buffer.from(`model bytes of run ${i}`) }]
            : [],
      });
      if (i % 3 === 0) {
        const median = 2_000 + ((i * 31) % 9_000);
        store.recordDeviceRun({
          runId: id,
          boardId: boards[i % 2]!.id,
          status: 'succeeded',
          latencyUs: { min: median - 50, median, p95: median + 80, max: median + 200 },
          accuracy: int8,
          agreement: 1,
        });
      }
    }
  })();
  const setupSeconds = (performance.now() - setupStart) / 1000;
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  store.db.exec('ANALYZE');

  // What one synced run costs when written the way `compress` writes it (two commits).
  const single = time(() => {
    const id = store.beginRun({ modelId: models[0]!.id, recipe: { single: true } });
    store.finishRun(id, {
      metrics: { int8Accuracy: 0.9 },
      sizes: { tfliteBytes: 50_000 },
      layers: layerReport(id),
    });
  });

  const baseline = time(() =>
    store.db.prepare('SELECT * FROM runs ORDER BY id DESC LIMIT 50').all(),
  );
  const ids = store
    .listRuns({ limit: 8, offset: 1234, sort: { by: 'int8Accuracy', direction: 'desc' } })
    .runs.map((r) => r.id);

  const measured = {
    listFirstPage: { target: 20, ...time(() => store.listRuns({ limit: 50 })) },
    listDeepPageSortedByAccuracy: {
      target: 20,
      ...time(() =>
        store.listRuns({
          limit: 50,
          offset: 5000,
          sort: { by: 'int8Accuracy', direction: 'desc' },
        }),
      ),
    },
    filterModelTagRanges: {
      target: 20,
      ...time(() =>
        store.listRuns({
          limit: 50,
          filter: {
            model: 'kws',
            tag: 'week3',
            ranges: { int8Accuracy: { min: 0.75 }, tfliteBytes: { max: 150_000 } },
          },
          sort: { by: 'tfliteBytes', direction: 'asc' },
        }),
      ),
    },
    filterBoard: {
      target: 20,
      ...time(() =>
        store.listRuns({
          limit: 50,
          filter: { board: 'm4' },
          sort: { by: 'int8Accuracy', direction: 'desc' },
        }),
      ),
    },
    showRun: { target: 20, ...time(() => store.getRun(ids[0]!)) },
    compare8: { target: 50, ...time(() => store.compareRuns(ids)) },
    paretoSize: { target: null, ...time(() => store.paretoFront({ cost: 'tfliteBytes' })) },
    paretoLatency: {
      target: null,
      ...time(() => store.paretoFront({ cost: 'latency', board: 'm4' })),
    },
  };
  const results = Object.fromEntries(
    Object.entries(measured).map(([name, r]) => [
      name,
      {
        ...r,
        ratioToBaseline: Math.round((r.medianMs / baseline.medianMs) * 10) / 10,
        met: r.target === null ? null : r.medianMs < r.target,
      },
    ]),
  );
  const total = store.listRuns({ limit: 1 }).total;
  const dbBytes = statSync(store.dbPath).size;
  store.close();

  process.stdout.write(
    JSON.stringify(
      {
        bench: 'store',
        runs: total,
        layersPerRun: LAYERS,
        repeats: REPEATS,
        node: process.version,
        setupSeconds: Math.round(setupSeconds * 100) / 100,
        dbBytes,
        singleRunWriteMs: single,
        baseline: { query: 'SELECT * FROM runs ORDER BY id DESC LIMIT 50', ...baseline },
        results,
        allTargetsMet: Object.values(results).every((r) => r.met !== false),
      },
      null,
      2,
    ) + '\n',
  );
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
