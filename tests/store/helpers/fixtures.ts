import type { LayerReport, Store } from '../../../core/store/index';

/** Realistic run contents for store tests: a model, a data set and per-layer reports. */

export function recordFixtureModel(store: Store, name = 'ad01') {
  return store.recordModel({
    hash: `${name}-hash`.padEnd(64, '0'),
    name,
    sourcePath: `/models/${name}.h5`,
    format: 'h5',
    layerSummary: { layers: 4 },
  });
}

export function recordFixtureDataset(store: Store) {
  return store.recordDataset({
    spec: 'fashion-mnist:test',
    hash: 'f'.repeat(64),
    sampleCount: 10000,
    preprocessing: { scale: 1 / 255 },
  });
}

export function layers(count: number, seed: number): LayerReport[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `dense_${i}`,
    type: i % 3 === 0 ? 'BatchNormalization' : 'Dense',
    policy: i % 3 === 0 ? 'float' : 'int8',
    sparsity: ((seed + i) % 10) / 10,
    uniqueValues: 16 + ((seed * 7 + i) % 240),
    sqnrDb: 20 + ((seed + i) % 15),
    rmseOverScale: 0.3,
    cosine: 0.999,
    extra: { channels: 8 + i },
  }));
}
