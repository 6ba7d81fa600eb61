import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../../core/compress/cluster';
import type { GraphNode, LayerGraph } from '../../core/compress/graph';
import { applyMasks, prune, sparsityOf } from '../../core/compress/prune';
import { pruneStepSchema } from '../../core/compress/recipe';

function denseNode(name: string, inCh: number, outCh: number, seed: number): GraphNode {
  const random = seededRandom(seed);
  const data = Float32Array.from({ length: inCh * outCh }, () => random() - 0.5);
  return {
    name,
    kerasClass: 'Dense',
    op: 'dense',
    inputs: ['x'],
    activation: 'linear',
    attrs: {},
    outputShape: [outCh],
    kernel: { data, shape: [inCh, outCh] },
  };
}

function convNode(name: string, inCh: number, outCh: number, seed: number): GraphNode {
  const random = seededRandom(seed);
  const data = Float32Array.from({ length: 3 * 3 * inCh * outCh }, () => random() - 0.5);
  return {
    name,
    kerasClass: 'Conv2D',
    op: 'conv2d',
    inputs: ['x'],
    activation: 'linear',
    attrs: {},
    outputShape: [4, 4, outCh],
    kernel: { data, shape: [3, 3, inCh, outCh] },
  };
}

function graphOf(...nodes: GraphNode[]): LayerGraph {
  const input: GraphNode = {
    name: 'x',
    kerasClass: 'InputLayer',
    op: 'input',
    inputs: [],
    activation: 'linear',
    attrs: {},
    outputShape: [8],
  };
  return { nodes: [input, ...nodes], inputs: ['x'], outputs: [nodes[nodes.length - 1].name] };
}

const step = (o: object) => pruneStepSchema.parse({ step: 'prune', ...o });

describe('prune', () => {
  it('reaches the exact sparsity per layer by removing the smallest magnitudes', () => {
    const a = denseNode('a', 30, 7, 1);
    const before = a.kernel!.data.slice();
    const [record] = prune(graphOf(a), step({ sparsity: 0.6 }));
    const zeros = a.kernel!.data.filter((v) => v === 0).length;
    assert.equal(zeros, Math.round(0.6 * 210));
    assert.equal(record.sparsity, zeros / 210);
    let maxPruned = 0;
    let minKept = Infinity;
    before.forEach((v, i) =>
      a.mask![i]
        ? (minKept = Math.min(minKept, Math.abs(v)))
        : (maxPruned = Math.max(maxPruned, Math.abs(v))),
    );
    assert.ok(maxPruned <= minKept);
    assert.equal(record.threshold, maxPruned);
    // Survivors keep their value exactly.
    before.forEach((v, i) => a.mask![i] && assert.equal(a.kernel!.data[i], v));
  });

  it('uses one magnitude threshold across layers in global scope', () => {
    const a = denseNode('a', 16, 8, 2);
    const b = denseNode('b', 8, 4, 3);
    b.kernel!.data.forEach((_, i, d) => (d[i] *= 0.1)); // b's weights are small: it loses more
    const beforeA = a.kernel!.data.slice();
    const beforeB = b.kernel!.data.slice();
    const records = prune(graphOf(a, b), step({ sparsity: 0.5, scope: 'global' }));
    const total = a.kernel!.data.length + b.kernel!.data.length;
    const zeros = [...a.kernel!.data, ...b.kernel!.data].filter((v) => v === 0).length;
    assert.equal(zeros, Math.round(0.5 * total));
    const pruned = [
      ...beforeA.filter((_, i) => !a.mask![i]),
      ...beforeB.filter((_, i) => !b.mask![i]),
    ].map(Math.abs);
    const kept = [
      ...beforeA.filter((_, i) => a.mask![i]),
      ...beforeB.filter((_, i) => b.mask![i]),
    ].map(Math.abs);
    assert.ok(Math.max(...pruned) <= Math.min(...kept));
    assert.ok(
      records.find((r) => r.layer === 'b')!.sparsity >
        records.find((r) => r.layer === 'a')!.sparsity,
    );
  });

  it('keeps at most 2 of every 4 input channels with pattern 2:4, also above 50%', () => {
    for (const sparsity of [0.5, 0.75]) {
      const c = convNode('c', 10, 6, 4); // 10 input channels: groups of 4, 4 and a trailing 2
      prune(graphOf(c), step({ sparsity, pattern: '2:4' }));
      const w = c.kernel!.data;
      for (let pos = 0; pos < 9; pos++)
        for (let o = 0; o < 6; o++)
          for (let c0 = 0; c0 < 10; c0 += 4) {
            let nonzero = 0;
            for (let ci = c0; ci < Math.min(c0 + 4, 10); ci++)
              if (w[(pos * 10 + ci) * 6 + o] !== 0) nonzero++;
            assert.ok(
              nonzero <= 2,
              `position ${pos}, output ${o}, group ${c0}: ${nonzero} nonzero`,
            );
          }
      if (sparsity === 0.75) assert.equal(sparsityOf(w), Math.round(0.75 * w.length) / w.length);
      else assert.ok(sparsityOf(w) >= 0.5);
    }
  });

  it('groups dense weights along input channels (the kernel rows)', () => {
    const d = denseNode('d', 8, 3, 5);
    prune(graphOf(d), step({ sparsity: 0.5, pattern: '2:4' }));
    const w = d.kernel!.data;
    for (let o = 0; o < 3; o++)
      for (let i0 = 0; i0 < 8; i0 += 4) {
        const group = [0, 1, 2, 3].map((k) => w[(i0 + k) * 3 + o]);
        assert.equal(group.filter((v) => v !== 0).length, 2);
      }
  });

  it('honours include and exclude and keeps masks that later steps re-apply', () => {
    const a = denseNode('enc_1', 8, 8, 6);
    const b = denseNode('enc_2', 8, 8, 7);
    const c = denseNode('head', 8, 2, 8);
    const g = graphOf(a, b, c);
    const records = prune(
      g,
      step({ sparsity: 0.5, include: ['enc_*'], exclude: [{ regex: '_2$' }] }),
    );
    assert.deepEqual(
      records.map((r) => r.layer),
      ['enc_1'],
    );
    assert.equal(b.mask, undefined);
    assert.equal(sparsityOf(b.kernel!.data), 0);
    a.kernel!.data.fill(0.5); // a later step that moves weights...
    applyMasks(g);
    assert.equal(sparsityOf(a.kernel!.data), 0.5); // ...cannot revive pruned ones
  });

  it('counts weights that were already zero towards the target', () => {
    const a = denseNode('a', 10, 10, 9);
    for (let i = 0; i < 30; i++) a.kernel!.data[i * 3] = 0;
    prune(graphOf(a), step({ sparsity: 0.5 }));
    assert.equal(sparsityOf(a.kernel!.data), 0.5);
  });
});
