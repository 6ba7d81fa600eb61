import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { sampleModelPath } from '../../core/app/sample';
import { evaluateInt8 } from '../../core/compress/evaluate-int8';
import { runCompressJob, type CompressReport } from '../../core/compress/run';
import { openDataset } from '../../core/data/index';
import { evaluateTflite } from '../../core/eval/tflite-eval';
import { fitReport, formatFit, type FloatIsland } from '../../core/fit/fit-report';
import { npyBytes } from '../data/write-arrays';
import { runCliAsync } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

const EVAL_SAMPLES = 200;
const BNS = [1, 2, 3, 4, 5].map((i) => `batch_normalization_BatchNormalization${i}`);

function compress(args: string[], dir: string) {
  return runCliAsync(
    ['compress', sampleModelPath(), '--recipe', 'int8-keep-rescaling-float', '--calib-data', 'fashion-mnist:train',
      '--out', path.join(dir, 'out'), '--no-record', '--data-dir', dir, '--json', ...args],
    { timeoutMs: 600_000 },
  );
}

/** Accuracy of a .tflite on the run's evaluation samples, through `quantbench eval`'s own path. */
async function accuracyOf(file: string, samples = EVAL_SAMPLES): Promise<number> {
  const data = await openDataset('fashion-mnist:test', { inputShape: [28, 28, 1], limit: samples });
  const r = await evaluateTflite(new Uint8Array(readFileSync(file)), file, data);
  assert.equal(r.task, 'classification');
  assert.equal(r.samples, samples);
  return r.task === 'classification' ? r.accuracy : NaN;
}

const layersOf = (islands: FloatIsland[]) => islands.map((i) => i.layers.join('+'));

