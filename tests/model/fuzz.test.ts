import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { saveKeras } from '../../core/model/keras-writer';
import { Rescaling } from '../../core/model/layers/index';
import { tempDir } from '../helpers/tmp';
import { seedWeights } from './every-layer-model';
import type { FuzzJob, FuzzReport, FuzzSeed } from './fuzz-worker';
import { saveAsKeras2H5 } from './keras-files';

/** How long one import may take before the test calls it a hang. */
const HANG_MS = 15_000;
const CASES = Number(process.env.QUANTBENCH_FUZZ_CASES ?? 3000);

function smallModel(): tf.LayersModel {
  const input = tf.input({ shape: [6, 6, 2] });
  const scaled = new Rescaling({ scale: 0.5 }).apply(input) as tf.SymbolicTensor;
  const conv = tf.layers
    .conv2d({ filters: 3, kernelSize: 3, padding: 'same' })
    .apply(scaled) as tf.SymbolicTensor;
  const bn = tf.layers.batchNormalization().apply(conv) as tf.SymbolicTensor;
  const dw = tf.layers
    .depthwiseConv2d({ kernelSize: 3, padding: 'same' })
    .apply(bn) as tf.SymbolicTensor;
  const sum = tf.layers.add().apply([bn, dw]) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({}).apply(sum) as tf.SymbolicTensor;
  const out = tf.layers
    .dense({ units: 4, activation: 'softmax' })
    .apply(pooled) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  seedWeights(model, 3);
  return model;
}

async function seeds(dir: string): Promise<FuzzSeed[]> {
  const model = smallModel();
  const h5 = path.join(dir, 'seed.h5');
  const zip = path.join(dir, 'seed.keras');
  await saveAsKeras2H5(model, h5);
  await saveKeras(model, zip);
  const tfjsDir = path.join(dir, 'tfjs');
  mkdirSync(tfjsDir);
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      writeFileSync(
        path.join(tfjsDir, 'group1-shard1of1.bin'),
        new Uint8Array(a.weightData as ArrayBuffer),
      );
      writeFileSync(
        path.join(tfjsDir, 'model.json'),
        JSON.stringify({
          format: 'layers-model',
          modelTopology: a.modelTopology,
          weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: a.weightSpecs }],
        }),
      );
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return [
    { file: h5, kind: 'h5' },
    { file: zip, kind: 'zip' },
    { file: path.join(tfjsDir, 'model.json'), kind: 'tfjs' },
  ];
}

describe('importer fuzzing', () => {
  it(
    `survives ${CASES} mutated model files with only QuantbenchErrors and no hang`,
    { timeout: 240_000 },
    async (t) => {
      const dir = tempDir();
      const job: FuzzJob = {
        seeds: await seeds(dir),
        cases: CASES,
        seed: Number(process.env.QUANTBENCH_FUZZ_SEED ?? 20261127),
        workDir: path.join(dir, 'cases'),
      };
      const reports: FuzzReport[] = [];
      const jobFile = path.join(dir, 'job.json');
      writeFileSync(jobFile, JSON.stringify(job));
      const workerPath = fileURLToPath(new URL('./fuzz-worker.ts', import.meta.url));
      await new Promise<void>((resolve, reject) => {
        // A short HDF5 deadline keeps a corrupt file that sends libhdf5 into a loop from eating the budget.
        const env = { ...process.env, QUANTBENCH_H5_TIMEOUT_MS: '3000' };
        const child = spawn(process.execPath, ['--import', 'tsx', workerPath, jobFile], {
          stdio: ['ignore', 'pipe', 'pipe'],
          env,
        });
        let stderr = '';
        let buffer = '';
        let watchdog: NodeJS.Timeout;
        let current = { index: -1, description: 'starting' };
        const arm = () => {
          clearTimeout(watchdog);
          watchdog = setTimeout(() => {
            child.kill('SIGKILL');
            reject(
              new Error(
                `an import hung for ${HANG_MS} ms: case #${current.index} (${current.description})`,
              ),
            );
          }, HANG_MS);
        };
        arm();
        child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
        child.stdout.on('data', (d) => {
          buffer += d;
          let nl: number;
          while ((nl = buffer.indexOf('\n')) !== -1) {
            const line = buffer.slice(0, nl);
            buffer = buffer.slice(nl + 1);
            if (line.startsWith('BEGIN ')) current = JSON.parse(line.slice(6)) as typeof current;
            if (!line.startsWith('FUZZ ')) continue;
            reports.push(JSON.parse(line.slice(5)) as FuzzReport);
            arm();
          }
        });
        child.on('close', (code, signal) => {
          clearTimeout(watchdog);
          if (code === 0) resolve();
          else
            reject(
              new Error(
                `the fuzz process died (${signal ?? code}) after case #${reports.at(-1)?.index ?? -1}: ${stderr}`,
              ),
            );
        });
      });
      assert.equal(reports.length, CASES);
      const crashes = reports.filter((r) => r.outcome === 'crash');
      assert.deepEqual(
        crashes.slice(0, 5).map((c) => `${c.description} -> ${c.detail}`),
        [],
      );
      const errors = reports.filter((r) => r.outcome === 'quantbench-error');
      // Most mutations must be caught; a fuzz run where everything loads mutated nothing.
      assert.ok(
        errors.length > CASES / 3,
        `only ${errors.length} of ${CASES} mutations were rejected`,
      );
      for (const e of errors)
        assert.ok(!e.detail.trimEnd().includes('\n'), `multi-line message: ${e.detail}`);
      const slowest = reports.reduce((a, b) => (b.ms > a.ms ? b : a));
      t.diagnostic(
        `${errors.length} rejected, ${reports.length - errors.length} loaded; slowest ${Math.round(slowest.ms)} ms (${slowest.description})`,
      );
      assert.ok(
        slowest.ms < HANG_MS,
        `slowest import took ${slowest.ms} ms: ${slowest.description}`,
      );
    },
  );
});
