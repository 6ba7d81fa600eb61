import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe, it } from 'node:test';
import { openDataset } from '../../core/data/index';
import { evaluateFloat, type FloatEvalResult } from '../../core/eval/index';
import type { FloatHalfParams } from '../../core/compress/evaluate-int8';
import { startJobThread } from '../../core/jobs/thread';
import { loadModel } from '../../core/model/index';
import { serializeError } from '../../core/errors';
import { initBackend } from '../../core/train/backend';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const sample = path.join(root, 'resources', 'samples', 'fashion-mnist-cnn.keras');
const params: FloatHalfParams = {
  model: sample,
  data: 'fashion-mnist:test',
  inputShape: [28, 28, 1],
  limit: 600,
};

describe('float evaluation on a thread of its own (compress starts it with the compression)', () => {
  before(async () => {
    await initBackend();
  });

  it('gives the figures the same evaluation gives on this thread, with progress to the end', async () => {
    const fractions: number[] = [];
    const thread = startJobThread<FloatEvalResult>('floatEval', params, (f) =>
      fractions.push(f ?? -1),
    );
    const model = (await loadModel(sample)).model;
    const here = await evaluateFloat(
      model,
      await openDataset(params.data, { inputShape: params.inputShape, limit: params.limit }),
    );
    const there = await thread.done;
    assert.ok('accuracy' in there && 'accuracy' in here);
    assert.equal(there.samples, 600);
    assert.equal(there.accuracy, here.accuracy);
    assert.deepEqual(there.confusion, here.confusion);
    assert.equal(fractions.at(-1), 1);
    assert.ok(
      fractions.every((f, i) => f > 0 && (i === 0 || f >= fractions[i - 1]!)),
      `${fractions}`,
    );
  });

  it('stops when told, and says so to whoever waits for it', async () => {
    const thread = startJobThread('floatEval', { ...params, limit: undefined });
    await new Promise((r) => setTimeout(r, 200));
    await thread.stop();
    await assert.rejects(thread.done, (e: unknown) => serializeError(e).code === 'JOB_CANCELLED');
  });

  it("passes the thread's error through with the code and hint it had there", async () => {
    const missing = path.join(root, 'no-such-model.keras');
    const expected = await loadModel(missing).then(
      () => assert.fail('loading a missing file succeeded'),
      (e: unknown) => serializeError(e),
    );
    const thread = startJobThread('floatEval', { ...params, model: missing });
    await assert.rejects(thread.done, (e: unknown) => {
      const got = serializeError(e);
      assert.equal(got.code, expected.code);
      assert.equal(got.message, expected.message);
      assert.equal(got.hint, expected.hint);
      return true;
    });
  });
});