describe('accuracy each float island buys', () => {
  let report: CompressReport;

  before(async () => {
    const dir = tempDir('quantbench-islands-');
    const r = await compress(['--data', 'fashion-mnist:test', '--eval-samples', String(EVAL_SAMPLES)], dir);
    assert.equal(r.status, 0, r.stderr);
    report = JSON.parse(r.stdout) as CompressReport;
  });

  it('measures every island the policy kept float, and report.json carries the same figures', () => {
    const islands = report.fit.floatIslands;
    assert.deepEqual(layersOf(islands), ['rescale', ...BNS]);
    for (const island of islands) {
      assert.ok(Number.isFinite(island.accuracyBought), `${island.layers}: ${island.accuracyNote}`);
      assert.ok(island.extraBytes > 0);
      // Bought = the run's int8 accuracy (islands float) less the same export with this island int8.
      assert.equal(island.accuracyBought, report.int8.accuracy! - island.accuracyIslandInt8!);
      assert.equal(island.accuracyIslandFloat, report.int8.accuracy);
      assert.equal(island.accuracySamples, EVAL_SAMPLES);
      assert.match(island.accuracyNote, new RegExp(`on ${EVAL_SAMPLES} samples of fashion-mnist:test`));
    }
    assert.deepEqual(JSON.parse(readFileSync(report.files.report, 'utf8')).fit, report.fit);
    const lines = formatFit(report.fit).filter((l) => l.startsWith('float island'));
    assert.equal(lines.length, islands.length);
    for (const line of lines) assert.match(line, /\+\d+ B over int8.*; buys [+-]\d+\.\d\d points of accuracy \(\d+\.\d\d% with it float, \d+\.\d\d% int8, on \d+ samples\)/);
  });

  it('each ablated export differs from the run only in that island, and scores what the report says', async () => {
    const floatLayers = ['rescale', ...BNS];
    assert.equal(await accuracyOf(report.files.tflite), report.int8.accuracy);
    for (const island of report.fit.floatIslands) {
      const file = island.islandInt8Model!;
      const ablated = await fitReport(new Uint8Array(readFileSync(file)), { floatLayers });
      // The island is gone (its layers run int8) and every other island is as it was.
      const others = report.fit.floatIslands.filter((i) => i.layers.join('+') !== island.layers.join('+'));
      assert.deepEqual(layersOf(ablated.floatIslands), layersOf(others), file);
      assert.deepEqual(ablated.floatIslands.map((i) => i.extraBytes), others.map((i) => i.extraBytes));
      const accuracy = await accuracyOf(file);
      assert.equal(accuracy, island.accuracyIslandInt8, file);
      assert.equal(island.accuracyBought, report.int8.accuracy! - accuracy);
    }
  });

  it('the int8 export scores the same on worker threads alone (as compress runs it, beside the float half) as with the calling thread', async () => {
    const data = await openDataset('fashion-mnist:test', { inputShape: [28, 28, 1], limit: 600 });
    const bytes = new Uint8Array(readFileSync(report.files.tflite));
    const options = { name: report.files.tflite, classes: 10 };
    const foreground = await evaluateInt8(bytes, data, options);
    const done: number[] = [];
    const background = await evaluateInt8(bytes, data, { ...options, workers: 2, onBatch: (n) => done.push(n) });
    assert.deepEqual(background, foreground);
    assert.equal(foreground.metric.samples, 600);
    assert.deepEqual(done, [256, 512, 600], 'progress in batch order');
    // One worker, and the calling thread taking batches as soon as it may: the same figures.
    const joined = await evaluateInt8(bytes, data, { ...options, workers: 1, joinWhen: Promise.resolve() });
    assert.deepEqual(joined, foreground);
  });

  it('scores the first samples on their own as it goes, as a run on those samples alone scores them', async () => {
    const bytes = new Uint8Array(readFileSync(report.files.tflite));
    const options = { name: report.files.tflite, classes: 10 };
    const data = await openDataset('fashion-mnist:test', { inputShape: [28, 28, 1], limit: 600 });
    // 300 ends inside the second batch of 256.
    for (const [prefix, workers] of [[300, 2], [512, undefined], [100, 1]] as const) {
      const whole = await evaluateInt8(bytes, data, { ...options, prefix, workers });
      const first = await openDataset('fashion-mnist:test', { inputShape: [28, 28, 1], limit: prefix });
      const alone = await evaluateInt8(bytes, first, options);
      assert.deepEqual(whole.prefix, alone.metric);
      assert.equal(whole.metric.samples, 600);
    }
  });

  it('on a run with more samples than the ablation takes, both sides are scored on the same first ones', async () => {
    const dir = tempDir('quantbench-islands-');
    const island = 50;
    const run = await runCompressJob({
      model: sampleModelPath(),
      recipe: 'int8-keep-rescaling-float',
      data: 'fashion-mnist:test',
      calibData: 'fashion-mnist:train',
      evalSamples: 120,
      islandSamples: island,
      out: path.join(dir, 'out'),
    });
    assert.equal(run.int8.samples, 120);
    const runOnSubset = await accuracyOf(run.files.tflite, island);
    assert.equal(run.fit.floatIslands.length, 6);
    for (const i of run.fit.floatIslands) {
      assert.match(i.accuracyNote, new RegExp(`on ${island} samples of fashion-mnist:test`));
      assert.equal(i.accuracyIslandInt8, await accuracyOf(i.islandInt8Model!, island));
      assert.equal(i.accuracyIslandFloat, runOnSubset);
      assert.equal(i.accuracySamples, island);
      assert.equal(i.accuracyBought, runOnSubset - i.accuracyIslandInt8!);
    }
  });

  it('a fit report made without evaluation data gives null and says why', async () => {
    const fit = await fitReport(new Uint8Array(readFileSync(report.files.tflite)));
    assert.ok(fit.floatIslands.length > 0);
    for (const island of fit.floatIslands) {
      assert.equal(island.accuracyBought, null);
      assert.equal(island.accuracyIslandInt8, null);
      assert.match(island.accuracyNote, /^not measured: no evaluation data/);
    }
    assert.ok(formatFit(fit).some((l) => /accuracy bought not measured: no evaluation data/.test(l)));
  });

  it('a run whose data has regression targets, not classes, gives null and says why', async () => {
    const dir = tempDir('quantbench-islands-');
    const n = 32;
    const x = Array.from({ length: n * 28 * 28 }, (_, i) => (i * 37) % 256);
    const y = Array.from({ length: n * 10 }, (_, i) => (i % 10) / 10);
    writeFileSync(path.join(dir, 'x.npy'), npyBytes('<f4', [n, 28, 28, 1], x));
    writeFileSync(path.join(dir, 'y.npy'), npyBytes('<f4', [n, 10], y));
    const r = await compress(['--data', `npy:${path.join(dir, 'x.npy')},${path.join(dir, 'y.npy')}`], dir);
    assert.equal(r.status, 0, r.stderr);
    const targets = JSON.parse(r.stdout) as CompressReport;
    assert.equal(targets.int8.accuracy, undefined);
    assert.ok(targets.fit.floatIslands.length > 0);
    for (const island of targets.fit.floatIslands) {
      assert.equal(island.accuracyBought, null);
      assert.match(island.accuracyNote, /^not measured: .* has regression targets/);
    }
  });
});
