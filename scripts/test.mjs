#!/usr/bin/env node
// Runs every test under tests/ with node's test runner after building what the tests
// exercise (the renderer for serve-mode browser tests, the firmware for runtime and
// board tests), then ends with the one summary line CI reads: "N passed, N failed".
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const filters = args.filter((a) => !a.startsWith('--'));
const skipBuild = args.includes('--no-build');

function run(cmd, cmdArgs) {
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`\n${cmd} ${cmdArgs.join(' ')} failed (exit ${r.status}); tests not run.`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}

if (!skipBuild) {
  run('npm', ['run', '--silent', 'build:renderer']);
  if (existsSync(path.join(root, 'resources/firmware/Makefile'))) {
    run('make', ['-s', '-C', 'resources/firmware', `-j${Math.max(2, (await import('node:os')).availableParallelism())}`]);
  }
}

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (name === 'fixtures' || name === 'node_modules') continue;
    if (statSync(p).isDirectory()) out.push(...collect(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

let files = collect(path.join(root, 'tests')).sort();
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.log('no test files matched');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-timeout=900000', ...files],
  { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FORCE_COLOR: '0' } },
);

const counts = { tests: 0, pass: 0, fail: 0, skipped: 0, todo: 0, cancelled: 0 };
// The summary lines come before the recap of failing tests, which can be long: read them as
// they pass rather than from the end of the output.
let pending = '';
const countLine = /^ℹ (tests|pass|fail|skipped|todo|cancelled) (\d+)$/;
child.stdout.setEncoding('utf8');
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  const lines = (pending + chunk).split('\n');
  pending = lines.pop();
  for (const line of lines) {
    const m = countLine.exec(line);
    if (m) counts[m[1]] = Number(m[2]);
  }
});
child.on('close', (code) => {
  const failed = counts.fail + counts.cancelled + (code !== 0 && counts.fail === 0 ? 1 : 0);
  console.log(`${counts.pass} passed, ${failed} failed, ${counts.skipped} skipped`);
  process.exit(code === 0 ? 0 : 1);
});
