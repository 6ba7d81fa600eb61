import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cluster, seededRandom } from '../../core/compress/cluster';
import type { GraphNode, LayerGraph } from '../../core/compress/graph';
import { prune } from '../../core/compress/prune';
import { quantizeWeights } from '../../core/compress/quantize';
import { clusterStepSchema, pruneStepSchema } from '../../core/compress/recipe';
import { TensorObserver, chooseRange } from '../../core/compress/calibrate';
import { asymmetricParams, dequantizeAffine, quantizeAffine } from '../../core/compress/quant-math';

function convNode(seed: number, scalePerChannel = true): GraphNode {
  const random = seededRandom(seed);
  const cout = 8;
  // Channels of very different magnitude: per-channel scales differ by up to 8x.
  const data = Float32Array.from(
    { length: 3 * 3 * 4 * cout },
    (_, i) => (random() - 0.5) * (scalePerChannel ? 1 + (i % cout) : 1),
  );
  return {
    name: 'conv',
    kerasClass: 'Conv2D',
    op: 'conv2d',
    inputs: ['x'],
    activation: 'linear',
    attrs: {},
    outputShape: [4, 4, cout],
    kernel: { data, shape: [3, 3, 4, cout] },
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

describe('weight quantization', () => {
  it('uses per-channel symmetric scales with 127 at each channel maximum', () => {
    const node = convNode(1);
    const w = quantizeWeights(node, 'per-channel');
    assert.equal(w.scheme, 'per-channel');
    assert.equal(w.scales.length, 8);
    for (let c = 0; c < 8; c++) {
      const idx = [...w.q.keys()].filter((i) => i % 8 === c);
      assert.equal(Math.max(...idx.map((i) => Math.abs(w.q[i]))), 127);
      for (const i of idx)
        assert.ok(Math.abs(w.q[i] * w.scales[c] - node.kernel!.data[i]) <= w.scales[c] / 2 + 1e-7);
    }
  });

  it('keeps every pruned weight exactly 0 and counts weights rounding newly zeroed', () => {
    const node = convNode(2);
    node.kernel!.data[5] = 1e-6; // tiny but not pruned: rounds to zero
    const g = graphOf(node);
    prune(g, pruneStepSchema.parse({ step: 'prune', sparsity: 0.4 }));
    const w = quantizeWeights(node, 'per-channel');
    node.mask!.forEach((m, i) => m === 0 && assert.ok(Object.is(w.q[i], 0)));
    assert.equal(w.guarantees.prunedNonZero, 0);
    let expectedNewlyZero = 0;
    node.kernel!.data.forEach((v, i) => v !== 0 && w.q[i] === 0 && expectedNewlyZero++);
    assert.equal(w.guarantees.newlyZero, expectedNewlyZero);
  });

  it('switches a per-layer clustered layer to one scale so it keeps at most k int8 values', () => {
    const node = convNode(3);
    const g = graphOf(node);
    cluster(g, clusterStepSchema.parse({ step: 'cluster', k: 16 }));
    const perChannel = quantizeWeights(
      { ...node, clusters: { ...node.clusters!, granularity: 'per-channel' } },
      'per-channel',
    );
    // What per-channel scales would have done to a per-layer codebook: far more than 16 values.
    assert.ok(new Set(perChannel.q).size > 16);
    const w = quantizeWeights(node, 'per-channel');
    assert.equal(w.scheme, 'per-tensor');
    assert.match(w.schemeReason!, /at most k/);
    assert.ok(new Set(w.q).size <= 16);
    assert.equal(w.guarantees.maxDistinctPerGroup, new Set(w.q).size);
  });

  it('keeps per-channel scales for per-channel clusters: at most k values per channel', () => {
    const node = convNode(4);
    cluster(
      graphOf(node),
      clusterStepSchema.parse({ step: 'cluster', k: 4, granularity: 'per-channel' }),
    );
    const w = quantizeWeights(node, 'per-channel');
    assert.equal(w.scheme, 'per-channel');
    for (let c = 0; c < 8; c++)
      assert.ok(new Set([...w.q].filter((_, i) => i % 8 === c)).size <= 4);
    assert.ok(w.guarantees.maxDistinctPerGroup <= 4);
  });

  it('reports centroids that rounding merged into one int8 value', () => {
    const node = convNode(5, false);
    const g = graphOf(node);
    cluster(g, clusterStepSchema.parse({ step: 'cluster', k: 4 }));
    // Two centroids one hundredth of a step apart cannot both survive int8.
    const cs = node.clusters!.centroids[0];
    const max = Math.max(...cs.map(Math.abs));
    const step = max / 127;
    const target = cs[1];
    const moved = cs[2];
    node.kernel!.data.forEach((v, i, d) => v === moved && (d[i] = target + step * 0.01));
    cs[2] = target + step * 0.01;
    const w = quantizeWeights(node, 'per-tensor');
    assert.equal(w.guarantees.merges.length, 1);
    assert.deepEqual(w.guarantees.merges[0].centroids.length, 2);
    assert.equal(w.guarantees.maxDistinctPerGroup, 3);
  });
});

describe('calibration ranges', () => {
  const obs = new TensorObserver();
  const random = seededRandom(9);
  const values = Float32Array.from({ length: 100000 }, () => random() * 2 - 1);
  values[0] = 40; // one outlier
  obs.observe(values);

  it('minmax keeps the outlier', () => {
    assert.deepEqual(chooseRange(obs, 'minmax'), { min: obs.min, max: 40 });
  });

  it('percentile clips the outlier', () => {
    const r = chooseRange(obs, 'percentile', 99.9);
    assert.ok(r.max < 1.01 && r.max > 0.95, String(r.max));
    assert.ok(r.min > -1.01 && r.min < -0.95, String(r.min));
  });

  it('mse picks a range that loses less to rounding than minmax', () => {
    const r = chooseRange(obs, 'mse');
    assert.ok(r.max < 40);
  });

  it('mse weighs each channel by how much a BatchNormalization after it amplifies it', () => {
    // Channel 0 is wide and the BN shrinks it; channel 1 is narrow and the BN amplifies it
    // 50-fold: weighted, the range gives up the wide channel's tail to resolve the narrow one.
    const wide = (i: number) => (i % 2 === 0 ? 8 * (random() * 2 - 1) : 0.05 * (random() * 2 - 1));
    const x = Float32Array.from({ length: 20000 }, (_, i) => wide(i));
    const plain = new TensorObserver();
    const weighted = new TensorObserver(undefined, Float64Array.from([0.02 ** 2, 50 ** 2]));
    plain.observe(x);
    weighted.observe(x);
    const rPlain = chooseRange(plain, 'mse');
    const rWeighted = chooseRange(weighted, 'mse');
    assert.ok(rWeighted.max < 0.5 * rPlain.max, `${rWeighted.max} vs ${rPlain.max}`);
    // And it is the better range for what the BN passes on.
    const passedOn = (r: { min: number; max: number }) => {
      const p = asymmetricParams(r.min, r.max);
      let err = 0;
      x.forEach((v, i) => {
        const m = i % 2 === 0 ? 0.02 : 50;
        err += (m * (v - dequantizeAffine(quantizeAffine(v, p), p))) ** 2;
      });
      return err;
    };
    assert.ok(passedOn(rWeighted) < passedOn(rPlain));
  });
});
