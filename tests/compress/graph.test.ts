import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { CompressError } from '../../core/compress/errors';
import { disposeAll, runGraph } from '../../core/compress/execute';
import { foldBatchNorms, foldInputRescaling, fuseActivations } from '../../core/compress/fold';
import { cloneGraph, macs } from '../../core/compress/graph';
import { lowerKerasModel } from '../../core/compress/lower-keras';
import { resolvePolicies } from '../../core/compress/policy';
import { quantizeStepSchema } from '../../core/compress/recipe';
import { loadModel } from '../../core/model/index';
import { missingSharedModels, sharedModel } from '../helpers/shared-models';
import { denseAutoencoder, randomFeatures, randomImages, smallCnn } from './models';

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(a.sub(b))).dataSync()[0]);
}

const quantize = (o: object = {}) => quantizeStepSchema.parse({ step: 'quantize', ...o });

describe('layer graph', () => {
  it('lowers a Keras model into nodes whose float execution matches tfjs predict', () => {
    const model = smallCnn();
    const graph = lowerKerasModel(model);
    assert.deepEqual(
      graph.nodes.map((n) => `${n.name}:${n.op}`),
      [
        'image:input',
        'rescale:rescaling',
        'conv1:conv2d',
        'bn1:batch_norm',
        'relu1:activation',
        'pool1:max_pool',
        'conv2:conv2d',
        'bn_after_relu:batch_norm',
        'gap:global_avg_pool',
        'classifier:dense',
        'classifier/softmax:activation',
      ],
    );
    // Dropout is gone and the classifier reads the pooling directly.
    assert.deepEqual(graph.nodes.find((n) => n.name === 'classifier')!.inputs, ['gap']);
    assert.deepEqual(graph.outputs, ['classifier/softmax']);
    const conv2 = graph.nodes.find((n) => n.name === 'conv2')!;
    assert.deepEqual(conv2.kernel!.shape, [3, 3, 8, 16]);
    assert.equal(conv2.activation, 'relu');
    assert.equal(macs(conv2), 4 * 4 * 16 * 3 * 3 * 8);
    const x = randomImages(8, 1);
    const values = runGraph(graph, x);
    const expected = model.predict(x) as tf.Tensor;
    assert.ok(maxAbsDiff(values.get('classifier/softmax')!, expected) < 1e-5);
    disposeAll(values);
  });

  it('folds BN into the conv before it, keeps one after an activation, and computes the same function', () => {
    const model = smallCnn(4);
    const graph = lowerKerasModel(model);
    const policies = resolvePolicies(graph, quantize());
    assert.equal(policies.get('bn1')!.policy, 'fold');
    assert.equal(policies.get('bn_after_relu')!.policy, 'int8');
    assert.match(policies.get('bn_after_relu')!.reason, /MUL\+ADD/);
    assert.equal(policies.get('rescale')!.policy, 'fold');
    const folded = cloneGraph(graph);
    assert.deepEqual(foldBatchNorms(folded, policies), ['bn1']);
    assert.equal(foldInputRescaling(folded, policies)?.name, 'rescale');
    assert.deepEqual(fuseActivations(folded, policies), ['relu1']);
    const conv1 = folded.nodes.find((n) => n.name === 'conv1')!;
    assert.deepEqual(conv1.folded, ['rescale', 'bn1', 'relu1']);
    assert.equal(conv1.activation, 'relu');
    assert.deepEqual(conv1.inputs, ['image']);
    const x = randomImages(8, 2);
    const a = runGraph(graph, x);
    const b = runGraph(folded, x);
    assert.ok(maxAbsDiff(a.get('classifier/softmax')!, b.get('classifier/softmax')!) < 1e-5);
    assert.ok(maxAbsDiff(a.get('pool1')!, b.get('pool1')!) < 1e-4);
    disposeAll(a);
    disposeAll(b);
  });

  it('keeps BN unfolded when a rule says float, and refuses fold where it cannot apply', () => {
    const graph = lowerKerasModel(smallCnn());
    const policies = resolvePolicies(
      graph,
      quantize({ policy: [{ layers: [{ type: 'BatchNormalization' }], policy: 'float' }] }),
    );
    assert.equal(policies.get('bn1')!.policy, 'float');
    assert.equal(foldBatchNorms(graph, policies).length, 0);
    assert.throws(
      () =>
        resolvePolicies(
          graph,
          quantize({ policy: [{ layers: ['bn_after_relu'], policy: 'fold' }] }),
        ),
      /bn_after_relu.*does not directly follow/,
    );
    assert.equal(
      resolvePolicies(graph, quantize({ policy: [{ layers: ['rescale'], policy: 'fold' }] })).get(
        'rescale',
      )!.policy,
      'fold',
    );
    assert.throws(
      () => resolvePolicies(graph, quantize({ policy: [{ layers: ['conv1'], policy: 'fold' }] })),
      /only BatchNormalization and Rescaling/,
    );
  });

  it('names the layer it cannot lower', () => {
    const input = tf.input({ shape: [8] });
    const a = tf.layers.dense({ units: 4, name: 'left' }).apply(input) as tf.SymbolicTensor;
    const b = tf.layers.dense({ units: 4, name: 'right' }).apply(input) as tf.SymbolicTensor;
    const joined = tf.layers.concatenate({ name: 'join' }).apply([a, b]) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: joined });
    assert.throws(
      () => lowerKerasModel(model),
      (e: CompressError) =>
        e.code === 'LAYER_UNSUPPORTED' &&
        /layer "join" is a Concatenate/.test(e.message) &&
        /Conv2D/.test(e.hint!),
    );
  });

  it('applies the first matching policy rule', () => {
    const graph = lowerKerasModel(denseAutoencoder());
    const policies = resolvePolicies(
      graph,
      quantize({
        policy: [
          { layers: ['dense_1'], policy: 'float' },
          { layers: [{ glob: 'dense_*' }], policy: 'int8' },
          { layers: [{ regex: '^bn_[01]$' }], policy: 'float' },
        ],
      }),
    );
    assert.equal(policies.get('dense_1')!.policy, 'float');
    assert.equal(policies.get('dense_1')!.reason, 'rule 1');
    assert.equal(policies.get('dense_0')!.policy, 'int8');
    assert.equal(policies.get('bn_0')!.policy, 'float');
    assert.equal(policies.get('bn_2')!.policy, 'fold');
    const x = randomFeatures(4, 1);
    const values = runGraph(graph, x);
    assert.deepEqual(values.get('reconstruction')!.shape, [4, 32]);
    disposeAll(values);
  });

  it(
    "lowers ResNet-8 in the converter's op order with BN foldable everywhere",
    { skip: missingSharedModels('pretrainedResnet.h5') },
    async () => {
      const imported = await loadModel(sharedModel('pretrainedResnet.h5'));
      const graph = lowerKerasModel(imported.model);
      const convs = graph.nodes.filter((n) => n.op === 'conv2d').map((n) => n.name);
      assert.deepEqual(convs, [
        'conv2d',
        'conv2d_1',
        'conv2d_2',
        'conv2d_3',
        'conv2d_4',
        'conv2d_5',
        'conv2d_6',
        'conv2d_7',
        'conv2d_8',
      ]);
      const policies = resolvePolicies(graph, quantize());
      const bns = graph.nodes.filter((n) => n.op === 'batch_norm');
      assert.equal(bns.length, 7);
      for (const bn of bns) assert.equal(policies.get(bn.name)!.policy, 'fold', bn.name);
      const x = randomImages(2, 3, [32, 32, 3]);
      const values = runGraph(graph, x);
      const expected = imported.model.predict(x) as tf.Tensor;
      assert.ok(maxAbsDiff(values.get(graph.outputs[0])!, expected) < 1e-4);
      disposeAll(values);
    },
  );
});
