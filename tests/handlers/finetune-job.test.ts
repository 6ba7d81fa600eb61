import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EventHub } from '../../core/app/events';
import {
  fineTuneJobModule,
  type FineTuneJobParams,
  type FineTuneJobResult,
} from '../../core/handlers/finetune-job';
import { magnitudeMask } from '../../core/compress/finetune/masks';
import { JobCancelledError, JobManager } from '../../core/jobs/manager';
import { saveKeras } from '../../core/model/keras-writer';
import { initBackend } from '../../core/train/backend';
import { tempDir } from '../helpers/tmp';
import { fashionModel } from '../compress/finetune/compact';

describe('fine-tune job', () => {
  const dir = tempDir('quantbench-finetune-');
  const modelFile = path.join(dir, 'model.keras');
  let mask: Uint8Array;
  const events = new EventHub();
  const jobs = new JobManager({ events });

  before(async () => {
    await initBackend();
    const model = fashionModel();
    mask = magnitudeMask(model.getLayer('conv').getWeights()[0]!.dataSync() as Float32Array, 0.5);
    await saveKeras(model, modelFile);
  });
  after(() => jobs.shutdown());

  it('reports progress, keeps the pruned weights at 0 and writes the best checkpoint', async () => {
    const seen: string[] = [];
    const off = events.on('onJobProgress', (e) => seen.push(`${e.step} ${e.message ?? ''}`));
    const params: FineTuneJobParams = {
      model: modelFile,
      data: 'fashion-mnist:train[0:1200]',
      fineTune: {
        step: 'fineTune',
        epochs: 2,
        batchSize: 50,
        learningRate: 0.01,
        validationSplit: 0.25,
      },
      state: { conv: { mask }, bn: { policy: 'float' }, rescale: { policy: 'float' } },
      quantize: true,
      out: dir,
    };
    const job = jobs.start<FineTuneJobResult>('fineTune', fineTuneJobModule, params);
    const result = await job.done;
    off();
    assert.equal(result.epochs.length, 2);
    assert.ok(result.best.epoch >= 0 && result.best.valAccuracy !== null);
    assert.equal(result.best.valAccuracy, Math.max(...result.epochs.map((e) => e.valAccuracy!)));
    assert.ok(
      seen.some((s) => /^fine-tune epoch 2\/2 step \d+\/18 loss [\d.]+ acc [\d.]+%/.test(s)),
      seen.slice(-3).join(' | '),
    );
    assert.ok(existsSync(result.checkpoint!));
    const { loadModel } = await import('../../core/model');
    const saved = (await loadModel(result.checkpoint!)).model;
    const w = saved.getLayer('conv').getWeights()[0]!.dataSync();
    let moved = 0;
    for (let i = 0; i < w.length; i++) {
      if (mask[i] === 0) assert.equal(w[i], 0);
      else moved++;
    }
    assert.ok(moved > 0);
  });

  it('stops within a second of cancel', async () => {
    const params: FineTuneJobParams = {
      model: modelFile,
      data: 'fashion-mnist:train[0:6000]',
      fineTune: { step: 'fineTune', epochs: 50, batchSize: 32 },
      quantize: true,
    };
    // A long grace period: the job must stop by itself, not by its thread being terminated.
    const patient = new JobManager({ events, cancelGraceMs: 10_000 });
    const job = patient.start('fineTune', fineTuneJobModule, params);
    // Wait until training steps are running, then cancel.
    await new Promise<void>((resolve) => {
      const off = events.on('onJobProgress', (e) => {
        if (e.jobId === job.jobId && e.step === 'fine-tune') {
          off();
          resolve();
        }
      });
    });
    const t0 = performance.now();
    patient.cancel(job.jobId);
    await assert.rejects(job.done, JobCancelledError);
    const ms = performance.now() - t0;
    assert.ok(ms < 1000, `stopped after ${ms.toFixed(0)} ms`);
    await patient.shutdown();
  });
});
