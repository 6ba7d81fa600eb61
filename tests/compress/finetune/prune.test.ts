import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { initBackend } from '../../../core/train/backend';
import { registerFineTuneKernels } from '../../../core/compress/finetune/kernels';
import { magnitudeMask } from '../../../core/compress/finetune/masks';
import { polynomialSparsity } from '../../../core/compress/finetune/schedule';
import { batchOf, ConstrainedTrainer } from '../../../core/compress/finetune/trainer';
import { kernelValues, quadrantData, smallConvModel } from './small-model';

const LAYERS = ['conv', 'dw', 'pw', 'classes'];

describe('pruning fine-tune', () => {
  before(async () => {
    await initBackend();
    registerFineTuneKernels();
  });

  it('keeps every pruned weight exactly 0 after every optimizer step while the schedule raises sparsity', () => {
    const model = smallConvModel(1);
    const data = quadrantData(256, 7);
    const schedule = {
      initialSparsity: 0.2,
      finalSparsity: 0.7,
      beginStep: 0,
      endStep: 24,
      frequency: 4,
      power: 3,
    };
    const trainer = new ConstrainedTrainer(
      model,
      {},
      {
        optimizer: 'adam',
        learningRate: 0.01,
        schedule: { kind: 'constant' },
        totalSteps: 36,
        pruning: schedule,
      },
    );
    const order = Array.from({ length: data.count }, (_, i) => i);
    let checked = 0;
    for (let step = 0; step < 36; step++) {
      const { xs, labels } = batchOf(data, order, (step * 16) % data.count, 16);
      trainer.trainBatch(xs, labels);
      xs.dispose();
      for (const layer of LAYERS) {
        const mask = trainer.net.maskOf(layer)!;
        const w = kernelValues(model, layer);
        for (let i = 0; i < w.length; i++) {
          if (mask[i] === 0) {
            assert.equal(w[i], 0, `step ${step}: ${layer}[${i}] is pruned but holds ${w[i]}`);
            checked++;
          }
        }
      }
    }
    assert.ok(checked > 1000, `only ${checked} pruned weights were checked`);
    // The schedule ended at 70%: each layer's mask prunes that share (ties may keep a few more).
    for (const layer of LAYERS) {
      const mask = trainer.net.maskOf(layer)!;
      const pruned = mask.filter((m) => m === 0).length / mask.length;
      assert.ok(Math.abs(pruned - 0.7) < 0.05, `${layer}: sparsity ${pruned}`);
    }
    trainer.dispose();
  });

  it('keeps a mask given by the compression step fixed when no schedule is set', () => {
    const model = smallConvModel(2);
    const w0 = kernelValues(model, 'pw');
    const mask = magnitudeMask(w0, 0.5);
    const trainer = new ConstrainedTrainer(
      model,
      { pw: { mask } },
      {
        optimizer: 'sgd',
        learningRate: 0.1,
        schedule: { kind: 'constant' },
        totalSteps: 10,
      },
    );
    const data = quadrantData(64, 3);
    const order = Array.from({ length: 64 }, (_, i) => i);
    for (let step = 0; step < 10; step++) {
      const { xs, labels } = batchOf(data, order, (step * 16) % 64, 16);
      trainer.trainBatch(xs, labels);
      xs.dispose();
      const w = kernelValues(model, 'pw');
      let moved = 0;
      for (let i = 0; i < w.length; i++) {
        if (mask[i] === 0) assert.equal(w[i], 0);
        else if (w[i] !== w0[i]) moved++;
      }
      assert.ok(moved > 0, 'the kept weights train');
    }
    trainer.dispose();
  });
});

describe('polynomial decay schedule', () => {
  it('matches TF MOT PolynomialDecay at sample steps', () => {
    const s = {
      initialSparsity: 0.1,
      finalSparsity: 0.8,
      beginStep: 100,
      endStep: 1100,
      frequency: 50,
      power: 3,
    };
    // (initial - final) * (1 - p)^3 + final with p = (step - begin) / (end - begin), clamped.
    const cases: [number, number][] = [
      [0, 0.1],
      [100, 0.1],
      [350, -0.7 * 0.75 ** 3 + 0.8],
      [600, -0.7 * 0.5 ** 3 + 0.8],
      [1100, 0.8],
      [5000, 0.8],
    ];
    for (const [step, want] of cases)
      assert.ok(Math.abs(polynomialSparsity(s, step) - want) < 1e-12, `step ${step}`);
  });
});
