import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { repoRoot } from '../helpers/cli';

function npmRun(script: string) {
  return spawnSync('npm', ['run', '--silent', script], { cwd: repoRoot, encoding: 'utf8', timeout: 600_000 });
}

describe('the whole tree', () => {
  it('type-checks (core, electron, tests, renderer)', () => {
    const r = npmRun('typecheck');
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  });

  it('passes the linter, layer rules included', () => {
    const r = npmRun('lint');
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  });
});
