import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cluster,
  distinctCount,
  initCentroids,
  kmeans1d,
  seededRandom,
} from '../../core/compress/cluster';
import type { GraphNode, LayerGraph } from '../../core/compress/graph';
import { prune } from '../../core/compress/prune';
import { clusterStepSchema, pruneStepSchema } from '../../core/compress/recipe';

/** Three well-separated blobs around -1, 0.2 and 1.5. */
function blobs(count: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  const centres = [-1, 0.2, 1.5];
  return Float32Array.from({ length: count }, (_, i) => centres[i % 3] + (random() - 0.5) * 0.1);
}

function convNode(inCh: number, outCh: number, seed: number): GraphNode {
  const random = seededRandom(seed);
  const data = Float32Array.from({ length: 3 * 3 * inCh * outCh }, () => (random() - 0.5) * 2);
  return {
    name: 'conv',
    kerasClass: 'Conv2D',
    op: 'conv2d',
    inputs: ['x'],
    activation: 'linear',
    attrs: {},
    outputShape: [4, 4, outCh],
    kernel: { data, shape: [3, 3, inCh, outCh] },
  };
}

function graphOf(node: GraphNode): LayerGraph {
  const input: GraphNode = {
    name: 'x',
    kerasClass: 'InputLayer',
    op: 'input',
    inputs: [],
    activation: 'linear',
    attrs: {},
    outputShape: [6, 6, 4],
  };
  return { nodes: [input, node], inputs: ['x'], outputs: [node.name] };
}

const step = (o: object) => clusterStepSchema.parse({ step: 'cluster', ...o });

describe('cluster', () => {
  it('spaces linear initial centroids evenly from min to max', () => {
    const c = initCentroids(Float32Array.of(-2, 0, 1, 4), 4, 'linear', seededRandom(0));
    assert.deepEqual([...c], [-2, 0, 2, 4]);
  });

  it('places density initial centroids on equal steps of the weight CDF', () => {
    const values = Float32Array.from({ length: 100 }, (_, i) => (i < 75 ? i / 1000 : 10 + i));
    const c = initCentroids(values, 4, 'density', seededRandom(0));
    assert.ok(c.filter((v) => v < 0.1).length === 3, `centroids ${[...c]}`); // 75% of the mass gets 3 of 4
  });

  for (const init of ['kmeans++', 'linear', 'density', 'random'] as const) {
    it(`converges to the blob centres from ${init} initialisation`, () => {
      const r = kmeans1d(blobs(300, 1), 3, init, seededRandom(5), 100);
      const sorted = [...r.centroids];
      [-1, 0.2, 1.5].forEach((c, i) =>
        assert.ok(Math.abs(sorted[i] - c) < 0.02, `${init}: ${sorted}`),
      );
      assert.ok(r.iterations < 100);
    });
  }

  it('never increases inertia over the initial assignment', () => {
    const values = Float32Array.from({ length: 500 }, (_, i) => Math.sin(i * 12.9898) * 3);
    const one = kmeans1d(values, 8, 'linear', seededRandom(2), 1);
    const many = kmeans1d(values, 8, 'linear', seededRandom(2), 100);
    assert.ok(many.inertia <= one.inertia);
  });

  it('is repeatable for a seed', () => {
    const values = blobs(200, 3);
    const a = kmeans1d(values, 5, 'kmeans++', seededRandom(42), 50).centroids;
    const b = kmeans1d(values, 5, 'kmeans++', seededRandom(42), 50).centroids;
    assert.deepEqual([...a], [...b]);
  });

  it('leaves at most k distinct values per layer', () => {
    const node = convNode(4, 6, 7);
    const [r] = cluster(graphOf(node), step({ k: 16 }));
    assert.ok(distinctCount(node.kernel!.data) <= 16);
    assert.equal(r.maxDistinct, distinctCount(node.kernel!.data));
    assert.equal(node.clusters!.centroids.length, 1);
  });

  it('leaves at most k distinct values per output channel when clustering per channel', () => {
    const node = convNode(4, 6, 8);
    cluster(graphOf(node), step({ k: 4, granularity: 'per-channel' }));
    for (let c = 0; c < 6; c++) {
      const idx = [...node.kernel!.data.keys()].filter((i) => i % 6 === c);
      assert.ok(distinctCount(node.kernel!.data, idx) <= 4);
    }
    assert.ok(distinctCount(node.kernel!.data) > 4);
  });

  it('keeps zero as a fixed cluster: pruned weights stay zero and count among the k', () => {
    const node = convNode(4, 6, 9);
    const g = graphOf(node);
    prune(g, pruneStepSchema.parse({ step: 'prune', sparsity: 0.5 }));
    const zerosBefore = [...node.kernel!.data.keys()].filter((i) => node.kernel!.data[i] === 0);
    cluster(g, step({ k: 8, preserveSparsity: true }));
    const zerosAfter = [...node.kernel!.data.keys()].filter((i) => node.kernel!.data[i] === 0);
    assert.deepEqual(zerosAfter, zerosBefore);
    assert.equal(distinctCount(node.kernel!.data), 8);
    assert.ok(node.clusters!.centroids[0].includes(0));
  });

  it('keeps pruned weights zero even when preserveSparsity is off, through the masks', () => {
    const node = convNode(4, 6, 10);
    const g = graphOf(node);
    prune(g, pruneStepSchema.parse({ step: 'prune', sparsity: 0.5 }));
    cluster(g, step({ k: 8, preserveSparsity: false }));
    node.kernel!.data.forEach((v, i) => node.mask![i] === 0 && assert.equal(v, 0));
    assert.ok(distinctCount(node.kernel!.data) <= 8);
  });

  it('clusters zeros like any value on an unpruned layer without preserveSparsity', () => {
    const node = convNode(4, 6, 11);
    node.kernel!.data[0] = 0;
    cluster(graphOf(node), step({ k: 4, preserveSparsity: false }));
    assert.notEqual(node.kernel!.data[0], 0);
  });
});
