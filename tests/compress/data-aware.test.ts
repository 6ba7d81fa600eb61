import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { distinctCount } from '../../core/compress/cluster';
import { equalizeFloatBatchNorms } from '../../core/compress/equalize';
import { disposeAll, runGraph } from '../../core/compress/execute';
import { bnAffine } from '../../core/compress/fold';
import { cloneGraph, type LayerGraph } from '../../core/compress/graph';
import { lowerKerasModel } from '../../core/compress/lower-keras';
import { compress } from '../../core/compress/pipeline';
import { resolvePolicies } from '../../core/compress/policy';
import { parseRecipe, preset, type QuantizeStep } from '../../core/compress/recipe';
import { openDataset } from '../../core/data/dataset';
import { loadModel } from '../../core/model/index';
import { initBackend } from '../../core/train/backend';

const sample = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../resources/samples/fashion-mnist-cnn.keras',
);
const missing = existsSync(sample) ? false : `${sample} is missing`;
const keepFloat = [
  { layers: [{ type: 'Rescaling' }, { type: 'BatchNormalization' }], policy: 'float' },
];

describe('data-aware prune and cluster, float BatchNormalization', { skip: missing }, () => {
  let graph: LayerGraph;
  let samples: tf.Tensor;
  let test: { x: tf.Tensor; y: Int32Array };

  const read = async (spec: string, n: number) => {
    const ds = await openDataset(spec, { inputShape: [28, 28, 1], limit: n });
    const b = (await ds.batches(n).next()).value!;
    return { x: tf.tensor(b.x, [b.size, 28, 28, 1]), y: b.y as Int32Array };
  };
  const accuracy = (g: LayerGraph) => {
    const values = runGraph(g, test.x);
    const predicted = values.get(g.outputs[0]!)!.argMax(-1).dataSync();
    disposeAll(values);
    return predicted.filter((p, i) => p === test.y[i]).length / predicted.length;
  };

  before(async () => {
    await initBackend();
    graph = lowerKerasModel((await loadModel(sample)).model);
    samples = (await read('fashion-mnist:train', 256)).x;
    test = await read('fashion-mnist:test', 500);
  });
  after(() => tf.dispose([samples, test?.x]));

  it("re-solving the surviving weights lowers every layer's output error and keeps pruned weights exactly 0", () => {
    const recipe = parseRecipe({
      steps: [
        { step: 'prune', sparsity: 0.5, criterion: 'activation', reconstruct: true, samples: 256 },
        { step: 'quantize', policy: keepFloat },
      ],
    });
    const r = compress(graph, { recipe, calibration: samples });
    for (const p of r.pruned) {
      const e = p.outputError!;
      assert.ok(e.reconstructed! < e.masked, `${p.layer}: ${JSON.stringify(e)}`);
      const node = r.graph.nodes.find((n) => n.name === p.layer)!;
      node.mask!.forEach((m, i) => m === 0 && assert.equal(node.kernel!.data[i], 0));
      assert.ok(Math.abs(p.sparsity - 0.5) < 0.01, `${p.layer} sparsity ${p.sparsity}`);
    }
    const magnitude = compress(graph, {
      recipe: parseRecipe({
        steps: [
          { step: 'prune', sparsity: 0.5 },
          { step: 'quantize', policy: keepFloat },
        ],
      }),
      calibration: samples,
    });
    const ours = accuracy(r.graph);
    const theirs = accuracy(magnitude.graph);
    assert.ok(ours > theirs + 0.05, `reconstructed ${ours} vs magnitude ${theirs}`);
  });

  it('sensitivity scope reaches the overall sparsity and spends it where it costs least', () => {
    const r = compress(graph, {
      recipe: parseRecipe({
        steps: [
          { step: 'prune', sparsity: 0.5, scope: 'sensitivity', reconstruct: true, samples: 256 },
          { step: 'quantize', policy: keepFloat },
        ],
      }),
      calibration: samples,
    });
    let zeros = 0;
    let total = 0;
    for (const p of r.pruned) {
      const n = r.graph.nodes.find((x) => x.name === p.layer)!.kernel!.data.length;
      zeros += p.sparsity * n;
      total += n;
    }
    assert.ok(zeros / total >= 0.5 - 1e-3, `overall ${zeros / total}`);
    // The share-out minimises the summed layer output errors, so it must beat the same
    // sparsity in every layer on that very sum.
    const uniform = compress(graph, {
      recipe: parseRecipe({
        steps: [
          { step: 'prune', sparsity: 0.5, reconstruct: true, samples: 256 },
          { step: 'quantize', policy: keepFloat },
        ],
      }),
      calibration: samples,
    });
    const summed = (records: typeof r.pruned) =>
      records.reduce((sum, p) => sum + p.outputError!.reconstructed!, 0);
    assert.ok(
      summed(r.pruned) < 0.5 * summed(uniform.pruned),
      `sensitivity ${summed(r.pruned)} vs uniform ${summed(uniform.pruned)}`,
    );
  });

  it('refined centroids keep at most k values per layer, zeros fixed, and lower the output error', () => {
    const r = compress(graph, {
      recipe: parseRecipe({
        steps: [
          { step: 'prune', sparsity: 0.5, reconstruct: true, samples: 256 },
          { step: 'cluster', k: 16, refine: true, samples: 256 },
          { step: 'quantize', policy: keepFloat },
        ],
      }),
      calibration: samples,
    });
    for (const c of r.clustered) {
      const node = r.graph.nodes.find((n) => n.name === c.layer)!;
      assert.ok(distinctCount(node.kernel!.data) <= 16, c.layer);
      node.mask!.forEach((m, i) => m === 0 && assert.equal(node.kernel!.data[i], 0));
      // Strictly lower: k-means centroids are a feasible point of the re-solve.
      assert.ok(c.outputError!.refined < c.outputError!.kmeans, c.layer);
      const stored = new Set(node.clusters!.centroids[0]);
      for (const v of node.kernel!.data)
        assert.ok(stored.has(v), `${c.layer}: ${v} not a centroid`);
    }
  });

  it('equalizing a float BatchNormalization computes the same function and evens its multipliers', () => {
    const q = parseRecipe({ steps: [{ step: 'quantize', policy: keepFloat }] })
      .steps[0] as QuantizeStep;
    const g = cloneGraph(graph);
    const policies = resolvePolicies(g, q);
    const names = equalizeFloatBatchNorms(g, policies);
    assert.ok(names.length >= 4, names.join(', '));
    for (const name of names) {
      const mul = [...bnAffine(g.nodes.find((n) => n.name === name)!).mul].map(Math.abs);
      const spread = Math.max(...mul) / Math.min(...mul);
      assert.ok(spread < 1.01, `${name}: multipliers spread ${spread}`);
    }
    const x = samples.slice(0, 32);
    const before = runGraph(graph, x);
    const afterEq = runGraph(g, x);
    const a = before.get(graph.outputs[0]!)!.dataSync();
    const b = afterEq.get(g.outputs[0]!)!.dataSync();
    let worst = 0;
    a.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - b[i]!))));
    disposeAll(before);
    disposeAll(afterEq);
    x.dispose();
    assert.ok(worst < 1e-4, `softmax outputs differ by ${worst}`);
  });

  it('a ReLU after a float BatchNormalization runs fused into it, in float', () => {
    const r = compress(graph, {
      recipe: preset('int8-keep-rescaling-float'),
      calibration: samples,
    });
    const relus = graph.nodes
      .filter((n) => n.op === 'activation' && n.activation === 'relu')
      .map((n) => n.name);
    assert.ok(relus.length > 0);
    for (const name of relus) {
      assert.equal(r.policies.get(name)?.policy, 'float', name);
      assert.ok(r.fused.includes(name), `${name} not fused`);
    }
    for (const bn of r.graph.nodes.filter((n) => n.op === 'batch_norm'))
      assert.equal(bn.activation, 'relu', bn.name);
  });
});
