#!/usr/bin/env node
// `npm ci` / `npm install` in a checkout: builds the CLI bundle and the firmware this machine
// has toolchains for, so `npx quantbench compress ...` works with no other step. It never
// fails the install: what it could not build is listed with the tools that are missing, and
// the runtime builds are retried on first use. QUANTBENCH_SKIP_POSTINSTALL=1 skips it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const say = (line) => console.log(`quantbench: ${line}`);

async function main() {
  if (process.env.QUANTBENCH_SKIP_POSTINSTALL === '1') return say('install step skipped (QUANTBENCH_SKIP_POSTINSTALL=1)');
  // An installed package ships its bundle and has no sources to build.
  if (!existsSync(path.join(root, 'resources', 'firmware', 'Makefile'))) return;

  const bundles = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-bundles.mjs')], { cwd: root, encoding: 'utf8' });
  if (bundles.status === 0) say('built the CLI and app bundles (dist/app)');
  else say(`could not build the bundles, the CLI will run the TypeScript sources: ${(bundles.stderr || bundles.error?.message || '').trim().split('\n')[0]}`);

  const { RUNTIME_BUILDS, buildRuntime, runtimeBuildPath } = await import('tsx/esm/api').then(({ tsImport }) =>
    tsImport('../core/app/runtime-builds.ts', import.meta.url),
  );
  const { resourcesFor } = await import('tsx/esm/api').then(({ tsImport }) => tsImport('../core/app/resources.ts', import.meta.url));
  const where = resourcesFor({ dir: path.join(root, 'core', 'app'), source: true });
  if (spawnSync('make', ['--version'], { stdio: 'ignore' }).status === 0) {
    // One make for every target whose toolchain is present (the Makefile skips the others).
    spawnSync('make', ['-s', '-C', path.join(root, 'resources', 'firmware'), `OUT=${where.firmwareDir}`, `-j${Math.min(4, os.availableParallelism())}`], { stdio: 'ignore' });
  }
  for (const name of Object.keys(RUNTIME_BUILDS)) {
    const file = runtimeBuildPath(name, where);
    const outcome = existsSync(file) ? { ok: true } : buildRuntime(name, where);
    say(outcome.ok ? `built ${RUNTIME_BUILDS[name].what}` : `not built: ${RUNTIME_BUILDS[name].what}: ${outcome.problem}`);
  }
}

main().catch((error) => say(`install step incomplete (${error instanceof Error ? error.message : String(error)}); runtime builds will be tried on first use`));
