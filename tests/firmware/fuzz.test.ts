import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { missingSharedModels, sharedModel } from '../helpers/shared-models';
import { tempDir } from '../helpers/tmp';
import { buildDir, make, missingTool } from './firmware-build';

/**
 * libFuzzer on the model reader (and on invoke for what loads), seeded with the real int8
 * models and truncations of them. QB_FUZZ_SECONDS sets the run time (60 by default, as CI
 * runs it); any crash, sanitizer report, timeout or leak fails the test.
 */
const seeds = ['kws_ref_model.tflite', 'pretrainedResnet_quant.tflite', 'ad01_int8.tflite'];
const seconds = Number(process.env.QB_FUZZ_SECONDS ?? 60);

describe('libFuzzer on the .tflite reader', () => {
  const skip = missingSharedModels(...seeds) || missingTool('clang');

  it(`finds nothing in ${seconds} s`, { skip, timeout: (seconds + 240) * 1000 }, () => {
    make(['fuzz']);
    const dir = tempDir('qb-fuzz-');
    const corpus = path.join(dir, 'corpus');
    const artifacts = path.join(dir, 'artifacts') + path.sep;
    mkdirSync(corpus);
    mkdirSync(artifacts);
    for (const name of seeds) {
      copyFileSync(sharedModel(name), path.join(corpus, name));
      const bytes = readFileSync(sharedModel(name));
      for (const fraction of [0.01, 0.1, 0.5, 0.9])
        writeFileSync(
          path.join(corpus, `${name}.${fraction}`),
          bytes.subarray(0, Math.floor(bytes.length * fraction)),
        );
    }
    const r = spawnSync(
      path.join(buildDir, 'fuzz', 'qb_fuzz_model'),
      [
        `-max_total_time=${seconds}`,
        '-max_len=300000',
        '-timeout=20',
        '-rss_limit_mb=2048',
        `-artifact_prefix=${artifacts}`,
        '-print_final_stats=1',
        corpus,
      ],
      { encoding: 'utf8', timeout: (seconds + 200) * 1000, cwd: dir },
    );
    const log = (r.stderr ?? '').split('\n').slice(-40).join('\n');
    assert.equal(r.signal, null, `fuzzer killed by ${r.signal}\n${log}`);
    assert.equal(r.status, 0, `fuzzer reported a finding:\n${log}`);
    const runs = /stat::number_of_executed_units:\s*(\d+)/.exec(r.stderr ?? '');
    assert.ok(runs && Number(runs[1]) > 100, `too few executions:\n${log}`);
  });
});
