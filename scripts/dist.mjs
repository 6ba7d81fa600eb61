#!/usr/bin/env node
// `npm run dist [-- electron-builder options]`: builds everything the package contains (renderer,
// bundles, icons, firmware), refuses to package without all three firmware builds, then runs
// electron-builder with electron-builder.yml. Its afterPack hook checks the native addons' ABI.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const step = (cmd, args, cwd = root) => {
  const r = spawnSync(cmd, args, { cwd, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`\ndist: ${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.error?.message})`);
    process.exit(1);
  }
};

// QUANTBENCH_DIST_REUSE_RENDERER=1 packages the renderer already built (the packaged-app test,
// which must not rebuild it under browser tests running beside it).
if (process.env.QUANTBENCH_DIST_REUSE_RENDERER === '1' && existsSync(path.join(root, 'dist', 'renderer', 'index.html'))) {
  console.log('dist: packaging the renderer already in dist/renderer');
} else {
  step('npm', ['run', '--silent', 'build:renderer']);
}
step(process.execPath, ['scripts/build-bundles.mjs']);
step(process.execPath, ['scripts/build-icons.mjs']);

const { RUNTIME_BUILDS, buildRuntime, runtimeBuildPath } = await tsImport('../core/app/runtime-builds.ts', import.meta.url);
const { resourcesFor } = await tsImport('../core/app/resources.ts', import.meta.url);
// electron-builder.yml copies build/firmware, whatever QUANTBENCH_FIRMWARE_BUILD says.
const where = resourcesFor({ dir: path.join(root, 'core', 'app'), source: true }, {});
spawnSync('make', ['-s', '-C', 'resources/firmware', `-j${Math.min(4, os.availableParallelism())}`], { cwd: root, stdio: 'inherit' });
const missing = Object.keys(RUNTIME_BUILDS)
  .map((name) => (existsSync(runtimeBuildPath(name, where)) ? null : buildRuntime(name, where)))
  .filter((outcome) => outcome && !outcome.ok);
if (missing.length) {
  console.error('\ndist: the package needs every firmware build, and these are missing:');
  for (const m of missing) console.error(`  ${RUNTIME_BUILDS[m.name].what} (${path.relative(root, m.file)}): ${m.problem}`);
  process.exit(1);
}

/**
 * electron-builder lists production dependencies with `npm list`, which sees nothing but links
 * when node_modules is itself a link (one install shared by several checkouts): packages would
 * go missing. Such a project is packaged from a staged copy whose node_modules is a real folder
 * of hard links (native addons copied, so a rebuild cannot write into the shared install).
 */
function stagedProject() {
  const stage = path.join(root, 'build', 'package-stage');
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  for (const p of ['package.json', 'package-lock.json', 'electron-builder.yml', 'scripts/package', 'dist', 'build/firmware', 'build/icons', 'resources/samples', 'resources/build']) {
    cpSync(path.join(root, p), path.join(stage, p), { recursive: true });
  }
  const shared = realpathSync(path.join(root, 'node_modules'));
  const r = spawnSync('cp', ['-al', shared, path.join(stage, 'node_modules')], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`dist: could not stage ${shared} (cp -al needs it on the same file system as ${stage})`);
    process.exit(1);
  }
  for (const addon of ['better-sqlite3', '@serialport/bindings-cpp']) {
    const dir = path.join(stage, 'node_modules', addon);
    rmSync(dir, { recursive: true, force: true });
    cpSync(path.join(shared, addon), dir, { recursive: true });
  }
  console.log(`dist: node_modules links to ${shared}; packaging from a staged copy in ${path.relative(root, stage)}`);
  return stage;
}

const args = process.argv.slice(2);
const shared = lstatSync(path.join(root, 'node_modules')).isSymbolicLink();
const projectDir = shared ? stagedProject() : root;
const output = args.some((a) => a.includes('directories.output')) ? [] : [`-c.directories.output=${path.join(root, 'out')}`];
const builder = path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'electron-builder.cmd' : 'electron-builder');
step(builder, ['--projectDir', projectDir, '--config', path.join(projectDir, 'electron-builder.yml'), ...output, ...args], projectDir);
