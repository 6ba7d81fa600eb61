import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { parseRecipe } from '../../core/compress/recipe';
import type { CompressProgress } from '../../core/compress/pipeline';
import { runCompressJob, type CompressReport } from '../../core/compress/run';
import { openStore } from '../../core/store/index';
import { initBackend } from '../../core/train/backend';
import { parse as parseYaml } from 'yaml';
import { EventHub } from '../../core/app/events';
import type { CompressJobParams, CompressJobResult } from '../../core/handlers/compress-job';
import { JobManager } from '../../core/jobs/manager';
import { repoRoot as root, runCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

const sampleModel = path.join(root, 'resources/samples/fashion-mnist-cnn.keras');
const missingSample = existsSync(sampleModel)
  ? false
  : `sample model not trained yet: ${sampleModel} is missing`;

const recipeYaml = `name: pcqat-small
steps:
  - { step: prune, sparsity: 0.5 }
  - { step: cluster, k: 16 }
  - step: quantize
    policy:
      - layers: [{ type: Rescaling }, { type: BatchNormalization }]
        policy: float
  - step: fineTune
    epochs: 1
    batchSize: 32
    learningRate: 0.001
    data: "fashion-mnist:train[0:320]"
    validationSplit: 0.2
`;

describe('compress with a fineTune step', { skip: missingSample }, () => {
  before(async () => {
    await initBackend();
  });

  it('`quantbench compress --recipe` fine-tunes, keeps the guarantees and reports the fine-tune', () => {
    const dir = tempDir('quantbench-compress-finetune-');
    const recipe = path.join(dir, 'pcqat.yaml');
    writeFileSync(recipe, recipeYaml);
    const out = path.join(dir, 'out');
    const dataDir = path.join(dir, 'data');
    const r = runCli(
      [
        'compress',
        sampleModel,
        '--recipe',
        recipe,
        '--data',
        'fashion-mnist:test[0:200]',
        '--out',
        out,
        '--json',
        '--data-dir',
        dataDir,
      ],
      { timeoutMs: 120_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    const printed = JSON.parse(r.stdout) as CompressReport;
    const report = JSON.parse(
      readFileSync(path.join(out, 'report.json'), 'utf8'),
    ) as CompressReport;
    assert.deepEqual(report.fineTune, printed.fineTune);
    assert.doesNotMatch(r.stderr, /fineTune steps are recorded/);

    const f = report.fineTune!;
    assert.equal(f.data, 'fashion-mnist:train[0:320]');
    assert.equal(f.samples, 320);
    assert.equal(f.epochs, 1);
    // 256 training samples after the 20% split, batches of 32.
    assert.equal(f.steps, 8);
    assert.equal(f.bestEpoch, 1);
    assert.equal(f.history.length, 1);
    assert.ok(f.bestValAccuracy !== null && f.bestValAccuracy >= 0 && f.bestValAccuracy <= 1);
    assert.ok(f.quantizationAware);
    assert.ok(f.learnedRanges.length > 0, 'the export used ranges learned in training');
    assert.ok(!report.warnings.some((w) => /match no tensor/.test(w)), report.warnings.join('\n'));
    assert.ok(report.timings.fineTune! > 0);

    // The guarantees, as checked on the exported bytes.
    assert.ok(existsSync(report.files.tflite));
    assert.ok(report.guarantees.ok);
    for (const g of report.guarantees.layers) assert.equal(g.prunedNonZero, 0, g.layer);
    const clustered = report.layers.filter((l) => l.clusters);
    assert.ok(clustered.length > 0);
    for (const l of clustered) assert.ok(l.uniqueValues! <= 16, `${l.name}: ${l.uniqueValues}`);
    for (const l of report.layers.filter((x) => /BatchNormalization|Rescaling/.test(x.type)))
      assert.equal(l.policy, 'float', l.name);
    assert.ok(report.layers.some((l) => l.sparsity !== null && l.sparsity >= 0.49));

    const store = openStore(dataDir, { readonly: true });
    try {
      const run = store.getRun(printed.runId!);
      assert.equal(run.status, 'succeeded');
      const steps = (run.recipe as { steps: { step: string }[] }).steps.map((s) => s.step);
      assert.deepEqual(steps, ['prune', 'cluster', 'quantize', 'fineTune']);
    } finally {
      store.close();
    }
  });

  it("runs in the app's compress job (a worker thread) with fine-tune progress events", async () => {
    const dir = tempDir('quantbench-compress-finetune-job-');
    const events = new EventHub();
    const jobs = new JobManager({ events });
    const progress: { step: string; fraction: number | null; message?: string }[] = [];
    events.on('onJobProgress', (e) => progress.push(e));
    const logs: string[] = [];
    try {
      const params: CompressJobParams = {
        dataDir: path.join(dir, 'data'),
        model: sampleModel,
        recipe: parseYaml(recipeYaml) as Record<string, unknown>,
        data: 'fashion-mnist:test[0:200]',
        out: path.join(dir, 'out'),
      };
      const job = jobs.start<CompressJobResult>(
        'compress',
        { module: path.join(root, 'core/handlers/compress-job.ts'), export: 'compressJob' },
        params,
        (line) => logs.push(line),
      );
      const result = await job.done;
      assert.equal(typeof result.runId, 'number');
      assert.ok(result.tfliteBytes > 0);
    } finally {
      await jobs.shutdown();
    }
    const tuning = progress.filter((p) => p.step === 'fineTune');
    assert.ok(tuning.length > 0, 'fine-tune progress events');
    assert.match(tuning.at(-1)!.message!, /^epoch 1\/1 step 8\/8 loss \d/);
    // One bar for the whole job, moving forward only.
    const fractions = progress.map((p) => p.fraction ?? 0);
    for (let i = 1; i < fractions.length; i++)
      assert.ok(fractions[i]! >= fractions[i - 1]! - 1e-9, `bar went back at ${progress[i]!.step}`);
    assert.ok(
      logs.some((l) => /fine-tuned 8 steps on 320 samples of fashion-mnist:train\[0:320\]/.test(l)),
    );
  });

  it('refuses a recipe that folds BatchNormalization before fine-tuning, before any work', async () => {
    const dir = tempDir('quantbench-compress-finetune-fold-');
    await assert.rejects(
      runCompressJob({
        model: sampleModel,
        recipe: parseRecipe({
          name: 'folds',
          steps: [{ step: 'prune', sparsity: 0.5 }, { step: 'quantize' }, { step: 'fineTune' }],
        }),
        data: 'fashion-mnist:test[0:200]',
        out: path.join(dir, 'out'),
      }),
      (error: Error & { code?: string; hint?: string }) =>
        error.code === 'FINETUNE_FOLD' &&
        /folds .*batch_normalization/.test(error.message) &&
        /float/.test(error.hint ?? ''),
    );
    assert.ok(!existsSync(path.join(dir, 'out')));
  });

  it('reports epoch, step and loss as progress and stops on cancel, recording the run as cancelled', async () => {
    const dir = tempDir('quantbench-compress-finetune-cancel-');
    const dataDir = path.join(dir, 'data');
    const store = openStore(dataDir);
    const controller = new AbortController();
    const seen: CompressProgress[] = [];
    let runId: number | undefined;
    try {
      await assert.rejects(
        runCompressJob({
          model: sampleModel,
          recipe: parseRecipe({
            name: 'pcqat-cancel',
            steps: [
              { step: 'prune', sparsity: 0.5 },
              {
                step: 'quantize',
                policy: [
                  {
                    layers: [{ type: 'Rescaling' }, { type: 'BatchNormalization' }],
                    policy: 'float',
                  },
                ],
              },
              { step: 'fineTune', epochs: 3, batchSize: 16 },
            ],
          }),
          data: 'fashion-mnist:test[0:480]',
          out: path.join(dir, 'out'),
          store,
          signal: controller.signal,
          onRunStarted: (id) => (runId = id),
          onProgress: (p) => {
            seen.push(p);
            if (p.stage === 'fineTune' && seen.filter((s) => s.stage === 'fineTune').length === 2)
              controller.abort();
          },
        }),
        (error: Error & { code?: string }) => error.code === 'FINETUNE_CANCELLED',
      );
      const tuning = seen.filter((p) => p.stage === 'fineTune');
      assert.equal(tuning.length, 2, 'stops at the next step');
      assert.match(tuning[0]!.message!, /^epoch 1\/3 step 1\/27 loss \d+\.\d{4} acc/);
      // The bar only moves forward: nothing from calibration on came before fine-tuning.
      assert.ok(!seen.slice(0, seen.indexOf(tuning[0]!)).some((p) => p.stage === 'calibrate'));
      assert.equal(store.getRun(runId!).status, 'cancelled');
      assert.ok(!existsSync(path.join(dir, 'out', 'model.tflite')));
    } finally {
      store.close();
    }
  });
});
