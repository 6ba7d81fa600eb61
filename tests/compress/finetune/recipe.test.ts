import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadRecipe } from '../../../core/compress/recipe';
import { fineTuneStepSchema } from '../../../core/compress/recipe';
import { learningRateAt, shouldPrune } from '../../../core/compress/finetune/schedule';
import { tempDir } from '../../helpers/tmp';

describe('fineTune recipe step', () => {
  it('fills defaults and reads a YAML recipe through the compression recipe loader', () => {
    const file = path.join(tempDir(), 'r.yaml');
    writeFileSync(
      file,
      [
        'name: pcqat',
        'steps:',
        '  - {step: prune, sparsity: 0.5}',
        '  - {step: cluster, k: 16}',
        '  - step: quantize',
        '    policy: [{layers: [{type: BatchNormalization}], policy: float}]',
        '  - step: fineTune',
        '    epochs: 2',
        '    optimizer: sgd',
        '    learningRate: 0.001',
        '    schedule: {kind: exponential, decayRate: 0.9, decaySteps: 100}',
        '    data: fashion-mnist:train',
        '',
      ].join('\n'),
    );
    const step = loadRecipe(file).steps.find((s) => s.step === 'fineTune');
    const config = fineTuneStepSchema.parse(step);
    assert.equal(config.epochs, 2);
    assert.equal(config.optimizer, 'sgd');
    assert.deepEqual(config.schedule, {
      kind: 'exponential',
      decayRate: 0.9,
      decaySteps: 100,
      staircase: false,
    });
    assert.equal(config.batchSize, 32);
    assert.equal(config.validationSplit, 0.1);
    assert.equal(config.data, 'fashion-mnist:train');
  });

  it('rejects values that cannot train', () => {
    for (const bad of [
      { epochs: 0 },
      { validationSplit: 1 },
      { optimizer: 'rmsprop' },
      { learningRate: -1 },
      { pruning: { finalSparsity: 0.8, beginStep: 100, endStep: 50 } },
      { schedule: { kind: 'cosine', alpha: 2 } },
      { epocs: 2 },
    ]) {
      assert.equal(
        fineTuneStepSchema.safeParse({ step: 'fineTune', ...bad }).success,
        false,
        JSON.stringify(bad),
      );
    }
  });
});

describe('learning-rate and pruning-frequency schedules', () => {
  it('follows the Keras CosineDecay and ExponentialDecay formulas', () => {
    const cos = { kind: 'cosine' as const, alpha: 0.1 };
    assert.equal(learningRateAt(0.01, cos, 0, 100), 0.01);
    assert.ok(Math.abs(learningRateAt(0.01, cos, 50, 100) - 0.01 * (0.9 * 0.5 + 0.1)) < 1e-15);
    assert.ok(Math.abs(learningRateAt(0.01, cos, 100, 100) - 0.001) < 1e-15);
    const exp = { kind: 'exponential' as const, decayRate: 0.5, decaySteps: 10, staircase: false };
    assert.ok(Math.abs(learningRateAt(1, exp, 15, 100) - 0.5 ** 1.5) < 1e-15);
    assert.equal(learningRateAt(1, { ...exp, staircase: true }, 15, 100), 0.5);
    assert.equal(learningRateAt(0.3, { kind: 'constant' }, 77, 100), 0.3);
  });

  it('prunes every `frequency` steps inside [beginStep, endStep] only', () => {
    const s = {
      initialSparsity: 0,
      finalSparsity: 0.5,
      beginStep: 10,
      endStep: 30,
      frequency: 5,
      power: 3,
    };
    const steps = Array.from({ length: 40 }, (_, i) => i).filter((i) => shouldPrune(s, i));
    assert.deepEqual(steps, [10, 15, 20, 25, 30]);
  });
});
