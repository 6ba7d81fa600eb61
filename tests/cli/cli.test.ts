import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot, runCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

const version = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

describe('quantbench CLI', () => {
  it('prints help listing its commands', () => {
    const r = runCli(['--help']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Usage: quantbench <command>/);
    assert.match(r.stdout, /\binfo\b/);
    assert.match(r.stdout, /\bserve\b/);
  });

  it('prints the package version', () => {
    const r = runCli(['--version']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), version);
  });

  it('info --json prints one JSON document with the version and the data directory', () => {
    const dir = tempDir();
    const r = runCli(['info', '--json', '--data-dir', dir]);
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout) as { version: string; dataDir: string; backends: { name: string }[] };
    assert.equal(info.version, version);
    assert.equal(info.dataDir, dir);
    assert.ok(info.backends.some((b) => b.name === 'cpu'));
  });

  it('takes the data directory from QUANTBENCH_DATA_DIR', () => {
    const dir = tempDir();
    const r = runCli(['info', '--json'], { env: { QUANTBENCH_DATA_DIR: dir } });
    assert.equal((JSON.parse(r.stdout) as { dataDir: string }).dataDir, dir);
  });

  it('rejects an unknown command with exit code 2 and the help', () => {
    const r = runCli(['frobnicate']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown command "frobnicate"/);
  });

  it('shows a command\'s usage with --help', () => {
    const r = runCli(['serve', '--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /Usage: quantbench serve/);
  });

  it('works through npx as installed by npm', () => {
    const r = spawnSync('npx', ['--no-install', 'quantbench', '--version'], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), version);
  });
});
