import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { missingSharedModels, sharedModelsDir } from '../helpers/shared-models';
import { buildDir, make, missingTool } from './firmware-build';

/**
 * The C unit tests (resources/firmware/tests): fixed-point arithmetic, the planner, kernels
 * against hand-computed and double-precision results, and the reader on real and corrupted
 * models. Built with -Wall -Wextra -Werror -std=c99, run plainly and under ASan + UBSan.
 */
describe('firmware C unit tests', () => {
  const skip = missingTool('cc', 'clang') || missingSharedModels('kws_ref_model.tflite');

  it('builds the unit tests with -Werror', { skip }, () => {
    make(['tests']);
  });

  for (const binary of ['qb_tests', 'qb_tests_asan']) {
    it(`${binary} passes every check`, { skip }, () => {
      const r = spawnSync(path.join(buildDir, 'tests', binary), [sharedModelsDir], {
        encoding: 'utf8',
        timeout: 300_000,
        env: {
          ...process.env,
          ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0',
          UBSAN_OPTIONS: 'print_stacktrace=1',
        },
      });
      const summary = /(\d+) checks, (\d+) failed/.exec(r.stdout);
      assert.ok(summary, `no summary from ${binary}:\n${r.stdout}\n${r.stderr}`);
      assert.equal(summary[2], '0', r.stderr);
      assert.ok(Number(summary[1]) > 1000, `only ${summary[1]} checks ran`);
      assert.equal(r.status, 0, r.stderr);
      assert.doesNotMatch(r.stdout, /SKIP/, 'the reader tests on the shared models must run');
    });
  }
});
