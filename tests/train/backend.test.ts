import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { BackendError, initBackend, useBackend } from '../../core/train/backend';

const require = createRequire(import.meta.url);
const hasTfjsNode = (() => {
  try {
    require.resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
})();

describe('tfjs backend selection', () => {
  it('picks tfjs-node when installed, else wasm, and says which', async () => {
    const name = await initBackend();
    assert.equal(name, hasTfjsNode ? 'tensorflow' : 'wasm');
    assert.equal(tf.getBackend(), name);
    assert.equal(await initBackend(), name, 'a second call keeps the first decision');
  });

  it('runs the wasm binary from the package folder, with the training kernels registered', async () => {
    await useBackend('wasm');
    const y = tf.tidy(() =>
      tf.conv2d(
        tf.ones([1, 4, 4, 1]) as tf.Tensor4D,
        tf.ones([3, 3, 1, 1]) as tf.Tensor4D,
        1,
        'valid',
      ),
    );
    assert.deepEqual(Array.from(await y.data()), [9, 9, 9, 9]);
    assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm'));
  });

  it('switches to cpu on request', async () => {
    assert.equal(await useBackend('cpu'), 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
  });

  it(
    'refuses a backend that cannot start instead of silently using another',
    { skip: hasTfjsNode ? 'tfjs-node is installed here' : false },
    async () => {
      await assert.rejects(
        useBackend('tensorflow'),
        (e: unknown) =>
          e instanceof BackendError &&
          e.code === 'BACKEND_UNAVAILABLE' &&
          /tfjs-node/.test(e.hint ?? ''),
      );
    },
  );
});
