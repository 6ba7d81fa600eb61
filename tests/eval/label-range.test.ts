import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QuantbenchError } from '../../core/errors';
import { ClassificationTally } from '../../core/eval/metrics';

describe('classification tally', () => {
  it('reports a label outside the model classes as EVAL_MISMATCH, naming the sample', () => {
    const tally = new ClassificationTally(10);
    tally.add(3, 3);
    assert.throws(
      () => tally.add(999, 1),
      (e: unknown) => e instanceof QuantbenchError && e.code === 'EVAL_MISMATCH' && /sample 1 has label 999 but the model has 10 classes/.test(e.message),
    );
    assert.throws(() => tally.add(-1, 1), /label -1/);
    assert.equal(tally.samples, 1);
  });
});
