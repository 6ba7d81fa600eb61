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

  it('suggests the nearest command for a misspelt one', () => {
    const r = runCli(['inspct', 'model.keras']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown command "inspct"; did you mean "inspect"\?/);
  });

  for (const [args, suggestion] of [
    [['compress', 'm.keras', '--recipe', 'int8', '--data', 'fashion-mnist:test', '--out', 'out', '--limit', '200'], /unknown option --limit; did you mean --eval-samples\?/],
    [['eval', 'm.keras', '--data', 'fashion-mnist:test', '--limt', '5'], /unknown option --limt; did you mean --limit\?/],
    [['inspect', 'm.keras', '--jsn'], /unknown option --jsn; did you mean --json\?/],
  ] as const) {
    it(`refuses \`${args.slice(0, 1).concat(args.slice(-2)).join(' ')}\` with exit 2 and a suggestion, before any work`, () => {
      const r = runCli([...args]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, suggestion);
      assert.equal(r.stdout, '');
    });
  }

  it('declares every option its usage text mentions', async () => {
    const { commands } = await import('../../core/cli/commands/index');
    for (const entry of commands) {
      const c = await entry.load();
      const declared = new Set([...(c.valueOptions ?? []), ...(c.flags ?? []), 'json', 'help', 'data-dir']);
      // `--min-METRIC` in `runs` stands for a family of declared options.
      const mentioned = [...c.usage.matchAll(/--([a-z][a-z0-9-]*[a-z0-9])(?![-a-zA-Z0-9])/g)].map((m) => m[1]!);
      assert.deepEqual(mentioned.filter((m) => !declared.has(m)), [], c.name);
    }
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
